/* Samplers: actions and values from a policy with no allocation. */
#include <math.h>
#include <string.h>

#include "abi.h"
#include "fpo/sampler.h"
#include "fpmode.h"
#include "internal.h"
#include "mlp_direct.h"
#include "policy_impl.h"
#include "rng.h"
#include "util.h"

struct fpo_sampler {
    fpo_errbuf err;
    fpo_mem mem;
    fpo_sampler_config cfg;
    fpo_rng rng;
    fpo_policy_kind kind;
    /* act_dim: the whole chunk vector, chunk x env_act_dim (policy_view.h) */
    int obs_dim, act_dim, env_act_dim, in_dim, out_dim, emb_dim;
    fpo_mlp actor, critic;
    /* Scratch for max_batch rows. */
    float *X;       /* actor input [max_batch x in_dim] */
    float *x, *xe;  /* current and trial action [max_batch x act_dim] */
    float *v1, *v2; /* velocities / actor output [max_batch x out_dim] */
    float *nobs;    /* normalized observations for the critic */
    float *scratch; /* MLP scratch */
    fpo_rng *rows;  /* per-row streams of the call in progress [max_batch] */
    float *path;    /* record_path: the chains of the last act [max_batch x (steps + 1) x act_dim] */
    float *corr;    /* noise_corr: each row's last noise [max_batch x act_dim] */
    int corr_rows;  /* rows 0..corr_rows-1 of corr hold a draw */
};

#define FPO_MAX_SAMPLER_STEPS 1000

static void sampler_defaults(fpo_sampler_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->integrator = FPO_INTEGRATOR_AUTO;
    cfg->steps = 10;
    cfg->init_noise = FPO_NOISE_RANDOM;
    cfg->sde_noise = 0.0f;
    cfg->deterministic = 0;
    cfg->max_batch = 1;
}

FPO_DEFINE_CONFIG_INIT(fpo_sampler_config, SAMPLER_CONFIG, sampler_defaults)

static int check_sampling(fpo_errbuf *err, const fpo_sampler_config *c)
{
    if ((unsigned)c->integrator > FPO_INTEGRATOR_AUTO)
        return fpo_fail(err, FPO_ERANGE, "integrator %d is not an fpo_integrator",
                        (int)c->integrator);
    if (c->steps < 1 || c->steps > FPO_MAX_SAMPLER_STEPS)
        return fpo_fail(err, FPO_ERANGE, "steps must be in [1, %d], got %d",
                        FPO_MAX_SAMPLER_STEPS, c->steps);
    if ((unsigned)c->init_noise > FPO_NOISE_ZERO)
        return fpo_fail(err, FPO_ERANGE, "init_noise %d is not valid", (int)c->init_noise);
    if (!isfinite(c->sde_noise) || c->sde_noise < 0.0f)
        return fpo_fail(err, FPO_ERANGE, "sde_noise must be finite and >= 0");
    if (c->deterministic != 0 && c->deterministic != 1)
        return fpo_fail(err, FPO_ERANGE, "deterministic must be 0 or 1, got %d", c->deterministic);
    if (c->record_path != 0 && c->record_path != 1)
        return fpo_fail(err, FPO_ERANGE, "record_path must be 0 or 1, got %lld",
                        (long long)c->record_path);
    if (!(c->noise_corr >= 0.0f && c->noise_corr < 1.0f))
        return fpo_fail(err, FPO_ERANGE, "noise_corr must be in [0, 1), got %g",
                        (double)c->noise_corr);
    if (c->record_path && c->integrator != FPO_INTEGRATOR_EULER &&
        c->integrator != FPO_INTEGRATOR_AUTO)
        return fpo_fail(err, FPO_ERANGE,
                        "record_path (DPPO's denoising chain) needs the Euler integrator");
    return FPO_OK;
}

/* FPO_INTEGRATOR_AUTO made concrete (fpo/sampler.h): what a sampler and a
 * policy's deployment defaults hold. */
static fpo_integrator resolve_integrator(const fpo_sampler_config *c)
{
    if (c->integrator != FPO_INTEGRATOR_AUTO)
        return c->integrator;
    return c->record_path ? FPO_INTEGRATOR_EULER : FPO_INTEGRATOR_MIDPOINT;
}

