/* act() latency for a controller: batch 1, the reference actor (4x32 SiLU),
 * 10 Euler steps with zero initial noise (the deployment default), obs 17,
 * act 6. Prints p50/p99/max over many calls after a warm-up.
 * Usage: bench_act [calls] [steps] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <fpo/fpo.h>

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
    int calls = argc > 1 ? atoi(argv[1]) : 100000;
    int steps = argc > 2 ? atoi(argv[2]) : 10;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.obs_dim = 17;
    pc.act_dim = 6;
    fpo_policy *p;
    if (fpo_policy_create(&p, &pc))
        return 1;
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.integrator = FPO_INTEGRATOR_EULER; /* the default is midpoint: 2 evaluations per step */
    sc.steps = steps;
    sc.init_noise = FPO_NOISE_ZERO;
    fpo_sampler *s;
    if (fpo_sampler_create(&s, p, &sc))
        return 1;
    double *lat = malloc(sizeof(double) * (size_t)calls);
    float obs[17], act[6];
    for (int i = 0; i < 17; i++)
        obs[i] = 0.1f * (float)i;
    for (int i = 0; i < 1000; i++) /* warm-up: caches, BLIS's first-use setup */
        fpo_sampler_act(s, p, obs, 1, act, NULL);
    for (int i = 0; i < calls; i++) {
        obs[i % 17] += 1e-3f;
        double t0 = now_us();
        int rc = fpo_sampler_act(s, p, obs, 1, act, NULL);
        lat[i] = now_us() - t0;
        if (rc)
            return 1;
    }
    qsort(lat, (size_t)calls, sizeof *lat, cmp);
    printf("act() latency, batch 1, actor 4x32 SiLU, %d Euler steps, %d calls: "
           "p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.2f us\n",
           steps, calls, lat[calls / 2], lat[(int)(calls * 0.99)], lat[(int)(calls * 0.999)],
           lat[calls - 1]);
    free(lat);
    /* Batched acting, as a trainer's rollout does it: one row per env, the
     * presets' 16 and 2048 envs, random initial noise; process CPU time per
     * action; the flow policy above and a Gaussian one of the same shape. */
    fpo_policy_config gc = pc;
    gc.kind = FPO_POLICY_GAUSSIAN;
    fpo_policy *pg;
    if (fpo_policy_create(&pg, &gc))
        return 1;
    for (int bi = 0; bi < 4; bi++) {
        const int B = bi & 1 ? 2048 : 16;
        fpo_policy *pp = bi < 2 ? p : pg;
        fpo_sampler_config bc;
        fpo_sampler_config_init(&bc);
        bc.integrator = FPO_INTEGRATOR_EULER;
        bc.steps = steps;
        bc.max_batch = B;
        fpo_sampler *sb;
        float *bo = malloc(sizeof(float) * 17 * (size_t)B), *ba = malloc(sizeof(float) * 6 * (size_t)B);
        if (!bo || !ba || fpo_sampler_create(&sb, pp, &bc))
            return 1;
        for (int i = 0; i < 17 * B; i++)
            bo[i] = 0.01f * (float)(i % 97);
        int n = 0;
        struct timespec c0, c1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        do {
            if (fpo_sampler_act(sb, pp, bo, B, ba, NULL))
                return 1;
            n++;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        } while ((double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec) < 0.5);
        double t = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
        if (bi < 2)
            printf("act() flow, batch %d, %d Euler steps: %.3f us per action (CPU time, %d calls)\n",
                   B, steps, 1e6 * t / ((double)n * B), n);
        else
            printf("act() Gaussian, batch %d: %.3f us per action (CPU time, %d calls)\n", B,
                   1e6 * t / ((double)n * B), n);
        fpo_sampler_destroy(sb);
        free(bo);
        free(ba);
    }
    fpo_policy_destroy(pg);
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
    return 0;
}
