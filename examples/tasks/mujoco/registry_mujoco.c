/* The MuJoCo part of the example task registry (see ../registry.c). */
#include <stddef.h>

#include "humanoid.h"
#include "mjenv.h"

const task_info *const task_mujoco_list[] = {
    &task_ball_in_cup,      &task_cartpole_balance, &task_cheetah_run,
    &task_finger_spin,      &task_finger_turn_easy, &task_finger_turn_hard,
    &task_fish_swim,        &task_point_mass,       &task_reacher_easy,
    &task_reacher_hard,     &task_humanoid_root_goal, &task_humanoid_root_goal_pd,
};
const int task_mujoco_count = (int)(sizeof task_mujoco_list / sizeof task_mujoco_list[0]);
