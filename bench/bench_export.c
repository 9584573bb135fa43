/* fpo_sampler_act against the exported C file (fpo_policy_export_c), side
 * by side on the same policy and observations: batch 1, the reference actor
 * (4x32 SiLU, obs 17, act 6), Euler 10 steps, zero initial noise. The
 * exported file is compiled twice: with the project's flags (-O3, the
 * x86-64 baseline: SSE2) and, where the compiler has it, -march=native
 * (libfpo itself picks AVX2+FMA at run time). Rounds alternate the three in
 * blocks of 200 calls; prints the median and p90 of the per-call time over
 * the rounds, and the largest action difference.
 * Usage: bench_export POLICY.fpo [rounds] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <fpo/fpo.h>

#include "benchpol.h"

#ifdef BENCH_HAVE_NATIVE
int benchpol_native_act(const float *obs, const float *noise, float *action, float *scratch);
#endif

#define BLOCK 200

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_export POLICY.fpo [rounds]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 2000;
    fpo_policy *p;
    if (fpo_policy_load(&p, argv[1], NULL)) {
        fprintf(stderr, "%s: %s\n", argv[1], fpo_last_errmsg());
        return 1;
    }
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    fpo_policy_get_sampler_defaults(p, &sc);
    sc.integrator = FPO_INTEGRATOR_EULER;
    sc.steps = 10;
    sc.deterministic = 1;
    fpo_sampler *s;
    if (fpo_sampler_create(&s, p, &sc))
        return 1;
    static float obs[BLOCK][BENCHPOL_OBS_DIM], a_lib[BLOCK][BENCHPOL_ACT_DIM],
        a_exp[BLOCK][BENCHPOL_ACT_DIM], scratch[BENCHPOL_SCRATCH_FLOATS];
    srand(3);
    for (int i = 0; i < BLOCK; i++)
        for (int j = 0; j < BENCHPOL_OBS_DIM; j++)
            obs[i][j] = (float)j + 2.0f * ((float)rand() / (float)RAND_MAX - 0.5f);
    const char *names[3] = {"fpo_sampler_act", "exported, project flags", "exported, -march=native"};
    int nv = 2;
#ifdef BENCH_HAVE_NATIVE
    nv = 3;
#endif
    double *t[3];
    for (int v = 0; v < 3; v++)
        t[v] = malloc(sizeof(double) * (size_t)rounds);
    double maxdiff = 0.0;
    for (int r = -20; r < rounds; r++) { /* 20 warm-up rounds */
        for (int v = 0; v < nv; v++) {
            double t0 = now_us();
            for (int i = 0; i < BLOCK; i++) {
                if (v == 0)
                    fpo_sampler_act(s, p, obs[i], 1, a_lib[i], NULL);
                else if (v == 1)
                    benchpol_act(obs[i], NULL, a_exp[i], scratch);
#ifdef BENCH_HAVE_NATIVE
                else
                    benchpol_native_act(obs[i], NULL, a_exp[i], scratch);
#endif
            }
            double dt = (now_us() - t0) / BLOCK;
            if (r >= 0)
                t[v][r] = dt;
            if (v > 0)
                for (int i = 0; i < BLOCK; i++)
                    for (int j = 0; j < BENCHPOL_ACT_DIM; j++) {
                        double d = fabs((double)a_exp[i][j] - (double)a_lib[i][j]);
                        if (d > maxdiff)
                            maxdiff = d;
                    }
        }
    }
    printf("batch 1, actor 4x32 SiLU, obs 17, act 6, Euler 10 steps, zero noise; "
           "%d rounds of %d calls, us per act:\n", rounds, BLOCK);
    for (int v = 0; v < nv; v++) {
        qsort(t[v], (size_t)rounds, sizeof(double), cmp);
        printf("  %-26s median %.3f  p90 %.3f\n", names[v], t[v][rounds / 2],
               t[v][(int)(rounds * 0.9)]);
    }
    printf("  largest |action difference| exported vs library: %.2e\n", maxdiff);
    for (int v = 0; v < 3; v++)
        free(t[v]);
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
    return 0;
}
