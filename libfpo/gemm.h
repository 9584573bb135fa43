/* Internal: the MLP's single-thread matrix products, row-major.
 *
 *   fpo_gemm_nn: C[m x n] = alpha * A[m x k] B[k x n] + beta * C
 *   fpo_gemm_tn: C[m x n] = alpha * A^T B + beta * C, A stored [k x m]
 *
 * lda, ldb, ldc are row strides in floats. beta == 0 never reads C (it may
 * hold NaN). isa is an instruction set of vmath.h (fpo_vmath_isa() gives
 * the best one here, the same choice the elementwise kernels make): own
 * register-blocked kernels run for FPO_ISA_AVX512 (8 x 32 tiles) and
 * FPO_ISA_AVX2 (AVX2 + FMA, 6 x 16 tiles); for FPO_ISA_GENERIC, BLIS
 * computes the product. Why libfpo has its own kernels:
 * BLIS picks its kernels from the CPU's family and model, and a CPU newer
 * than the installed BLIS gets its portable reference kernels (BLIS 0.9 on a
 * Zen 5 core: 14-33 GFLOP/s where the FMA units give 216); the MLP's
 * products are also small (32-wide layers, minibatches of 128 rows), where
 * packing costs as much as the product. Same inputs and the same choice of
 * kernel give the same bits; different kernels sum in different orders. */
#ifndef FPO_INTERNAL_GEMM_H
#define FPO_INTERNAL_GEMM_H

#include <stddef.h>

void fpo_gemm_nn(int isa, size_t m, size_t n, size_t k, float alpha, const float *a,
                 size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);
void fpo_gemm_tn(int isa, size_t m, size_t n, size_t k, float alpha, const float *a,
                 size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);

#endif
