/* libfpo: drawing actions from a policy.
 *
 * A sampler owns everything acting needs (random state, scratch for up to
 * max_batch observations), so after fpo_sampler_create, fpo_sampler_act and
 * fpo_sampler_value do no heap allocation and take no locks: the call a
 * controller makes in its loop. One sampler per thread; many samplers may
 * share one read-only policy.
 *
 * Flow policies integrate dx/dt = v(x, t; o) from t = 1 (x_1 = noise, or 0
 * with FPO_NOISE_ZERO) to t = 0 on the grid t_k = 1 - k/steps with Euler,
 * Heun or midpoint steps; sde_noise > 0 adds sde_noise * sqrt(dt) * N(0, I)
 * after each step (SDE-style exploration). FPO's update needs only the final
 * action, so any of these may be used for rollouts and for deployment.
 * Gaussian policies draw mean + std * N(0, I), or return the mean when
 * deterministic is set. Each row of a call draws its noise from its own
 * stream (see row_offset), so acting on rows together or apart, or on
 * several processes, gives every row the same noise. */
#ifndef FPO_SAMPLER_H
#define FPO_SAMPLER_H

#include "fpo/common.h"
#include "fpo/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fpo_sampler fpo_sampler;

typedef enum fpo_integrator {
    FPO_INTEGRATOR_EULER = 0,
    FPO_INTEGRATOR_HEUN = 1,     /* 2nd order, 2 evaluations per step */
    FPO_INTEGRATOR_MIDPOINT = 2, /* 2nd order, 2 evaluations per step */
    /* The default (since 0.2.0): MIDPOINT, except EULER for a sampler that
     * records DPPO's denoising chains (record_path), which are Euler steps.
     * A sampler, and a policy's deployment defaults, hold the resolved
     * integrator, never AUTO. Why not Euler: with few steps Euler's samples
     * are narrower than the flow's own distribution (by 12% at std 1, 38% at
     * std 0.1 with 10 steps), and FPO fits the flow to its own samples (the
     * anchor), so the flow narrows from update to update and its return
     * falls late in training (docs/stability.md, "Why flows narrow"). Euler
     * halves the cost of an action where that matters more. */
    FPO_INTEGRATOR_AUTO = 3
} fpo_integrator;

typedef enum fpo_init_noise {
    FPO_NOISE_RANDOM = 0, /* x_1 ~ N(0, I): samples the learned distribution */
    FPO_NOISE_ZERO = 1    /* x_1 = 0: FPO++'s "zero sampling", for deployment */
} fpo_init_noise;

typedef struct fpo_sampler_config {
    size_t struct_size;
    fpo_integrator integrator; /* AUTO (MIDPOINT; EULER with record_path). 0.1.0: EULER */
    int steps;                 /* integration steps, 1..1000: 10 */
    fpo_init_noise init_noise; /* RANDOM */
    float sde_noise;           /* >= 0: 0 */
    int deterministic;         /* 0 or 1. Gaussian: 1 = return the mean. Flow: 1 = ZERO noise and no SDE noise */
    int max_batch;             /* largest n passed to act/value: 1 */
    uint64_t seed;
    const fpo_allocator *allocator;
    /* Random numbers: row r of an act call draws from its own stream, keyed
     * by (seed, row_offset + r, number of the call), so a row's noise does
     * not depend on the other rows of the batch. Data-parallel training sets
     * row_offset to the global index of this process's first environment
     * (fpo/collective.h). 0..2^30: 0. */
    int row_offset;
    /* DPPO (since LIBFPO_1.1): 1 = run the denoising MDP and record it.
     * Flow policies with the Euler integrator only: every one of the steps
     * adds sde_noise * N(0, I) (a fixed per-step std, no sqrt(dt) factor,
     * also after the last step), and the chain x_1, ..., x_0 of every row is
     * kept until the next act call (fpo_sampler_path). 0 (default) or 1.
     * Fixed at create. (64 bits so that it starts after release 0.1.0's
     * struct, tail padding included: docs/abi.md.) */
    int64_t record_path;
    /* Since 0.2.0: how much of each row's noise carries over from one act
     * call to the next, in [0, 1); 0 (default) draws it afresh every call.
     * With noise_corr = rho > 0, row r's draw at call k is
     *   z_k = rho z_{k-1} + sqrt(1 - rho^2) N(0, I),
     * still N(0, I) at every call, so each action is a sample of the policy
     * (all that FPO's and PPO's per-step ratios use), while consecutive
     * actions of a row stay correlated for about 1 / (1 - rho) calls:
     * exploration that holds a choice for a while. Flow policies: the
     * initial point x_1 (not the SDE noise); Gaussian: the z of mean +
     * std z. No effect with FPO_NOISE_ZERO or deterministic. A row's process
     * starts afresh at create, at reseed, when reconfigure changes
     * noise_corr, and at the first call that reaches that row; it runs on
     * across episode ends (the sampler does not see them). A row is a
     * position in the call: pass the same environments in the same rows at
     * every call (one sampler per environment if each is acted on alone). A rollout
     * setting: not part of a policy's deployment defaults; a trainer's
     * checkpoint keeps the rows' state (docs/checkpoint.md, format 3).
     * docs/stability.md, "Correlated exploration noise": on
     * finger-turn-easy, 0.9 lets the flow settle on one direction. */
    float noise_corr;
} fpo_sampler_config;

