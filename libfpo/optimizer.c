/* The clipped update: FPO (CFM-loss ratio) and Gaussian PPO (likelihood
 * ratio), value loss, Adam, divergence guard. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "abi.h"
#include "fpo/optimizer.h"
#include "adam.h"
#include "coll.h"
#include "internal.h"
#include "optimizer_impl.h"
#include "buffer_impl.h"
#include "policy_impl.h"
#include "pool.h"
#include "rng.h"
#include "util.h"

#define FPO_MAX_THREADS 256

/* Largest global gradient norm a step is taken with (see the guard). */
#define FPO_MAX_GRAD_NORM_APPLIED 1e18

/* Per-thread accumulators of update statistics. */
typedef struct acc {
    double policy_loss, value_loss, entropy, cfm, ratio_sum, ratio_max, ratio_min, clipped, kl;
    double n_ratio;
} acc;

/* Per-thread workspace, sized for `rows` transitions. */
typedef struct work {
    float *X;      /* actor input  [rows * n_mc x in] (flow) or unused (Gaussian) */
    float *Y;      /* actor output */
    float *dY;     /* its gradient */
    float *cacheA; /* actor activation cache */
    float *V;      /* critic output [rows] */
    float *dV;
    float *cacheC;
    float *NO;     /* normalized observations gathered for the rows [rows x od] */
    float *scratch;
    float *grad;   /* n_params */
    float *l;      /* per-pair CFM losses [rows x n_mc] */
    acc a;
} work;

struct fpo_optimizer {
    fpo_errbuf err;
    fpo_mem mem;
    fpo_optimizer_config cfg;
    fpo_rng rng;
    fpo_pool *pool;
    int threads;
    fpo_policy_kind kind;
    /* Shapes this optimizer was made for. */
    int num_envs, horizon, obs_dim, act_dim, n_mc;
    size_t n_params;
    fpo_mlp actor_shape, critic_shape; /* network shapes the workspaces were sized for */
    int B;          /* transitions per update in this process's buffer */
    int min_minibatches; /* minibatches may only grow: workspaces fit B / this */
    int chunk;      /* transitions per thread per pass (a minibatch's local rows
                     * beyond chunk * threads run in further passes) */
    /* Data-parallel training (fpo/collective.h); single process otherwise. */
    fpo_coll coll;
    fpo_layout lay; /* this rank's environments among all ranks' */
    int G;          /* transitions per update over all ranks (B without a collective) */
    int *mbidx;     /* local rows of the current minibatch [B] */
    double *xb;     /* exchange buffer of the collective sums */
    size_t xb_cap;  /* its doubles */
    int64_t step;
    float lr_scale; /* the trainer's schedule: Adam runs at cfg.lr * lr_scale */
    float *m, *v, *grad;
    float *bak_params, *bak_m, *bak_v;
    double *bak_mean, *bak_m2; /* observation statistics before the update */
    int64_t bak_count;
    /* Per-update arrays over the whole batch. */
    float *nobs, *values, *adv, *ret, *old;  /* old: l_old [B x n_mc] or logp_old [B] */
    float *fvalues, *lastv;
    int *perm;      /* permutation of the G global transitions */
    work *w;
};

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
    cfg->clip_eps = algo == FPO_ALGO_PPO ? 0.1f : 0.05f;
    cfg->gamma = 0.995f;
    cfg->gae_lambda = 0.95f;
    cfg->reward_scale = 10.0f;
    cfg->value_coef = 0.25f;
    cfg->entropy_coef = algo == FPO_ALGO_PPO ? 0.01f : 0.0f;
    /* The update geometry and objective that train stably at the trainer's
     * default batch (16 envs x 64 steps): minibatches of 128, 4 epochs,
     * FPO++'s per-sample ratio with ASPO (docs/stability.md). The
     * reference's geometry (983,040 transitions in 32 minibatches, 16
     * epochs, averaged ratio) is fpo-train's paper preset. */
    cfg->epochs = 4;
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

/* Grow the exchange buffer for epochs x mbs (allocates only when tunables
 * grow: fpo_optimizer_set and create, never in an update). */
