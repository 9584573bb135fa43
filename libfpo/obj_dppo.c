/* DPPO: the denoising-MDP policy gradient. The sampler's Euler chain with
 * fixed noise, x_{k+1} = x_k + dt v(x_k, t_k; o) + sigma z_k (z_k ~ N(0, I),
 * t_k = 1 - k / K, dt = -1 / K, x_0 = x_1's image after K steps), is a
 * K-step MDP whose every step is a Gaussian policy:
 *   log p_k = log N(x_{k+1}; x_k + dt v_k, sigma^2 I)
 *           = -|z_k|^2 / 2 - D log sigma - D log sqrt(2 pi),
 *   z_k = (x_{k+1} - x_k - dt v_k) / sigma.
 * The buffer stores each transition's chain (K + 1 states); theta_old keeps
 * the K log-likelihoods, and the loss is the clipped (or ASPO) surrogate of
 * every step's ratio rho_k = exp(log p_k - log p_k,old) with the
 * transition's advantage, averaged over the steps used: all K, or the final
 * half k >= K / 2 (dppo_final_half). sigma is dppo_sigma; the trainer
 * samples with the same per-step noise (fpo_sampler_config.record_path). */
#include <math.h>
#include <string.h>

#include "objective.h"
#include "optimizer_impl.h"

#define LOG_SQRT_2PI_D 0.91893853320467274178

int fpo_dppo_check(fpo_errbuf *err, const fpo_optimizer_config *c)
{
    if (!(c->dppo_sigma > 0.0f && c->dppo_sigma <= 100.0f))
        return fpo_fail(err, FPO_ERANGE, "dppo_sigma must be in (0, 100], got %g",
                        (double)c->dppo_sigma);
    if (c->dppo_final_half != 0 && c->dppo_final_half != 1)
        return fpo_fail(err, FPO_ERANGE, "dppo_final_half must be 0 or 1, got %d",
                        c->dppo_final_half);
    return FPO_OK;
}

double fpo_dppo_step_logp(const float *x, const float *x_next, const float *v, float dt,
                          float sigma, int D, float *dv)
{
    double s = 0.0;
    float inv = 1.0f / sigma;
    for (int d = 0; d < D; d++) {
        float z = (x_next[d] - x[d] - dt * v[d]) * inv;
        s += (double)z * z;
        if (dv) /* d log p / d v = z dt / sigma */
            dv[d] = z * dt * inv;
    }
    return -0.5 * s - D * (log((double)sigma) + LOG_SQRT_2PI_D);
}

/* The steps that enter the loss: [first, K). */
static int first_step(const fpo_objective *ob)
{
    return ob->cfg->dppo_final_half ? ob->dppo_steps / 2 : 0;
}

/* Actor rows: for each transition its K chain states x_k at t_k. */
static void dppo_inputs(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                        float *X)
{
    int od = bt->pv.obs_dim, ad = bt->pv.act_dim, K = ob->dppo_steps;
    size_t in = (size_t)bt->pv.actor->dims[0];
    size_t chain = (size_t)(K + 1) * (size_t)ad;
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)idx[r];
        const float *no = bt->nobs + i * (size_t)od;
        const float *path = bt->path + i * chain;
        for (int k = 0; k < K; k++) {
            float t = 1.0f - (float)k / (float)K;
            float *row = X + ((size_t)r * (size_t)K + (size_t)k) * in;
            memcpy(row, no, (size_t)od * sizeof(float));
            memcpy(row + od, path + (size_t)k * (size_t)ad, (size_t)ad * sizeof(float));
            fpo_time_embed(bt->p, t, row + od + ad);
        }
    }
}

/* The K step log-likelihoods of each transition into l (and, with dY, their
 * gradients with respect to the velocities). */
static void step_logps(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                       const float *Y, float *l, float *dY)
{
    int ad = bt->pv.act_dim, K = ob->dppo_steps;
    size_t chain = (size_t)(K + 1) * (size_t)ad;
    float dt = -1.0f / (float)K, sigma = ob->cfg->dppo_sigma;
    for (int r = 0; r < n; r++) {
        const float *path = bt->path + (size_t)idx[r] * chain;
        for (int k = 0; k < K; k++) {
            size_t row = (size_t)r * (size_t)K + (size_t)k;
            l[row] = (float)fpo_dppo_step_logp(path + (size_t)k * (size_t)ad,
                                               path + (size_t)(k + 1) * (size_t)ad,
                                               Y + row * (size_t)ad, dt, sigma, ad,
                                               dY ? dY + row * (size_t)ad : NULL);
        }
    }
}

static void dppo_store_old(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx,
                           int n, const float *Y, float *l)
{
    int K = ob->dppo_steps;
    step_logps(ob, bt, idx, n, Y, l, NULL);
    for (int r = 0; r < n; r++)
        memcpy(bt->old + (size_t)idx[r] * (size_t)K, l + (size_t)r * (size_t)K,
               (size_t)K * sizeof(float));
}

static void dppo_loss(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                      const fpo_obj_mb *mb, const float *Y, float *lw, float *dYw, float *gstd,
                      fpo_obj_acc *acc)
{
    (void)gstd;
    const fpo_optimizer_config *c = ob->cfg;
    int ad = bt->pv.act_dim, K = ob->dppo_steps, k0 = first_step(ob);
    float inv_s = 1.0f / (float)(K - k0);
    step_logps(ob, bt, idx, n, Y, lw, dYw);
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)idx[r];
        float A = (bt->adv[i] - mb->adv_mean) * mb->adv_scale;
        const float *lo = bt->old + i * (size_t)K;
        const float *l = lw + (size_t)r * (size_t)K;
        float *dY = dYw + (size_t)r * (size_t)K * (size_t)ad;
        double objsum = 0.0;
        for (int k = 0; k < K; k++) {
            float *dk = dY + (size_t)k * (size_t)ad;
            if (k < k0) {
                memset(dk, 0, (size_t)ad * sizeof(float));
                continue;
            }
            float d = l[k] - lo[k];
            float rho = expf(d);
            float slope;
            objsum += fpo_surrogate(c, rho, A, &slope, &acc->clipped);
            fpo_obj_ratio_stat(acc, rho, d);
            /* dLoss/dlog p_k = -slope rho / (n S), times dlog p_k / dv. */
            float g = -slope * rho * mb->inv_n * inv_s;
            for (int q = 0; q < ad; q++)
                dk[q] *= g;
        }
        acc->policy_loss -= objsum * inv_s;
    }
}

const fpo_obj_ops fpo_obj_dppo = {"DPPO (denoising MDP)", dppo_inputs, dppo_store_old, dppo_loss,
                                  NULL};
