#include "vmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define FPO_HAVE_VECTOR_EXT 1
#if defined(__x86_64__) || defined(__i386__)
#define FPO_HAVE_AVX2_CLONE 1
#endif
#if defined(__SSE2__) || defined(FPO_HAVE_AVX2_CLONE)
#include <immintrin.h>
#endif
#endif

#ifdef FPO_HAVE_VECTOR_EXT
/* Portable instantiation: 4 lanes (SSE2 on x86-64, NEON on arm64), separate
 * multiply and add since ISO C11 mode disables contraction. */
#define VM_NAME(f) gen_##f
#define VM_ATTR
#define VM_W 4
#define VM_MADD(a, b, c) ((a) * (b) + (c))
#if defined(__SSE2__)
#define VM_STREAM(p, v) _mm_stream_ps((p), (v))
#define VM_SFENCE() _mm_sfence()
#define VM_MIN(x, y) _mm_min_ps((x), (y)) /* NaN in x gives y */
#define VM_MAX(x, y) _mm_max_ps((x), (y))
#endif
#include "vmath_impl.h"
#undef VM_NAME
#undef VM_ATTR
#undef VM_W
#undef VM_MADD
#undef VM_STREAM
#undef VM_SFENCE
#undef VM_MIN
#undef VM_MAX
#undef VM_RECIP
#else
/* No vector extensions: plain libm loops with the same contracts. */
static void gen_v_exp(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = expf(x[i]);
}
static void gen_v_tanh(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}
static void gen_v_silu(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] / (1.0f + expf(-x[i]));
}
static void gen_bias_silu(float *z, float *d, const float *b, size_t rows, size_t w)
{
    for (size_t i = 0; i < rows * w; i++) {
        float v = z[i] + b[i % w], s = 1.0f / (1.0f + expf(-v));
        z[i] = v * s;
        if (d)
            d[i] = s * (1.0f + v * (1.0f - s));
    }
}
static void gen_bias_tanh(float *z, const float *b, size_t rows, size_t w)
{
    for (size_t i = 0; i < rows * w; i++)
        z[i] = tanhf(z[i] + b[i % w]);
}
#define VM_NAME(f) gen_##f
#define VM_ATTR
#include "vmath_impl.h"
#undef VM_NAME
#undef VM_ATTR
#endif

#ifdef FPO_HAVE_AVX2_CLONE
/* AVX2+FMA instantiation, selected at run time. */
#define VM_NAME(f) avx2_##f
#define VM_ATTR __attribute__((target("avx2,fma")))
#define VM_W 8
#define VM_MADD(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VM_STREAM(p, v) _mm256_stream_ps((p), (v))
#define VM_SFENCE() _mm_sfence()
#define VM_MIN(x, y) _mm256_min_ps((x), (y))
#define VM_MAX(x, y) _mm256_max_ps((x), (y))
/* 1/x: 12-bit estimate + one Newton step (~2e-7 relative), cheaper than
 * vdivps in the SiLU loop. */
#define VM_RECIP(x) avx2_recip(x)
typedef float avx2_v8 __attribute__((vector_size(32)));
static inline __attribute__((target("avx2,fma"))) avx2_v8 avx2_recip(avx2_v8 x)
{
    avx2_v8 y = _mm256_rcp_ps(x);
    avx2_v8 e = _mm256_fnmadd_ps(x, y, _mm256_set1_ps(1.0f));
    return _mm256_fmadd_ps(y, e, y);
}
#include "vmath_impl.h"
#undef VM_NAME
#undef VM_ATTR
#undef VM_W
#undef VM_MADD
#undef VM_STREAM
#undef VM_SFENCE
#undef VM_MIN
#undef VM_MAX
#undef VM_RECIP

