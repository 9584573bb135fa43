/* humanoid-root-goal: walk the humanoid of libmujoco-samples to goal points
 * on the ground at a commanded speed (facts in /work/shared/TASKS.md,
 * section HumanoidRootGoal). The goal fixes only the root, so many
 * whole-body motions are equally good, and a goal behind the agent makes
 * turning left and turning right equally good (a saddle, as in GridWorld).
 *
 * This header gives the task's descriptor, its reward and goal geometry on
 * plain numbers (for tests), and per-episode metrics for evaluation
 * programs: goals reached (success), alive steps, final goal distance and,
 * for goals that start behind the agent, which way it turned.
 *
 * Metrics: every instance keeps the record of its running episode and of
 * its last completed one. libfpo's vecenv resets an instance inside
 * fpo_vecenv_step when its episode ends, so after a step that returned
 * FPO_STEP_TERMINATED or FPO_STEP_TRUNCATED for instance i, read the ended
 * episode with humanoid_last_episode(user, i, &ep) (user: the pointer the
 * task's open returned; i: the index the table's create got). A host that
 * calls the table itself may use humanoid_env_episode(env, ...) instead.
 * humanoid_summary accumulates records into the numbers an evaluation
 * reports (success rate, mean alive steps, mean final goal distance, the
 * left/right turn histogram). Records are written by step/reset; read them
 * when no step of that instance is running. */
#ifndef FPO_EXAMPLE_HUMANOID_H
#define FPO_EXAMPLE_HUMANOID_H

#include <mujoco/mujoco.h>

#include "mjenv.h"
#include "task.h"

/* The task ("humanoid-root-goal"): actions are motor controls (torques).
 * "humanoid-root-goal-pd" is the same task with PD position targets: action
 * a_i in [-1, 1] sets joint i's target clip(qpos0_i + HUMANOID_PD_RANGE_FRACTION
 * x (hi_i - lo_i) x a_i, [lo_i, hi_i]), and before every physics step the
 * motor gets ctrl_i = clip(HUMANOID_PD_KP (target_i - q_i) - HUMANOID_PD_KD
 * qvel_i, -1, 1) (x its gear: the torque task's limits); and with a standing
 * phase: the first HUMANOID_PD_STAND_PHASE steps of an episode command
 * v* = 0 (observed and rewarded; no goal bonus), then the drawn command
 * holds. humanoid_env_goal reports the command in force. */
extern const task_info task_humanoid_root_goal;
extern const task_info task_humanoid_root_goal_pd;

/* ---- constants --------------------------------------------------------------- */

#define HUMANOID_OBS_DIM 71
#define HUMANOID_ACT_DIM 21
#define HUMANOID_MAX_STEPS 400        /* control steps; then TRUNCATED */
#define HUMANOID_SUBSTEPS 5           /* physics steps of .005 s per control step */
#define HUMANOID_FALL_HEIGHT 0.9      /* head below this: TERMINATED */
#define HUMANOID_STAND_HEIGHT 1.4     /* head height for the full stand reward */
#define HUMANOID_GOAL_DMIN 3.0        /* goal distance ~ U(DMIN, DMAX) */
#define HUMANOID_GOAL_DMAX 6.0
#define HUMANOID_SPEED_MIN 0.5        /* speed command ~ U(MIN, MAX) ... */
#define HUMANOID_SPEED_MAX 1.5
#define HUMANOID_STAND_PROB 0.1       /* ... or 0 (stand) with this probability */
#define HUMANOID_REACH_RADIUS 0.5     /* goal reached within this distance */
#define HUMANOID_GOAL_BONUS 10.0      /* reward for reaching a goal */
#define HUMANOID_BEHIND 2.5           /* |bearing| above this: goal behind */
#define HUMANOID_TURN_WINDOW 50       /* steps over which a turn is measured */
#define HUMANOID_STAND_DRIFT 0.5      /* stand success: torso within this of start */
#define HUMANOID_PD_RANGE_FRACTION 0.25 /* PD: target offset per unit action / range */
#define HUMANOID_PD_KP 3.0            /* PD: ctrl per rad of position error */
#define HUMANOID_PD_KD 0.1            /* PD: ctrl per rad/s of joint velocity */
#define HUMANOID_PD_STAND_PHASE 100   /* PD: steps of v* = 0 at every episode start */

/* ---- reward and geometry on plain numbers ----------------------------------- */

/* Per-step reward without the goal bonus, in [0, 1]:
 *   small_control * stand * (5 move + 1) / 6
 *   stand = tol(head_z, (1.4, inf), margin .35)
 *           * tol(torso_zz, (.9, inf), margin 1.9, value 0, linear)
 *   small_control = (4 + mean_i tol(u_i, (0, 0), margin 1, value 0, quadratic)) / 5
 *   v_cmd > 0: move = tol(v_par, (v_cmd, inf), margin v_cmd, value 0, linear)
 *                     * tol(|v_perp|, (0, .3), margin 1)
 *   v_cmd = 0: move = tol(hypot(v_par, v_perp), (0, .3), margin 1)
 * (tol without a sigmoid named: gaussian, value .1 at the margin.) v_par and
 * v_perp: the horizontal COM velocity along and across the direction from
 * the torso to the goal. u: the nu controls, clipped to [-1, 1]. */
