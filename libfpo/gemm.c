/* The MLP's matrix products (gemm.h): register-blocked kernels for AVX-512F
 * and AVX2 + FMA, BLIS for everything else.
 *
 * One kernel serves both products: element (i, p) of the left operand is
 * a[i * sr + p * sk], so C = A B reads A by rows (sr = lda, sk = 1) and
 * C = A^T B reads the stored [k x m] matrix by columns (sr = 1, sk = lda),
 * where a tile's MR values of one p are adjacent. A tile of C (MR rows x up
 * to two vectors of columns) stays in registers for a whole block of KC
 * values of p: per p, the kernel loads one row of B's panel, broadcasts MR
 * values of A and does 2 x MR FMAs. No packing: the MLP's operands are
 * already contiguous rows, B's panel (KC x 32 floats, 32 KB) stays in L1
 * across the row tiles, and A's tile rows stream through once per panel.
 * Partial tiles (the m and n edges) use the same code with fewer rows
 * and masked loads and stores. */
#include "gemm.h"

#include "vmath.h"

#include <blis.h>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define FPO_GEMM_X86 1
#include <immintrin.h>
#endif

enum { KC = 256 }; /* values of p per pass over C (A's tile rows and B's panel fit L1/L2) */

static void blis_gemm(size_t m, size_t n, size_t k, float alpha, const float *a, inc_t rsa,
                      inc_t csa, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    rntm_t rn;
    bli_rntm_init(&rn);
    bli_rntm_set_num_threads(1, &rn);
    /* BLIS sends any product with m < 512, n < 200 or k < 240 to its
     * unpacked "sup" kernels. When every dimension is >= 128 the packed
     * path is faster (the critic's dW: 86 instead of 63 GFLOP/s on a
     * zen3 core). Narrow products keep sup, where it is up to 2x faster. */
    if (m >= 128 && n >= 128 && k >= 128)
        bli_rntm_disable_l3_sup(&rn);
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
                 (float *)a, rsa, csa, (float *)b, (inc_t)ldb, 1, &beta, c, (inc_t)ldc, 1, NULL,
                 &rn);
}

#ifdef FPO_GEMM_X86

#define INL static inline __attribute__((always_inline))

/* ---- AVX-512F: tiles of up to 8 rows x 32 columns (16 accumulators) ---- */

#define T512 __attribute__((target("avx512f")))

T512 INL void tile512(const int MR, const int NV, size_t k, float alpha, const float *a,
                      size_t sr, size_t sk, const float *b, size_t ldb, __mmask16 m0,
                      __mmask16 m1, float beta, float *c, size_t ldc)
{
    __m512 acc[8][2];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    for (size_t p = 0; p < k; p++) {
        const float *bp = b + p * ldb, *ap = a + p * sk;
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, bp);
        const __m512 b1 = NV > 1 ? _mm512_maskz_loadu_ps(m1, bp + 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const __m512 ai = _mm512_set1_ps(ap[(size_t)i * sr]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            if (NV > 1)
                acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int v = 0; v < NV; v++) {
            const __mmask16 mv = v ? m1 : m0;
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0.0f)
                r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mv, ci + 16 * v), r);
            _mm512_mask_storeu_ps(ci + 16 * v, mv, r);
        }
    }
}

#define CASE512(MR_)                                                                        \
    case MR_:                                                                               \
        if (nv == 2)                                                                        \
            tile512(MR_, 2, kc, alpha, ai, sr, sk, bj, ldb, m0, m1, bt, cij, ldc);          \
        else                                                                                \
            tile512(MR_, 1, kc, alpha, ai, sr, sk, bj, ldb, m0, m1, bt, cij, ldc);          \
        break;

T512 static void gemm512(size_t m, size_t n, size_t k, float alpha, const float *a, size_t sr,
                         size_t sk, const float *b, size_t ldb, float beta, float *c,
                         size_t ldc)
{
    for (size_t p0 = 0; p0 < k; p0 += KC) {
        const size_t kc = k - p0 < KC ? k - p0 : KC;
        const float bt = p0 ? 1.0f : beta;
        for (size_t j0 = 0; j0 < n; j0 += 32) {
            const size_t nr = n - j0 < 32 ? n - j0 : 32;
            const int nv = nr > 16 ? 2 : 1;
            const __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
            const __mmask16 m1 = nr >= 32 ? 0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
            const float *bj = b + p0 * ldb + j0;
            for (size_t i0 = 0; i0 < m; i0 += 8) {
                const float *ai = a + i0 * sr + p0 * sk;
                float *cij = c + i0 * ldc + j0;
                switch (m - i0 < 8 ? (int)(m - i0) : 8) {
                    CASE512(8)
                    CASE512(7)
                    CASE512(6)
                    CASE512(5)
                    CASE512(4)
                    CASE512(3)
                    CASE512(2)
                    CASE512(1)
                }
            }
        }
    }
}

