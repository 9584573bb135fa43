/* MLP inference without BLIS, for acting: BLIS 0.9 allocates bookkeeping on
 * every sgemm call and costs about a microsecond per call, which dominates a
 * batch-1 controller step (10 integration steps x 5 layers). These loops
 * allocate nothing and, at the widths policies use, run near FMA speed
 * because the inner loop runs over contiguous outputs of the input-major W. */
#include <string.h>

#include "mlp.h"
#include "mlp_direct.h"
#include "vmath.h"

size_t fpo_mlp_direct_scratch_floats(const fpo_mlp *m, int batch)
{
    return 2 * (size_t)(batch > 0 ? batch : 0) * (size_t)m->max_width + 16;
}

/* out[r][j] = sum_i in[r][i] W[i][j] for rows r, four rows at a time so each
 * W row is loaded once per four outputs. */
#define DIRECT_GEMM_BODY                                                             \
    size_t r = 0;                                                                    \
    for (; r + 4 <= rows; r += 4) {                                                  \
        float *o0 = out + r * no, *o1 = o0 + no, *o2 = o1 + no, *o3 = o2 + no;        \
        const float *i0 = in + r * ni, *i1 = i0 + ni, *i2 = i1 + ni, *i3 = i2 + ni;   \
        memset(o0, 0, 4 * no * sizeof(float));                                       \
        for (size_t i = 0; i < ni; i++) {                                            \
            const float *w = W + i * no;                                             \
            float a0 = i0[i], a1 = i1[i], a2 = i2[i], a3 = i3[i];                    \
            for (size_t j = 0; j < no; j++) {                                        \
                o0[j] += a0 * w[j];                                                  \
                o1[j] += a1 * w[j];                                                  \
                o2[j] += a2 * w[j];                                                  \
                o3[j] += a3 * w[j];                                                  \
            }                                                                        \
        }                                                                            \
    }                                                                                \
    for (; r < rows; r++) {                                                          \
        float *o = out + r * no;                                                     \
        const float *x = in + r * ni;                                                \
        memset(o, 0, no * sizeof(float));                                            \
        for (size_t i = 0; i < ni; i++) {                                            \
            const float *w = W + i * no;                                             \
            float a = x[i];                                                          \
            for (size_t j = 0; j < no; j++)                                          \
                o[j] += a * w[j];                                                    \
        }                                                                            \
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
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa == FPO_ISA_AVX2) {
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
