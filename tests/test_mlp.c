/* MLP and vectorized math: forward against a naive double reference,
 * backward against central differences of that reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "mlp.h"
#include "rng.h"
#include "testutil.h"
#include "vmath.h"

/* ---- reference (double, one sample at a time) --------------------------- */

static double act_d(fpo_activation a, double z)
{
    switch (a) {
    case FPO_ACT_SILU:
        return z / (1.0 + exp(-z));
    case FPO_ACT_RELU:
        return z > 0.0 ? z : 0.0;
    case FPO_ACT_TANH:
        return tanh(z);
    }
    return NAN;
}

/* y = forward(params) for all rows in double; min_abs_z gets the smallest
 * |pre-activation| seen (to keep ReLU checks away from the kink). */
static void ref_forward(const fpo_mlp *m, const double *p, const double *x, int batch, double *y,
                        double *min_abs_z)
{
    double a[64], z[64];
    if (min_abs_z)
        *min_abs_z = INFINITY;
    for (int r = 0; r < batch; r++) {
        int n0 = m->dims[0];
        for (int i = 0; i < n0; i++)
            a[i] = x[r * n0 + i];
        for (int l = 0; l < m->n_layers; l++) {
            int ni = m->dims[l], no = m->dims[l + 1];
            for (int j = 0; j < no; j++) {
                double s = p[m->b_off[l] + (size_t)j];
                for (int i = 0; i < ni; i++)
                    s += a[i] * p[m->w_off[l] + (size_t)i * (size_t)no + (size_t)j];
                z[j] = s;
            }
            for (int j = 0; j < no; j++) {
                if (l + 1 < m->n_layers) {
                    if (min_abs_z && fabs(z[j]) < *min_abs_z)
                        *min_abs_z = fabs(z[j]);
                    a[j] = act_d(m->act, z[j]);
                } else {
                    a[j] = m->out_scale * z[j];
                }
            }
        }
        for (int j = 0; j < m->dims[m->n_layers]; j++)
            y[r * m->dims[m->n_layers] + j] = a[j];
    }
}

/* loss = sum c .* y */
static double ref_loss(const fpo_mlp *m, const double *p, const double *x, int batch,
                       const double *c)
{
    int no = m->dims[m->n_layers];
    double *y = malloc(sizeof(double) * (size_t)(batch * no));
    ref_forward(m, p, x, batch, y, NULL);
    double s = 0.0;
    for (int i = 0; i < batch * no; i++)
        s += c[i] * y[i];
    free(y);
    return s;
}

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}

static double *dalloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    ck_assert_ptr_nonnull(p);
    return p;
}

static void fill_normal(fpo_rng *r, float *v, size_t n, float s)
{
    fpo_rng_normal(r, v, n);
    for (size_t i = 0; i < n; i++)
        v[i] *= s;
}

/* Full check of one network: forward vs reference, inference == training
 * forward, every parameter and every dx against central differences. */
