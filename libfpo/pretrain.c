/* Pretraining a policy's actor on recorded (observation, action) rows
 * (fpo/pretrain.h): the flow objectives' CFM loss (obj_flow.c: the same
 * pair draws, inputs and loss forms) or the Gaussian likelihood (obj_ppo.c),
 * minibatch Adam (adam.c) on the actor's part of the parameter vector, the
 * observation statistics through obsstats.h. Single-threaded. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fpo/pretrain.h"
#include "abi.h"
#include "adam.h"
#include "alloc.h"
#include "fpmode.h"
#include "mlp.h"
#include "objective.h"
#include "obsstats.h"
#include "policy_view.h"
#include "rng.h"
#include "util.h"

/* Sizes of the two structs in release 0.2.0, the release that added them:
 * the end of their last members, so the numbers are the same on every
 * architecture and stay right when members are appended. */
#define FPO_PRETRAIN_CONFIG_FIRST_SIZE \
    (offsetof(fpo_pretrain_config, progress_user) + sizeof(void *))
#define FPO_PRETRAIN_STATS_FIRST_SIZE (offsetof(fpo_pretrain_stats, val_loss) + sizeof(double))

/* Actor rows per forward/backward: the activations stay in the caches. */
#define FPO_PRETRAIN_SUB_ROWS 2048
#define FPO_PRETRAIN_MAX_EPOCHS 1000000
#define FPO_PRETRAIN_MAX_MINIBATCH (1 << 20)

/* Random streams of the pretraining seed (fpo_rng_init's stream ids). */
enum { STREAM_SPLIT = 1, STREAM_SHUFFLE = 2, STREAM_PAIRS = 3 };

static void pretrain_defaults(fpo_pretrain_config *c)
{
    memset(c, 0, sizeof *c);
    c->struct_size = sizeof *c;
    c->epochs = 50;
    c->minibatch = 256;
    c->lr = 1e-3f;
    c->weight_decay = 0.0f;
    c->max_grad_norm = 1.0f;
    c->holdout = 0.1f;
    c->seed = 1;
    c->n_mc = 0; /* the flow objectives' default (fpo_flow_config_defaults) */
    fpo_flow_config f;
    fpo_flow_config_defaults(&f);
    c->t_dist = f.t_dist; /* as the trainer's: pretrain with fine-tuning's times */
    c->cfm_loss = FPO_CFM_EPS;
    c->update_obs_stats = 1;
    c->progress = NULL;
    c->progress_user = NULL;
}

int fpo_pretrain_config_init_sized(fpo_pretrain_config *cfg, size_t size)
{
    fpo_pretrain_config d;
    pretrain_defaults(&d);
    return fpo_struct_copy_init("fpo_pretrain_config", FPO_PRETRAIN_CONFIG_FIRST_SIZE, cfg, size, &d, sizeof d);
}

/* The settings, checked; the flow settings through the flow objectives' own
 * defaults and check (obj_flow.c). */