/* ---- AVX2 + FMA: tiles of up to 6 rows x 16 columns (12 accumulators) ---- */

#define T256 __attribute__((target("avx2,fma")))

T256 INL __m256 load256(int full, __m256i mask, const float *p)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

T256 INL void tile256(const int MR, const int NV, const int FULL, size_t k, float alpha,
                      const float *a, size_t sr, size_t sk, const float *b, size_t ldb,
                      __m256i m0, __m256i m1, float beta, float *c, size_t ldc)
{
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    for (size_t p = 0; p < k; p++) {
        const float *bp = b + p * ldb, *ap = a + p * sk;
        const __m256 b0 = load256(FULL, m0, bp);
        const __m256 b1 = NV > 1 ? load256(FULL, m1, bp + 8) : _mm256_setzero_ps();
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            const __m256 ai = _mm256_broadcast_ss(ap + (size_t)i * sr);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            if (NV > 1)
                acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int v = 0; v < NV; v++) {
            const __m256i mv = v ? m1 : m0;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (beta != 0.0f)
                r = _mm256_fmadd_ps(vb, load256(FULL, mv, ci + 8 * v), r);
            if (FULL)
                _mm256_storeu_ps(ci + 8 * v, r);
            else
                _mm256_maskstore_ps(ci + 8 * v, mv, r);
        }
    }
}

#define CASE256(MR_)                                                                        \
    case MR_:                                                                               \
        if (full)                                                                           \
            tile256(MR_, 2, 1, kc, alpha, ai, sr, sk, bj, ldb, m0, m1, bt, cij, ldc);       \
        else if (nv == 2)                                                                   \
            tile256(MR_, 2, 0, kc, alpha, ai, sr, sk, bj, ldb, m0, m1, bt, cij, ldc);       \
        else                                                                                \
            tile256(MR_, 1, 0, kc, alpha, ai, sr, sk, bj, ldb, m0, m1, bt, cij, ldc);       \
        break;

T256 static void gemm256(size_t m, size_t n, size_t k, float alpha, const float *a, size_t sr,
                         size_t sk, const float *b, size_t ldb, float beta, float *c,
                         size_t ldc)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (size_t p0 = 0; p0 < k; p0 += KC) {
        const size_t kc = k - p0 < KC ? k - p0 : KC;
        const float bt = p0 ? 1.0f : beta;
        for (size_t j0 = 0; j0 < n; j0 += 16) {
            const size_t nr = n - j0 < 16 ? n - j0 : 16;
            const int full = nr == 16, nv = nr > 8 ? 2 : 1;
            const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr), lane);
            const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr - 8), lane);
            const float *bj = b + p0 * ldb + j0;
            for (size_t i0 = 0; i0 < m; i0 += 6) {
                const float *ai = a + i0 * sr + p0 * sk;
                float *cij = c + i0 * ldc + j0;
                switch (m - i0 < 6 ? (int)(m - i0) : 6) {
                    CASE256(6)
                    CASE256(5)
                    CASE256(4)
                    CASE256(3)
                    CASE256(2)
                    CASE256(1)
                }
            }
        }
    }
}

#endif /* FPO_GEMM_X86 */

static void gemm(int isa, size_t m, size_t n, size_t k, float alpha, const float *a, size_t sr,
                 size_t sk, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
#ifdef FPO_GEMM_X86
    if (isa == FPO_ISA_AVX512 && k > 0) {
        gemm512(m, n, k, alpha, a, sr, sk, b, ldb, beta, c, ldc);
        return;
    }
    if (isa == FPO_ISA_AVX2 && k > 0) {
        gemm256(m, n, k, alpha, a, sr, sk, b, ldb, beta, c, ldc);
        return;
    }
#endif
    blis_gemm(m, n, k, alpha, a, (inc_t)sr, (inc_t)sk, b, ldb, beta, c, ldc);
}

void fpo_gemm_nn(int isa, size_t m, size_t n, size_t k, float alpha, const float *a,
                 size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    gemm(isa, m, n, k, alpha, a, lda, 1, b, ldb, beta, c, ldc);
}

void fpo_gemm_tn(int isa, size_t m, size_t n, size_t k, float alpha, const float *a,
                 size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    gemm(isa, m, n, k, alpha, a, 1, lda, b, ldb, beta, c, ldc);
}
