/* What the flow-matching objectives (FPO, FPO++) share: the settings of the
 * stored (t, eps) pairs and of the CFM loss (fpo_flow_config, defined,
 * defaulted and checked here only), the actor inputs at x_t, the per-pair
 * CFM losses, l_old, and the anchor and saturation penalty. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "objective.h"
#include "optimizer_impl.h"
#include "rng.h"
#include "util.h"

void fpo_flow_config_defaults(fpo_flow_config *f)
{
    f->n_mc = 8;
    /* Uniform, not the reference's grid 0.1, ..., 1.0: a sampler evaluates
     * the field at its own times (midpoint 10 at 0.95, ..., 0.05), and a
     * field fitted only on the grid drifts between and below its points
     * (docs/stability.md, "The pairs' t"). */
    f->t_dist = FPO_T_UNIFORM;
    f->t_beta = 1.5f;
    f->cfm_loss = FPO_CFM_EPS;
}

int fpo_flow_config_check(fpo_errbuf *err, const fpo_flow_config *f, int need_pairs,
                          const char *who)
{
    if (f->n_mc < (need_pairs ? 1 : 0) || f->n_mc > FPO_FLOW_MAX_NMC)
        return fpo_fail(err, FPO_ERANGE, "%s: n_mc must be in [%d, %d], got %d", who,
                        need_pairs ? 1 : 0, FPO_FLOW_MAX_NMC, f->n_mc);
    if ((unsigned)f->t_dist > FPO_T_BETA || !isfinite(f->t_beta) || f->t_beta <= 0.0f)
        return fpo_fail(err, FPO_ERANGE,
                        "%s: t_dist must be an fpo_t_dist and t_beta finite and > 0", who);
    if ((unsigned)f->cfm_loss > FPO_CFM_ELBO)
        return fpo_fail(err, FPO_ERANGE, "%s: cfm_loss %d is not valid", who, (int)f->cfm_loss);
    return FPO_OK;
}

/* Beta(1, b) by inversion: F(x) = 1 - (1 - x)^b. */
float fpo_flow_draw_t(const fpo_flow_config *f, fpo_rng *rng)
{
    switch (f->t_dist) {
    case FPO_T_GRID:
        return 0.1f * (float)(1 + fpo_rng_below(rng, 10));
    case FPO_T_UNIFORM:
        return fpo_rng_uniform(rng);
    default: {
        float u = fpo_rng_uniform(rng);
        float x = 1.0f - powf(1.0f - u, 1.0f / f->t_beta);
        return 0.005f + 0.99f * x;
    }
    }
}

float fpo_cfm_weight(fpo_cfm_loss kind, float t)
{
    switch (kind) {
    case FPO_CFM_EPS:
        return (1.0f - t) * (1.0f - t);
    case FPO_CFM_ELBO:
        return (1.0f - t) / (t > FPO_ELBO_T_FLOOR ? t : FPO_ELBO_T_FLOOR);
    default:
        return 1.0f;
    }
}

float fpo_cfm_pair(const float *v, const float *eps, const float *a, float t, int D,
                   fpo_cfm_loss kind, float *dv)
{
    /* eps - (x_t + (1 - t) v) = (1 - t)(eps - a - v): every loss kind is
     * u-MSE times a weight of t, so all share one residual. */
    float w = fpo_cfm_weight(kind, t);
    float invD = 1.0f / (float)D, s = 0.0f;
    for (int d = 0; d < D; d++) {
        float res = v[d] - (eps[d] - a[d]);
        s += res * res;
        if (dv)
            dv[d] = 2.0f * invD * w * res;
    }
    return w * s * invD;
}

/* The actor input rows of transitions idx[0..n) for all their pairs:
 * [normalized obs, x_t = t eps + (1 - t) a, emb(t)]. */
void fpo_flow_inputs(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                     float *X)
{
    int od = bt->pv.obs_dim, ad = bt->pv.act_dim, nmc = ob->flow.n_mc;
    size_t in = (size_t)bt->pv.actor->dims[0];
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)idx[r];
        const float *no = bt->nobs + i * (size_t)od;
        const float *a = bt->act + i * (size_t)ad;
        for (int k = 0; k < nmc; k++) {
            size_t pk = i * (size_t)nmc + (size_t)k;
            float t = bt->pair_t[pk];
            const float *eps = bt->pair_eps + pk * (size_t)ad;
            float *row = X + ((size_t)r * (size_t)nmc + (size_t)k) * in;
            memcpy(row, no, (size_t)od * sizeof(float));
            for (int d = 0; d < ad; d++)
                row[od + d] = t * eps[d] + (1.0f - t) * a[d];
            fpo_time_embed(bt->p, t, row + od + ad);
        }
    }
}

void fpo_flow_cfm_losses(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                         const float *Y, float *l, float *dY)
{
    int ad = bt->pv.act_dim, nmc = ob->flow.n_mc;
    fpo_cfm_loss kind = ob->flow.cfm_loss;
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)idx[r];
        const float *a = bt->act + i * (size_t)ad;
        for (int k = 0; k < nmc; k++) {
            size_t pk = i * (size_t)nmc + (size_t)k;
            size_t row = (size_t)r * (size_t)nmc + (size_t)k;
            l[row] = fpo_cfm_pair(Y + row * (size_t)ad, bt->pair_eps + pk * (size_t)ad, a,
                                  bt->pair_t[pk], ad, kind, dY ? dY + row * (size_t)ad : NULL);
        }
    }
}

/* theta_old: the per-pair losses l_old [B x n_mc]. */
void fpo_flow_store_old(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                        const float *Y, float *l)
{
    int nmc = ob->flow.n_mc;
    fpo_flow_cfm_losses(ob, bt, idx, n, Y, l, NULL);
    for (int r = 0; r < n; r++)
        memcpy(bt->old + (size_t)idx[r] * (size_t)nmc, l + (size_t)r * (size_t)nmc,
               (size_t)nmc * sizeof(float));
}