static void check_network(int n_in, int n_hidden, const int *hidden, int n_out,
                          fpo_activation act, float out_scale, int batch, uint64_t seed)
{
    fpo_mlp m;
    ck_assert_int_eq(fpo_mlp_init(&m, n_in, n_hidden, hidden, n_out, act, out_scale), FPO_OK);
    fpo_rng rng;
    fpo_rng_init(&rng, seed, 0);
    float *p = falloc(m.n_params);
    fpo_mlp_init_params(&m, p, &rng);
    /* non-zero biases so they matter */
    for (int l = 0; l < m.n_layers; l++)
        for (int j = 0; j < m.dims[l + 1]; j++)
            p[m.b_off[l] + (size_t)j] = 0.3f * (fpo_rng_uniform(&rng) - 0.5f);
    float *x = falloc((size_t)(batch * n_in)), *y = falloc((size_t)(batch * n_out));
    float *y2 = falloc((size_t)(batch * n_out)), *dy = falloc((size_t)(batch * n_out));
    fill_normal(&rng, x, (size_t)(batch * n_in), 1.0f);
    fill_normal(&rng, dy, (size_t)(batch * n_out), 1.0f);
    float *cache = falloc(fpo_mlp_cache_floats(&m, batch));
    float *scratch = falloc(fpo_mlp_scratch_floats(&m, batch));
    float *grad = falloc(m.n_params), *dx = falloc((size_t)(batch * n_in));

    double *pd = dalloc(m.n_params), *xd = dalloc((size_t)(batch * n_in));
    double *cd = dalloc((size_t)(batch * n_out)), *yd = dalloc((size_t)(batch * n_out));
    for (size_t i = 0; i < m.n_params; i++)
        pd[i] = p[i];
    for (int i = 0; i < batch * n_in; i++)
        xd[i] = x[i];
    for (int i = 0; i < batch * n_out; i++)
        cd[i] = dy[i];

    double min_z;
    ref_forward(&m, pd, xd, batch, yd, &min_z);
    if (act == FPO_ACT_RELU)
        ck_assert_msg(min_z > 1e-4, "ReLU test data too close to a kink (%g)", min_z);

    fpo_mlp_forward(&m, p, x, batch, y, cache, scratch);
    fpo_mlp_forward(&m, p, x, batch, y2, NULL, scratch);
    for (int i = 0; i < batch * n_out; i++) {
        ck_assert_close(y[i], yd[i], 2e-5);
        ck_assert_float_eq(y[i], y2[i]);
    }

    for (int i = 0; i < batch * n_in; i++)
        dx[i] = 12345.0f; /* must be overwritten */
    fpo_mlp_backward(&m, p, x, batch, cache, dy, grad, dx, scratch);

    const double h = 1e-6;
    double worst = 0.0;
    for (size_t k = 0; k < m.n_params; k++) {
        double keep = pd[k];
        pd[k] = keep + h;
        double lp = ref_loss(&m, pd, xd, batch, cd);
        pd[k] = keep - h;
        double lm = ref_loss(&m, pd, xd, batch, cd);
        pd[k] = keep;
        double num = (lp - lm) / (2 * h);
        double err = fabs(grad[k] - num) / fmax(fmax(fabs(num), fabs(grad[k])), 1e-3);
        worst = fmax(worst, err);
        ck_assert_msg(err < 1e-3, "param %zu: analytic %.8g numeric %.8g (rel %.3g)", k,
                      (double)grad[k], num, err);
    }
    for (int k = 0; k < batch * n_in; k++) {
        double keep = xd[k];
        xd[k] = keep + h;
        double lp = ref_loss(&m, pd, xd, batch, cd);
        xd[k] = keep - h;
        double lm = ref_loss(&m, pd, xd, batch, cd);
        xd[k] = keep;
        double num = (lp - lm) / (2 * h);
        double err = fabs(dx[k] - num) / fmax(fmax(fabs(num), fabs(dx[k])), 1e-3);
        ck_assert_msg(err < 1e-3, "dx %d: analytic %.8g numeric %.8g (rel %.3g)", k, (double)dx[k],
                      num, err);
    }

    /* grad accumulates: a second backward doubles it */
    float *g2 = falloc(m.n_params);
    memcpy(g2, grad, m.n_params * sizeof *g2);
    fpo_mlp_backward(&m, p, x, batch, cache, dy, grad, NULL, scratch);
    for (size_t k = 0; k < m.n_params; k++)
        ck_assert_close(grad[k], 2.0f * g2[k], 1e-6);

    free(g2);
    free(p), free(x), free(y), free(y2), free(dy), free(cache), free(scratch), free(grad);
    free(dx), free(pd), free(xd), free(cd), free(yd);
}

START_TEST(gradcheck_silu)
{
    const int hid[] = {5, 4};
    check_network(3, 2, hid, 2, FPO_ACT_SILU, 0.7f, 7, 11);
}
END_TEST

