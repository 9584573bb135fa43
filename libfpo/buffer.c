/* Rollout buffer and GAE. */
#include <math.h>
#include <string.h>

#include "abi.h"
#include "buffer_impl.h"
#include "objective.h"
#include "internal.h"
#include "util.h"

static void buffer_defaults(fpo_buffer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    /* The pairs' settings are the flow objective's (obj_flow.c). */
    fpo_flow_config f;
    fpo_flow_config_defaults(&f);
    cfg->n_mc = f.n_mc;
    cfg->t_dist = f.t_dist;
    cfg->t_beta = f.t_beta;
}

/* The buffer's pair settings as the flow objective checks and draws them. */
static fpo_flow_config pair_config(const fpo_buffer_config *c)
{
    fpo_flow_config f;
    fpo_flow_config_defaults(&f);
    f.n_mc = c->n_mc;
    f.t_dist = c->t_dist;
    f.t_beta = c->t_beta;
    return f;
}

FPO_DEFINE_CONFIG_INIT(fpo_buffer_config, BUFFER_CONFIG, buffer_defaults)

static void buffer_free(fpo_buffer *b)
{
    fpo_mem m = b->mem;
    fpo_mem_free(&m, b->obs);
    fpo_mem_free(&m, b->act);
    fpo_mem_free(&m, b->rew);
    fpo_mem_free(&m, b->flags);
    fpo_mem_free(&m, b->final_obs);
    fpo_mem_free(&m, b->last_obs);
    fpo_mem_free(&m, b->pair_t);
    fpo_mem_free(&m, b->pair_eps);
    fpo_mem_free(&m, b->path);
    fpo_mem_free(&m, b->ksteps);
    fpo_mem_free(&m, b);
}

int fpo_buffer_create(fpo_buffer **out, const fpo_buffer_config *cfg)
{
    fpo_buffer_config c;
    fpo_mem mem;
    if (!out)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_buffer_create: out is NULL");
    *out = NULL;
    int rc = FPO_COPY_CONFIG(NULL, BUFFER_CONFIG, &c, cfg, fpo_buffer_config_init(&c));
    if (rc)
        return rc;
    if (c.num_envs < 1 || c.horizon < 1 || c.obs_dim < 1 || c.act_dim < 1 ||
        c.num_envs > (1 << 20) || c.horizon > (1 << 24) || c.obs_dim > 65536 ||
        c.act_dim > 65536)
        return fpo_fail(NULL, FPO_ERANGE,
                        "buffer sizes out of range: num_envs %d (1..2^20), horizon %d (1..2^24), "
                        "obs_dim %d, act_dim %d (1..65536)",
                        c.num_envs, c.horizon, c.obs_dim, c.act_dim);
    fpo_flow_config fc = pair_config(&c);
    if ((rc = fpo_flow_config_check(NULL, &fc, 0, "buffer config")))
        return rc;
    if (c.path_steps < 0 || c.path_steps > 1000)
        return fpo_fail(NULL, FPO_ERANGE, "path_steps must be in [0, 1000], got %lld",
                        (long long)c.path_steps);
    if ((double)c.num_envs * c.horizon > (double)(1 << 26))
        return fpo_fail(NULL, FPO_ERANGE, "num_envs * horizon must be <= 2^26"); /* int indices */
    if (c.env_offset < 0 || c.env_offset > (1 << 30))
        return fpo_fail(NULL, FPO_ERANGE, "env_offset must be in [0, 2^30], got %d", c.env_offset);
    if ((rc = fpo_mem_init(&mem, c.allocator, NULL)))
        return rc;
    fpo_buffer *b = fpo_mem_calloc(&mem, 1, sizeof *b);
    if (!b)
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating the buffer");
    b->mem = mem;
    b->cfg = c;
    b->pairs = fc;
    b->cfg.allocator = NULL;
    fpo_rng_init(&b->rng, c.seed, 0x627566666572ull /* "buffer" */);
    size_t cap = (size_t)c.num_envs * (size_t)c.horizon;
    size_t od = (size_t)c.obs_dim, ad = (size_t)c.act_dim, nmc = (size_t)c.n_mc;
    b->cap = cap;
    b->obs = fpo_mem_calloc(&mem, cap * od, sizeof(float));
    b->act = fpo_mem_calloc(&mem, cap * ad, sizeof(float));
    b->rew = fpo_mem_calloc(&mem, cap, sizeof(float));
    b->flags = fpo_mem_calloc(&mem, cap, sizeof(unsigned));
    b->final_obs = fpo_mem_calloc(&mem, cap * od, sizeof(float));
    b->last_obs = fpo_mem_calloc(&mem, (size_t)c.num_envs * od, sizeof(float));
    b->pair_t = fpo_mem_calloc(&mem, cap * nmc, sizeof(float));
    b->pair_eps = fpo_mem_calloc(&mem, cap * nmc * ad, sizeof(float));
    size_t chain = c.path_steps ? ((size_t)c.path_steps + 1) * ad : 0;
    if (chain)
        b->path = fpo_mem_calloc(&mem, cap * chain, sizeof(float));
    if (!b->obs || !b->act || !b->rew || !b->flags || !b->final_obs || !b->last_obs ||
        !b->pair_t || !b->pair_eps || (chain && !b->path)) {
        buffer_free(b);
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating buffer arrays");
    }
    *out = b;
    return FPO_OK;
}

