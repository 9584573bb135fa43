/* fpo_policy_pretrain (fpo/pretrain.h): the CFM fit of a flow policy, the
 * maximum-likelihood fit of a Gaussian one, determinism, the progress
 * callback, bad inputs, and that FPO fine-tuning starts at ratio 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpo/fpo.h"
#include "rng.h"
#include "testutil.h"

static fpo_policy *make_policy(fpo_policy_kind kind, int od, int ad, uint64_t seed)
{
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.kind = kind;
    pc.obs_dim = od;
    pc.act_dim = ad;
    pc.actor_layers = 2;
    pc.actor_hidden[0] = pc.actor_hidden[1] = 32;
    pc.critic_layers = 1;
    pc.critic_hidden[0] = 8;
    pc.seed = seed;
    fpo_policy *p;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    return p;
}

/* n rows: obs uniform in [-1, 1]^od; act = f(obs) + noise * N(0, 1). */
static void linear_data(int n, int od, int ad, float noise, float *obs, float *act)
{
    fpo_rng r;
    fpo_rng_init(&r, 7, 0);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < od; j++)
            obs[i * od + j] = 2.0f * fpo_rng_uniform(&r) - 1.0f;
        for (int d = 0; d < ad; d++) {
            float z;
            fpo_rng_normal(&r, &z, 1);
            act[i * ad + d] = 0.8f * obs[i * od + d % od] - 0.3f + noise * z;
        }
    }
}

static size_t n_params(const fpo_policy *p)
{
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
    return info.actor_params + info.critic_params;
}

static float *params_of(const fpo_policy *p)
{
    size_t n = n_params(p);
    float *x = malloc(n * sizeof(float));
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ALL, x, n), FPO_OK);
    return x;
}

/* Raw actions (x_0, what pretraining fits) for n copies of obs. */
static void sample_raw_with(const fpo_policy *p, const float *obs1, int od, int n, float *raw,
                            uint64_t seed, fpo_integrator integrator, int steps)
{
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.integrator = integrator;
    sc.steps = steps;
    sc.max_batch = n;
    sc.seed = seed;
    fpo_sampler *s;
    ck_assert_int_eq(fpo_sampler_create(&s, p, &sc), FPO_OK);
    float *obs = malloc(sizeof(float) * (size_t)n * od);
    for (int i = 0; i < n; i++)
        memcpy(obs + (size_t)i * od, obs1, sizeof(float) * od);
    ck_assert_int_eq(fpo_sampler_act(s, p, obs, n, NULL, raw), FPO_OK);
    free(obs);
    fpo_sampler_destroy(s);
}

static void sample_raw(const fpo_policy *p, const float *obs1, int od, int n, float *raw,
                       uint64_t seed)
{
    sample_raw_with(p, obs1, od, n, raw, seed, FPO_INTEGRATOR_EULER, 10);
}

START_TEST(cfm_loss_falls)
{
    int n = 1000, od = 2, ad = 2;
    float *obs = malloc(sizeof(float) * n * od), *act = malloc(sizeof(float) * n * ad);
    linear_data(n, od, ad, 0.05f, obs, act);
    fpo_policy *p = make_policy(FPO_POLICY_FLOW, od, ad, 1);
    fpo_pretrain_config c;
    ck_assert_int_eq(fpo_pretrain_config_init(&c), FPO_OK);
    c.epochs = 30;
    c.minibatch = 64;
    fpo_pretrain_stats st = {sizeof st};
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, &st), FPO_OK);
    ck_assert_int_eq(st.epochs, 30);
    ck_assert_int_eq(st.stopped, 0);
    ck_assert_int_eq(st.n_val, 100);
    ck_assert_int_eq(st.n_train, 900);
    ck_assert_int_eq(st.steps, 30 * 15);
    ck_assert(isfinite(st.first_val_loss) && isfinite(st.val_loss));
    ck_assert_msg(st.val_loss < 0.5 * st.first_val_loss, "val %g -> %g", st.first_val_loss,
                  st.val_loss);
    ck_assert_msg(st.train_loss < st.first_train_loss, "train %g -> %g", st.first_train_loss,
                  st.train_loss);
    /* The fitted flow's deterministic actions follow the data's mean. */
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
    ck_assert_int_eq(info.obs_count, 900); /* the training rows' statistics */
    float o1[2] = {0.5f, -0.5f}, raw[256];
    sample_raw(p, o1, od, 128, raw, 3);
    double m0 = 0, m1 = 0;
    for (int i = 0; i < 128; i++) {
        m0 += raw[2 * i] / 128.0;
        m1 += raw[2 * i + 1] / 128.0;
    }
    ck_assert_msg(fabs(m0 - 0.1) < 0.1 && fabs(m1 + 0.7) < 0.1, "means %g %g", m0, m1);
    fpo_policy_destroy(p);
    free(obs);
    free(act);
}
END_TEST

