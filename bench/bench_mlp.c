/* One training step (forward + backward + Adam) of MLPs on one thread, in
 * GFLOP/s and in percent of one core's fp32 FMA peak (measured here), beside
 * the same sequence of matrix products alone, run by the step's own kernel
 * (gemm.h) and by BLIS.
 *
 * FLOPs are the ones performed: 2*B*in*out per layer forward plus
 * 4*B*in*out per layer backward, less the first layer's input gradient
 * (2*B*in*out), which a training step has no use for and skips.
 * Cases (a)-(c) are the shapes of issue 3; (d)-(i) the DM Control presets'
 * networks (examples/task_config.c) at the rows the update passes them.
 *
 * usage: bench_mlp [seconds per case, default 2] [cases, e.g. "ab"; default all] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <blis.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "adam.h"
#include "gemm.h"
#include "mlp.h"
#include "rng.h"
#include "vmath.h"

/* Process CPU time: everything here runs on the calling thread, and on a
 * shared machine other processes' time slices then do not count. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static float *falloc(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

static int replay_kern; /* the kernel gemm_replay runs: a vmath.h ISA, generic = BLIS */

static const char *isa_name(int isa)
{
    return isa == FPO_ISA_AVX512 ? "avx512" : isa == FPO_ISA_AVX2 ? "avx2+fma" : "generic";
}

static void sgemm1(dim_t m, dim_t n, dim_t k, float alpha, const float *a, inc_t rsa, inc_t csa,
                   const float *b, inc_t rsb, inc_t csb, float beta, float *c, inc_t rsc, inc_t csc)
{
    if (replay_kern != FPO_ISA_GENERIC && csb == 1 && csc == 1 && (rsa == 1 || csa == 1)) {
        if (csa == 1)
            fpo_gemm_nn(replay_kern, (size_t)m, (size_t)n, (size_t)k, alpha, a, (size_t)rsa, b,
                        (size_t)rsb, beta, c, (size_t)rsc);
        else
            fpo_gemm_tn(replay_kern, (size_t)m, (size_t)n, (size_t)k, alpha, a, (size_t)csa, b,
                        (size_t)rsb, beta, c, (size_t)rsc);
        return;
    }
    rntm_t rn;
    bli_rntm_init(&rn);
    bli_rntm_set_num_threads(1, &rn);
    if (m >= 128 && n >= 128 && k >= 128) /* as fpo_mlp does */
        bli_rntm_disable_l3_sup(&rn);
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, rsa, csa,
                 (float *)b, rsb, csb, &beta, c, rsc, csc, NULL, &rn);
}

/* One core's fp32 FMA peak, measured: 12 independent chains of FMAs on the
 * widest vectors the CPU has (AVX-512F, else AVX2), enough to cover the FMA
 * latency on two pipes; best of 5 runs of 2^24 iterations each. 0 where
 * neither is present. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static float fma_loop256(long n, float s)
{
    __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(s);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < n; k++)
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], m, c);
    __m256 t = a[0];
    for (int i = 1; i < 12; i++)
        t = _mm256_add_ps(t, a[i]);
    float out[8];
    _mm256_storeu_ps(out, t);
    return out[0];
}

__attribute__((target("avx512f"))) static float fma_loop512(long n, float s)
{
    __m512 a[12], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(s);
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < n; k++)
        for (int i = 0; i < 12; i++)
            a[i] = _mm512_fmadd_ps(a[i], m, c);
    __m512 t = a[0];
    for (int i = 1; i < 12; i++)
        t = _mm512_add_ps(t, a[i]);
    return _mm512_reduce_add_ps(t);
}
#endif

static double fma_peak_gflops(const char **what)
{
    *what = "none";
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    const int w512 = __builtin_cpu_supports("avx512f");
    if (!w512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return 0.0;
    *what = w512 ? "AVX-512 FMA" : "AVX2 FMA";
    const long n = 1L << 24;
    double best = 1e30;
    volatile float sink = 0.0f;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        sink += w512 ? fma_loop512(n, 1e-3f * (float)r) : fma_loop256(n, 1e-3f * (float)r);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    (void)sink;
    return 2.0 * (w512 ? 16.0 : 8.0) * 12.0 * (double)n / best * 1e-9;
#else
    return 0.0;
#endif
}

static double peak; /* GFLOP/s, fma_peak_gflops() */

