/* Internal: what the update reads of a policy, without its internals.
 *
 * policy_impl.h (the struct) is read by the policy, the samplers and the two
 * modules that write every field of it (checkpoint.c, export.c). The
 * optimizer, the objectives, the trainer and its guard see a policy through
 * this header: its networks' shapes and parameter vector, the Gaussian std
 * settings, the flow time embedding, and its observation statistics
 * (obsstats.h). */
#ifndef FPO_INTERNAL_POLICY_VIEW_H
#define FPO_INTERNAL_POLICY_VIEW_H

#include "fpo/policy.h"
#include "error.h"
#include "mlp.h"

/* Width of the sinusoidal time embedding. */
#define FPO_TIME_EMB_SIN 8

/* Largest action chunk (fpo_policy_config.chunk). */
#define FPO_MAX_CHUNK 64

typedef struct fpo_policy_view {
    fpo_policy_kind kind;
    /* act_dim is the width of the action vector the networks see and the
     * buffer stores: chunk x the environment's action size. */
    int obs_dim, act_dim;
    int chunk;             /* actions per query (fpo_policy_config.chunk, >= 1) */
    const fpo_mlp *actor;  /* flow: [obs, x_t, emb(t)] -> v; Gaussian: obs -> mean (| s) */
    const fpo_mlp *critic; /* obs -> V */
    int emb_dim;           /* flow time features (0 for Gaussian) */
    /* One flat parameter vector: actor MLP, then the Gaussian std
     * parameters (state-independent mode only), then the critic MLP. */
    float *params;
    size_t n_params, std_off, n_std, critic_off;
    fpo_std_mode std_mode;
    float init_std, min_std;
    float raw_clip; /* flow: the samplers' clamp of x_0 (0 = none) */
} fpo_policy_view;

/* Fill out with p's shapes and pointers (valid while p lives). */
void fpo_policy_view_of(fpo_policy *p, fpo_policy_view *out);
/* The policy's error message and allocator, for modules that fail or
 * allocate on its behalf (pretrain.c). */
fpo_errbuf *fpo_policy_err(fpo_policy *p);
const struct fpo_mem *fpo_policy_mem(const fpo_policy *p);
/* The parameter vector (n_params floats). */
float *fpo_policy_params(fpo_policy *p);

/* Time embedding of t into out (emb_dim floats). */
void fpo_time_embed(const fpo_policy *p, float t, float *out);

/* Gaussian std from its raw parameter: softplus(s) + min_std, and the
 * derivative d std / d s. */
float fpo_softplus(float s);
float fpo_sigmoid(float s);

/* Actions per query of a configuration (chunk, 0 meaning 1; the policy
 * module owns this default) and the width of the action vector the actor
 * produces, chunk x act_dim. Valid for a checked configuration. */
int fpo_policy_chunk_of(const fpo_policy_config *cfg);
int fpo_policy_chunk_dim(const fpo_policy_config *cfg);

/* The policy's configuration validated and defaulted; used by create and
 * by the checkpoint loader. */
int fpo_policy_check_config(fpo_errbuf *err, const fpo_policy_config *cfg);
/* The actor and critic shapes (no allocation), the time-embedding width and
 * the count of Gaussian std parameters a configuration implies: for create,
 * the checkpoint loader and the trainer's up-front size check. */
int fpo_policy_shapes(const fpo_policy_config *cfg, fpo_mlp *actor, fpo_mlp *critic, int *emb_dim,
                      size_t *n_std);

/* Does p have this kind and these network shapes (what samplers and
 * optimizers were sized for)? And do two policies have the same shapes and
 * parameter count (so parameter vectors fit both)? */
int fpo_policy_fits(const fpo_policy *p, fpo_policy_kind kind, const fpo_mlp *actor,
                    const fpo_mlp *critic);
int fpo_policy_same_shape(const fpo_policy *a, const fpo_policy *b);

#endif
