/* Philox4x32-10 generator: known answers, streams, distributions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "testutil.h"

START_TEST(philox_known_answers)
{
    /* Random123 kat_vectors, philox4x32 10 */
    static const uint32_t ctr[3][4] = {{0, 0, 0, 0},
                                       {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                                       {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}};
    static const uint32_t key[3][2] = {{0, 0}, {0xffffffff, 0xffffffff}, {0xa4093822, 0x299f31d0}};
    static const uint32_t want[3][4] = {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                                        {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                                        {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        fpo_philox4x32(ctr[t], key[t], out);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(out[i] == want[t][i], "vector %d word %d: %08x != %08x", t, i, out[i],
                          want[t][i]);
    }
    /* The generator's first block is Philox(ctr = {0, 0, stream}, key = seed). */
    fpo_rng r;
    fpo_rng_init(&r, 0, 0);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(fpo_rng_u32(&r), want[0][i]);
}
END_TEST

START_TEST(streams_reproducible_and_distinct)
{
    fpo_rng a, b, c, d;
    fpo_rng_init(&a, 42, 7);
    fpo_rng_init(&b, 42, 7);
    fpo_rng_init(&c, 42, 8);
    fpo_rng_init(&d, 43, 7);
    int same_c = 0, same_d = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t va = fpo_rng_u32(&a);
        ck_assert_uint_eq(va, fpo_rng_u32(&b));
        same_c += va == fpo_rng_u32(&c);
        same_d += va == fpo_rng_u32(&d);
    }
    ck_assert_int_le(same_c, 1);
    ck_assert_int_le(same_d, 1);

    /* Copying the struct forks the sequence. */
    fpo_rng e = a;
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(fpo_rng_u64(&a), fpo_rng_u64(&e));

    /* Mixed draw sizes stay reproducible. */
    float n1[7], n2[7];
    fpo_rng_init(&a, 1, 2);
    fpo_rng_init(&b, 1, 2);
    fpo_rng_normal(&a, n1, 7);
    fpo_rng_normal(&b, n2, 7);
    ck_assert(memcmp(n1, n2, sizeof n1) == 0);
    ck_assert_uint_eq(fpo_rng_below(&a, 1000), fpo_rng_below(&b, 1000));
}
END_TEST

/* Keyed draws (fpo_rng_fork): the same (index, draw) gives the same numbers
 * whatever else was drawn; other indices, draws, bases or the base's own
 * stream give others. */
START_TEST(forked_streams_keyed_by_index_and_draw)
{
    fpo_rng base, other;
    fpo_rng_init(&base, 77, 0x1234);
    fpo_rng_init(&other, 77, 0x1235);
    uint32_t ref[4][8];
    for (int k = 0; k < 4; k++) {
        fpo_rng r;
        base.ctr = (uint64_t)(k / 2) | (k == 3 ? 1ull << 40 : 0); /* draws 0, 0, 1, 2^40+1 */
        fpo_rng_fork(&r, &base, (uint64_t)(k % 2) * 5);          /* indices 0, 5, 0, 5 */
        for (int i = 0; i < 8; i++)
            ref[k][i] = fpo_rng_u32(&r);
    }
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            ck_assert(memcmp(ref[a], ref[b], sizeof ref[a]) != 0);
    /* reproducible, and independent of the draws made in between */
    fpo_rng r;
    base.ctr = 0;
    fpo_rng_fork(&r, &base, 5);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(fpo_rng_u32(&r), ref[1][i]);
    /* another base stream (domain) with the same key */
    other.ctr = 0;
    fpo_rng_fork(&r, &other, 5);
    ck_assert_uint_ne(fpo_rng_u32(&r), ref[1][0]);
    /* the base used directly is another stream */
    fpo_rng direct;
    fpo_rng_init(&direct, 77, 0x1234);
    ck_assert_uint_ne(fpo_rng_u32(&direct), ref[0][0]);
}
END_TEST

START_TEST(uniform_moments)
{
    enum { N = 1000000 };
    float *u = malloc(N * sizeof *u);
    ck_assert_ptr_nonnull(u);
    fpo_rng r;
    fpo_rng_init(&r, 2024, 1);
    fpo_rng_uniform_fill(&r, u, N);
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        ck_assert(u[i] >= 0.0f && u[i] < 1.0f);
        s += u[i];
        s2 += (double)u[i] * u[i];
    }
    double mean = s / N, var = s2 / N - mean * mean;
    /* sd of the mean: sqrt(1/12/N) = 2.9e-4; of the variance: ~ 0.089/sqrt(N) = 8.9e-5.
     * Allow 5 sigma. */
    ck_assert_msg(fabs(mean - 0.5) < 5 * 2.9e-4, "mean %g", mean);
    ck_assert_msg(fabs(var - 1.0 / 12) < 5 * 8.9e-5, "var %g", var);
    ck_assert(fpo_rng_uniform(&r) < 1.0f);
    free(u);
}
END_TEST