double fpo_buffer_estimate_bytes(int num_envs, int horizon, int obs_dim, int act_dim, int n_mc,
                                 int path_steps)
{
    /* The arrays of fpo_buffer_create, in its order. */
    double cap = (double)num_envs * horizon, od = obs_dim, ad = act_dim, nmc = n_mc;
    double chain = path_steps ? (path_steps + 1.0) * ad : 0.0;
    return 4.0 * (cap * od + cap * ad + cap + cap + cap * od + num_envs * od + cap * nmc +
                  cap * nmc * ad + cap * chain);
}

void fpo_buffer_destroy(fpo_buffer *b)
{
    if (b)
        buffer_free(b);
}

const char *fpo_buffer_errmsg(const fpo_buffer *b)
{
    return b ? b->err.msg : "buffer is NULL";
}

int fpo_buffer_clear(fpo_buffer *b)
{
    if (!b)
        return FPO_NULL_ARG("b");
    b->steps = 0;
    b->has_last = 0;
    b->path_filled = 0;
    return FPO_OK;
}

int fpo_buffer_add_path(fpo_buffer *b, const float *path)
{
    if (!b)
        return FPO_NULL_ARG("b");
    if (!path)
        return fpo_fail(&b->err, FPO_EINVAL, "path is NULL");
    if (b->cfg.path_steps < 1)
        return fpo_fail(&b->err, FPO_ESTATE, "the buffer was created without path_steps");
    if (b->path_filled != b->steps - 1)
        return fpo_fail(&b->err, FPO_ESTATE,
                        "fpo_buffer_add_path belongs after each fpo_buffer_add: %d steps "
                        "added, chains given for %d",
                        b->steps, b->path_filled);
    size_t chain = ((size_t)b->cfg.path_steps + 1) * (size_t)b->cfg.act_dim;
    size_t n = (size_t)b->cfg.num_envs * chain;
    if (!fpo_all_finite(path, n))
        return fpo_fail(&b->err, FPO_ENONFINITE, "a chain state is NaN or Inf");
    memcpy(b->path + (size_t)b->path_filled * n, path, n * sizeof(float));
    b->path_filled++;
    return FPO_OK;
}

int fpo_buffer_enable_chunks(fpo_buffer *b)
{
    if (!b->ksteps && !(b->ksteps = fpo_mem_calloc(&b->mem, b->cap, 1)))
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating the buffer's chunk lengths");
    return FPO_OK;
}