static void sampler_free(fpo_sampler *s)
{
    fpo_mem m = s->mem;
    fpo_mem_free(&m, s->X);
    fpo_mem_free(&m, s->x);
    fpo_mem_free(&m, s->xe);
    fpo_mem_free(&m, s->v1);
    fpo_mem_free(&m, s->v2);
    fpo_mem_free(&m, s->nobs);
    fpo_mem_free(&m, s->scratch);
    fpo_mem_free(&m, s->rows);
    fpo_mem_free(&m, s->path);
    fpo_mem_free(&m, s->corr);
    fpo_mem_free(&m, s);
}

double fpo_sampler_estimate_bytes(const fpo_mlp *actor, const fpo_mlp *critic, int obs_dim,
                                  int act_dim, int max_batch, int path_steps)
{
    /* The blocks of fpo_sampler_create, in its order: the handle, the
     * scratch, the per-row streams, (record_path) the chains of steps + 1
     * states and the rows' last noise; each block rounded up to FPO_ALIGN
     * (alloc.c). */
    double B = max_batch, sa = 2.0 * B * actor->max_width + 16.0,
           sc = 2.0 * B * critic->max_width + 16.0;
    double floats = B * actor->dims[0] + 3.0 * B * act_dim + 2.0 * B * actor->dims[actor->n_layers] +
                    B * obs_dim + (sa > sc ? sa : sc);
    if (path_steps > 0)
        floats += B * ((double)path_steps + 1.0) * act_dim;
    return (double)sizeof(fpo_sampler) + 4.0 * floats + B * (double)sizeof(fpo_rng) +
           11.0 * FPO_ALIGN;
}

int fpo_sampler_create(fpo_sampler **out, const fpo_policy *p, const fpo_sampler_config *cfg)
{
    fpo_sampler_config c;
    fpo_mem mem;
    if (!out)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_sampler_create: out is NULL");
    *out = NULL;
    if (!p)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_sampler_create: policy is NULL");
    int rc = FPO_COPY_CONFIG(NULL, SAMPLER_CONFIG, &c, cfg, fpo_sampler_config_init(&c));
    if (rc || (rc = check_sampling(NULL, &c)))
        return rc;
    if (c.max_batch < 1 || c.max_batch > (1 << 24))
        return fpo_fail(NULL, FPO_ERANGE, "max_batch must be in [1, 2^24], got %d", c.max_batch);
    if (c.row_offset < 0 || c.row_offset > (1 << 30))
        return fpo_fail(NULL, FPO_ERANGE, "row_offset must be in [0, 2^30], got %d", c.row_offset);
    if (c.record_path && p->cfg.kind != FPO_POLICY_FLOW)
        return fpo_fail(NULL, FPO_EMISMATCH, "record_path needs a flow policy");
    if ((rc = fpo_mem_init(&mem, c.allocator, NULL)))
        return rc;
    fpo_sampler *s = fpo_mem_calloc(&mem, 1, sizeof *s);
    if (!s)
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating the sampler");
    s->mem = mem;
    s->cfg = c;
    s->cfg.integrator = resolve_integrator(&c);
    s->cfg.allocator = NULL;
    s->kind = p->cfg.kind;
    s->obs_dim = p->cfg.obs_dim;
    s->act_dim = fpo_policy_chunk_dim(&p->cfg);
    s->env_act_dim = p->cfg.act_dim;
    s->actor = p->actor;
    s->critic = p->critic;
    s->in_dim = p->actor.dims[0];
    s->out_dim = p->actor.dims[p->actor.n_layers];
    s->emb_dim = p->emb_dim;
    fpo_rng_init(&s->rng, c.seed, 0x73616d706c6572ull /* "sampler" */);

    size_t B = (size_t)c.max_batch;
    size_t sa = fpo_mlp_direct_scratch_floats(&p->actor, c.max_batch);
    size_t sc = fpo_mlp_direct_scratch_floats(&p->critic, c.max_batch);
    s->X = fpo_mem_calloc(&mem, B * (size_t)s->in_dim, sizeof(float));
    s->x = fpo_mem_calloc(&mem, B * (size_t)s->act_dim, sizeof(float));
    s->xe = fpo_mem_calloc(&mem, B * (size_t)s->act_dim, sizeof(float));
    s->v1 = fpo_mem_calloc(&mem, B * (size_t)s->out_dim, sizeof(float));
    s->v2 = fpo_mem_calloc(&mem, B * (size_t)s->out_dim, sizeof(float));
    s->nobs = fpo_mem_calloc(&mem, B * (size_t)s->obs_dim, sizeof(float));
    s->scratch = fpo_mem_calloc(&mem, sa > sc ? sa : sc, sizeof(float));
    s->rows = fpo_mem_calloc(&mem, B, sizeof(fpo_rng));
    if (c.record_path)
        s->path = fpo_mem_calloc(&mem, B * ((size_t)c.steps + 1) * (size_t)s->act_dim,
                                 sizeof(float));
    s->corr = fpo_mem_calloc(&mem, B * (size_t)s->act_dim, sizeof(float));
    if (!s->X || !s->x || !s->xe || !s->v1 || !s->v2 || !s->nobs || !s->scratch || !s->rows ||
        (c.record_path && !s->path) || !s->corr) {
        sampler_free(s);
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating sampler scratch");
    }
    *out = s;
    return FPO_OK;
}

