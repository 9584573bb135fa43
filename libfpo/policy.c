/* Policies: construction, parameters and observation statistics. */
#include <math.h>
#include <string.h>

#include "abi.h"
#include "coll.h"
#include "internal.h"
#include "policy_impl.h"
#include "rng.h"
#include "util.h"

static void policy_defaults(fpo_policy_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->kind = FPO_POLICY_FLOW;
    cfg->actor_layers = 4;
    cfg->critic_layers = 5;
    for (int i = 0; i < FPO_MAX_LAYERS; i++) {
        cfg->actor_hidden[i] = 32;
        cfg->critic_hidden[i] = 256;
    }
    cfg->actor_activation = FPO_ACT_SILU;
    cfg->critic_activation = FPO_ACT_SILU;
    cfg->flow_output_scale = 0.25f;
    cfg->time_embedding = FPO_TIME_SINUSOIDAL;
    cfg->std_mode = FPO_STD_STATE_INDEPENDENT;
    cfg->init_std = 1.0f;
    cfg->min_std = 1e-3f;
    cfg->squash = FPO_SQUASH_TANH;
    cfg->normalize_obs = 1;
    cfg->obs_clip = 10.0f;
    cfg->seed = 0;
    cfg->raw_clip = 3.0f;
}

FPO_DEFINE_CONFIG_INIT(fpo_policy_config, POLICY_CONFIG, policy_defaults)

/* Largest size any dimension may have; keeps every product far from
 * overflow and catches garbage in configs. */
#define FPO_MAX_DIM 65536

static int check_layers(fpo_errbuf *err, const char *what, int layers, const int *hidden,
                        fpo_activation act)
{
    if (layers < 0 || layers > FPO_MAX_LAYERS)
        return fpo_fail(err, FPO_ERANGE, "%s_layers must be in [0, %d], got %d", what,
                        FPO_MAX_LAYERS, layers);
    for (int i = 0; i < layers; i++)
        if (hidden[i] < 1 || hidden[i] > FPO_MAX_DIM)
            return fpo_fail(err, FPO_ERANGE, "%s_hidden[%d] must be in [1, %d], got %d", what,
                            i, FPO_MAX_DIM, hidden[i]);
    if ((unsigned)act > FPO_ACT_TANH)
        return fpo_fail(err, FPO_ERANGE, "%s_activation %d is not an fpo_activation", what,
                        (int)act);
    return FPO_OK;
}

