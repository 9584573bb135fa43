/* GridWorld: the multimodality example task (see /work/shared/TASKS.md).
 *
 * 25x25 cells, (x, y) in [0, 24]^2. Rows y <= 1 (bottom band) and y >= 23
 * (top band) are goals: entering one gives +20 and terminates the episode;
 * every other step gives 0. Episodes are truncated after 100 steps (a step
 * that enters a goal on step 100 reports TERMINATED only). Starts are
 * uniform over the 25 x 21 non-goal cells (y = 2..22), drawn from the reset
 * seed with a private splitmix64 generator. Observation: (x - 12) / 12,
 * (y - 12) / 12. Action: 2 floats, bounds [-1, 1]; the move per axis is
 * nearbyint(clip(a, -1, 1)) (round half to even: +-0.5 stays), the position
 * is clipped to the grid.
 *
 * Instances are separate heap structs made by the table's create callback;
 * they share no mutable state, so different instances may be stepped from
 * different threads. A non-finite action, or a step before reset or after
 * the episode ended, makes step return non-zero. */
#ifndef FPO_EXAMPLE_GRIDWORLD_H
#define FPO_EXAMPLE_GRIDWORLD_H

#include <fpo/env.h>

#include "task.h"

#define GRIDWORLD_SIZE 25
#define GRIDWORLD_CENTER 12
#define GRIDWORLD_MAX_STEPS 100
#define GRIDWORLD_GOAL_REWARD 20.0f
#define GRIDWORLD_SADDLE_Y 12

/* Where an episode ended. */
enum {
    GRIDWORLD_BAND_NONE = 0,   /* still running, not started, or truncated */
    GRIDWORLD_BAND_BOTTOM = 1, /* terminated in a cell with y <= 1 */
    GRIDWORLD_BAND_TOP = 2     /* terminated in a cell with y >= 23 */
};

/* The task (name "gridworld") and its function table. The table works with
 * user == NULL as well as with the user that task_gridworld.open makes. */
extern const task_info task_gridworld;
extern const fpo_env_table gridworld_table;

/* ---- fixed starts (evaluation) -----------------------------------------
 * A forced start is PERSISTENT: every following reset starts at (x, y)
 * instead of drawing from the seed, until cleared with x < 0 (or y < 0).
 * x and y are clipped to the grid; a start inside a goal band is allowed
 * but not useful (the first step there cannot "enter" it, only re-enter).
 * Returns 0, or -1 if env is NULL.
 *
 * gridworld_force_start acts on one instance (env from the table's create)
 * and takes precedence over gridworld_user_force_start, which acts on every
 * instance made with that user (the pointer task_gridworld.open returns):
 * that is how to evaluate from a fixed start through an fpo_vecenv. Change
 * the user's start only while no instance made with it is being reset. */
int gridworld_force_start(void *env, int x, int y);
int gridworld_user_force_start(void *user, int x, int y);

/* Current cell of an instance. Returns 0, or -1 if env or an output is NULL
 * or no episode has started. */
int gridworld_position(const void *env, int *x, int *y);

/* GRIDWORLD_BAND_* of the episode that just ended on this instance (NONE
 * while it runs, after truncation, and after the next reset). */
int gridworld_goal_band(const void *env);

/* Steps taken in the current episode (0 after reset), -1 if env is NULL. */
int gridworld_steps(const void *env);

/* GRIDWORLD_BAND_* of a cell row, and of an observation (for instance the
 * final_obs fpo_vecenv_step writes when an episode ends). */
int gridworld_band_of_y(int y);
int gridworld_band_of_obs(const float *obs);

#endif
