/* Adam / AdamW against steps worked out by hand from the update formula. */
#include <math.h>
#include <stdlib.h>

#include "adam.h"
#include "testutil.h"

/* lr 0.1, betas (0.9, 0.999), eps 1e-8, p0 = 1, grads 0.5, -0.2, 0.1:
 *  t=1: m = .05, v = .00025; m^ = .05/.1 = .5, v^ = .00025/.001 = .25
 *       p = 1 - .1 * .5 / (.5 + 1e-8)                      = 0.900000002
 *  t=2: m = .045 - .02 = .025, v = .00024975 + .00004 = .00028975
 *       m^ = .025/.19 = .1315789, v^ = .00028975/.001999 = .1449475
 *       p = .9 - .1 * .1315789 / .3807197                   = 0.8654394
 *  t=3: m = .0225 + .01 = .0325, v = .00028946025 + .00001 = .00029946025
 *       m^ = .0325/.271 = .1199262, v^ = .00029946/.002997001 = .0999200
 *       p = .8654394 - .1 * .1199262 / .3161012             = 0.8275002
 * AdamW (wd .01) first shrinks p by 1 - lr wd = .999 each step:
 *       .999 - .1 = .899000002; .898101 - .0345606 = .8635404;
 *       .8626769 - .0379392 = .8247377 */
static void run(float wd, const double want[3])
{
    fpo_adam_cfg cfg = {0.1f, 0.9f, 0.999f, 1e-8f, wd};
    /* element 0 follows the worked example; element 1 has zero gradient */
    float p[2] = {1.0f, -2.0f}, m[2] = {0, 0}, v[2] = {0, 0};
    const float gs[3] = {0.5f, -0.2f, 0.1f};
    const double wm[3] = {0.05, 0.025, 0.0325}, wv[3] = {0.00025, 0.00028975, 0.00029946025};
    for (int t = 0; t < 3; t++) {
        float g[2] = {gs[t], 0.0f};
        fpo_adam_step(p, g, m, v, 2, &cfg, t + 1);
        ck_assert_close(p[0], want[t], 2e-6);
        ck_assert_close(m[0], wm[t], 1e-6);
        /* beta2 = 0.999f is 0.99900001: 1 - beta2 is 1.3e-5 below 0.001 */
        ck_assert_msg(fabs(v[0] - wv[t]) < 2e-5 * wv[t], "t=%d v %.9g want %.9g", t, (double)v[0],
                      wv[t]);
        ck_assert_close(p[1], -2.0 * pow(1.0 - 0.1 * wd, t + 1), 1e-6);
    }
}

START_TEST(adam_hand_steps)
{
    const double want[3] = {0.900000002, 0.8654394, 0.8275002};
    run(0.0f, want);
}
END_TEST

START_TEST(adamw_hand_steps)
{
    const double want[3] = {0.899000002, 0.8635404, 0.8247377};
    run(0.01f, want);
}
END_TEST

START_TEST(adam_first_step_is_lr_sign)
{
    /* With bias correction the first step is lr * g/|g| for any g >> eps. */
    enum { N = 37 };
    fpo_adam_cfg cfg = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f};
    float p[N], g[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++) {
        p[i] = 0.0f;
        g[i] = (i % 2 ? -1.0f : 1.0f) * (0.01f + (float)i);
    }
    fpo_adam_step(p, g, m, v, N, &cfg, 1);
    for (int i = 0; i < N; i++)
        ck_assert_close(p[i] * 1e3f, (i % 2 ? 1.0 : -1.0), 1e-5);
}
END_TEST

START_TEST(grad_norm_and_scale)
{
    float g[2] = {3.0f, 4.0f};
    ck_assert_double_eq_tol(fpo_grad_norm(g, 2), 5.0, 1e-12);
    ck_assert_double_eq(fpo_grad_norm(g, 0), 0.0);
    fpo_scale(g, 2, 0.5f);
    ck_assert_float_eq(g[0], 1.5f);
    ck_assert_float_eq(g[1], 2.0f);

    /* 10^7 equal terms: float accumulation would be off by ~1e-3, double is not */
    size_t n = 10000001;
    float *big = malloc(n * sizeof *big);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < n; i++)
        big[i] = 0.1f;
    double want = (double)0.1f * sqrt((double)n);
    ck_assert_double_eq_tol(fpo_grad_norm(big, n), want, 1e-9 * want);

    /* clipping to a global norm */
    double before = fpo_clip_grad_norm(big, n, 1.0);
    ck_assert_double_eq_tol(before, want, 1e-9 * want);
    ck_assert_double_eq_tol(fpo_grad_norm(big, n), 1.0, 1e-6);
    ck_assert_double_eq_tol(fpo_clip_grad_norm(big, n, 10.0), 1.0, 1e-6);
    ck_assert_double_eq_tol(fpo_grad_norm(big, n), 1.0, 1e-6);
    free(big);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("adam");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, adam_hand_steps);
    tcase_add_test(tc, adamw_hand_steps);
    tcase_add_test(tc, adam_first_step_is_lr_sign);
    tcase_add_test(tc, grad_norm_and_scale);
    suite_add_tcase(s, tc);
    return s;
}