int fpo_buffer_set_chunk_steps(fpo_buffer *b, const unsigned char *k)
{
    if (!b->ksteps || b->steps < 1)
        return fpo_fail(&b->err, FPO_ESTATE, "chunk lengths belong after each fpo_buffer_add of "
                        "a buffer with fpo_buffer_enable_chunks");
    size_t N = (size_t)b->cfg.num_envs;
    for (size_t e = 0; e < N; e++)
        if (k[e] < 1 || k[e] > FPO_MAX_CHUNK)
            return fpo_fail(&b->err, FPO_ERANGE, "chunk length %u of env %zu is not in [1, %d]",
                            k[e], e, FPO_MAX_CHUNK);
    memcpy(b->ksteps + (size_t)(b->steps - 1) * N, k, N);
    return FPO_OK;
}

static float draw_t(const fpo_buffer *b, fpo_rng *rng)
{
    return fpo_flow_draw_t(&b->pairs, rng);
}

int fpo_buffer_add(fpo_buffer *b, const float *obs, const float *raw_actions, const float *rewards,
                   const unsigned *flags, const float *final_obs)
{
    if (!b)
        return FPO_NULL_ARG("b");
    if (!obs || !raw_actions || !rewards || !flags)
        return fpo_fail(&b->err, FPO_EINVAL, "obs, raw_actions, rewards and flags are required");
    if (b->steps >= b->cfg.horizon)
        return fpo_fail(&b->err, FPO_ESTATE, "buffer is full (%d steps); clear it first",
                        b->cfg.horizon);
    size_t N = (size_t)b->cfg.num_envs, od = (size_t)b->cfg.obs_dim,
           ad = (size_t)b->cfg.act_dim;
    int any_end = 0;
    for (size_t e = 0; e < N; e++) {
        if (flags[e] & ~FPO_STEP_ALL_)
            return fpo_fail(&b->err, FPO_EINVAL, "flags[%zu] = %u has unknown bits", e, flags[e]);
        any_end |= (flags[e] & FPO_STEP_ENDED_) != 0;
    }
    if (any_end && !final_obs)
        return fpo_fail(&b->err, FPO_EINVAL, "an episode ended but final_obs is NULL");
    if (!fpo_all_finite(obs, N * od))
        return fpo_fail(&b->err, FPO_ENONFINITE, "an observation is NaN or Inf");
    if (!fpo_all_finite(raw_actions, N * ad))
        return fpo_fail(&b->err, FPO_ENONFINITE, "an action is NaN or Inf");
    if (!fpo_all_finite(rewards, N))
        return fpo_fail(&b->err, FPO_ENONFINITE, "a reward is NaN or Inf");
    for (size_t e = 0; e < N; e++)
        if ((flags[e] & FPO_STEP_ENDED_) && !fpo_all_finite(final_obs + e * od, od))
            return fpo_fail(&b->err, FPO_ENONFINITE, "final observation of env %zu is not finite",
                            e);
    size_t base = (size_t)b->steps * N;
    memcpy(b->obs + base * od, obs, N * od * sizeof(float));
    memcpy(b->act + base * ad, raw_actions, N * ad * sizeof(float));
    memcpy(b->rew + base, rewards, N * sizeof(float));
    memcpy(b->flags + base, flags, N * sizeof(unsigned));
    for (size_t e = 0; e < N; e++)
        if (flags[e] & FPO_STEP_ENDED_)
            memcpy(b->final_obs + (base + e) * od, final_obs + e * od, od * sizeof(float));
    size_t nmc = (size_t)b->cfg.n_mc;
    if (nmc) {
        /* Each environment's pairs from its own stream (buffer.h: env_offset). */
        for (size_t e = 0; e < N; e++) {
            fpo_rng r;
            fpo_rng_fork(&r, &b->rng, (uint64_t)b->cfg.env_offset + e);
            size_t pk = (base + e) * nmc;
            for (size_t k = 0; k < nmc; k++)
                b->pair_t[pk + k] = draw_t(b, &r);
            fpo_rng_normal(&r, b->pair_eps + pk * ad, nmc * ad);
        }
        b->rng.ctr++;
    }
    b->steps++;
    return FPO_OK;
}