int fpo_policy_check_config(fpo_errbuf *err, const fpo_policy_config *c)
{
    int rc;
    if ((unsigned)c->kind > FPO_POLICY_GAUSSIAN)
        return fpo_fail(err, FPO_ERANGE, "kind %d is not an fpo_policy_kind", (int)c->kind);
    if (c->obs_dim < 1 || c->obs_dim > FPO_MAX_DIM)
        return fpo_fail(err, FPO_ERANGE, "obs_dim must be in [1, %d], got %d", FPO_MAX_DIM,
                        c->obs_dim);
    if (c->act_dim < 1 || c->act_dim > FPO_MAX_DIM)
        return fpo_fail(err, FPO_ERANGE, "act_dim must be in [1, %d], got %d", FPO_MAX_DIM,
                        c->act_dim);
    if (c->chunk < 0 || c->chunk > FPO_MAX_CHUNK)
        return fpo_fail(err, FPO_ERANGE,
                        "chunk (actions per policy query) must be in [1, %d] (0: 1), got %lld",
                        FPO_MAX_CHUNK, (long long)c->chunk);
    if ((int64_t)fpo_policy_chunk_of(c) * c->act_dim > FPO_MAX_DIM)
        return fpo_fail(err, FPO_ERANGE, "chunk x act_dim = %lld x %d is more than %d",
                        (long long)c->chunk, c->act_dim, FPO_MAX_DIM);
    if ((rc = check_layers(err, "actor", c->actor_layers, c->actor_hidden, c->actor_activation)))
        return rc;
    if ((rc = check_layers(err, "critic", c->critic_layers, c->critic_hidden,
                           c->critic_activation)))
        return rc;
    if (!isfinite(c->flow_output_scale) || c->flow_output_scale <= 0.0f)
        return fpo_fail(err, FPO_ERANGE, "flow_output_scale must be finite and > 0");
    if ((unsigned)c->time_embedding > FPO_TIME_RAW)
        return fpo_fail(err, FPO_ERANGE, "time_embedding %d is not valid", (int)c->time_embedding);
    if ((unsigned)c->std_mode > FPO_STD_FIXED)
        return fpo_fail(err, FPO_ERANGE, "std_mode %d is not valid", (int)c->std_mode);
    if (!isfinite(c->min_std) || c->min_std < 0.0f)
        return fpo_fail(err, FPO_ERANGE, "min_std must be finite and >= 0");
    /* A learned std is softplus(s) + min_std: with min_std 0 it can reach 0 and
     * the log-likelihood's 1/std is unbounded (FIXED uses init_std alone). */
    if (c->kind == FPO_POLICY_GAUSSIAN && c->std_mode != FPO_STD_FIXED && !(c->min_std > 0.0f))
        return fpo_fail(err, FPO_ERANGE,
                        "min_std must be > 0 for a Gaussian policy with a learned std, got %g",
                        (double)c->min_std);
    if (!isfinite(c->init_std) || c->init_std <= c->min_std)
        return fpo_fail(err, FPO_ERANGE, "init_std (%g) must be finite and > min_std (%g)",
                        (double)c->init_std, (double)c->min_std);
    if ((unsigned)c->squash > FPO_SQUASH_CLIP)
        return fpo_fail(err, FPO_ERANGE, "squash %d is not valid", (int)c->squash);
    if (c->normalize_obs != 0 && c->normalize_obs != 1)
        return fpo_fail(err, FPO_ERANGE, "normalize_obs must be 0 or 1, got %d", c->normalize_obs);
    if (!isfinite(c->obs_clip) || c->obs_clip <= 0.0f)
        return fpo_fail(err, FPO_ERANGE, "obs_clip must be finite and > 0");
    if (!isfinite(c->raw_clip) || c->raw_clip < 0.0f)
        return fpo_fail(err, FPO_ERANGE, "raw_clip must be finite and >= 0");
    for (int i = 0; i < c->act_dim; i++) {
        float lo = c->action_low ? c->action_low[i] : -1.0f;
        float hi = c->action_high ? c->action_high[i] : 1.0f;
        if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
            return fpo_fail(err, FPO_ERANGE, "action bounds [%g, %g] of dimension %d are invalid",
                            (double)lo, (double)hi, i);
    }
    return FPO_OK;
}

int fpo_policy_chunk_of(const fpo_policy_config *c)
{
    return c->chunk > 0 ? (int)c->chunk : 1;
}

int fpo_policy_chunk_dim(const fpo_policy_config *c)
{
    return fpo_policy_chunk_of(c) * c->act_dim;
}

float fpo_softplus(float s)
{
    return s > 20.0f ? s : log1pf(expf(s));
}

float fpo_sigmoid(float s)
{
    return 1.0f / (1.0f + expf(-s));
}

void fpo_time_embed(const fpo_policy *p, float t, float *out)
{
    if (p->emb_dim == 1) {
        out[0] = t;
        return;
    }
    /* cos/sin of t * 2^k for k = 0..3 from one sincos and the double-angle
     * identities (error ~1e-6, the same for sampler and optimizer, which
     * share this function). It runs for every network row of every FPO
     * update: four sincosf calls per row were 8% of GridWorld's training. */
    float c = cosf(t), s = sinf(t);
    for (int k = 0; k < 4; k++) {
        out[k] = c;
        out[4 + k] = s;
        float c2 = 2.0f * c * c - 1.0f;
        s = 2.0f * s * c;
        c = c2;
    }
}

static void policy_free(fpo_policy *p)
{
    fpo_mem m = p->mem;
    fpo_mem_free(&m, p->params);
    fpo_mem_free(&m, p->act_low);
    fpo_mem_free(&m, p->act_high);
    fpo_obsstats_free(&p->obs, &m);
    fpo_mem_free(&m, p);
}