static int check_config(fpo_errbuf *err, const fpo_pretrain_config *c, fpo_flow_config *flow)
{
    if (c->epochs < 1 || c->epochs > FPO_PRETRAIN_MAX_EPOCHS)
        return fpo_fail(err, FPO_ERANGE, "pretrain config: epochs must be in [1, %d], got %d",
                        FPO_PRETRAIN_MAX_EPOCHS, c->epochs);
    if (c->minibatch < 1 || c->minibatch > FPO_PRETRAIN_MAX_MINIBATCH)
        return fpo_fail(err, FPO_ERANGE, "pretrain config: minibatch must be in [1, %d], got %d",
                        FPO_PRETRAIN_MAX_MINIBATCH, c->minibatch);
    if (!(c->lr > 0.0f && c->lr <= 1.0f))
        return fpo_fail(err, FPO_ERANGE, "pretrain config: lr must be in (0, 1], got %g",
                        (double)c->lr);
    if (!(c->weight_decay >= 0.0f && c->weight_decay <= 1.0f))
        return fpo_fail(err, FPO_ERANGE,
                        "pretrain config: weight_decay must be in [0, 1], got %g",
                        (double)c->weight_decay);
    if (!(c->max_grad_norm >= 0.0f) || !isfinite(c->max_grad_norm))
        return fpo_fail(err, FPO_ERANGE,
                        "pretrain config: max_grad_norm must be finite and >= 0, got %g",
                        (double)c->max_grad_norm);
    if (!(c->holdout >= 0.0f && c->holdout <= 0.9f))
        return fpo_fail(err, FPO_ERANGE, "pretrain config: holdout must be in [0, 0.9], got %g",
                        (double)c->holdout);
    if (c->update_obs_stats != 0 && c->update_obs_stats != 1)
        return fpo_fail(err, FPO_ERANGE,
                        "pretrain config: update_obs_stats must be 0 or 1, got %d",
                        c->update_obs_stats);
    fpo_flow_config_defaults(flow);
    if (c->n_mc < 0)
        return fpo_fail(err, FPO_ERANGE, "pretrain config: n_mc must be >= 0 (0: default), got %d",
                        c->n_mc);
    if (c->n_mc > 0)
        flow->n_mc = c->n_mc;
    flow->t_dist = c->t_dist;
    flow->cfm_loss = c->cfm_loss;
    return fpo_flow_config_check(err, flow, 1, "pretrain config");
}

/* Everything one call allocates. */
typedef struct work {
    const fpo_mem *mem;
    int *perm;          /* permutation of the rows: [0, n_val) held out */
    int *order;         /* the training rows' order in an epoch (local indices) */
    float *nobs;        /* normalized observations in permuted order [n x od] */
    float *act;         /* actions in permuted order (flow: clamped) [n x ad] */
    float *m, *v, *grad, *bak; /* Adam's moments, the gradient, the parameters before */
    fpo_obsstats_snap snap;    /* the statistics before */
    /* One sub-batch of R transitions: gathered rows, pairs, network rows. */
    int *idx;
    float *sobs, *sact, *pt, *peps, *X, *Y, *dY, *cache, *scratch, *l;
} work;

static void work_free(work *w)
{
    const fpo_mem *m = w->mem;
    void *ptrs[] = {w->perm, w->order, w->nobs, w->act, w->m, w->v, w->grad, w->bak,
                    w->snap.mean, w->snap.m2, w->idx, w->sobs, w->sact, w->pt, w->peps,
                    w->X, w->Y, w->dY, w->cache, w->scratch, w->l};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        fpo_mem_free(m, ptrs[i]);
}

/* The fitting state. */
typedef struct fit {
    fpo_policy *p;
    fpo_policy_view pv;
    fpo_flow_config flow;
    int flow_kind;    /* 1: CFM; 0: Gaussian likelihood */
    int rows;         /* actor rows per transition: n_mc or 1 */
    int aout;         /* actor outputs per row */
    int sub;          /* transitions per sub-batch */
    size_t n_actor;   /* the actor's share of the parameter vector (with std params) */
    fpo_rng pairs;    /* keyed draws of the (t, eps) pairs */
    work w;
} fit;

/* The loss of transitions rows[0..n) (local indices into w.nobs / w.act),
 * summed over them; with grad_scale != 0 also its gradient times grad_scale
 * added into w.grad. Flow pairs are keyed draws: row r at draw number
 * `draw` (0 for the held-out rows, the same every epoch). */
