/* Microseconds per transition of one update epoch, FPO vs Gaussian PPO, at
 * the reference shapes: actor 4x32 SiLU, critic 5x256 SiLU, N_mc 8, a
 * batch of 8192 transitions in 32 minibatches, obs 17 and act 6 (CheetahRun).
 *
 * One epoch's time is (T(1 + E epochs) - T(1 epoch)) / E, so the fixed
 * per-update work (statistics, the theta_old pass, GAE) is reported apart.
 * Usage: bench_update [threads] [repeats] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fpo/fpo.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { N = 64, T = 128, OD = 17, AD = 6 };

static double time_update(fpo_algo algo, int epochs, int threads, int reps, double *out_median)
{
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.kind = algo == FPO_ALGO_FPO ? FPO_POLICY_FLOW : FPO_POLICY_GAUSSIAN;
    pc.obs_dim = OD;
    pc.act_dim = AD;
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = N;
    bc.horizon = T;
    bc.obs_dim = OD;
    bc.act_dim = AD;
    bc.n_mc = algo == FPO_ALGO_FPO ? 8 : 0;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, algo);
    oc.epochs = epochs;
    oc.minibatches = 32;
    oc.threads = threads;
    fpo_policy *p;
    fpo_buffer *b;
    fpo_optimizer *o;
    if (fpo_policy_create(&p, &pc) || fpo_buffer_create(&b, &bc) ||
        fpo_optimizer_create(&o, p, b, &oc)) {
        fprintf(stderr, "setup failed\n");
        exit(1);
    }
    static float obs[N * OD], act[N * AD], rew[N];
    static unsigned fl[N];
    srand(1);
    double t[64];
    for (int r = 0; r < reps && r < 64; r++) {
        fpo_buffer_clear(b);
        for (int s = 0; s < T; s++) {
            for (int i = 0; i < N * OD; i++)
                obs[i] = (float)rand() / RAND_MAX - 0.5f;
            for (int i = 0; i < N * AD; i++)
                act[i] = (float)rand() / RAND_MAX - 0.5f;
            for (int i = 0; i < N; i++) {
                rew[i] = (float)rand() / RAND_MAX;
                fl[i] = 0;
            }
            fpo_buffer_add(b, obs, act, rew, fl, NULL);
        }
        fpo_buffer_set_last_obs(b, obs);
        double t0 = now();
        int rc = fpo_optimizer_update(o, p, b, NULL);
        t[r] = now() - t0;
        if (rc) {
            fprintf(stderr, "update failed: %s\n", fpo_optimizer_errmsg(o));
            exit(1);
        }
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp);
    *out_median = t[reps / 2];
    fpo_optimizer_destroy(o);
    fpo_buffer_destroy(b);
    fpo_policy_destroy(p);
    return *out_median;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    const int E = 4;
    const double B = N * T;
    double f1, fE, g1, gE;
    time_update(FPO_ALGO_FPO, 1, threads, reps, &f1);
    time_update(FPO_ALGO_FPO, 1 + E, threads, reps, &fE);
    time_update(FPO_ALGO_PPO, 1, threads, reps, &g1);
    time_update(FPO_ALGO_PPO, 1 + E, threads, reps, &gE);
    double fpo_epoch = (fE - f1) / E, ppo_epoch = (gE - g1) / E;
    printf("update of %d transitions (actor 4x32, critic 5x256, obs %d, act %d, 32 minibatches), "
           "%d thread(s), median of %d:\n", (int)B, OD, AD, threads, reps);
    printf("  FPO (N_mc 8):  %7.2f us/transition per epoch, fixed per update %6.2f us/transition\n",
           1e6 * fpo_epoch / B, 1e6 * (f1 - fpo_epoch) / B);
    printf("  Gaussian PPO:  %7.2f us/transition per epoch, fixed per update %6.2f us/transition\n",
           1e6 * ppo_epoch / B, 1e6 * (g1 - ppo_epoch) / B);
    printf("  ratio FPO / Gaussian per epoch: %.2f\n", fpo_epoch / ppo_epoch);
    return 0;
}
