/* libfpo: the rollout buffer.
 *
 * Holds one iteration of experience from num_envs environments over horizon
 * steps, in step-major order (index = step * num_envs + env): observations,
 * the unbounded actions x_0, rewards, FPO_STEP_* flags, the final
 * observation of every episode that ended (to bootstrap truncations), and
 * the observation after the last step. For flow policies it also draws and
 * keeps the n_mc (t, eps) pairs per transition when a step is added; the
 * optimizer evaluates the CFM losses on exactly these pairs for theta_old
 * and theta, which is what makes FPO's ratio meaningful. */
#ifndef FPO_BUFFER_H
#define FPO_BUFFER_H

#include "fpo/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fpo_buffer fpo_buffer;

/* How the flow times t_i of the stored pairs are drawn. */
typedef enum fpo_t_dist {
    FPO_T_GRID = 0,    /* uniform over {0.1, 0.2, ..., 1.0} (reference; fits
                        * only the times Euler with 10 steps evaluates) */
    FPO_T_UNIFORM = 1, /* U(0, 1): the default (0.2.0) */
    FPO_T_BETA = 2     /* Beta(1, t_beta) mapped onto [0.005, 0.995] (FPO++) */
} fpo_t_dist;

typedef struct fpo_buffer_config {
    size_t struct_size;
    int num_envs;        /* >= 1, required */
    int horizon;         /* steps per iteration, >= 1, required */
    int obs_dim;         /* required */
    int act_dim;         /* required */
    int n_mc;            /* (t, eps) pairs per transition: 8; 0 for Gaussian */
    fpo_t_dist t_dist;   /* UNIFORM */
    float t_beta;        /* for FPO_T_BETA: 1.5 */
    uint64_t seed;
    const fpo_allocator *allocator;
    /* The (t, eps) pairs of environment e at a step are drawn from a stream
     * keyed by (seed, env_offset + e, number of the step since creation), so
     * they do not depend on how many environments share the buffer.
     * Data-parallel training sets env_offset to the global index of this
     * process's first environment (fpo/collective.h). 0..2^30: 0. */
    int env_offset;
    /* DPPO (since LIBFPO_1.1): the denoising chain of every transition,
     * path_steps + 1 states of act_dim floats (x_1 first, the final x_0
     * last), given with fpo_buffer_add_path; path_steps is the sampler's
     * steps. 0 = none (default); 0..1000. (64 bits so that it starts after
     * release 0.1.0's struct, tail padding included: docs/abi.md.) */
    int64_t path_steps;
} fpo_buffer_config;

/* Fill *cfg with the defaults, for a struct of size bytes (pass sizeof *cfg),
 * and set cfg->struct_size = size. Writes exactly size bytes, never more:
 * fields this library does not know (a newer program's) are zeroed.
 * FPO_EINVAL (nothing written, message in fpo_last_errmsg()) if cfg is NULL or
 * size is below the first release's size. Since LIBFPO_1.1. */
FPO_API int fpo_buffer_config_init_sized(fpo_buffer_config *cfg, size_t size);
/* The usual spelling, sized by the compiler; also the name of the LIBFPO_1
 * entry point that binaries built against release 0.1.0 call. */
#define fpo_buffer_config_init(cfg) fpo_buffer_config_init_sized((cfg), sizeof *(cfg))
FPO_API int fpo_buffer_create(fpo_buffer **out, const fpo_buffer_config *cfg);
FPO_API void fpo_buffer_destroy(fpo_buffer *b);
FPO_API const char *fpo_buffer_errmsg(const fpo_buffer *b);

/* Empty the buffer for a new iteration (keeps the random stream going). */
FPO_API int fpo_buffer_clear(fpo_buffer *b);
/* Append one step of all environments: obs are the observations the actions
 * were chosen on (num_envs * obs_dim), raw_actions the unbounded x_0
 * (num_envs * act_dim), rewards and flags as the step returned them, and
 * final_obs the final observations where flags end an episode (may be NULL
 * if no episode ends; FPO_STEP_SUCCESS is stored and otherwise ignored).
 * Non-finite inputs are rejected and nothing is stored.
 * FPO_ESTATE when the buffer is full. */
FPO_API int fpo_buffer_add(fpo_buffer *b, const float *obs, const float *raw_actions,
                           const float *rewards, const unsigned *flags, const float *final_obs);
/* The denoising chains of the step fpo_buffer_add just stored
 * (num_envs * (path_steps + 1) * act_dim floats, environment-major, as
 * fpo_sampler_path gives them), for DPPO. FPO_ESTATE if the buffer has no
 * path_steps, no step was added since the last chains, or they were given
 * already; FPO_ENONFINITE (nothing stored) on NaN/Inf. Since LIBFPO_1.1. */
FPO_API int fpo_buffer_add_path(fpo_buffer *b, const float *path);
/* The observations after the last step (num_envs * obs_dim), to bootstrap. */
FPO_API int fpo_buffer_set_last_obs(fpo_buffer *b, const float *obs);
/* Steps stored so far (0..horizon). */
FPO_API int fpo_buffer_steps(const fpo_buffer *b);
FPO_API int fpo_buffer_is_full(const fpo_buffer *b);

/* Read access for hosts and bindings (pointers stay valid until clear or
 * destroy). pairs_t: steps*num_envs*n_mc floats; pairs_eps: that * act_dim. */
/* An output struct: set struct_size before the call (fpo_buffer_view x = {sizeof x};).
 * The library writes at most struct_size bytes and refuses a size below the
 * first release's (docs/abi.md). */
typedef struct fpo_buffer_view {
    size_t struct_size;
    int steps, num_envs, obs_dim, act_dim, n_mc;
    const float *obs, *raw_actions, *rewards, *final_obs, *last_obs;
    const unsigned *flags;
    const float *pairs_t, *pairs_eps;
} fpo_buffer_view;
FPO_API int fpo_buffer_get_view(const fpo_buffer *b, fpo_buffer_view *out);

/* Generalized advantage estimation over a step-major [steps][num_envs]
 * batch. values: V(obs) per transition; final_values: V(final obs) where the
 * transition ended an episode (read only there; may be NULL if none ends by
 * truncation); last_values: V of the observation after the last step
 * (num_envs). Terminated transitions bootstrap with 0, truncated ones with
 * final_values, the rest with the next value. rewards are multiplied by
 * reward_scale. Writes advantages and returns (advantages + values).
 * FPO_ENONFINITE if an input it reads is NaN or Inf. */
FPO_API int fpo_gae(float *advantages, float *returns, const float *rewards,
                    const unsigned *flags, const float *values, const float *final_values,
                    const float *last_values, int steps, int num_envs, float gamma,
                    float lambda, float reward_scale);

#ifdef __cplusplus
}
#endif

#endif
