/* The update loop, the same for every objective (objective.h):
 *  1. observation statistics committed (exchanged over ranks);
 *  2. normalized observations; values and the objective's theta_old
 *     quantities, chunked over threads;
 *  3. bootstrap values and GAE;
 *  4. epochs x minibatches: the objective's loss and the value loss, their
 *     gradient summed over threads and ranks, the divergence guard, the
 *     spike guard, clipping, an Adam step;
 *  5. the end: every rank's outcome and statistics, rollback on divergence.
 * Exchanges over ranks are in exchange.c, the objectives in obj_*.c. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "abi.h"
#include "adam.h"
#include "buffer_impl.h"
#include "fpmode.h"
#include "internal.h"
#include "optimizer_impl.h"
#include "util.h"

/* Largest global gradient norm a step is taken with (see the guard). */
#define FPO_MAX_GRAD_NORM_APPLIED 1e18

/* Rows per sub-batch: the activations of one forward/backward stay in the
 * caches (the loss is separable per transition once the minibatch's
 * advantage statistics are fixed, so sub-batches only change summation
 * order). */
#define FPO_PASS_ROWS 2048

/* The batch the objective reads. */
static void batch_of(const fpo_optimizer *o, fpo_policy *p, const fpo_buffer *b,
                     fpo_obj_batch *bt)
{
    bt->p = p;
    fpo_policy_view_of(p, &bt->pv);
    bt->nobs = o->nobs;
    bt->act = b->act;
    bt->pair_t = b->pair_t;
    bt->pair_eps = b->pair_eps;
    bt->path = b->path;
    bt->adv = o->adv;
    bt->old = o->old;
}

/* ---- the per-thread computation ------------------------------------------- */

enum { PASS_OLD, PASS_TRAIN };

typedef struct pass {
    fpo_optimizer *o;
    const fpo_obj_batch *bt;
    const int *idx; /* transitions of this pass */
    int n;          /* how many */
    int mode;
    fpo_obj_mb mb;  /* training: the minibatch's normalization and 1 / size */
    int zero_grad;  /* training: first pass of a minibatch clears the gradients */
} pass;

/* One thread's share of a pass over transitions idx[0..n): theta_old
 * quantities, or loss gradients accumulated into w->grad. */
static void pass_rows(const pass *ps, fpo_opt_work *w, const int *idx, int n)
{
    fpo_optimizer *o = ps->o;
    const fpo_obj_batch *bt = ps->bt;
    const fpo_policy_view *pv = &bt->pv;
    const fpo_objective *ob = &o->obj;
    int od = o->obs_dim, rows = n * ob->rows;
    const float *theta = pv->params;
    const fpo_optimizer_config *c = &o->cfg;

    /* Critic rows: gathered normalized observations. */
    for (int r = 0; r < n; r++)
        memcpy(w->NO + (size_t)r * (size_t)od, o->nobs + (size_t)idx[r] * (size_t)od,
               (size_t)od * sizeof(float));
    /* The actor's input rows: the objective's, or the observations. */
    const float *X = w->NO;
    if (ob->ops->inputs) {
        ob->ops->inputs(ob, bt, idx, n, w->X);
        X = w->X;
    }

    if (ps->mode == PASS_OLD) {
        /* theta_old quantities: values and the objective's. */
        fpo_mlp_forward(pv->critic, theta + pv->critic_off, w->NO, n, w->V, NULL, w->scratch);
        for (int r = 0; r < n; r++)
            o->values[idx[r]] = w->V[r];
        fpo_mlp_forward(pv->actor, theta, X, rows, w->Y, NULL, w->scratch);
        ob->ops->store_old(ob, bt, idx, n, w->Y, w->l);
        return;
    }

    /* ---- policy ---- */
    fpo_mlp_forward(pv->actor, theta, X, rows, w->Y, w->cacheA, w->scratch);
    ob->ops->loss(ob, bt, idx, n, &ps->mb, w->Y, w->l, w->dY, w->grad + pv->std_off, &w->a);
    fpo_mlp_backward(pv->actor, theta, X, rows, w->cacheA, w->dY, w->grad, NULL, w->scratch);

    /* ---- value ---- */
    float inv_n = ps->mb.inv_n;
    fpo_mlp_forward(pv->critic, theta + pv->critic_off, w->NO, n, w->V, w->cacheC, w->scratch);
    for (int r = 0; r < n; r++) {
        float e = w->V[r] - o->ret[idx[r]];
        w->a.value_loss += 0.5 * (double)e * e;
        w->dV[r] = c->value_coef * e * inv_n;
    }
    fpo_mlp_backward(pv->critic, theta + pv->critic_off, w->NO, n, w->cacheC, w->dV,
                     w->grad + pv->critic_off, NULL, w->scratch);
}

