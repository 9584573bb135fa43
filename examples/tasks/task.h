/* Example tasks for the bundled trainers: a registry of environments that are
 * hosts of libfpo's function-table interface (fpo_env_table), each with the
 * training defaults that suit it. Nothing here is part of libfpo itself:
 * this is what a user writes to plug in a simulator. */
#ifndef FPO_EXAMPLE_TASK_H
#define FPO_EXAMPLE_TASK_H

#include <fpo/fpo.h>

/* Training defaults for one task (the trainer's flags override them). */
typedef struct task_defaults {
    int num_envs;          /* environments stepped in parallel */
    int horizon;           /* steps per environment per iteration */
    long long steps;       /* default total env steps */
    float gamma, gae_lambda, lr, reward_scale;
    /* FPO's learning rate; 0 = lr (Gaussian PPO and DPPO always take lr).
     * The DM Control tasks but point-mass take 1e-3 where lr is 3e-4: at
     * 3e-4 their FPO updates hardly reached the clip (0.1-0.7% of the
     * ratios) and learned more slowly (docs/results.md, "FPO's learning
     * rate"). */
    float lr_fpo;
    float clip_fpo, clip_ppo;
    int epochs, minibatches, n_mc; /* epochs: Gaussian PPO's and DPPO's */
    /* FPO's epochs (FPO and FPO++ objectives); 0 = the same as epochs. The
     * DM Control tasks take 2: with 4, their flows drifted and collapsed in
     * long runs (docs/stability.md, "Two epochs"). */
    int epochs_fpo;
    int actor_layers, actor_hidden;
    fpo_activation actor_act;
    int critic_layers, critic_hidden;
    fpo_activation critic_act;
    /* FPO's loss and ratio. 0-initialized: eps-MSE, FPO's averaged ratio,
     * no ASPO (the paper's FPO). The bundled tasks use FPO++'s per-sample
     * ratio with ASPO, which kept FPO stable at these small batches (see
     * docs/results.md), and GridWorld the ELBO weighting (docs/multimodality.md). */
    fpo_cfm_loss cfm;
    fpo_ratio_mode ratio;
    int aspo;
    float anchor;          /* FPO's anchor_coef: 0 = the library's default, < 0 = off */
    float anchor_drift;    /* FPO's anchor_drift: 0 = the library's default (a fixed anchor) */
    /* FPO's rollout noise: the sampler's noise_corr (each environment's
     * noise carries over from one step to the next, AR(1)); 0 = none, the
     * library's default. finger-turn-easy and finger-turn-hard take 0.9
     * (docs/stability.md, "Correlated exploration noise"). */
    float noise_corr;
    float gauss_fixed_std; /* > 0: Gaussian PPO uses this fixed std */
    float gauss_init_std;  /* > 0: Gaussian PPO's learned std starts here; 0 = the library's */
    float entropy_coef;    /* Gaussian PPO */
    int eval_episodes;
    /* The trainer's learning-rate schedule: 0 = the library's default
     * (constant); the DM Control tasks anneal linearly over the run
     * (docs/stability.md, "The learning-rate schedule"). */
    fpo_lr_schedule lr_schedule;
} task_defaults;

typedef struct task_info {
    const char *name;        /* e.g. "gridworld", "pendulum", "cartpole-balance" */
    const char *description; /* one line */
    /* Make the shared state every instance uses (models, constants); *user
     * is then passed as fpo_vecenv_config.user. Returns 0 or non-zero with a
     * message in err (errlen bytes). model_dir may be NULL (built-in path). */
    int (*open)(void **user, const char *model_dir, char *err, size_t errlen);
    void (*close)(void *user);
    const fpo_env_table *table;
    task_defaults defaults;
} task_info;

/* All registered tasks (pure C ones always; MuJoCo ones when built). */
const task_info *const *task_list(int *count);
/* NULL if unknown. */
const task_info *task_find(const char *name);

#endif