START_TEST(gradcheck_tanh)
{
    const int hid[] = {5, 4};
    check_network(3, 2, hid, 2, FPO_ACT_TANH, 1.0f, 7, 12);
}
END_TEST

START_TEST(gradcheck_relu)
{
    const int hid[] = {6, 5};
    check_network(3, 2, hid, 2, FPO_ACT_RELU, 2.0f, 5, 13);
}
END_TEST

START_TEST(gradcheck_deep)
{
    const int hid[] = {16, 12, 10, 8, 9, 7};
    check_network(6, 6, hid, 3, FPO_ACT_SILU, 1.3f, 33, 14);
}
END_TEST

START_TEST(gradcheck_linear_and_wide)
{
    /* no hidden layer; and widths that are not multiples of the lane count */
    check_network(4, 0, NULL, 3, FPO_ACT_SILU, 0.5f, 9, 15);
    const int hid[] = {37, 19};
    check_network(11, 2, hid, 1, FPO_ACT_TANH, 1.0f, 6, 16);
}
END_TEST

/* Large batch: crosses the row-block size; backward over the whole batch
 * equals the sum of backward over two halves; forward matches reference. */
START_TEST(large_batch_blocks)
{
    const int hid[] = {24, 17};
    const int batch = 2600, n_in = 5, n_out = 3;
    fpo_mlp m;
    ck_assert_int_eq(fpo_mlp_init(&m, n_in, 2, hid, n_out, FPO_ACT_SILU, 1.0f), FPO_OK);
    fpo_rng rng;
    fpo_rng_init(&rng, 99, 1);
    float *p = falloc(m.n_params), *x = falloc((size_t)batch * n_in);
    float *y = falloc((size_t)batch * n_out), *dy = falloc((size_t)batch * n_out);
    fpo_mlp_init_params(&m, p, &rng);
    fill_normal(&rng, x, (size_t)batch * n_in, 1.0f);
    fill_normal(&rng, dy, (size_t)batch * n_out, 0.01f);
    float *cache = falloc(fpo_mlp_cache_floats(&m, batch));
    float *scratch = falloc(fpo_mlp_scratch_floats(&m, batch));
    float *g_all = falloc(m.n_params), *g_half = falloc(m.n_params);
    float *dx_all = falloc((size_t)batch * n_in), *dx_half = falloc((size_t)batch * n_in);

    fpo_mlp_forward(&m, p, x, batch, y, cache, scratch);
    double *pd = dalloc(m.n_params), *xd = dalloc((size_t)batch * n_in);
    double *yd = dalloc((size_t)batch * n_out);
    for (size_t i = 0; i < m.n_params; i++)
        pd[i] = p[i];
    for (int i = 0; i < batch * n_in; i++)
        xd[i] = x[i];
    ref_forward(&m, pd, xd, batch, yd, NULL);
    for (int i = 0; i < batch * n_out; i++)
        ck_assert_close(y[i], yd[i], 2e-5);
    fpo_mlp_backward(&m, p, x, batch, cache, dy, g_all, dx_all, scratch);

    const int h1 = 1100, h2 = batch - h1;
    float *c1 = falloc(fpo_mlp_cache_floats(&m, h1)), *c2 = falloc(fpo_mlp_cache_floats(&m, h2));
    fpo_mlp_forward(&m, p, x, h1, y, c1, scratch);
    fpo_mlp_forward(&m, p, x + h1 * n_in, h2, y + h1 * n_out, c2, scratch);
    fpo_mlp_backward(&m, p, x, h1, c1, dy, g_half, dx_half, scratch);
    fpo_mlp_backward(&m, p, x + h1 * n_in, h2, c2, dy + h1 * n_out, g_half,
                     dx_half + h1 * n_in, scratch);
    double gmax = 0.0;
    for (size_t k = 0; k < m.n_params; k++)
        gmax = fmax(gmax, fabs(g_all[k]));
    for (size_t k = 0; k < m.n_params; k++)
        ck_assert_msg(fabs(g_all[k] - g_half[k]) <= 1e-5 * gmax, "param %zu: %g vs %g", k,
                      (double)g_all[k], (double)g_half[k]);
    for (int i = 0; i < batch * n_in; i++)
        ck_assert_close(dx_all[i], dx_half[i], 1e-5);

    free(p), free(x), free(y), free(dy), free(cache), free(scratch), free(g_all), free(g_half);
    free(dx_all), free(dx_half), free(pd), free(xd), free(yd), free(c1), free(c2);
}
END_TEST

