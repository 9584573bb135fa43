/* The optimizer's settings, tunables and construction. The update itself
 * is update.c (the loop), objective.h and obj_*.c (the objectives) and
 * exchange.c (its exchanges over ranks). */
#include <math.h>
#include <string.h>

#include "abi.h"
#include "fpo/optimizer.h"
#include "buffer_impl.h"
#include "internal.h"
#include "optimizer_impl.h"
#include "util.h"

static void optimizer_defaults(fpo_optimizer_config *cfg, fpo_algo algo)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->algo = algo;
    cfg->lr = 3e-4f;
    cfg->adam_beta1 = 0.9f;
    cfg->adam_beta2 = 0.999f;
    cfg->adam_eps = 1e-8f;
    cfg->weight_decay = 0.0f;
    cfg->max_grad_norm = 0.0f;
    cfg->clip_eps = algo == FPO_ALGO_PPO ? 0.1f : 0.05f; /* DPPO: the reference's 0.05 */
    cfg->gamma = 0.995f;
    cfg->gae_lambda = 0.95f;
    cfg->reward_scale = 10.0f;
    cfg->value_coef = 0.25f;
    cfg->entropy_coef = algo == FPO_ALGO_PPO ? 0.01f : 0.0f;
    /* The update geometry and objective that train stably at the trainer's
     * default batch (16 envs x 64 steps): minibatches of 128, 4 epochs (2
     * for FPO, whose flow drifted and collapsed in long runs with 4:
     * docs/stability.md, "Two epochs"), FPO++'s per-sample ratio with ASPO
     * (docs/stability.md). The reference's geometry (983,040 transitions in
     * 32 minibatches, 16 epochs, averaged ratio) is fpo-train's paper
     * preset. */
    cfg->epochs = algo == FPO_ALGO_FPO ? 2 : 4;
    cfg->minibatches = 8;
    cfg->cfm_loss = FPO_CFM_EPS;
    cfg->ratio_mode = algo == FPO_ALGO_FPO ? FPO_RATIO_PER_SAMPLE : FPO_RATIO_AVERAGED;
    cfg->ratio_clamp = 5.0f;
    cfg->aspo = algo == FPO_ALGO_FPO;
    cfg->normalize_advantages = 1;
    cfg->threads = 1;
    /* The stabilizers of docs/stability.md: the anchor and the spike guard
     * on; the saturation penalty off (it destabilized reacher-hard). */
    cfg->bound_coef = 0.0f;
    cfg->bound = 3.0f;
    cfg->spike_clip = 4.0f;
    cfg->anchor_coef = algo == FPO_ALGO_FPO ? 0.1f : 0.0f;
    /* The fixed anchor: the adaptive one (anchor_drift 1.2) let finger-spin's
     * flow drift at the cpu preset (docs/stability.md, "An adaptive anchor"). */
    cfg->anchor_drift = 0.0f;
    /* The loss clamp: 10 is near the largest per-pair loss of a healthy
     * update on the tasks (cfm_loss_max's median over a run 6-11, the mean
     * 0.3-0.7) and far below the ones that led finger-spin's collapses
     * (docs/stability.md, "The loss clamp"). */
    cfg->cfm_clamp = algo == FPO_ALGO_FPO ? 10.0f : 0.0f;
    /* DPPO's settings (obj_dppo.c). */
    cfg->dppo_sigma = 0.1f;
    cfg->dppo_final_half = 0;
}

int fpo_optimizer_config_init_sized(fpo_optimizer_config *cfg, size_t size, fpo_algo algo)
{
    fpo_optimizer_config d;
    optimizer_defaults(&d, algo);
    return fpo_struct_init(FPO_S_OPTIMIZER_CONFIG, cfg, size, &d, sizeof d);
}

/* The LIBFPO_1 entry point (abi.h, FPO_DEFINE_CONFIG_INIT). */
FPO_API void(fpo_optimizer_config_init)(fpo_optimizer_config *cfg, fpo_algo algo);
void(fpo_optimizer_config_init)(fpo_optimizer_config *cfg, fpo_algo algo)
{
    (void)fpo_optimizer_config_init_sized(cfg, fpo_struct_v1_size(FPO_S_OPTIMIZER_CONFIG), algo);
}

