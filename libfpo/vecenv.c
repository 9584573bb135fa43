/* A batch of host environments, stepped on the caller's and optionally
 * libfpo's worker threads, with automatic resets and input checks. */
#include <math.h>
#include <string.h>

#include "abi.h"
#include "fpo/env.h"
#include "alloc.h"
#include "error.h"
#include "internal.h"
#include "pool.h"
#include "util.h"

struct fpo_vecenv {
    fpo_errbuf err;
    fpo_mem mem;
    fpo_env_table table;
    void *user;
    int num_envs, obs_dim, act_dim, threads;
    int env_offset; /* global index of instance 0 (episode seeds) */
    uint64_t seed;
    fpo_pool *pool;
    void **envs;
    int *created;         /* create succeeded for instance i */
    uint64_t *episode;    /* episodes started per instance (seeds derive from it) */
    double *ret;          /* running return of the current episode */
    int64_t *len;
    double *done_ret;     /* return and length of the episode that just ended */
    int64_t *done_len;
    unsigned char *succ;      /* FPO_STEP_SUCCESS seen in the current episode */
    unsigned char *done_succ; /* and in the episode that just ended */
    float *low, *high;
    float *act;           /* clipped actions handed to the callbacks */
    int *status;          /* per-instance result of the last parallel call */
    int need_reset;
    /* Completed-episode statistics since the last take. */
    int64_t st_n, st_succ;
    double st_sum, st_len, st_min, st_max;
    /* Arguments of the parallel call in flight. */
    const float *in_act;
    size_t in_stride;             /* floats from one instance's action to the next */
    const unsigned char *active;  /* instances to step (NULL: all) */
    float *out_obs, *out_rew, *out_final;
    unsigned *out_flags;
    int mode;
};

enum { MODE_RESET, MODE_STEP };

static void vecenv_defaults(fpo_vecenv_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->num_envs = 1;
    cfg->threads = 1;
}

FPO_DEFINE_CONFIG_INIT(fpo_vecenv_config, VECENV_CONFIG, vecenv_defaults)

/* splitmix64: episode seeds from (vecenv seed, global instance index, episode). */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t episode_seed(const fpo_vecenv *v, int i)
{
    uint64_t global = (uint64_t)v->env_offset + (uint64_t)i;
    return mix(mix(v->seed ^ mix(global + 1)) + v->episode[i]);
}

static void vecenv_free(fpo_vecenv *v)
{
    fpo_mem m = v->mem;
    if (v->envs && v->created && v->table.destroy)
        for (int i = 0; i < v->num_envs; i++)
            if (v->created[i])
                v->table.destroy(v->user, v->envs[i]);
    fpo_pool_destroy(v->pool);
    fpo_mem_free(&m, v->envs);
    fpo_mem_free(&m, v->created);
    fpo_mem_free(&m, v->episode);
    fpo_mem_free(&m, v->ret);
    fpo_mem_free(&m, v->len);
    fpo_mem_free(&m, v->done_ret);
    fpo_mem_free(&m, v->done_len);
    fpo_mem_free(&m, v->succ);
    fpo_mem_free(&m, v->done_succ);
    fpo_mem_free(&m, v->low);
    fpo_mem_free(&m, v->high);
    fpo_mem_free(&m, v->act);
    fpo_mem_free(&m, v->status);
    fpo_mem_free(&m, v);
}

/* Table layout of version 1, the first with every member above. */

int fpo_env_table_check(fpo_errbuf *err, const fpo_env_table *t, fpo_env_table *out)
{
    fpo_env_table c;
    memset(&c, 0, sizeof c);
    if (!t)
        return fpo_fail(err, FPO_EINVAL, "the environment table is NULL");
    int rc = fpo_struct_in(err, FPO_S_ENV_TABLE, &c, sizeof c, t);
    if (rc)
        return rc;
    if (c.version < 1 || c.version > FPO_ENV_TABLE_VERSION)
        return fpo_fail(err, FPO_EVERSION,
                        "environment table version %d is not one this library supports (1 to "
                        "FPO_ENV_TABLE_VERSION %d): set it to FPO_ENV_TABLE_VERSION of the "
                        "headers the host is built against, or use a newer libfpo",
                        c.version, FPO_ENV_TABLE_VERSION);
    if (!c.reset || !c.step)
        return fpo_fail(err, FPO_EINVAL, "the environment table needs reset and step");
    if (c.obs_dim < 1 || c.act_dim < 1 || c.obs_dim > 65536 || c.act_dim > 65536)
        return fpo_fail(err, FPO_ERANGE, "obs_dim %d and act_dim %d must be in [1, 65536]",
                        c.obs_dim, c.act_dim);
    for (int i = 0; i < c.act_dim; i++) {
        float lo = c.action_low ? c.action_low[i] : -1.0f;
        float hi = c.action_high ? c.action_high[i] : 1.0f;
        if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
            return fpo_fail(err, FPO_ERANGE, "action bounds [%g, %g] of dimension %d are invalid",
                            (double)lo, (double)hi, i);
    }
    if (out)
        *out = c;
    return FPO_OK;
}

