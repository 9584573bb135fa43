#include "mlp.h"

#include <math.h>
#include <string.h>

#include "gemm.h"

#include "vmath.h"

/* The batch is walked in blocks of rows so a block's activations and
 * gradients stay in cache between the GEMM that writes them and the
 * elementwise pass that reads them. A block holds about FPO_MLP_BLOCK_FLOATS
 * floats of the widest layer: 1024 rows at width 256, 8192 at width 32
 * (measured best for the critic and actor benchmarks respectively; no
 * blocking at all costs the width-256 critic 35%). */
#ifndef FPO_MLP_BLOCK_FLOATS
#define FPO_MLP_BLOCK_FLOATS 262144
#endif

/* Sub-arrays of cache and scratch start on 64-byte boundaries (relative to
 * the base pointer) so no two share a cache line. */
static size_t r16(size_t n) { return (n + 15) & ~(size_t)15; }

int fpo_mlp_init(fpo_mlp *m, int n_in, int n_hidden, const int *hidden, int n_out,
                 fpo_activation act, float out_scale)
{
    if (!m || (n_hidden > 0 && !hidden))
        return FPO_EINVAL;
    if (act != FPO_ACT_SILU && act != FPO_ACT_RELU && act != FPO_ACT_TANH)
        return FPO_EINVAL;
    if (n_hidden < 0 || n_hidden > FPO_MAX_LAYERS || !isfinite(out_scale))
        return FPO_ERANGE;
    memset(m, 0, sizeof *m);
    m->n_layers = n_hidden + 1;
    m->dims[0] = n_in;
    for (int i = 0; i < n_hidden; i++)
        m->dims[i + 1] = hidden[i];
    m->dims[n_hidden + 1] = n_out;
    m->act = act;
    m->out_scale = out_scale;
    size_t off = 0;
    for (int l = 0; l <= m->n_layers; l++) {
        if (m->dims[l] < 1 || m->dims[l] > FPO_MLP_MAX_WIDTH) {
            memset(m, 0, sizeof *m);
            return FPO_ERANGE;
        }
        if (m->dims[l] > m->max_width)
            m->max_width = m->dims[l];
    }
    /* Packed W then b per layer; no padding so checkpoints are compact. */
    for (int l = 0; l < m->n_layers; l++) {
        m->w_off[l] = off;
        off += (size_t)m->dims[l] * (size_t)m->dims[l + 1];
        m->b_off[l] = off;
        off += (size_t)m->dims[l + 1];
    }
    m->n_params = off;
    return FPO_OK;
}

void fpo_mlp_init_params(const fpo_mlp *m, float *params, fpo_rng *rng)
{
    for (int l = 0; l < m->n_layers; l++) {
        size_t n_in = (size_t)m->dims[l], n_out = (size_t)m->dims[l + 1];
        float a = sqrtf(3.0f / (float)n_in);
        float *w = params + m->w_off[l];
        for (size_t i = 0; i < n_in * n_out; i++)
            w[i] = a * (2.0f * fpo_rng_uniform(rng) - 1.0f);
        memset(params + m->b_off[l], 0, n_out * sizeof(float));
    }
}

double fpo_mlp_macs(const fpo_mlp *m)
{
    double s = 0.0;
    for (int l = 0; l < m->n_layers; l++)
        s += (double)m->dims[l] * (double)m->dims[l + 1];
    return s;
}

static size_t block_rows(const fpo_mlp *m)
{
    size_t r = FPO_MLP_BLOCK_FLOATS / (size_t)m->max_width;
    r = r < 64 ? 64 : r;
    return r & ~(size_t)15;
}

int fpo_mlp_block_rows(const fpo_mlp *m) { return (int)block_rows(m); }

static int stores_d(const fpo_mlp *m) { return m->act == FPO_ACT_SILU; }

/* Cache: per hidden layer l, H_l = act(z_l) [batch x w] and, for SiLU,
 * D_l = act'(z_l) [batch x w]. Storing D costs one stream but saves an
 * exp per element in backward; ReLU and tanh derive act' from H. */
static size_t cache_layer_floats(const fpo_mlp *m, size_t batch, int l)
{
    return r16(batch * (size_t)m->dims[l + 1]) * (stores_d(m) ? 2u : 1u);
}