static size_t r16(size_t n) { return (n + 15) & ~(size_t)15; }

/* The GEMMs of one forward + backward (no dx), replayed with the shapes,
 * strides, row blocks and the very buffers fpo_mlp uses (cache layout and
 * scratch layout mirrored from mlp.c), so cold-memory effects match and
 * the difference to the step is the elementwise work and the overheads. */
static void gemm_replay(const fpo_mlp *m, int batch, const float *params, const float *x,
                        float *y, float *cache, float *scratch, const float *dy, float *grad)
{
    const int L = m->n_layers;
    const size_t B = (size_t)batch, rb = (size_t)fpo_mlp_block_rows(m);
    const size_t rc_max = B < rb ? B : rb;
    const int two = m->act == FPO_ACT_SILU ? 2 : 1;
    size_t coff[FPO_MAX_LAYERS + 1], wt[FPO_MAX_LAYERS + 1], c = 0, w = 0;
    for (int l = 0; l < L; l++) {
        coff[l] = c;
        wt[l] = w;
        w += r16((size_t)m->dims[l] * (size_t)m->dims[l + 1]);
        if (l + 1 < L)
            c += r16(B * (size_t)m->dims[l + 1]) * (size_t)two;
    }
    float *buf[2] = {scratch + w, scratch + w + r16(rc_max * (size_t)m->max_width)};
    for (size_t r0 = 0; r0 < B; r0 += rb) {
        const size_t rc = B - r0 < rb ? B - r0 : rb;
        const float *in = x + r0 * (size_t)m->dims[0];
        for (int l = 0; l < L; l++) {
            dim_t ni = m->dims[l], no = m->dims[l + 1];
            float *out = l + 1 < L ? cache + coff[l] + r0 * (size_t)no : y + r0 * (size_t)no;
            sgemm1((dim_t)rc, no, ni, 1.0f, in, ni, 1, params + m->w_off[l], no, 1, 0.0f, out, no,
                   1);
            in = out;
        }
    }
    for (size_t r0 = 0; r0 < B; r0 += rb) {
        const size_t rc = B - r0 < rb ? B - r0 : rb;
        const float *g = dy + r0 * (size_t)m->dims[L];
        int nb = 0;
        for (int l = L - 1; l >= 0; l--) {
            dim_t ni = m->dims[l], no = m->dims[l + 1];
            const float *a = l == 0 ? x + r0 * (size_t)ni : cache + coff[l - 1] + r0 * (size_t)ni;
            sgemm1(ni, no, (dim_t)rc, 1.0f, a, 1, ni, g, no, 1, 1.0f, grad + m->w_off[l], no, 1);
            if (l == 0)
                break;
            float *ga = buf[nb];
            nb ^= 1;
            sgemm1((dim_t)rc, ni, no, 1.0f, g, no, 1, scratch + wt[l], ni, 1, 0.0f, ga, ni, 1);
            g = ga;
        }
    }
}

typedef struct bench_case {
    const char *name;
    int n_in, n_hidden, hidden[FPO_MAX_LAYERS], n_out;
    fpo_activation act;
    int batch;
} bench_case;

