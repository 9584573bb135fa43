/* Internal: a policy's observation statistics, an object of their own.
 *
 * Two sets of running statistics (count, mean, M2 per dimension, in double):
 * the committed ones, which normalize observations, and the pending ones,
 * gathered from rollouts and folded in by commit (the optimizer commits once
 * per update, so statistics stay frozen for a whole update). The policy owns
 * one (fpo_policy_obsstats); the optimizer, the trainer's guard and the
 * checkpoint code go through these functions instead of the policy's
 * fields. */
#ifndef FPO_INTERNAL_OBSSTATS_H
#define FPO_INTERNAL_OBSSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

typedef struct fpo_obsstats {
    int dim;
    int enabled;  /* fpo_policy_config.normalize_obs: commit and normalize act */
    float clip;   /* fpo_policy_config.obs_clip */
    double *mean, *m2;   /* committed */
    int64_t count;
    double *pmean, *pm2; /* pending */
    int64_t pcount;
    float *norm_mean, *norm_inv_std; /* float copies of the committed statistics */
} fpo_obsstats;

/* A saved copy of the committed statistics (a failed update or a rollback
 * restores it); the caller owns the arrays (dim doubles each). */
typedef struct fpo_obsstats_snap {
    double *mean, *m2;
    int64_t count;
} fpo_obsstats_snap;

struct fpo_policy;
/* The statistics a policy owns. */
fpo_obsstats *fpo_policy_obsstats(struct fpo_policy *p);
const fpo_obsstats *fpo_policy_obsstats_const(const struct fpo_policy *p);

/* Allocate for dim dimensions (empty statistics: mean 0, std 1). FPO_ENOMEM. */
int fpo_obsstats_init(fpo_obsstats *s, const fpo_mem *mem, int dim, int enabled, float clip);
void fpo_obsstats_free(fpo_obsstats *s, const fpo_mem *mem);
/* Copy committed and pending statistics of src (same dim). */
void fpo_obsstats_copy(fpo_obsstats *dst, const fpo_obsstats *src);

/* Add n observations to the pending statistics. Returns the index of the
 * first non-finite component (nothing added), or n * dim if all are finite. */
size_t fpo_obsstats_accumulate(fpo_obsstats *s, const float *obs, int n);
/* Fold the pending statistics into the committed ones (nothing if there are
 * none or normalization is off) and clear them. */
void fpo_obsstats_commit(fpo_obsstats *s);
/* Pending statistics as 1 + 2 dim doubles (count, mean, M2), for the
 * exchange over ranks; merge replaces them by the Chan merge of n such
 * blocks (stride doubles apart) in block order, so every rank that merges
 * the same blocks gets the same bits; one block is copied exactly. */
static inline size_t fpo_obsstats_block(const fpo_obsstats *s) { return 1 + 2 * (size_t)s->dim; }
void fpo_obsstats_pending_export(const fpo_obsstats *s, double *out);
void fpo_obsstats_pending_merge(fpo_obsstats *s, const double *blocks, int n, size_t stride);

/* Save the committed statistics; restore them and drop any pending ones. */
void fpo_obsstats_save(const fpo_obsstats *s, fpo_obsstats_snap *out);
void fpo_obsstats_restore(fpo_obsstats *s, const fpo_obsstats_snap *in);
/* After the committed arrays were written directly (the checkpoint loader):
 * drop pending statistics and refresh the float copies. */
void fpo_obsstats_refresh(fpo_obsstats *s);

/* Normalize n observations into out (rows stride floats apart), clipping to
 * +-clip; copies when normalization is off. FPO_ENONFINITE on NaN/Inf input. */
int fpo_obsstats_normalize(const fpo_obsstats *s, const float *obs, int n, float *out,
                           int stride);

/* Fingerprint (coll.h) of the committed statistics, chained on h. */
uint32_t fpo_obsstats_fingerprint(const fpo_obsstats *s, uint32_t h);

#endif
