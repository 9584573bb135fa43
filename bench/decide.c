/* Does a policy decide the sign of its actions when only the sign pays?
 * A contextual bandit modelled on finger-turn-easy's bang-bang control
 * (docs/stability.md, "finger-turn-easy: where the gap is"): the observation
 * s is uniform in [-1, 1]^2, each episode is one step, and the reward is the
 * share of action dimensions whose sign matches s's, plus sigma * N(0, 1)
 * (a weak per-step signal, as when one step's push barely moves the
 * spinner). Where inside a sign an action lies does not matter, so the best
 * policy is any that puts all its mass on the right sign; the known answer
 * is a reward of 1.
 *
 * Every run uses the library's defaults (fpo_*_config_init) for the
 * algorithm, with fpo-train's cpu batch geometry (16 envs x 64 steps, 2
 * epochs x 8 minibatches for FPO; the defaults for PPO). Every EVERY
 * iterations, 256 fixed observations get 32 sampled actions each:
 * "minority" is the mean probability of the wrong sign per (state,
 * dimension), 0.5 a coin flip, 0 decided.
 *
 * usage: decide [seeds (default 3)] [sigma (default 1)] [iterations (default 300)]
 *               [fpo-only] [KEY=VALUE...]
 * KEY=VALUE changes one of FPO's settings: lr, clip, epochs, n_mc, anchor,
 * anchor_drift, cfm (eps, u, elbo), ratio (avg, ps), aspo (0, 1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpo/fpo.h>

enum { D = 2, ENVS = 16, HORIZON = 64, TEST = 256, DRAWS = 32, EVERY = 50 };

static float sigma = 1.0f;
static int n_over;
static char **over;
static float state[ENVS][D];
static uint64_t noise_state[ENVS];

static double u01(uint64_t *g)
{
    *g = *g * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(*g >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(uint64_t *g)
{
    return sqrt(-2.0 * log(u01(g))) * cos(6.283185307179586 * u01(g));
}

static int d_reset(void *user, void *env, uint64_t seed, float *obs)
{
    (void)user;
    int i = (int)(intptr_t)env;
    uint64_t g = seed * 0x9E3779B97F4A7C15ull + 7;
    for (int d = 0; d < D; d++)
        obs[d] = state[i][d] = (float)(2.0 * u01(&g) - 1.0);
    noise_state[i] ^= seed;
    return 0;
}

static int d_step(void *user, void *env, const float *a, float *obs, float *r, unsigned *fl)
{
    (void)user;
    int i = (int)(intptr_t)env;
    double match = 0.0;
    for (int d = 0; d < D; d++) {
        match += (a[d] > 0.0f) == (state[i][d] > 0.0f) ? 1.0 / D : 0.0;
        obs[d] = state[i][d];
    }
    *r = (float)(match + sigma * normal(&noise_state[i]));
    *fl = FPO_STEP_TERMINATED;
    return 0;
}

static const fpo_env_table table = {sizeof(fpo_env_table), FPO_ENV_TABLE_VERSION, D, D, NULL,
                                    NULL, NULL, d_reset, d_step, NULL};

static float test_obs[TEST * DRAWS * D], test_act[TEST * DRAWS * D];

/* Mean probability of the wrong sign over the test states and dimensions. */
static double minority(const fpo_policy *p, fpo_sampler *s)
{
    if (fpo_sampler_act(s, p, test_obs, TEST * DRAWS, test_act, NULL))
        return NAN;
    double m = 0.0;
    for (int i = 0; i < TEST * DRAWS; i++)
        for (int d = 0; d < D; d++)
            m += (test_act[i * D + d] > 0.0f) != (test_obs[i * D + d] > 0.0f);
    return m / (TEST * DRAWS * D);
}

/* KEY of a KEY=VALUE argument (its first n characters) is exactly name. */
static int key_is(const char *k, size_t n, const char *name)
{
    return n == strlen(name) && !strncmp(k, name, n);
}

