/* Internal: fused, vectorized elementwise kernels for the MLP.
 *
 * Every kernel exists three times: a portable build (whatever the compiler's
 * baseline is, SSE2 on x86-64) and, on x86 with GCC/clang, AVX2+FMA and
 * AVX-512F builds chosen at run time. Both are auto-vectorized from the same source
 * (vmath_impl.h) and use no libm calls, so the hot loops stay in registers.
 *
 * Accuracy (|error| relative to the exact value, |x| < 80): exp <= 2e-7,
 * tanh <= 3e-7, silu <= 4e-7 (see tests/test_mlp.c). NaN propagates. */
#ifndef FPO_INTERNAL_VMATH_H
#define FPO_INTERNAL_VMATH_H

#include <stddef.h>

#include "fpo/common.h"

enum { FPO_ISA_GENERIC = 0, FPO_ISA_AVX2 = 1, FPO_ISA_AVX512 = 2 };

/* Best instruction set this CPU supports (cheap; safe from any thread). */
int fpo_vmath_isa(void);
/* Whether isa can run here (FPO_ISA_GENERIC always can). */
int fpo_vmath_isa_available(int isa);

/* y[i] = exp(x[i]), tanh, silu; for tests and other elementwise users. */
void fpo_v_exp(const float *x, float *y, size_t n, int isa);
void fpo_v_tanh(const float *x, float *y, size_t n, int isa);
void fpo_v_silu(const float *x, float *y, size_t n, int isa);

/* Hidden-layer epilogue over a rows x w row-major block, in place:
 *   z = act(z + b)   and, for SiLU when d != NULL, d = act'(z + b).
 * ReLU and tanh derivatives are recovered from the output, so d is unused. */
void fpo_v_bias_act(float *z, float *d, const float *b, size_t rows, size_t w,
                    fpo_activation act, int isa);

/* Output-layer epilogue: y[i][j] += s * b[j]. */
void fpo_v_add_bias(float *y, const float *b, size_t rows, size_t w, float s);

/* Backward through a hidden activation, in place over rows x w:
 *   g = g * act'(z)   (act' from h = act(z), or from d for SiLU)
 * and acc[j] += sum_i g[i][j] (the bias gradient). */
void fpo_v_act_backward(float *g, const float *h, const float *d, float *acc,
                        size_t rows, size_t w, fpo_activation act, int isa);

/* acc[j] += s * sum_i g[i][j] over a rows x w row-major block. */
void fpo_v_colsum(const float *g, float *acc, size_t rows, size_t w, float s);

#endif