/* Actions +-1 with equal frequency for the same observation: the flow keeps
 * both modes (a Gaussian fit would put its mean at 0). */
START_TEST(bimodal_data_keeps_both_modes)
{
    int n = 1024, od = 1, ad = 1;
    float *obs = malloc(sizeof(float) * n), *act = malloc(sizeof(float) * n);
    fpo_rng r;
    fpo_rng_init(&r, 11, 0);
    for (int i = 0; i < n; i++) {
        obs[i] = 0.5f + 0.01f * fpo_rng_uniform(&r);
        act[i] = fpo_rng_below(&r, 2) ? 1.0f : -1.0f;
    }
    fpo_policy *p = make_policy(FPO_POLICY_FLOW, od, ad, 2);
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = 200;
    c.minibatch = 128;
    fpo_pretrain_stats st = {sizeof st};
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, &st), FPO_OK);
    int m = 2000, pos = 0, near = 0;
    float *raw = malloc(sizeof(float) * m);
    float o1 = 0.505f;
    sample_raw(p, &o1, 1, m, raw, 5);
    for (int i = 0; i < m; i++) {
        pos += raw[i] > 0.0f;
        near += fabsf(fabsf(raw[i]) - 1.0f) < 0.3f;
    }
    ck_assert_msg(pos > 0.3 * m && pos < 0.7 * m, "%d of %d positive", pos, m);
    ck_assert_msg(near > 0.8 * m, "%d of %d within 0.3 of a mode", near, m);
    fpo_policy_destroy(p);
    free(raw);
    free(obs);
    free(act);
}
END_TEST

static double std_of(const float *x, int n)
{
    double m = 0, v = 0;
    for (int i = 0; i < n; i++)
        m += x[i] / (double)n;
    for (int i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m) / (double)(n - 1);
    return sqrt(v);
}

/* The samplers' spread of a narrow flow (docs/stability.md, "Why flows
 * narrow"). For a ~ N(mu, s^2) on the path x_t = t eps + (1 - t) a, the
 * flow's field is linear in x, and an integrator's output std is s times a
 * factor computed by hand from the scale's ODE dc/dt = c (t - (1 - t) s^2) /
 * (t^2 + (1 - t)^2 s^2): for s = 0.1, Euler with 10 steps gives 0.617,
 * midpoint with 10 steps 0.988, Euler with 50 steps 0.914. A flow fitted to
 * such data shows the same: Euler's samples are far narrower than the data,
 * midpoint's are not. */
