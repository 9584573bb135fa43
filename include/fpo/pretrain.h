/* libfpo: fitting a policy's actor to recorded (observation, action) pairs.
 *
 * fpo_policy_pretrain is supervised learning on a data set the caller owns:
 * a flow policy is fitted with the library's own conditional flow-matching
 * loss (the one FPO's ratio is built from: the same (t, eps) draws and the
 * same loss forms as the optimizer, fpo_optimizer_config.cfm_loss), a
 * Gaussian policy by maximum likelihood of its mean and standard deviation.
 * Minibatch Adam on the actor's parameters (the critic is not touched);
 * the observation statistics of the training rows are merged into the
 * policy's (a fresh policy: exactly the data's) before the first step. A
 * held-out share of the rows is never trained on; its loss is reported
 * after every epoch. Everything random (split, shuffles, pairs) derives
 * from the seed: the same data, policy and config give the same bits.
 *
 * The actions are in the space training stores: the unbounded action x_0
 * before the squash (fpo_sampler_act's `raw` output), not the squashed,
 * bounded action an environment consumes. A flow policy's targets beyond
 * +-raw_clip are clamped to it, as the sampler clamps its own.
 *
 * Since LIBFPO_1.1 (release 0.2.0). */
#ifndef FPO_PRETRAIN_H
#define FPO_PRETRAIN_H

#include "fpo/common.h"
#include "fpo/optimizer.h"
#include "fpo/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called after every epoch (1-based) with the mean training loss of the
 * epoch and the loss of the held-out rows after it (NaN when holdout is 0).
 * Return non-zero to stop after this epoch (fpo_pretrain_stats.stopped). */
typedef int (*fpo_pretrain_progress_fn)(void *user, int epoch, double train_loss,
                                        double val_loss);

typedef struct fpo_pretrain_config {
    size_t struct_size;
    int epochs;              /* passes over the training rows: 50; 1..1000000 */
    int minibatch;           /* rows per Adam step: 256; 1..1048576 */
    float lr;                /* Adam learning rate: 1e-3; (0, 1] */
    float weight_decay;      /* AdamW decoupled decay: 0; [0, 1] */
    float max_grad_norm;     /* global-norm clipping: 1; 0 = off */
    float holdout;           /* share of the rows held out for validation: 0.1;
                              * [0, 0.9]; at least one row each side */
    uint64_t seed;           /* split, shuffles, (t, eps) pairs: 1 */
    /* Flow policies: (t, eps) pairs per row and step, 0 = the library's
     * default (8, as FPO's n_mc); and the loss form (FPO_CFM_EPS by default,
     * as the optimizer's: pretrain with the form fine-tuning will use). The
     * pairs' times come from t_dist (default: uniform, as the trainer's). */
    int n_mc;
    fpo_t_dist t_dist;
    fpo_cfm_loss cfm_loss;
    /* 1 (default): merge the training rows' observations into the policy's
     * observation statistics first; 0: use the statistics as they are. */
    int update_obs_stats;
    fpo_pretrain_progress_fn progress; /* NULL: none */
    void *progress_user;
} fpo_pretrain_config;

/* An output struct: set struct_size before the call
 * (fpo_pretrain_stats x = {sizeof x};). The library writes at most
 * struct_size bytes (docs/abi.md). The losses are, for a flow policy, the
 * mean CFM loss of a row's (t, eps) pairs (the fpo_update_stats.cfm_loss
 * measure), averaged over rows; for a Gaussian policy the mean negative
 * log-likelihood of a row's action. The training loss of an epoch is taken
 * on each minibatch before its step. */
typedef struct fpo_pretrain_stats {
    size_t struct_size;
    int epochs;             /* epochs completed */
    int stopped;            /* 1 if the progress callback stopped it */
    int64_t n_train, n_val; /* rows trained on / held out */
    int64_t steps;          /* Adam steps */
    double first_train_loss; /* mean loss of the first epoch */
    double train_loss;      /* of the last epoch completed */
    double first_val_loss;  /* held-out loss before the first step (NaN: no holdout) */
    double val_loss;        /* after the last epoch completed (NaN: no holdout) */
} fpo_pretrain_stats;

/* Fill *cfg with the defaults, for a struct of size bytes (pass sizeof *cfg),
 * and set cfg->struct_size = size (docs/abi.md). FPO_EINVAL for NULL or a
 * size below the first release's. Since LIBFPO_1.1. */
FPO_API int fpo_pretrain_config_init_sized(fpo_pretrain_config *cfg, size_t size);
#define fpo_pretrain_config_init(cfg) fpo_pretrain_config_init_sized((cfg), sizeof *(cfg))

/* Fit p's actor to n rows: obs (n x obs_dim floats) and act (n x act_dim
 * floats, raw actions, see above), both row-major and caller-owned. cfg
 * NULL = defaults; out may be NULL. Errors, with the message in
 * fpo_policy_errmsg(p) (fpo_last_errmsg() when p is NULL): FPO_EINVAL (NULL
 * argument), FPO_ERANGE (a setting, or n too small for the holdout and at
 * least one row each side), FPO_ENONFINITE (the row and column of the first
 * NaN or Inf in obs or act), FPO_ENOMEM, FPO_EDIVERGED (a non-finite loss
 * or parameter: the policy is restored to its state before the call). A
 * stop requested by the callback is FPO_OK with out->stopped = 1. The policy
 * is modified in place and needs exclusive access. Denormal floats are
 * flushed to zero while it runs (its callback included), and the thread's
 * floating-point mode is given back (docs/threads.md). Since LIBFPO_1.1. */
FPO_API int fpo_policy_pretrain(fpo_policy *p, const fpo_pretrain_config *cfg, const float *obs,
                                const float *act, int64_t n, fpo_pretrain_stats *out);

#ifdef __cplusplus
}
#endif

#endif
