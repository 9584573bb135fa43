/* Does a policy keep both modes of a bimodal reward? The plateau bandit of
 * tests/test_core.c (obs constant, one action per episode, reward 1 for
 * 0.45 <= |a| <= 0.75 and falling linearly to 0 within 0.3 outside), trained
 * from scratch with several FPO variants, Gaussian PPO and, as a control, PPO
 * on an exact-likelihood mixture of two Gaussians (written out below: its
 * log-likelihood and gradient are closed-form, so it shows what a policy
 * gradient does with a bimodal reward when no ELBO is involved).
 *
 * Every run: 64 envs x 16 steps = 1024 actions per iteration, 4 epochs x 4
 * minibatches, lr 1e-3, Adam, the clip of each algorithm's defaults (FPO 0.05,
 * PPO 0.1); flow and mean networks 2 x 32, N_mc 16. After 200 and 400
 * iterations, 1000 sampled actions are sorted into the two plateaus
 * (0.4 <= |a| <= 0.8 by sign). A run "keeps both modes" when each plateau
 * holds at least 20% of them and the mean reward is at least 0.95.
 *
 * usage: bimodal [seeds, default 10] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpo/fpo.h>

static float plateau_reward(float a)
{
    float x = fabsf(a);
    float d = x < 0.45f ? 0.45f - x : (x > 0.75f ? x - 0.75f : 0.0f);
    return d > 0.3f ? 0.0f : 1.0f - d / 0.3f;
}

static int b_reset(void *user, void *env, uint64_t seed, float *obs)
{
    (void)user, (void)env, (void)seed;
    obs[0] = 0.5f;
    return 0;
}

static int b_step(void *user, void *env, const float *a, float *obs, float *r, unsigned *fl)
{
    (void)user, (void)env;
    obs[0] = 0.5f;
    *r = plateau_reward(a[0]);
    *fl = FPO_STEP_TERMINATED;
    return 0;
}

static const fpo_env_table table = {sizeof(fpo_env_table), FPO_ENV_TABLE_VERSION, 1, 1, NULL,
                                    NULL, NULL, b_reset, b_step, NULL};

enum { ENVS = 64, HORIZON = 16, SAMPLES = 1000, CHECKS = 2 };
static const int check_at[CHECKS] = {200, 400};

typedef struct outcome {
    double neg, pos, reward; /* plateau shares and mean reward */
} outcome;

static outcome classify(const float *a, int n)
{
    outcome o = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        float x = fabsf(a[i]);
        if (x >= 0.4f && x <= 0.8f)
            *(a[i] < 0 ? &o.neg : &o.pos) += 1.0 / n;
        o.reward += plateau_reward(a[i]) / n;
    }
    return o;
}

static int keeps_both(outcome o)
{
    return o.neg >= 0.2 && o.pos >= 0.2 && o.reward >= 0.95;
}

typedef struct variant {
    const char *name;
    fpo_algo algo;
    fpo_cfm_loss cfm;
    fpo_ratio_mode ratio;
    int aspo;
} variant;

static const variant variants[] = {
    {"FPO (paper: averaged ratio, eps-MSE)", FPO_ALGO_FPO, FPO_CFM_EPS, FPO_RATIO_AVERAGED, 0},
    {"FPO averaged ratio, u-MSE", FPO_ALGO_FPO, FPO_CFM_U, FPO_RATIO_AVERAGED, 0},
    {"FPO++ per-sample + ASPO, eps-MSE", FPO_ALGO_FPO, FPO_CFM_EPS, FPO_RATIO_PER_SAMPLE, 1},
    {"FPO++ per-sample + ASPO, u-MSE", FPO_ALGO_FPO, FPO_CFM_U, FPO_RATIO_PER_SAMPLE, 1},
    {"FPO++ per-sample + ASPO, ELBO", FPO_ALGO_FPO, FPO_CFM_ELBO, FPO_RATIO_PER_SAMPLE, 1},
    {"Gaussian PPO", FPO_ALGO_PPO, FPO_CFM_EPS, FPO_RATIO_AVERAGED, 0},
};