START_TEST(euler_narrows_a_narrow_flow)
{
    int n = 2048, m = 4000;
    const float sd = 0.1f;
    float *obs = malloc(sizeof(float) * n), *act = malloc(sizeof(float) * n);
    fpo_rng r;
    fpo_rng_init(&r, 13, 0);
    for (int i = 0; i < n; i++) {
        float z;
        fpo_rng_normal(&r, &z, 1);
        obs[i] = 0.5f + 0.01f * fpo_rng_uniform(&r);
        act[i] = 0.2f + sd * z;
    }
    fpo_policy *p = make_policy(FPO_POLICY_FLOW, 1, 1, 4);
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = 600;
    c.minibatch = 128;
    /* t uniform: the field is fitted down to t = 0, where a narrow flow's
     * field is steepest (the t grid stops at 0.1, and so does Euler's last
     * evaluation, but midpoint's last is at 0.05). */
    c.t_dist = FPO_T_UNIFORM;
    fpo_pretrain_stats st = {sizeof st};
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, &st), FPO_OK);
    float *raw = malloc(sizeof(float) * m), o1 = 0.505f;
    sample_raw_with(p, &o1, 1, m, raw, 5, FPO_INTEGRATOR_EULER, 10);
    double euler10 = std_of(raw, m) / sd;
    sample_raw_with(p, &o1, 1, m, raw, 5, FPO_INTEGRATOR_EULER, 50);
    double euler50 = std_of(raw, m) / sd;
    sample_raw_with(p, &o1, 1, m, raw, 5, FPO_INTEGRATOR_MIDPOINT, 10);
    double mid10 = std_of(raw, m) / sd;
    printf("sampled std / data std: euler 10 %.3f, euler 50 %.3f, midpoint 10 %.3f\n", euler10,
           euler50, mid10);
    ck_assert_msg(fabs(mid10 - 0.988) < 0.06, "midpoint 10: %g", mid10);
    ck_assert_msg(fabs(euler10 - 0.617) < 0.06, "euler 10: %g", euler10);
    ck_assert_msg(fabs(euler50 - 0.914) < 0.06, "euler 50: %g", euler50);
    fpo_policy_destroy(p);
    free(raw);
    free(obs);
    free(act);
}
END_TEST

/* a ~ N(0.3 + 0.5 o, 0.4^2): the Gaussian's mean and std come back. */
START_TEST(gaussian_mle_recovers_mean_and_std)
{
    int n = 4000, od = 1, ad = 1;
    float *obs = malloc(sizeof(float) * n), *act = malloc(sizeof(float) * n);
    fpo_rng r;
    fpo_rng_init(&r, 13, 0);
    for (int i = 0; i < n; i++) {
        float z;
        fpo_rng_normal(&r, &z, 1);
        obs[i] = 2.0f * fpo_rng_uniform(&r) - 1.0f;
        act[i] = 0.3f + 0.5f * obs[i] + 0.4f * z;
    }
    fpo_policy *p = make_policy(FPO_POLICY_GAUSSIAN, od, ad, 3);
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = 100;
    c.minibatch = 128;
    c.lr = 3e-3f;
    fpo_pretrain_stats st = {sizeof st};
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, &st), FPO_OK);
    /* NLL of N(mu, 0.4^2) per row: 0.5 + log(0.4) + log sqrt(2 pi) = 0.503. */
    ck_assert_msg(fabs(st.val_loss - 0.503) < 0.08, "val NLL %g", st.val_loss);
    int m = 8000;
    float *raw = malloc(sizeof(float) * m);
    for (int k = 0; k < 2; k++) {
        float o1 = k ? 0.6f : -0.4f, mu = 0.3f + 0.5f * o1;
        sample_raw(p, &o1, 1, m, raw, 17 + k);
        double s = 0, s2 = 0;
        for (int i = 0; i < m; i++) {
            s += raw[i];
            s2 += (double)raw[i] * raw[i];
        }
        double mean = s / m, sd = sqrt(s2 / m - mean * mean);
        ck_assert_msg(fabs(mean - mu) < 0.05, "o %g: mean %g, want %g", o1, mean, mu);
        ck_assert_msg(fabs(sd - 0.4) < 0.04, "o %g: std %g, want 0.4", o1, sd);
    }
    fpo_policy_destroy(p);
    free(raw);
    free(obs);
    free(act);
}
END_TEST

