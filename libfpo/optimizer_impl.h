/* Internal: the optimizer object, shared by optimizer.c (settings,
 * tunables, create), update.c (the update loop) and exchange.c (its
 * exchanges over ranks); and pieces of the update exposed to the white-box
 * tests. */
#ifndef FPO_INTERNAL_OPTIMIZER_IMPL_H
#define FPO_INTERNAL_OPTIMIZER_IMPL_H

#include "fpo/optimizer.h"
#include "coll.h"
#include "error.h"
#include "alloc.h"
#include "mlp.h"
#include "objective.h"
#include "obsstats.h"
#include "pool.h"
#include "rng.h"

#define FPO_MAX_THREADS 256

/* Per-thread workspace, sized for `rows` transitions. */
typedef struct fpo_opt_work {
    float *X;      /* actor input  [rows * obj.rows x in] (unused when the actor reads NO) */
    float *Y;      /* actor output */
    float *dY;     /* its gradient */
    float *cacheA; /* actor activation cache */
    float *V;      /* critic output [rows] */
    float *dV;
    float *cacheC;
    float *NO;     /* normalized observations gathered for the rows [rows x od] */
    float *scratch;
    float *grad;   /* n_params */
    float *l;      /* objective scratch [rows x obj.rows] */
    fpo_obj_acc a;
} fpo_opt_work;

/* The per-parameter work of a step (summing the threads' gradients, the
 * norm, Adam) is shared out over the threads in blocks of this many
 * parameters (update.c, run_slices). */
#define FPO_SLICE 1024

struct fpo_optimizer {
    fpo_errbuf err;
    fpo_mem mem;
    fpo_optimizer_config cfg;
    fpo_objective obj; /* the policy objective (objective.h) */
    fpo_rng rng;
    fpo_pool *pool;
    int threads;
    fpo_policy_kind kind;
    /* Shapes this optimizer was made for. */
    int num_envs, horizon, obs_dim, act_dim; /* act_dim: the policy's chunk vector */
    int act_chunk; /* the policy's actions per query (GAE discounts gamma^chunk) */
    size_t n_params;
    fpo_mlp actor_shape, critic_shape; /* network shapes the workspaces were sized for */
    int B;          /* transitions per update in this process's buffer */
    int min_minibatches; /* minibatches may only grow: workspaces fit B / this */
    int chunk;      /* transitions per thread per pass (a minibatch's local rows
                     * beyond chunk * threads run in further passes) */
    /* Data-parallel training (fpo/collective.h); single process otherwise. */
    fpo_coll coll;
    fpo_layout lay; /* this rank's environments among all ranks' */
    int G;          /* transitions per update over all ranks (B without a collective) */
    int *mbidx;     /* local rows of the current minibatch [B] */
    double *xb;     /* exchange buffer of the collective sums */
    size_t xb_cap;  /* its doubles */
    int64_t step;
    float lr_scale; /* the trainer's schedule: Adam runs at cfg.lr * lr_scale */
    int critic_only; /* the trainer's critic warm-up: Adam steps the critic only */
    float *m, *v, *grad;
    double *part;   /* per block of FPO_SLICE parameters: sum g^2, sum v, and sum g^2
                     * over its actor and over its critic parameters (update.c) */
    float *bak_params, *bak_m, *bak_v;
    fpo_obsstats_snap bak_stats; /* observation statistics before the update */
    /* Per-update arrays over the whole batch. */
    float *nobs, *values, *adv, *ret, *old;  /* old: [B x obj.old_floats] */
    float *fvalues, *lastv;
    int *perm;      /* permutation of the G global transitions */
    fpo_opt_work *w;
};

/* Statistics summed over the steps of an update (this rank's rows). */
enum { T_POLICY, T_VALUE, T_ENTROPY, T_RATIO, T_NRATIO, T_CLIPPED, T_KL, T_CFM, T_CFM_OLD,
       T_BOUND, T_ROWS, T_ABOVE, T_COUNT };

/* ---- exchange.c: every exchange of the optimizer over ranks ---- */
/* Grow the exchange buffer for epochs x mbs (allocates only when tunables
 * grow: fpo_optimizer_set and create, never in an update). */
int fpo_xchg_reserve(fpo_optimizer *o, int epochs, int mbs);
/* Create: the handshake (layout of the ranks' environments) and the
 * agreement on the outcome of the whole create. */