void fpo_sampler_destroy(fpo_sampler *s)
{
    if (s)
        sampler_free(s);
}

const char *fpo_sampler_errmsg(const fpo_sampler *s)
{
    return s ? s->err.msg : "sampler is NULL";
}

int fpo_sampler_reconfigure(fpo_sampler *s, const fpo_sampler_config *cfg)
{
    fpo_sampler_config c;
    if (!s)
        return FPO_NULL_ARG("s");
    int rc = FPO_COPY_CONFIG(&s->err, SAMPLER_CONFIG, &c, cfg, fpo_sampler_config_init(&c));
    if (rc)
        return rc;
    c.record_path = s->cfg.record_path; /* fixed at create */
    if ((rc = check_sampling(&s->err, &c)))
        return rc;
    if (c.record_path && c.steps != s->cfg.steps)
        return fpo_fail(&s->err, FPO_ERANGE,
                        "a sampler that records its chains keeps its steps (%d), got %d",
                        s->cfg.steps, c.steps);
    s->cfg.integrator = resolve_integrator(&c);
    s->cfg.steps = c.steps;
    s->cfg.init_noise = c.init_noise;
    s->cfg.sde_noise = c.sde_noise;
    s->cfg.deterministic = c.deterministic;
    if (c.noise_corr != s->cfg.noise_corr)
        s->corr_rows = 0;
    s->cfg.noise_corr = c.noise_corr;
    return FPO_OK;
}

int fpo_sampler_reseed(fpo_sampler *s, uint64_t seed)
{
    if (!s)
        return FPO_NULL_ARG("s");
    fpo_rng_init(&s->rng, seed, 0x73616d706c6572ull);
    s->corr_rows = 0;
    return FPO_OK;
}

static int check_call(fpo_sampler *s, const fpo_policy *p, const void *obs, int n)
{
    if (!p || !obs)
        return fpo_fail(&s->err, FPO_EINVAL, "policy or obs is NULL");
    if (n < 0 || n > s->cfg.max_batch)
        return fpo_fail(&s->err, FPO_ERANGE, "n must be in [0, max_batch = %d], got %d",
                        s->cfg.max_batch, n);
    if (!fpo_policy_fits(p, s->kind, &s->actor, &s->critic) || p->cfg.act_dim != s->env_act_dim)
        return fpo_fail(&s->err, FPO_EMISMATCH,
                        "the policy's sizes or network shapes differ from the sampler's");
    return FPO_OK;
}

/* v = velocity at (x, t) for n rows whose observation part of X is filled. */
static void velocity(fpo_sampler *s, const fpo_policy *p, const float *x, float t, int n,
                     float *v)
{
    int od = s->obs_dim, ad = s->act_dim, in = s->in_dim;
    float emb[FPO_TIME_EMB_SIN];
    fpo_time_embed(p, t, emb);
    for (int r = 0; r < n; r++) {
        float *row = s->X + (size_t)r * (size_t)in;
        memcpy(row + od, x + (size_t)r * (size_t)ad, (size_t)ad * sizeof(float));
        memcpy(row + od + ad, emb, (size_t)s->emb_dim * sizeof(float));
    }
    fpo_mlp_forward_direct(&p->actor, p->params, s->X, n, v, s->scratch);
}