START_TEST(same_seed_same_bits)
{
    fpo_policy_kind kind = _i ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW;
    int n = 300, od = 3, ad = 2;
    float *obs = malloc(sizeof(float) * n * od), *act = malloc(sizeof(float) * n * ad);
    linear_data(n, od, ad, 0.2f, obs, act);
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = 3;
    c.minibatch = 50;
    float *x[3];
    fpo_pretrain_stats st[3];
    for (int k = 0; k < 3; k++) {
        fpo_policy *p = make_policy(kind, od, ad, 4);
        c.seed = k == 2 ? 99 : 1;
        st[k] = (fpo_pretrain_stats){sizeof st[k]};
        ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, &st[k]), FPO_OK);
        x[k] = params_of(p);
        if (k == 0)
            ck_assert_int_eq(memcmp(&st[0], &st[0], sizeof st[0]), 0);
        size_t np = n_params(p);
        if (k == 1) {
            ck_assert_int_eq(memcmp(x[0], x[1], np * sizeof(float)), 0);
            ck_assert_double_eq(st[0].val_loss, st[1].val_loss);
            ck_assert_double_eq(st[0].train_loss, st[1].train_loss);
        }
        if (k == 2)
            ck_assert_int_ne(memcmp(x[0], x[2], np * sizeof(float)), 0);
        fpo_policy_destroy(p);
    }
    for (int k = 0; k < 3; k++)
        free(x[k]);
    free(obs);
    free(act);
}
END_TEST

typedef struct calls {
    int n, stop_at;
    double last_val;
} calls;

static int on_epoch(void *user, int epoch, double train, double val)
{
    calls *c = user;
    c->n++;
    ck_assert_int_eq(epoch, c->n);
    ck_assert(isfinite(train));
    c->last_val = val;
    return epoch == c->stop_at;
}

START_TEST(callback_stops)
{
    int n = 200, od = 2, ad = 1;
    float *obs = malloc(sizeof(float) * n * od), *act = malloc(sizeof(float) * n * ad);
    linear_data(n, od, ad, 0.1f, obs, act);
    fpo_policy *p = make_policy(FPO_POLICY_FLOW, od, ad, 5);
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = 20;
    calls cl = {0, 3, 0.0};
    c.progress = on_epoch;
    c.progress_user = &cl;
    fpo_pretrain_stats st = {sizeof st};
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, &st), FPO_OK);
    ck_assert_int_eq(cl.n, 3);
    ck_assert_int_eq(st.epochs, 3);
    ck_assert_int_eq(st.stopped, 1);
    ck_assert_double_eq(cl.last_val, st.val_loss);
    /* No holdout: the validation loss is NaN. */
    cl = (calls){0, 0, 0.0};
    c.holdout = 0.0f;
    c.epochs = 2;
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, &st), FPO_OK);
    ck_assert_int_eq(cl.n, 2);
    ck_assert_int_eq(st.stopped, 0);
    ck_assert_int_eq(st.n_val, 0);
    ck_assert(isnan(cl.last_val) && isnan(st.val_loss) && isnan(st.first_val_loss));
    fpo_policy_destroy(p);
    free(obs);
    free(act);
}
END_TEST