static void run_pass(void *ctx, int task, int n_tasks)
{
    pass *ps = ctx;
    fpo_optimizer *o = ps->o;
    fpo_opt_work *w = &o->w[task];
    int per = (ps->n + n_tasks - 1) / n_tasks;
    int begin = task * per, end = begin + per > ps->n ? ps->n : begin + per;
    if (ps->mode == PASS_TRAIN && ps->zero_grad)
        memset(w->grad, 0, o->n_params * sizeof(float));
    int sub = FPO_PASS_ROWS / o->obj.rows;
    if (sub < 1)
        sub = 1;
    for (int s0 = begin; s0 < end; s0 += sub)
        pass_rows(ps, w, ps->idx + s0, end - s0 < sub ? end - s0 : sub);
}

/* ---- the per-parameter work of a step ------------------------------------
 * Summing the threads' gradients, the sums of g^2 and of Adam's v, and the
 * Adam step itself are O(n_params) each and ran on one thread: at many
 * threads they were the largest serial part of a step (docs/benchmarks.md).
 * They are shared out here in blocks of FPO_SLICE parameters. The sum and
 * the Adam step are elementwise, so every split gives the same bits; the
 * sums of squares are taken per block and the blocks added in order, so
 * they do not depend on the thread count either. */
enum { SL_REDUCE, SL_SUMS, SL_ADAM };

typedef struct slices {
    fpo_optimizer *o;
    int op;
    int sums;               /* SL_REDUCE: also SL_SUMS, on the summed blocks */
    size_t off;             /* SL_ADAM: the first parameter stepped */
    size_t critic_off;      /* SL_SUMS: the critic's first parameter */
    float *params;          /* SL_ADAM */
    const fpo_adam_cfg *ac; /* SL_ADAM */
} slices;

/* sum g^2 and sum v over n floats: eight independent chains, added in a
 * fixed tree. */
