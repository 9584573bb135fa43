/* libfpo: the clipped policy update (FPO, Gaussian PPO and DPPO).
 *
 * fpo_optimizer_update runs one iteration's update on a full buffer:
 *  1. commits the observation statistics gathered from the buffer (they then
 *     stay frozen for the whole update);
 *  2. computes values, GAE advantages and returns;
 *  3. FPO: the per-pair CFM losses l_old of the stored (t, eps) pairs under
 *     the current parameters (theta_old); PPO: the old log-likelihoods;
 *     DPPO: the old log-likelihoods of every step of the stored denoising
 *     chains;
 *  4. epochs x minibatches Adam steps on the clipped objective plus the value
 *     loss, advantages normalized per minibatch.
 * FPO's ratio is rho = exp(mean_i l_old,i - mean_i l_theta,i) (FPO_RATIO_AVERAGED)
 * or per pair rho_i = exp(clamp(l_old,i - l_theta,i, -c, c)) (FPO++,
 * FPO_RATIO_PER_SAMPLE). Because statistics and pairs are fixed, rho == 1
 * exactly at the first minibatch.
 * DPPO (Ren et al.'s denoising-MDP policy gradient, as in the FPO paper's
 * comparison) treats the sampler's K Euler steps with fixed noise,
 * x_{k+1} = x_k + dt v(x_k, t_k) + dppo_sigma z_k, as K Gaussian policy steps:
 * its ratio per step is exp(log p_k - log p_k,old) with log p_k =
 * log N(x_{k+1}; x_k + dt v_k, dppo_sigma^2 I), clipped like PPO's and
 * averaged over all steps or the final half. It needs a flow policy, a
 * buffer with path_steps = K (fpo_buffer_add_path) and a sampler that
 * records the chain (fpo_sampler_config.record_path). */
#ifndef FPO_OPTIMIZER_H
#define FPO_OPTIMIZER_H

#include "fpo/buffer.h"
#include "fpo/collective.h"
#include "fpo/common.h"
#include "fpo/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fpo_optimizer fpo_optimizer;

typedef enum fpo_algo {
    FPO_ALGO_FPO = 0, /* flow policies */
    FPO_ALGO_PPO = 1, /* Gaussian policies */
    FPO_ALGO_DPPO = 2 /* flow policies, denoising-MDP policy gradient. Since LIBFPO_1.1 */
} fpo_algo;

typedef enum fpo_cfm_loss {
    FPO_CFM_EPS = 0, /* eps-MSE: mean_d (eps - (x_t + (1-t) v))^2 = (1-t)^2 u-MSE */
    FPO_CFM_U = 1,   /* u-MSE:   mean_d (v - (eps - a))^2 */
    /* ELBO-weighted: (1-t)/max(t, 0.05) u-MSE = eps-MSE / (t(1-t)), the
     * weighting under which the denoising loss is the negative ELBO itself
     * (Kingma & Gao's w = 1), so the FPO ratio estimates the likelihood ratio
     * more closely; small t weigh most. Noisier than eps-MSE: it learned more
     * slowly on the DM Control tasks, but keeps bimodal action distributions
     * where eps-MSE and u-MSE collapse them (docs/multimodality.md). The
     * 0.05 floor bounds the weight when t is drawn from (0, 1). */
    FPO_CFM_ELBO = 2
} fpo_cfm_loss;

typedef enum fpo_ratio_mode {
    FPO_RATIO_AVERAGED = 0,  /* one ratio per transition (FPO) */
    FPO_RATIO_PER_SAMPLE = 1 /* one ratio per (t, eps) pair, clamped (FPO++) */
} fpo_ratio_mode;