static int run_libfpo(const variant *v, uint64_t seed, outcome out[CHECKS])
{
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &table;
    tc.num_envs = ENVS;
    tc.horizon = HORIZON;
    tc.seed = seed;
    tc.n_mc = 16;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.kind = v->algo == FPO_ALGO_FPO ? FPO_POLICY_FLOW : FPO_POLICY_GAUSSIAN;
    pc.actor_layers = 2;
    pc.actor_hidden[0] = pc.actor_hidden[1] = 32;
    pc.critic_layers = 1;
    pc.critic_hidden[0] = 16;
    pc.init_std = 0.6f;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, v->algo);
    oc.epochs = 4;
    oc.minibatches = 4;
    oc.lr = 1e-3f;
    oc.reward_scale = 1.0f;
    oc.entropy_coef = 0.0f;
    oc.cfm_loss = v->cfm;
    oc.ratio_mode = v->ratio;
    oc.aspo = v->aspo;
    tc.policy = &pc;
    tc.optimizer = &oc;
    fpo_trainer *t;
    int rc = fpo_trainer_create(&t, &tc);
    if (rc) {
        fprintf(stderr, "bimodal: %s\n", fpo_last_errmsg());
        return rc;
    }
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.max_batch = SAMPLES;
    sc.seed = 99;
    fpo_sampler *s = NULL;
    static float obs[SAMPLES], act[SAMPLES];
    for (int i = 0; i < SAMPLES; i++)
        obs[i] = 0.5f;
    rc = fpo_sampler_create(&s, fpo_trainer_policy(t), &sc);
    for (int it = 1, k = 0; rc == 0 && k < CHECKS; it++) {
        if ((rc = fpo_trainer_iterate(t, NULL)))
            fprintf(stderr, "bimodal: %s\n", fpo_trainer_errmsg(t));
        else if (it == check_at[k]) {
            if ((rc = fpo_sampler_act(s, fpo_trainer_policy(t), obs, SAMPLES, act, NULL)) == 0)
                out[k++] = classify(act, SAMPLES);
        }
    }
    fpo_sampler_destroy(s);
    fpo_trainer_destroy(t);
    return rc;
}

/* ---- the control: PPO on an exact-likelihood two-Gaussian mixture -------- */

typedef struct lcg {
    uint64_t s;
} lcg;