size_t fpo_mlp_cache_floats(const fpo_mlp *m, int batch)
{
    if (batch <= 0)
        return 0;
    size_t s = 0;
    for (int l = 0; l + 1 < m->n_layers; l++)
        s += cache_layer_floats(m, (size_t)batch, l);
    return s;
}

double fpo_mlp_cache_floats_estimate(const fpo_mlp *m, double batch)
{
    double s = 0;
    for (int l = 0; l + 1 < m->n_layers; l++)
        s += batch * (double)m->dims[l + 1] * (stores_d(m) ? 2.0 : 1.0);
    return s;
}

double fpo_mlp_params_estimate(const fpo_mlp *m)
{
    double s = 0;
    for (int l = 0; l < m->n_layers; l++)
        s += ((double)m->dims[l] + 1.0) * (double)m->dims[l + 1];
    return s;
}

static size_t chunk_rows(const fpo_mlp *m, int batch)
{
    size_t r = block_rows(m);
    return (size_t)batch < r ? (size_t)batch : r;
}

/* Scratch: [W^T of every layer][two row-block buffers][bias accumulator]. */
static size_t wt_floats(const fpo_mlp *m)
{
    size_t s = 0;
    for (int l = 0; l < m->n_layers; l++)
        s += r16((size_t)m->dims[l] * (size_t)m->dims[l + 1]);
    return s;
}

double fpo_mlp_scratch_floats_estimate(const fpo_mlp *m, double batch)
{
    double wt = 0, rows = (double)block_rows(m);
    for (int l = 0; l < m->n_layers; l++)
        wt += (double)m->dims[l] * (double)m->dims[l + 1];
    return wt + 2.0 * (batch < rows ? batch : rows) * (double)m->max_width + 64.0 * m->n_layers +
           (double)m->max_width;
}

size_t fpo_mlp_scratch_floats(const fpo_mlp *m, int batch)
{
    if (batch <= 0)
        return 0;
    size_t blk = r16(chunk_rows(m, batch) * (size_t)m->max_width);
    return wt_floats(m) + 2 * blk + r16((size_t)m->max_width);
}

/* Row-major Y[rows x n] = alpha * X[rows x k] W[k x n] (+ beta Y). */
static void gemm_rr(int isa, size_t rows, size_t k, size_t n, float alpha, const float *xx,
                    const float *w, float beta, float *yy)
{
    fpo_gemm_nn(isa, rows, n, k, alpha, xx, k, w, n, beta, yy, n);
}

void fpo_mlp_forward(const fpo_mlp *m, const float *params, const float *x, int batch,
                     float *y, float *cache, float *scratch)
{
    if (batch <= 0)
        return;
    const int isa = fpo_vmath_isa();
    const size_t B = (size_t)batch, rc_max = chunk_rows(m, batch);
    const size_t blk = r16(rc_max * (size_t)m->max_width);
    /* Inference ping-pongs between two scratch blocks; training writes
     * straight into the cache and needs no scratch. */
    float *buf[2] = {NULL, NULL};
    if (!cache) {
        buf[0] = scratch + wt_floats(m);
        buf[1] = buf[0] + blk;
    }
    const int L = m->n_layers;

    for (size_t r0 = 0; r0 < B; r0 += rc_max) {
        const size_t rc = B - r0 < rc_max ? B - r0 : rc_max;
        const float *in = x + r0 * (size_t)m->dims[0];
        size_t coff = 0;
        for (int l = 0; l + 1 < L; l++) {
            const size_t ni = (size_t)m->dims[l], no = (size_t)m->dims[l + 1];
            float *h, *d = NULL;
            if (cache) {
                h = cache + coff + r0 * no;
                if (stores_d(m))
                    d = cache + coff + r16(B * no) + r0 * no;
                coff += cache_layer_floats(m, B, l);
            } else {
                h = buf[l & 1];
            }
            gemm_rr(isa, rc, ni, no, 1.0f, in, params + m->w_off[l], 0.0f, h);
            fpo_v_bias_act(h, d, params + m->b_off[l], rc, no, m->act, isa);
            in = h;
        }
        const size_t ni = (size_t)m->dims[L - 1], no = (size_t)m->dims[L];
        float *yo = y + r0 * no;
        gemm_rr(isa, rc, ni, no, m->out_scale, in, params + m->w_off[L - 1], 0.0f, yo);
        fpo_v_add_bias(yo, params + m->b_off[L - 1], rc, no, m->out_scale);
    }
}

