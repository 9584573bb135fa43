/* FPO++: one ratio per stored (t, eps) pair, rho_k = exp(clamp(l_old,k -
 * l_k, -c, c)) with c = ratio_clamp and the losses first clamped to at most
 * cfm_clamp, each in the clipped surrogate (ASPO for negative advantages
 * when aspo is set), averaged over the pairs. A pair clamped either way
 * passes no gradient through its ratio. */
#include <math.h>

#include "objective.h"
#include "optimizer_impl.h"

static void fpopp_loss(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                       const fpo_obj_mb *mb, const float *Y, float *lw, float *dYw, float *gstd,
                       fpo_obj_acc *acc)
{
    (void)gstd;
    const fpo_optimizer_config *c = ob->cfg;
    int ad = bt->pv.act_dim, nmc = ob->flow.n_mc;
    float cl = c->ratio_clamp;
    fpo_flow_cfm_losses(ob, bt, idx, n, Y, lw, dYw);
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)idx[r];
        float A = (bt->adv[i] - mb->adv_mean) * mb->adv_scale;
        const float *lo = bt->old + i * (size_t)nmc;
        const float *l = lw + (size_t)r * (size_t)nmc;
        float *dY = dYw + (size_t)r * (size_t)nmc * (size_t)ad;
        float ga = fpo_flow_row_begin(ob, bt, i, l, mb, &A, acc);
        double objsum = 0.0;
        for (int k = 0; k < nmc; k++) {
            int sat;
            float d = fpo_flow_ratio_l(ob, lo[k], NULL) - fpo_flow_ratio_l(ob, l[k], &sat);
            int clamped = d < -cl || d > cl || sat;
            d = d < -cl ? -cl : (d > cl ? cl : d);
            float rho = expf(d);
            float slope;
            objsum += fpo_surrogate(c, rho, A, &slope, &acc->clipped);
            fpo_obj_ratio_stat(acc, rho, d);
            float g = (clamped ? 0.0f : slope * rho * mb->inv_n / (float)nmc) + ga;
            for (int q = 0; q < ad; q++)
                dY[(size_t)k * (size_t)ad + (size_t)q] *= g;
        }
        acc->policy_loss -= objsum / nmc;
    }
}

const fpo_obj_ops fpo_obj_fpopp = {
    "FPO++ (per-sample ratio)", fpo_flow_inputs, fpo_flow_store_old, fpopp_loss, fpo_flow_drift,
};
