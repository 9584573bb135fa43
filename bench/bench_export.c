/* fpo_sampler_act against the exported C file (fpo_policy_export_c), side
 * by side on the same policy and observations: batch 1, the reference actor
 * (4x32 SiLU, obs 17, act 6), Euler 10 steps, zero initial noise. The
 * exported file is built several ways (bench/meson.build): -O3 and -O2 for
 * the x86-64 baseline (its AVX2 copy picked at run time where the CPU has
 * AVX2), the same with BENCHPOL_NO_DISPATCH (SSE2 vectors only), portable C
 * (BENCHPOL_NO_SIMD), and -march=native. Rounds alternate all of them in
 * blocks of 200 calls; prints the median and p90 of the per-call time over
 * the rounds, and the largest action difference from the library.
 * Usage: bench_export POLICY.fpo [rounds] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <fpo/fpo.h>

#include "benchpol.h"

#define BLOCK 200

typedef int (*act_fn)(const float *obs, const float *noise, float *action, float *scratch);

#define DECLARE(v) int benchpol_##v##_act(const float *, const float *, float *, float *);
DECLARE(O3)
DECLARE(O2)
DECLARE(O3_sse2)
DECLARE(O2_sse2)
DECLARE(O3_portable)
#ifdef BENCH_HAVE_native
DECLARE(native)
#endif

static const struct {
    const char *name;
    act_fn act;
} variants[] = {
    {"exported -O3", benchpol_O3_act},
    {"exported -O2", benchpol_O2_act},
    {"exported -O3 NO_DISPATCH", benchpol_O3_sse2_act},
    {"exported -O2 NO_DISPATCH", benchpol_O2_sse2_act},
    {"exported -O3 NO_SIMD", benchpol_O3_portable_act},
#ifdef BENCH_HAVE_native
    {"exported -O3 -march=native", benchpol_native_act},
#endif
};
#define NV ((int)(sizeof variants / sizeof variants[0]) + 1)

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
    if (rounds < 1)
        rounds = 1;
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
    double *t[NV], maxdiff[NV] = {0};
    for (int v = 0; v < NV; v++)
        t[v] = malloc(sizeof(double) * (size_t)rounds);
    for (int r = -20; r < rounds; r++) { /* 20 warm-up rounds */
        for (int v = 0; v < NV; v++) {
            double t0 = now_us();
            if (v == 0)
                for (int i = 0; i < BLOCK; i++)
                    fpo_sampler_act(s, p, obs[i], 1, a_lib[i], NULL);
            else
                for (int i = 0; i < BLOCK; i++)
                    variants[v - 1].act(obs[i], NULL, a_exp[i], scratch);
            double dt = (now_us() - t0) / BLOCK;
            if (r >= 0)
                t[v][r] = dt;
            if (v > 0)
                for (int i = 0; i < BLOCK; i++)
                    for (int j = 0; j < BENCHPOL_ACT_DIM; j++) {
                        double d = fabs((double)a_exp[i][j] - (double)a_lib[i][j]);
                        if (d > maxdiff[v])
                            maxdiff[v] = d;
                    }
        }
    }
    printf("batch 1, actor 4x32 SiLU, obs 17, act 6, Euler 10 steps, zero noise; "
           "%d rounds of %d calls, us per act (max |action difference| from the library):\n",
           rounds, BLOCK);
    for (int v = 0; v < NV; v++) {
        qsort(t[v], (size_t)rounds, sizeof(double), cmp);
        printf("  %-28s median %6.3f  p90 %6.3f", v ? variants[v - 1].name : "fpo_sampler_act",
               t[v][rounds / 2], t[v][(int)(rounds * 0.9)]);
        if (v)
            printf("  (%.2e)", maxdiff[v]);
        printf("\n");
    }
    for (int v = 0; v < NV; v++)
        free(t[v]);
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
    return 0;
}
