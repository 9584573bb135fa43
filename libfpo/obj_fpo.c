/* FPO with the averaged ratio (the paper): one ratio per transition,
 * rho = exp(mean_k l_old,k - mean_k l_k) over its n_mc stored (t, eps)
 * pairs, the losses first clamped to at most cfm_clamp, in the clipped (or
 * ASPO) surrogate. */
#include <math.h>

#include "objective.h"
#include "optimizer_impl.h"

static void fpo_loss(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                     const fpo_obj_mb *mb, const float *Y, float *lw, float *dYw, float *gstd,
                     fpo_obj_acc *acc)
{
    (void)gstd;
    const fpo_optimizer_config *c = ob->cfg;
    int ad = bt->pv.act_dim, nmc = ob->flow.n_mc;
    fpo_flow_cfm_losses(ob, bt, idx, n, Y, lw, dYw);
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)idx[r];
        float A = (bt->adv[i] - mb->adv_mean) * mb->adv_scale;
        const float *lo = bt->old + i * (size_t)nmc;
        const float *l = lw + (size_t)r * (size_t)nmc;
        float *dY = dYw + (size_t)r * (size_t)nmc * (size_t)ad;
        float ga = fpo_flow_row_begin(ob, bt, i, l, mb, &A, acc);
        double diff = 0.0;
        for (int k = 0; k < nmc; k++)
            diff += (double)fpo_flow_ratio_l(ob, lo[k], NULL) - (double)fpo_flow_ratio_l(ob, l[k], NULL);
        float rho = expf((float)(diff / nmc));
        float slope;
        float obj = fpo_surrogate(c, rho, A, &slope, &acc->clipped);
        acc->policy_loss -= obj;
        fpo_obj_ratio_stat(acc, rho, diff / nmc);
        /* dLoss/dl_k = slope * rho / (n * nmc), and the anchor's alone for
         * a pair above cfm_clamp */
        float g = slope * rho * mb->inv_n / (float)nmc + ga;
        for (int k = 0; k < nmc; k++) {
            int sat;
            (void)fpo_flow_ratio_l(ob, l[k], &sat);
            float gk = sat ? ga : g;
            for (int q = 0; q < ad; q++)
                dY[(size_t)k * (size_t)ad + (size_t)q] *= gk;
        }
    }
}

const fpo_obj_ops fpo_obj_fpo = {
    "FPO (averaged ratio)", fpo_flow_inputs, fpo_flow_store_old, fpo_loss, fpo_flow_drift,
};