int fpo_buffer_set_last_obs(fpo_buffer *b, const float *obs)
{
    if (!b)
        return FPO_NULL_ARG("b");
    if (!obs)
        return fpo_fail(&b->err, FPO_EINVAL, "obs is NULL");
    size_t n = (size_t)b->cfg.num_envs * (size_t)b->cfg.obs_dim;
    if (!fpo_all_finite(obs, n))
        return fpo_fail(&b->err, FPO_ENONFINITE, "a last observation is NaN or Inf");
    memcpy(b->last_obs, obs, n * sizeof(float));
    b->has_last = 1;
    return FPO_OK;
}

int fpo_buffer_steps(const fpo_buffer *b)
{
    return b ? b->steps : FPO_NULL_ARG("b");
}

int fpo_buffer_is_full(const fpo_buffer *b)
{
    return b ? b->steps == b->cfg.horizon : FPO_NULL_ARG("b");
}

int fpo_buffer_get_view(const fpo_buffer *b, fpo_buffer_view *out)
{
    if (!b)
        return FPO_NULL_ARG("b");
    fpo_buffer_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.steps = b->steps;
    v.num_envs = b->cfg.num_envs;
    v.obs_dim = b->cfg.obs_dim;
    v.act_dim = b->cfg.act_dim;
    v.n_mc = b->cfg.n_mc;
    v.obs = b->obs;
    v.raw_actions = b->act;
    v.rewards = b->rew;
    v.final_obs = b->final_obs;
    v.last_obs = b->last_obs;
    v.flags = b->flags;
    v.pairs_t = b->pair_t;
    v.pairs_eps = b->pair_eps;
    return fpo_struct_out(NULL, FPO_S_BUFFER_VIEW, out, &v, sizeof v);
}

/* The recursion of fpo_gae with transition i discounted by pw[k[i]] (pw[chunk]
 * where k is NULL) instead of gamma when pw is given: the action chunks'
 * gamma^k for a transition that took k environment steps. */
static void gae_loop(float *adv, float *ret, const float *rewards, const unsigned *flags,
                     const float *values, const float *final_values, const float *last_values,
                     int steps, size_t N, float gamma, float lambda, float reward_scale,
                     const float *pw, const unsigned char *k, int chunk)
{
    for (size_t e = 0; e < N; e++) {
        float next_adv = 0.0f;
        float next_v = last_values[e];
        for (int t = steps - 1; t >= 0; t--) {
            size_t i = (size_t)t * N + e;
            float g = pw ? pw[k ? k[i] : chunk] : gamma;
            float boot, carry;
            if (flags[i] & FPO_STEP_TERMINATED) {
                boot = 0.0f;   /* terminal state has no future */
                carry = 0.0f;  /* and the next step belongs to a new episode */
            } else if (flags[i] & FPO_STEP_TRUNCATED) {
                boot = final_values[i];
                carry = 0.0f;
            } else {
                boot = next_v;
                carry = 1.0f;
            }
            float delta = reward_scale * rewards[i] + g * boot - values[i];
            float a = delta + g * lambda * carry * next_adv;
            adv[i] = a;
            ret[i] = a + values[i];
            next_adv = a;
            next_v = values[i];
        }
    }
}