/* ---- tunables ------------------------------------------------------------ */

static const struct {
    const char *name;
    fpo_value_type type;
    double min, max;
} key_table[FPO_OPT_KEY_COUNT] = {
    [FPO_OPT_LR] = {"lr", FPO_TYPE_FLOAT, 0.0, 1.0},
    [FPO_OPT_CLIP_EPS] = {"clip_eps", FPO_TYPE_FLOAT, 1e-6, 10.0},
    [FPO_OPT_ENTROPY_COEF] = {"entropy_coef", FPO_TYPE_FLOAT, 0.0, 100.0},
    [FPO_OPT_VALUE_COEF] = {"value_coef", FPO_TYPE_FLOAT, 0.0, 1000.0},
    [FPO_OPT_MAX_GRAD_NORM] = {"max_grad_norm", FPO_TYPE_FLOAT, 0.0, 1e9},
    [FPO_OPT_GAMMA] = {"gamma", FPO_TYPE_FLOAT, 0.0, 1.0},
    [FPO_OPT_GAE_LAMBDA] = {"gae_lambda", FPO_TYPE_FLOAT, 0.0, 1.0},
    [FPO_OPT_REWARD_SCALE] = {"reward_scale", FPO_TYPE_FLOAT, -1e9, 1e9},
    [FPO_OPT_EPOCHS] = {"epochs", FPO_TYPE_INT, 1, 10000},
    [FPO_OPT_MINIBATCHES] = {"minibatches", FPO_TYPE_INT, 1, 1 << 26},
    [FPO_OPT_WEIGHT_DECAY] = {"weight_decay", FPO_TYPE_FLOAT, 0.0, 1.0},
    [FPO_OPT_RATIO_CLAMP] = {"ratio_clamp", FPO_TYPE_FLOAT, 1e-3, 80.0},
};

int fpo_optimizer_key_count(void) { return FPO_OPT_KEY_COUNT; }

void fpo_optimizer_set_lr_scale(fpo_optimizer *o, float scale) { o->lr_scale = scale; }
void fpo_optimizer_set_critic_only(fpo_optimizer *o, int on) { o->critic_only = on != 0; }

int fpo_optimizer_key_info(fpo_opt_key key, fpo_key_info *out)
{
    if ((unsigned)key >= FPO_OPT_KEY_COUNT)
        return fpo_fail(NULL, FPO_EKEY, "fpo_optimizer_key_info: key %d is not one of this "
                        "library's %d keys", (int)key, FPO_OPT_KEY_COUNT);
    fpo_key_info info = {sizeof info, key_table[key].name, key_table[key].type,
                         key_table[key].min, key_table[key].max};
    return fpo_struct_out(NULL, FPO_S_KEY_INFO, out, &info, sizeof info);
}

static float *key_float(fpo_optimizer_config *c, fpo_opt_key key)
{
    switch (key) {
    case FPO_OPT_LR: return &c->lr;
    case FPO_OPT_CLIP_EPS: return &c->clip_eps;
    case FPO_OPT_ENTROPY_COEF: return &c->entropy_coef;
    case FPO_OPT_VALUE_COEF: return &c->value_coef;
    case FPO_OPT_MAX_GRAD_NORM: return &c->max_grad_norm;
    case FPO_OPT_GAMMA: return &c->gamma;
    case FPO_OPT_GAE_LAMBDA: return &c->gae_lambda;
    case FPO_OPT_REWARD_SCALE: return &c->reward_scale;
    case FPO_OPT_WEIGHT_DECAY: return &c->weight_decay;
    case FPO_OPT_RATIO_CLAMP: return &c->ratio_clamp;
    default: return NULL;
    }
}

static int *key_int(fpo_optimizer_config *c, fpo_opt_key key)
{
    switch (key) {
    case FPO_OPT_EPOCHS: return &c->epochs;
    case FPO_OPT_MINIBATCHES: return &c->minibatches;
    default: return NULL;
    }
}