int fpo_policy_shapes(const fpo_policy_config *c, fpo_mlp *actor, fpo_mlp *critic, int *emb_dim,
                      size_t *n_std)
{
    int od = c->obs_dim, ad = fpo_policy_chunk_dim(c); /* the whole chunk vector */
    int in, nout;
    float scale;
    *emb_dim = 0;
    *n_std = 0;
    if (c->kind == FPO_POLICY_FLOW) {
        *emb_dim = c->time_embedding == FPO_TIME_RAW ? 1 : FPO_TIME_EMB_SIN;
        in = od + ad + *emb_dim;
        nout = ad;
        scale = c->flow_output_scale;
    } else {
        in = od;
        nout = c->std_mode == FPO_STD_STATE_DEPENDENT ? 2 * ad : ad;
        scale = 1.0f;
        *n_std = c->std_mode == FPO_STD_STATE_INDEPENDENT ? (size_t)ad : 0;
    }
    int rc = fpo_mlp_init(actor, in, c->actor_layers, c->actor_hidden, nout, c->actor_activation,
                          scale);
    if (rc == FPO_OK)
        rc = fpo_mlp_init(critic, od, c->critic_layers, c->critic_hidden, 1, c->critic_activation,
                          1.0f);
    return rc;
}

int fpo_policy_create_internal(fpo_policy **out, const fpo_policy_config *c, const fpo_mem *mem,
                               fpo_errbuf *err)
{
    int rc = fpo_policy_check_config(err, c);
    if (rc)
        return rc;
    fpo_policy *p = fpo_mem_calloc(mem, 1, sizeof *p);
    if (!p)
        return fpo_fail(err, FPO_ENOMEM, "out of memory allocating the policy");
    p->mem = *mem;
    p->cfg = *c;
    p->cfg.action_low = p->cfg.action_high = NULL;
    p->cfg.allocator = NULL;
    p->cfg.chunk = fpo_policy_chunk_of(c);

    int od = c->obs_dim, ad = c->act_dim, cd = fpo_policy_chunk_dim(c);
    rc = fpo_policy_shapes(c, &p->actor, &p->critic, &p->emb_dim, &p->n_std);
    if (rc) {
        policy_free(p);
        return fpo_fail(err, rc, "invalid network shape");
    }
    p->std_off = p->actor.n_params;
    p->critic_off = p->std_off + p->n_std;
    p->n_params = p->critic_off + p->critic.n_params;

    p->params = fpo_mem_calloc(mem, p->n_params, sizeof(float));
    p->act_low = fpo_mem_calloc(mem, (size_t)ad, sizeof(float));
    p->act_high = fpo_mem_calloc(mem, (size_t)ad, sizeof(float));
    int orc = fpo_obsstats_init(&p->obs, mem, od, c->normalize_obs, c->obs_clip);
    if (!p->params || !p->act_low || !p->act_high || orc) {
        policy_free(p);
        return fpo_fail(err, FPO_ENOMEM, "out of memory allocating policy arrays");
    }
    for (int i = 0; i < ad; i++) {
        p->act_low[i] = c->action_low ? c->action_low[i] : -1.0f;
        p->act_high[i] = c->action_high ? c->action_high[i] : 1.0f;
    }

    fpo_rng rng;
    fpo_rng_init(&rng, c->seed, 0x706f6c696379ull /* "policy" */);
    fpo_mlp_init_params(&p->actor, p->params, &rng);
    fpo_mlp_init_params(&p->critic, p->params + p->critic_off, &rng);
    if (c->kind == FPO_POLICY_GAUSSIAN) {
        /* softplus(s) + min_std == init_std */
        float target = c->init_std - c->min_std;
        float s = target > 20.0f ? target : logf(expm1f(target));
        for (size_t i = 0; i < p->n_std; i++)
            p->params[p->std_off + i] = s;
        if (c->std_mode == FPO_STD_STATE_DEPENDENT) {
            /* The std head starts at the same std for every state: zero its
             * weights, put s in its biases. */
            int l = p->actor.n_layers - 1;
            int prev = p->actor.dims[l];
            float *w = p->params + p->actor.w_off[l];
            float *b = p->params + p->actor.b_off[l];
            /* W is prev x nout or nout x prev depending on the MLP's layout;
             * either way entries of outputs cd..2cd-1 are zeroed by index. */
            for (int o = cd; o < 2 * cd; o++) {
                for (int j = 0; j < prev; j++)
                    w[fpo_w_index(&p->actor, l, o, j)] = 0.0f;
                b[o] = s;
            }
        }
    }
    /* Deployment default: FPO++'s zero sampling, 10 Euler steps. */
    p->ds_integrator = 0;
    p->ds_steps = 10;
    p->ds_init_noise = 1;
    p->ds_deterministic = 0;
    p->ds_sde_noise = 0.0f;
    *out = p;
    return FPO_OK;
}