static int run(fpo_algo algo, uint64_t seed, int iters, double *out)
{
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &table;
    tc.num_envs = ENVS;
    tc.horizon = HORIZON;
    tc.seed = seed;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.kind = algo == FPO_ALGO_FPO ? FPO_POLICY_FLOW : FPO_POLICY_GAUSSIAN;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, algo);
    for (int i = 0; algo == FPO_ALGO_FPO && i < n_over; i++) {
        const char *k = over[i], *v = strchr(k, '=') + 1;
        size_t n = (size_t)(v - 1 - k);
        float f = (float)atof(v);
        if (key_is(k, n, "lr"))
            oc.lr = f;
        else if (key_is(k, n, "clip"))
            oc.clip_eps = f;
        else if (key_is(k, n, "epochs"))
            oc.epochs = (int)f;
        else if (key_is(k, n, "n_mc"))
            tc.n_mc = (int)f;
        else if (key_is(k, n, "anchor"))
            oc.anchor_coef = f;
        else if (key_is(k, n, "anchor_drift"))
            oc.anchor_drift = f;
        else if (key_is(k, n, "aspo"))
            oc.aspo = (int)f;
        else if (key_is(k, n, "ratio"))
            oc.ratio_mode = !strcmp(v, "avg") ? FPO_RATIO_AVERAGED : FPO_RATIO_PER_SAMPLE;
        else if (key_is(k, n, "cfm"))
            oc.cfm_loss = !strcmp(v, "u") ? FPO_CFM_U : !strcmp(v, "elbo") ? FPO_CFM_ELBO : FPO_CFM_EPS;
        else {
            fprintf(stderr, "decide: unknown setting %s\n", k);
            return 2;
        }
    }
    tc.policy = &pc;
    tc.optimizer = &oc;
    fpo_trainer *t;
    if (fpo_trainer_create(&t, &tc)) {
        fprintf(stderr, "decide: %s\n", fpo_last_errmsg());
        return 1;
    }
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.max_batch = TEST * DRAWS;
    sc.seed = 99;
    fpo_sampler *s = NULL;
    int rc = fpo_sampler_create(&s, fpo_trainer_policy(t), &sc);
    for (int it = 1, k = 0; rc == 0 && it <= iters; it++) {
        if ((rc = fpo_trainer_iterate(t, NULL)))
            fprintf(stderr, "decide: %s\n", fpo_trainer_errmsg(t));
        else if (it % EVERY == 0)
            out[k++] = minority(fpo_trainer_policy(t), s);
    }
    fpo_sampler_destroy(s);
    fpo_trainer_destroy(t);
    return rc;
}

int main(int argc, char **argv)
{
    int seeds = argc > 1 ? atoi(argv[1]) : 3;
    sigma = argc > 2 ? (float)atof(argv[2]) : 1.0f;
    int iters = argc > 3 ? atoi(argv[3]) : 300;
    int fpo_only = 0;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "fpo-only"))
            fpo_only = 1;
        else if (strchr(argv[i], '=')) {
            over = argv + i;
            n_over = argc - i;
            break;
        } else
            seeds = 0;
    }
    if (seeds < 1 || seeds > 100 || !(sigma >= 0.0f) || iters < EVERY || iters > 100000) {
        fprintf(stderr, "usage: decide [seeds 1..100] [sigma >= 0] [iterations >= %d]\n", EVERY);
        return 2;
    }
    uint64_t g = 12345;
    for (int i = 0; i < TEST; i++)
        for (int d = 0; d < D; d++) {
            float v = (float)(2.0 * u01(&g) - 1.0);
            for (int j = 0; j < DRAWS; j++)
                test_obs[(i * DRAWS + j) * D + d] = v;
        }
    int checks = iters / EVERY;
    double *o = calloc((size_t)checks, sizeof *o);
    if (!o)
        return 1;
    for (int i = 0; i < n_over; i++)
        printf("%s ", over[i]);
    printf("sigma %.2f; minority (wrong-sign probability) every %d iterations of %d actions\n",
           sigma, EVERY, ENVS * HORIZON);
    const fpo_algo algos[2] = {FPO_ALGO_FPO, FPO_ALGO_PPO};
    for (int a = 0; a < 2 - fpo_only; a++)
        for (int sd = 1; sd <= seeds; sd++) {
            int rc = run(algos[a], (uint64_t)sd, iters, o);
            if (rc)
                return rc;
            printf("%s seed %d:", a == 0 ? "FPO" : "PPO", sd);
            for (int k = 0; k < checks; k++)
                printf(" %.3f", o[k]);
            printf("\n");
            fflush(stdout);
        }
    free(o);
    return 0;
}