/* The streams of rows 0..n-1 for this call: keyed by the row's global index
 * (row_offset + r) and the call number, so a row's noise does not depend on
 * the batch it is in (or on the process, in data-parallel training). */
static void fork_rows(fpo_sampler *s, int n)
{
    for (int r = 0; r < n; r++)
        fpo_rng_fork(&s->rows[r], &s->rng, (uint64_t)s->cfg.row_offset + (uint64_t)r);
    s->rng.ctr++;
}

/* Standard normals for n rows of d values each, row r from its own stream. */
static void row_normals(fpo_sampler *s, float *out, int n, int d)
{
    for (int r = 0; r < n; r++)
        fpo_rng_normal(&s->rows[r], out + (size_t)r * (size_t)d, (size_t)d);
}

/* The noise an action starts from, for n rows of act_dim values: fresh
 * standard normals, or with noise_corr = rho the next step of each row's
 * AR(1) process, rho z_prev + sqrt(1 - rho^2) z_new (N(0, I) again). A row
 * without a previous draw starts from its fresh one. */
static void row_noise(fpo_sampler *s, float *out, int n)
{
    size_t d = (size_t)s->act_dim;
    row_normals(s, out, n, s->act_dim);
    float rho = s->cfg.noise_corr;
    if (rho <= 0.0f)
        return;
    float q = sqrtf(1.0f - rho * rho);
    size_t carried = (size_t)(n < s->corr_rows ? n : s->corr_rows) * d;
    for (size_t i = 0; i < carried; i++)
        out[i] = rho * s->corr[i] + q * out[i];
    memcpy(s->corr, out, (size_t)n * d * sizeof(float));
    if (n > s->corr_rows)
        s->corr_rows = n;
}

/* Copy the current x of every row into state k of its chain. */
static void record_state(fpo_sampler *s, int n, int k)
{
    size_t ad = (size_t)s->act_dim, chain = ((size_t)s->cfg.steps + 1) * ad;
    for (int r = 0; r < n; r++)
        memcpy(s->path + (size_t)r * chain + (size_t)k * ad, s->x + (size_t)r * ad,
               ad * sizeof(float));
}

static void flow_sample(fpo_sampler *s, const fpo_policy *p, int n)
{
    const fpo_sampler_config *c = &s->cfg;
    size_t m = (size_t)n * (size_t)s->act_dim;
    float *x = s->x, *xe = s->xe, *v1 = s->v1, *v2 = s->v2;
    int zero = c->deterministic || c->init_noise == FPO_NOISE_ZERO;
    float sde = c->deterministic ? 0.0f : c->sde_noise;
    if (!zero || sde > 0.0f)
        fork_rows(s, n);
    if (zero)
        memset(x, 0, m * sizeof(float));
    else
        row_noise(s, x, n);
    int K = c->steps;
    float dt = -1.0f / (float)K;
    if (c->record_path) {
        record_state(s, n, 0);
        /* DPPO's denoising MDP: Euler steps with a fixed per-step noise
         * sde_noise * N(0, I), after every step. */
        for (int k = 0; k < K; k++) {
            float t = 1.0f - (float)k / (float)K;
            velocity(s, p, x, t, n, v1);
            for (size_t i = 0; i < m; i++)
                x[i] += dt * v1[i];
            if (sde > 0.0f) {
                row_normals(s, xe, n, s->act_dim);
                for (size_t i = 0; i < m; i++)
                    x[i] += sde * xe[i];
            }
            record_state(s, n, k + 1);
        }
        return;
    }
    for (int k = 0; k < K; k++) {
        float t = 1.0f - (float)k / (float)K;
        velocity(s, p, x, t, n, v1);
        switch (c->integrator) {
        case FPO_INTEGRATOR_EULER:
            for (size_t i = 0; i < m; i++)
                x[i] += dt * v1[i];
            break;
        case FPO_INTEGRATOR_HEUN:
            for (size_t i = 0; i < m; i++)
                xe[i] = x[i] + dt * v1[i];
            velocity(s, p, xe, t + dt, n, v2);
            for (size_t i = 0; i < m; i++)
                x[i] += 0.5f * dt * (v1[i] + v2[i]);
            break;
        case FPO_INTEGRATOR_MIDPOINT:
        case FPO_INTEGRATOR_AUTO: /* never here: create and reconfigure resolve it */
            for (size_t i = 0; i < m; i++)
                xe[i] = x[i] + 0.5f * dt * v1[i];
            velocity(s, p, xe, t + 0.5f * dt, n, v2);
            for (size_t i = 0; i < m; i++)
                x[i] += dt * v2[i];
            break;
        }
        if (sde > 0.0f && k + 1 < K) {
            row_normals(s, xe, n, s->act_dim);
            float a = sde * sqrtf(-dt);
            for (size_t i = 0; i < m; i++)
                x[i] += a * xe[i];
        }
    }
}

