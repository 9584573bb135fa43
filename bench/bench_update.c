/* Microseconds per transition of one update epoch for each objective (FPO
 * with the averaged ratio, FPO++, Gaussian PPO, DPPO over all steps and over
 * the final half), obs 17 and act 6 (CheetahRun), actor 4x32 SiLU, N_mc 8
 * (DPPO: chains of 10 Euler steps), at one of three geometries:
 *   ref    critic 5x256, 8192 transitions in 32 minibatches of 256 (issue 4)
 *   cpu    the cpu preset: critic 3x128, 1024 transitions in 8 minibatches of 128
 *   paper  the paper preset's minibatch: critic 5x256, minibatches of 30720
 *          transitions (2 of them per update here; the preset has 32)
 * With the epoch's arithmetic in GFLOP/s and in percent of FMA_PEAK (GFLOP/s,
 * e.g. bench_mlp's measured peak) when that is given: the FLOPs of the
 * networks' forward and backward passes (2 + 4 x in x out per layer and row,
 * less the first layer's input gradient), for N_mc actor rows per transition
 * (FPO), one (PPO) or the chain's steps (DPPO), and one critic row.
 *
 * One epoch's time is (T(1 + E epochs) - T(1 epoch)) / E, so the fixed
 * per-update work (statistics, the theta_old pass, GAE) is reported apart.
 * Usage: bench_update [threads] [repeats] [ref|cpu|paper] [FMA_PEAK] */
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

enum { OD = 17, AD = 6, MAXN = 2048 };

typedef struct geometry {
    const char *name;
    int n, t, minibatches, critic_layers, critic_hidden;
} geometry;

static const geometry geos[] = {
    {"ref", 64, 128, 32, 5, 256},
    {"cpu", 16, 64, 8, 3, 128},
    {"paper", 2048, 30, 2, 5, 256},
};
static const geometry *geo = &geos[0];

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
    pc.critic_layers = geo->critic_layers;
    for (int l = 0; l < FPO_MAX_LAYERS; l++)
        pc.critic_hidden[l] = geo->critic_hidden;
    const int N = geo->n, T = geo->t;
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
    oc.minibatches = geo->minibatches;
    oc.threads = threads;
    fpo_policy *p;
    fpo_buffer *b;
    fpo_optimizer *o;
    if (fpo_policy_create(&p, &pc) || fpo_buffer_create(&b, &bc) ||
        fpo_optimizer_create(&o, p, b, &oc)) {
        fprintf(stderr, "setup failed\n");
        exit(1);
    }
    static float obs[MAXN * OD], act[MAXN * AD], rew[MAXN], path[MAXN * (K + 1) * AD];
    static unsigned fl[MAXN];
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

/* FLOPs of one training pass (forward and backward, no input gradient
 * for the first layer) of a network with these layer sizes, per row. */
static double pass_flops(int in, int layers, int hidden, int out)
{
    double macs = (double)in * hidden + (double)(layers - 1) * hidden * hidden +
                  (double)hidden * out;
    return 6.0 * macs - 2.0 * (double)in * hidden;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (argc > 3) {
        geo = NULL;
        for (size_t g = 0; g < sizeof geos / sizeof geos[0]; g++)
            if (!strcmp(argv[3], geos[g].name))
                geo = &geos[g];
        if (!geo) {
            fprintf(stderr, "usage: bench_update [threads] [repeats] [ref|cpu|paper] [FMA_PEAK]\n");
            return 2;
        }
    }
    const double peak = argc > 4 ? atof(argv[4]) : 0.0;
    const int E = 4;
    const double B = (double)geo->n * geo->t;
    if (threads == 1)
        clock_id = CLOCK_PROCESS_CPUTIME_ID;
    const variant vs[] = {
        {"FPO (averaged ratio, N_mc 8)", FPO_ALGO_FPO, FPO_RATIO_AVERAGED, 0},
        {"FPO++ (per-sample, N_mc 8)", FPO_ALGO_FPO, FPO_RATIO_PER_SAMPLE, 0},
        {"Gaussian PPO", FPO_ALGO_PPO, FPO_RATIO_AVERAGED, 0},
        {"DPPO (10 steps, all)", FPO_ALGO_DPPO, FPO_RATIO_AVERAGED, 0},
        {"DPPO (10 steps, final half)", FPO_ALGO_DPPO, FPO_RATIO_AVERAGED, 1},
    };
    const double critic = pass_flops(OD, geo->critic_layers, geo->critic_hidden, 1);
    const double flow = pass_flops(OD + AD + 8, 4, 32, AD), gauss = pass_flops(OD, 4, 32, AD);
    const double flops[5] = {8 * flow + critic, 8 * flow + critic, gauss + critic,
                             K * flow + critic, K / 2 * flow + critic};
    double epoch[5];
    printf("%s: update of %d transitions (actor 4x32, critic %dx%d, obs %d, act %d, %d "
           "minibatches of %d), %d thread(s), median of %d, %s:\n", geo->name, (int)B,
           geo->critic_layers, geo->critic_hidden, OD, AD, geo->minibatches,
           (int)B / geo->minibatches, threads, reps,
           threads == 1 ? "process CPU time" : "wall time");
    for (int k = 0; k < 5; k++) {
        double t1, tE;
        time_update(&vs[k], 1, threads, reps, &t1);
        time_update(&vs[k], 1 + E, threads, reps, &tE);
        epoch[k] = (tE - t1) / E;
        const double gf = flops[k] * B / epoch[k] * 1e-9;
        printf("  %-30s %7.2f us/transition per epoch (%6.1f GFLOP/s", vs[k].name,
               1e6 * epoch[k] / B, gf);
        if (peak > 0)
            printf(", %3.0f%% of peak", 100.0 * gf / peak);
        printf("), fixed per update %6.2f us/transition\n", 1e6 * (t1 - epoch[k]) / B);
    }
    printf("  per epoch relative to Gaussian PPO: FPO %.2f, FPO++ %.2f, DPPO %.2f, DPPO final "
           "half %.2f\n", epoch[0] / epoch[2], epoch[1] / epoch[2], epoch[3] / epoch[2],
           epoch[4] / epoch[2]);
    return 0;
}