int fpo_vecenv_create(fpo_vecenv **out, const fpo_vecenv_config *cfg)
{
    fpo_vecenv_config c;
    fpo_mem mem;
    if (!out)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_vecenv_create: out is NULL");
    *out = NULL;
    int rc = FPO_COPY_CONFIG(NULL, VECENV_CONFIG, &c, cfg, fpo_vecenv_config_init(&c));
    if (rc)
        return rc;
    fpo_env_table tc;
    if ((rc = fpo_env_table_check(NULL, c.table, &tc)))
        return rc;
    const fpo_env_table *t = &tc;
    if (c.num_envs < 1 || c.num_envs > (1 << 20) || c.threads < 1 || c.threads > 256)
        return fpo_fail(NULL, FPO_ERANGE, "num_envs %d must be in [1, 2^20], threads %d in [1, 256]",
                        c.num_envs, c.threads);
    if (c.env_offset < 0 || c.env_offset > (1 << 30))
        return fpo_fail(NULL, FPO_ERANGE, "env_offset must be in [0, 2^30], got %d", c.env_offset);
    if ((rc = fpo_mem_init(&mem, c.allocator, NULL)))
        return rc;
    fpo_vecenv *v = fpo_mem_calloc(&mem, 1, sizeof *v);
    if (!v)
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating the vecenv");
    v->mem = mem;
    v->table = tc;
    v->user = c.user;
    v->num_envs = c.num_envs;
    v->obs_dim = t->obs_dim;
    v->act_dim = t->act_dim;
    v->threads = c.threads < c.num_envs ? c.threads : c.num_envs;
    v->seed = c.seed;
    v->env_offset = c.env_offset;
    v->need_reset = 1;
    size_t N = (size_t)c.num_envs, ad = (size_t)t->act_dim;
    v->envs = fpo_mem_calloc(&mem, N, sizeof(void *));
    v->created = fpo_mem_calloc(&mem, N, sizeof(int));
    v->episode = fpo_mem_calloc(&mem, N, sizeof(uint64_t));
    v->ret = fpo_mem_calloc(&mem, N, sizeof(double));
    v->len = fpo_mem_calloc(&mem, N, sizeof(int64_t));
    v->done_ret = fpo_mem_calloc(&mem, N, sizeof(double));
    v->done_len = fpo_mem_calloc(&mem, N, sizeof(int64_t));
    v->succ = fpo_mem_calloc(&mem, N, 1);
    v->done_succ = fpo_mem_calloc(&mem, N, 1);
    v->low = fpo_mem_calloc(&mem, ad, sizeof(float));
    v->high = fpo_mem_calloc(&mem, ad, sizeof(float));
    v->act = fpo_mem_calloc(&mem, N * ad, sizeof(float));
    v->status = fpo_mem_calloc(&mem, N, sizeof(int));
    if (!v->envs || !v->created || !v->episode || !v->ret || !v->len || !v->done_ret || !v->done_len || !v->succ || !v->done_succ || !v->low || !v->high ||
        !v->act || !v->status) {
        vecenv_free(v);
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating vecenv arrays");
    }
    for (size_t i = 0; i < ad; i++) {
        v->low[i] = t->action_low ? t->action_low[i] : -1.0f;
        v->high[i] = t->action_high ? t->action_high[i] : 1.0f;
    }
    if ((rc = fpo_pool_create(&v->pool, &mem, v->threads))) {
        v->pool = NULL;
        vecenv_free(v);
        return rc;
    }
    for (int i = 0; i < c.num_envs; i++) {
        if (v->table.create) {
            if (v->table.create(v->user, i, &v->envs[i]) != 0) {
                vecenv_free(v);
                return fpo_fail(NULL, FPO_ECALLBACK, "create callback of environment %d failed", i);
            }
        } else {
            v->envs[i] = (void *)(intptr_t)i;
        }
        v->created[i] = 1;
    }
    v->st_min = INFINITY;
    v->st_max = -INFINITY;
    *out = v;
    return FPO_OK;
}

void fpo_vecenv_destroy(fpo_vecenv *v)
{
    if (v)
        vecenv_free(v);
}

const char *fpo_vecenv_errmsg(const fpo_vecenv *v)
{
    return v ? v->err.msg : "vecenv is NULL";
}