double humanoid_reward(double head_z, double torso_zz, double v_par, double v_perp,
                       double v_cmd, const double *u, int nu);

/* Angle wrapped into (-pi, pi]. */
double humanoid_wrap_angle(double a);
/* Heading (yaw) of a body from its row-major rotation matrix: the angle of
 * its x axis projected on the ground, atan2(R[1][0], R[0][0]). */
double humanoid_heading(const double xmat[9]);
/* The ground point at distance dist and bearing (counter-clockwise from the
 * heading, radians) from xy. */
void humanoid_goal_point(const double xy[2], double heading, double dist, double bearing,
                         double goal[2]);
/* Distance and bearing (in (-pi, pi], counter-clockwise = left positive) of
 * goal seen from xy facing heading. */
void humanoid_goal_polar(const double xy[2], double heading, const double goal[2],
                         double *dist, double *bearing);
/* Horizontal velocity vel split along the unit direction from xy to goal
 * (v_par) and across it (v_perp, positive to the left). If xy == goal the
 * direction is the x axis. */
void humanoid_velocity_split(const double xy[2], const double goal[2], const double vel[2],
                             double *v_par, double *v_perp);

/* ---- metrics ------------------------------------------------------------------- */

typedef struct humanoid_episode {
    int steps;              /* control steps taken */
    int alive_steps;        /* steps that ended with the head at or above .9 m */
    int terminated;         /* 1: fell (head below .9 m) or unstable simulation */
    int truncated;          /* 1: reached 400 steps */
    int goals_reached;
    double ret;             /* undiscounted return, bonuses included */
    int stand;              /* 1: the first command was stand (v* = 0) */
    double speed_cmd;       /* the first command's v* */
    double initial_distance, initial_bearing; /* first goal at reset */
    double final_distance;  /* torso to the current goal at the last step */
    double drift;           /* torso's horizontal distance from its start */
    /* The first goal, when behind (|initial bearing| > 2.5) and not a stand
     * command: the sign of the torso's heading change (unwrapped) over the
     * first 50 steps, or until the goal is in front (|bearing| < pi/2), is
     * reached, or the episode ends, whichever comes first: +1 left
     * (counter-clockwise seen from above), -1 right, 0 no change. */
    int behind;
    int turn;
    int turn_steps;         /* steps the turn was measured over */
    double turn_angle;      /* the heading change measured (radians) */
    /* The same for every behind goal of the episode (resampled ones too). */
    int behind_goals, turns_left, turns_right;
} humanoid_episode;

/* Success: a walking episode (first command v* > 0) reached at least one
 * goal; a stand episode (v* = 0) lasted all 400 steps without falling and
 * ended with the torso within .5 m of where it started. */
int humanoid_episode_success(const humanoid_episode *ep);

/* Records of instance `index` of an open task (user from its open): the
 * last completed episode (returns 0; 1 if none has completed yet; -1 if
 * there is no such instance) and the running one (0; 1 if none is
 * running; -1). episodes_completed: count since create (-1: no instance). */
int humanoid_last_episode(const void *user, int index, humanoid_episode *out);
int humanoid_current_episode(const void *user, int index, humanoid_episode *out);
long long humanoid_episodes_completed(const void *user, int index);
/* The same from an instance pointer (what the table's create returned):
 * last != 0 for the last completed episode. */
int humanoid_env_episode(const void *env, int last, humanoid_episode *out);
/* The model an open task shares with its instances (user from its open), for
 * programs that step the same physics themselves (bench/bench_mujoco.c). */
const mjenv_shared *humanoid_shared(const void *user);

/* An instance's simulation state (for tests and viewers; call mj_forward
 * and mj_subtreeVel after editing it; NULL if env is NULL), and its current
 * goal point and speed command (returns 0, or -1 if env is NULL). */
mjData *humanoid_env_data(void *env);
int humanoid_env_goal(const void *env, double goal[2], double *v_cmd);

/* Aggregate over episodes. */
typedef struct humanoid_summary {
    long long episodes, successes, stand_episodes;
    long long alive_steps;        /* sum */
    double final_distance;        /* sum over walking episodes */
    long long walk_episodes;
    long long goals_reached;      /* sum */
    /* first goals behind: turned left / right / no turn */
    long long behind, left, right, no_turn;
} humanoid_summary;

void humanoid_summary_init(humanoid_summary *s);
void humanoid_summary_add(humanoid_summary *s, const humanoid_episode *ep);
double humanoid_summary_success_rate(const humanoid_summary *s);   /* NaN if empty */
double humanoid_summary_mean_alive(const humanoid_summary *s);     /* NaN if empty */
/* Mean final goal distance over walking episodes (NaN if none). */
double humanoid_summary_mean_distance(const humanoid_summary *s);
/* Fraction of first-behind goals turned left (NaN if none). */
double humanoid_summary_left_fraction(const humanoid_summary *s);

#endif