/* out[j*rows + i] = in[i*cols + j] */
static void transpose(const float *in, float *out, size_t rows, size_t cols)
{
    enum { T = 16 }; /* tile so both sides stream whole cache lines */
    for (size_t i0 = 0; i0 < rows; i0 += T)
        for (size_t j0 = 0; j0 < cols; j0 += T) {
            size_t i1 = i0 + T < rows ? i0 + T : rows, j1 = j0 + T < cols ? j0 + T : cols;
            for (size_t i = i0; i < i1; i++)
                for (size_t j = j0; j < j1; j++)
                    out[j * rows + i] = in[i * cols + j];
        }
}

void fpo_mlp_backward(const fpo_mlp *m, const float *params, const float *x, int batch,
                      const float *cache, const float *dy, float *grad, float *dx,
                      float *scratch)
{
    if (batch <= 0)
        return;
    const int isa = fpo_vmath_isa();
    const int L = m->n_layers;
    const size_t B = (size_t)batch, rc_max = chunk_rows(m, batch);
    const size_t blk = r16(rc_max * (size_t)m->max_width);
    float *buf[2] = {scratch + wt_floats(m), scratch + wt_floats(m) + blk};
    float *acc = buf[1] + blk;

    /* W^T of each layer once per call, so the data-gradient products
     * G W^T are row-major GEMMs too (2x faster than a transposed operand
     * at width 32; the copy is O(in*out), nothing next to O(batch*in*out)). */
    const float *wt[FPO_MAX_LAYERS + 1];
    size_t coff[FPO_MAX_LAYERS + 1];
    {
        size_t off = 0, c = 0;
        for (int l = 0; l < L; l++) {
            const size_t ni = (size_t)m->dims[l], no = (size_t)m->dims[l + 1];
            if (l > 0 || dx)
                transpose(params + m->w_off[l], scratch + off, ni, no);
            wt[l] = scratch + off;
            off += r16(ni * no);
            coff[l] = c;
            if (l + 1 < L)
                c += cache_layer_floats(m, B, l);
        }
    }

    for (size_t r0 = 0; r0 < B; r0 += rc_max) {
        const size_t rc = B - r0 < rc_max ? B - r0 : rc_max;
        /* g: gradient wrt the pre-scale output of layer l, row block r0;
         * alpha carries out_scale for the output layer. */
        const float *g = dy + r0 * (size_t)m->dims[L];
        float alpha = m->out_scale;
        int nb = 0;
        for (int l = L - 1; l >= 0; l--) {
            const size_t ni = (size_t)m->dims[l], no = (size_t)m->dims[l + 1];
            const float *a = l == 0 ? x + r0 * ni : cache + coff[l - 1] + r0 * ni;
            if (l == L - 1) {
                memset(acc, 0, no * sizeof *acc);
                fpo_v_colsum(g, acc, rc, no, alpha);
            }
            float *gb = grad + m->b_off[l];
            for (size_t j = 0; j < no; j++)
                gb[j] += acc[j];
            /* dW[ni x no] += alpha * A^T G, A [rc x ni] read in place. */
            fpo_gemm_tn(isa, ni, no, rc, alpha, a, ni, g, no, 1.0f, grad + m->w_off[l], no);
            if (l == 0) {
                if (dx)
                    gemm_rr(isa, rc, no, ni, alpha, g, wt[0], 0.0f, dx + r0 * ni);
                break;
            }
            /* Into layer l-1's output: G W^T, then times act'(z_{l-1}). */
            float *ga = buf[nb];
            nb ^= 1;
            gemm_rr(isa, rc, no, ni, alpha, g, wt[l], 0.0f, ga);
            const float *h = cache + coff[l - 1] + r0 * ni;
            const float *d = stores_d(m) ? cache + coff[l - 1] + r16(B * ni) + r0 * ni : NULL;
            memset(acc, 0, ni * sizeof *acc);
            fpo_v_act_backward(ga, h, d, acc, rc, ni, m->act, isa);
            g = ga;
            alpha = 1.0f;
        }
    }
}