START_TEST(init_validates_and_lays_out)
{
    fpo_mlp m;
    const int hid[] = {8, 4};
    ck_assert_int_eq(fpo_mlp_init(NULL, 3, 2, hid, 2, FPO_ACT_SILU, 1.0f), FPO_EINVAL);
    ck_assert_int_eq(fpo_mlp_init(&m, 3, 2, NULL, 2, FPO_ACT_SILU, 1.0f), FPO_EINVAL);
    ck_assert_int_eq(fpo_mlp_init(&m, 3, 2, hid, 2, (fpo_activation)7, 1.0f), FPO_EINVAL);
    ck_assert_int_eq(fpo_mlp_init(&m, 0, 2, hid, 2, FPO_ACT_SILU, 1.0f), FPO_ERANGE);
    ck_assert_int_eq(fpo_mlp_init(&m, 3, 2, hid, 0, FPO_ACT_SILU, 1.0f), FPO_ERANGE);
    ck_assert_int_eq(fpo_mlp_init(&m, 3, -1, hid, 2, FPO_ACT_SILU, 1.0f), FPO_ERANGE);
    ck_assert_int_eq(fpo_mlp_init(&m, 3, FPO_MAX_LAYERS + 1, hid, 2, FPO_ACT_SILU, 1.0f),
                     FPO_ERANGE);
    ck_assert_int_eq(fpo_mlp_init(&m, 3, 2, hid, 2, FPO_ACT_SILU, NAN), FPO_ERANGE);
    const int bad[] = {8, -4};
    ck_assert_int_eq(fpo_mlp_init(&m, 3, 2, bad, 2, FPO_ACT_SILU, 1.0f), FPO_ERANGE);
    const int huge[] = {FPO_MLP_MAX_WIDTH + 1};
    ck_assert_int_eq(fpo_mlp_init(&m, 3, 1, huge, 2, FPO_ACT_SILU, 1.0f), FPO_ERANGE);

    ck_assert_int_eq(fpo_mlp_init(&m, 3, 2, hid, 2, FPO_ACT_TANH, 1.0f), FPO_OK);
    ck_assert_int_eq(m.n_layers, 3);
    ck_assert_int_eq(m.max_width, 8);
    ck_assert_uint_eq(m.n_params, (size_t)(3 * 8 + 8 + 8 * 4 + 4 + 4 * 2 + 2));
    ck_assert_uint_eq(m.w_off[0], 0);
    ck_assert_uint_eq(m.b_off[0], 24);
    ck_assert_uint_eq(m.w_off[1], 32);
    ck_assert_uint_eq(m.b_off[2], m.n_params - 2);
    ck_assert_uint_eq(fpo_mlp_cache_floats(&m, 0), 0);
    ck_assert_double_eq(fpo_mlp_macs(&m), 3 * 8 + 8 * 4 + 4 * 2);

    /* LeCun-uniform bounds, zero biases */
    const int h2[] = {64};
    ck_assert_int_eq(fpo_mlp_init(&m, 48, 1, h2, 16, FPO_ACT_SILU, 1.0f), FPO_OK);
    float *p = falloc(m.n_params);
    for (size_t i = 0; i < m.n_params; i++)
        p[i] = 9.0f;
    fpo_rng r;
    fpo_rng_init(&r, 5, 5);
    fpo_mlp_init_params(&m, p, &r);
    for (int l = 0; l < 2; l++) {
        double lim = sqrt(3.0 / m.dims[l]), s2 = 0.0;
        size_t n = (size_t)m.dims[l] * (size_t)m.dims[l + 1];
        for (size_t i = 0; i < n; i++) {
            double w = p[m.w_off[l] + i];
            ck_assert(fabs(w) <= lim);
            s2 += w * w;
        }
        /* variance of U(-a, a) is a^2 / 3 = 1 / fan_in */
        ck_assert_close(s2 / (double)n, 1.0 / m.dims[l], 0.15 / m.dims[l]);
        for (int j = 0; j < m.dims[l + 1]; j++)
            ck_assert_float_eq(p[m.b_off[l] + (size_t)j], 0.0f);
    }
    free(p);
}
END_TEST