static int ensure_xb(fpo_optimizer *o, int epochs, int mbs)
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
    if (ensure_xb(o, epochs, mbs))
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
    if ((unsigned)c->algo > FPO_ALGO_PPO)
        return fpo_fail(err, FPO_ERANGE, "algo %d is not an fpo_algo", (int)c->algo);
    if ((unsigned)c->cfm_loss > FPO_CFM_ELBO)
        return fpo_fail(err, FPO_ERANGE, "cfm_loss %d is not valid", (int)c->cfm_loss);
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
        return fpo_fail(err, FPO_ERANGE, "Adam betas must be in [0, 1) and eps > 0");
    if (!(c->bound_coef >= 0.0f && c->bound_coef <= 1000.0f))
        return fpo_fail(err, FPO_ERANGE, "bound_coef must be in [0, 1000], got %g",
                        (double)c->bound_coef);
    if (!(c->bound > 0.0f && c->bound <= 1e6f))
        return fpo_fail(err, FPO_ERANGE, "bound must be in (0, 1e6], got %g", (double)c->bound);
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
    fpo_mem_free(&m, o->perm);
    fpo_mem_free(&m, o->mbidx);
    fpo_mem_free(&m, o->xb);
    fpo_mem_free(&m, o->bak_mean);
    fpo_mem_free(&m, o->bak_m2);
    if (o->w) {
        for (int t = 0; t < o->threads; t++) {
            work *w = &o->w[t];
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
    return fpo_fingerprint(h, &c->seed, sizeof c->seed);
}

/* What every rank must hold identically after an update. */
static uint32_t state_fingerprint(const fpo_optimizer *o, const fpo_policy *p)
{
    uint32_t h = fpo_optimizer_config_fingerprint(&o->cfg, FPO_FINGERPRINT_INIT);
    h = fpo_fingerprint(h, &o->step, sizeof o->step);
    return fpo_policy_fingerprint(p, h);
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
    if ((c.algo == FPO_ALGO_FPO) != (p->cfg.kind == FPO_POLICY_FLOW))
        return fpo_fail(NULL, FPO_EMISMATCH, "FPO needs a flow policy and PPO a Gaussian one");
    if (b->cfg.obs_dim != p->cfg.obs_dim || b->cfg.act_dim != p->cfg.act_dim)
        return fpo_fail(NULL, FPO_EMISMATCH, "buffer and policy sizes differ");
    if (c.algo == FPO_ALGO_FPO && b->cfg.n_mc < 1)
        return fpo_fail(NULL, FPO_EMISMATCH, "FPO needs a buffer with n_mc >= 1 (t, eps) pairs");
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
    o->kind = p->cfg.kind;
    o->num_envs = b->cfg.num_envs;
    o->horizon = b->cfg.horizon;
    o->obs_dim = p->cfg.obs_dim;
    o->act_dim = p->cfg.act_dim;
    o->n_mc = c.algo == FPO_ALGO_FPO ? b->cfg.n_mc : 0;
    o->n_params = p->n_params;
    o->actor_shape = p->actor;
    o->critic_shape = p->critic;
    o->B = B;
    o->min_minibatches = c.minibatches;
    o->threads = c.threads;
    fpo_rng_init(&o->rng, c.seed, 0x6f7074696dull /* "optim" */);

    /* The exchange buffer first: the handshake below needs it, and failing
     * before any collective call is a local failure (fpo/collective.h). */
    if (ensure_xb(o, c.epochs, c.minibatches)) {
        optimizer_free(o);
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating the optimizer");
    }
    if (given) {
        o->lay = *given;
    } else {
        uint32_t fp = fpo_policy_fingerprint(p, fpo_optimizer_config_fingerprint(&o->cfg, FPO_FINGERPRINT_INIT));
        if ((rc = fpo_coll_handshake(&o->coll, NULL, o->xb, o->num_envs, o->horizon, fp,
                                     &o->lay))) {
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
    if ((int64_t)o->chunk * (o->n_mc ? o->n_mc : 1) > (1 << 30)) {
        /* network rows per thread are ints (and would need terabytes) */
        int64_t r = (int64_t)o->chunk * (o->n_mc ? o->n_mc : 1);
        optimizer_free(o);
        return fpo_fail(NULL, FPO_ERANGE,
                        "a minibatch gives %lld network rows per thread (transitions x n_mc), "
                        "more than 2^30: raise minibatches or threads",
                        (long long)r);
    }

    rc = fpo_pool_create(&o->pool, &mem, c.threads);
    if (rc)
        o->pool = NULL;
    size_t np = p->n_params, Bs = (size_t)B, od = (size_t)o->obs_dim;
    size_t nold = o->n_mc ? Bs * (size_t)o->n_mc : Bs;
    if (!rc) {
        o->m = fpo_mem_calloc(&mem, np, sizeof(float));
        o->v = fpo_mem_calloc(&mem, np, sizeof(float));
        /* one more float: the loss guard's flag travels with the gradient */
        o->grad = fpo_mem_calloc(&mem, np + 1, sizeof(float));
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
        o->bak_mean = fpo_mem_calloc(&mem, od, sizeof(double));
        o->bak_m2 = fpo_mem_calloc(&mem, od, sizeof(double));
        o->w = fpo_mem_calloc(&mem, (size_t)c.threads, sizeof(work));
        if (!o->m || !o->v || !o->grad || !o->bak_params || !o->bak_m || !o->bak_v ||
            !o->nobs || !o->values || !o->adv || !o->ret || !o->old || !o->fvalues ||
            !o->lastv || !o->perm || !o->mbidx || !o->bak_mean || !o->bak_m2 || !o->w)
            rc = fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating optimizer workspaces");
    }
    /* Each thread handles at most `chunk` transitions at a time, in training
     * and in the precompute passes (which reuse the same chunking). */
    int rows = o->chunk;
    int arows = o->n_mc ? rows * o->n_mc : rows;
    size_t in = (size_t)p->actor.dims[0];
    size_t aout = (size_t)p->actor.dims[p->actor.n_layers];
    size_t scr = max_sz(fpo_mlp_scratch_floats(&p->actor, arows),
                        fpo_mlp_scratch_floats(&p->critic, rows));
    for (int t = 0; !rc && t < c.threads; t++) {
        work *w = &o->w[t];
        w->X = fpo_mem_calloc(&mem, (size_t)arows * in, sizeof(float));
        w->Y = fpo_mem_calloc(&mem, (size_t)arows * aout, sizeof(float));
        w->dY = fpo_mem_calloc(&mem, (size_t)arows * aout, sizeof(float));
        w->cacheA = fpo_mem_calloc(&mem, fpo_mlp_cache_floats(&p->actor, arows), sizeof(float));
        w->V = fpo_mem_calloc(&mem, (size_t)rows, sizeof(float));
        w->dV = fpo_mem_calloc(&mem, (size_t)rows, sizeof(float));
        w->cacheC = fpo_mem_calloc(&mem, fpo_mlp_cache_floats(&p->critic, rows), sizeof(float));
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
        rc = fpo_coll_agree(&o->coll, NULL, o->xb, rc, 0, "fpo_optimizer_create");
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

/* ---- the per-thread computation ------------------------------------------- */

enum { PASS_OLD, PASS_TRAIN };

typedef struct pass {
    fpo_optimizer *o;
    fpo_policy *p;
    const fpo_buffer *b;
    const int *idx; /* transitions of this pass */
    int n;          /* how many */
    int mode;
    float adv_mean, adv_scale; /* normalization of this minibatch */
    float inv_n;    /* 1 / minibatch size (over all ranks), the loss's mean */
    int zero_grad;  /* training: first pass of a minibatch clears the gradients */
} pass;

/* Fill the actor input rows of transitions idx[0..n) for all their pairs:
 * [normalized obs, x_t = t eps + (1 - t) a, emb(t)]. */
static void flow_inputs(const fpo_optimizer *o, const fpo_policy *p, const fpo_buffer *b,
                        const int *idx, int n, float *X)
{
    int od = o->obs_dim, ad = o->act_dim, nmc = o->n_mc;
    size_t in = (size_t)p->actor.dims[0];
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)idx[r];
        const float *no = o->nobs + i * (size_t)od;
        const float *a = b->act + i * (size_t)ad;
        for (int k = 0; k < nmc; k++) {
            size_t pk = i * (size_t)nmc + (size_t)k;
            float t = b->pair_t[pk];
            const float *eps = b->pair_eps + pk * (size_t)ad;
            float *row = X + ((size_t)r * (size_t)nmc + (size_t)k) * in;
            memcpy(row, no, (size_t)od * sizeof(float));
            for (int d = 0; d < ad; d++)
                row[od + d] = t * eps[d] + (1.0f - t) * a[d];
            fpo_time_embed(p, t, row + od + ad);
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

/* Per-pair CFM losses l (n * n_mc) from the velocities Y and, if dY is
 * non-NULL, d l / d v per pair (scaled by the objective's slope later). */
static void cfm_losses(const fpo_optimizer *o, const fpo_buffer *b, const int *idx, int n,
                       const float *Y, float *l, float *dY)
{
    int ad = o->act_dim, nmc = o->n_mc;
    fpo_cfm_loss kind = o->cfg.cfm_loss;
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)idx[r];
        const float *a = b->act + i * (size_t)ad;
        for (int k = 0; k < nmc; k++) {
            size_t pk = i * (size_t)nmc + (size_t)k;
            size_t row = (size_t)r * (size_t)nmc + (size_t)k;
            l[row] = fpo_cfm_pair(Y + row * (size_t)ad, b->pair_eps + pk * (size_t)ad, a,
                                  b->pair_t[pk], ad, kind, dY ? dY + row * (size_t)ad : NULL);
        }
    }
}

/* Gaussian log-likelihood pieces for one row: mean mu, std sigma. */
static void gaussian_row(const fpo_policy *p, const float *y, int d, float *mu, float *sigma,
                         float *sraw)
{
    int ad = p->cfg.act_dim;
    *mu = y[d];
    if (p->cfg.std_mode == FPO_STD_FIXED) {
        *sraw = 0.0f;
        *sigma = p->cfg.init_std;
    } else {
        *sraw = p->cfg.std_mode == FPO_STD_STATE_DEPENDENT ? y[ad + d]
                                                           : p->params[p->std_off + (size_t)d];
        *sigma = fpo_softplus(*sraw) + p->cfg.min_std;
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

/* One thread's share of a pass over transitions idx[0..n): theta_old
 * quantities, or loss gradients accumulated into w->grad. */
static void pass_rows(const pass *ps, work *w, const int *idx, int n)
{
    fpo_optimizer *o = ps->o;
    fpo_policy *p = ps->p;
    const fpo_buffer *b = ps->b;
    int od = o->obs_dim, ad = o->act_dim, nmc = o->n_mc;
    const float *theta = p->params;
    const fpo_optimizer_config *c = &o->cfg;
    int train = ps->mode == PASS_TRAIN;

    /* Critic rows: gathered normalized observations. */
    for (int r = 0; r < n; r++)
        memcpy(w->NO + (size_t)r * (size_t)od, o->nobs + (size_t)idx[r] * (size_t)od,
               (size_t)od * sizeof(float));

    if (!train) {
        /* theta_old quantities: values and l_old / logp_old. */
        fpo_mlp_forward(&p->critic, theta + p->critic_off, w->NO, n, w->V, NULL, w->scratch);
        for (int r = 0; r < n; r++)
            o->values[idx[r]] = w->V[r];
        if (o->kind == FPO_POLICY_FLOW) {
            flow_inputs(o, p, b, idx, n, w->X);
            fpo_mlp_forward(&p->actor, theta, w->X, n * nmc, w->Y, NULL, w->scratch);
            cfm_losses(o, b, idx, n, w->Y, w->l, NULL);
            for (int r = 0; r < n; r++)
                memcpy(o->old + (size_t)idx[r] * (size_t)nmc, w->l + (size_t)r * (size_t)nmc,
                       (size_t)nmc * sizeof(float));
        } else {
            int aout = p->actor.dims[p->actor.n_layers];
            fpo_mlp_forward(&p->actor, theta, w->NO, n, w->Y, NULL, w->scratch);
            for (int r = 0; r < n; r++) {
                const float *y = w->Y + (size_t)r * (size_t)aout;
                const float *a = b->act + (size_t)idx[r] * (size_t)ad;
                double lp = 0.0;
                for (int d = 0; d < ad; d++) {
                    float mu, sg, sr;
                    gaussian_row(p, y, d, &mu, &sg, &sr);
                    lp += gauss_term(a[d], mu, sg);
                }
                o->old[idx[r]] = (float)lp;
            }
        }
        return;
    }

    acc *A_ = &w->a;
    float inv_n = ps->inv_n;
    /* ---- policy ---- */
    if (o->kind == FPO_POLICY_FLOW) {
        flow_inputs(o, p, b, idx, n, w->X);
        fpo_mlp_forward(&p->actor, theta, w->X, n * nmc, w->Y, w->cacheA, w->scratch);
        cfm_losses(o, b, idx, n, w->Y, w->l, w->dY);
        float cl = c->ratio_clamp;
        for (int r = 0; r < n; r++) {
            size_t i = (size_t)idx[r];
            float A = (o->adv[i] - ps->adv_mean) * ps->adv_scale;
            const float *lo = o->old + i * (size_t)nmc;
            float *l = w->l + (size_t)r * (size_t)nmc;
            float *dY = w->dY + (size_t)r * (size_t)nmc * (size_t)ad;
            /* The saturation penalty (fpo_optimizer_config.bound_coef):
             * the advantage of a stored action beyond +-bound on some
             * dimension is lowered by bound_coef times its mean squared
             * excess, after normalization. */
            if (c->bound_coef > 0.0f) {
                const float *act = b->act + i * (size_t)ad;
                float ex = 0.0f;
                for (int d = 0; d < ad; d++) {
                    float e = fabsf(act[d]) - c->bound;
                    ex += e > 0.0f ? e * e : 0.0f;
                }
                ex /= (float)ad;
                A -= c->bound_coef * ex;
            }
            double lsum = 0.0;
            for (int k = 0; k < nmc; k++)
                lsum += l[k];
            A_->cfm += lsum / nmc;
            /* The anchor (fpo_optimizer_config.anchor_coef): anchor_coef x
             * the mean CFM loss of the stored pairs, whatever the
             * advantage. Its dLoss/dl_k is the constant ga, so it adds to
             * the objective's factor on dl/dv below. */
            float ga = c->anchor_coef * inv_n / (float)nmc;
            A_->policy_loss += c->anchor_coef * lsum / nmc;
            if (c->ratio_mode == FPO_RATIO_AVERAGED) {
                double diff = 0.0;
                for (int k = 0; k < nmc; k++)
                    diff += (double)lo[k] - (double)l[k];
                float rho = expf((float)(diff / nmc));
                float slope;
                float obj = fpo_surrogate(c, rho, A, &slope, &A_->clipped);
                A_->policy_loss -= obj;
                A_->ratio_sum += rho;
                A_->ratio_max = fmax(A_->ratio_max, rho);
                A_->ratio_min = fmin(A_->ratio_min, rho);
                A_->kl += fpo_kl_term(diff / nmc);
                A_->n_ratio += 1.0;
                /* dLoss/dl_k = slope * rho / (n * nmc) */
                float g = slope * rho * inv_n / (float)nmc + ga;
                for (size_t q = 0; q < (size_t)nmc * (size_t)ad; q++)
                    dY[q] *= g;
            } else {
                double objsum = 0.0;
                for (int k = 0; k < nmc; k++) {
                    float d = lo[k] - l[k];
                    int clamped = d < -cl || d > cl;
                    d = d < -cl ? -cl : (d > cl ? cl : d);
                    float rho = expf(d);
                    float slope;
                    objsum += fpo_surrogate(c, rho, A, &slope, &A_->clipped);
                    A_->ratio_sum += rho;
                    A_->ratio_max = fmax(A_->ratio_max, rho);
                    A_->ratio_min = fmin(A_->ratio_min, rho);
                    A_->kl += fpo_kl_term(d);
                    A_->n_ratio += 1.0;
                    float g = (clamped ? 0.0f : slope * rho * inv_n / (float)nmc) + ga;
                    for (int q = 0; q < ad; q++)
                        dY[(size_t)k * (size_t)ad + (size_t)q] *= g;
                }
                A_->policy_loss -= objsum / nmc;
            }
        }
        fpo_mlp_backward(&p->actor, theta, w->X, n * nmc, w->cacheA, w->dY, w->grad, NULL,
                         w->scratch);
    } else {
        int aout = p->actor.dims[p->actor.n_layers];
        fpo_mlp_forward(&p->actor, theta, w->NO, n, w->Y, w->cacheA, w->scratch);
        float *gstd = w->grad + p->std_off;
        for (int r = 0; r < n; r++) {
            size_t i = (size_t)idx[r];
            float A = (o->adv[i] - ps->adv_mean) * ps->adv_scale;
            const float *y = w->Y + (size_t)r * (size_t)aout;
            float *dy = w->dY + (size_t)r * (size_t)aout;
            const float *a = b->act + i * (size_t)ad;
            double lp = 0.0, ent = 0.0;
            for (int d = 0; d < ad; d++) {
                float m_, sg, sr;
                gaussian_row(p, y, d, &m_, &sg, &sr);
                lp += gauss_term(a[d], m_, sg);
                ent += 0.5f + LOG_SQRT_2PI + logf(sg);
            }
            float logr = (float)lp - o->old[i];
            float rho = expf(logr);
            float slope;
            float obj = fpo_surrogate(c, rho, A, &slope, &A_->clipped);
            A_->policy_loss -= obj;
            A_->entropy += ent;
            A_->ratio_sum += rho;
            A_->ratio_max = fmax(A_->ratio_max, rho);
            A_->ratio_min = fmin(A_->ratio_min, rho);
            A_->kl += fpo_kl_term(logr);
            A_->n_ratio += 1.0;
            /* dLoss/dlogp = -slope * rho / n; entropy term -coef * H / n. */
            float glp = -slope * rho * inv_n;
            float gent = -c->entropy_coef * inv_n;
            for (int d = 0; d < ad; d++) {
                float m_, sg, sr;
                gaussian_row(p, y, d, &m_, &sg, &sr);
                float diff = a[d] - m_;
                float isg = 1.0f / sg;
                dy[d] = glp * diff * isg * isg;
                if (p->cfg.std_mode != FPO_STD_FIXED) {
                    float dsigma = glp * (diff * diff * isg * isg * isg - isg) + gent * isg;
                    float ds = dsigma * fpo_sigmoid(sr);
                    if (p->cfg.std_mode == FPO_STD_STATE_DEPENDENT)
                        dy[ad + d] = ds;
                    else
                        gstd[d] += ds;
                }
            }
        }
        fpo_mlp_backward(&p->actor, theta, w->NO, n, w->cacheA, w->dY, w->grad, NULL, w->scratch);
    }

    /* ---- value ---- */
    fpo_mlp_forward(&p->critic, theta + p->critic_off, w->NO, n, w->V, w->cacheC, w->scratch);
    for (int r = 0; r < n; r++) {
        float e = w->V[r] - o->ret[idx[r]];
        A_->value_loss += 0.5 * (double)e * e;
        w->dV[r] = c->value_coef * e * inv_n;
    }
    fpo_mlp_backward(&p->critic, theta + p->critic_off, w->NO, n, w->cacheC, w->dV,
                     w->grad + p->critic_off, NULL, w->scratch);
}

/* Rows per sub-batch: the activations of one forward/backward stay in the
 * caches (the loss is separable per transition once the minibatch's
 * advantage statistics are fixed, so sub-batches only change summation
 * order). */
#define FPO_PASS_ROWS 2048

static void run_pass(void *ctx, int task, int n_tasks)
{
    pass *ps = ctx;
    fpo_optimizer *o = ps->o;
    work *w = &o->w[task];
    int per = (ps->n + n_tasks - 1) / n_tasks;
    int begin = task * per, end = begin + per > ps->n ? ps->n : begin + per;
    if (ps->mode == PASS_TRAIN && ps->zero_grad)
        memset(w->grad, 0, o->n_params * sizeof(float));
    int sub = o->n_mc > 0 ? FPO_PASS_ROWS / o->n_mc : FPO_PASS_ROWS;
    if (sub < 1)
        sub = 1;
    for (int s0 = begin; s0 < end; s0 += sub)
        pass_rows(ps, w, ps->idx + s0, end - s0 < sub ? end - s0 : sub);
}

/* Gradient (into o->grad) and statistics of this rank's rows idx[0..n) of a
 * minibatch of n_all rows over all ranks, at the current parameters, with
 * advantages normalized by (adv_mean, adv_scale). The threads' parts are
 * reduced in a fixed order so results depend only on the thread count. Rows
 * beyond chunk * threads (possible with other ranks) run in further passes
 * that add to the same gradients. */
static void minibatch(fpo_optimizer *o, fpo_policy *p, const fpo_buffer *b, const int *idx, int n,
                      int n_all, float adv_mean, float adv_scale, acc *out)
{
    size_t np = o->n_params;
    pass ps = {o, p, b, idx, n, PASS_TRAIN, adv_mean, adv_scale, 1.0f / (float)n_all, 1};
    for (int t = 0; t < o->threads; t++) {
        memset(&o->w[t].a, 0, sizeof(acc));
        o->w[t].a.ratio_min = DBL_MAX;
        o->w[t].a.ratio_max = -DBL_MAX;
    }
    int cap = o->chunk * o->threads;
    int done = 0;
    do {
        ps.idx = idx + done;
        ps.n = n - done < cap ? n - done : cap;
        fpo_pool_run(o->pool, run_pass, &ps, o->threads);
        ps.zero_grad = 0;
        done += ps.n;
    } while (done < n);
    memcpy(o->grad, o->w[0].grad, np * sizeof(float));
    for (int t = 1; t < o->threads; t++) {
        const float *g = o->w[t].grad;
        for (size_t q = 0; q < np; q++)
            o->grad[q] += g[q];
    }
    memset(out, 0, sizeof *out);
    out->ratio_min = DBL_MAX;
    out->ratio_max = -DBL_MAX;
    for (int t = 0; t < o->threads; t++) {
        const acc *a = &o->w[t].a;
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
static double minibatch_loss(const fpo_optimizer_config *c, const acc *a, int n)
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
    acc a;
    minibatch(o, p, b, idx, n, n, am, as, &a);
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

/* ---- the update ------------------------------------------------------------ */

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

/* Values of arbitrary observations (final obs, last obs), in chunks. */
static int values_of(fpo_optimizer *o, fpo_policy *p, const float *obs, int n, float *out)
{
    work *w = &o->w[0];
    int od = o->obs_dim;
    for (int s = 0; s < n; s += o->chunk) {
        int m = n - s < o->chunk ? n - s : o->chunk;
        if (fpo_policy_normalize(p, obs + (size_t)s * (size_t)od, m, w->NO, od))
            return FPO_ENONFINITE;
        fpo_mlp_forward(&p->critic, p->params + p->critic_off, w->NO, m, out + s, NULL,
                        w->scratch);
    }
    return FPO_OK;
}

/* Step 1: the observation statistics gathered from this rank's buffer, merged
 * over ranks (every rank merges all ranks' pending statistics in rank order,
 * so all get the same bits) and committed: frozen from here on. One
 * collective sum whose size depends only on the rank count and obs_dim; its
 * outcome is agreed, and it also checks that all ranks have the same
 * settings before the exchanges whose sizes and number depend on them. */
static int obs_stats_phase(fpo_optimizer *o, fpo_policy *p, const fpo_buffer *b)
{
    int rc = fpo_policy_obs_accumulate(p, b->obs, o->B);
    if (rc)
        rc = fpo_fail(&o->err, rc, "observation statistics: %s", p->err.msg);
    if (fpo_coll_on(&o->coll)) {
        size_t P = (size_t)o->coll.size, r = (size_t)o->coll.rank;
        size_t stride = 1 + 2 * (size_t)o->obs_dim;
        double *x = o->xb;
        /* [P failure flags][P settings fingerprints][P pending statistics] */
        memset(x, 0, (2 * P + P * stride) * sizeof(double));
        uint32_t fp = fpo_optimizer_config_fingerprint(&o->cfg, FPO_FINGERPRINT_INIT);
        x[P + r] = (double)fp;
        if (!rc)
            fpo_policy_pending_export(p, x + 2 * P + r * stride);
        if ((rc = fpo_coll_sum_outcome(&o->coll, &o->err, x, 2 * P + P * stride, 1, rc,
                                       "observation statistics", "the update")))
            return rc;
        for (size_t q = 0; q < P; q++)
            if (x[P + q] != (double)fp)
                return fpo_fail(&o->err, FPO_EMISMATCH,
                                "rank %zu has other optimizer settings than rank %zu (tunables "
                                "must be set the same on all ranks)",
                                q, r);
        fpo_policy_pending_merge(p, x + 2 * P, (int)P, stride);
    } else if (rc) {
        return rc;
    }
    fpo_policy_obs_commit(p);
    return FPO_OK;
}

/* Steps 2-4 on this rank's buffer (no collective call): normalized
 * observations, the theta_old pass, bootstrap values, GAE, and the sums
 * behind the reported advantage and value statistics
 * (sum A, sum A^2, sum R, sum R^2, sum (R - V), sum (R - V)^2). */
static int local_phase(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b, double sums[6])
{
    int rc;
    int B = o->B, N = o->num_envs, od = o->obs_dim;
    if (fpo_policy_normalize(p, b->obs, B, o->nobs, od))
        return fpo_fail(&o->err, FPO_ENONFINITE, "non-finite observation in the buffer");

    /* 2. theta_old pass: values and l_old / logp_old, chunked like training. */
    for (int i = 0; i < B; i++)
        o->perm[i] = i;
    int step = o->chunk * o->threads;
    for (int s = 0; s < B; s += step) {
        pass ps = {o, p, b, o->perm + s, B - s < step ? B - s : step, PASS_OLD, 0, 1, 0, 0};
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
    work *w0 = &o->w[0];
    for (int s = 0; s < n_end; s += o->chunk) {
        int m = n_end - s < o->chunk ? n_end - s : o->chunk;
        for (int r = 0; r < m; r++)
            if (fpo_policy_normalize(p, b->final_obs + (size_t)o->perm[s + r] * (size_t)od, 1,
                                     w0->NO + (size_t)r * (size_t)od, od))
                return fpo_fail(&o->err, FPO_ENONFINITE, "non-finite final observation");
        fpo_mlp_forward(&p->critic, p->params + p->critic_off, w0->NO, m, w0->V, NULL,
                        w0->scratch);
        for (int r = 0; r < m; r++)
            o->fvalues[o->perm[s + r]] = w0->V[r];
    }
    if ((rc = values_of(o, p, b->last_obs, N, o->lastv)))
        return fpo_fail(&o->err, rc, "non-finite last observation");
    /* 4. GAE. */
    rc = fpo_gae(o->adv, o->ret, b->rew, b->flags, o->values, o->fvalues, o->lastv, o->horizon,
                 N, o->cfg.gamma, o->cfg.gae_lambda, o->cfg.reward_scale);
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
    double sums[6] = {0};
    int lrc = local_phase(o, p, b, sums);
    if (fpo_coll_on(&o->coll)) {
        size_t P = (size_t)o->coll.size;
        double *x = o->xb;
        memset(x, 0, (P + 6) * sizeof(double));
        memcpy(x + P, sums, sizeof sums);
        if ((lrc = fpo_coll_sum_outcome(&o->coll, &o->err, x, P + 6, 1, lrc, "update statistics",
                                        "the update")))
            return lrc;
        memcpy(sums, x + P, sizeof sums);
    } else if (lrc) {
        return lrc;
    }
    prepare_stats(sums, o->G, st);
    return FPO_OK;
}

static int params_finite(const fpo_policy *p)
{
    return fpo_all_finite(p->params, p->n_params);
}

/* Undo an update: parameters, Adam state, step count, statistics. */
static void roll_back(fpo_optimizer *o, fpo_policy *p, int64_t step)
{
    size_t np = o->n_params;
    memcpy(p->params, o->bak_params, np * sizeof(float));
    memcpy(o->m, o->bak_m, np * sizeof(float));
    memcpy(o->v, o->bak_v, np * sizeof(float));
    o->step = step;
    fpo_policy_stats_restore(p, o->bak_mean, o->bak_m2, o->bak_count);
}

/* Statistics summed over the steps of an update (this rank's rows). */
enum { T_POLICY, T_VALUE, T_ENTROPY, T_RATIO, T_NRATIO, T_CLIPPED, T_KL, T_CFM, T_CFM_OLD,
       T_BOUND, T_ROWS, T_COUNT };
_Static_assert(T_COUNT <= 16, "xb_need reserves 16 doubles for the statistics sums");

/* FPO's drift statistics of this rank's buffer, before any step: the sum of
 * l_old over all pairs, its largest value, and the count of actions at or
 * beyond +-bound. "At" matters: the samplers clamp x_0 to +-raw_clip, which
 * is also bound's default (3), so a clamped action sits exactly on the
 * bound, and a strict test counted none of them. */
static void drift_sums(const fpo_optimizer *o, const fpo_buffer *b, double tot[T_COUNT],
                       double *lmax)
{
    if (!o->n_mc)
        return;
    size_t np_ = (size_t)o->B * (size_t)o->n_mc;
    double s = 0.0;
    for (size_t q = 0; q < np_; q++) {
        s += o->old[q];
        *lmax = fmax(*lmax, (double)o->old[q]);
    }
    int ad = o->act_dim, nb = 0;
    for (int i = 0; i < o->B; i++) {
        const float *a = b->act + (size_t)i * (size_t)ad;
        int out = 0;
        for (int d = 0; d < ad; d++)
            out |= fabsf(a[d]) >= o->cfg.bound;
        nb += out;
    }
    tot[T_CFM_OLD] = s / o->n_mc; /* per transition: the mean over its pairs */
    tot[T_BOUND] = nb;
    tot[T_ROWS] = o->B;
}

int fpo_optimizer_update(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b, fpo_update_stats *stats)
{
    if (!o)
        return FPO_NULL_ARG("o");
    if (!p || !b)
        return fpo_fail(&o->err, FPO_EINVAL, "policy or buffer is NULL");
    /* The parameter count alone is not enough: two networks of different
     * shapes (time embedding, widths) can have the same count, and the
     * workspaces were sized for this optimizer's shapes. */
    if (p->n_params != o->n_params ||
        !fpo_policy_fits(p, o->kind, &o->actor_shape, &o->critic_shape))
        return fpo_fail(&o->err, FPO_EMISMATCH, "the policy does not fit this optimizer");
    if (b->cfg.num_envs != o->num_envs || b->cfg.horizon != o->horizon ||
        b->cfg.obs_dim != o->obs_dim || b->cfg.act_dim != o->act_dim ||
        (o->n_mc && b->cfg.n_mc != o->n_mc))
        return fpo_fail(&o->err, FPO_EMISMATCH, "the buffer does not fit this optimizer");
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

    fpo_update_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    size_t np = o->n_params;
    memcpy(o->bak_params, p->params, np * sizeof(float));
    memcpy(o->bak_m, o->m, np * sizeof(float));
    memcpy(o->bak_v, o->v, np * sizeof(float));
    int64_t bak_step = o->step;
    fpo_policy_stats_save(p, o->bak_mean, o->bak_m2, &o->bak_count);

    const fpo_optimizer_config *c = &o->cfg;
    int G = o->G, mbs = c->minibatches, epochs = c->epochs;
    size_t P = (size_t)o->coll.size;
    int on = fpo_coll_on(&o->coll);

    /* Step 1 (collective, agreed), steps 2-4 (local). */
    int rc = obs_stats_phase(o, p, b);
    if (rc) {
        fpo_policy_stats_restore(p, o->bak_mean, o->bak_m2, o->bak_count);
        return rc;
    }
    double *x = o->xb;
    double *mbsum = x + P + 6; /* per (epoch, minibatch): sum A, sum A^2 */
    memset(x, 0, (P + 6 + 2 * (size_t)epochs * (size_t)mbs) * sizeof(double));
    int lrc = local_phase(o, p, b, x + P);
    if (!lrc) {
        /* Advantage sums of every minibatch of every epoch, from a copy of
         * the shuffling stream (the epochs below replay it), so that all
         * ranks normalize with the statistics of the whole minibatch in one
         * exchange. Advantages do not change during the update. */
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
    lrc = fpo_coll_sum_outcome(&o->coll, &o->err, x, P + 6 + 2 * (size_t)epochs * (size_t)mbs, 1,
                               lrc, "advantage statistics", "the update");
    if (lrc) {
        fpo_policy_stats_restore(p, o->bak_mean, o->bak_m2, o->bak_count);
        return lrc;
    }
    prepare_stats(x + P, G, &st);

    fpo_adam_cfg ac = {c->lr * o->lr_scale, c->adam_beta1, c->adam_beta2, c->adam_eps, c->weight_decay};
    /* Sums of this rank's rows over the steps taken; reduced at the end. */
    double tot[T_COUNT] = {0};
    double ratio_max = -DBL_MAX, ratio_min = DBL_MAX;
    double gn_sum = 0.0, last_cfm_n = 0.0, cfm_max = 0.0;
    drift_sums(o, b, tot, &cfm_max);
    for (int ep = 0; ep < epochs; ep++) {
        shuffle(&o->rng, o->perm, G);
        for (int mb = 0; mb < mbs; mb++) {
            int s = mb_begin(G, mb, mbs), e = mb_begin(G, mb + 1, mbs);
            int n = e - s, nl;
            const int *idx = local_rows(o, o->perm + s, n, &nl);
            const double *ms = mbsum + 2 * ((size_t)ep * (size_t)mbs + (size_t)mb);
            float am, as;
            adv_norm(c, ms[0], ms[1], n, &am, &as);
            acc mbacc;
            minibatch(o, p, b, idx, nl, n, am, as, &mbacc);
            /* The gradient of the whole minibatch: this rank's rows were
             * scaled by 1 / n, so the sum over ranks is the mean over all.
             * A non-finite loss on any rank travels with it as a flag, so
             * every rank takes the same decisions below. */
            o->grad[np] = isfinite(minibatch_loss(c, &mbacc, n)) ? 0.0f : 1.0f;
            if ((rc = fpo_coll_sum_f32(&o->coll, &o->err, o->grad, np + 1, "gradient"))) {
                roll_back(o, p, bak_step);
                return rc;
            }
            double gn = fpo_grad_norm(o->grad, np);
            /* Divergence guard: never apply a NaN step, nor one whose square
             * overflows float32 in Adam's second moment: v would become Inf
             * and freeze those parameters for the rest of training (and no
             * checkpoint could hold it). Clipping cannot help once g^2
             * overflows, since Adam squares before anything else. */
            if (!isfinite(gn) || o->grad[np] != 0.0f || gn > FPO_MAX_GRAD_NORM_APPLIED) {
                st.skipped_steps++;
                continue;
            }
            /* Spike guard: Adam's second moment holds the running mean of
             * g^2, so sqrt(sum v / (1 - beta2^step)) is the running RMS of
             * the gradient norm; a step above spike_clip times it is scaled
             * down to that, so that one outlier minibatch cannot inflate v
             * and freeze the parameters for hundreds of updates
             * (docs/stability.md). Every rank holds the same v. */
            if (c->spike_clip > 0.0f && o->step > 0) {
                double sv = 0.0;
                for (size_t q = 0; q < np; q++)
                    sv += o->v[q];
                double bc2 = 1.0 - pow((double)c->adam_beta2, (double)o->step);
                double ref = c->spike_clip * sqrt(sv / bc2);
                if (gn > ref && ref > 0.0) {
                    fpo_scale(o->grad, np, (float)(ref / gn));
                    gn = ref;
                    st.spike_steps++;
                }
            }
            if (c->max_grad_norm > 0.0f && gn > c->max_grad_norm)
                fpo_scale(o->grad, np, (float)(c->max_grad_norm / gn));
            o->step++;
            fpo_adam_step(p->params, o->grad, o->m, o->v, np, &ac, o->step);
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
    int diverged = !params_finite(p);
    if (on) {
        /* Per rank: diverged, state fingerprint, ratio max, ratio min, the
         * largest l_old (an all-gather); then the statistics sums. */
        memset(x, 0, (5 * P + T_COUNT) * sizeof(double));
        double *slot = x + 5 * (size_t)o->coll.rank;
        uint32_t fp = state_fingerprint(o, p);
        slot[0] = diverged;
        slot[1] = (double)fp;
        slot[2] = ratio_max;
        slot[3] = ratio_min;
        slot[4] = cfm_max;
        memcpy(x + 5 * P, tot, sizeof tot);
        if ((rc = fpo_coll_sum_f64(&o->coll, &o->err, x, 5 * P + T_COUNT, "update statistics"))) {
            roll_back(o, p, bak_step);
            return rc;
        }
        int any_diverged = 0, same = 1;
        for (size_t q = 0; q < P; q++) {
            const double *sq = x + 5 * q;
            any_diverged |= sq[0] != 0.0;
            same &= sq[1] == (double)fp;
            ratio_max = fmax(ratio_max, sq[2]);
            ratio_min = fmin(ratio_min, sq[3]);
            cfm_max = fmax(cfm_max, sq[4]);
        }
        memcpy(tot, x + 5 * P, sizeof tot);
        if (!same) {
            roll_back(o, p, bak_step);
            return fpo_fail(&o->err, FPO_EMISMATCH,
                            "after the update the ranks hold different parameters (is the "
                            "collective's sum bit-identical on all ranks? were tunables set "
                            "the same on all?)");
        }
        diverged = any_diverged;
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
    }
    if (stats && (rc = fpo_struct_out(&o->err, FPO_S_UPDATE_STATS, stats, &st, sizeof st)))
        return rc;
    if (st.steps == 0 && st.skipped_steps > 0) {
        fpo_policy_stats_restore(p, o->bak_mean, o->bak_m2, o->bak_count);
        return fpo_fail(&o->err, FPO_EDIVERGED, "every step of the update was non-finite");
    }
    return FPO_OK;
}

void fpo_optimizer_state(fpo_optimizer *o, fpo_opt_state *out)
{
    out->m = o->m;
    out->v = o->v;
    out->n = o->n_params;
    out->step = &o->step;
    out->rng = &o->rng;
    out->cfg = &o->cfg;
}