double fpo_vecenv_estimate_bytes(int num_envs, int act_dim)
{
    /* The per-instance arrays of fpo_vecenv_create; the instances
     * themselves are the host's. */
    return (double)num_envs * (double)(sizeof(void *) + sizeof(int) + sizeof(uint64_t) +
                                       sizeof(double) + sizeof(int64_t) + sizeof(double) +
                                       sizeof(int64_t) + sizeof(int) + 4.0 * act_dim);
}

int fpo_vecenv_num_envs(const fpo_vecenv *v) { return v ? v->num_envs : FPO_NULL_ARG("v"); }
int fpo_vecenv_obs_dim(const fpo_vecenv *v) { return v ? v->obs_dim : FPO_NULL_ARG("v"); }
int fpo_vecenv_act_dim(const fpo_vecenv *v) { return v ? v->act_dim : FPO_NULL_ARG("v"); }

/* Status codes of one instance's call (kept per instance, merged after). */
enum { ST_OK = 0, ST_CALLBACK = 1, ST_NONFINITE_OBS = 2, ST_NONFINITE_REW = 3, ST_FLAGS = 4,
       /* the automatic reset after an episode ended inside a step */
       ST_AUTO_RESET_CALLBACK = 5, ST_AUTO_RESET_NONFINITE = 6 };

static int reset_one(fpo_vecenv *v, int i, float *obs)
{
    v->episode[i]++;
    v->ret[i] = 0.0;
    v->len[i] = 0;
    v->succ[i] = 0;
    if (v->table.reset(v->user, v->envs[i], episode_seed(v, i), obs) != 0)
        return ST_CALLBACK;
    if (!fpo_all_finite(obs, (size_t)v->obs_dim))
        return ST_NONFINITE_OBS;
    return ST_OK;
}

static int step_one(fpo_vecenv *v, int i)
{
    size_t od = (size_t)v->obs_dim, ad = (size_t)v->act_dim;
    float *obs = v->out_obs + (size_t)i * od;
    float *a = v->act + (size_t)i * ad;
    const float *in = v->in_act + (size_t)i * v->in_stride;
    for (size_t d = 0; d < ad; d++)
        a[d] = in[d] < v->low[d] ? v->low[d] : (in[d] > v->high[d] ? v->high[d] : in[d]);
    float r = 0.0f;
    unsigned fl = 0;
    if (v->table.step(v->user, v->envs[i], a, obs, &r, &fl) != 0)
        return ST_CALLBACK;
    if (!isfinite(r))
        return ST_NONFINITE_REW;
    if (!fpo_all_finite(obs, od))
        return ST_NONFINITE_OBS;
    if (fl & ~FPO_STEP_ALL_)
        return ST_FLAGS;
    v->out_rew[i] = r;
    v->out_flags[i] = fl;
    v->ret[i] += r;
    v->len[i]++;
    v->succ[i] |= (fl & FPO_STEP_SUCCESS) != 0;
    if (fl & FPO_STEP_ENDED_) {
        v->done_ret[i] = v->ret[i];
        v->done_len[i] = v->len[i];
        v->done_succ[i] = v->succ[i];
        if (v->out_final)
            memcpy(v->out_final + (size_t)i * od, obs, od * sizeof(float));
        int st = reset_one(v, i, obs);
        return st == ST_CALLBACK        ? ST_AUTO_RESET_CALLBACK
               : st == ST_NONFINITE_OBS ? ST_AUTO_RESET_NONFINITE
                                        : st;
    }
    return ST_OK;
}

static void run_range(void *ctx, int task, int n_tasks)
{
    fpo_vecenv *v = ctx;
    int per = (v->num_envs + n_tasks - 1) / n_tasks;
    int b = task * per, e = b + per > v->num_envs ? v->num_envs : b + per;
    for (int i = b; i < e; i++)
        v->status[i] = v->mode == MODE_RESET
                           ? reset_one(v, i, v->out_obs + (size_t)i * (size_t)v->obs_dim)
                       : v->active && !v->active[i] ? ST_OK
                                                    : step_one(v, i);
}

static int collect(fpo_vecenv *v, const char *what)
{
    for (int i = 0; i < v->num_envs; i++) {
        switch (v->status[i]) {
        case ST_OK: continue;
        case ST_CALLBACK:
            v->need_reset = 1;
            return fpo_fail(&v->err, FPO_ECALLBACK, "%s callback of environment %d failed", what, i);
        case ST_NONFINITE_OBS:
            v->need_reset = 1;
            return fpo_fail(&v->err, FPO_ENONFINITE,
                            "environment %d returned a NaN or Inf observation from %s", i, what);
        case ST_NONFINITE_REW:
            v->need_reset = 1;
            return fpo_fail(&v->err, FPO_ENONFINITE, "environment %d returned a NaN or Inf reward",
                            i);
        case ST_AUTO_RESET_CALLBACK:
            v->need_reset = 1;
            return fpo_fail(&v->err, FPO_ECALLBACK,
                            "reset callback of environment %d failed (automatic reset after its "
                            "episode ended)", i);
        case ST_AUTO_RESET_NONFINITE:
            v->need_reset = 1;
            return fpo_fail(&v->err, FPO_ENONFINITE,
                            "environment %d returned a NaN or Inf observation from reset "
                            "(automatic reset after its episode ended)", i);
        default:
            v->need_reset = 1;
            return fpo_fail(&v->err, FPO_ECALLBACK, "environment %d returned unknown flag bits", i);
        }
    }
    return FPO_OK;
}