int fpo_policy_create(fpo_policy **out, const fpo_policy_config *cfg)
{
    fpo_policy_config c;
    fpo_mem mem;
    if (!out)
        return FPO_NULL_ARG("out");
    *out = NULL;
    int rc = FPO_COPY_CONFIG(NULL, POLICY_CONFIG, &c, cfg, fpo_policy_config_init(&c));
    if (rc)
        return rc;
    if ((rc = fpo_mem_init(&mem, c.allocator, NULL)))
        return rc;
    return fpo_policy_create_internal(out, &c, &mem, NULL);
}

int fpo_policy_clone(fpo_policy **out, const fpo_policy *src)
{
    if (!out || !src)
        return FPO_NULL_ARG("out or src");
    *out = NULL;
    fpo_policy_config c = src->cfg;
    c.action_low = src->act_low;
    c.action_high = src->act_high;
    fpo_policy *p;
    int rc = fpo_policy_create_internal(&p, &c, &src->mem, NULL);
    if (rc)
        return rc;
    memcpy(p->params, src->params, src->n_params * sizeof(float));
    fpo_obsstats_copy(&p->obs, &src->obs);
    p->ds_integrator = src->ds_integrator;
    p->ds_steps = src->ds_steps;
    p->ds_init_noise = src->ds_init_noise;
    p->ds_deterministic = src->ds_deterministic;
    p->ds_sde_noise = src->ds_sde_noise;
    *out = p;
    return FPO_OK;
}

void fpo_policy_destroy(fpo_policy *p)
{
    if (p)
        policy_free(p);
}

const char *fpo_policy_errmsg(const fpo_policy *p)
{
    return p ? p->err.msg : "policy is NULL";
}

int fpo_policy_get_info(const fpo_policy *p, fpo_policy_info *out)
{
    if (!p)
        return FPO_NULL_ARG("p");
    fpo_policy_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.kind = p->cfg.kind;
    info.obs_dim = p->cfg.obs_dim;
    info.act_dim = p->cfg.act_dim;
    info.actor_params = p->critic_off;
    info.critic_params = p->critic.n_params;
    info.obs_count = p->obs.count;
    return fpo_struct_out(NULL, FPO_S_POLICY_INFO, out, &info, sizeof info);
}

int fpo_policy_get_config(const fpo_policy *p, fpo_policy_config *out)
{
    if (!p)
        return FPO_NULL_ARG("p");
    return fpo_struct_out(NULL, FPO_S_POLICY_CONFIG, out, &p->cfg, sizeof p->cfg);
}

static int net_range(const fpo_policy *p, fpo_net net, size_t *off, size_t *n)
{
    switch (net) {
    case FPO_NET_ACTOR: *off = 0; *n = p->critic_off; return FPO_OK;
    case FPO_NET_CRITIC: *off = p->critic_off; *n = p->critic.n_params; return FPO_OK;
    case FPO_NET_ALL: *off = 0; *n = p->n_params; return FPO_OK;
    default: return FPO_ERANGE;
    }
}

int fpo_policy_get_params(const fpo_policy *p, fpo_net net, float *out, size_t n)
{
    size_t off, cnt;
    if (!p)
        return FPO_NULL_ARG("p");
    /* A const handle: the message goes to fpo_last_errmsg() (thread-local),
     * so concurrent readers of one policy never write to it. */
    if (!out)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_policy_get_params: out is NULL");
    if (net_range(p, net, &off, &cnt))
        return fpo_fail(NULL, FPO_ERANGE, "fpo_policy_get_params: net %d is not an fpo_net",
                        (int)net);
    if (n != cnt)
        return fpo_fail(NULL, FPO_ESIZE, "fpo_policy_get_params: n is %zu, the net has %zu floats",
                        n, cnt);
    memcpy(out, p->params + off, cnt * sizeof(float));
    return FPO_OK;
}

int fpo_policy_set_params(fpo_policy *p, fpo_net net, const float *params, size_t n)
{
    size_t off, cnt;
    if (!p)
        return FPO_NULL_ARG("p");
    if (!params)
        return fpo_fail(&p->err, FPO_EINVAL, "params is NULL");
    if (net_range(p, net, &off, &cnt))
        return fpo_fail(&p->err, FPO_ERANGE, "net %d is not an fpo_net", (int)net);
    if (n != cnt)
        return fpo_fail(&p->err, FPO_ESIZE, "expected %zu parameters, got %zu", cnt, n);
    size_t bad = fpo_first_nonfinite(params, n);
    if (bad < n)
        return fpo_fail(&p->err, FPO_ENONFINITE, "parameter %zu is not finite", bad);
    memcpy(p->params + off, params, cnt * sizeof(float));
    return FPO_OK;
}