static double u01(lcg *g)
{
    g->s = g->s * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(g->s >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(lcg *g)
{
    return sqrt(-2.0 * log(u01(g))) * cos(6.283185307179586 * u01(g));
}

/* th = (logit w, mu1, mu2, log sigma1, log sigma2); log p(x) and its gradient.
 * The action is tanh(x), as for libfpo's policies. */
static double mix_logp(const double *th, double x, double *g)
{
    double w = 1.0 / (1.0 + exp(-th[0]));
    double z1 = (x - th[1]) / exp(th[3]), z2 = (x - th[2]) / exp(th[4]);
    double l1 = log(w) - 0.5 * z1 * z1 - th[3], l2 = log(1.0 - w) - 0.5 * z2 * z2 - th[4];
    double m = fmax(l1, l2), lse = m + log(exp(l1 - m) + exp(l2 - m));
    double r1 = exp(l1 - lse), r2 = exp(l2 - lse);
    if (g) {
        g[0] = r1 * (1.0 - w) - r2 * w;
        g[1] = r1 * z1 / exp(th[3]);
        g[2] = r2 * z2 / exp(th[4]);
        g[3] = r1 * (z1 * z1 - 1.0);
        g[4] = r2 * (z2 * z2 - 1.0);
    }
    return lse;
}

static void run_mixture(uint64_t seed, outcome out[CHECKS])
{
    enum { N = ENVS * HORIZON, MB = 4, EP = 4 };
    static double x[N], adv[N], lold[N];
    static float act[SAMPLES];
    lcg g = {seed * 0x9E3779B97F4A7C15ull + 1};
    double th[5] = {0.0, -0.2 + 0.1 * normal(&g), 0.2 + 0.1 * normal(&g), 0.0, 0.0};
    double m[5] = {0}, v[5] = {0};
    const double lr = 1e-3, clip = 0.1;
    long step = 0;
    for (int it = 1, k = 0; k < CHECKS; it++) {
        double w = 1.0 / (1.0 + exp(-th[0])), mean = 0.0;
        for (int i = 0; i < N; i++) {
            x[i] = u01(&g) < w ? th[1] + exp(th[3]) * normal(&g) : th[2] + exp(th[4]) * normal(&g);
            adv[i] = plateau_reward((float)tanh(x[i]));
            mean += adv[i] / N;
            lold[i] = mix_logp(th, x[i], NULL);
        }
        for (int i = 0; i < N; i++)
            adv[i] -= mean;
        for (int ep = 0; ep < EP; ep++)
            for (int mb = 0; mb < MB; mb++) {
                const int n = N / MB;
                const double *a = adv + mb * n;
                double am = 0.0, as = 0.0, G[5] = {0};
                for (int j = 0; j < n; j++)
                    am += a[j] / n;
                for (int j = 0; j < n; j++)
                    as += (a[j] - am) * (a[j] - am) / n;
                as = sqrt(as) + 1e-8;
                for (int j = 0; j < n; j++) {
                    int i = mb * n + j;
                    double gr[5], A = (a[j] - am) / as;
                    double rho = exp(mix_logp(th, x[i], gr) - lold[i]);
                    if (A >= 0 ? rho <= 1.0 + clip : rho >= 1.0 - clip)
                        for (int q = 0; q < 5; q++)
                            G[q] -= A * rho * gr[q] / n;
                }
                step++;
                for (int q = 0; q < 5; q++) {
                    m[q] = 0.9 * m[q] + 0.1 * G[q];
                    v[q] = 0.999 * v[q] + 0.001 * G[q] * G[q];
                    th[q] -= lr * (m[q] / (1.0 - pow(0.9, (double)step))) /
                             (sqrt(v[q] / (1.0 - pow(0.999, (double)step))) + 1e-8);
                }
            }
        if (it == check_at[k]) {
            double wk = 1.0 / (1.0 + exp(-th[0]));
            for (int i = 0; i < SAMPLES; i++)
                act[i] = (float)tanh(u01(&g) < wk ? th[1] + exp(th[3]) * normal(&g)
                                                  : th[2] + exp(th[4]) * normal(&g));
            out[k++] = classify(act, SAMPLES);
        }
    }
}

static void report(const char *name, outcome (*o)[CHECKS], int seeds)
{
    for (int k = 0; k < CHECKS; k++) {
        int both = 0;
        double minority = 0.0, reward = 0.0;
        for (int s = 0; s < seeds; s++) {
            both += keeps_both(o[s][k]);
            minority += fmin(o[s][k].neg, o[s][k].pos) / seeds;
            reward += o[s][k].reward / seeds;
        }
        printf("| %s | %d | %d / %d | %.0f%% | %.3f |", name, check_at[k], both, seeds,
               100 * minority, reward);
        for (int s = 0; s < seeds; s++)
            printf(" %.0f/%.0f", 100 * o[s][k].neg, 100 * o[s][k].pos);
        printf(" |\n");
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int seeds = argc > 1 ? atoi(argv[1]) : 10;
    if (seeds < 1 || seeds > 100) {
        fprintf(stderr, "usage: bimodal [seeds 1..100]\n");
        return 2;
    }
    outcome(*o)[CHECKS] = calloc((size_t)seeds, sizeof *o);
    if (!o)
        return 1;
    printf("| policy | iterations | keep both modes | mean smaller plateau | mean reward | "
           "per seed: %% on the negative / positive plateau |\n|---|---:|---:|---:|---:|---|\n");
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        for (int s = 0; s < seeds; s++)
            if (run_libfpo(&variants[v], (uint64_t)s + 1, o[s]))
                return 1;
        report(variants[v].name, o, seeds);
    }
    for (int s = 0; s < seeds; s++)
        run_mixture((uint64_t)s + 1, o[s]);
    report("exact-likelihood 2-Gaussian mixture, PPO (control)", o, seeds);
    free(o);
    return 0;
}