int fpo_vecenv_reset(fpo_vecenv *v, float *obs)
{
    if (!v)
        return FPO_NULL_ARG("v");
    if (!obs)
        return fpo_fail(&v->err, FPO_EINVAL, "obs is NULL");
    v->mode = MODE_RESET;
    v->out_obs = obs;
    fpo_pool_run(v->pool, run_range, v, v->threads);
    int rc = collect(v, "reset");
    if (rc == FPO_OK)
        v->need_reset = 0;
    return rc;
}

/* Steps the instances in active (all if NULL), instance i with the act_dim
 * floats at actions + i * stride; the others' outputs are left as they are. */
static int step_some(fpo_vecenv *v, const float *actions, size_t stride,
                     const unsigned char *active, float *obs, float *rewards, unsigned *flags,
                     float *final_obs)
{
    if (!actions || !obs || !rewards || !flags)
        return fpo_fail(&v->err, FPO_EINVAL, "actions, obs, rewards and flags are required");
    if (v->need_reset)
        return fpo_fail(&v->err, FPO_ESTATE, "call fpo_vecenv_reset first");
    size_t ad = (size_t)v->act_dim;
    for (size_t i = 0; i < (size_t)v->num_envs; i++)
        if ((!active || active[i]) && !fpo_all_finite(actions + i * stride, ad))
            return fpo_fail(&v->err, FPO_ENONFINITE, "action of environment %zu is NaN or Inf",
                            i);
    v->mode = MODE_STEP;
    v->in_act = actions;
    v->in_stride = stride;
    v->active = active;
    v->out_obs = obs;
    v->out_rew = rewards;
    v->out_flags = flags;
    v->out_final = final_obs;
    fpo_pool_run(v->pool, run_range, v, v->threads);
    int rc = collect(v, "step");
    if (rc)
        return rc;
    /* Episode statistics in instance order, so they do not depend on threads. */
    for (int i = 0; i < v->num_envs; i++) {
        if ((active && !active[i]) || !(flags[i] & FPO_STEP_ENDED_))
            continue;
        double r = v->done_ret[i];
        v->st_n++;
        v->st_succ += v->done_succ[i];
        v->st_sum += r;
        v->st_len += (double)v->done_len[i];
        v->st_min = fmin(v->st_min, r);
        v->st_max = fmax(v->st_max, r);
    }
    return FPO_OK;
}

int fpo_vecenv_step(fpo_vecenv *v, const float *actions, float *obs, float *rewards,
                    unsigned *flags, float *final_obs)
{
    if (!v)
        return FPO_NULL_ARG("v");
    return step_some(v, actions, (size_t)v->act_dim, NULL, obs, rewards, flags, final_obs);
}

int fpo_vecenv_step_chunk(fpo_vecenv *v, const float *actions, size_t stride,
                          const unsigned char *active, float *obs, float *rewards, unsigned *flags,
                          float *final_obs)
{
    return step_some(v, actions, stride, active, obs, rewards, flags, final_obs);
}

int fpo_vecenv_take_episode_stats(fpo_vecenv *v, fpo_episode_stats *out)
{
    if (!v)
        return FPO_NULL_ARG("v");
    if (!out)
        return fpo_fail(&v->err, FPO_EINVAL, "out is NULL");
    fpo_episode_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.episodes = v->st_n;
    s.successes = v->st_succ;
    if (v->st_n > 0) {
        s.mean_return = v->st_sum / (double)v->st_n;
        s.mean_length = v->st_len / (double)v->st_n;
        s.min_return = v->st_min;
        s.max_return = v->st_max;
    }
    int rc = fpo_struct_out(&v->err, FPO_S_EPISODE_STATS, out, &s, sizeof s);
    if (rc)
        return rc;
    v->st_n = 0;
    v->st_succ = 0;
    v->st_sum = v->st_len = 0.0;
    v->st_min = INFINITY;
    v->st_max = -INFINITY;
    return FPO_OK;
}

uint64_t *fpo_vecenv_episode_counters(fpo_vecenv *v, int *n)
{
    *n = v->num_envs;
    return v->episode;
}