float fpo_flow_row_begin(const fpo_objective *ob, const fpo_obj_batch *bt, size_t i,
                         const float *l, const fpo_obj_mb *mb, float *A, fpo_obj_acc *acc)
{
    const fpo_optimizer_config *c = ob->cfg;
    int ad = bt->pv.act_dim, nmc = ob->flow.n_mc;
    /* The saturation penalty (fpo_optimizer_config.bound_coef): the
     * advantage of a stored action beyond +-bound on some dimension is
     * lowered by bound_coef times its mean squared excess, after
     * normalization. */
    if (c->bound_coef > 0.0f) {
        const float *act = bt->act + i * (size_t)ad;
        float ex = 0.0f;
        for (int d = 0; d < ad; d++) {
            float e = fabsf(act[d]) - c->bound;
            ex += e > 0.0f ? e * e : 0.0f;
        }
        ex /= (float)ad;
        *A -= c->bound_coef * ex;
    }
    double lsum = 0.0;
    for (int k = 0; k < nmc; k++)
        lsum += l[k];
    acc->cfm += lsum / nmc;
    /* The anchor (fpo_optimizer_config.anchor_coef): anchor_coef x the mean
     * CFM loss of the stored pairs, whatever the advantage. Its dLoss/dl_k
     * is the constant returned, so it adds to the objective's factor on
     * dl/dv. */
    float coef = fpo_flow_anchor_coef(ob);
    float ga = coef * mb->inv_n / (float)nmc;
    acc->policy_loss += coef * lsum / nmc;
    return ga;
}

/* FPO's drift statistics of this rank's buffer, before any step: the sum of
 * l_old over all pairs, its largest value, the count of actions at or
 * beyond +-bound, and the pairs above cfm_clamp (as a share of n_mc). "At" matters: the samplers clamp x_0 to +-raw_clip, which
 * is also bound's default (3), so a clamped action sits exactly on the
 * bound, and a strict test counted none of them. */
void fpo_flow_drift(const fpo_objective *ob, const fpo_obj_batch *bt, int B, double *cfm_old,
                    double *lmax, double *n_bound, double *above)
{
    int nmc = ob->flow.n_mc;
    size_t np_ = (size_t)B * (size_t)nmc, na = 0;
    double s = 0.0;
    for (size_t q = 0; q < np_; q++) {
        int sat;
        s += bt->old[q];
        *lmax = fmax(*lmax, (double)bt->old[q]);
        (void)fpo_flow_ratio_l(ob, bt->old[q], &sat);
        na += (size_t)sat;
    }
    *above = (double)na / nmc; /* per transition, like cfm_old */
    int ad = bt->pv.act_dim, nb = 0;
    for (int i = 0; i < B; i++) {
        const float *a = bt->act + (size_t)i * (size_t)ad;
        int out = 0;
        for (int d = 0; d < ad; d++)
            out |= fabsf(a[d]) >= ob->cfg->bound;
        nb += out;
    }
    *cfm_old = s / nmc; /* per transition: the mean over its pairs */
    *n_bound = nb;
}

/* The anchor's coefficient for this update: anchor_coef, scaled by the
 * adaptive anchor's drift factor when anchor_drift is set. */
float fpo_flow_anchor_coef(const fpo_objective *ob)
{
    const fpo_optimizer_config *c = ob->cfg;
    return c->anchor_drift > 1.0f ? c->anchor_coef * ob->anchor.scale : c->anchor_coef;
}

void fpo_flow_anchor_save(const fpo_anchor_state *a, wbuf *w)
{
    put_f32(w, a->scale);
    put_f32(w, a->lowest);
    put_u32(w, a->n);
    for (int i = 0; i < FPO_ANCHOR_WINDOW; i++)
        put_f32(w, a->hist[i]);
}

int fpo_flow_anchor_load(rbuf *r, fpo_anchor_state *a)
{
    fpo_anchor_state x;
    x.scale = get_f32(r);
    x.lowest = get_f32(r);
    x.n = get_u32(r);
    for (int i = 0; i < FPO_ANCHOR_WINDOW; i++)
        x.hist[i] = get_f32(r);
    memset(a, 0, sizeof *a);
    if (r->bad || !(x.scale >= 0.0f && x.scale <= 1.0f) || !(x.lowest >= 0.0f) ||
        !isfinite(x.lowest) || !fpo_all_finite(x.hist, FPO_ANCHOR_WINDOW))
        return -1;
    *a = x;
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void fpo_flow_anchor_observe(fpo_objective *ob, double cfm_old)
{
    float drift = ob->cfg->anchor_drift;
    fpo_anchor_state *a = &ob->anchor;
    if (!(drift > 1.0f) || !isfinite(cfm_old) || !(cfm_old > 0.0))
        return;
    a->hist[a->n % FPO_ANCHOR_WINDOW] = (float)cfm_old;
    a->n++;
    int n = a->n < FPO_ANCHOR_WINDOW ? (int)a->n : FPO_ANCHOR_WINDOW;
    float w[FPO_ANCHOR_WINDOW];
    memcpy(w, a->hist, (size_t)n * sizeof(float));
    qsort(w, (size_t)n, sizeof(float), cmp_float);
    float med = n % 2 ? w[n / 2] : 0.5f * (w[n / 2 - 1] + w[n / 2]);
    if (a->n == 1 || med < a->lowest)
        a->lowest = med;
    float x = (med / a->lowest - 1.0f) / (drift - 1.0f);
    x = x > 0.0f ? x : 0.0f;
    a->scale = x < 1.0f ? x * x : 1.0f;
}