static void gaussian_sample(fpo_sampler *s, const fpo_policy *p, int n)
{
    int ad = s->act_dim, od = s->out_dim;
    fpo_mlp_forward_direct(&p->actor, p->params, s->X, n, s->v1, s->scratch);
    if (!s->cfg.deterministic) {
        fork_rows(s, n);
        row_noise(s, s->xe, n);
    }
    for (int r = 0; r < n; r++) {
        const float *y = s->v1 + (size_t)r * (size_t)od;
        float *x = s->x + (size_t)r * (size_t)ad;
        for (int i = 0; i < ad; i++) {
            x[i] = y[i];
            if (s->cfg.deterministic)
                continue;
            float std;
            if (p->cfg.std_mode == FPO_STD_FIXED)
                std = p->cfg.init_std;
            else if (p->cfg.std_mode == FPO_STD_STATE_DEPENDENT)
                std = fpo_softplus(y[ad + i]) + p->cfg.min_std;
            else
                std = fpo_softplus(p->params[p->std_off + (size_t)i]) + p->cfg.min_std;
            x[i] += std * s->xe[(size_t)r * (size_t)ad + (size_t)i];
        }
    }
}

static int act(fpo_sampler *s, const fpo_policy *p, const float *obs, int n, float *actions,
               float *raw)
{
    int rc = check_call(s, p, obs, n);
    if (rc)
        return rc;
    if (!actions && !raw)
        return fpo_fail(&s->err, FPO_EINVAL, "actions and raw are both NULL");
    if (n == 0)
        return FPO_OK;
    if (fpo_policy_normalize(p, obs, n, s->X, s->in_dim))
        return fpo_fail(&s->err, FPO_ENONFINITE, "an observation is NaN or Inf");
    if (s->kind == FPO_POLICY_FLOW)
        flow_sample(s, p, n);
    else
        gaussian_sample(s, p, n);
    int ad = s->act_dim;
    size_t m = (size_t)n * (size_t)ad;
    if (!fpo_all_finite(s->x, m))
        return fpo_fail(&s->err, FPO_ENONFINITE, "the policy produced a non-finite action");
    float c = p->cfg.raw_clip;
    if (c > 0.0f && s->kind == FPO_POLICY_FLOW)
        for (size_t i = 0; i < m; i++)
            s->x[i] = s->x[i] < -c ? -c : (s->x[i] > c ? c : s->x[i]);
    if (raw)
        memcpy(raw, s->x, m * sizeof(float));
    if (actions)
        for (int r = 0; r < n; r++)
            fpo_policy_map_action(p, s->x + (size_t)r * (size_t)ad, actions + (size_t)r * (size_t)ad);
    return FPO_OK;
}

/* Sampling runs with denormals flushed (fpmode.h). */
int fpo_sampler_act(fpo_sampler *s, const fpo_policy *p, const float *obs, int n, float *actions,
                    float *raw)
{
    if (!s)
        return FPO_NULL_ARG("s");
    fpo_fpmode saved = fpo_fpmode_enter();
    int rc = act(s, p, obs, n, actions, raw);
    fpo_fpmode_leave(saved);
    return rc;
}

