/* Every exchange over ranks (fpo/collective.h): the optimizer's, in the
 * order an update makes them (declared in optimizer_impl.h), then the
 * trainer's (exchange.h). Without a collective each is a no-op that returns
 * the local outcome, so the update loop (update.c) and the training loop
 * (trainer.c) read the same with and without other ranks. */
#include <math.h>
#include <string.h>

#include "exchange.h"
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

/* ---- the trainer's exchanges (exchange.h) ---------------------------------- */

/* Per rank in the episode exchange: a status, six statistics, the steps. */
#define XCHG_EP_STRIDE 8

size_t fpo_xchg_trainer_doubles(const fpo_coll *c)
{
    size_t n = XCHG_EP_STRIDE * (size_t)c->size + 8;
    size_t h = fpo_coll_scratch_doubles(c);
    return n > h ? n : h;
}

int fpo_xchg_trainer_handshake(const fpo_coll *c, double *xb, int num_envs, int horizon,
                               uint32_t fingerprint, fpo_layout *out)
{
    return fpo_coll_handshake(c, NULL, xb, num_envs, horizon, fingerprint, out);
}

int fpo_xchg_trainer_agree(const fpo_coll *c, double *xb, int local_rc, uint32_t fingerprint)
{
    return fpo_coll_agree(c, NULL, xb, local_rc, local_rc ? 0u : fingerprint,
                          "fpo_trainer_create");
}

int fpo_xchg_episode_stats(const fpo_coll *c, fpo_errbuf *err, double *xb, int rc,
                           fpo_episode_stats *ep, int64_t *env_steps)
{
    if (!fpo_coll_on(c))
        return rc;
    size_t P = (size_t)c->size;
    double *x = xb;
    memset(x, 0, XCHG_EP_STRIDE * P * sizeof(double));
    double *mine = x + XCHG_EP_STRIDE * (size_t)c->rank;
    const fpo_episode_stats *e = ep;
    if (!rc && e->episodes > 0) {
        mine[1] = (double)e->episodes;
        mine[2] = e->mean_return * (double)e->episodes;
        mine[3] = e->mean_length * (double)e->episodes;
        mine[4] = e->min_return;
        mine[5] = e->max_return;
        mine[6] = (double)e->successes;
    }
    mine[7] = (double)*env_steps; /* exact: below 2^53 */
    if ((rc = fpo_coll_sum_outcome(c, err, x, XCHG_EP_STRIDE * P, XCHG_EP_STRIDE, rc,
                                   "episode statistics", "the rollout")))
        return rc;
    double n = 0, sum = 0, len = 0, lo = INFINITY, hi = -INFINITY, succ = 0, steps = 0;
    for (size_t q = 0; q < P; q++) {
        const double *s = x + XCHG_EP_STRIDE * q;
        steps += s[7];
        if (s[1] > 0) {
            n += s[1];
            succ += s[6];
            sum += s[2];
            len += s[3];
            lo = fmin(lo, s[4]);
            hi = fmax(hi, s[5]);
        }
    }
    fpo_episode_stats g;
    memset(&g, 0, sizeof g);
    g.struct_size = sizeof g;
    g.episodes = (int64_t)n;
    g.successes = (int64_t)succ;
    if (n > 0) {
        g.mean_return = sum / n;
        g.mean_length = len / n;
        g.min_return = lo;
        g.max_return = hi;
    }
    *ep = g;
    *env_steps = (int64_t)steps;
    return FPO_OK;
}

int fpo_xchg_stop_request(const fpo_coll *c, fpo_errbuf *err, double *xb, int *stop)
{
    if (!fpo_coll_on(c))
        return FPO_OK;
    xb[0] = *stop ? 1.0 : 0.0;
    int rc = fpo_coll_sum_f64(c, err, xb, 1, "stop request");
    if (rc)
        return rc;
    *stop = xb[0] != 0.0;
    return FPO_OK;
}
