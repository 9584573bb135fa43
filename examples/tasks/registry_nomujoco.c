/* The MuJoCo part of the task registry when MuJoCo is not built: empty. */
#include <stddef.h>

#include <fpo/env.h>

#include "task.h"

extern const task_info *const task_mujoco_list[];
extern const int task_mujoco_count;

const task_info *const task_mujoco_list[] = {NULL};
const int task_mujoco_count = 0;
