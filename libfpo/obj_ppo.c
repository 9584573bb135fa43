/* Gaussian PPO: the likelihood ratio of the stored action under the
 * policy's diagonal Gaussian, in the clipped surrogate, plus the entropy
 * bonus (entropy_coef). theta_old quantity: log pi_old(a | s). */
#include <math.h>

#include "objective.h"
#include "optimizer_impl.h"

/* Gaussian log-likelihood pieces for one row: mean mu, std sigma. */
static void gaussian_row(const fpo_policy_view *pv, const float *y, int d, float *mu,
                         float *sigma, float *sraw)
{
    int ad = pv->act_dim;
    *mu = y[d];
    if (pv->std_mode == FPO_STD_FIXED) {
        *sraw = 0.0f;
        *sigma = pv->init_std;
    } else {
        *sraw = pv->std_mode == FPO_STD_STATE_DEPENDENT ? y[ad + d] : pv->params[pv->std_off + (size_t)d];
        *sigma = fpo_softplus(*sraw) + pv->min_std;
    }
}

#define LOG_SQRT_2PI 0.91893853320467274178f

/* One dimension's term of the Gaussian log-density. */
static inline float gauss_term(float a, float mu, float sigma)
{
    float z = (a - mu) / sigma;
    return -0.5f * z * z - logf(sigma) - LOG_SQRT_2PI;
}

double fpo_gaussian_logp(const float *mu, const float *sigma, const float *a, int D)
{
    double lp = 0.0;
    for (int d = 0; d < D; d++)
        lp += gauss_term(a[d], mu[d], sigma[d]);
    return lp;
}

static void ppo_store_old(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                          const float *Y, float *l)
{
    (void)ob;
    (void)l;
    const fpo_policy_view *pv = &bt->pv;
    int ad = pv->act_dim, aout = pv->actor->dims[pv->actor->n_layers];
    for (int r = 0; r < n; r++) {
        const float *y = Y + (size_t)r * (size_t)aout;
        const float *a = bt->act + (size_t)idx[r] * (size_t)ad;
        double lp = 0.0;
        for (int d = 0; d < ad; d++) {
            float mu, sg, sr;
            gaussian_row(pv, y, d, &mu, &sg, &sr);
            lp += gauss_term(a[d], mu, sg);
        }
        bt->old[idx[r]] = (float)lp;
    }
}

/* One row's log-likelihood of a under the Gaussian of the actor outputs y,
 * and (ent non-NULL) the entropy of that Gaussian. */
double fpo_gaussian_row_logp(const fpo_policy_view *pv, const float *y, const float *a,
                             double *ent)
{
    double lp = 0.0, h = 0.0;
    for (int d = 0; d < pv->act_dim; d++) {
        float m_, sg, sr;
        gaussian_row(pv, y, d, &m_, &sg, &sr);
        lp += gauss_term(a[d], m_, sg);
        h += 0.5f + LOG_SQRT_2PI + logf(sg);
    }
    if (ent)
        *ent = h;
    return lp;
}

/* The gradient of glp * log p(a) + gent * entropy for one row with respect
 * to its actor outputs (dy: the mean and, state-dependent, the std head)
 * and, state-independent, added to the std parameters' gstd. Shared by
 * PPO's loss and maximum-likelihood pretraining (pretrain.c). */
void fpo_gaussian_row_grad(const fpo_policy_view *pv, const float *y, const float *a, float glp,
                           float gent, float *dy, float *gstd)
{
    int ad = pv->act_dim;
    for (int d = 0; d < ad; d++) {
        float m_, sg, sr;
        gaussian_row(pv, y, d, &m_, &sg, &sr);
        float diff = a[d] - m_;
        float isg = 1.0f / sg;
        dy[d] = glp * diff * isg * isg;
        if (pv->std_mode != FPO_STD_FIXED) {
            float dsigma = glp * (diff * diff * isg * isg * isg - isg) + gent * isg;
            float ds = dsigma * fpo_sigmoid(sr);
            if (pv->std_mode == FPO_STD_STATE_DEPENDENT)
                dy[ad + d] = ds;
            else
                gstd[d] += ds;
        }
    }
}

static void ppo_loss(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                     const fpo_obj_mb *mb, const float *Y, float *l, float *dYw, float *gstd,
                     fpo_obj_acc *acc)
{
    (void)l;
    const fpo_optimizer_config *c = ob->cfg;
    const fpo_policy_view *pv = &bt->pv;
    int ad = pv->act_dim, aout = pv->actor->dims[pv->actor->n_layers];
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)idx[r];
        float A = (bt->adv[i] - mb->adv_mean) * mb->adv_scale;
        const float *y = Y + (size_t)r * (size_t)aout;
        float *dy = dYw + (size_t)r * (size_t)aout;
        const float *a = bt->act + i * (size_t)ad;
        double ent;
        double lp = fpo_gaussian_row_logp(pv, y, a, &ent);
        float logr = (float)lp - bt->old[i];
        float rho = expf(logr);
        float slope;
        float obj = fpo_surrogate(c, rho, A, &slope, &acc->clipped);
        acc->policy_loss -= obj;
        acc->entropy += ent;
        fpo_obj_ratio_stat(acc, rho, logr);
        /* dLoss/dlogp = -slope * rho / n; entropy term -coef * H / n. */
        float glp = -slope * rho * mb->inv_n;
        float gent = -c->entropy_coef * mb->inv_n;
        fpo_gaussian_row_grad(pv, y, a, glp, gent, dy, gstd);
    }
}

const fpo_obj_ops fpo_obj_ppo = {"Gaussian PPO", NULL, ppo_store_old, ppo_loss, NULL};
