/* examples/dataset.[ch]: the .npy reader and writer and the data set
 * loader, on hand-made files, every truncation and every single-bit flip of
 * valid files (run under ASan + UBSan in the sanitizer build). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "testutil.h"

/* A version 1.0 file: magic, header dict padded to 64 bytes, data. */
static size_t make_npy(unsigned char *out, const char *dict, const void *data, size_t bytes)
{
    size_t dl = strlen(dict), hl = dl + 1;
    hl += (64 - (10 + hl) % 64) % 64;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char)(hl & 0xff);
    out[9] = (unsigned char)(hl >> 8);
    memset(out + 10, ' ', hl);
    memcpy(out + 10, dict, dl);
    out[10 + hl - 1] = '\n';
    memcpy(out + 10 + hl, data, bytes);
    return 10 + hl + bytes;
}

START_TEST(hand_made_files)
{
    unsigned char buf[1024];
    char err[DS_ERRLEN];
    ds_array a;
    /* float32, 2 x 3 (this test assumes a little-endian host for its data). */
    float f[6] = {1, 2, 3, 4, 5, -6.5f};
    size_t n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f,
                        sizeof f);
    ck_assert_int_eq(ds_npy_parse(buf, n, DS_FLOAT, &a, err), 0);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.shape[0], 2);
    ck_assert_int_eq(a.shape[1], 3);
    ck_assert(a.f[5] == -6.5f && a.f[1] == 2.0f);
    ds_array_free(&a);
    /* float64, 1-D, double quotes, no trailing comma, extra spaces. */
    double d[3] = {0.25, -1e3, 7};
    n = make_npy(buf, "{\"descr\":\"<f8\" ,  \"shape\" : ( 3 , ) , \"fortran_order\":False}", d,
                 sizeof d);
    ck_assert_int_eq(ds_npy_parse(buf, n, DS_FLOAT, &a, err), 0);
    ck_assert_int_eq(a.ndim, 1);
    ck_assert_int_eq(a.shape[0], 3);
    ck_assert(a.f[0] == 0.25f && a.f[1] == -1000.0f && a.f[2] == 7.0f);
    ds_array_free(&a);
    /* Integers: int64 and int32 episode ends. */
    int64_t e8[2] = {5, 9};
    n = make_npy(buf, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", e8, sizeof e8);
    ck_assert_int_eq(ds_npy_parse(buf, n, DS_INT, &a, err), 0);
    ck_assert(a.i[0] == 5 && a.i[1] == 9);
    ds_array_free(&a);
    /* Floats where integers are wanted, and the other way round. */
    ck_assert_int_eq(ds_npy_parse(buf, n, DS_FLOAT, &a, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "floats are expected"));
    int32_t e4[3] = {1, 2, 3};
    n = make_npy(buf, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", e4, sizeof e4);
    ck_assert_int_eq(ds_npy_parse(buf, n, DS_INT, &a, err), 0);
    ck_assert(a.i[2] == 3);
    ds_array_free(&a);
    /* Version 2.0: a 4-byte header length. */
    {
        const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
        size_t dl = strlen(dict), hl = dl + 1;
        hl += (64 - (12 + hl) % 64) % 64;
        memcpy(buf, "\x93NUMPY\x02\x00", 8);
        buf[8] = (unsigned char)hl;
        buf[9] = buf[10] = buf[11] = 0;
        memset(buf + 12, ' ', hl);
        memcpy(buf + 12, dict, dl);
        buf[12 + hl - 1] = '\n';
        float one = 1.5f;
        memcpy(buf + 12 + hl, &one, 4);
        ck_assert_int_eq(ds_npy_parse(buf, 12 + hl + 4, DS_FLOAT, &a, err), 0);
        ck_assert(a.f[0] == 1.5f);
        ds_array_free(&a);
    }
    struct {
        const char *dict;
        size_t bytes;
        const char *msg;
    } bad[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24, "dtype"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", 12, "dtype"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, "Fortran"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 1), }", 24, "dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, "dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, "truncated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, "after the data"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 24,
         "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 1), }", 24,
         "integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", 24, "integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2), }", 24, "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24, "unknown key"},
        {"{'descr': '<f4', 'fortran_order': False}", 24, "required"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,3)}", 24,
         "repeated"},
        {"['descr', '<f4']", 24, "dictionary"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }", 24, "malformed"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }", 24, "True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk", 24, "after the "
                                                                                  "dictionary"},
    };
    float zeros[8] = {0};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        n = make_npy(buf, bad[k].dict, zeros, bad[k].bytes);
        ck_assert_int_eq(ds_npy_parse(buf, n, DS_FLOAT, &a, err), -1);
        ck_assert_msg(strstr(err, bad[k].msg) != NULL, "%zu: '%s' for %s", k, err, bad[k].dict);
        ck_assert_ptr_null(a.f);
    }
    /* Bad magic, unknown version, header longer than the file, NaN data. */
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f, sizeof f);
    buf[1] = 'M';
    ck_assert_int_eq(ds_npy_parse(buf, n, DS_FLOAT, &a, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "magic"));
    buf[1] = 'N';
    buf[6] = 9;
    ck_assert_int_eq(ds_npy_parse(buf, n, DS_FLOAT, &a, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "version"));
    buf[6] = 1;
    buf[9] = 0x7f;
    ck_assert_int_eq(ds_npy_parse(buf, n, DS_FLOAT, &a, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "truncated"));
    buf[9] = 0;
    f[4] = NAN;
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f, sizeof f);
    ck_assert_int_eq(ds_npy_parse(buf, n, DS_FLOAT, &a, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "element 4 (row 1) is not finite"));
    ck_assert_int_eq(ds_npy_parse(NULL, 0, DS_FLOAT, &a, err), -1);
}
END_TEST