int fpo_sampler_path(const fpo_sampler *s, const float **out, int *states)
{
    if (!s)
        return FPO_NULL_ARG("s");
    if (!out || !states)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_sampler_path: out or states is NULL");
    if (!s->cfg.record_path)
        return fpo_fail(NULL, FPO_ESTATE, "fpo_sampler_path: the sampler does not record "
                        "(fpo_sampler_config.record_path)");
    *out = s->path;
    *states = s->cfg.steps + 1;
    return FPO_OK;
}

static int value(fpo_sampler *s, const fpo_policy *p, const float *obs, int n, float *values)
{
    int rc = check_call(s, p, obs, n);
    if (rc)
        return rc;
    if (!values)
        return fpo_fail(&s->err, FPO_EINVAL, "values is NULL");
    if (n == 0)
        return FPO_OK;
    if (fpo_policy_normalize(p, obs, n, s->nobs, s->obs_dim))
        return fpo_fail(&s->err, FPO_ENONFINITE, "an observation is NaN or Inf");
    fpo_mlp_forward_direct(&p->critic, p->params + p->critic_off, s->nobs, n, values, s->scratch);
    if (!fpo_all_finite(values, (size_t)n))
        return fpo_fail(&s->err, FPO_ENONFINITE, "the value network produced a non-finite value");
    return FPO_OK;
}

int fpo_sampler_value(fpo_sampler *s, const fpo_policy *p, const float *obs, int n, float *values)
{
    if (!s)
        return FPO_NULL_ARG("s");
    fpo_fpmode saved = fpo_fpmode_enter();
    int rc = value(s, p, obs, n, values);
    fpo_fpmode_leave(saved);
    return rc;
}

fpo_rng *fpo_sampler_rng(fpo_sampler *s)
{
    return &s->rng;
}

float *fpo_sampler_noise_state(fpo_sampler *s, int **rows, int *width, int *max_rows,
                               float *noise_corr)
{
    *rows = &s->corr_rows;
    *width = s->act_dim;
    *max_rows = s->cfg.max_batch;
    *noise_corr = s->cfg.noise_corr;
    return s->corr;
}

fpo_integrator fpo_sampler_integrator(const fpo_sampler *s)
{
    return s->cfg.integrator;
}

int fpo_policy_get_sampler_defaults(const fpo_policy *p, fpo_sampler_config *cfg)
{
    if (!p)
        return FPO_NULL_ARG("p");
    if (!cfg)
        return fpo_fail(NULL, FPO_EINVAL, "the fpo_sampler_config to fill is NULL");
    if (cfg->struct_size < fpo_struct_v1_size(FPO_S_SAMPLER_CONFIG))
        return fpo_fail(NULL, FPO_EINVAL,
                        "fpo_sampler_config.struct_size %zu is below the smallest of any release "
                        "(%zu): initialize it first", cfg->struct_size,
                        fpo_struct_v1_size(FPO_S_SAMPLER_CONFIG));
    cfg->integrator = (fpo_integrator)p->ds_integrator;
    cfg->steps = p->ds_steps;
    cfg->init_noise = (fpo_init_noise)p->ds_init_noise;
    cfg->sde_noise = p->ds_sde_noise;
    if (cfg->struct_size >= offsetof(fpo_sampler_config, deterministic) + sizeof(int))
        cfg->deterministic = p->ds_deterministic;
    return FPO_OK;
}

int fpo_policy_set_sampler_defaults(fpo_policy *p, const fpo_sampler_config *cfg)
{
    fpo_sampler_config c;
    if (!p)
        return FPO_NULL_ARG("p");
    int rc = FPO_COPY_CONFIG(&p->err, SAMPLER_CONFIG, &c, cfg, fpo_sampler_config_init(&c));
    if (rc || (rc = check_sampling(&p->err, &c)))
        return rc;
    p->ds_integrator = (int)resolve_integrator(&c);
    p->ds_steps = c.steps;
    p->ds_init_noise = (int)c.init_noise;
    p->ds_sde_noise = c.sde_noise;
    p->ds_deterministic = c.deterministic != 0;
    return FPO_OK;
}
