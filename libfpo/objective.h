/* Internal: the policy objectives behind the one update loop (update.c).
 *
 * An objective is what changes between FPO, FPO++, Gaussian PPO and DPPO:
 * which actor rows a transition contributes (and their inputs), the theta_old
 * quantities stored once per update, and per minibatch the loss, its
 * gradient with respect to the actor's outputs, and its statistics. The loop
 * owns everything else: normalized observations, values and advantages,
 * the critic and its loss, minibatches, Adam, clipping, the divergence and
 * spike guards, rollback, and the exchanges over ranks (exchange.c).
 *
 * The loop calls, per chunk of transitions idx[0..n):
 *   inputs(X)                    actor input rows (NULL: the observation rows)
 *   actor forward  -> Y          n * rows rows
 *   store_old(Y, old)            once per update, at theta_old
 *   loss(Y, dY, gstd, acc)       per minibatch, at theta
 *   actor backward (dY)
 * Each implementation is one file: obj_fpo.c (FPO, averaged ratio),
 * obj_fpopp.c (FPO++, per-sample ratio), obj_ppo.c (Gaussian PPO),
 * obj_dppo.c (DPPO); obj_flow.c holds what the two flow-matching
 * objectives share (the CFM loss, the (t, eps) pairs' settings). */
#ifndef FPO_INTERNAL_OBJECTIVE_H
#define FPO_INTERNAL_OBJECTIVE_H

#include <stddef.h>

#include "fpo/buffer.h"
#include "fpo/optimizer.h"
#include "error.h"
#include "internal.h"
#include "policy_view.h"
#include "serial.h"

/* The adaptive anchor's state (fpo_optimizer_config.anchor_drift), owned by
 * obj_flow.c. */
#define FPO_ANCHOR_WINDOW 20
struct fpo_anchor_state {
    float scale;                   /* the anchor is anchor_coef x this at the next update */
    float lowest;                  /* lowest windowed median of cfm_loss_old so far */
    uint32_t n;                    /* updates observed */
    float hist[FPO_ANCHOR_WINDOW]; /* the last min(n, W) updates' cfm_loss_old, a ring */
};

/* Sums of one minibatch's statistics (per thread, then reduced); the loop
 * adds value_loss, the objective the rest. */
typedef struct fpo_obj_acc {
    double policy_loss, value_loss, entropy, cfm, ratio_sum, ratio_max, ratio_min, clipped, kl;
    double n_ratio;
} fpo_obj_acc;

/* The batch an objective reads: this process's transitions of the update. */
typedef struct fpo_obj_batch {
    const fpo_policy *p;
    fpo_policy_view pv;
    const float *nobs;     /* normalized observations [B x obs_dim] */
    const float *act;      /* stored actions x_0 [B x act_dim] */
    const float *pair_t;   /* flow: the stored pairs' times [B x n_mc] */
    const float *pair_eps; /* flow: their noise [B x n_mc x act_dim] */
    const float *path;     /* DPPO: the stored denoising chains [B x (K + 1) x act_dim] */
    const float *adv;      /* raw advantages [B] */
    float *old;            /* theta_old quantities [B x old_floats] */
} fpo_obj_batch;

/* One minibatch's normalization and scale. */
typedef struct fpo_obj_mb {
    float adv_mean, adv_scale; /* A = (adv - adv_mean) * adv_scale */
    float inv_n;               /* 1 / minibatch size over all ranks: the loss is a mean */
} fpo_obj_mb;

/* The flow objectives' settings (obj_flow.c): n_mc, t_dist and t_beta of the
 * stored pairs (the buffer draws them) and the CFM loss form. Defined,
 * defaulted and checked in obj_flow.c only; the buffer, the trainer and the
 * optimizer call it. */
typedef struct fpo_flow_config {
    int n_mc;              /* (t, eps) pairs per transition: 8; 0 = none (Gaussian) */
    fpo_t_dist t_dist;     /* UNIFORM */
    float t_beta;          /* FPO_T_BETA: 1.5 */
    fpo_cfm_loss cfm_loss; /* EPS */
} fpo_flow_config;
#define FPO_FLOW_MAX_NMC 4096
void fpo_flow_config_defaults(fpo_flow_config *f);
/* n_mc in [0, 4096] (at least 1 if need_pairs), t_dist, t_beta, cfm_loss.
 * FPO_ERANGE with a message naming `who` (e.g. "trainer config"). */
int fpo_flow_config_check(fpo_errbuf *err, const fpo_flow_config *f, int need_pairs,
                          const char *who);
/* Draw one pair's time t from f's distribution. */
struct fpo_rng;
float fpo_flow_draw_t(const fpo_flow_config *f, struct fpo_rng *rng);

typedef struct fpo_objective fpo_objective;