START_TEST(bad_inputs)
{
    int n = 50, od = 2, ad = 1;
    float *obs = malloc(sizeof(float) * n * od), *act = malloc(sizeof(float) * n * ad);
    linear_data(n, od, ad, 0.1f, obs, act);
    fpo_policy *p = make_policy(FPO_POLICY_FLOW, od, ad, 6);
    float *before = params_of(p);
    size_t np = n_params(p);
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = 1;
    ck_assert_int_eq(fpo_policy_pretrain(NULL, &c, obs, act, n, NULL), FPO_EINVAL);
    ck_assert_ptr_nonnull(strstr(fpo_last_errmsg(), "p is NULL"));
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, NULL, act, n, NULL), FPO_EINVAL);
    ck_assert_ptr_nonnull(strstr(fpo_policy_errmsg(p), "obs is NULL"));
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, NULL, n, NULL), FPO_EINVAL);
    ck_assert_ptr_nonnull(strstr(fpo_policy_errmsg(p), "act is NULL"));
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, 1, NULL), FPO_ERANGE);
    ck_assert_ptr_nonnull(strstr(fpo_policy_errmsg(p), "n must be"));
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, -5, NULL), FPO_ERANGE);
    obs[5 * od + 1] = NAN;
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, NULL), FPO_ENONFINITE);
    ck_assert_ptr_nonnull(strstr(fpo_policy_errmsg(p), "obs row 5, column 1"));
    obs[5 * od + 1] = 0.0f;
    act[7] = INFINITY;
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, NULL), FPO_ENONFINITE);
    ck_assert_ptr_nonnull(strstr(fpo_policy_errmsg(p), "act row 7, column 0"));
    act[7] = 0.0f;
    struct {
        const char *what;
        void (*set)(fpo_pretrain_config *);
    } bad[] = {
        {"epochs", NULL}, {"minibatch", NULL}, {"lr", NULL}, {"holdout", NULL},
        {"n_mc", NULL}, {"cfm_loss", NULL}, {"t_dist", NULL}, {"update_obs_stats", NULL},
        {"weight_decay", NULL}, {"max_grad_norm", NULL},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        fpo_pretrain_config b = c;
        switch (k) {
        case 0: b.epochs = 0; break;
        case 1: b.minibatch = 0; break;
        case 2: b.lr = NAN; break;
        case 3: b.holdout = 0.95f; break;
        case 4: b.n_mc = -1; break;
        case 5: b.cfm_loss = (fpo_cfm_loss)7; break;
        case 6: b.t_dist = (fpo_t_dist)9; break;
        case 7: b.update_obs_stats = 2; break;
        case 8: b.weight_decay = -1.0f; break;
        default: b.max_grad_norm = INFINITY; break;
        }
        ck_assert_int_eq(fpo_policy_pretrain(p, &b, obs, act, n, NULL), FPO_ERANGE);
        ck_assert_msg(strstr(fpo_policy_errmsg(p), bad[k].what) != NULL, "%s: %s", bad[k].what,
                      fpo_policy_errmsg(p));
    }
    /* A config or stats struct that was never initialized. */
    fpo_pretrain_config z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(fpo_policy_pretrain(p, &z, obs, act, n, NULL), FPO_EINVAL);
    ck_assert_ptr_nonnull(strstr(fpo_policy_errmsg(p), "struct_size"));
    fpo_pretrain_stats zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, &zs), FPO_EINVAL);
    ck_assert_int_eq(fpo_pretrain_config_init_sized(NULL, sizeof c), FPO_EINVAL);
    ck_assert_int_eq(fpo_pretrain_config_init_sized(&z, 8), FPO_EINVAL);
    /* Too few rows for the holdout: 2 rows, 0.9 held out leaves 0. */
    c.holdout = 0.9f;
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, 2, NULL), FPO_ERANGE);
    /* None of it touched the policy. */
    float *after = params_of(p);
    ck_assert_int_eq(memcmp(before, after, np * sizeof(float)), 0);
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
    ck_assert_int_eq(info.obs_count, 0);
    free(after);
    free(before);
    fpo_policy_destroy(p);
    free(obs);
    free(act);
}
END_TEST

/* The sized init: defaults into exactly the size given, zeros for a newer
 * caller's unknown tail, nothing past it; a larger config with a zero tail is
 * accepted and one with a non-zero tail refused (docs/abi.md). */
