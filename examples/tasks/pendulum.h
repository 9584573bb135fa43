/* Pendulum: the classic swing-up (see /work/shared/TASKS.md), as in gym's
 * Pendulum-v1.
 *
 * theta = 0 is upright. One step with u = clip(action, -2, 2):
 *   reward  = -(angle_norm(th)^2 + 0.1 thdot^2 + 0.001 u^2)   (state BEFORE)
 *   thdot  += (3g/(2l) sin(th) + 3/(m l^2) u) dt,  clipped to [-8, 8]
 *   th     += thdot dt                                   (semi-implicit Euler)
 * with g = 10, m = l = 1, dt = 0.05; angle_norm(x) = ((x + pi) mod 2pi) - pi
 * in [-pi, pi). Observation [cos th, sin th, thdot]. Episodes are truncated
 * after 200 steps and never terminate. Start: th ~ U[-pi, pi],
 * thdot ~ U[-1, 1], drawn from the reset seed with a private splitmix64.
 *
 * Instances are separate heap structs (the table's create); no shared
 * mutable state. A non-finite action, or a step before reset or after the
 * episode ended, makes step return non-zero. */
#ifndef FPO_EXAMPLE_PENDULUM_H
#define FPO_EXAMPLE_PENDULUM_H

#include <fpo/env.h>

#include "task.h"

#define PENDULUM_G 10.0
#define PENDULUM_M 1.0
#define PENDULUM_L 1.0
#define PENDULUM_DT 0.05
#define PENDULUM_MAX_SPEED 8.0
#define PENDULUM_MAX_TORQUE 2.0
#define PENDULUM_MAX_STEPS 200

/* The task (name "pendulum") and its function table (works with any user,
 * including NULL). */
extern const task_info task_pendulum;
extern const fpo_env_table pendulum_table;

/* angle_norm above. */
double pendulum_angle_norm(double x);

/* State of an instance (env from the table's create). set_state replaces
 * the angle and speed of the running episode, or starts one at step 0 if
 * none runs; it does not clip. Both return 0, or -1 on a NULL argument
 * (get_state: -1 also before the first reset). */
int pendulum_set_state(void *env, double th, double thdot);
int pendulum_get_state(const void *env, double *th, double *thdot);

/* Steps taken in the current episode, -1 if env is NULL. */
int pendulum_steps(const void *env);

#endif
