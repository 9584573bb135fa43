/* libfpo: host-supplied environments.
 *
 * A host plugs its simulator in through a function table (fpo_env_table).
 * The library creates num_envs instances, resets and steps them in batches,
 * resets finished episodes automatically, and checks every observation and
 * reward it receives: a callback error or a NaN/Inf is returned to the caller
 * as FPO_ECALLBACK / FPO_ENONFINITE, never written into training data. */
#ifndef FPO_ENV_H
#define FPO_ENV_H

#include "fpo/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Current version of the table layout; older versions keep working, newer
 * ones are rejected by fpo_vecenv_create with FPO_EVERSION. */
#define FPO_ENV_TABLE_VERSION 1

/* The function table. Every callback receives `user` first and returns 0 on
 * success or any non-zero value on failure (reported as FPO_ECALLBACK, with
 * the callback and the instance named in the handle's error message).
 *
 * Threads: with threads > 1 in fpo_vecenv_config, create/reset/step of
 * DIFFERENT instances may run concurrently on libfpo's worker threads; calls
 * for one instance never overlap. destroy runs on the thread calling
 * fpo_vecenv_destroy. */
/* A table the host fills: struct_size = sizeof table, version = FPO_ENV_TABLE_VERSION of
 * the headers it is built against (docs/abi.md). */
typedef struct fpo_env_table {
    size_t struct_size;
    int version;        /* FPO_ENV_TABLE_VERSION the host was written for */
    int obs_dim;        /* > 0 */
    int act_dim;        /* > 0 */
    /* Action bounds, act_dim each; NULL means [-1, 1] per dimension. The
     * policy's squashed output in [-1, 1] is mapped affinely onto them. */
    const float *action_low;
    const float *action_high;

    /* Optional: make the state of instance `index` (0 <= index < num_envs).
     * NULL means *env is the index itself cast to a pointer. */
    int (*create)(void *user, int index, void **env);
    /* Start an episode; write obs_dim floats to obs. seed differs for every
     * episode and is reproducible from the vecenv's seed. */
    int (*reset)(void *user, void *env, uint64_t seed, float *obs);
    /* Apply action (act_dim floats within the bounds), write the next
     * observation, the reward and FPO_STEP_* flags (0 if the episode goes on;
     * FPO_STEP_SUCCESS optionally, for tasks with a success criterion).
     * When an episode ends, obs is its final observation; the library then
     * calls reset itself. */
    int (*step)(void *user, void *env, const float *action, float *obs, float *reward,
                unsigned *flags);
    /* Optional: free what create made. */
    void (*destroy)(void *user, void *env);
} fpo_env_table;

/* ---- a batch of environments ------------------------------------------ */

typedef struct fpo_vecenv fpo_vecenv;

typedef struct fpo_vecenv_config {
    size_t struct_size;
    const fpo_env_table *table; /* copied; must be valid */
    void *user;                 /* passed to every callback */
    int num_envs;               /* >= 1 */
    int threads;                /* worker threads for stepping (1 = caller only) */
    uint64_t seed;              /* episode seeds derive from it */
    const fpo_allocator *allocator; /* NULL = malloc/free */
    /* Episode seeds derive from (seed, env_offset + instance index, episode
     * number): data-parallel training sets env_offset to the global index of
     * this process's first environment (fpo/collective.h), so an
     * environment's episodes do not depend on the process that steps it.
     * create still receives the local index. 0..2^30: 0. */
    int env_offset;
} fpo_vecenv_config;

/* Statistics of the episodes completed since the last call to
 * fpo_vecenv_take_episode_stats. */
/* An output struct: set struct_size before the call (fpo_episode_stats x = {sizeof x};).
 * The library writes at most struct_size bytes and refuses a size below the
 * first release's (docs/abi.md). */
typedef struct fpo_episode_stats {
    size_t struct_size;
    int64_t episodes;
    double mean_return;   /* undiscounted, unscaled */
    double mean_length;
    double min_return;
    double max_return;
    /* Appended in 0.1.0 (#19): episodes in which a step reported
     * FPO_STEP_SUCCESS (0 for tasks that never do). */
    int64_t successes;
} fpo_episode_stats;

/* Fill *cfg with the defaults, for a struct of size bytes (pass sizeof *cfg),
 * and set cfg->struct_size = size. Writes exactly size bytes, never more:
 * fields this library does not know (a newer program's) are zeroed.
 * FPO_EINVAL (nothing written, message in fpo_last_errmsg()) if cfg is NULL or
 * size is below the first release's size. Since LIBFPO_1.1. */
FPO_API int fpo_vecenv_config_init_sized(fpo_vecenv_config *cfg, size_t size);
/* The usual spelling, sized by the compiler; also the name of the LIBFPO_1
 * entry point that binaries built against release 0.1.0 call. */
#define fpo_vecenv_config_init(cfg) fpo_vecenv_config_init_sized((cfg), sizeof *(cfg))
FPO_API int fpo_vecenv_create(fpo_vecenv **out, const fpo_vecenv_config *cfg);
FPO_API void fpo_vecenv_destroy(fpo_vecenv *v);
FPO_API const char *fpo_vecenv_errmsg(const fpo_vecenv *v);

FPO_API int fpo_vecenv_num_envs(const fpo_vecenv *v);
FPO_API int fpo_vecenv_obs_dim(const fpo_vecenv *v);
FPO_API int fpo_vecenv_act_dim(const fpo_vecenv *v);

/* Reset every instance; obs receives num_envs * obs_dim floats. */
FPO_API int fpo_vecenv_reset(fpo_vecenv *v, float *obs);

/* Step every instance with actions (num_envs * act_dim floats, within the
 * table's bounds: what fpo_sampler_act returns for a policy made with the
 * same bounds; they are clipped to the bounds before the callback sees them).
 * Writes the next observations (the reset observation where an episode
 * ended), rewards, flags and, where an episode ended, its final observation
 * into final_obs (may be NULL). A callback error (FPO_ECALLBACK) or a NaN/Inf
 * observation or reward (FPO_ENONFINITE) is returned with the instance named
 * in the error message; the outputs are then unspecified, the episode
 * statistics are not updated, and every instance must be reset with
 * fpo_vecenv_reset before it is stepped again (FPO_ESTATE otherwise). */
FPO_API int fpo_vecenv_step(fpo_vecenv *v, const float *actions, float *obs, float *rewards,
                            unsigned *flags, float *final_obs);

FPO_API int fpo_vecenv_take_episode_stats(fpo_vecenv *v, fpo_episode_stats *out);

#ifdef __cplusplus
}
#endif

#endif