/* fpo_gae's argument checks. */
static int gae_check(float *adv, float *ret, const float *rewards, const unsigned *flags,
                     const float *values, const float *final_values, const float *last_values,
                     int steps, int num_envs, float gamma, float lambda, float reward_scale)
{
    /* A pure function: messages go to fpo_last_errmsg(). */
    if (!adv || !ret || !rewards || !flags || !values || !last_values)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_gae: adv, ret, rewards, flags, values and "
                        "last_values must not be NULL");
    if (steps < 1 || num_envs < 1)
        return fpo_fail(NULL, FPO_ERANGE, "fpo_gae: steps %d and num_envs %d must be >= 1", steps,
                        num_envs);
    if (!(gamma >= 0.0f && gamma <= 1.0f) || !(lambda >= 0.0f && lambda <= 1.0f) ||
        !isfinite(reward_scale))
        return fpo_fail(NULL, FPO_ERANGE, "fpo_gae: gamma %g and lambda %g must be in [0, 1], "
                        "reward_scale %g finite", (double)gamma, (double)lambda,
                        (double)reward_scale);
    size_t N = (size_t)num_envs, B = (size_t)steps * N;
    if (!fpo_all_finite(rewards, B) || !fpo_all_finite(values, B) ||
        !fpo_all_finite(last_values, N))
        return fpo_fail(NULL, FPO_ENONFINITE, "fpo_gae: NaN or Inf in rewards, values or "
                        "last_values");
    for (size_t i = 0; i < B; i++)
        if ((flags[i] & FPO_STEP_TRUNCATED) && !(flags[i] & FPO_STEP_TERMINATED) &&
            final_values && !isfinite(final_values[i]))
            return fpo_fail(NULL, FPO_ENONFINITE, "fpo_gae: final_values[%zu] is NaN or Inf", i);
    for (size_t i = 0; i < (size_t)steps * N; i++)
        if ((flags[i] & FPO_STEP_TRUNCATED) && !(flags[i] & FPO_STEP_TERMINATED) && !final_values)
            return fpo_fail(NULL, FPO_EINVAL, "fpo_gae: step %zu is truncated and final_values is "
                            "NULL", i);
    return FPO_OK;
}

int fpo_gae(float *adv, float *ret, const float *rewards, const unsigned *flags,
            const float *values, const float *final_values, const float *last_values, int steps,
            int num_envs, float gamma, float lambda, float reward_scale)
{
    int rc = gae_check(adv, ret, rewards, flags, values, final_values, last_values, steps,
                       num_envs, gamma, lambda, reward_scale);
    if (rc)
        return rc;
    gae_loop(adv, ret, rewards, flags, values, final_values, last_values, steps,
             (size_t)num_envs, gamma, lambda, reward_scale, NULL, NULL, 1);
    return FPO_OK;
}

int fpo_gae_chunks(float *adv, float *ret, const float *rewards, const unsigned *flags,
                   const float *values, const float *final_values, const float *last_values,
                   int steps, int num_envs, float gamma, float lambda, float reward_scale,
                   int chunk, const unsigned char *ksteps)
{
    if (chunk <= 1 && !ksteps) /* one action per query: fpo_gae itself */
        return fpo_gae(adv, ret, rewards, flags, values, final_values, last_values, steps,
                       num_envs, gamma, lambda, reward_scale);
    int rc = gae_check(adv, ret, rewards, flags, values, final_values, last_values, steps,
                       num_envs, gamma, lambda, reward_scale);
    if (rc)
        return rc;
    /* gamma^k, k = 0..FPO_MAX_CHUNK, by repeated products in double. */
    float pw[FPO_MAX_CHUNK + 1];
    double x = 1.0;
    for (int j = 0; j <= FPO_MAX_CHUNK; j++, x *= gamma)
        pw[j] = (float)x;
    gae_loop(adv, ret, rewards, flags, values, final_values, last_values, steps,
             (size_t)num_envs, gamma, lambda, reward_scale, pw, ksteps,
             chunk > FPO_MAX_CHUNK ? FPO_MAX_CHUNK : chunk);
    return FPO_OK;
}

fpo_rng *fpo_buffer_rng(fpo_buffer *b)
{
    return &b->rng;
}