START_TEST(no_batch_is_a_no_op)
{
    fpo_mlp m;
    const int hid[] = {4};
    ck_assert_int_eq(fpo_mlp_init(&m, 2, 1, hid, 1, FPO_ACT_SILU, 1.0f), FPO_OK);
    float p[32] = {0}, g[32] = {0};
    fpo_mlp_forward(&m, p, NULL, 0, NULL, NULL, NULL);
    fpo_mlp_backward(&m, p, NULL, 0, NULL, NULL, g, NULL, NULL);
    ck_assert_uint_eq(fpo_mlp_scratch_floats(&m, 0), 0);
}
END_TEST

/* ---- vmath ---------------------------------------------------------------- */

static double silu_d(double x) { return x / (1.0 + exp(-x)); }

START_TEST(vmath_accuracy)
{
    enum { N = 100003 }; /* odd: exercises the tails */
    float *x = falloc(N), *y = falloc(N);
    for (int isa = FPO_ISA_GENERIC; isa <= FPO_ISA_AVX512; isa++) {
        if (!fpo_vmath_isa_available(isa))
            continue;
        double we = 0, wt = 0, ws = 0;
        for (int i = 0; i < N; i++)
            x[i] = -80.0f + 160.0f * (float)i / (float)(N - 1);
        fpo_v_exp(x, y, N, isa);
        for (int i = 0; i < N; i++)
            we = fmax(we, fabs(y[i] - exp(x[i])) / exp(x[i]));
        for (int i = 0; i < N; i++)
            x[i] = -12.0f + 24.0f * (float)i / (float)(N - 1);
        x[N / 2] = 1e-30f; /* tiny: series branch */
        fpo_v_tanh(x, y, N, isa);
        for (int i = 0; i < N; i++)
            if (x[i] != 0.0f)
                wt = fmax(wt, fabs(y[i] - tanh(x[i])) / fabs(tanh(x[i])));
        fpo_v_silu(x, y, N, isa);
        for (int i = 0; i < N; i++)
            if (x[i] != 0.0f)
                ws = fmax(ws, fabs(y[i] - silu_d(x[i])) / fabs(silu_d(x[i])));
        ck_assert_msg(we < 1e-6 && wt < 1e-6 && ws < 1e-6, "isa %d: exp %g tanh %g silu %g",
                      isa, we, wt, ws);

        /* special values: NaN propagates, infinities saturate */
        float sx[5] = {NAN, INFINITY, -INFINITY, 200.0f, -200.0f}, sy[5];
        fpo_v_tanh(sx, sy, 5, isa);
        ck_assert(isnan(sy[0]));
        ck_assert_float_eq(sy[1], 1.0f);
        ck_assert_float_eq(sy[2], -1.0f);
        fpo_v_silu(sx, sy, 5, isa);
        ck_assert(isnan(sy[0]));
        ck_assert_close(sy[3], 200.0, 1e-6);
        ck_assert(fabsf(sy[4]) < 1e-30f);
        fpo_v_exp(sx, sy, 5, isa);
        ck_assert(isnan(sy[0]));
        ck_assert(sy[1] > 1e38f);
        ck_assert(sy[2] < 1e-37f);
    }
    free(x), free(y);
}
END_TEST