typedef struct fpo_optimizer_config {
    size_t struct_size;
    fpo_algo algo;              /* must match the policy kind */
    float lr;                   /* 3e-4 */
    float adam_beta1, adam_beta2, adam_eps; /* 0.9, 0.999, 1e-8 */
    float weight_decay;         /* AdamW decoupled decay: 0 */
    float max_grad_norm;        /* global clipping; 0 = off (reference) */
    float clip_eps;             /* FPO 0.05, PPO 0.1, DPPO 0.05 */
    float gamma, gae_lambda;    /* 0.995, 0.95 */
    float reward_scale;         /* 10 */
    float value_coef;           /* 0.25 */
    float entropy_coef;         /* PPO only: 0.01 */
    int epochs;                 /* passes over the batch: 2 for FPO, else 4 */
    int minibatches;            /* per epoch: 8 */
    fpo_cfm_loss cfm_loss;      /* EPS */
    fpo_ratio_mode ratio_mode;  /* FPO: PER_SAMPLE (FPO++); PPO: unused */
    float ratio_clamp;          /* PER_SAMPLE: c in clamp(l_old - l, -c, c): 5 */
    int aspo;                   /* FPO++ ASPO objective for A < 0: 1 for FPO, 0 for PPO */
    int normalize_advantages;   /* per minibatch: 1 */
    int threads;                /* threads for the update: 1 */
    uint64_t seed;              /* minibatch shuffling */
    const fpo_allocator *allocator;
    /* Data-parallel training over several processes (fpo/collective.h);
     * NULL = this process alone. Copied at create. With it, create and
     * update are collective calls: every rank passes a buffer of its own
     * environments (the same horizon on all), policies with the same
     * parameters and statistics, and the same settings (tunables set with
     * fpo_optimizer_set too: checked after every update). The update draws
     * minibatches from the transitions of all ranks, normalizes advantages
     * with global statistics and sums the gradients over ranks, so all ranks
     * end with identical parameters; its statistics are global. */
    const fpo_collective *collective;
    /* FPO: the saturation penalty. The advantage of a stored flow action
     * beyond +-bound on some dimension is lowered, after normalization, by
     * bound_coef times its mean squared excess. Off by default: on
     * reacher-hard at bound_coef 3 the penalized (negative-advantage)
     * samples were pushed away all at once and the update blew up
     * (docs/stability.md). bound_coef 0 (default) = off, [0, 1000]; bound 3,
     * (0, 1e6]. */
    float bound_coef;
    float bound;
    /* The spike guard: a step whose gradient norm exceeds spike_clip times
     * the running RMS of the gradient norm (read from Adam's second moment)
     * is scaled down to it, so that one outlier minibatch cannot inflate
     * Adam's v and freeze the parameters. 4 (default); 0 = off; else
     * [1, 1e6]. */
    float spike_clip;
    /* FPO: the anchor. anchor_coef times the mean CFM loss of the stored
     * (t, eps) pairs is added to the loss whatever their advantage: a
     * restoring force toward the flow's consistency with its own samples
     * (with the sampler's clamp, toward the clamped action), which the
     * clipped ratio objective lacks (docs/stability.md). 0.1 for FPO
     * (default), 0 for PPO; [0, 100]. */
    float anchor_coef;
    /* DPPO (since LIBFPO_1.1): the per-step noise std of the denoising
     * chain, (0, 100]: 0.1 (the trainer samples with it); and 1 to use only
     * the final half of the K steps (k >= K / 2) in the loss, 0 for all (0). */
    float dppo_sigma;
    int dppo_final_half;
    /* FPO (since LIBFPO_1.1): the adaptive anchor. 0: the anchor's
     * coefficient is anchor_coef at every update. > 1: it follows the
     * flow's drift, r = (median of cfm_loss_old over the last 20 updates) /
     * (the lowest such median of the run so far): the coefficient is
     * anchor_coef x min(1, ((r - 1) / (anchor_drift - 1))^2), so 0 while the
     * flow stays consistent and anchor_coef from r = anchor_drift on
     * (docs/stability.md, which measured 1.2). 0 (the default) or (1, 100]. */
    float anchor_drift;
    /* FPO (since LIBFPO_1.1, 0.2.0): the loss clamp. In the ratio each
     * per-pair CFM loss, l_old and l alike, is clamped to at most cfm_clamp
     * before they are differenced, so a pair whose loss is above it passes
     * no gradient through its ratio. Such pairs are actions the flow's own
     * field at small t does not explain; their ratio is noise, and its
     * growth led finger-spin's late collapses (docs/stability.md, "The loss
     * clamp"). The anchor and the reported losses use the unclamped losses.
     * 10 for FPO (default), 0 for PPO and DPPO (unused); 0 = off, else
     * (0, 1e6]. */
    float cfm_clamp;
} fpo_optimizer_config;

