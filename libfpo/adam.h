/* Internal: Adam / AdamW over flat float arrays, and gradient norm helpers. */
#ifndef FPO_INTERNAL_ADAM_H
#define FPO_INTERNAL_ADAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct fpo_adam_cfg {
    float lr, beta1, beta2, eps;
    float weight_decay; /* AdamW decoupled decay when > 0; 0 = plain Adam */
} fpo_adam_cfg;

/* One step, in place, PyTorch semantics:
 *   p <- p (1 - lr wd)                           (only if wd > 0)
 *   m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
 *   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * step t is 1-based (bias correction); t < 1 is treated as 1. m and v start
 * at zero. No allocation. */
void fpo_adam_step(float *params, const float *grad, float *m, float *v, size_t n,
                   const fpo_adam_cfg *cfg, int64_t step);

/* L2 norm, accumulated in double. */
double fpo_grad_norm(const float *g, size_t n);
/* x *= s */
void fpo_scale(float *x, size_t n, float s);
/* Global-norm clipping: if the norm exceeds max_norm > 0, scale g so it
 * equals max_norm. Returns the norm before clipping. */
double fpo_clip_grad_norm(float *g, size_t n, double max_norm);

#endif
