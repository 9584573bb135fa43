/* The choice of objective, and the clipped-surrogate pieces the objectives
 * share (objective.h). */
#include <math.h>
#include <string.h>

#include "buffer_impl.h"
#include "objective.h"
#include "optimizer_impl.h"

double fpo_kl_term(double log_ratio)
{
    /* expm1 keeps the small-ratio case accurate; above 700 exp overflows
     * double, and the term is then log-ratio-sized anyway. */
    if (log_ratio > 700.0)
        log_ratio = 700.0;
    return expm1(log_ratio) - log_ratio;
}

/* d(surrogate objective)/d(rho) for one ratio, and the objective itself. The
 * clipped PPO objective min(rho A, clip(rho) A) has slope A where the
 * unclipped branch is the minimum, else 0; ASPO replaces it for A < 0. */
float fpo_surrogate(const fpo_optimizer_config *c, float rho, float A, float *slope,
                    double *clipped)
{
    float e = c->clip_eps;
    float lo = 1.0f - e, hi = 1.0f + e;
    *clipped += (rho < lo || rho > hi);
    if (c->aspo && A < 0.0f) {
        float aa = -A;
        *slope = A - aa / e * (rho - 1.0f);
        return rho * A - aa / (2.0f * e) * (rho - 1.0f) * (rho - 1.0f);
    }
    float rc = rho < lo ? lo : (rho > hi ? hi : rho);
    float u = rho * A, cl = rc * A;
    if (u <= cl) {
        *slope = A;
        return u;
    }
    *slope = 0.0f;
    return cl;
}

void fpo_obj_ratio_stat(fpo_obj_acc *acc, float rho, double log_ratio)
{
    acc->ratio_sum += rho;
    acc->ratio_max = fmax(acc->ratio_max, rho);
    acc->ratio_min = fmin(acc->ratio_min, rho);
    acc->kl += fpo_kl_term(log_ratio);
    acc->n_ratio += 1.0;
}

int fpo_objective_init(fpo_objective *ob, const fpo_optimizer_config *cfg, const fpo_policy *p,
                       const fpo_buffer *b, fpo_errbuf *err)
{
    memset(ob, 0, sizeof *ob);
    ob->cfg = cfg;
    fpo_policy_view pv;
    fpo_policy_view_of((fpo_policy *)p, &pv);
    int flow = cfg->algo != FPO_ALGO_PPO;
    if (flow != (pv.kind == FPO_POLICY_FLOW))
        return fpo_fail(err, FPO_EMISMATCH,
                        "FPO and DPPO need a flow policy and PPO a Gaussian one");
    if (b->cfg.obs_dim != pv.obs_dim || b->cfg.act_dim != pv.act_dim)
        return fpo_fail(err, FPO_EMISMATCH, "buffer and policy sizes differ");
    if (!flow) {
        ob->ops = &fpo_obj_ppo;
        ob->rows = 1;
        ob->old_floats = 1;
        return FPO_OK;
    }
    if (cfg->algo == FPO_ALGO_DPPO) {
        int rc = fpo_dppo_check(err, cfg);
        if (rc)
            return rc;
        if (b->cfg.path_steps < 1)
            return fpo_fail(err, FPO_EMISMATCH,
                            "DPPO needs a buffer with path_steps >= 1 (the denoising chains)");
        ob->ops = &fpo_obj_dppo;
        ob->dppo_steps = (int)b->cfg.path_steps;
        ob->rows = ob->dppo_steps;
        ob->old_floats = ob->dppo_steps;
        return FPO_OK;
    }
    /* The flow settings: the pairs the buffer drew and the CFM loss form. */
    ob->flow.n_mc = b->cfg.n_mc;
    ob->flow.t_dist = b->cfg.t_dist;
    ob->flow.t_beta = b->cfg.t_beta;
    ob->flow.cfm_loss = cfg->cfm_loss;
    if (ob->flow.n_mc < 1)
        return fpo_fail(err, FPO_EMISMATCH, "FPO needs a buffer with n_mc >= 1 (t, eps) pairs");
    int rc = fpo_flow_config_check(err, &ob->flow, 1, "optimizer");
    if (rc)
        return rc;
    ob->ops = cfg->ratio_mode == FPO_RATIO_AVERAGED ? &fpo_obj_fpo : &fpo_obj_fpopp;
    ob->rows = ob->flow.n_mc;
    ob->old_floats = ob->flow.n_mc;
    return FPO_OK;
}