/* What one update did, for the host to log. */
/* An output struct: set struct_size before the call (fpo_update_stats x = {sizeof x};).
 * The library writes at most struct_size bytes and refuses a size below the
 * first release's (docs/abi.md). */
typedef struct fpo_update_stats {
    size_t struct_size;
    double policy_loss;      /* clipped surrogate (to minimize), mean over steps */
    double value_loss;       /* 0.5 * mean (V - R)^2 */
    double entropy;          /* PPO: mean entropy of the Gaussian; FPO, DPPO: 0 */
    double cfm_loss;         /* FPO: mean CFM loss at the end of the update */
    double ratio_mean;       /* mean ratio over all minibatch steps */
    double ratio_max;
    double ratio_min;
    double clip_fraction;    /* fraction of ratios outside [1-e, 1+e] */
    double approx_kl;        /* PPO: mean (r - 1) - log r; FPO, DPPO: the same on rho */
    double grad_norm;        /* mean global gradient norm after the spike guard, before
                              * clipping (max_grad_norm) */
    double explained_variance; /* of the value function before the update */
    double adv_mean, adv_std;  /* raw advantages before normalization */
    int64_t steps;           /* Adam steps taken */
    int64_t skipped_steps;   /* steps skipped by the divergence guard: a non-finite loss
                              * or gradient, or a gradient norm above 1e18 (its square
                              * would overflow Adam's float32 second moment) */
    /* Set by fpo_trainer (0 when fpo_optimizer_update is called directly): */
    int64_t rollbacks;       /* training collapses the trainer's guard has rolled back so
                              * far (fpo_trainer_config.guard); grows by one in the
                              * iteration that rolled back */
    double lr;               /* learning rate in force after this iteration (the guard
                              * halves it on every rollback) */
    /* Set by fpo_optimizer_update: */
    int64_t spike_steps;     /* steps whose gradient the spike guard scaled down
                              * (fpo_optimizer_config.spike_clip) */
    double bound_fraction;   /* FPO: fraction of stored actions at or beyond +-bound on
                              * some dimension (fpo_optimizer_config.bound), which
                              * counts the actions the sampler clamped to +-raw_clip */
    double cfm_loss_old;     /* FPO: mean CFM loss of the stored (t, eps) pairs under
                              * theta_old, i.e. of fresh pairs on the policy's own
                              * fresh samples: the flow's drift, measured before
                              * the update changes anything */
    double cfm_loss_max;     /* FPO: the largest of those per-pair losses */
    /* Since LIBFPO_1.1: */
    double anchor_coef;      /* FPO: the anchor's coefficient in force in this update
                              * (anchor_coef, or its adaptive share: anchor_drift) */
    double cfm_above_clamp;  /* FPO (0.2.0): the share of the stored pairs whose loss
                              * under theta_old is above cfm_clamp (0 when it is off):
                              * actions the flow's own field does not explain. It
                              * rose first, 100x, before finger-spin's collapses
                              * (docs/stability.md, "The loss clamp") */
    /* Since 0.2.0: grad_norm's two parts, the mean over steps of the norm of
     * the actor's gradient (its network and, for Gaussian policies, the std
     * parameters) and of the critic's, both before the spike guard and
     * clipping (so on steps the spike guard scales, grad_norm is below
     * sqrt(actor^2 + critic^2)). The actor's is 0 in critic warm-up
     * iterations (fpo_trainer_config.critic_warmup). Which network a spike
     * came from: in the traced collapses of docs/stability.md
     * ("Which network goes first") the critic's rose first. */
    double actor_grad_norm;
    double critic_grad_norm;
} fpo_update_stats;

