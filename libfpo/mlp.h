/* Internal: float32 multilayer perceptron over a batch (forward, backward).
 *
 * dims[0] = n_in, dims[1..n_hidden] = hidden widths, dims[n_hidden+1] = n_out.
 * Hidden layers: y = act(x W + b). Output layer: y = out_scale * (x W + b).
 *
 * Parameters live in one caller-owned flat array of n_params floats, so
 * models can be copied, saved and averaged and Adam runs over one array.
 * Layer l occupies W at [w_off[l], w_off[l] + in*out) and b at
 * [b_off[l], b_off[l] + out). W is stored input-major: W[i*out + j] is the
 * weight from input i to output j (the transpose of the "out x in" torch
 * convention). With row-major activations every product is then a
 * row-major GEMM, the fastest BLIS orientation here (docs/design-numerics.md).
 *
 * All products go through BLIS, single-threaded per call (a private rntm_t,
 * no global BLIS state touched); parallelism is the caller's, by splitting
 * the batch. Forward and backward never allocate, print or fail. */
#ifndef FPO_INTERNAL_MLP_H
#define FPO_INTERNAL_MLP_H

#include <stddef.h>

#include "fpo/common.h"
#include "rng.h"

typedef struct fpo_mlp {
    int n_layers; /* linear layers = n_hidden + 1 */
    int dims[FPO_MAX_LAYERS + 2];
    fpo_activation act;
    float out_scale;
    size_t w_off[FPO_MAX_LAYERS + 1], b_off[FPO_MAX_LAYERS + 1];
    size_t n_params;
    int max_width; /* largest of all dims, inputs and outputs included */
} fpo_mlp;

/* Largest width of any layer; keeps size computations far from overflow. */
#define FPO_MLP_MAX_WIDTH 65536

/* FPO_OK; FPO_EINVAL for a NULL m, NULL hidden with n_hidden > 0 or an
 * unknown activation; FPO_ERANGE for a width, layer count or out_scale out
 * of bounds (widths 1..FPO_MLP_MAX_WIDTH, 0..FPO_MAX_LAYERS hidden layers,
 * finite out_scale). Never aborts. */
int fpo_mlp_init(fpo_mlp *m, int n_in, int n_hidden, const int *hidden, int n_out,
                 fpo_activation act, float out_scale);

/* LeCun-uniform weights U(-sqrt(3/fan_in), +sqrt(3/fan_in)), zero biases. */
void fpo_mlp_init_params(const fpo_mlp *m, float *params, fpo_rng *rng);

/* Floats of the activation cache a training forward fills for backward. */
size_t fpo_mlp_cache_floats(const fpo_mlp *m, int batch);
/* Floats of scratch that forward and backward need (either may use it). */
size_t fpo_mlp_scratch_floats(const fpo_mlp *m, int batch);
/* The same two sizes (to within rounding) and the parameter count, in double
 * for any batch: the memory estimates of a create checked before it
 * allocates (fpo_trainer_create), which must not overflow. */
double fpo_mlp_cache_floats_estimate(const fpo_mlp *m, double batch);
double fpo_mlp_scratch_floats_estimate(const fpo_mlp *m, double batch);
double fpo_mlp_params_estimate(const fpo_mlp *m);

/* x: [batch x n_in] row-major; y: [batch x n_out] row-major. cache: NULL for
 * inference, else fpo_mlp_cache_floats floats filled for a later backward.
 * scratch: fpo_mlp_scratch_floats floats (unused, may be NULL, when cache
 * is given). batch <= 0 does nothing. */
void fpo_mlp_forward(const fpo_mlp *m, const float *params, const float *x, int batch,
                     float *y, float *cache, float *scratch);

/* dy: [batch x n_out], the loss gradient wrt y (the scaled output).
 * grad: n_params floats, accumulated into (+=). dx: [batch x n_in],
 * overwritten when non-NULL. x and cache must be those of the matching
 * forward call, with the same params. */
void fpo_mlp_backward(const fpo_mlp *m, const float *params, const float *x, int batch,
                      const float *cache, const float *dy, float *grad, float *dx,
                      float *scratch);

/* Multiply-adds of one forward pass per sample (sum of in*out). */
double fpo_mlp_macs(const fpo_mlp *m);

/* Rows per block forward/backward walk the batch in (for benchmarks that
 * replay the same GEMM sequence). */
int fpo_mlp_block_rows(const fpo_mlp *m);

#endif
