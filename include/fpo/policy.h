/* libfpo: policies (flow or Gaussian) with their value network.
 *
 * A flow policy is a velocity MLP v(x_t, t; o) over [normalized obs, x_t,
 * emb(t)] with t = 1 noise and t = 0 data: x_t = t*eps + (1-t)*a, v ~ eps - a.
 * Actions are drawn with an fpo_sampler (any integrator, any step count).
 * A Gaussian policy is a mean MLP with a state-independent, state-dependent
 * or fixed standard deviation. Both carry a value MLP and running
 * observation statistics.
 *
 * Threads: a policy is read-only for fpo_sampler_act / fpo_sampler_value,
 * which may run concurrently on one policy from several threads (each with
 * its own sampler). Everything that modifies a policy (optimizer updates,
 * fpo_policy_obs_*, set_params, load) needs exclusive access. */
#ifndef FPO_POLICY_H
#define FPO_POLICY_H

#include "fpo/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fpo_policy fpo_policy;

typedef enum fpo_policy_kind {
    FPO_POLICY_FLOW = 0,
    FPO_POLICY_GAUSSIAN = 1
} fpo_policy_kind;

/* Gaussian policies: how the standard deviation is produced.
 * std = softplus(s) + min_std with s a free parameter vector (STATE_INDEPENDENT),
 * a second head of the mean MLP (STATE_DEPENDENT), or fixed_std (FIXED). */
typedef enum fpo_std_mode {
    FPO_STD_STATE_INDEPENDENT = 0,
    FPO_STD_STATE_DEPENDENT = 1,
    FPO_STD_FIXED = 2
} fpo_std_mode;

/* How the unbounded action x is brought into [-1, 1] before it is mapped
 * onto the action bounds. */
typedef enum fpo_squash {
    FPO_SQUASH_TANH = 0,
    FPO_SQUASH_CLIP = 1
} fpo_squash;

/* Flow policies: features of t fed to the velocity MLP. */
typedef enum fpo_time_embedding {
    FPO_TIME_SINUSOIDAL = 0, /* cos(t 2^k), sin(t 2^k), k = 0..3: 8 features */
    FPO_TIME_RAW = 1         /* t itself: 1 feature */
} fpo_time_embedding;

/* Which network a parameter query is about. */
typedef enum fpo_net {
    FPO_NET_ACTOR = 0,  /* velocity or mean MLP (and Gaussian log-std params) */
    FPO_NET_CRITIC = 1, /* value MLP */
    FPO_NET_ALL = 2     /* actor then critic, one flat vector */
} fpo_net;

typedef struct fpo_policy_config {
    size_t struct_size;
    fpo_policy_kind kind;           /* FPO_POLICY_FLOW */
    int obs_dim;                    /* > 0, required */
    int act_dim;                    /* > 0, required */
    int actor_layers;               /* hidden layers: 4 */
    int actor_hidden[FPO_MAX_LAYERS]; /* widths: 32 each */
    fpo_activation actor_activation; /* SiLU */
    int critic_layers;              /* 5 */
    int critic_hidden[FPO_MAX_LAYERS]; /* 256 each */
    fpo_activation critic_activation; /* SiLU */
    float flow_output_scale;        /* velocity output scale: 0.25 */
    fpo_time_embedding time_embedding; /* SINUSOIDAL */
    fpo_std_mode std_mode;          /* STATE_INDEPENDENT */
    float init_std;                 /* Gaussian std at initialization: 1.0 (> min_std) */
    float min_std;                  /* 1e-3; Gaussian: > 0 unless std_mode FIXED */
    fpo_squash squash;              /* TANH */
    const float *action_low;        /* act_dim floats, copied; NULL = -1 */
    const float *action_high;       /* act_dim floats, copied; NULL = +1 */
    int normalize_obs;              /* 1: running mean/std normalization; 0 or 1 */
    float obs_clip;                 /* normalized obs clipped to +-obs_clip: 10 */
    uint64_t seed;                  /* weight initialization */
    const fpo_allocator *allocator; /* NULL = malloc/free */
    /* Flow policies: samplers clamp the unbounded action x_0 to
     * [-raw_clip, raw_clip] before squashing, and that clamped value is what
     * training stores, so the flow is never trained toward ever larger x_0
     * where tanh is saturated. 0 = no clamp. Default 3 (tanh(3) = 0.995).
     * A clamped action is not the flow's own sample; the optimizer's anchor
     * (fpo_optimizer_config.anchor_coef) teaches the flow to produce it, and
     * its spike guard bounds the gradients of such pairs
     * (docs/stability.md). Gaussian policies ignore it: a clamped sample
     * would make their likelihood degenerate (std collapses onto the
     * bound). */
    float raw_clip;
    /* Action chunks (since LIBFPO_1.1): the actor emits `chunk` actions per
     * query, H x act_dim values (a flow policy's flow is over the whole
     * chunk vector; a Gaussian policy has H x act_dim means and stds). The
     * samplers return the whole chunk, action j of row r at
     * (r * chunk + j) * act_dim; fpo_trainer steps the environments chunk
     * times per query (docs/design.md, "Action chunks"). The action bounds
     * stay act_dim floats, applied to every action of a chunk. 0 (default)
     * means 1; 1..64. (64 bits so that it starts after release 0.1.0's
     * struct, tail padding included: docs/abi.md.) */
    int64_t chunk;
} fpo_policy_config;

