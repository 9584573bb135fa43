/* libfpo: the whole training loop, for hosts that want it.
 *
 * A trainer owns a policy, a vecenv, a buffer, a sampler and an optimizer,
 * built from the configs given, and runs iterations: roll out horizon steps
 * of every environment with the sampler, then update. Every piece stays
 * usable alone; this is only the loop most programs would write. */
#ifndef FPO_TRAINER_H
#define FPO_TRAINER_H

#include "fpo/buffer.h"
#include "fpo/collective.h"
#include "fpo/common.h"
#include "fpo/env.h"
#include "fpo/optimizer.h"
#include "fpo/policy.h"
#include "fpo/sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fpo_trainer fpo_trainer;

/* Reported after every iteration. */
/* An output struct: set struct_size before the call (fpo_progress x = {sizeof x};).
 * The library writes at most struct_size bytes and refuses a size below the
 * first release's (docs/abi.md). */
typedef struct fpo_progress {
    size_t struct_size;
    int64_t iteration;       /* 1-based */
    int64_t env_steps;       /* total so far */
    int64_t total_steps;     /* the target of fpo_trainer_run (0 if none) */
    double mean_return;      /* running mean over the last finished episodes */
    double rollout_seconds;  /* wall time of this iteration's rollout */
    double update_seconds;   /* and of its update */
    double elapsed_seconds;  /* since the trainer was created */
    /* Owned by the trainer, valid until its next iteration. Pointers rather
     * than embedded structs, so that both may grow without moving anything
     * here. */
    const fpo_episode_stats *episodes; /* episodes finished in this iteration */
    const fpo_update_stats *update;    /* this iteration's update */
} fpo_progress;

/* Return non-zero to stop fpo_trainer_run after this iteration. Called on
 * the thread that called fpo_trainer_run / fpo_trainer_iterate. Calling
 * fpo_trainer_run or fpo_trainer_iterate on the same trainer from inside the
 * callback returns FPO_ESTATE. */
typedef int (*fpo_progress_fn)(void *user, const fpo_progress *progress);

/* Learning-rate schedules (fpo_trainer_config.lr_schedule). Values are
 * permanent. */
typedef enum fpo_lr_schedule {
    FPO_LR_DEFAULT = 0,  /* the library's default: FPO_LR_LINEAR for FPO,
                          * FPO_LR_CONSTANT for Gaussian PPO */
    FPO_LR_CONSTANT = 1,
    FPO_LR_LINEAR = 2
} fpo_lr_schedule;

