/* Microseconds per transition of one update epoch for each objective (FPO
 * with the averaged ratio, FPO++, Gaussian PPO, DPPO over all steps and over
 * the final half), at the reference shapes: actor 4x32 SiLU, critic 5x256
 * SiLU, N_mc 8 (DPPO: chains of 10 Euler steps), a batch of 8192 transitions
 * in 32 minibatches, obs 17 and act 6 (CheetahRun).
 *
 * One epoch's time is (T(1 + E epochs) - T(1 epoch)) / E, so the fixed
 * per-update work (statistics, the theta_old pass, GAE) is reported apart.
 * Usage: bench_update [threads] [repeats] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fpo/fpo.h>

/* With one thread the process's CPU time (the update runs on the caller), so
 * that other processes on a shared machine do not inflate the figures; with
 * more threads wall time. */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { N = 64, T = 128, OD = 17, AD = 6 };

enum { K = 10 }; /* DPPO's chain: the sampler's default 10 steps */

typedef struct variant {
    const char *name;
    fpo_algo algo;
    fpo_ratio_mode ratio; /* FPO */
    int final_half;       /* DPPO */
} variant;

static double time_update(const variant *v, int epochs, int threads, int reps,
                          double *out_median)
{
    fpo_algo algo = v->algo;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.kind = algo == FPO_ALGO_PPO ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW;
    pc.obs_dim = OD;
    pc.act_dim = AD;
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = N;
    bc.horizon = T;
    bc.obs_dim = OD;
    bc.act_dim = AD;
    bc.n_mc = algo == FPO_ALGO_FPO ? 8 : 0;
    bc.path_steps = algo == FPO_ALGO_DPPO ? K : 0;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, algo);
    oc.ratio_mode = v->ratio;
    oc.aspo = algo == FPO_ALGO_FPO && v->ratio == FPO_RATIO_PER_SAMPLE;
    oc.dppo_final_half = v->final_half;
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
    static float obs[N * OD], act[N * AD], rew[N], path[N * (K + 1) * AD];
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
            if (algo == FPO_ALGO_DPPO) {
                for (int i = 0; i < N * (K + 1) * AD; i++)
                    path[i] = (float)rand() / RAND_MAX - 0.5f;
                fpo_buffer_add_path(b, path);
            }
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
    if (threads == 1)
        clock_id = CLOCK_PROCESS_CPUTIME_ID;
    const variant vs[] = {
        {"FPO (averaged ratio, N_mc 8)", FPO_ALGO_FPO, FPO_RATIO_AVERAGED, 0},
        {"FPO++ (per-sample, N_mc 8)", FPO_ALGO_FPO, FPO_RATIO_PER_SAMPLE, 0},
        {"Gaussian PPO", FPO_ALGO_PPO, FPO_RATIO_AVERAGED, 0},
        {"DPPO (10 steps, all)", FPO_ALGO_DPPO, FPO_RATIO_AVERAGED, 0},
        {"DPPO (10 steps, final half)", FPO_ALGO_DPPO, FPO_RATIO_AVERAGED, 1},
    };
    double epoch[5];
    printf("update of %d transitions (actor 4x32, critic 5x256, obs %d, act %d, 32 minibatches), "
           "%d thread(s), median of %d, %s:\n", (int)B, OD, AD, threads, reps,
           threads == 1 ? "process CPU time" : "wall time");
    for (int k = 0; k < 5; k++) {
        double t1, tE;
        time_update(&vs[k], 1, threads, reps, &t1);
        time_update(&vs[k], 1 + E, threads, reps, &tE);
        epoch[k] = (tE - t1) / E;
        printf("  %-30s %7.2f us/transition per epoch, fixed per update %6.2f us/transition\n",
               vs[k].name, 1e6 * epoch[k] / B, 1e6 * (t1 - epoch[k]) / B);
    }
    printf("  per epoch relative to Gaussian PPO: FPO %.2f, FPO++ %.2f, DPPO %.2f, DPPO final "
           "half %.2f\n", epoch[0] / epoch[2], epoch[1] / epoch[2], epoch[3] / epoch[2],
           epoch[4] / epoch[2]);
    return 0;
}