/* An output struct: set struct_size before the call (fpo_policy_info x = {sizeof x};).
 * The library writes at most struct_size bytes and refuses a size below the
 * first release's (docs/abi.md). */
typedef struct fpo_policy_info {
    size_t struct_size;
    fpo_policy_kind kind;
    int obs_dim, act_dim;
    size_t actor_params;   /* floats in FPO_NET_ACTOR */
    size_t critic_params;  /* floats in FPO_NET_CRITIC */
    int64_t obs_count;     /* observations merged into the normalization */
} fpo_policy_info;

/* Fill *cfg with the defaults, for a struct of size bytes (pass sizeof *cfg),
 * and set cfg->struct_size = size. Writes exactly size bytes, never more:
 * fields this library does not know (a newer program's) are zeroed.
 * FPO_EINVAL (nothing written, message in fpo_last_errmsg()) if cfg is NULL or
 * size is below the first release's size. Since LIBFPO_1.1. */
FPO_API int fpo_policy_config_init_sized(fpo_policy_config *cfg, size_t size);
/* The usual spelling, sized by the compiler; also the name of the LIBFPO_1
 * entry point that binaries built against release 0.1.0 call. */
#define fpo_policy_config_init(cfg) fpo_policy_config_init_sized((cfg), sizeof *(cfg))
FPO_API int fpo_policy_create(fpo_policy **out, const fpo_policy_config *cfg);
/* A deep copy (parameters, statistics, configuration). */
FPO_API int fpo_policy_clone(fpo_policy **out, const fpo_policy *src);
FPO_API void fpo_policy_destroy(fpo_policy *p);
/* Message of the last failed call on p ("" if none). */
FPO_API const char *fpo_policy_errmsg(const fpo_policy *p);

FPO_API int fpo_policy_get_info(const fpo_policy *p, fpo_policy_info *out);
/* The configuration the policy was made with (pointer members NULL). */
FPO_API int fpo_policy_get_config(const fpo_policy *p, fpo_policy_config *out);

/* Copy parameters out of / into the policy; n must equal the count of net. */
FPO_API int fpo_policy_get_params(const fpo_policy *p, fpo_net net, float *out, size_t n);
FPO_API int fpo_policy_set_params(fpo_policy *p, fpo_net net, const float *params, size_t n);

/* Observation normalization. obs_accumulate gathers a batch into pending
 * statistics; obs_commit merges them (exact parallel Welford/Chan) into the
 * statistics every computation uses. Training commits once per iteration,
 * before the update, so statistics are frozen within an update. */
FPO_API int fpo_policy_obs_accumulate(fpo_policy *p, const float *obs, int n);
FPO_API int fpo_policy_obs_commit(fpo_policy *p);
/* Current statistics (obs_dim floats each; std includes the 1e-8 floor). */
FPO_API int fpo_policy_obs_stats(const fpo_policy *p, float *mean, float *std);

/* Save to / load from a checkpoint file (see docs/checkpoint.md): versioned,
 * little-endian, checksummed, written atomically (temp file, fsync, rename). */
FPO_API int fpo_policy_save(const fpo_policy *p, const char *path);
FPO_API int fpo_policy_load(fpo_policy **out, const char *path, const fpo_allocator *allocator);
/* The same format in memory: *size receives the byte count needed; if buf is
 * non-NULL and cap >= that count the bytes are written. */
FPO_API int fpo_policy_save_mem(const fpo_policy *p, void *buf, size_t cap, size_t *size);
FPO_API int fpo_policy_load_mem(fpo_policy **out, const void *buf, size_t size,
                                const fpo_allocator *allocator);

#ifdef __cplusplus
}
#endif

#endif