/* Fill *cfg with the defaults, for a struct of size bytes (pass sizeof *cfg),
 * and set cfg->struct_size = size. Writes exactly size bytes, never more:
 * fields this library does not know (a newer program's) are zeroed.
 * FPO_EINVAL (nothing written, message in fpo_last_errmsg()) if cfg is NULL or
 * size is below the first release's size. Since LIBFPO_1.1. */
FPO_API int fpo_sampler_config_init_sized(fpo_sampler_config *cfg, size_t size);
/* The usual spelling, sized by the compiler; also the name of the LIBFPO_1
 * entry point that binaries built against release 0.1.0 call. */
#define fpo_sampler_config_init(cfg) fpo_sampler_config_init_sized((cfg), sizeof *(cfg))
/* The sampler fits policies with p's observation and action sizes and
 * network shapes (it may be used with any such policy, e.g. a newer copy). */
FPO_API int fpo_sampler_create(fpo_sampler **out, const fpo_policy *p, const fpo_sampler_config *cfg);
FPO_API void fpo_sampler_destroy(fpo_sampler *s);
FPO_API const char *fpo_sampler_errmsg(const fpo_sampler *s);

/* Change integrator, steps, init_noise, sde_noise, deterministic or
 * noise_corr without reallocating (max_batch, seed, allocator and
 * row_offset are ignored). */
FPO_API int fpo_sampler_reconfigure(fpo_sampler *s, const fpo_sampler_config *cfg);
/* The sampler settings a policy carries for deployment (saved in its
 * checkpoint): integrator, steps, init_noise, sde_noise and deterministic;
 * max_batch, seed and allocator are left as cfg had them (get) or ignored
 * (set). A new policy carries FPO++'s deployment choice, zero initial noise
 * with 10 Euler steps; fpo_trainer sets the rollout integrator (resolved:
 * midpoint by default, Euler for DPPO) and steps with zero noise. Typical
 * use:
 *   fpo_sampler_config sc; fpo_sampler_config_init(&sc);
 *   fpo_policy_get_sampler_defaults(p, &sc); fpo_sampler_create(&s, p, &sc); */
FPO_API int fpo_policy_get_sampler_defaults(const fpo_policy *p, fpo_sampler_config *cfg);
FPO_API int fpo_policy_set_sampler_defaults(fpo_policy *p, const fpo_sampler_config *cfg);

/* Restart the random stream (and the rows' correlated noise). */
FPO_API int fpo_sampler_reseed(fpo_sampler *s, uint64_t seed);

/* Actions for n observations (n * obs_dim floats, raw, unnormalized).
 * actions: n * chunk * act_dim floats (chunk: fpo_policy_config.chunk, 1
 * unless set), squashed and mapped onto the policy's action bounds (what an
 * environment consumes; row r's chunk is its chunk actions in order). raw:
 * the same count of floats of the unbounded action x_0 before squashing
 * (what training stores); may be NULL.
 * Either output may be NULL but not both. Non-finite observations, and a
 * non-finite action from the policy, are rejected with FPO_ENONFINITE (the
 * message says which). On any error the outputs are left untouched. No
 * allocation. Denormal floats are flushed to zero while it runs, and the
 * thread's floating-point mode is given back (docs/threads.md). */
FPO_API int fpo_sampler_act(fpo_sampler *s, const fpo_policy *p, const float *obs, int n,
                            float *actions, float *raw);
/* The chains of the last fpo_sampler_act call when record_path is set:
 * *out points at n * (steps + 1) * chunk * act_dim floats (row-major: row, state,
 * dimension; valid until the next act call), *states = steps + 1. The chain
 * ends with the x_0 before the raw_clip clamp. FPO_ESTATE if the sampler
 * does not record. Since LIBFPO_1.1. */
FPO_API int fpo_sampler_path(const fpo_sampler *s, const float **out, int *states);
/* State values V(o) for n observations. No allocation. Denormals flushed
 * and the mode given back, as fpo_sampler_act. */
FPO_API int fpo_sampler_value(fpo_sampler *s, const fpo_policy *p, const float *obs, int n,
                              float *values);

#ifdef __cplusplus
}
#endif

#endif