/* Every prefix of a valid file fails cleanly; every single-bit flip either
 * parses to an array of the right size or fails with a message. */
START_TEST(truncations_and_bit_flips)
{
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i * 0.5f - 2.0f;
    size_t n;
    unsigned char *good = ds_npy_encode_f32(x, 2, 4, 3, &n);
    ck_assert_ptr_nonnull(good);
    char err[DS_ERRLEN];
    ds_array a;
    ck_assert_int_eq(ds_npy_parse(good, n, DS_FLOAT, &a, err), 0);
    ck_assert_int_eq(memcmp(a.f, x, sizeof x), 0);
    ds_array_free(&a);
    for (size_t k = 0; k < n; k++) {
        unsigned char *cut = malloc(k ? k : 1);
        memcpy(cut, good, k);
        err[0] = '\0';
        ck_assert_int_eq(ds_npy_parse(cut, k, DS_FLOAT, &a, err), -1);
        ck_assert_msg(err[0] != '\0', "prefix %zu: no message", k);
        free(cut);
    }
    unsigned char *b = malloc(n);
    int parsed = 0;
    for (size_t k = 0; k < n; k++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, good, n);
            b[k] ^= (unsigned char)(1u << bit);
            err[0] = '\0';
            if (ds_npy_parse(b, n, DS_FLOAT, &a, err) == 0) {
                parsed++;
                size_t bytes = (size_t)(a.shape[0] * a.shape[1]) * 4;
                ck_assert(bytes <= n);
                ds_array_free(&a);
            } else {
                ck_assert_msg(err[0] != '\0', "byte %zu bit %d: no message", k, bit);
            }
        }
    /* Flips of the data bytes mostly still parse (a different float). */
    ck_assert_int_gt(parsed, 12 * 8 / 2);
    free(b);
    free(good);
}
END_TEST

START_TEST(write_read_and_data_sets)
{
    char dir[] = "/tmp/fpo_dataset_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char err[DS_ERRLEN];
    float obs[10 * 3], act[10 * 2];
    for (int i = 0; i < 30; i++)
        obs[i] = (float)i / 7.0f;
    for (int i = 0; i < 20; i++)
        act[i] = -(float)i / 3.0f;
    int64_t ends[3] = {4, 7, 10};
    ds_dataset d = {10, 3, 3, 2, obs, act, ends};
    ck_assert_msg(ds_dataset_save(dir, &d, err) == 0, "%s", err);
    ds_dataset r;
    ck_assert_msg(ds_dataset_load(dir, 3, 2, &r, err) == 0, "%s", err);
    ck_assert_int_eq(r.n, 10);
    ck_assert_int_eq(r.episodes, 3);
    ck_assert_int_eq(memcmp(r.obs, obs, sizeof obs), 0);
    ck_assert_int_eq(memcmp(r.act, act, sizeof act), 0);
    ck_assert_int_eq(memcmp(r.ends, ends, sizeof ends), 0);
    ds_dataset_free(&r);
    ck_assert_int_eq(ds_dataset_load(dir, 4, 2, &r, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "columns"));
    /* Episode ends that do not increase, or do not end at N. */
    int64_t bad1[3] = {4, 4, 10}, bad2[2] = {4, 9};
    d.ends = bad1;
    ck_assert_int_eq(ds_dataset_save(dir, &d, err), 0);
    ck_assert_int_eq(ds_dataset_load(dir, 0, 0, &r, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "must increase"));
    d.ends = bad2;
    d.episodes = 2;
    ck_assert_int_eq(ds_dataset_save(dir, &d, err), 0);
    ck_assert_int_eq(ds_dataset_load(dir, 0, 0, &r, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "last episode"));
    /* Rows that disagree. */
    d.ends = ends;
    d.episodes = 3;
    ck_assert_int_eq(ds_dataset_save(dir, &d, err), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/act.npy", dir);
    ck_assert_int_eq(ds_npy_write_f32(p, act, 2, 9, 2, err), 0);
    ck_assert_int_eq(ds_dataset_load(dir, 0, 0, &r, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "rows"));
    /* A missing file. */
    ck_assert_int_eq(remove(p), 0);
    ck_assert_int_eq(ds_dataset_load(dir, 0, 0, &r, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "act.npy"));
    snprintf(p, sizeof p, "%s/obs.npy", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/episode_ends.npy", dir);
    remove(p);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("dataset");
    tcase_add_test(tc, hand_made_files);
    tcase_add_test(tc, truncations_and_bit_flips);
    tcase_add_test(tc, write_read_and_data_sets);
    suite_add_tcase(s, tc);
    return s;
}