/* Fused epilogues (both ISAs) against scalar math: a width with a tail
 * (13) and a 64-byte aligned width-16 block, which takes the
 * non-temporal-store path for the SiLU derivative. */
static void check_epilogues(int W)
{
    enum { R = 5, WMAX = 16 };
    fpo_rng rng;
    fpo_rng_init(&rng, 3, (uint64_t)W);
    _Alignas(64) float z0[R * WMAX], b[WMAX], z[R * WMAX], d[R * WMAX], g[R * WMAX], acc[WMAX];
    fill_normal(&rng, z0, (size_t)(R * W), 3.0f);
    fill_normal(&rng, b, (size_t)W, 1.0f);
    for (int isa = FPO_ISA_GENERIC; isa <= FPO_ISA_AVX512; isa++) {
        if (!fpo_vmath_isa_available(isa))
            continue;
        for (int a = 0; a < 3; a++) {
            fpo_activation act = (fpo_activation)a;
            memcpy(z, z0, sizeof z);
            fpo_v_bias_act(z, d, b, R, (size_t)W, act, isa);
            for (int i = 0; i < R * W; i++) {
                double v = (double)z0[i] + b[i % W];
                ck_assert_close(z[i], act_d(act, v), 1e-6);
                if (act == FPO_ACT_SILU) {
                    double s = 1.0 / (1.0 + exp(-v));
                    ck_assert_close(d[i], s * (1.0 + v * (1.0 - s)), 1e-6);
                }
            }
            for (int i = 0; i < R * W; i++)
                g[i] = 1.0f + (float)i;
            memset(acc, 0, sizeof acc);
            fpo_v_act_backward(g, z, d, acc, R, (size_t)W, act, isa);
            for (int j = 0; j < W; j++) {
                double s = 0.0;
                for (int i = 0; i < R; i++) {
                    double v = (double)z0[i * W + j] + b[j], der;
                    if (act == FPO_ACT_SILU) {
                        double sg = 1.0 / (1.0 + exp(-v));
                        der = sg * (1.0 + v * (1.0 - sg));
                    } else if (act == FPO_ACT_TANH) {
                        /* from the stored float output, as the kernel does:
                         * 1 - tanh^2 near saturation amplifies the output's
                         * rounding, which is not the kernel's error */
                        double h = z[i * W + j];
                        der = 1.0 - h * h;
                    } else {
                        der = v > 0.0 ? 1.0 : 0.0;
                    }
                    double e = (1.0 + i * W + j) * der;
                    ck_assert_msg(fabs(g[i * W + j] - e) <= 1e-5 * fmax(1.0, fabs(e)), "W %d isa %d act %d i %d j %d: %.9g vs %.9g", W, isa, a, i, j, (double)g[i * W + j], e);
                    s += e;
                }
                ck_assert_close(acc[j], s, 1e-5);
            }
        }
    }
}

START_TEST(vmath_epilogues)
{
    check_epilogues(13);
    check_epilogues(16);
}
END_TEST


/* Every GEMM kernel that runs here against a double reference: both
 * products, every m and n edge of the register tiles (1..41), k across the
 * KC block (1..600), padded strides, beta 0 over a C full of NaN (never
 * read) and beta 0.5 (read). */