int fpo_optimizer_set(fpo_optimizer *o, fpo_opt_key key, double value)
{
    if (!o)
        return FPO_NULL_ARG("o");
    if ((unsigned)key >= FPO_OPT_KEY_COUNT)
        return fpo_fail(&o->err, FPO_EKEY, "unknown optimizer key %d", (int)key);
    if (!isfinite(value) || value < key_table[key].min || value > key_table[key].max)
        return fpo_fail(&o->err, FPO_ERANGE, "%s must be in [%g, %g], got %g",
                        key_table[key].name, key_table[key].min, key_table[key].max, value);
    float *f = key_float(&o->cfg, key);
    if (f) {
        *f = (float)value;
        return FPO_OK;
    }
    int *i = key_int(&o->cfg, key);
    if (value != floor(value))
        return fpo_fail(&o->err, FPO_ERANGE, "%s must be an integer, got %g", key_table[key].name,
                        value);
    if (key == FPO_OPT_MINIBATCHES && (value < o->min_minibatches || value > o->G))
        return fpo_fail(&o->err, FPO_ERANGE,
                        "minibatches must be in [%d, %d] (the workspaces were sized for %d)",
                        o->min_minibatches, o->G, o->min_minibatches);
    int epochs = key == FPO_OPT_EPOCHS ? (int)value : o->cfg.epochs;
    int mbs = key == FPO_OPT_MINIBATCHES ? (int)value : o->cfg.minibatches;
    if (fpo_xchg_reserve(o, epochs, mbs))
        return fpo_fail(&o->err, FPO_ENOMEM, "out of memory for %d epochs x %d minibatches",
                        epochs, mbs);
    *i = (int)value;
    return FPO_OK;
}

int fpo_optimizer_get(const fpo_optimizer *o, fpo_opt_key key, double *out)
{
    if (!o)
        return FPO_NULL_ARG("o");
    if (!out)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_optimizer_get: out is NULL");
    if ((unsigned)key >= FPO_OPT_KEY_COUNT)
        return fpo_fail(NULL, FPO_EKEY, "fpo_optimizer_get: key %d is not one of this library's "
                        "%d keys", (int)key, FPO_OPT_KEY_COUNT);
    fpo_optimizer_config *c = (fpo_optimizer_config *)&o->cfg;
    float *f = key_float(c, key);
    *out = f ? (double)*f : (double)*key_int(c, key);
    return FPO_OK;
}

int64_t fpo_optimizer_step_count(const fpo_optimizer *o)
{
    return o ? o->step : FPO_NULL_ARG("o");
}

/* ---- construction --------------------------------------------------------- */