START_TEST(sized_init_and_newer_structs)
{
    unsigned char buf[sizeof(fpo_pretrain_config) + 64];
    memset(buf, 0xa5, sizeof buf);
    size_t n = sizeof(fpo_pretrain_config);
    ck_assert_int_eq(fpo_pretrain_config_init_sized((fpo_pretrain_config *)(void *)buf, n + 32),
                     FPO_OK);
    fpo_pretrain_config c;
    memcpy(&c, buf, sizeof c);
    ck_assert_uint_eq(c.struct_size, n + 32);
    ck_assert_int_eq(c.epochs, 50);
    for (size_t i = n; i < n + 32; i++)
        ck_assert_int_eq(buf[i], 0);
    for (size_t i = n + 32; i < sizeof buf; i++)
        ck_assert_int_eq(buf[i], 0xa5);
    int rows = 20, od = 2, ad = 1;
    float obs[40], act[20];
    linear_data(rows, od, ad, 0.1f, obs, act);
    fpo_policy *p = make_policy(FPO_POLICY_FLOW, od, ad, 10);
    struct {
        fpo_pretrain_config c;
        double future;
    } newer;
    ck_assert_int_eq(fpo_pretrain_config_init_sized(&newer.c, sizeof newer), FPO_OK);
    newer.c.epochs = 1;
    ck_assert_int_eq(fpo_policy_pretrain(p, &newer.c, obs, act, rows, NULL), FPO_OK);
    newer.future = 1.0;
    ck_assert_int_eq(fpo_policy_pretrain(p, &newer.c, obs, act, rows, NULL), FPO_EVERSION);
    ck_assert_ptr_nonnull(strstr(fpo_policy_errmsg(p), "fpo_pretrain_config"));
    /* Stats: a larger struct gets its tail zeroed. */
    struct {
        fpo_pretrain_stats s;
        unsigned char tail[16];
    } big;
    memset(&big, 0xa5, sizeof big);
    big.s.struct_size = sizeof big;
    ck_assert_int_eq(fpo_policy_pretrain(p, &newer.c, obs, act, rows, NULL), FPO_EVERSION);
    newer.future = 0.0;
    ck_assert_int_eq(fpo_policy_pretrain(p, &newer.c, obs, act, rows, &big.s), FPO_OK);
    ck_assert_int_eq(big.s.epochs, 1);
    for (size_t i = 0; i < sizeof big.tail; i++)
        ck_assert_int_eq(big.tail[i], 0);
    fpo_policy_destroy(p);
}
END_TEST

/* A huge learning rate on wild targets: FPO_EDIVERGED or not, the policy is
 * finite afterwards, and restored exactly when it failed. */
START_TEST(divergence_restores)
{
    int n = 64, od = 1, ad = 1;
    float obs[64], act[64];
    for (int i = 0; i < n; i++) {
        obs[i] = (float)i;
        act[i] = i % 2 ? 3e37f : -3e37f;
    }
    fpo_policy *p = make_policy(FPO_POLICY_GAUSSIAN, od, ad, 7);
    float *before = params_of(p);
    size_t np = n_params(p);
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = 2;
    c.lr = 1.0f;
    c.max_grad_norm = 0.0f;
    int rc = fpo_policy_pretrain(p, &c, obs, act, n, NULL);
    float *after = params_of(p);
    for (size_t q = 0; q < np; q++)
        ck_assert(isfinite(after[q]));
    if (rc != FPO_OK) {
        ck_assert_int_eq(rc, FPO_EDIVERGED);
        ck_assert_int_eq(memcmp(before, after, np * sizeof(float)), 0);
        fpo_policy_info info = {sizeof info};
        ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
        ck_assert_int_eq(info.obs_count, 0);
    }
    free(before);
    free(after);
    fpo_policy_destroy(p);
}
END_TEST

/* Fine-tuning: after pretraining, the first FPO update on the policy's own
 * rollouts starts at ratio 1 (theta_old is the pretrained policy; one epoch
 * of one minibatch measures the ratio before any step). */
