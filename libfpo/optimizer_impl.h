/* Internal: pieces of the update exposed to the white-box tests. */
#ifndef FPO_INTERNAL_OPTIMIZER_IMPL_H
#define FPO_INTERNAL_OPTIMIZER_IMPL_H

#include "fpo/optimizer.h"

/* CFM loss of one (t, eps) pair for velocity v and action a (D dims),
 * averaged over dimensions: u-MSE mean_d (v - (eps - a))^2 times the weight
 * of the loss kind (fpo_cfm_weight). If dv is non-NULL it receives
 * d loss / d v. */
float fpo_cfm_pair(const float *v, const float *eps, const float *a, float t, int D,
                   fpo_cfm_loss kind, float *dv);
/* The weight of u-MSE at time t: 1 (u-MSE), (1-t)^2 (eps-MSE), or
 * (1-t)/max(t, FPO_ELBO_T_FLOOR) (ELBO). */
float fpo_cfm_weight(fpo_cfm_loss kind, float t);
#define FPO_ELBO_T_FLOOR 0.05f

/* The clipped (or ASPO) surrogate objective for one ratio: returns the
 * objective to maximize and its slope d obj / d rho; *clipped is incremented
 * when rho lies outside [1 - clip_eps, 1 + clip_eps]. */
float fpo_surrogate(const fpo_optimizer_config *c, float rho, float A, float *slope,
                    double *clipped);

/* One sample's term of the approximate KL statistic, (rho - 1) - log rho
 * with rho = exp(log_ratio), computed from the log-ratio so that a ratio
 * that under- or overflows in float still gives a finite term. */
double fpo_kl_term(double log_ratio);

/* Log-density of a under the diagonal Gaussian N(mu, diag(sigma^2)), D dims. */
double fpo_gaussian_logp(const float *mu, const float *sigma, const float *a, int D);

/* Steps 1-3 of the update (statistics, theta_old quantities, GAE). */
int fpo_optimizer_prepare(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b,
                          fpo_update_stats *stats);
/* Loss (policy + value + entropy) and its gradient (n_params floats) on the
 * transitions idx[0..n) at the current parameters, without a step; also the
 * mean, min and max ratio. Requires fpo_optimizer_prepare. */
int fpo_optimizer_loss_grad(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b, const int *idx, int n,
                            double *loss, float *grad, double ratio_stats[3]);
/* Advantages and returns of the last prepare (B floats each). */
const float *fpo_optimizer_advantages(const fpo_optimizer *o);

#endif