typedef struct fpo_trainer_config {
    size_t struct_size;
    const fpo_env_table *env; /* required */
    void *env_user;
    int num_envs;             /* 16 */
    int horizon;              /* policy queries per environment per iteration: 64
                               * (environment steps; x chunk with action chunks) */
    int threads;              /* env stepping and update: 1 */
    uint64_t seed;            /* everything random derives from it */
    /* Component configs; NULL = defaults. obs_dim/act_dim/num_envs/horizon
     * and seeds inside them are filled in by the trainer. The algorithm is
     * optimizer->algo (FPO unless given) and must fit policy->kind. */
    const fpo_policy_config *policy;
    const fpo_sampler_config *sampler;   /* rollout sampler */
    const fpo_optimizer_config *optimizer;
    int n_mc;                 /* (t, eps) pairs per transition: 8 */
    fpo_t_dist t_dist;        /* UNIFORM */
    fpo_progress_fn progress;
    void *progress_user;
    const fpo_allocator *allocator;
    /* Data-parallel training over several processes (fpo/collective.h);
     * NULL = this process alone. Every rank creates a trainer with the same
     * configuration (num_envs may differ: it counts this rank's
     * environments) and calls iterate / run in step; ranks then hold
     * identical policies, and progress reports global figures (env_steps,
     * episode statistics, update statistics) on every rank. The trainer
     * passes it to the optimizer (a collective in cfg->optimizer is
     * replaced). fpo_trainer_save writes what this rank holds (policy,
     * optimizer and counters are the same everywhere; episode counters are
     * this rank's): save on one rank, restore on all from that file. */
    const fpo_collective *collective;
    /* Collapse guard. FPO runs (and, more rarely, PPO runs) can collapse late:
     * the CFM loss and approx_kl leave their usual range and stay there, and
     * the return falls. After every update the trainer judges the update
     * statistics against the run's own recent history (the median of the
     * last 20 healthy iterations, judged once 10 are known):
     *  - an iteration is suspicious if cfm_loss > 10x its median (FPO only),
     *    approx_kl > max(50x its median, 0.05), or ratio_max > max(1e3,
     *    100x its median), or the optimizer skipped a step (skipped_steps);
     *    and, so that a slow climb the medians follow is caught too, if
     *    cfm_loss > 10x or approx_kl > max(50x, 0.05) the lowest 20-iteration
     *    median of the run; the cfm_loss rules only once cfm_loss is above
     *    its first 20-iteration median (a sharpened flow's spikes below
     *    where it began are not a collapse);
     *  - a collapse is 3 suspicious iterations in a row, or any non-finite
     *    statistic (policy_loss, value_loss, cfm_loss, approx_kl, ratio_max).
     * On a collapse it restores the last good snapshot (parameters,
     * observation statistics, Adam's moments and step count), taken after
     * healthy iterations 10 to 20 iterations earlier, halves the learning
     * rate (FPO_OPT_LR) and counts it in fpo_update_stats.rollbacks; the
     * iteration returns FPO_OK. Suspicious statistics never enter the
     * history. If guard_max_rollbacks rollbacks have already happened without
     * 20 healthy iterations between them, or the halved rate would fall below
     * 1/16 of the reference rate (the configured one, or the last one the
     * host set with fpo_optimizer_set), the state is restored all the same
     * and fpo_trainer_iterate / fpo_trainer_run return FPO_EDIVERGED.
     * Decisions use only global statistics, so all ranks of a data-parallel
     * run take the same ones. The snapshots are allocated at create (two
     * copies of parameters, Adam's moments and statistics), never later.
     * Its state is not saved by fpo_trainer_save: a restored trainer's guard
     * starts afresh (warm-up, the restored state as its snapshot).
     * 0 (default) or 1: on; -1: off (training is then exactly as without
     * the guard); any other value is FPO_ERANGE. */
    int guard;
    /* Rollbacks in a row (without 20 healthy iterations between) before the
     * next collapse fails the run: 0 = default 3; else 1..64. */
    int guard_max_rollbacks;
    /* Since 0.2.0. The learning rate over a fpo_trainer_run budget:
     * FPO_LR_LINEAR scales the optimizer's rate (FPO_OPT_LR, which the host
     * and the guard may change) by 1 - env_steps / total_steps before each
     * iteration of fpo_trainer_run, so the last updates are small and the
     * policy at the end of the budget is not one that peaked and fell; it
     * costs learning speed on budgets too short to finish learning
     * (docs/stability.md has both). FPO_LR_CONSTANT keeps the rate. The
     * default (0) is linear for FPO and constant for Gaussian PPO. The
     * schedule
     * follows each call's total_steps: a run split into several calls should
     * pass the same final total to each, or use FPO_LR_CONSTANT.
     * fpo_trainer_iterate called directly uses the unscaled rate. 0 = the
     * default. */
    fpo_lr_schedule lr_schedule;
    /* Since 0.2.0. Start from this policy's parameters and observation
     * statistics instead of the policy config's fresh initialization (a
     * pretrained policy, fpo_policy_pretrain, or any saved one): it must
     * have the kind and network shapes the trainer's policy config gives
     * (FPO_EMISMATCH otherwise). Read at create only; the caller keeps it.
     * Data-parallel ranks pass the same policy. NULL (default) = none. */
    const fpo_policy *init_policy;
    /* Since 0.2.0. Critic warm-up: the first critic_warmup iterations
     * update only the value network (the actor and the Gaussian std
     * parameters stay as they are; their gradient is computed, and the
     * update statistics reported, as usual), so that fine-tuning a
     * pretrained policy does not start from the advantages of an untrained
     * critic (as DPPO fine-tunes). Counted in fpo_trainer iterations, also
     * across fpo_trainer_save / restore. 0 (default) = none; [0, 2^30]. */
    int critic_warmup;
} fpo_trainer_config;

