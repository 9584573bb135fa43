#include "task_config.h"

task_defaults task_preset_defaults(const task_info *task, task_preset preset)
{
    task_defaults d = task->defaults;
    if (preset == TASK_PRESET_PAPER) {
        d.num_envs = 2048;
        d.horizon = 480; /* 2048 x 480 = 32 minibatches x 1024 unrolls x 30 steps */
        d.minibatches = 32;
        d.epochs = 16;
        d.epochs_fpo = 16;
        d.steps = 60000000;
        d.reward_scale = 10.0f;
        d.lr = 3e-4f;
        d.lr_fpo = 0.0f; /* the reference's 3e-4 for FPO too */
        d.gamma = 0.995f;
        d.gae_lambda = 0.95f;
        d.clip_fpo = 0.05f;
        d.n_mc = 8;
        d.actor_layers = 4;
        d.actor_hidden = 32;
        d.critic_layers = 5;
        d.critic_hidden = 256;
        d.cfm = FPO_CFM_EPS;
        d.ratio = FPO_RATIO_AVERAGED;
        d.aspo = 0;
    }
    return d;
}

void task_default_configs(const task_info *task, task_preset preset, fpo_algo algo,
                          fpo_policy_config *pc, fpo_optimizer_config *oc,
                          fpo_trainer_config *tc)
{
    const task_defaults dd = task_preset_defaults(task, preset);
    const task_defaults *d = &dd;
    if (pc) {
        fpo_policy_config_init(pc);
        pc->kind = algo == FPO_ALGO_PPO ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW; /* DPPO: flow */
        pc->actor_layers = d->actor_layers;
        pc->critic_layers = d->critic_layers;
        for (int i = 0; i < FPO_MAX_LAYERS; i++) {
            pc->actor_hidden[i] = d->actor_hidden;
            pc->critic_hidden[i] = d->critic_hidden;
        }
        pc->actor_activation = d->actor_act;
        pc->critic_activation = d->critic_act;
        if (algo == FPO_ALGO_PPO && d->gauss_fixed_std > 0) {
            pc->std_mode = FPO_STD_FIXED;
            pc->init_std = d->gauss_fixed_std;
        } else if (algo == FPO_ALGO_PPO && d->gauss_init_std > 0) {
            pc->init_std = d->gauss_init_std;
        }
    }
    if (oc) {
        fpo_optimizer_config_init(oc, algo);
        oc->lr = algo == FPO_ALGO_FPO && d->lr_fpo > 0.0f ? d->lr_fpo : d->lr;
        oc->clip_eps = algo == FPO_ALGO_PPO ? d->clip_ppo : d->clip_fpo; /* DPPO: FPO's */
        oc->gamma = d->gamma;
        oc->gae_lambda = d->gae_lambda;
        oc->reward_scale = d->reward_scale;
        oc->entropy_coef = algo == FPO_ALGO_PPO ? d->entropy_coef : 0.0f;
        oc->epochs = algo == FPO_ALGO_FPO && d->epochs_fpo > 0 ? d->epochs_fpo : d->epochs;
        oc->minibatches = d->minibatches;
        if (preset == TASK_PRESET_PAPER)
            oc->value_coef = 0.25f;
        if (algo == FPO_ALGO_FPO) { /* FPO's own objective; PPO keeps its clipped one */
            oc->cfm_loss = d->cfm;
            oc->ratio_mode = d->ratio;
            oc->aspo = d->aspo;
            if (d->anchor != 0.0f)
                oc->anchor_coef = d->anchor > 0.0f ? d->anchor : 0.0f;
            if (d->anchor_drift != 0.0f)
                oc->anchor_drift = d->anchor_drift;
        }
    }
    if (tc) {
        fpo_trainer_config_init(tc);
        tc->env = task->table;
        tc->num_envs = d->num_envs;
        tc->horizon = d->horizon;
        tc->n_mc = d->n_mc;
        tc->lr_schedule = d->lr_schedule;
    }
}

void task_default_sampler(const task_info *task, task_preset preset, fpo_algo algo,
                          fpo_sampler_config *sc)
{
    const task_defaults d = task_preset_defaults(task, preset);
    fpo_sampler_config_init(sc);
    if (algo == FPO_ALGO_FPO)
        sc->noise_corr = d.noise_corr;
}