/* ---- observation statistics --------------------------------------------- */

void fpo_policy_view_of(fpo_policy *p, fpo_policy_view *out)
{
    out->kind = p->cfg.kind;
    out->obs_dim = p->cfg.obs_dim;
    out->act_dim = fpo_policy_chunk_dim(&p->cfg);
    out->chunk = (int)p->cfg.chunk;
    out->actor = &p->actor;
    out->critic = &p->critic;
    out->emb_dim = p->emb_dim;
    out->params = p->params;
    out->n_params = p->n_params;
    out->std_off = p->std_off;
    out->n_std = p->n_std;
    out->critic_off = p->critic_off;
    out->std_mode = p->cfg.std_mode;
    out->init_std = p->cfg.init_std;
    out->min_std = p->cfg.min_std;
    out->raw_clip = p->cfg.raw_clip;
}

fpo_errbuf *fpo_policy_err(fpo_policy *p) { return &p->err; }
const fpo_mem *fpo_policy_mem(const fpo_policy *p) { return &p->mem; }

float *fpo_policy_params(fpo_policy *p) { return p->params; }

fpo_obsstats *fpo_policy_obsstats(fpo_policy *p) { return &p->obs; }
const fpo_obsstats *fpo_policy_obsstats_const(const fpo_policy *p) { return &p->obs; }

int fpo_policy_obs_accumulate(fpo_policy *p, const float *obs, int n)
{
    if (!p)
        return FPO_NULL_ARG("p");
    if (!obs || n < 0)
        return fpo_fail(&p->err, FPO_EINVAL, "obs is NULL or n < 0");
    size_t d = (size_t)p->cfg.obs_dim;
    size_t bad = fpo_obsstats_accumulate(&p->obs, obs, n);
    if (bad < (size_t)n * d)
        return fpo_fail(&p->err, FPO_ENONFINITE, "observation %zu, component %zu is not finite",
                        bad / d, bad % d);
    return FPO_OK;
}

uint32_t fpo_policy_fingerprint(const fpo_policy *p, uint32_t h)
{
    h = fpo_fingerprint(h, p->params, p->n_params * sizeof(float));
    return fpo_obsstats_fingerprint(&p->obs, h);
}

int fpo_policy_obs_commit(fpo_policy *p)
{
    if (!p)
        return FPO_NULL_ARG("p");
    fpo_obsstats_commit(&p->obs);
    return FPO_OK;
}

int fpo_policy_obs_stats(const fpo_policy *p, float *mean, float *std)
{
    if (!p)
        return FPO_NULL_ARG("p");
    if (!mean || !std)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_policy_obs_stats: mean or std is NULL");
    for (int i = 0; i < p->cfg.obs_dim; i++) {
        mean[i] = p->obs.norm_mean[i];
        std[i] = 1.0f / p->obs.norm_inv_std[i];
    }
    return FPO_OK;
}

int fpo_policy_normalize(const fpo_policy *p, const float *obs, int n, float *out, int stride)
{
    return fpo_obsstats_normalize(&p->obs, obs, n, out, stride);
}

int fpo_policy_fits(const fpo_policy *p, fpo_policy_kind kind, const fpo_mlp *actor,
                    const fpo_mlp *critic)
{
    /* The dims pin obs_dim (critic input), act_dim and the time embedding
     * (actor input and output) as well as every width. */
    return p->cfg.kind == kind && p->actor.n_layers == actor->n_layers &&
           p->critic.n_layers == critic->n_layers &&
           memcmp(p->actor.dims, actor->dims, sizeof actor->dims) == 0 &&
           memcmp(p->critic.dims, critic->dims, sizeof critic->dims) == 0;
}

int fpo_policy_same_shape(const fpo_policy *a, const fpo_policy *b)
{
    return fpo_policy_fits(a, b->cfg.kind, &b->actor, &b->critic) && a->n_params == b->n_params;
}

void fpo_policy_copy_state(fpo_policy *dst, const fpo_policy *src)
{
    memcpy(dst->params, src->params, src->n_params * sizeof(float));
    fpo_obsstats_copy(&dst->obs, &src->obs);
}