START_TEST(finetune_starts_at_ratio_one)
{
    int od = 2, ad = 2, N = 8, T = 16, n = 512;
    float *obs = malloc(sizeof(float) * n * od), *act = malloc(sizeof(float) * n * ad);
    linear_data(n, od, ad, 0.1f, obs, act);
    fpo_policy *p = make_policy(FPO_POLICY_FLOW, od, ad, 8);
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = 5;
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, NULL), FPO_OK);
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = N;
    bc.horizon = T;
    bc.obs_dim = od;
    bc.act_dim = ad;
    bc.n_mc = 8;
    fpo_buffer *b;
    ck_assert_int_eq(fpo_buffer_create(&b, &bc), FPO_OK);
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.max_batch = N;
    fpo_sampler *s;
    ck_assert_int_eq(fpo_sampler_create(&s, p, &sc), FPO_OK);
    float o[16], a[16], raw[16], rew[8], fin[16];
    unsigned fl[8];
    for (int t = 0; t < T; t++) {
        memcpy(o, obs + (size_t)t * N * od, sizeof o);
        ck_assert_int_eq(fpo_sampler_act(s, p, o, N, a, raw), FPO_OK);
        for (int e = 0; e < N; e++) {
            rew[e] = -(a[2 * e] * a[2 * e]);
            fl[e] = t % 5 == 4 ? FPO_STEP_TRUNCATED : 0;
        }
        memcpy(fin, o, sizeof fin);
        ck_assert_int_eq(fpo_buffer_add(b, o, raw, rew, fl, fin), FPO_OK);
    }
    ck_assert_int_eq(fpo_buffer_set_last_obs(b, o), FPO_OK);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.epochs = 1;
    oc.minibatches = 1;
    for (int mode = 0; mode < 2; mode++) {
        oc.ratio_mode = mode ? FPO_RATIO_PER_SAMPLE : FPO_RATIO_AVERAGED;
        fpo_policy *q;
        ck_assert_int_eq(fpo_policy_clone(&q, p), FPO_OK);
        fpo_optimizer *opt;
        ck_assert_int_eq(fpo_optimizer_create(&opt, q, b, &oc), FPO_OK);
        fpo_update_stats st = {sizeof st};
        ck_assert_int_eq(fpo_optimizer_update(opt, q, b, &st), FPO_OK);
        ck_assert_double_eq(st.ratio_mean, 1.0);
        ck_assert_double_eq(st.ratio_max, 1.0);
        ck_assert_double_eq(st.ratio_min, 1.0);
        ck_assert_int_eq(st.skipped_steps, 0);
        /* The pretrained flow explains its own samples far better than the
         * random one it started as (that is what it was fitted to do). */
        ck_assert(isfinite(st.cfm_loss_old));
        fpo_optimizer_destroy(opt);
        fpo_policy_destroy(q);
    }
    fpo_sampler_destroy(s);
    fpo_buffer_destroy(b);
    fpo_policy_destroy(p);
    free(obs);
    free(act);
}
END_TEST

/* ---- the trainer: init_policy and critic_warmup ------------------------------ */

static int pos_reset(void *user, void *env, uint64_t seed, float *obs)
{
    (void)user, (void)env;
    obs[0] = (float)(seed % 7) / 7.0f - 0.5f;
    obs[1] = 0.25f;
    return 0;
}

static int pos_step(void *user, void *env, const float *a, float *obs, float *r, unsigned *fl)
{
    (void)user, (void)env;
    *r = -(a[0] - obs[0]) * (a[0] - obs[0]);
    obs[1] = 0.25f;
    *fl = FPO_STEP_TERMINATED;
    return 0;
}

static const fpo_env_table pos_table = {sizeof(fpo_env_table), FPO_ENV_TABLE_VERSION, 2, 1, NULL,
                                        NULL, NULL, pos_reset, pos_step, NULL};

static fpo_trainer *pos_trainer(const fpo_policy *init, int warmup, int hidden, int *rc)
{
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &pos_table;
    tc.num_envs = 16;
    tc.horizon = 4;
    tc.seed = 3;
    tc.init_policy = init;
    tc.critic_warmup = warmup;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.actor_layers = 2;
    pc.actor_hidden[0] = pc.actor_hidden[1] = hidden;
    pc.critic_layers = 1;
    pc.critic_hidden[0] = 8;
    tc.policy = &pc;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.epochs = 2;
    oc.minibatches = 2;
    tc.optimizer = &oc;
    fpo_trainer *t = NULL;
    *rc = fpo_trainer_create(&t, &tc);
    return t;
}