static double batch_loss(fit *f, const int *rows, int n, uint64_t draw, float grad_scale)
{
    work *w = &f->w;
    const fpo_policy_view *pv = &f->pv;
    int od = pv->obs_dim, ad = pv->act_dim;
    const float *theta = pv->params;
    double total = 0.0;
    for (int s0 = 0; s0 < n; s0 += f->sub) {
        int R = n - s0 < f->sub ? n - s0 : f->sub;
        for (int r = 0; r < R; r++) {
            size_t i = (size_t)rows[s0 + r];
            memcpy(w->sobs + (size_t)r * od, w->nobs + i * od, (size_t)od * sizeof(float));
            memcpy(w->sact + (size_t)r * ad, w->act + i * ad, (size_t)ad * sizeof(float));
        }
        float *cache = grad_scale != 0.0f ? w->cache : NULL;
        if (f->flow_kind) {
            int nmc = f->flow.n_mc;
            f->pairs.ctr = draw;
            for (int r = 0; r < R; r++) {
                fpo_rng g;
                fpo_rng_fork(&g, &f->pairs, (uint64_t)w->perm[rows[s0 + r]]);
                for (int k = 0; k < nmc; k++)
                    w->pt[(size_t)r * nmc + k] = fpo_flow_draw_t(&f->flow, &g);
                fpo_rng_normal(&g, w->peps + (size_t)r * nmc * ad, (size_t)nmc * ad);
            }
            /* The flow objectives' own inputs and losses on this sub-batch. */
            fpo_objective ob;
            memset(&ob, 0, sizeof ob);
            ob.flow = f->flow;
            ob.rows = nmc;
            fpo_obj_batch bt;
            memset(&bt, 0, sizeof bt);
            bt.p = f->p;
            bt.pv = *pv;
            bt.nobs = w->sobs;
            bt.act = w->sact;
            bt.pair_t = w->pt;
            bt.pair_eps = w->peps;
            fpo_flow_inputs(&ob, &bt, w->idx, R, w->X);
            int nr = R * nmc;
            fpo_mlp_forward(pv->actor, theta, w->X, nr, w->Y, cache, w->scratch);
            fpo_flow_cfm_losses(&ob, &bt, w->idx, R, w->Y, w->l, cache ? w->dY : NULL);
            double s = 0.0;
            for (int q = 0; q < nr; q++)
                s += w->l[q];
            total += s / nmc;
            if (cache) {
                fpo_scale(w->dY, (size_t)nr * (size_t)ad, grad_scale / (float)nmc);
                fpo_mlp_backward(pv->actor, theta, w->X, nr, cache, w->dY, w->grad, NULL,
                                 w->scratch);
            }
        } else {
            fpo_mlp_forward(pv->actor, theta, w->sobs, R, w->Y, cache, w->scratch);
            for (int r = 0; r < R; r++) {
                const float *y = w->Y + (size_t)r * f->aout;
                const float *a = w->sact + (size_t)r * ad;
                total -= fpo_gaussian_row_logp(pv, y, a, NULL);
                if (cache)
                    fpo_gaussian_row_grad(pv, y, a, -grad_scale, 0.0f,
                                          w->dY + (size_t)r * f->aout, w->grad + pv->std_off);
            }
            if (cache)
                fpo_mlp_backward(pv->actor, theta, w->sobs, R, cache, w->dY, w->grad, NULL,
                                 w->scratch);
        }
    }
    return total;
}

/* The mean loss of the held-out rows, local indices [0, n_val), with the
 * same pairs every time (draw 0; the training draws are 1, 2, ...). */
static double val_loss(fit *f, int n_val)
{
    int chunk[256];
    double s = 0.0;
    for (int j0 = 0; j0 < n_val; j0 += 256) {
        int k = n_val - j0 < 256 ? n_val - j0 : 256;
        for (int q = 0; q < k; q++)
            chunk[q] = j0 + q;
        s += batch_loss(f, chunk, k, 0, 0.0f);
    }
    return s / (double)n_val;
}

static void restore(fit *f)
{
    memcpy(f->pv.params, f->w.bak, f->n_actor * sizeof(float));
    fpo_obsstats_restore(fpo_policy_obsstats(f->p), &f->w.snap);
}