/* Fill *cfg with the defaults, for a struct of size bytes (pass sizeof *cfg),
 * and set cfg->struct_size = size. Writes exactly size bytes, never more:
 * fields this library does not know (a newer program's) are zeroed.
 * FPO_EINVAL (nothing written, message in fpo_last_errmsg()) if cfg is NULL or
 * size is below the first release's size. Since LIBFPO_1.1. */
FPO_API int fpo_trainer_config_init_sized(fpo_trainer_config *cfg, size_t size);
/* The usual spelling, sized by the compiler; also the name of the LIBFPO_1
 * entry point that binaries built against release 0.1.0 call. */
#define fpo_trainer_config_init(cfg) fpo_trainer_config_init_sized((cfg), sizeof *(cfg))
/* Sizes are checked before anything is allocated, with messages naming the
 * trainer config's fields: num_envs in [1, 2^20], horizon in [1, 2^24],
 * num_envs x horizon <= 2^26, n_mc in [0, 4096], the environment table's
 * obs_dim and act_dim in [1, 65536] (FPO_ERANGE). The memory all components
 * will need is then estimated from these sizes, the networks and the
 * optimizer's minibatches and threads; a total above the machine's physical
 * memory is refused at once with FPO_ENOMEM and a message giving the
 * estimate and its parts. */
FPO_API int fpo_trainer_create(fpo_trainer **out, const fpo_trainer_config *cfg);
FPO_API void fpo_trainer_destroy(fpo_trainer *t);
FPO_API const char *fpo_trainer_errmsg(const fpo_trainer *t);

/* One iteration: rollout + update. out may be NULL. On an environment error
 * (FPO_ECALLBACK, FPO_ENONFINITE) the iteration's data is discarded, the
 * policy is unchanged and the environments are reset on the next call. An
 * update that fails (FPO_EDIVERGED from fpo_optimizer_update: non-finite
 * parameters) is undone by the optimizer and returned as it is. A collapse
 * the guard detects (fpo_trainer_config.guard) is rolled back and returns
 * FPO_OK, with out->update->rollbacks one higher; when the guard gives up it
 * returns FPO_EDIVERGED (the policy holds the last good snapshot). */
FPO_API int fpo_trainer_iterate(fpo_trainer *t, fpo_progress *out);
/* Iterate until at least total_steps env steps have been taken in all (or
 * the progress callback asks to stop). */
FPO_API int fpo_trainer_run(fpo_trainer *t, int64_t total_steps);

/* The trained policy (owned by the trainer, valid until destroy). Between
 * iterations it may be read, saved or cloned. */
FPO_API fpo_policy *fpo_trainer_policy(fpo_trainer *t);
FPO_API fpo_optimizer *fpo_trainer_optimizer(fpo_trainer *t);
FPO_API int64_t fpo_trainer_env_steps(const fpo_trainer *t);

/* Save everything training needs to continue (policy, optimizer state and
 * tunables, random streams, counters) to path, atomically. Call between
 * iterations. */
FPO_API int fpo_trainer_save(fpo_trainer *t, const char *path);
/* Restore a state saved by fpo_trainer_save into a trainer created with the
 * same configuration (FPO_EMISMATCH otherwise; the trainer is unchanged on
 * any error). The host's simulators cannot be saved, so every environment
 * starts a new episode at the next iteration: a resumed run equals an
 * uninterrupted one exactly when episodes end at iteration boundaries, and
 * is statistically equivalent otherwise. */
FPO_API int fpo_trainer_restore(fpo_trainer *t, const char *path);

#ifdef __cplusplus
}
#endif

#endif