START_TEST(normal_moments)
{
    enum { N = 1000001 }; /* odd: last pair half used */
    float *z = malloc(N * sizeof *z);
    ck_assert_ptr_nonnull(z);
    fpo_rng r;
    fpo_rng_init(&r, 77, 3);
    fpo_rng_normal(&r, z, N);
    double s = 0, s2 = 0, s3 = 0, s4 = 0;
    int tail = 0;
    for (int i = 0; i < N; i++) {
        double v = z[i];
        ck_assert(isfinite(v));
        s += v, s2 += v * v, s3 += v * v * v, s4 += v * v * v * v;
        tail += fabs(v) > 3.0;
    }
    double mean = s / N, var = s2 / N - mean * mean;
    /* sd: mean 1e-3, variance sqrt(2/N) = 1.4e-3, skew sqrt(6/N) = 2.4e-3,
     * kurtosis sqrt(24/N) = 4.9e-3; 5 sigma each */
    ck_assert_msg(fabs(mean) < 5e-3, "mean %g", mean);
    ck_assert_msg(fabs(var - 1.0) < 7e-3, "var %g", var);
    ck_assert_msg(fabs(s3 / N) < 1.2e-2, "skew %g", s3 / N);
    ck_assert_msg(fabs(s4 / N - 3.0) < 2.5e-2 * 3, "kurt %g", s4 / N);
    /* P(|z| > 3) = 0.0027; binomial sd 52 */
    ck_assert_msg(abs(tail - 2700) < 260, "tail %d", tail);
    free(z);
}
END_TEST

START_TEST(below_range_and_uniformity)
{
    fpo_rng r;
    fpo_rng_init(&r, 5, 0);
    ck_assert_uint_eq(fpo_rng_below(&r, 0), 0);
    ck_assert_uint_eq(fpo_rng_below(&r, 1), 0);
    enum { K = 7, N = 700000 };
    int hist[K] = {0};
    for (int i = 0; i < N; i++) {
        uint32_t v = fpo_rng_below(&r, K);
        ck_assert_uint_lt(v, K);
        hist[v]++;
    }
    /* each bin ~ 100000 +- 293 */
    for (int k = 0; k < K; k++)
        ck_assert_msg(abs(hist[k] - N / K) < 1500, "bin %d: %d", k, hist[k]);
    /* a bound near 2^32 where the rejection step matters */
    uint32_t big = 3000000000u;
    for (int i = 0; i < 10000; i++)
        ck_assert_uint_lt(fpo_rng_below(&r, big), big);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, philox_known_answers);
    tcase_add_test(tc, streams_reproducible_and_distinct);
    tcase_add_test(tc, forked_streams_keyed_by_index_and_draw);
    tcase_add_test(tc, uniform_moments);
    tcase_add_test(tc, normal_moments);
    tcase_add_test(tc, below_range_and_uniformity);
    suite_add_tcase(s, tc);
    return s;
}