START_TEST(trainer_starts_from_init_policy)
{
    int n = 256, od = 2, ad = 1;
    float *obs = malloc(sizeof(float) * n * od), *act = malloc(sizeof(float) * n * ad);
    linear_data(n, od, ad, 0.1f, obs, act);
    fpo_policy *p = make_policy(FPO_POLICY_FLOW, od, ad, 9);
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = 2;
    ck_assert_int_eq(fpo_policy_pretrain(p, &c, obs, act, n, NULL), FPO_OK);
    int rc;
    fpo_trainer *t = pos_trainer(p, 0, 32, &rc);
    ck_assert_int_eq(rc, FPO_OK);
    fpo_policy *q = fpo_trainer_policy(t);
    float *x = params_of(p), *y = params_of(q);
    ck_assert_int_eq(memcmp(x, y, n_params(p) * sizeof(float)), 0);
    float m1[2], s1[2], m2[2], s2[2];
    ck_assert_int_eq(fpo_policy_obs_stats(p, m1, s1), FPO_OK);
    ck_assert_int_eq(fpo_policy_obs_stats(q, m2, s2), FPO_OK);
    ck_assert_int_eq(memcmp(m1, m2, sizeof m1), 0);
    ck_assert_int_eq(memcmp(s1, s2, sizeof s1), 0);
    fpo_progress pr = {sizeof pr};
    ck_assert_int_eq(fpo_trainer_iterate(t, &pr), FPO_OK);
    ck_assert(isfinite(pr.update->ratio_mean));
    fpo_trainer_destroy(t);
    free(x);
    free(y);
    /* Another shape: refused, with a message. */
    t = pos_trainer(p, 0, 16, &rc);
    ck_assert_int_eq(rc, FPO_EMISMATCH);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(fpo_last_errmsg(), "init_policy"));
    t = pos_trainer(NULL, -1, 32, &rc);
    ck_assert_int_eq(rc, FPO_ERANGE);
    ck_assert_ptr_nonnull(strstr(fpo_last_errmsg(), "critic_warmup"));
    fpo_policy_destroy(p);
    free(obs);
    free(act);
}
END_TEST

/* critic_warmup = 2: two iterations change the critic only (ratio exactly 1
 * throughout), the third the actor too. */
START_TEST(critic_warmup_freezes_the_actor)
{
    int rc;
    fpo_trainer *t = pos_trainer(NULL, 2, 32, &rc);
    ck_assert_int_eq(rc, FPO_OK);
    fpo_policy *p = fpo_trainer_policy(t);
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
    size_t na = info.actor_params, nc = info.critic_params;
    float *a0 = malloc(na * sizeof(float)), *a1 = malloc(na * sizeof(float));
    float *c0 = malloc(nc * sizeof(float)), *c1 = malloc(nc * sizeof(float));
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ACTOR, a0, na), FPO_OK);
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_CRITIC, c0, nc), FPO_OK);
    for (int it = 1; it <= 3; it++) {
        fpo_progress pr = {sizeof pr};
        ck_assert_int_eq(fpo_trainer_iterate(t, &pr), FPO_OK);
        ck_assert_int_gt(pr.update->steps, 0);
        ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ACTOR, a1, na), FPO_OK);
        ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_CRITIC, c1, nc), FPO_OK);
        ck_assert_int_ne(memcmp(c0, c1, nc * sizeof(float)), 0);
        if (it <= 2) {
            ck_assert_msg(memcmp(a0, a1, na * sizeof(float)) == 0, "iteration %d moved the actor",
                          it);
            ck_assert_double_eq(pr.update->ratio_max, 1.0);
        } else {
            ck_assert_int_ne(memcmp(a0, a1, na * sizeof(float)), 0);
        }
        memcpy(c0, c1, nc * sizeof(float));
    }
    fpo_trainer_destroy(t);
    free(a0);
    free(a1);
    free(c0);
    free(c1);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("pretrain");
    TCase *tc = tcase_create("pretrain");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, cfm_loss_falls);
    tcase_add_test(tc, bimodal_data_keeps_both_modes);
    tcase_add_test(tc, euler_narrows_a_narrow_flow);
    tcase_add_test(tc, gaussian_mle_recovers_mean_and_std);
    tcase_add_loop_test(tc, same_seed_same_bits, 0, 2);
    tcase_add_test(tc, callback_stops);
    tcase_add_test(tc, bad_inputs);
    tcase_add_test(tc, divergence_restores);
    tcase_add_test(tc, sized_init_and_newer_structs);
    tcase_add_test(tc, finetune_starts_at_ratio_one);
    tcase_add_test(tc, trainer_starts_from_init_policy);
    tcase_add_test(tc, critic_warmup_freezes_the_actor);
    suite_add_tcase(s, tc);
    return s;
}