static int check_config(fpo_errbuf *err, const fpo_optimizer_config *c)
{
    if ((unsigned)c->algo > FPO_ALGO_DPPO)
        return fpo_fail(err, FPO_ERANGE, "algo %d is not an fpo_algo", (int)c->algo);
    if ((unsigned)c->ratio_mode > FPO_RATIO_PER_SAMPLE)
        return fpo_fail(err, FPO_ERANGE, "ratio_mode %d is not valid", (int)c->ratio_mode);
    const struct { fpo_opt_key k; double v; } vals[] = {
        {FPO_OPT_LR, c->lr}, {FPO_OPT_CLIP_EPS, c->clip_eps},
        {FPO_OPT_ENTROPY_COEF, c->entropy_coef}, {FPO_OPT_VALUE_COEF, c->value_coef},
        {FPO_OPT_MAX_GRAD_NORM, c->max_grad_norm}, {FPO_OPT_GAMMA, c->gamma},
        {FPO_OPT_GAE_LAMBDA, c->gae_lambda}, {FPO_OPT_REWARD_SCALE, c->reward_scale},
        {FPO_OPT_EPOCHS, c->epochs}, {FPO_OPT_MINIBATCHES, c->minibatches},
        {FPO_OPT_WEIGHT_DECAY, c->weight_decay}, {FPO_OPT_RATIO_CLAMP, c->ratio_clamp},
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double v = vals[i].v;
        const char *name = key_table[vals[i].k].name;
        if (!isfinite(v) || v < key_table[vals[i].k].min || v > key_table[vals[i].k].max)
            return fpo_fail(err, FPO_ERANGE, "%s must be in [%g, %g], got %g", name,
                            key_table[vals[i].k].min, key_table[vals[i].k].max, v);
    }
    if (!(c->adam_beta1 >= 0.0f && c->adam_beta1 < 1.0f) ||
        !(c->adam_beta2 >= 0.0f && c->adam_beta2 < 1.0f) ||
        !(c->adam_eps > 0.0f && isfinite(c->adam_eps)))
        return fpo_fail(err, FPO_ERANGE,
                        "adam_beta1 and adam_beta2 must be in [0, 1) and adam_eps finite and "
                        "> 0, got %g, %g, %g",
                        (double)c->adam_beta1, (double)c->adam_beta2, (double)c->adam_eps);
    if (!(c->bound_coef >= 0.0f && c->bound_coef <= 1000.0f))
        return fpo_fail(err, FPO_ERANGE, "bound_coef must be in [0, 1000], got %g",
                        (double)c->bound_coef);
    if (!(c->bound > 0.0f && c->bound <= 1e6f))
        return fpo_fail(err, FPO_ERANGE, "bound must be in (0, 1e6], got %g", (double)c->bound);
    if (!(c->anchor_drift == 0.0f || (c->anchor_drift > 1.0f && c->anchor_drift <= 100.0f)))
        return fpo_fail(err, FPO_ERANGE, "anchor_drift must be 0 (off) or in (1, 100], got %g",
                        (double)c->anchor_drift);
    if (!(c->cfm_clamp == 0.0f || (c->cfm_clamp > 0.0f && c->cfm_clamp <= 1e6f)))
        return fpo_fail(err, FPO_ERANGE, "cfm_clamp must be 0 (off) or in (0, 1e6], got %g",
                        (double)c->cfm_clamp);
    if (!(c->anchor_coef >= 0.0f && c->anchor_coef <= 100.0f))
        return fpo_fail(err, FPO_ERANGE, "anchor_coef must be in [0, 100], got %g",
                        (double)c->anchor_coef);
    if (!(c->spike_clip == 0.0f || (c->spike_clip >= 1.0f && c->spike_clip <= 1e6f)))
        return fpo_fail(err, FPO_ERANGE, "spike_clip must be 0 (off) or in [1, 1e6], got %g",
                        (double)c->spike_clip);
    if (c->threads < 1 || c->threads > FPO_MAX_THREADS)
        return fpo_fail(err, FPO_ERANGE, "threads must be in [1, %d], got %d", FPO_MAX_THREADS,
                        c->threads);
    return FPO_OK;
}