int fpo_xchg_handshake(fpo_optimizer *o, const fpo_policy *p);
int fpo_xchg_agree_create(fpo_optimizer *o, int local_rc);
/* Step 1 of an update: the observation statistics gathered from this
 * rank's buffer (accumulated by the caller, local_rc its outcome) merged
 * over ranks, after checking that all ranks have the same settings. */
int fpo_xchg_obs_stats(fpo_optimizer *o, fpo_obsstats *s, int local_rc);
/* The sums of a local phase over ranks, with every rank's outcome: buf has
 * fpo_xchg_sums_offset() leading doubles the call uses, then n sums. */
static inline size_t fpo_xchg_sums_offset(const fpo_optimizer *o) { return (size_t)o->coll.size; }
int fpo_xchg_sums(fpo_optimizer *o, double *buf, size_t n, int local_rc, const char *what);
/* The minibatch gradient (n_params floats and the loss flag) summed over ranks. */
int fpo_xchg_gradient(fpo_optimizer *o);
/* The end of an update: every rank's divergence flag and state fingerprint
 * and the extreme ratios and l_old (all-gathered), and the statistics sums.
 * Sets *any_diverged and *same (all ranks hold the same state). */
int fpo_xchg_end(fpo_optimizer *o, uint32_t fingerprint, int diverged, double *ratio_max,
                 double *ratio_min, double *cfm_max, double tot[T_COUNT], int *any_diverged,
                 int *same);

/* ---- pieces exposed to the white-box tests ---- */

/* CFM loss of one (t, eps) pair for velocity v and action a (D dims),
 * averaged over dimensions: u-MSE mean_d (v - (eps - a))^2 times the weight
 * of the loss kind (fpo_cfm_weight). If dv is non-NULL it receives
 * d loss / d v. */
float fpo_cfm_pair(const float *v, const float *eps, const float *a, float t, int D,
                   fpo_cfm_loss kind, float *dv);
/* The weight of u-MSE at time t: 1 (u-MSE), (1-t)^2 (eps-MSE), or
 * (1-t)/max(t, FPO_ELBO_T_FLOOR) (ELBO). */
float fpo_cfm_weight(fpo_cfm_loss kind, float t);
#define FPO_ELBO_T_FLOOR 0.05f

/* The clipped (or ASPO) surrogate objective for one ratio: returns the
 * objective to maximize and its slope d obj / d rho; *clipped is incremented
 * when rho lies outside [1 - clip_eps, 1 + clip_eps]. */
float fpo_surrogate(const fpo_optimizer_config *c, float rho, float A, float *slope,
                    double *clipped);

/* One sample's term of the approximate KL statistic, (rho - 1) - log rho
 * with rho = exp(log_ratio), computed from the log-ratio so that a ratio
 * that under- or overflows in float still gives a finite term. */
double fpo_kl_term(double log_ratio);

/* DPPO (obj_dppo.c): its settings' check, and one denoising step's
 * log-likelihood log N(x_next; x + dt v, sigma^2 I) over D dims; with dv
 * non-NULL also d log p / d v. */
int fpo_dppo_check(fpo_errbuf *err, const fpo_optimizer_config *c);
double fpo_dppo_step_logp(const float *x, const float *x_next, const float *v, float dt,
                          float sigma, int D, float *dv);

/* Log-density of a under the diagonal Gaussian N(mu, diag(sigma^2)), D dims. */
double fpo_gaussian_logp(const float *mu, const float *sigma, const float *a, int D);

/* Steps 1-3 of the update (statistics, theta_old quantities, GAE). */
int fpo_optimizer_prepare(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b,
                          fpo_update_stats *stats);
/* Loss (policy + value + entropy) and its gradient (n_params floats) on the
 * transitions idx[0..n) at the current parameters, without a step; also the
 * mean, min and max ratio. Requires fpo_optimizer_prepare. */
int fpo_optimizer_loss_grad(fpo_optimizer *o, fpo_policy *p, fpo_buffer *b, const int *idx, int n,
                            double *loss, float *grad, double ratio_stats[3]);
/* Advantages and returns of the last prepare (B floats each). */
const float *fpo_optimizer_advantages(const fpo_optimizer *o);

#endif