static void block_sums(const float *g, const float *v, size_t n, double out[2])
{
    double s[8] = {0}, t[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            s[k] += (double)g[i + k] * (double)g[i + k];
            t[k] += (double)v[i + k];
        }
    for (; i < n; i++) {
        s[0] += (double)g[i] * (double)g[i];
        t[0] += (double)v[i];
    }
    out[0] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    out[1] = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

static void run_slices(void *ctx, int task, int n_tasks)
{
    const slices *sl = ctx;
    fpo_optimizer *o = sl->o;
    size_t np = o->n_params, nb = (np + FPO_SLICE - 1) / FPO_SLICE;
    size_t per = (nb + (size_t)n_tasks - 1) / (size_t)n_tasks;
    size_t b0 = (size_t)task * per, b1 = b0 + per < nb ? b0 + per : nb;
    if (b0 >= b1)
        return;
    size_t s = b0 * FPO_SLICE, e = b1 * FPO_SLICE < np ? b1 * FPO_SLICE : np;
    switch (sl->op) {
    case SL_REDUCE:
        memcpy(o->grad + s, o->w[0].grad + s, (e - s) * sizeof(float));
        for (int t = 1; t < o->threads; t++) {
            const float *g = o->w[t].grad;
            for (size_t q = s; q < e; q++)
                o->grad[q] += g[q];
        }
        if (!sl->sums) /* else the sums too, while the blocks are in cache */
            break;
        /* fall through */
    case SL_SUMS:
        for (size_t b = b0; b < b1; b++) {
            size_t bs = b * FPO_SLICE, be = bs + FPO_SLICE < np ? bs + FPO_SLICE : np;
            double *out = o->part + 4 * b;
            block_sums(o->grad + bs, o->v + bs, be - bs, out);
            /* the actor's and the critic's shares of sum g^2: the block is
             * one network's, or (where the critic starts) summed in two
             * parts, so that neither share is a difference */
            size_t co = sl->critic_off;
            if (co <= bs) {
                out[2] = 0.0;
                out[3] = out[0];
            } else if (co >= be) {
                out[2] = out[0];
                out[3] = 0.0;
            } else {
                double head[2], tail[2];
                block_sums(o->grad + bs, o->v + bs, co - bs, head);
                block_sums(o->grad + co, o->v + co, be - co, tail);
                out[2] = head[0];
                out[3] = tail[0];
            }
        }
        break;
    case SL_ADAM:
        if (s < sl->off)
            s = sl->off;
        if (s < e)
            fpo_adam_step(sl->params + s, o->grad + s, o->m + s, o->v + s, e - s, sl->ac,
                          o->step);
        break;
    }
}

/* The gradient's norm, sum v (Adam's second moment before this step) and
 * the actor's and the critic's shares of sum g^2 (the critic's parameters
 * start at critic_off); the blocks' sums are taken here unless the
 * reduction took them (done). */
static double grad_sums(fpo_optimizer *o, int done, size_t critic_off, double *sum_v,
                        double *g2_actor, double *g2_critic)
{
    slices sl = {.o = o, .op = SL_SUMS, .critic_off = critic_off};
    if (!done)
        fpo_pool_run(o->pool, run_slices, &sl, o->threads);
    size_t nb = (o->n_params + FPO_SLICE - 1) / FPO_SLICE;
    double g2 = 0.0, v = 0.0, ga = 0.0, gc = 0.0;
    for (size_t b = 0; b < nb; b++) {
        const double *q = o->part + 4 * b;
        g2 += q[0];
        v += q[1];
        ga += q[2];
        gc += q[3];
    }
    *sum_v = v;
    *g2_actor = ga;
    *g2_critic = gc;
    return sqrt(g2);
}

/* Whether the reduction can take the norm's sums too: not when the
 * gradient is still to be summed over ranks, or cut to the critic's. */
static int sums_too(const fpo_optimizer *o)
{
    return !fpo_coll_on(&o->coll) && !o->critic_only;
}

static void acc_reset(fpo_obj_acc *a)
{
    memset(a, 0, sizeof *a);
    a->ratio_min = DBL_MAX;
    a->ratio_max = -DBL_MAX;
}

/* Gradient (into o->grad) and statistics of this rank's rows idx[0..n) of a
 * minibatch of n_all rows over all ranks, at the current parameters, with
 * advantages normalized by (adv_mean, adv_scale). The threads' parts are
 * reduced in a fixed order so results depend only on the thread count. Rows
 * beyond chunk * threads (possible with other ranks) run in further passes
 * that add to the same gradients. */
static void minibatch(fpo_optimizer *o, const fpo_obj_batch *bt, const int *idx, int n,
                      int n_all, float adv_mean, float adv_scale, fpo_obj_acc *out)
{
    pass ps = {o, bt, idx, n, PASS_TRAIN, {adv_mean, adv_scale, 1.0f / (float)n_all}, 1};
    for (int t = 0; t < o->threads; t++)
        acc_reset(&o->w[t].a);
    int cap = o->chunk * o->threads;
    int done = 0;
    do {
        ps.idx = idx + done;
        ps.n = n - done < cap ? n - done : cap;
        fpo_pool_run(o->pool, run_pass, &ps, o->threads);
        ps.zero_grad = 0;
        done += ps.n;
    } while (done < n);
    slices sl = {.o = o, .op = SL_REDUCE, .sums = sums_too(o), .critic_off = bt->pv.critic_off};
    fpo_pool_run(o->pool, run_slices, &sl, o->threads);
    acc_reset(out);
    for (int t = 0; t < o->threads; t++) {
        const fpo_obj_acc *a = &o->w[t].a;
        out->policy_loss += a->policy_loss;
        out->value_loss += a->value_loss;
        out->entropy += a->entropy;
        out->cfm += a->cfm;
        out->ratio_sum += a->ratio_sum;
        out->ratio_max = fmax(out->ratio_max, a->ratio_max);
        out->ratio_min = fmin(out->ratio_min, a->ratio_min);
        out->clipped += a->clipped;
        out->kl += a->kl;
        out->n_ratio += a->n_ratio;
    }
}

/* Advantage normalization of a minibatch from the sums of A and A^2 over
 * its n rows. */
static void adv_norm(const fpo_optimizer_config *c, double sum, double sum2, int n, float *mean,
                     float *scale)
{
    double m = sum / n;
    double sd = sqrt(fmax(0.0, sum2 / n - m * m));
    *mean = c->normalize_advantages ? (float)m : 0.0f;
    *scale = c->normalize_advantages ? (float)(1.0 / (sd + 1e-8)) : 1.0f;
}

/* The minimized loss of a minibatch whose sums are in a. */
static double minibatch_loss(const fpo_optimizer_config *c, const fpo_obj_acc *a, int n)
{
    return (a->policy_loss + c->value_coef * a->value_loss - c->entropy_coef * a->entropy) / n;
}

int fpo_optimizer_loss_grad(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b, const int *idx, int n,
                            double *loss, float *grad, double ratio_stats[3])
{
    if (!o || !p || !b || !idx || n < 1 || n > o->B / o->cfg.minibatches + 1)
        return FPO_EINVAL;
    double sum = 0.0, sum2 = 0.0;
    for (int i = 0; i < n; i++) {
        sum += o->adv[idx[i]];
        sum2 += (double)o->adv[idx[i]] * o->adv[idx[i]];
    }
    float am, as;
    adv_norm(&o->cfg, sum, sum2, n, &am, &as);
    fpo_obj_batch bt;
    batch_of(o, p, b, &bt);
    fpo_obj_acc a;
    minibatch(o, &bt, idx, n, n, am, as, &a);
    if (loss)
        *loss = minibatch_loss(&o->cfg, &a, n);
    if (grad)
        memcpy(grad, o->grad, o->n_params * sizeof(float));
    if (ratio_stats) {
        ratio_stats[0] = a.ratio_sum / a.n_ratio;
        ratio_stats[1] = a.ratio_min;
        ratio_stats[2] = a.ratio_max;
    }
    return FPO_OK;
}

const float *fpo_optimizer_advantages(const fpo_optimizer *o)
{
    return o ? o->adv : NULL;
}

/* ---- the phases before the epochs ----------------------------------------- */

static void shuffle(fpo_rng *rng, int *perm, int n)
{
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)fpo_rng_below(rng, (uint32_t)i + 1u);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Values of n normalized observations (chunk rows at most) into out. */
static void critic_rows(fpo_optimizer *o, const fpo_policy_view *pv, int m, float *out)
{
    fpo_opt_work *w = &o->w[0];
    fpo_mlp_forward(pv->critic, pv->params + pv->critic_off, w->NO, m, out, NULL, w->scratch);
}

/* Values of arbitrary observations (final obs, last obs), in chunks. */
static int values_of(fpo_optimizer *o, fpo_policy *p, const float *obs, int n, float *out)
{
    fpo_opt_work *w = &o->w[0];
    const fpo_obsstats *st = fpo_policy_obsstats(p);
    fpo_policy_view pv;
    fpo_policy_view_of(p, &pv);
    int od = o->obs_dim;
    for (int s = 0; s < n; s += o->chunk) {
        int m = n - s < o->chunk ? n - s : o->chunk;
        if (fpo_obsstats_normalize(st, obs + (size_t)s * (size_t)od, m, w->NO, od))
            return FPO_ENONFINITE;
        critic_rows(o, &pv, m, out + s);
    }
    return FPO_OK;
}

/* Step 1: the observation statistics gathered from this rank's buffer,
 * merged over ranks (exchange.c) and committed: frozen from here on. */
static int obs_stats_phase(fpo_optimizer *o, fpo_policy *p, const fpo_buffer *b)
{
    fpo_obsstats *s = fpo_policy_obsstats(p);
    size_t total = (size_t)o->B * (size_t)o->obs_dim;
    size_t bad = fpo_obsstats_accumulate(s, b->obs, o->B);
    int rc = FPO_OK;
    if (bad < total)
        rc = fpo_fail(&o->err, FPO_ENONFINITE,
                      "observation statistics: observation %zu, component %zu is not finite",
                      bad / (size_t)o->obs_dim, bad % (size_t)o->obs_dim);
    if ((rc = fpo_xchg_obs_stats(o, s, rc)))
        return rc;
    fpo_obsstats_commit(s);
    return FPO_OK;
}

/* Steps 2-4 on this rank's buffer (no collective call): normalized
 * observations, the theta_old pass, bootstrap values, GAE, and the sums
 * behind the reported advantage and value statistics
 * (sum A, sum A^2, sum R, sum R^2, sum (R - V), sum (R - V)^2). */
static int local_phase(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b, const fpo_obj_batch *bt,
                       double sums[6])
{
    int rc;
    int B = o->B, N = o->num_envs, od = o->obs_dim;
    const fpo_obsstats *st = fpo_policy_obsstats(p);
    if (fpo_obsstats_normalize(st, b->obs, B, o->nobs, od))
        return fpo_fail(&o->err, FPO_ENONFINITE, "non-finite observation in the buffer");

    /* 2. theta_old pass: values and the objective's quantities, chunked
     * like training. */
    for (int i = 0; i < B; i++)
        o->perm[i] = i;
    int step = o->chunk * o->threads;
    for (int s = 0; s < B; s += step) {
        pass ps = {o, bt, o->perm + s, B - s < step ? B - s : step, PASS_OLD, {0, 1, 0}, 0};
        fpo_pool_run(o->pool, run_pass, &ps, o->threads);
    }
    /* 3. bootstrap values: final observations where episodes ended, and the
     * observation after the last step. */
    /* Gather the ended transitions (perm is free until the epochs shuffle
     * it) and evaluate their final observations a chunk at a time. */
    int n_end = 0;
    for (int i = 0; i < B; i++)
        if (b->flags[i] & FPO_STEP_ENDED_)
            o->perm[n_end++] = i;
    fpo_opt_work *w0 = &o->w[0];
    for (int s = 0; s < n_end; s += o->chunk) {
        int m = n_end - s < o->chunk ? n_end - s : o->chunk;
        for (int r = 0; r < m; r++)
            if (fpo_obsstats_normalize(st, b->final_obs + (size_t)o->perm[s + r] * (size_t)od, 1,
                                       w0->NO + (size_t)r * (size_t)od, od))
                return fpo_fail(&o->err, FPO_ENONFINITE, "non-finite final observation");
        critic_rows(o, &bt->pv, m, w0->V);
        for (int r = 0; r < m; r++)
            o->fvalues[o->perm[s + r]] = w0->V[r];
    }
    if ((rc = values_of(o, p, b->last_obs, N, o->lastv)))
        return fpo_fail(&o->err, rc, "non-finite last observation");
    /* 4. GAE. */
    /* With action chunks a transition spans several environment steps and
     * is discounted by gamma^(steps taken) (fpo_gae itself without). */
    rc = fpo_gae_chunks(o->adv, o->ret, b->rew, b->flags, o->values, o->fvalues, o->lastv,
                        o->horizon, N, o->cfg.gamma, o->cfg.gae_lambda, o->cfg.reward_scale,
                        o->act_chunk, b->ksteps);
    if (rc)
        return fpo_fail(&o->err, rc, "GAE failed");
    double am = 0, a2 = 0, rm = 0, r2 = 0, e2m = 0, e22 = 0;
    for (int i = 0; i < B; i++) {
        am += o->adv[i];
        a2 += (double)o->adv[i] * o->adv[i];
        rm += o->ret[i];
        r2 += (double)o->ret[i] * o->ret[i];
        double e = (double)o->ret[i] - o->values[i];
        e2m += e;
        e22 += e * e;
    }
    sums[0] = am;
    sums[1] = a2;
    sums[2] = rm;
    sums[3] = r2;
    sums[4] = e2m;
    sums[5] = e22;
    return FPO_OK;
}

/* The reported statistics from the sums of local_phase over all G transitions. */
static void prepare_stats(const double sums[6], int G, fpo_update_stats *st)
{
    double am = sums[0] / G, rm = sums[2] / G, e2m = sums[4] / G;
    double var_r = sums[3] / G - rm * rm, var_e = sums[5] / G - e2m * e2m;
    st->adv_mean = am;
    st->adv_std = sqrt(fmax(0.0, sums[1] / G - am * am));
    st->explained_variance = var_r > 1e-12 ? 1.0 - var_e / var_r : 0.0;
}

/* This rank's rows of the global transitions perm[0..n): global index
 * g = step * global_envs + global env; the rank owns global envs
 * [env_offset, env_offset + num_envs), stored at step * num_envs + local env.
 * Returns the rows in perm order (perm itself without other ranks). */
static const int *local_rows(fpo_optimizer *o, const int *perm, int n, int *n_local)
{
    int Ng = o->lay.global_envs, N = o->num_envs, off = o->lay.env_offset;
    if (Ng == N) {
        *n_local = n;
        return perm;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        int g = perm[i], e = g % Ng - off;
        if (e >= 0 && e < N)
            o->mbidx[k++] = (g / Ng) * N + e;
    }
    *n_local = k;
    return o->mbidx;
}

/* Minibatch [mb] of an epoch: rows [G mb / mbs, G (mb + 1) / mbs) of the
 * permutation. */
static int mb_begin(int G, int mb, int mbs) { return (int)((int64_t)G * mb / mbs); }

int fpo_optimizer_prepare(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b, fpo_update_stats *st)
{
    int rc = obs_stats_phase(o, p, b);
    if (rc)
        return rc;
    fpo_obj_batch bt;
    batch_of(o, p, b, &bt);
    size_t P = fpo_xchg_sums_offset(o);
    double *x = o->xb;
    memset(x, 0, (P + 6) * sizeof(double));
    int lrc = local_phase(o, p, b, &bt, x + P);
    if ((lrc = fpo_xchg_sums(o, x, 6, lrc, "update statistics")))
        return lrc;
    prepare_stats(x + P, o->G, st);
    return FPO_OK;
}

/* ---- the update ------------------------------------------------------------ */

/* What every rank must hold identically after an update. */
static uint32_t state_fingerprint(const fpo_optimizer *o, const fpo_policy *p)
{
    uint32_t h = fpo_optimizer_config_fingerprint(&o->cfg, FPO_FINGERPRINT_INIT);
    h = fpo_fingerprint(h, &o->step, sizeof o->step);
    return fpo_policy_fingerprint(p, h);
}

/* Save what an update changes: parameters, Adam state, statistics. */
static void back_up(fpo_optimizer *o, fpo_policy *p)
{
    size_t np = o->n_params;
    memcpy(o->bak_params, fpo_policy_params(p), np * sizeof(float));
    memcpy(o->bak_m, o->m, np * sizeof(float));
    memcpy(o->bak_v, o->v, np * sizeof(float));
    fpo_obsstats_save(fpo_policy_obsstats(p), &o->bak_stats);
}

/* Undo an update: parameters, Adam state, step count, statistics. */
static void roll_back(fpo_optimizer *o, fpo_policy *p, int64_t step)
{
    size_t np = o->n_params;
    memcpy(fpo_policy_params(p), o->bak_params, np * sizeof(float));
    memcpy(o->m, o->bak_m, np * sizeof(float));
    memcpy(o->v, o->bak_v, np * sizeof(float));
    o->step = step;
    fpo_obsstats_restore(fpo_policy_obsstats(p), &o->bak_stats);
}

/* Spike guard: Adam's second moment holds the running mean of g^2, so
 * sqrt(sum v / (1 - beta2^step)) is the running RMS of the gradient norm; a
 * step above spike_clip times it is scaled down to that, so that one
 * outlier minibatch cannot inflate v and freeze the parameters for
 * hundreds of updates (docs/stability.md). Every rank holds the same v;
 * sv is its sum (grad_sums).
 * Returns the norm after it, and counts a scaled step. */
static double spike_guard(fpo_optimizer *o, double gn, double sv, fpo_update_stats *st)
{
    const fpo_optimizer_config *c = &o->cfg;
    size_t np = o->n_params;
    if (c->spike_clip > 0.0f && o->step > 0) {
        double bc2 = 1.0 - pow((double)c->adam_beta2, (double)o->step);
        double ref = c->spike_clip * sqrt(sv / bc2);
        if (gn > ref && ref > 0.0) {
            fpo_scale(o->grad, np, (float)(ref / gn));
            gn = ref;
            st->spike_steps++;
        }
    }
    return gn;
}

/* The advantage sums of every minibatch of every epoch into mbsum, from a
 * copy of the shuffling stream (the epochs replay it), so that all ranks
 * normalize with the statistics of the whole minibatch in one exchange.
 * Advantages do not change during the update. */
static void minibatch_sums(fpo_optimizer *o, int epochs, int mbs, double *mbsum)
{
    int G = o->G;
    fpo_rng r = o->rng;
    for (int ep = 0; ep < epochs; ep++) {
        shuffle(&r, o->perm, G);
        for (int mb = 0; mb < mbs; mb++) {
            int s = mb_begin(G, mb, mbs), e = mb_begin(G, mb + 1, mbs), nl;
            const int *idx = local_rows(o, o->perm + s, e - s, &nl);
            double sum = 0.0, sum2 = 0.0;
            for (int i = 0; i < nl; i++) {
                sum += o->adv[idx[i]];
                sum2 += (double)o->adv[idx[i]] * o->adv[idx[i]];
            }
            mbsum[2 * ((size_t)ep * (size_t)mbs + (size_t)mb)] = sum;
            mbsum[2 * ((size_t)ep * (size_t)mbs + (size_t)mb) + 1] = sum2;
        }
    }
}

static int check_update_args(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b,
                             fpo_update_stats *stats)
{
    if (!p || !b)
        return fpo_fail(&o->err, FPO_EINVAL, "policy or buffer is NULL");
    /* The parameter count alone is not enough: two networks of different
     * shapes (time embedding, widths) can have the same count, and the
     * workspaces were sized for this optimizer's shapes. */
    fpo_policy_view pv;
    fpo_policy_view_of(p, &pv);
    if (pv.n_params != o->n_params ||
        !fpo_policy_fits(p, o->kind, &o->actor_shape, &o->critic_shape))
        return fpo_fail(&o->err, FPO_EMISMATCH, "the policy does not fit this optimizer");
    if (b->cfg.num_envs != o->num_envs || b->cfg.horizon != o->horizon ||
        b->cfg.obs_dim != o->obs_dim || b->cfg.act_dim != o->act_dim ||
        (o->obj.flow.n_mc && b->cfg.n_mc != o->obj.flow.n_mc) ||
        (o->obj.dppo_steps && b->cfg.path_steps != o->obj.dppo_steps))
        return fpo_fail(&o->err, FPO_EMISMATCH, "the buffer does not fit this optimizer");
    if (o->obj.dppo_steps && b->path_filled != b->steps)
        return fpo_fail(&o->err, FPO_ESTATE,
                        "DPPO: the buffer holds the denoising chains of %d of its %d steps "
                        "(fpo_buffer_add_path after every fpo_buffer_add)",
                        b->path_filled, b->steps);
    if (b->steps != b->cfg.horizon)
        return fpo_fail(&o->err, FPO_ESTATE, "the buffer holds %d of %d steps", b->steps,
                        b->cfg.horizon);
    if (!b->has_last)
        return fpo_fail(&o->err, FPO_ESTATE, "fpo_buffer_set_last_obs was not called");
    /* Checked before anything changes: a failed call must not have updated p. */
    if (stats) {
        size_t ss;
        memcpy(&ss, stats, sizeof ss);
        if (ss < sizeof(size_t))
            return fpo_fail(&o->err, FPO_EINVAL, "stats->struct_size is not set");
    }
    return FPO_OK;
}

static int update(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b, fpo_update_stats *stats)
{
    int rc = check_update_args(o, p, b, stats);
    if (rc)
        return rc;

    fpo_update_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    size_t np = o->n_params;
    back_up(o, p);
    int64_t bak_step = o->step;
    fpo_obsstats *obs = fpo_policy_obsstats(p);

    const fpo_optimizer_config *c = &o->cfg;
    int G = o->G, mbs = c->minibatches, epochs = c->epochs;

    /* Step 1 (collective, agreed), steps 2-4 (local). */
    if ((rc = obs_stats_phase(o, p, b))) {
        fpo_obsstats_restore(obs, &o->bak_stats);
        return rc;
    }
    fpo_obj_batch bt;
    batch_of(o, p, b, &bt);
    size_t P = fpo_xchg_sums_offset(o);
    double *x = o->xb;
    double *mbsum = x + P + 6; /* per (epoch, minibatch): sum A, sum A^2 */
    size_t n_sums = 6 + 2 * (size_t)epochs * (size_t)mbs;
    memset(x, 0, (P + n_sums) * sizeof(double));
    int lrc = local_phase(o, p, b, &bt, x + P);
    if (!lrc)
        minibatch_sums(o, epochs, mbs, mbsum);
    if ((lrc = fpo_xchg_sums(o, x, n_sums, lrc, "advantage statistics"))) {
        fpo_obsstats_restore(obs, &o->bak_stats);
        return lrc;
    }
    prepare_stats(x + P, G, &st);

    fpo_adam_cfg ac = {c->lr * o->lr_scale, c->adam_beta1, c->adam_beta2, c->adam_eps, c->weight_decay};
    /* Sums of this rank's rows over the steps taken; reduced at the end. */
    double tot[T_COUNT] = {0};
    double ratio_max = -DBL_MAX, ratio_min = DBL_MAX;
    double gn_sum = 0.0, gna_sum = 0.0, gnc_sum = 0.0, last_cfm_n = 0.0, cfm_max = 0.0;
    if (o->obj.ops->drift) {
        o->obj.ops->drift(&o->obj, &bt, o->B, &tot[T_CFM_OLD], &cfm_max, &tot[T_BOUND],
                          &tot[T_ABOVE]);
        tot[T_ROWS] = o->B;
    }
    for (int ep = 0; ep < epochs; ep++) {
        shuffle(&o->rng, o->perm, G);
        for (int mb = 0; mb < mbs; mb++) {
            int s = mb_begin(G, mb, mbs), e = mb_begin(G, mb + 1, mbs);
            int n = e - s, nl;
            const int *idx = local_rows(o, o->perm + s, n, &nl);
            const double *ms = mbsum + 2 * ((size_t)ep * (size_t)mbs + (size_t)mb);
            float am, as;
            adv_norm(c, ms[0], ms[1], n, &am, &as);
            fpo_obj_acc mbacc;
            minibatch(o, &bt, idx, nl, n, am, as, &mbacc);
            /* The gradient of the whole minibatch: this rank's rows were
             * scaled by 1 / n, so the sum over ranks is the mean over all.
             * A non-finite loss on any rank travels with it as a flag, so
             * every rank takes the same decisions below. */
            o->grad[np] = isfinite(minibatch_loss(c, &mbacc, n)) ? 0.0f : 1.0f;
            if ((rc = fpo_xchg_gradient(o))) {
                roll_back(o, p, bak_step);
                return rc;
            }
            /* Critic warm-up: the actor's (and std's) gradient is dropped
             * and only the critic's parameters take the step. */
            size_t off = o->critic_only ? bt.pv.critic_off : 0;
            if (off)
                memset(o->grad, 0, off * sizeof(float));
            double sv, g2a, g2c;
            double gn = grad_sums(o, sums_too(o), bt.pv.critic_off, &sv, &g2a, &g2c);
            /* Divergence guard: never apply a NaN step, nor one whose square
             * overflows float32 in Adam's second moment: v would become Inf
             * and freeze those parameters for the rest of training (and no
             * checkpoint could hold it). Clipping cannot help once g^2
             * overflows, since Adam squares before anything else. */
            if (!isfinite(gn) || o->grad[np] != 0.0f || gn > FPO_MAX_GRAD_NORM_APPLIED) {
                st.skipped_steps++;
                continue;
            }
            /* the two networks' norms before the spike guard: which one
             * a spike came from */
            gna_sum += sqrt(g2a);
            gnc_sum += sqrt(g2c);
            gn = spike_guard(o, gn, sv, &st);
            if (c->max_grad_norm > 0.0f && gn > c->max_grad_norm)
                fpo_scale(o->grad, np, (float)(c->max_grad_norm / gn));
            o->step++;
            slices sl = {.o = o, .op = SL_ADAM, .off = off, .params = bt.pv.params, .ac = &ac};
            fpo_pool_run(o->pool, run_slices, &sl, o->threads);
            st.steps++;
            gn_sum += gn;
            tot[T_POLICY] += mbacc.policy_loss / n;
            tot[T_VALUE] += mbacc.value_loss / n;
            tot[T_ENTROPY] += mbacc.entropy / n;
            tot[T_RATIO] += mbacc.ratio_sum;
            tot[T_NRATIO] += mbacc.n_ratio;
            ratio_max = fmax(ratio_max, mbacc.ratio_max);
            ratio_min = fmin(ratio_min, mbacc.ratio_min);
            tot[T_CLIPPED] += mbacc.clipped;
            tot[T_KL] += mbacc.kl;
            if (ep == epochs - 1) {
                tot[T_CFM] += mbacc.cfm;
                last_cfm_n += n;
            }
        }
    }
    int diverged = !fpo_all_finite(bt.pv.params, np), same;
    if ((rc = fpo_xchg_end(o, fpo_coll_on(&o->coll) ? state_fingerprint(o, p) : 0, diverged,
                           &ratio_max, &ratio_min, &cfm_max, tot, &diverged, &same))) {
        roll_back(o, p, bak_step);
        return rc;
    }
    if (!same) {
        roll_back(o, p, bak_step);
        return fpo_fail(&o->err, FPO_EMISMATCH,
                        "after the update the ranks hold different parameters (is the "
                        "collective's sum bit-identical on all ranks? were tunables set "
                        "the same on all?)");
    }
    if (diverged) {
        roll_back(o, p, bak_step);
        return fpo_fail(&o->err, FPO_EDIVERGED,
                        "the update produced non-finite parameters; the policy was restored");
    }
    if (st.steps > 0) {
        double ns = (double)st.steps;
        st.policy_loss = tot[T_POLICY] / ns;
        st.value_loss = tot[T_VALUE] / ns;
        st.entropy = tot[T_ENTROPY] / ns;
        st.grad_norm = gn_sum / ns;
        st.actor_grad_norm = gna_sum / ns;
        st.critic_grad_norm = gnc_sum / ns;
    }
    if (tot[T_NRATIO] > 0) {
        st.ratio_mean = tot[T_RATIO] / tot[T_NRATIO];
        st.ratio_max = ratio_max;
        st.ratio_min = ratio_min;
        st.clip_fraction = tot[T_CLIPPED] / tot[T_NRATIO];
        st.approx_kl = tot[T_KL] / tot[T_NRATIO];
    }
    st.cfm_loss = last_cfm_n > 0 ? tot[T_CFM] / last_cfm_n : 0.0;
    if (tot[T_ROWS] > 0) {
        st.cfm_loss_old = tot[T_CFM_OLD] / tot[T_ROWS];
        st.bound_fraction = tot[T_BOUND] / tot[T_ROWS];
        st.cfm_loss_max = cfm_max;
        st.cfm_above_clamp = tot[T_ABOVE] / tot[T_ROWS];
    }
    if (o->obj.ops->drift) {
        st.anchor_coef = fpo_flow_anchor_coef(&o->obj);
        if (tot[T_ROWS] > 0)
            fpo_flow_anchor_observe(&o->obj, st.cfm_loss_old);
    }
    if (stats && (rc = fpo_struct_out(&o->err, FPO_S_UPDATE_STATS, stats, &st, sizeof st)))
        return rc;
    if (st.steps == 0 && st.skipped_steps > 0) {
        fpo_obsstats_restore(obs, &o->bak_stats);
        return fpo_fail(&o->err, FPO_EDIVERGED, "every step of the update was non-finite");
    }
    return FPO_OK;
}

/* The update runs with denormals flushed (fpmode.h). */
int fpo_optimizer_update(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b, fpo_update_stats *stats)
{
    if (!o)
        return FPO_NULL_ARG("o");
    fpo_fpmode saved = fpo_fpmode_enter();
    int rc = update(o, p, b, stats);
    fpo_fpmode_leave(saved);
    return rc;
}
