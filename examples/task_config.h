/* The libfpo configs a task's training defaults stand for (shared by the
 * example programs, so every program trains a task the same way). */
#ifndef FPO_EXAMPLE_TASK_CONFIG_H
#define FPO_EXAMPLE_TASK_CONFIG_H

#include <fpo/fpo.h>

#include "tasks/task.h"

/* The two named training presets of every task (fpo-train --preset):
 *  - CPU: the task's own defaults (task_info.defaults), small batches and
 *    many updates, for the budgets of a small machine;
 *  - PAPER: the reference implementation's DM Control batch geometry laid
 *    over the task's defaults: 2048 envs x 480 steps (983,040 transitions)
 *    per update, 32 minibatches of 30,720, 16 epochs, reward scale 10,
 *    value coefficient 0.25 (set in oc by task_default_configs), critic
 *    5 x 256, actor 4 x 32, 60M env steps, the paper's FPO objective
 *    (averaged ratio, no ASPO). */
typedef enum task_preset { TASK_PRESET_CPU = 0, TASK_PRESET_PAPER = 1 } task_preset;

/* The training defaults of a task under a preset. */
task_defaults task_preset_defaults(const task_info *task, task_preset preset);

/* Initialize pc, oc and tc (each may be NULL) from the task's defaults under
 * preset for algo. tc->policy / optimizer are not set (the caller points
 * them). */
void task_default_configs(const task_info *task, task_preset preset, fpo_algo algo,
                          fpo_policy_config *pc, fpo_optimizer_config *oc,
                          fpo_trainer_config *tc);

/* Initialize sc (the rollout sampler's config) from the task's defaults
 * under preset for algo: the task's noise_corr for FPO, the library's
 * defaults otherwise. */
void task_default_sampler(const task_info *task, task_preset preset, fpo_algo algo,
                          fpo_sampler_config *sc);

#endif
