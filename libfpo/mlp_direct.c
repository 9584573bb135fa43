/* MLP inference without BLIS, for acting. A BLIS sgemm call costs about a
 * microsecond of set-up here, which dominates a batch-1 controller step (10
 * integration steps x 5 layers): a batch-1 forward of the 4x32 actor takes
 * 6.2 us through BLIS and 0.46 us here. These loops also allocate nothing by
 * construction, whatever BLIS's internals do (an earlier BLIS call path
 * allocated on every call). */
#include <string.h>

#include "gemm.h"
#include "mlp.h"
#include "mlp_direct.h"
#include "vmath.h"

size_t fpo_mlp_direct_scratch_floats(const fpo_mlp *m, int batch)
{
    return 2 * (size_t)(batch > 0 ? batch : 0) * (size_t)m->max_width + 16;
}

/* out[r][j] = sum_i in[r][i] W[i][j]. Register tiles of 4 rows x 16
 * outputs (8 vector accumulators) over the whole input loop, so each step
 * is 2 loads of W, 4 broadcasts and 8 FMAs; narrower tails use 8-wide and
 * scalar code. GCC vector extensions: compiled once for the baseline ISA and
 * once for AVX2+FMA. */
typedef float v8 __attribute__((vector_size(32)));

#define DIRECT_GEMM_BODY                                                              \
    for (size_t r = 0; r < rows;) {                                                   \
        const size_t R = rows - r >= 4 ? 4 : 1;                                      \
        const float *x = in + r * ni;                                                 \
        float *o = out + r * no;                                                      \
        size_t j = 0;                                                                 \
        if (R == 4) {                                                                 \
            for (; j + 16 <= no; j += 16) {                                           \
                v8 c[4][2] = {{{0}}};                                                 \
                for (size_t i = 0; i < ni; i++) {                                     \
                    v8 w0, w1;                                                        \
                    memcpy(&w0, W + i * no + j, sizeof w0);                           \
                    memcpy(&w1, W + i * no + j + 8, sizeof w1);                       \
                    for (int q = 0; q < 4; q++) {                                     \
                        float a = x[(size_t)q * ni + i];                              \
                        c[q][0] += a * w0;                                            \
                        c[q][1] += a * w1;                                            \
                    }                                                                 \
                }                                                                     \
                for (int q = 0; q < 4; q++) {                                         \
                    memcpy(o + (size_t)q * no + j, &c[q][0], sizeof c[q][0]);         \
                    memcpy(o + (size_t)q * no + j + 8, &c[q][1], sizeof c[q][1]);     \
                }                                                                     \
            }                                                                         \
        }                                                                             \
        if (R == 1) {                                                                 \
            for (; j + 32 <= no; j += 32) {                                           \
                v8 c[4] = {{0}};                                                      \
                for (size_t i = 0; i < ni; i++) {                                     \
                    for (int k = 0; k < 4; k++) {                                     \
                        v8 w;                                                         \
                        memcpy(&w, W + i * no + j + 8 * (size_t)k, sizeof w);         \
                        c[k] += x[i] * w;                                             \
                    }                                                                 \
                }                                                                     \
                memcpy(o + j, c, sizeof c);                                           \
            }                                                                         \
        }                                                                             \
        for (; j + 8 <= no; j += 8) {                                                 \
            for (size_t q = 0; q < R; q++) {                                          \
                v8 c = {0};                                                           \
                for (size_t i = 0; i < ni; i++) {                                     \
                    v8 w;                                                             \
                    memcpy(&w, W + i * no + j, sizeof w);                             \
                    c += x[q * ni + i] * w;                                           \
                }                                                                     \
                memcpy(o + q * no + j, &c, sizeof c);                                 \
            }                                                                         \
        }                                                                             \
        for (; j < no; j++)                                                           \
            for (size_t q = 0; q < R; q++) {                                          \
                float c = 0.0f;                                                       \
                for (size_t i = 0; i < ni; i++)                                       \
                    c += x[q * ni + i] * W[i * no + j];                               \
                o[q * no + j] = c;                                                    \
            }                                                                         \
        r += R;                                                                       \
    }

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static void gemm_avx2(const float *restrict in,
                                                          const float *restrict W,
                                                          float *restrict out, size_t rows,
                                                          size_t ni, size_t no)
{
    DIRECT_GEMM_BODY
}
#endif

static void gemm_base(const float *restrict in, const float *restrict W, float *restrict out,
                      size_t rows, size_t ni, size_t no)
{
    DIRECT_GEMM_BODY
}

static void gemm(const float *in, const float *W, float *out, size_t rows, size_t ni, size_t no,
                 int isa)
{
    /* Batches (a trainer's rollout: one row per env) go to gemm.c's register
     * tiles where they run (never to BLIS): FMAs and 8 x 32 tiles, 2-3x these
     * loops at 16 rows. A single row keeps this file's loops. */
    if (rows >= 2 && isa != FPO_ISA_GENERIC) {
        fpo_gemm_nn(isa, rows, no, ni, 1.0f, in, ni, W, no, 0.0f, out, no);
        return;
    }
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa >= FPO_ISA_AVX2) { /* AVX-512 CPUs run the AVX2 copy */
        gemm_avx2(in, W, out, rows, ni, no);
        return;
    }
#endif
    (void)isa;
    gemm_base(in, W, out, rows, ni, no);
}

void fpo_mlp_forward_direct(const fpo_mlp *m, const float *params, const float *x, int batch,
                            float *y, float *scratch)
{
    if (batch <= 0)
        return;
    const int isa = fpo_vmath_isa();
    const size_t B = (size_t)batch;
    float *buf[2] = {scratch, scratch + B * (size_t)m->max_width};
    const int L = m->n_layers;
    const float *in = x;
    for (int l = 0; l + 1 < L; l++) {
        const size_t ni = (size_t)m->dims[l], no = (size_t)m->dims[l + 1];
        float *h = buf[l & 1];
        gemm(in, params + m->w_off[l], h, B, ni, no, isa);
        fpo_v_bias_act(h, NULL, params + m->b_off[l], B, no, m->act, isa);
        in = h;
    }
    const size_t ni = (size_t)m->dims[L - 1], no = (size_t)m->dims[L];
    gemm(in, params + m->w_off[L - 1], y, B, ni, no, isa);
    for (size_t i = 0; i < B * no; i++)
        y[i] *= m->out_scale;
    fpo_v_add_bias(y, params + m->b_off[L - 1], B, no, m->out_scale);
}
