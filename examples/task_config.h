/* The libfpo configs a task's training defaults stand for (shared by the
 * example programs, so every program trains a task the same way). */
#ifndef FPO_EXAMPLE_TASK_CONFIG_H
#define FPO_EXAMPLE_TASK_CONFIG_H

#include <fpo/fpo.h>

#include "tasks/task.h"

/* Initialize pc, oc and tc (each may be NULL) from the task's defaults for
 * algo. tc->policy / optimizer are not set (the caller points them). */
void task_default_configs(const task_info *task, fpo_algo algo, fpo_policy_config *pc,
                          fpo_optimizer_config *oc, fpo_trainer_config *tc);

#endif