/* AVX-512F instantiation: 16 lanes. */
#define VM_NAME(f) avx512_##f
#define VM_ATTR __attribute__((target("avx512f")))
#define VM_W 16
#define VM_MADD(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VM_STREAM(p, v) _mm512_stream_ps((p), (v))
#define VM_SFENCE() _mm_sfence()
#define VM_MIN(x, y) _mm512_min_ps((x), (y))
#define VM_MAX(x, y) _mm512_max_ps((x), (y))
#define VM_RECIP(x) avx512_recip(x)
typedef float avx512_v16 __attribute__((vector_size(64)));
/* 14-bit estimate + one Newton step */
static inline __attribute__((target("avx512f"))) avx512_v16 avx512_recip(avx512_v16 x)
{
    avx512_v16 y = _mm512_rcp14_ps(x);
    avx512_v16 e = _mm512_fnmadd_ps(x, y, _mm512_set1_ps(1.0f));
    return _mm512_fmadd_ps(y, e, y);
}
#include "vmath_impl.h"
#undef VM_NAME
#undef VM_ATTR
#undef VM_W
#undef VM_MADD
#undef VM_STREAM
#undef VM_SFENCE
#undef VM_MIN
#undef VM_MAX
#undef VM_RECIP
#endif

int fpo_vmath_isa_available(int isa)
{
    if (isa == FPO_ISA_GENERIC)
        return 1;
#ifdef FPO_HAVE_AVX2_CLONE
    if (isa == FPO_ISA_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (isa == FPO_ISA_AVX512)
        return __builtin_cpu_supports("avx512f");
#endif
    return 0;
}

int fpo_vmath_isa(void)
{
    return fpo_vmath_isa_available(FPO_ISA_AVX512) ? FPO_ISA_AVX512
           : fpo_vmath_isa_available(FPO_ISA_AVX2) ? FPO_ISA_AVX2
                                                   : FPO_ISA_GENERIC;
}

#ifdef FPO_HAVE_AVX2_CLONE
#define DISPATCH(isa, f, ...)          \
    do {                               \
        if ((isa) == FPO_ISA_AVX512)   \
            avx512_##f(__VA_ARGS__);   \
        else if ((isa) == FPO_ISA_AVX2) \
            avx2_##f(__VA_ARGS__);     \
        else                           \
            gen_##f(__VA_ARGS__);      \
    } while (0)
#else
#define DISPATCH(isa, f, ...) gen_##f(__VA_ARGS__)
#endif

void fpo_v_exp(const float *x, float *y, size_t n, int isa) { DISPATCH(isa, v_exp, x, y, n); }
void fpo_v_tanh(const float *x, float *y, size_t n, int isa) { DISPATCH(isa, v_tanh, x, y, n); }
void fpo_v_silu(const float *x, float *y, size_t n, int isa) { DISPATCH(isa, v_silu, x, y, n); }

void fpo_v_bias_act(float *z, float *d, const float *b, size_t rows, size_t w,
                    fpo_activation act, int isa)
{
    switch (act) {
    case FPO_ACT_SILU:
        DISPATCH(isa, bias_silu, z, d, b, rows, w);
        break;
    case FPO_ACT_TANH:
        DISPATCH(isa, bias_tanh, z, b, rows, w);
        break;
    case FPO_ACT_RELU:
        DISPATCH(isa, bias_relu, z, b, rows, w);
        break;
    }
}

void fpo_v_act_backward(float *g, const float *h, const float *d, float *acc,
                        size_t rows, size_t w, fpo_activation act, int isa)
{
    switch (act) {
    case FPO_ACT_SILU:
        DISPATCH(isa, back_silu, g, d, acc, rows, w);
        break;
    case FPO_ACT_TANH:
        DISPATCH(isa, back_tanh, g, h, acc, rows, w);
        break;
    case FPO_ACT_RELU:
        DISPATCH(isa, back_relu, g, h, acc, rows, w);
        break;
    }
}

void fpo_v_add_bias(float *y, const float *b, size_t rows, size_t w, float s)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < w; j++)
            y[i * w + j] += s * b[j];
}

void fpo_v_colsum(const float *g, float *acc, size_t rows, size_t w, float s)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < w; j++)
            acc[j] += s * g[i * w + j];
}