START_TEST(gemm_kernels_match_reference)
{
    enum { MAXM = 41, MAXN = 41, MAXK = 600, PAD = 3 };
    static float a[(MAXK + PAD) * (MAXM + PAD)], b[MAXK * (MAXN + PAD)];
    static float c[MAXM * (MAXN + PAD)], c0[MAXM * (MAXN + PAD)];
    fpo_rng rng;
    fpo_rng_init(&rng, 7, 0);
    fpo_rng_normal(&rng, a, sizeof a / sizeof a[0]);
    fpo_rng_normal(&rng, b, sizeof b / sizeof b[0]);
    fpo_rng_normal(&rng, c0, sizeof c0 / sizeof c0[0]);
    static const int ms[] = {1, 5, 6, 7, 8, 9, 13, 41}, ns[] = {1, 6, 8, 15, 16, 17, 31, 32, 33, 41};
    static const int ks[] = {1, 3, 31, 256, 257, 600};
    static const char *const isa_name[] = {"blis", "avx2", "avx512"};
    int tested = 0;
    for (int isa = FPO_ISA_GENERIC; isa <= FPO_ISA_AVX512; isa++) { /* generic: BLIS */
        if (!fpo_vmath_isa_available(isa))
            continue;
        tested++;
        for (size_t im = 0; im < sizeof ms / sizeof ms[0]; im++)
            for (size_t in = 0; in < sizeof ns / sizeof ns[0]; in++)
                for (size_t ik = 0; ik < sizeof ks / sizeof ks[0]; ik++)
                    for (int form = 0; form < 4; form++) {
                        const size_t m = (size_t)ms[im], n = (size_t)ns[in], k = (size_t)ks[ik];
                        const int tn = form & 1;
                        const float beta = form & 2 ? 0.5f : 0.0f, alpha = 0.75f;
                        const size_t lda = (tn ? m : k) + PAD, ldb = n + PAD, ldc = n + PAD;
                        for (size_t i = 0; i < m * ldc; i++)
                            c[i] = beta != 0.0f ? c0[i] : NAN;
                        if (tn)
                            fpo_gemm_tn(isa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                        else
                            fpo_gemm_nn(isa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                        for (size_t i = 0; i < m; i++)
                            for (size_t j = 0; j < n; j++) {
                                double e = 0.0, mag = 0.0;
                                for (size_t p = 0; p < k; p++) {
                                    double x = tn ? a[p * lda + i] : a[i * lda + p];
                                    e += x * (double)b[p * ldb + j];
                                    mag += fabs(x * (double)b[p * ldb + j]);
                                }
                                e = alpha * e + (beta != 0.0f ? beta * (double)c0[i * ldc + j] : 0.0);
                                double got = c[i * ldc + j];
                                ck_assert_msg(fabs(got - e) <= 1e-5 * (mag + 1.0),
                                              "%s %s m %zu n %zu k %zu beta %g: c[%zu][%zu] "
                                              "%.9g vs %.9g", isa_name[isa],
                                              tn ? "tn" : "nn", m, n, k, (double)beta, i, j,
                                              got, e);
                            }
                        /* the padding between rows is never written */
                        for (size_t i = 0; i < m; i++)
                            for (size_t j = n; j < ldc; j++)
                                ck_assert(beta != 0.0f ? c[i * ldc + j] == c0[i * ldc + j]
                                                       : isnan(c[i * ldc + j]));
                    }
    }
    ck_assert_int_ge(tested, 1);
    ck_assert(fpo_vmath_isa_available(fpo_vmath_isa()));
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("mlp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, gradcheck_silu);
    tcase_add_test(tc, gradcheck_tanh);
    tcase_add_test(tc, gradcheck_relu);
    tcase_add_test(tc, gradcheck_deep);
    tcase_add_test(tc, gradcheck_linear_and_wide);
    tcase_add_test(tc, large_batch_blocks);
    tcase_add_test(tc, init_validates_and_lays_out);
    tcase_add_test(tc, no_batch_is_a_no_op);
    tcase_add_test(tc, vmath_accuracy);
    tcase_add_test(tc, gemm_kernels_match_reference);
    tcase_add_test(tc, vmath_epilogues);
    suite_add_tcase(s, tc);
    return s;
}