static void run_case(const bench_case *bc, double seconds)
{
    fpo_mlp m;
    if (fpo_mlp_init(&m, bc->n_in, bc->n_hidden, bc->hidden, bc->n_out, bc->act, 1.0f) != FPO_OK) {
        fprintf(stderr, "bad case %s\n", bc->name);
        exit(1);
    }
    const int B = bc->batch;
    fpo_rng rng;
    fpo_rng_init(&rng, 1, 0);
    float *p = falloc(m.n_params), *g = falloc(m.n_params);
    float *am = falloc(m.n_params), *av = falloc(m.n_params);
    float *x = falloc((size_t)B * (size_t)bc->n_in), *y = falloc((size_t)B * (size_t)bc->n_out);
    float *target = falloc((size_t)B * (size_t)bc->n_out);
    float *dy = falloc((size_t)B * (size_t)bc->n_out);
    float *cache = falloc(fpo_mlp_cache_floats(&m, B));
    float *scratch = falloc(fpo_mlp_scratch_floats(&m, B));
    fpo_mlp_init_params(&m, p, &rng);
    fpo_rng_normal(&rng, x, (size_t)B * (size_t)bc->n_in);
    fpo_rng_normal(&rng, target, (size_t)B * (size_t)bc->n_out);
    fpo_adam_cfg cfg = {1e-4f, 0.9f, 0.999f, 1e-8f, 0.0f};

    const double done = 6.0 * (double)B * fpo_mlp_macs(&m) - 2.0 * (double)B * m.dims[0] * m.dims[1];
    enum { MAXR = 2000 };
    static double t_step[MAXR], t_f[MAXR], t_b[MAXR], t_a[MAXR], t_g[MAXR];

    /* warm-up, then as many steps as fit in the time budget (>= 5) */
    int reps = 0;
    double start = now();
    for (int it = -2; it < MAXR; it++) {
        double t0 = now();
        memset(g, 0, m.n_params * sizeof *g);
        fpo_mlp_forward(&m, p, x, B, y, cache, scratch);
        double t1 = now();
        const float inv = 1.0f / (float)B; /* MSE: dL/dy = (y - t) / B */
        for (size_t i = 0; i < (size_t)B * (size_t)bc->n_out; i++)
            dy[i] = (y[i] - target[i]) * inv;
        fpo_mlp_backward(&m, p, x, B, cache, dy, g, NULL, scratch);
        double t2 = now();
        fpo_adam_step(p, g, am, av, m.n_params, &cfg, it + 3);
        double t3 = now();
        if (it >= 0) {
            t_step[reps] = t3 - t0;
            t_f[reps] = t1 - t0;
            t_b[reps] = t2 - t1;
            t_a[reps] = t3 - t2;
            reps++;
            if (reps >= 5 && now() - start > seconds)
                break;
        }
    }
    /* the same GEMM sequence alone on the same buffers, same repetitions:
     * with libfpo's kernel (the step's own), then with BLIS */
    double mg[2];
    for (int w = 0; w < 2; w++) {
        replay_kern = w ? FPO_ISA_GENERIC : fpo_vmath_isa();
        for (int it = -2; it < reps; it++) {
            double t0 = now();
            gemm_replay(&m, B, p, x, y, cache, scratch, dy, g);
            if (it >= 0)
                t_g[it] = now() - t0;
        }
        mg[w] = median(t_g, reps);
    }
    double ms = median(t_step, reps), mf = median(t_f, reps), mb = median(t_b, reps);
    double ma = median(t_a, reps);
#define PCT(t) (peak > 0 ? 100.0 * done / (t) * 1e-9 / peak : 0.0)
    printf("%s\n  step %8.3f ms %6.1f GFLOP/s (%3.0f%% of peak) | its GEMMs alone %6.1f GFLOP/s "
           "(%3.0f%%) | BLIS GEMMs alone %6.1f GFLOP/s (%3.0f%%)\n  fwd %.3f bwd %.3f adam %.3f "
           "ms | %d reps, row block %d\n",
           bc->name, 1e3 * ms, done / ms * 1e-9, PCT(ms), done / mg[0] * 1e-9, PCT(mg[0]),
           done / mg[1] * 1e-9, PCT(mg[1]), 1e3 * mf, 1e3 * mb, 1e3 * ma, reps,
           fpo_mlp_block_rows(&m));
#undef PCT
    fflush(stdout);
    free(p), free(g), free(am), free(av), free(x), free(y), free(target), free(dy), free(cache);
    free(scratch);
}

