/* Internal: accessors between modules for whole-trainer checkpoints
 * (trainer.c). Each returns pointers into the handle's own state. */
#ifndef FPO_INTERNAL_INTERNAL_H
#define FPO_INTERNAL_INTERNAL_H

#include "fpo/fpo.h"
#include "coll.h"
#include "mlp.h"
#include "rng.h"

/* Tunable keys this library has (fpo_opt_key; fpo_optimizer_key_count()). */
#define FPO_OPT_KEY_COUNT 12

/* The environment table's checks (vecenv.c), shared by fpo_vecenv_create and
 * fpo_trainer_create: layout, version, callbacks, sizes, bounds. Writes the
 * checked copy to out (may be NULL). */
int fpo_env_table_check(fpo_errbuf *err, const fpo_env_table *t, fpo_env_table *out);

/* The adaptive anchor's state: defined, updated and serialized by obj_flow.c
 * (objective.h); the trainer passes it to the checkpoint. */
typedef struct fpo_anchor_state fpo_anchor_state;

typedef struct fpo_opt_state {
    float *m, *v;   /* Adam moments, n floats each */
    size_t n;
    int64_t *step;
    fpo_rng *rng;   /* minibatch shuffling */
    const fpo_optimizer_config *cfg;
    fpo_anchor_state *anchor;
} fpo_opt_state;

void fpo_optimizer_state(fpo_optimizer *o, fpo_opt_state *out);
/* The trainer's learning-rate schedule: the next updates run Adam at
 * FPO_OPT_LR * scale (1 at create; FPO_OPT_LR itself is unchanged). */
void fpo_optimizer_set_lr_scale(fpo_optimizer *o, float scale);
/* The trainer's critic warm-up (fpo_trainer_config.critic_warmup): while
 * set, updates step only the critic's parameters (0 at create). */
void fpo_optimizer_set_critic_only(fpo_optimizer *o, int on);
/* The trainer's create: it has made the handshake (layout) and agrees on
 * the outcome of its whole create itself, so this makes no collective call. */
int fpo_optimizer_create_for(fpo_optimizer **out, const fpo_policy *p, const fpo_buffer *b,
                             const fpo_optimizer_config *cfg, const fpo_layout *layout);
/* Fingerprint (coll.h) of the settings every rank must share, chained on h. */
uint32_t fpo_optimizer_config_fingerprint(const fpo_optimizer_config *c, uint32_t h);
fpo_rng *fpo_sampler_rng(fpo_sampler *s);
/* The rows' correlated noise (fpo_sampler_config.noise_corr), for trainer
 * checkpoints: returns the rows' last draws, *width floats per row, of
 * which *rows rows are held (of at most *max_rows); *noise_corr is the
 * setting (0: the state is unused). Writing *rows (at most *max_rows) and
 * the floats restores it. */
float *fpo_sampler_noise_state(fpo_sampler *s, int **rows, int *width, int *max_rows,
                               float *noise_corr);
/* The integrator s runs (FPO_INTEGRATOR_AUTO resolved). */
fpo_integrator fpo_sampler_integrator(const fpo_sampler *s);
fpo_rng *fpo_buffer_rng(fpo_buffer *b);
/* Action chunks (the trainer): one environment step of the instances whose
 * active[i] is set, instance i taking the act_dim floats at actions + i *
 * stride (a chunk's j-th action); the outputs of the others are left as
 * they were and their episodes do not advance. */
int fpo_vecenv_step_chunk(fpo_vecenv *v, const float *actions, size_t stride,
                          const unsigned char *active, float *obs, float *rewards, unsigned *flags,
                          float *final_obs);
/* The trainer's rollout buffer (white-box tests read a rollout through it). */
fpo_buffer *fpo_trainer_buffer(fpo_trainer *t);
/* Per-instance episode counters (episode seeds derive from them). */
uint64_t *fpo_vecenv_episode_counters(fpo_vecenv *v, int *n);
/* Copy parameters and observation statistics of src into dst (same shape). */
void fpo_policy_copy_state(fpo_policy *dst, const fpo_policy *src);

/* Fingerprint (coll.h) of the parameters and committed statistics, chained on h. */
uint32_t fpo_policy_fingerprint(const fpo_policy *p, uint32_t h);

/* Action chunks (buffer.c). The trainer's buffer records how many
 * environment steps each transition took (enable: allocates [num_envs x
 * horizon] bytes at create; set: for the step just added, num_envs counts
 * in 1..FPO_MAX_CHUNK). fpo_gae_chunks is fpo_gae (and runs its checks)
 * with transition i discounted by gamma^ksteps[i], or gamma^chunk where
 * ksteps is NULL; with chunk 1 and no ksteps it is fpo_gae, bit for bit. */
int fpo_buffer_enable_chunks(fpo_buffer *b);
int fpo_buffer_set_chunk_steps(fpo_buffer *b, const unsigned char *ksteps);
int fpo_gae_chunks(float *adv, float *ret, const float *rewards, const unsigned *flags,
                   const float *values, const float *final_values, const float *last_values,
                   int steps, int num_envs, float gamma, float lambda, float reward_scale,
                   int chunk, const unsigned char *ksteps);

/* Bytes each component's create would allocate, estimated in double (no
 * overflow for any int sizes) from the sizes it is given, next to the create
 * that allocates them: fpo_trainer_create adds them up and refuses a total
 * the machine cannot hold before allocating anything. */
double fpo_buffer_estimate_bytes(int num_envs, int horizon, int obs_dim, int act_dim, int n_mc,
                                 int path_steps);
/* path_steps: the recorded chains' steps (DPPO's record_path), 0 if none. */
double fpo_sampler_estimate_bytes(const fpo_mlp *actor, const fpo_mlp *critic, int obs_dim,
                                  int act_dim, int max_batch, int path_steps);
/* batch: this process's transitions per update (num_envs x horizon). */
double fpo_optimizer_estimate_bytes(const fpo_mlp *actor, const fpo_mlp *critic,
                                    double n_params, int obs_dim, int n_mc, double batch,
                                    int minibatches, int threads);
double fpo_vecenv_estimate_bytes(int num_envs, int act_dim);
double fpo_guard_estimate_bytes(double n_params, int obs_dim);

#endif
