/* Train a flow policy on your own simulator, save it, load it and control
 * with it: the program docs/tutorial.md walks through.
 *
 * Usage: tutorial [seed] [env_steps]. Exits 0 only if the trained policy
 * does better on the task than doing nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <fpo/fpo.h>

/* The simulator: a unit point mass on a line, pushed by a force u in
 * [-1, 1], must reach x = 0 and stay there. 50 steps of 0.1 s. */
typedef struct mass { float x, v; int t; } mass;

static int sim_reset(void *user, void *env, uint64_t seed, float *obs)
{
    mass *m = env;
    *m = (mass){4.0f * (float)(seed >> 40) / 16777216.0f - 2.0f, 0.0f, 0}; /* x in [-2, 2) */
    obs[0] = m->x, obs[1] = m->v;
    return 0;
}

static int sim_step(void *user, void *env, const float *u, float *obs, float *reward,
                    unsigned *flags)
{
    mass *m = env;
    m->v += 0.1f * u[0];
    m->x += 0.1f * m->v;
    *reward = -fabsf(m->x);                         /* minus the distance to the target */
    *flags = ++m->t == 50 ? FPO_STEP_TRUNCATED : 0; /* a time limit, not a failure */
    obs[0] = m->x, obs[1] = m->v;
    return 0;
}

static int sim_create(void *user, int i, void **env) { return !(*env = calloc(1, sizeof(mass))); }
static void sim_destroy(void *user, void *env) { free(env); }

static const fpo_env_table sim_table = {sizeof(fpo_env_table), FPO_ENV_TABLE_VERSION,
    2, 1, NULL, NULL, /* obs_dim, act_dim, action bounds (NULL: [-1, 1]) */
    sim_create, sim_reset, sim_step, sim_destroy};

int main(int argc, char **argv)
{
    /* 1. Train: the paper's flow policy and FPO, sized for a small task. */
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.critic_layers = 2; /* instead of 5 x 256 */
    pc.critic_hidden[0] = pc.critic_hidden[1] = 64;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.gamma = 0.99f;       /* 50-step episodes */
    oc.reward_scale = 1.0f; /* rewards are already about 1 */
    oc.epochs = 8;          /* 1024 steps per batch, not 61440: */
    oc.minibatches = 16;    /* fewer passes over larger minibatches */
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc); /* 16 simulators x 64 steps per iteration */
    tc.env = &sim_table;
    tc.policy = &pc;
    tc.optimizer = &oc;
    tc.seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    fpo_trainer *t;
    if (fpo_trainer_create(&t, &tc) != FPO_OK) /* no handle yet: the message is per thread */
        return fprintf(stderr, "trainer: %s\n", fpo_last_errmsg()), 1;
    int rc = fpo_trainer_run(t, argc > 2 ? atoll(argv[2]) : 100000);
    if (rc != FPO_OK)
        fprintf(stderr, "training: %s\n", fpo_trainer_errmsg(t));
    else if ((rc = fpo_policy_save(fpo_trainer_policy(t), "tutorial.fpo")) != FPO_OK)
        fprintf(stderr, "save: %s\n", fpo_policy_errmsg(fpo_trainer_policy(t)));
    fpo_trainer_destroy(t);
    if (rc != FPO_OK)
        return 1;

    /* 2. Deploy: load once, one sampler, then one act() per control tick. */
    fpo_policy *p;
    fpo_sampler *s;
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    if (fpo_policy_load(&p, "tutorial.fpo", NULL) != FPO_OK ||
        fpo_policy_get_sampler_defaults(p, &sc) != FPO_OK || /* zero noise, 10 midpoint steps */
        fpo_sampler_create(&s, p, &sc) != FPO_OK)
        return fprintf(stderr, "deploy: %s\n", fpo_last_errmsg()), 1;
    double ret[2] = {0, 0}; /* mean return: [0] the policy, [1] u = 0 throughout */
    for (int k = 0; k < 2; k++)
        for (uint64_t ep = 1; ep <= 100; ep++) {
            mass m;
            float obs[2], u[1] = {0}, r;
            unsigned done = 0;
            sim_reset(NULL, &m, ep * 0x9E3779B97F4A7C15ull, obs); /* spread-out starts */
            while (!done) {
                if (k == 0 && fpo_sampler_act(s, p, obs, 1, u, NULL) != FPO_OK)
                    return fprintf(stderr, "act: %s\n", fpo_sampler_errmsg(s)), 1;
                sim_step(NULL, &m, u, obs, &r, &done);
                ret[k] += r / 100;
            }
        }
    printf("mean return over 100 episodes: policy %.2f, doing nothing %.2f\n", ret[0], ret[1]);
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
    return ret[0] > ret[1] ? 0 : 1;
}