/* Reference point for the machine's state: square 1024^3 sgemm, best of 5
 * (the benchmark box may be shared; compare each case with this too). */
static double square_sgemm_gflops(void)
{
    const dim_t n = 1024;
    float *a = falloc((size_t)(n * n)), *b = falloc((size_t)(n * n)), *c = falloc((size_t)(n * n));
    for (dim_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        sgemm1(n, n, n, 1.0f, a, n, 1, b, n, 1, 0.0f, c, n, 1);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    free(a), free(b), free(c);
    return 2.0 * (double)n * (double)n * (double)n / best * 1e-9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    const char *only = argc > 2 ? argv[2] : "abcdefghi";
    static const bench_case cases[] = {
        {"(a) critic 32-5x256-1 SiLU B=8192", 32, 5, {256, 256, 256, 256, 256}, 1, FPO_ACT_SILU, 8192},
        {"(b) actor 32-4x32-8 SiLU B=65536", 32, 4, {32, 32, 32, 32}, 8, FPO_ACT_SILU, 65536},
        {"(c) 3-64-64-1 tanh B=256", 3, 2, {64, 64}, 1, FPO_ACT_TANH, 256},
        /* The networks of the DM Control presets (examples/task_config.c),
         * obs 17 and act 6 (cheetah-run), at the rows the update hands them
         * at once: a minibatch (cpu: 128 transitions, x 8 pairs for the flow
         * actor), or one of its passes of at most 2048 network rows
         * (paper: 256 transitions x 8 pairs for FPO, 2048 for PPO). */
        {"(d) cpu: flow actor 31-4x32-6 B=1024", 31, 4, {32, 32, 32, 32}, 6, FPO_ACT_SILU, 1024},
        {"(e) cpu: Gaussian actor 17-4x32-6 B=128", 17, 4, {32, 32, 32, 32}, 6, FPO_ACT_SILU, 128},
        {"(f) cpu: critic 17-3x128-1 B=128", 17, 3, {128, 128, 128}, 1, FPO_ACT_SILU, 128},
        {"(g) paper: actor 31-4x32-6 B=2048 (both)", 31, 4, {32, 32, 32, 32}, 6, FPO_ACT_SILU, 2048},
        {"(h) paper: critic 17-5x256-1 B=256 (FPO)", 17, 5, {256, 256, 256, 256, 256}, 1,
         FPO_ACT_SILU, 256},
        {"(i) paper: critic 17-5x256-1 B=2048 (PPO)", 17, 5, {256, 256, 256, 256, 256}, 1,
         FPO_ACT_SILU, 2048},
    };
    printf("libfpo bench_mlp: 1 thread, libfpo's GEMM and elementwise kernels: %s; BLIS %s (%s "
           "kernels)\n", isa_name(fpo_vmath_isa()), bli_info_get_version_str(),
           bli_arch_string(bli_arch_query_id()));
    printf("FLOPs per step = 2*B*in*out (forward) + 4*B*in*out (backward) per layer, less the "
           "first layer's\ninput gradient (not computed); median step time\n");
    const char *what;
    peak = fma_peak_gflops(&what);
    printf("one core's fp32 peak (measured, %s): %.1f GFLOP/s\n", what, peak);
    printf("square 1024^3 sgemm before: %.1f GFLOP/s\n", square_sgemm_gflops());
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strchr(only, 'a' + (int)i))
            run_case(&cases[i], seconds);
    printf("square 1024^3 sgemm after:  %.1f GFLOP/s\n", square_sgemm_gflops());
    return 0;
}