typedef struct fpo_obj_ops {
    const char *name;
    /* Actor input rows of transitions idx[0..n), rows() per transition;
     * NULL when the actor reads the normalized observations themselves. */
    void (*inputs)(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                   float *X);
    /* The theta_old quantities of idx[0..n) from the actor outputs Y;
     * l: scratch of n * rows floats. */
    void (*store_old)(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                      const float *Y, float *l);
    /* The loss of idx[0..n) at the current parameters, added to acc, and its
     * gradient: d loss / d Y into dY (n * rows * actor outputs), and into
     * gstd that of the Gaussian std parameters (state-independent mode). */
    void (*loss)(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                 const fpo_obj_mb *mb, const float *Y, float *l, float *dY, float *gstd,
                 fpo_obj_acc *acc);
    /* Optional: drift statistics of the stored batch before any step (sum
     * over transitions of their mean l_old, the largest l_old, the count of
     * stored actions at or beyond +-bound, and the share of each
     * transition's pairs whose l_old is above cfm_clamp, summed). */
    void (*drift)(const fpo_objective *ob, const fpo_obj_batch *bt, int B, double *cfm_old,
                  double *lmax, double *n_bound, double *above);
} fpo_obj_ops;

struct fpo_objective {
    const fpo_obj_ops *ops;
    const fpo_optimizer_config *cfg; /* the optimizer's (tunables are read live) */
    fpo_flow_config flow;            /* flow objectives */
    int rows;       /* actor rows per transition */
    int old_floats; /* theta_old floats per transition */
    int dppo_steps; /* DPPO: denoising steps K of the stored chains */
    fpo_anchor_state anchor; /* flow objectives: the adaptive anchor (obj_flow.c) */
};

/* Choose and set up the objective of cfg for policy p and buffer b (the
 * objective's own checks). FPO_EMISMATCH / FPO_ERANGE with a message. */
int fpo_objective_init(fpo_objective *ob, const fpo_optimizer_config *cfg, const fpo_policy *p,
                       const fpo_buffer *b, fpo_errbuf *err);

/* The objectives' tables. */
extern const fpo_obj_ops fpo_obj_fpo, fpo_obj_fpopp, fpo_obj_ppo, fpo_obj_dppo;

/* Shared by the flow objectives (obj_flow.c). */
void fpo_flow_inputs(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                     float *X);
void fpo_flow_store_old(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                        const float *Y, float *l);
void fpo_flow_drift(const fpo_objective *ob, const fpo_obj_batch *bt, int B, double *cfm_old,
                    double *lmax, double *n_bound, double *above);
/* Per-pair CFM losses l (n * n_mc) from the velocities Y and, if dY is
 * non-NULL, d l / d v per pair (scaled by the objective's slope later). */
void fpo_flow_cfm_losses(const fpo_objective *ob, const fpo_obj_batch *bt, const int *idx, int n,
                         const float *Y, float *l, float *dY);
/* What both flow objectives do first for transition i with pair losses
 * l[0..n_mc): the saturation penalty on A (bound_coef), the CFM statistic,
 * and the anchor (anchor_coef) added to the loss. Returns the anchor's
 * d loss / d l_k, which adds to the ratio term's factor on d l / d v. */
float fpo_flow_row_begin(const fpo_objective *ob, const fpo_obj_batch *bt, size_t i,
                         const float *l, const fpo_obj_mb *mb, float *A, fpo_obj_acc *acc);
/* A per-pair loss as the ratio sees it: clamped to at most cfm_clamp
 * (fpo_optimizer_config.cfm_clamp; 0 = as is). *sat (if not NULL) is set
 * when the loss was above it: the pair then passes no gradient through its
 * ratio. */
static inline float fpo_flow_ratio_l(const fpo_objective *ob, float l, int *sat)
{
    float c = ob->cfg->cfm_clamp;
    int above = c > 0.0f && l > c;
    if (sat)
        *sat = above;
    return above ? c : l;
}

/* The adaptive anchor (fpo_optimizer_config.anchor_drift): after each
 * update, its cfm_loss_old (the same on every rank) sets the next update's
 * anchor_scale. A no-op for anchor_drift 0 (the scale stays 1). */
void fpo_flow_anchor_observe(fpo_objective *ob, double cfm_old);
/* The anchor's coefficient in force (anchor_coef, or its adaptive share). */
float fpo_flow_anchor_coef(const fpo_objective *ob);
/* Its state in trainer checkpoints: written as is; read into *a, which is
 * left fresh (zero) and -1 returned when the bytes are not a valid state. */
void fpo_flow_anchor_save(const fpo_anchor_state *a, wbuf *w);
int fpo_flow_anchor_load(rbuf *r, fpo_anchor_state *a);

/* Gaussian policies (obj_ppo.c), shared by PPO's loss and maximum-likelihood
 * pretraining (pretrain.c): one row's log-likelihood of action a under the
 * Gaussian of actor outputs y (and its entropy into *ent when non-NULL), and
 * the gradient of glp * log p + gent * entropy with respect to y (into dy)
 * and, in state-independent mode, the std parameters (added to gstd). */
double fpo_gaussian_row_logp(const fpo_policy_view *pv, const float *y, const float *a,
                             double *ent);
void fpo_gaussian_row_grad(const fpo_policy_view *pv, const float *y, const float *a, float glp,
                           float gent, float *dy, float *gstd);

/* Shared clipped-surrogate pieces (objective.c). */
void fpo_obj_ratio_stat(fpo_obj_acc *acc, float rho, double log_ratio);

#endif