/* Fill *cfg with the defaults of algo, for a struct of size bytes (pass sizeof *cfg),
 * and set cfg->struct_size = size. Writes exactly size bytes, never more:
 * fields this library does not know (a newer program's) are zeroed.
 * FPO_EINVAL (nothing written, message in fpo_last_errmsg()) if cfg is NULL or
 * size is below the first release's size. Since LIBFPO_1.1. */
FPO_API int fpo_optimizer_config_init_sized(fpo_optimizer_config *cfg, size_t size,
                                            fpo_algo algo);
/* The usual spelling, sized by the compiler; also the name of the LIBFPO_1
 * entry point that binaries built against release 0.1.0 call. */
#define fpo_optimizer_config_init(cfg, algo) \
    fpo_optimizer_config_init_sized((cfg), sizeof *(cfg), (algo))
/* Sized for updates of p with batches like b (num_envs * horizon). */
FPO_API int fpo_optimizer_create(fpo_optimizer **out, const fpo_policy *p, const fpo_buffer *b,
                                 const fpo_optimizer_config *cfg);
FPO_API void fpo_optimizer_destroy(fpo_optimizer *o);
FPO_API const char *fpo_optimizer_errmsg(const fpo_optimizer *o);

/* Run one update of p on the full buffer b (see above); stats may be NULL.
 * If a step produces a non-finite loss or gradient, or a gradient norm above
 * 1e18, it is skipped and counted; if parameters would become non-finite, p is restored to its state
 * before the update and FPO_EDIVERGED is returned. Denormal floats are
 * flushed to zero while it runs, and the thread's floating-point mode is
 * given back (docs/threads.md). */
FPO_API int fpo_optimizer_update(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b,
                                 fpo_update_stats *stats);

/* Tunables that may change between updates, by permanent key. */
typedef enum fpo_opt_key {
    FPO_OPT_LR = 0,
    FPO_OPT_CLIP_EPS = 1,
    FPO_OPT_ENTROPY_COEF = 2,
    FPO_OPT_VALUE_COEF = 3,
    FPO_OPT_MAX_GRAD_NORM = 4,
    FPO_OPT_GAMMA = 5,
    FPO_OPT_GAE_LAMBDA = 6,
    FPO_OPT_REWARD_SCALE = 7,
    FPO_OPT_EPOCHS = 8,
    FPO_OPT_MINIBATCHES = 9,
    FPO_OPT_WEIGHT_DECAY = 10,
    FPO_OPT_RATIO_CLAMP = 11
    /* Keys are appended; fpo_optimizer_key_count() says how many this library
     * has. */
} fpo_opt_key;

typedef enum fpo_value_type { FPO_TYPE_FLOAT = 0, FPO_TYPE_INT = 1 } fpo_value_type;

/* An output struct: set struct_size before the call (fpo_key_info x = {sizeof x};).
 * The library writes at most struct_size bytes and refuses a size below the
 * first release's (docs/abi.md). */
typedef struct fpo_key_info {
    size_t struct_size;
    const char *name;   /* e.g. "lr" */
    fpo_value_type type;
    double min, max;    /* inclusive bounds */
} fpo_key_info;

FPO_API int fpo_optimizer_set(fpo_optimizer *o, fpo_opt_key key, double value);
FPO_API int fpo_optimizer_get(const fpo_optimizer *o, fpo_opt_key key, double *out);
/* Name, type and bounds of a key, so bindings can list them. FPO_EKEY if unknown. */
FPO_API int fpo_optimizer_key_info(fpo_opt_key key, fpo_key_info *out);
/* Keys of the library actually linked: 0 .. fpo_optimizer_key_count() - 1.
 * Since LIBFPO_1.1. */
FPO_API int fpo_optimizer_key_count(void);

/* Adam steps taken so far. */
FPO_API int64_t fpo_optimizer_step_count(const fpo_optimizer *o);

#ifdef __cplusplus
}
#endif

#endif
