/* Internal: the policy object, read by policy.c and sampler.c, and by the
 * modules that write every field of it (checkpoint.c, export.c). Everything
 * else sees a policy through policy_view.h. */
#ifndef FPO_INTERNAL_POLICY_IMPL_H
#define FPO_INTERNAL_POLICY_IMPL_H

#include "fpo/policy.h"
#include "alloc.h"
#include "error.h"
#include "mlp.h"
#include "obsstats.h"
#include "policy_view.h"

#include <math.h>


struct fpo_policy {
    fpo_errbuf err;
    fpo_mem mem;
    fpo_policy_config cfg; /* pointer members cleared */
    fpo_mlp actor;         /* flow: [obs, x_t, emb(t)] -> v; Gaussian: obs -> mean (| s) */
    fpo_mlp critic;        /* obs -> V */
    int emb_dim;           /* flow time features (0 for Gaussian) */
    /* One flat parameter vector: actor MLP, then the Gaussian std
     * parameters (state-independent mode only), then the critic MLP. */
    float *params;
    size_t n_params;
    size_t std_off, n_std;  /* std parameters, n_std = chunk x act_dim or 0 */
    size_t critic_off;
    float *act_low, *act_high; /* act_dim each (every action of a chunk) */
    fpo_obsstats obs;      /* observation statistics (obsstats.h) */
    /* Sampler settings for deployment, saved in checkpoints
     * (fpo_policy_get_sampler_defaults): integrator, steps, init noise, SDE
     * noise, deterministic. */
    int ds_integrator, ds_steps, ds_init_noise, ds_deterministic;
    float ds_sde_noise;
};

static inline size_t fpo_policy_actor_params(const fpo_policy *p)
{
    return p->critic_off;
}

/* Normalize n observations into out (n * obs_dim), clipping to obs_clip.
 * Returns FPO_ENONFINITE if any input is NaN/Inf. */
int fpo_policy_normalize(const fpo_policy *p, const float *obs, int n, float *out, int out_stride);



int fpo_policy_create_internal(fpo_policy **out, const fpo_policy_config *cfg, const fpo_mem *mem,
                               fpo_errbuf *err);


/* Squash an unbounded action chunk (chunk x act_dim values) into [-1, 1]
 * and map every action onto [low, high]. */
static inline void fpo_policy_map_action(const fpo_policy *p, const float *x, float *out)
{
    int ad = p->cfg.act_dim, n = ad * (int)p->cfg.chunk;
    for (int j = 0, i = 0; j < n; j++, i = i + 1 == ad ? 0 : i + 1) {
        float u;
        if (p->cfg.squash == FPO_SQUASH_TANH) {
            u = tanhf(x[j]);
        } else {
            u = x[j] < -1.0f ? -1.0f : (x[j] > 1.0f ? 1.0f : x[j]);
        }
        out[j] = p->act_low[i] + 0.5f * (u + 1.0f) * (p->act_high[i] - p->act_low[i]);
    }
}


/* Offset, within layer l's weights, of the weight from input i to output o
 * (mlp.h stores W input-major). */
static inline size_t fpo_w_index(const fpo_mlp *m, int l, int o, int i)
{
    return (size_t)i * (size_t)m->dims[l + 1] + (size_t)o;
}
#endif