static int pretrain(fpo_policy *p, const fpo_pretrain_config *cfg, const float *obs,
                    const float *act, int64_t n, fpo_pretrain_stats *out)
{
    fpo_errbuf *err = fpo_policy_err(p);
    fpo_pretrain_config c;
    pretrain_defaults(&c);
    int rc;
    if (cfg && (rc = fpo_struct_copy_in(err, "fpo_pretrain_config",
                                        FPO_PRETRAIN_CONFIG_FIRST_SIZE, &c, sizeof c, cfg)))
        return rc;
    fit f;
    memset(&f, 0, sizeof f);
    if ((rc = check_config(err, &c, &f.flow)))
        return rc;
    if (out) {
        size_t osz;
        memcpy(&osz, out, sizeof osz);
        if (osz < FPO_PRETRAIN_STATS_FIRST_SIZE)
            return fpo_fail(err, FPO_EINVAL,
                            "fpo_pretrain_stats.struct_size is %zu, below the smallest "
                            "fpo_pretrain_stats of any release (%zu): set struct_size = "
                            "sizeof(fpo_pretrain_stats) before the call",
                            osz, (size_t)FPO_PRETRAIN_STATS_FIRST_SIZE);
    }
    if (!obs || !act)
        return fpo_fail(err, FPO_EINVAL, "fpo_policy_pretrain: %s is NULL", !obs ? "obs" : "act");
    if (n < 2 || n > INT32_MAX)
        return fpo_fail(err, FPO_ERANGE,
                        "fpo_policy_pretrain: n must be in [2, %d] rows, got %lld", INT32_MAX,
                        (long long)n);
    int64_t n_val = 0;
    if (c.holdout > 0.0f) {
        n_val = (int64_t)llround((double)c.holdout * (double)n);
        if (n_val < 1)
            n_val = 1;
    }
    int64_t n_train = n - n_val;
    if (n_train < 1)
        return fpo_fail(err, FPO_ERANGE,
                        "fpo_policy_pretrain: %lld rows leave none to train on after the "
                        "holdout of %g", (long long)n, (double)c.holdout);
    fpo_policy_view_of(p, &f.pv);
    f.p = p;
    const fpo_policy_view *pv = &f.pv;
    int od = pv->obs_dim, ad = pv->act_dim;
    size_t bad = fpo_first_nonfinite(obs, (size_t)n * (size_t)od);
    if (bad < (size_t)n * (size_t)od)
        return fpo_fail(err, FPO_ENONFINITE,
                        "fpo_policy_pretrain: obs row %zu, column %zu is not finite (NaN or Inf)",
                        bad / (size_t)od, bad % (size_t)od);
    bad = fpo_first_nonfinite(act, (size_t)n * (size_t)ad);
    if (bad < (size_t)n * (size_t)ad)
        return fpo_fail(err, FPO_ENONFINITE,
                        "fpo_policy_pretrain: act row %zu, column %zu is not finite (NaN or Inf)",
                        bad / (size_t)ad, bad % (size_t)ad);

    f.flow_kind = pv->kind == FPO_POLICY_FLOW;
    f.rows = f.flow_kind ? f.flow.n_mc : 1;
    f.aout = pv->actor->dims[pv->actor->n_layers];
    f.sub = FPO_PRETRAIN_SUB_ROWS / f.rows;
    if (f.sub < 1)
        f.sub = 1;
    f.n_actor = pv->critic_off;
    int in = pv->actor->dims[0];
    size_t nr = (size_t)f.sub * (size_t)f.rows;
    work *w = &f.w;
    const fpo_mem *mem = fpo_policy_mem(p);
    w->mem = mem;
    size_t N = (size_t)n;
    w->perm = fpo_mem_calloc(mem, N, sizeof(int));
    w->order = fpo_mem_calloc(mem, (size_t)n_train, sizeof(int));
    w->nobs = fpo_mem_calloc(mem, N * od, sizeof(float));
    w->act = fpo_mem_calloc(mem, N * ad, sizeof(float));
    w->m = fpo_mem_calloc(mem, f.n_actor, sizeof(float));
    w->v = fpo_mem_calloc(mem, f.n_actor, sizeof(float));
    w->grad = fpo_mem_calloc(mem, f.n_actor, sizeof(float));
    w->bak = fpo_mem_calloc(mem, f.n_actor, sizeof(float));
    w->snap.mean = fpo_mem_calloc(mem, (size_t)od, sizeof(double));
    w->snap.m2 = fpo_mem_calloc(mem, (size_t)od, sizeof(double));
    w->idx = fpo_mem_calloc(mem, (size_t)f.sub, sizeof(int));
    w->sobs = fpo_mem_calloc(mem, (size_t)f.sub * od, sizeof(float));
    w->sact = fpo_mem_calloc(mem, (size_t)f.sub * ad, sizeof(float));
    w->pt = fpo_mem_calloc(mem, nr, sizeof(float));
    w->peps = fpo_mem_calloc(mem, nr * ad, sizeof(float));
    w->X = fpo_mem_calloc(mem, nr * (size_t)in, sizeof(float));
    w->Y = fpo_mem_calloc(mem, nr * (size_t)f.aout, sizeof(float));
    w->dY = fpo_mem_calloc(mem, nr * (size_t)f.aout, sizeof(float));
    w->cache = fpo_mem_calloc(mem, fpo_mlp_cache_floats(pv->actor, (int)nr), sizeof(float));
    w->scratch = fpo_mem_calloc(mem, fpo_mlp_scratch_floats(pv->actor, (int)nr), sizeof(float));
    w->l = fpo_mem_calloc(mem, nr, sizeof(float));
    if (!w->perm || !w->order || !w->nobs || !w->act || !w->m || !w->v || !w->grad || !w->bak ||
        !w->snap.mean || !w->snap.m2 || !w->idx || !w->sobs || !w->sact || !w->pt || !w->peps ||
        !w->X || !w->Y || !w->dY || !w->cache || !w->scratch || !w->l) {
        work_free(w);
        return fpo_fail(err, FPO_ENOMEM, "fpo_policy_pretrain: out of memory for %lld rows",
                        (long long)n);
    }
    for (int r = 0; r < f.sub; r++)
        w->idx[r] = r;
    memcpy(w->bak, pv->params, f.n_actor * sizeof(float));
    fpo_obsstats *os = fpo_policy_obsstats(p);
    fpo_obsstats_save(os, &w->snap);

    /* The split: a seeded permutation; its first n_val rows are held out. */
    fpo_rng rng;
    fpo_rng_init(&rng, c.seed, STREAM_SPLIT);
    for (int64_t i = 0; i < n; i++)
        w->perm[i] = (int)i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)fpo_rng_below(&rng, (uint32_t)(i + 1));
        int t = w->perm[i];
        w->perm[i] = w->perm[j];
        w->perm[j] = t;
    }
    /* Statistics of the training rows (gathered raw into nobs first). */
    if (c.update_obs_stats) {
        for (int64_t j = n_val; j < n; j++)
            memcpy(w->nobs + (size_t)(j - n_val) * od, obs + (size_t)w->perm[j] * od,
                   (size_t)od * sizeof(float));
        fpo_obsstats_accumulate(os, w->nobs, (int)n_train);
        fpo_obsstats_commit(os);
    }
    float clip = f.flow_kind ? pv->raw_clip : 0.0f;
    for (int64_t j = 0; j < n; j++) {
        size_t src = (size_t)w->perm[j];
        fpo_obsstats_normalize(os, obs + src * od, 1, w->nobs + (size_t)j * od, od);
        for (int d = 0; d < ad; d++) {
            float a = act[src * ad + d];
            if (clip > 0.0f)
                a = a < -clip ? -clip : (a > clip ? clip : a);
            w->act[(size_t)j * ad + d] = a;
        }
    }
    fpo_rng_init(&f.pairs, c.seed, STREAM_PAIRS);
    fpo_rng shuf;
    fpo_rng_init(&shuf, c.seed, STREAM_SHUFFLE);

    fpo_adam_cfg ac = {c.lr, 0.9f, 0.999f, 1e-8f, c.weight_decay};
    fpo_pretrain_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    st.n_train = n_train;
    st.n_val = n_val;
    st.first_val_loss = st.val_loss = NAN;
    rc = FPO_OK;
    int mb = c.minibatch < n_train ? c.minibatch : (int)n_train;
    for (int64_t i = 0; i < n_train; i++)
        w->order[i] = (int)(n_val + i);
    if (n_val > 0)
        st.first_val_loss = val_loss(&f, (int)n_val);
    for (int ep = 1; ep <= c.epochs && rc == FPO_OK; ep++) {
        for (int64_t i = n_train - 1; i > 0; i--) {
            int64_t j = (int64_t)fpo_rng_below(&shuf, (uint32_t)(i + 1));
            int t = w->order[i];
            w->order[i] = w->order[j];
            w->order[j] = t;
        }
        double esum = 0.0;
        for (int64_t b0 = 0; b0 < n_train; b0 += mb) {
            int k = n_train - b0 < mb ? (int)(n_train - b0) : mb;
            memset(w->grad, 0, f.n_actor * sizeof(float));
            double ls = batch_loss(&f, w->order + b0, k, (uint64_t)ep, 1.0f / (float)k);
            double gn = fpo_grad_norm(w->grad, f.n_actor);
            if (!isfinite(ls) || !isfinite(gn)) {
                rc = fpo_fail(err, FPO_EDIVERGED,
                              "fpo_policy_pretrain: non-finite loss or gradient in epoch %d; "
                              "the policy was restored (lower lr?)", ep);
                break;
            }
            if (c.max_grad_norm > 0.0f && gn > c.max_grad_norm)
                fpo_scale(w->grad, f.n_actor, (float)(c.max_grad_norm / gn));
            st.steps++;
            fpo_adam_step(pv->params, w->grad, w->m, w->v, f.n_actor, &ac, st.steps);
            esum += ls;
        }
        if (rc)
            break;
        if (!fpo_all_finite(pv->params, f.n_actor)) {
            rc = fpo_fail(err, FPO_EDIVERGED,
                          "fpo_policy_pretrain: non-finite parameters after epoch %d; the "
                          "policy was restored (lower lr?)", ep);
            break;
        }
        st.epochs = ep;
        st.train_loss = esum / (double)n_train;
        if (ep == 1)
            st.first_train_loss = st.train_loss;
        if (n_val > 0)
            st.val_loss = val_loss(&f, (int)n_val);
        if (c.progress && c.progress(c.progress_user, ep, st.train_loss, st.val_loss)) {
            st.stopped = 1;
            break;
        }
    }
    if (rc)
        restore(&f);
    work_free(w);
    if (rc == FPO_OK && out)
        rc = fpo_struct_copy_out(err, "fpo_pretrain_stats", FPO_PRETRAIN_STATS_FIRST_SIZE, out,
                                 &st, sizeof st);
    return rc;
}

/* Pretraining runs with denormals flushed (fpmode.h). */
int fpo_policy_pretrain(fpo_policy *p, const fpo_pretrain_config *cfg, const float *obs,
                        const float *act, int64_t n, fpo_pretrain_stats *out)
{
    if (!p)
        return FPO_NULL_ARG("p");
    fpo_fpmode saved = fpo_fpmode_enter();
    int rc = pretrain(p, cfg, obs, act, n, out);
    fpo_fpmode_leave(saved);
    return rc;
}