static void optimizer_free(fpo_optimizer *o)
{
    fpo_mem m = o->mem;
    fpo_pool_destroy(o->pool);
    float **arrays[] = {&o->m, &o->v, &o->grad, &o->bak_params, &o->bak_m, &o->bak_v,
                        &o->nobs, &o->values, &o->adv, &o->ret, &o->old, &o->fvalues, &o->lastv};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        fpo_mem_free(&m, *arrays[i]);
    fpo_mem_free(&m, o->part);
    fpo_mem_free(&m, o->perm);
    fpo_mem_free(&m, o->mbidx);
    fpo_mem_free(&m, o->xb);
    fpo_mem_free(&m, o->bak_stats.mean);
    fpo_mem_free(&m, o->bak_stats.m2);
    if (o->w) {
        for (int t = 0; t < o->threads; t++) {
            fpo_opt_work *w = &o->w[t];
            float *ws[] = {w->X, w->Y, w->dY, w->cacheA, w->V, w->dV, w->cacheC, w->NO,
                           w->scratch, w->grad, w->l};
            for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
                fpo_mem_free(&m, ws[i]);
        }
        fpo_mem_free(&m, o->w);
    }
    fpo_mem_free(&m, o);
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

uint32_t fpo_optimizer_config_fingerprint(const fpo_optimizer_config *c, uint32_t h)
{
    /* Every setting that changes the update, field by field (struct padding
     * and pointers excluded); threads may differ between ranks. */
    const int ints[] = {(int)c->algo, c->epochs, c->minibatches, (int)c->cfm_loss,
                        (int)c->ratio_mode, c->aspo, c->normalize_advantages};
    const float floats[] = {c->lr, c->adam_beta1, c->adam_beta2, c->adam_eps, c->weight_decay,
                            c->max_grad_norm, c->clip_eps, c->gamma, c->gae_lambda,
                            c->reward_scale, c->value_coef, c->entropy_coef, c->ratio_clamp,
                            c->bound_coef, c->bound, c->spike_clip, c->anchor_coef};
    h = fpo_fingerprint(h, ints, sizeof ints);
    h = fpo_fingerprint(h, floats, sizeof floats);
    if (c->algo == FPO_ALGO_DPPO) {
        /* DPPO's own settings (the other algorithms' fingerprints are those
         * of release 0.1.0, which trainer checkpoints hold). */
        h = fpo_fingerprint(h, &c->dppo_sigma, sizeof c->dppo_sigma);
        h = fpo_fingerprint(h, &c->dppo_final_half, sizeof c->dppo_final_half);
    }
    if (c->anchor_drift != 0.0f) /* likewise: 0 leaves 0.1.0's fingerprint */
        h = fpo_fingerprint(h, &c->anchor_drift, sizeof c->anchor_drift);
    if (c->cfm_clamp != 0.0f) /* likewise */
        h = fpo_fingerprint(h, &c->cfm_clamp, sizeof c->cfm_clamp);
    return fpo_fingerprint(h, &c->seed, sizeof c->seed);
}

/* The create: `given` is the layout when the trainer already made the
 * handshake (and agrees on the outcome itself), else NULL. */
double fpo_optimizer_estimate_bytes(const fpo_mlp *actor, const fpo_mlp *critic,
                                    double n_params, int obs_dim, int n_mc, double batch,
                                    int minibatches, int threads)
{
    /* The workspaces of optimizer_create below, in its order; one process
     * (with other ranks the per-thread rows grow by a few percent). */
    double np = n_params, B = batch, od = obs_dim, nmc = n_mc > 0 ? n_mc : 1;
    double M = ceil(B / (minibatches > 0 ? minibatches : 1));
    double rows = ceil(M / (threads > 0 ? threads : 1)), arows = rows * nmc;
    double in = actor->dims[0], aout = actor->dims[actor->n_layers];
    double sa = fpo_mlp_scratch_floats_estimate(actor, arows),
           sc = fpo_mlp_scratch_floats_estimate(critic, rows);
    double shared = 7.0 * np + B * od + 4.0 * B + B * nmc + B + B;
    double per_thread = arows * in + 2.0 * arows * aout +
                        fpo_mlp_cache_floats_estimate(actor, arows) + 2.0 * rows +
                        fpo_mlp_cache_floats_estimate(critic, rows) + rows * od +
                        (sa > sc ? sa : sc) + np + arows;
    return 4.0 * (shared + (threads > 0 ? threads : 1) * per_thread);
}

static int optimizer_create(fpo_optimizer **out, const fpo_policy *p, const fpo_buffer *b,
                            const fpo_optimizer_config *cfg, const fpo_layout *given)
{
    fpo_optimizer_config c;
    fpo_mem mem;
    fpo_coll coll;
    if (!out)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_optimizer_create: out is NULL");
    *out = NULL;
    if (!p || !b)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_optimizer_create: policy or buffer is NULL");
    int rc = FPO_COPY_CONFIG(NULL, OPTIMIZER_CONFIG, &c, cfg, fpo_optimizer_config_init(&c, FPO_ALGO_FPO));
    if (rc || (rc = check_config(NULL, &c)))
        return rc; /* the message is in the thread's buffer (fpo_last_errmsg) */
    if ((rc = fpo_coll_init(&coll, c.collective, NULL)))
        return rc;
    /* The objective's own checks (policy kind, pairs, its settings). */
    fpo_objective obj;
    if ((rc = fpo_objective_init(&obj, &c, p, b, NULL)))
        return rc;
    fpo_policy_view pv;
    fpo_policy_view_of((fpo_policy *)p, &pv);
    int B = b->cfg.num_envs * b->cfg.horizon;
    if (!fpo_coll_on(&coll) && c.minibatches > B)
        return fpo_fail(NULL, FPO_ERANGE, "minibatches (%d) exceeds the batch (%d transitions)",
                        c.minibatches, B);
    if ((rc = fpo_mem_init(&mem, c.allocator, NULL)))
        return rc;

    fpo_optimizer *o = fpo_mem_calloc(&mem, 1, sizeof *o);
    if (!o)
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating the optimizer");
    o->mem = mem;
    o->cfg = c;
    o->lr_scale = 1.0f;
    o->cfg.allocator = NULL;
    o->cfg.collective = NULL;
    o->coll = coll;
    o->obj = obj;
    o->obj.cfg = &o->cfg; /* tunables are read live from the handle's copy */
    o->kind = pv.kind;
    o->num_envs = b->cfg.num_envs;
    o->horizon = b->cfg.horizon;
    o->obs_dim = pv.obs_dim;
    o->act_dim = pv.act_dim;
    o->act_chunk = pv.chunk;
    o->n_params = pv.n_params;
    o->actor_shape = *pv.actor;
    o->critic_shape = *pv.critic;
    o->B = B;
    o->min_minibatches = c.minibatches;
    o->threads = c.threads;
    fpo_rng_init(&o->rng, c.seed, 0x6f7074696dull /* "optim" */);

    /* The exchange buffer first: the handshake below needs it, and failing
     * before any collective call is a local failure (fpo/collective.h). */
    if (fpo_xchg_reserve(o, c.epochs, c.minibatches)) {
        optimizer_free(o);
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating the optimizer");
    }
    if (given) {
        o->lay = *given;
    } else {
        if ((rc = fpo_xchg_handshake(o, p))) {
            optimizer_free(o);
            return rc;
        }
    }
    o->G = o->lay.global_envs * o->horizon;
    if (c.minibatches > o->G) {
        /* Decided on gathered numbers: the same on every rank. */
        optimizer_free(o);
        return fpo_fail(NULL, FPO_ERANGE,
                        "minibatches (%d) exceeds the batch of all ranks (%d transitions)",
                        c.minibatches, o->G);
    }
    /* Expected rows of this rank in a minibatch: B / minibatches. With other
     * ranks the count varies from minibatch to minibatch (hypergeometric,
     * standard deviation below sqrt(M)); the slack keeps nearly all of them
     * in one pass, and the rest run in a second. */
    int M = (B + c.minibatches - 1) / c.minibatches;
    if (o->coll.size > 1) {
        double slack = 4.0 * sqrt((double)M) + 16.0;
        M = M + (int)slack > B ? B : M + (int)slack;
    }
    o->chunk = (M + c.threads - 1) / c.threads;
    if ((int64_t)o->chunk * o->obj.rows > (1 << 30)) {
        /* network rows per thread are ints (and would need terabytes) */
        int64_t r = (int64_t)o->chunk * o->obj.rows;
        optimizer_free(o);
        return fpo_fail(NULL, FPO_ERANGE,
                        "a minibatch gives %lld network rows per thread (transitions x n_mc), "
                        "more than 2^30: raise minibatches or threads",
                        (long long)r);
    }

    rc = fpo_pool_create(&o->pool, &mem, c.threads);
    if (rc)
        o->pool = NULL;
    size_t np = pv.n_params, Bs = (size_t)B, od = (size_t)o->obs_dim;
    size_t nold = Bs * (size_t)o->obj.old_floats;
    if (!rc) {
        o->m = fpo_mem_calloc(&mem, np, sizeof(float));
        o->v = fpo_mem_calloc(&mem, np, sizeof(float));
        /* one more float: the loss guard's flag travels with the gradient */
        o->grad = fpo_mem_calloc(&mem, np + 1, sizeof(float));
        o->part = fpo_mem_calloc(&mem, 4 * (np / FPO_SLICE + 1), sizeof(double));
        o->bak_params = fpo_mem_calloc(&mem, np, sizeof(float));
        o->bak_m = fpo_mem_calloc(&mem, np, sizeof(float));
        o->bak_v = fpo_mem_calloc(&mem, np, sizeof(float));
        o->nobs = fpo_mem_calloc(&mem, Bs * od, sizeof(float));
        o->values = fpo_mem_calloc(&mem, Bs, sizeof(float));
        o->adv = fpo_mem_calloc(&mem, Bs, sizeof(float));
        o->ret = fpo_mem_calloc(&mem, Bs, sizeof(float));
        o->old = fpo_mem_calloc(&mem, nold, sizeof(float));
        o->fvalues = fpo_mem_calloc(&mem, Bs, sizeof(float));
        o->lastv = fpo_mem_calloc(&mem, (size_t)o->num_envs, sizeof(float));
        o->perm = fpo_mem_calloc(&mem, (size_t)o->G, sizeof(int));
        o->mbidx = fpo_mem_calloc(&mem, Bs, sizeof(int));
        o->bak_stats.mean = fpo_mem_calloc(&mem, od, sizeof(double));
        o->bak_stats.m2 = fpo_mem_calloc(&mem, od, sizeof(double));
        o->w = fpo_mem_calloc(&mem, (size_t)c.threads, sizeof(fpo_opt_work));
        if (!o->m || !o->v || !o->grad || !o->part || !o->bak_params || !o->bak_m || !o->bak_v ||
            !o->nobs || !o->values || !o->adv || !o->ret || !o->old || !o->fvalues ||
            !o->lastv || !o->perm || !o->mbidx || !o->bak_stats.mean || !o->bak_stats.m2 ||
            !o->w)
            rc = fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating optimizer workspaces");
    }
    /* Each thread handles at most `chunk` transitions at a time, in training
     * and in the precompute passes (which reuse the same chunking). */
    int rows = o->chunk;
    int arows = rows * o->obj.rows;
    size_t in = (size_t)pv.actor->dims[0];
    size_t aout = (size_t)pv.actor->dims[pv.actor->n_layers];
    size_t scr = max_sz(fpo_mlp_scratch_floats(pv.actor, arows),
                        fpo_mlp_scratch_floats(pv.critic, rows));
    for (int t = 0; !rc && t < c.threads; t++) {
        fpo_opt_work *w = &o->w[t];
        w->X = fpo_mem_calloc(&mem, (size_t)arows * in, sizeof(float));
        w->Y = fpo_mem_calloc(&mem, (size_t)arows * aout, sizeof(float));
        w->dY = fpo_mem_calloc(&mem, (size_t)arows * aout, sizeof(float));
        w->cacheA = fpo_mem_calloc(&mem, fpo_mlp_cache_floats(pv.actor, arows), sizeof(float));
        w->V = fpo_mem_calloc(&mem, (size_t)rows, sizeof(float));
        w->dV = fpo_mem_calloc(&mem, (size_t)rows, sizeof(float));
        w->cacheC = fpo_mem_calloc(&mem, fpo_mlp_cache_floats(pv.critic, rows), sizeof(float));
        w->NO = fpo_mem_calloc(&mem, (size_t)rows * od, sizeof(float));
        w->scratch = fpo_mem_calloc(&mem, scr, sizeof(float));
        w->grad = fpo_mem_calloc(&mem, np, sizeof(float));
        w->l = fpo_mem_calloc(&mem, (size_t)arows, sizeof(float));
        if (!w->X || !w->Y || !w->dY || !w->cacheA || !w->V || !w->dV || !w->cacheC || !w->NO ||
            !w->scratch || !w->grad || !w->l)
            rc = fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating optimizer workspaces");
    }
    /* Every rank learns whether all of them succeeded (the trainer, which
     * passes `given`, agrees on its whole create instead). */
    if (!given)
        rc = fpo_xchg_agree_create(o, rc);
    if (rc) {
        optimizer_free(o);
        return rc;
    }
    *out = o;
    return FPO_OK;
}

int fpo_optimizer_create(fpo_optimizer **out, const fpo_policy *p, const fpo_buffer *b,
                         const fpo_optimizer_config *cfg)
{
    return optimizer_create(out, p, b, cfg, NULL);
}

int fpo_optimizer_create_for(fpo_optimizer **out, const fpo_policy *p, const fpo_buffer *b,
                             const fpo_optimizer_config *cfg, const fpo_layout *layout)
{
    return optimizer_create(out, p, b, cfg, layout);
}

void fpo_optimizer_destroy(fpo_optimizer *o)
{
    if (o)
        optimizer_free(o);
}

const char *fpo_optimizer_errmsg(const fpo_optimizer *o)
{
    return o ? o->err.msg : "optimizer is NULL";
}

void fpo_optimizer_state(fpo_optimizer *o, fpo_opt_state *out)
{
    out->m = o->m;
    out->v = o->v;
    out->n = o->n_params;
    out->step = &o->step;
    out->rng = &o->rng;
    out->cfg = &o->cfg;
    out->anchor = &o->obj.anchor;
}
