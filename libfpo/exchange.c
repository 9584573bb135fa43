/* Every exchange of the optimizer over ranks (fpo/collective.h), in the
 * order an update makes them. Without a collective each is a no-op that
 * returns the local outcome, so the update loop (update.c) reads the same
 * with and without other ranks. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "optimizer_impl.h"

/* Doubles the collective exchanges of one update need: the observation
 * statistics (a status and 1 + 2 obs_dim per rank), the advantage sums of
 * every minibatch, the end-of-update statistics, the create handshake. */
static size_t xb_need(const fpo_optimizer *o, int epochs, int mbs)
{
    size_t P = (size_t)o->coll.size, od = (size_t)o->obs_dim;
    size_t a = P * (3 + 2 * od);
    size_t b = P + 8 + 2 * (size_t)epochs * (size_t)mbs;
    size_t c = 5 * P + 16; /* the end-of-update gather: 5 per rank, T_COUNT <= 16 sums */
    size_t n = a > b ? a : b;
    n = n > c ? n : c;
    size_t h = fpo_coll_scratch_doubles(&o->coll);
    return n > h ? n : h;
}
_Static_assert(T_COUNT <= 16, "xb_need reserves 16 doubles for the statistics sums");

int fpo_xchg_reserve(fpo_optimizer *o, int epochs, int mbs)
{
    size_t need = xb_need(o, epochs, mbs);
    if (need <= o->xb_cap)
        return FPO_OK;
    double *nb = fpo_mem_calloc(&o->mem, need, sizeof(double));
    if (!nb)
        return FPO_ENOMEM;
    fpo_mem_free(&o->mem, o->xb);
    o->xb = nb;
    o->xb_cap = need;
    return FPO_OK;
}

int fpo_xchg_handshake(fpo_optimizer *o, const fpo_policy *p)
{
    uint32_t fp = fpo_policy_fingerprint(
        p, fpo_optimizer_config_fingerprint(&o->cfg, FPO_FINGERPRINT_INIT));
    return fpo_coll_handshake(&o->coll, NULL, o->xb, o->num_envs, o->horizon, fp, &o->lay);
}

int fpo_xchg_agree_create(fpo_optimizer *o, int local_rc)
{
    return fpo_coll_agree(&o->coll, NULL, o->xb, local_rc, 0, "fpo_optimizer_create");
}

/* Every rank merges all ranks' pending statistics in rank order, so all get
 * the same bits. One collective sum whose size depends only on the rank
 * count and obs_dim; its outcome is agreed, and it also checks that all
 * ranks have the same settings before the exchanges whose sizes and number
 * depend on them. */
int fpo_xchg_obs_stats(fpo_optimizer *o, fpo_obsstats *s, int rc)
{
    if (!fpo_coll_on(&o->coll))
        return rc;
    size_t P = (size_t)o->coll.size, r = (size_t)o->coll.rank;
    size_t stride = fpo_obsstats_block(s);
    double *x = o->xb;
    /* [P failure flags][P settings fingerprints][P pending statistics] */
    memset(x, 0, (2 * P + P * stride) * sizeof(double));
    uint32_t fp = fpo_optimizer_config_fingerprint(&o->cfg, FPO_FINGERPRINT_INIT);
    x[P + r] = (double)fp;
    if (!rc)
        fpo_obsstats_pending_export(s, x + 2 * P + r * stride);
    if ((rc = fpo_coll_sum_outcome(&o->coll, &o->err, x, 2 * P + P * stride, 1, rc,
                                   "observation statistics", "the update")))
        return rc;
    for (size_t q = 0; q < P; q++)
        if (x[P + q] != (double)fp)
            return fpo_fail(&o->err, FPO_EMISMATCH,
                            "rank %zu has other optimizer settings than rank %zu (tunables "
                            "must be set the same on all ranks)",
                            q, r);
    fpo_obsstats_pending_merge(s, x + 2 * P, (int)P, stride);
    return FPO_OK;
}

int fpo_xchg_sums(fpo_optimizer *o, double *buf, size_t n, int local_rc, const char *what)
{
    return fpo_coll_sum_outcome(&o->coll, &o->err, buf, fpo_xchg_sums_offset(o) + n, 1, local_rc,
                                what, "the update");
}

int fpo_xchg_gradient(fpo_optimizer *o)
{
    return fpo_coll_sum_f32(&o->coll, &o->err, o->grad, o->n_params + 1, "gradient");
}

int fpo_xchg_end(fpo_optimizer *o, uint32_t fp, int diverged, double *ratio_max,
                 double *ratio_min, double *cfm_max, double tot[T_COUNT], int *any_diverged,
                 int *same)
{
    *any_diverged = diverged;
    *same = 1;
    if (!fpo_coll_on(&o->coll))
        return FPO_OK;
    size_t P = (size_t)o->coll.size;
    double *x = o->xb;
    /* Per rank: diverged, state fingerprint, ratio max, ratio min, the
     * largest l_old (an all-gather); then the statistics sums. */
    memset(x, 0, (5 * P + T_COUNT) * sizeof(double));
    double *slot = x + 5 * (size_t)o->coll.rank;
    slot[0] = diverged;
    slot[1] = (double)fp;
    slot[2] = *ratio_max;
    slot[3] = *ratio_min;
    slot[4] = *cfm_max;
    memcpy(x + 5 * P, tot, T_COUNT * sizeof(double));
    int rc = fpo_coll_sum_f64(&o->coll, &o->err, x, 5 * P + T_COUNT, "update statistics");
    if (rc)
        return rc;
    int any = 0, eq = 1;
    for (size_t q = 0; q < P; q++) {
        const double *sq = x + 5 * q;
        any |= sq[0] != 0.0;
        eq &= sq[1] == (double)fp;
        *ratio_max = fmax(*ratio_max, sq[2]);
        *ratio_min = fmin(*ratio_min, sq[3]);
        *cfm_max = fmax(*cfm_max, sq[4]);
    }
    memcpy(tot, x + 5 * P, T_COUNT * sizeof(double));
    *any_diverged = any;
    *same = eq;
    return FPO_OK;
}
