/* humanoid-root-goal on the humanoid.xml of libmujoco-samples (27 DoF, 21
 * motors, timestep .005 s): see humanoid.h and /work/shared/TASKS.md.
 *
 * Model: <model_dir>/humanoid.xml when open gets a model_dir holding it,
 * else HUMANOID_MODEL_DIR/humanoid.xml (Debian's libmujoco-samples path);
 * open fails with a message naming the path when neither exists. Loading and
 * checks go through mjenv_open; this task has its own create/reset/step
 * (400-step episodes, termination on falling, goal resampling, metrics).
 *
 * Control step: ctrl = clip(action, -1, 1), 5 physics steps of .005 s
 * (.025 s), then positions and velocities are brought up to date (mj_step1,
 * mj_subtreeVel) before the observation and reward are computed.
 *
 * Observation (71), invariant to the humanoid's world position and yaw:
 *   [0, 21)   joint angles qpos[7:28] (model order)
 *   [21]      head height (head body z)
 *   [22, 34)  left hand, left foot, right hand, right foot minus the torso
 *             position, in the torso frame (dm_control's extremities)
 *   [34, 37)  torso vertical: the world z axis in the torso frame (zx, zy, zz)
 *   [37, 40)  COM velocity (the torso subtree's linear velocity) in the
 *             heading frame: forward, left, up
 *   [40, 67)  qvel (27), the root's linear velocity qvel[0:3] rotated into
 *             the heading frame like the COM velocity (the rest as MuJoCo
 *             gives it: root angular velocity in the torso frame, joints)
 *   [67, 71)  cos b, sin b, min(d, 5)/5, v*: bearing b and distance d of the
 *             goal from the torso (heading-relative), the speed command
 * The heading is the yaw of the torso's x axis (the way the head faces).
 *
 * Goal: a ground point at distance ~U(3, 6) m and bearing ~U(-pi, pi) from
 * the torso's position and heading, with a speed command v* = 0 (stand)
 * with probability .1, else ~U(.5, 1.5) m/s. Reaching it (torso within
 * .5 m horizontally) gives +10 and draws the next goal from the current
 * position and heading. A stand command keeps its goal point (it is still
 * observed) but the goal is inert: no bonus, no resampling; the episode
 * stays a stand episode.
 *
 * Reward (humanoid_reward): small_control * stand * (5 move + 1)/6 as in
 * humanoid.h, with v_par/v_perp the COM velocity along/across the torso ->
 * goal direction; for v* = 0, move = tol(|v_xy|, (0, .3), margin 1): the
 * same slack and shape as the lateral term, so standing still is scored like
 * walking straight (dm_control's stand uses per-axis tol(v, margin 2)).
 *
 * Episode: TERMINATED when the head is below .9 m after a step (reward and
 * observation of that state are returned as usual), or on an unstable
 * simulation (reward 0, all-zero observation, as mjenv does); TRUNCATED at
 * 400 steps. Reset: qpos0 (the standing pose) with the root lowered so the
 * lowest foot point touches the floor, every hinge + U(-.02, .02) rad
 * (clipped to its range), zero velocities.
 *
 * humanoid-root-goal-pd: the same model, observation, reward, goals and
 * metrics, with two changes that make standing learnable (TASKS.md: the
 * torque task's humanoid falls within ~60 steps after 4M steps of either
 * algorithm):
 *   - PD position targets: a_i sets joint i's target angle
 *     clip(qpos0_i + HUMANOID_PD_RANGE_FRACTION (hi_i - lo_i) a_i, range);
 *     before each of the 5 physics steps the motor gets
 *     ctrl_i = clip(HUMANOID_PD_KP (target_i - q_i) - HUMANOID_PD_KD qvel_i,
 *     -1, 1), so the torque limits are the torque task's (gear x 1). The
 *     reward's small_control term acts on the action, here the target offset.
 *   - A standing phase: for the first HUMANOID_PD_STAND_PHASE steps of every
 *     episode the command in force is v* = 0 (observed, rewarded as a stand
 *     command, no goal bonus); the drawn command takes over after it. The
 *     goal point is observed throughout; an episode is a stand episode by its
 *     drawn command, and the turn of a first goal behind is measured from the
 *     end of the phase. */
#include "humanoid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjenv.h"
#include "tolerance.h"

#ifndef HUMANOID_MODEL_DIR
#define HUMANOID_MODEL_DIR "/usr/share/mujoco/model/humanoid"
#endif
#define HUMANOID_MODEL_FILE "humanoid.xml"

#define HUM_PI 3.14159265358979323846
#define HUM_MAX_INDEX 4096     /* instances reachable by index for metrics */
#define HUM_JOINT_NOISE 0.02
#define HUM_LATERAL_SLACK 0.3
#define HUM_FRONT (HUM_PI / 2) /* |bearing| below this: goal in front */

enum { HUM_TORSO, HUM_HEAD, HUM_LHAND, HUM_LFOOT, HUM_RHAND, HUM_RFOOT, HUM_NIDS };

typedef struct hum_inst hum_inst;

typedef struct hum_pd_joint {
    int qadr, vadr;       /* the actuated joint's qpos / qvel address */
    double q0, lo, hi;    /* standing angle (qpos0), joint range */
    double scale;         /* target offset per unit action (rad) */
} hum_pd_joint;

typedef struct hum_shared {
    mjenv_shared *sh;  /* model (mjenv_open) */
    double root_z;     /* root height with the feet on the floor */
    int pd;            /* actions are PD position targets (humanoid-root-goal-pd) */
    int stand_phase;   /* the first this many steps of an episode command v* = 0 */
    hum_pd_joint pdj[HUMANOID_ACT_DIM];
    hum_inst *inst[HUM_MAX_INDEX];
} hum_shared;

struct hum_inst {
    mjenv_inst base;   /* d, rng, t, running; first, for mjenv_uniform */
    hum_shared *owner;
    int index;
    double goal[2];
    double v_cmd;
    double start_xy[2];
    /* turn measurement for the current goal (pending: starts when the
     * standing phase ends) */
    int tracking, track_first, track_steps, track_pending;
    double track_angle, prev_heading;
    humanoid_episode cur, last;
    int has_last;
    long long completed;
};

/* ---- reward and geometry ------------------------------------------------------- */

double humanoid_reward(double head_z, double torso_zz, double v_par, double v_perp,
                       double v_cmd, const double *u, int nu)
{
    double standing = tolerance(head_z, HUMANOID_STAND_HEIGHT, INFINITY,
                                HUMANOID_STAND_HEIGHT / 4.0, TOL_GAUSSIAN, TOL_VAM);
    double upright = tolerance(torso_zz, 0.9, INFINITY, 1.9, TOL_LINEAR, 0.0);
    double stand = standing * upright;
    double sc = 0.0;
    for (int i = 0; i < nu; i++) {
        double a = u[i] < -1.0 ? -1.0 : (u[i] > 1.0 ? 1.0 : u[i]);
        sc += tolerance(a, 0.0, 0.0, 1.0, TOL_QUADRATIC, 0.0);
    }
    double small_control = (4.0 + (nu > 0 ? sc / nu : 1.0)) / 5.0;
    double move;
    if (v_cmd > 0.0) {
        move = tolerance(v_par, v_cmd, INFINITY, v_cmd, TOL_LINEAR, 0.0) *
               tolerance(fabs(v_perp), 0.0, HUM_LATERAL_SLACK, 1.0, TOL_GAUSSIAN, TOL_VAM);
    } else {
        move = tolerance(hypot(v_par, v_perp), 0.0, HUM_LATERAL_SLACK, 1.0, TOL_GAUSSIAN,
                         TOL_VAM);
    }
    return small_control * stand * (5.0 * move + 1.0) / 6.0;
}

double humanoid_wrap_angle(double a)
{
    if (!isfinite(a))
        return a;
    double r = fmod(a, 2.0 * HUM_PI); /* (-2pi, 2pi) */
    if (r > HUM_PI)
        r -= 2.0 * HUM_PI;
    else if (r <= -HUM_PI)
        r += 2.0 * HUM_PI;
    return r;
}

double humanoid_heading(const double xmat[9])
{
    return atan2(xmat[3], xmat[0]);
}

void humanoid_goal_point(const double xy[2], double heading, double dist, double bearing,
                         double goal[2])
{
    double a = heading + bearing;
    goal[0] = xy[0] + dist * cos(a);
    goal[1] = xy[1] + dist * sin(a);
}

void humanoid_goal_polar(const double xy[2], double heading, const double goal[2],
                         double *dist, double *bearing)
{
    double dx = goal[0] - xy[0], dy = goal[1] - xy[1];
    *dist = hypot(dx, dy);
    *bearing = humanoid_wrap_angle(atan2(dy, dx) - heading);
}

void humanoid_velocity_split(const double xy[2], const double goal[2], const double vel[2],
                             double *v_par, double *v_perp)
{
    double dx = goal[0] - xy[0], dy = goal[1] - xy[1];
    double n = hypot(dx, dy);
    double ex = 1.0, ey = 0.0;
    if (n > 0.0) {
        ex = dx / n;
        ey = dy / n;
    }
    *v_par = vel[0] * ex + vel[1] * ey;
    *v_perp = -vel[0] * ey + vel[1] * ex;
}

/* ---- metrics --------------------------------------------------------------------- */

int humanoid_episode_success(const humanoid_episode *ep)
{
    if (!ep)
        return 0;
    if (ep->stand)
        return ep->goals_reached > 0 ||
               (!ep->terminated && ep->truncated && ep->drift <= HUMANOID_STAND_DRIFT);
    return ep->goals_reached > 0;
}

static const hum_inst *hum_lookup(const void *user, int index)
{
    const hum_shared *hs = user;
    if (!hs || index < 0 || index >= HUM_MAX_INDEX)
        return NULL;
    return hs->inst[index];
}

int humanoid_env_episode(const void *env, int last, humanoid_episode *out)
{
    const hum_inst *h = env;
    if (!h || !out)
        return -1;
    if (last) {
        if (!h->has_last)
            return 1;
        *out = h->last;
        return 0;
    }
    if (!h->base.running)
        return 1;
    *out = h->cur;
    return 0;
}

const mjenv_shared *humanoid_shared(const void *user)
{
    return user ? ((const hum_shared *)user)->sh : NULL;
}

int humanoid_last_episode(const void *user, int index, humanoid_episode *out)
{
    const hum_inst *h = hum_lookup(user, index);
    return h ? humanoid_env_episode(h, 1, out) : -1;
}

int humanoid_current_episode(const void *user, int index, humanoid_episode *out)
{
    const hum_inst *h = hum_lookup(user, index);
    return h ? humanoid_env_episode(h, 0, out) : -1;
}

long long humanoid_episodes_completed(const void *user, int index)
{
    const hum_inst *h = hum_lookup(user, index);
    return h ? h->completed : -1;
}

mjData *humanoid_env_data(void *env)
{
    hum_inst *h = env;
    return h ? h->base.d : NULL;
}

/* The speed command in force: 0 during the standing phase. */
static double hum_command(const hum_inst *h)
{
    return h->base.t < h->owner->stand_phase ? 0.0 : h->v_cmd;
}

int humanoid_env_goal(const void *env, double goal[2], double *v_cmd)
{
    const hum_inst *h = env;
    if (!h)
        return -1;
    if (goal) {
        goal[0] = h->goal[0];
        goal[1] = h->goal[1];
    }
    if (v_cmd)
        *v_cmd = hum_command(h);
    return 0;
}

void humanoid_summary_init(humanoid_summary *s)
{
    if (s)
        memset(s, 0, sizeof *s);
}

void humanoid_summary_add(humanoid_summary *s, const humanoid_episode *ep)
{
    if (!s || !ep)
        return;
    s->episodes++;
    s->successes += humanoid_episode_success(ep) ? 1 : 0;
    s->alive_steps += ep->alive_steps;
    s->goals_reached += ep->goals_reached;
    if (ep->stand) {
        s->stand_episodes++;
    } else {
        s->walk_episodes++;
        s->final_distance += ep->final_distance;
    }
    if (ep->behind) {
        s->behind++;
        if (ep->turn > 0)
            s->left++;
        else if (ep->turn < 0)
            s->right++;
        else
            s->no_turn++;
    }
}

double humanoid_summary_success_rate(const humanoid_summary *s)
{
    return s && s->episodes > 0 ? (double)s->successes / (double)s->episodes : NAN;
}

double humanoid_summary_mean_alive(const humanoid_summary *s)
{
    return s && s->episodes > 0 ? (double)s->alive_steps / (double)s->episodes : NAN;
}

double humanoid_summary_mean_distance(const humanoid_summary *s)
{
    return s && s->walk_episodes > 0 ? s->final_distance / (double)s->walk_episodes : NAN;
}

double humanoid_summary_left_fraction(const humanoid_summary *s)
{
    return s && s->behind > 0 ? (double)s->left / (double)s->behind : NAN;
}

/* ---- state helpers ------------------------------------------------------------------ */

static void hum_torso_xy(const mjenv_shared *sh, const mjData *d, double xy[2])
{
    const mjtNum *p = d->xpos + 3 * sh->id[HUM_TORSO];
    xy[0] = p[0];
    xy[1] = p[1];
}

static double hum_torso_heading(const mjenv_shared *sh, const mjData *d)
{
    return humanoid_heading(d->xmat + 9 * sh->id[HUM_TORSO]);
}

/* End the turn measurement of the current goal. */
static void hum_track_end(hum_inst *h)
{
    if (!h->tracking)
        return;
    int turn = h->track_angle > 0.0 ? 1 : (h->track_angle < 0.0 ? -1 : 0);
    if (turn > 0)
        h->cur.turns_left++;
    else if (turn < 0)
        h->cur.turns_right++;
    if (h->track_first) {
        h->cur.turn = turn;
        h->cur.turn_steps = h->track_steps;
        h->cur.turn_angle = h->track_angle;
    }
    h->tracking = 0;
}

/* Draw a goal and command from the torso's current position and heading. */
static void hum_sample_goal(const mjenv_shared *sh, hum_inst *h, int first)
{
    const mjData *d = h->base.d;
    double xy[2], heading = hum_torso_heading(sh, d);
    hum_torso_xy(sh, d, xy);
    double dist = mjenv_uniform(&h->base, HUMANOID_GOAL_DMIN, HUMANOID_GOAL_DMAX);
    double bearing = mjenv_uniform(&h->base, -HUM_PI, HUM_PI);
    double u = mjenv_uniform(&h->base, 0.0, 1.0);
    double v = mjenv_uniform(&h->base, HUMANOID_SPEED_MIN, HUMANOID_SPEED_MAX);
    h->v_cmd = u < HUMANOID_STAND_PROB ? 0.0 : v;
    humanoid_goal_point(xy, heading, dist, bearing, h->goal);
    if (first) {
        h->cur.stand = h->v_cmd == 0.0;
        h->cur.speed_cmd = h->v_cmd;
        h->cur.initial_distance = dist;
        h->cur.initial_bearing = bearing;
    }
    h->tracking = 0;
    h->track_pending = 0;
    if (h->v_cmd > 0.0 && fabs(bearing) > HUMANOID_BEHIND) {
        h->tracking = 1;
        h->track_first = first;
        h->track_steps = 0;
        h->track_angle = 0.0;
        h->prev_heading = heading;
        h->cur.behind_goals++;
        if (first)
            h->cur.behind = 1;
    }
}

static void hum_observe(const mjenv_shared *sh, const hum_inst *h, float *obs)
{
    const mjModel *m = sh->m;
    const mjData *d = h->base.d;
    int k = 0;
    for (int i = 7; i < m->nq; i++)
        obs[k++] = (float)d->qpos[i];
    obs[k++] = (float)d->xpos[3 * sh->id[HUM_HEAD] + 2];
    const mjtNum *tp = d->xpos + 3 * sh->id[HUM_TORSO];
    const mjtNum *R = d->xmat + 9 * sh->id[HUM_TORSO];
    for (int e = HUM_LHAND; e <= HUM_RFOOT; e++) {
        const mjtNum *p = d->xpos + 3 * sh->id[e];
        double g[3] = {p[0] - tp[0], p[1] - tp[1], p[2] - tp[2]};
        for (int i = 0; i < 3; i++)
            obs[k++] = (float)(g[0] * R[i] + g[1] * R[3 + i] + g[2] * R[6 + i]);
    }
    for (int i = 0; i < 3; i++)
        obs[k++] = (float)R[6 + i];
    double heading = humanoid_heading(R);
    double c = cos(heading), s = sin(heading);
    const mjtNum *cv = d->subtree_linvel + 3 * sh->id[HUM_TORSO];
    obs[k++] = (float)(c * cv[0] + s * cv[1]);
    obs[k++] = (float)(-s * cv[0] + c * cv[1]);
    obs[k++] = (float)cv[2];
    obs[k++] = (float)(c * d->qvel[0] + s * d->qvel[1]);
    obs[k++] = (float)(-s * d->qvel[0] + c * d->qvel[1]);
    for (int i = 2; i < m->nv; i++)
        obs[k++] = (float)d->qvel[i];
    double xy[2] = {tp[0], tp[1]}, dist, bearing;
    humanoid_goal_polar(xy, heading, h->goal, &dist, &bearing);
    obs[k++] = (float)cos(bearing);
    obs[k++] = (float)sin(bearing);
    obs[k++] = (float)(fmin(dist, 5.0) / 5.0);
    obs[k++] = (float)hum_command(h);
}

static int hum_unstable(const mjData *d)
{
    return d->warning[mjWARN_BADQPOS].number > 0 || d->warning[mjWARN_BADQVEL].number > 0 ||
           d->warning[mjWARN_BADQACC].number > 0;
}

static int hum_finite(const float *x, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* ---- PD position targets (humanoid-root-goal-pd) ------------------------------------- */

static double hum_pd_target(const hum_pd_joint *j, double u)
{
    double q = j->q0 + j->scale * u;
    return q < j->lo ? j->lo : (q > j->hi ? j->hi : q);
}

/* ctrl = clip(KP (target - q) - KD qvel, -1, 1), the same gains for every
 * joint in ctrl units: the motor's gear turns it into a torque, so each
 * joint's torque gain scales with its gear and the torque limits are the
 * torque task's. */
static void hum_pd_ctrl(const hum_shared *hs, mjData *d, const double *target)
{
    for (int i = 0; i < HUMANOID_ACT_DIM; i++) {
        const hum_pd_joint *j = &hs->pdj[i];
        double c = HUMANOID_PD_KP * (target[i] - d->qpos[j->qadr]) -
                   HUMANOID_PD_KD * d->qvel[j->vadr];
        d->ctrl[i] = c < -1.0 ? -1.0 : (c > 1.0 ? 1.0 : c);
    }
}

/* Per-joint PD targets from the model: every actuator drives one limited
 * hinge (checked); target = clip(qpos0 + HUMANOID_PD_RANGE_FRACTION x range
 * width x action, range). */
static int hum_pd_prepare(hum_shared *hs, char *err, size_t errlen)
{
    const mjModel *m = hs->sh->m;
    for (int i = 0; i < m->nu; i++) {
        int jn = m->actuator_trnid[2 * i];
        if (m->actuator_trntype[i] != mjTRN_JOINT || jn < 0 || jn >= m->njnt ||
            m->jnt_type[jn] != mjJNT_HINGE || !m->jnt_limited[jn]) {
            if (err && errlen > 0)
                snprintf(err, errlen, "humanoid.xml: actuator %d does not drive a limited hinge",
                         i);
            return 1;
        }
        hum_pd_joint *j = &hs->pdj[i];
        j->qadr = m->jnt_qposadr[jn];
        j->vadr = m->jnt_dofadr[jn];
        j->lo = m->jnt_range[2 * jn];
        j->hi = m->jnt_range[2 * jn + 1];
        j->q0 = m->qpos0[j->qadr];
        j->scale = HUMANOID_PD_RANGE_FRACTION * (j->hi - j->lo);
    }
    return 0;
}

/* ---- table callbacks ------------------------------------------------------------------ */

static int hum_create(void *user, int index, void **env)
{
    hum_shared *hs = user;
    if (!hs || !env)
        return 1;
    hum_inst *h = calloc(1, sizeof *h);
    if (!h)
        return 2;
    h->base.d = mj_makeData(hs->sh->m);
    if (!h->base.d) {
        free(h);
        return 2;
    }
    h->owner = hs;
    h->index = index;
    if (index >= 0 && index < HUM_MAX_INDEX)
        hs->inst[index] = h;
    *env = h;
    return 0;
}

static void hum_destroy(void *user, void *env)
{
    hum_shared *hs = user;
    hum_inst *h = env;
    if (!h)
        return;
    if (hs && h->index >= 0 && h->index < HUM_MAX_INDEX && hs->inst[h->index] == h)
        hs->inst[h->index] = NULL;
    if (h->base.d)
        mj_deleteData(h->base.d);
    free(h);
}

static int hum_reset(void *user, void *env, uint64_t seed, float *obs)
{
    hum_shared *hs = user;
    hum_inst *h = env;
    if (!hs || !h || !obs)
        return 1;
    const mjenv_shared *sh = hs->sh;
    const mjModel *m = sh->m;
    mjData *d = h->base.d;
    /* seed the instance's RNG as mjenv does (splitmix64 of the seed) */
    uint64_t s = seed;
    for (int i = 0; i < 4; i++) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        h->base.rng[i] = z ^ (z >> 31);
    }
    mj_resetData(m, d);
    h->base.running = 0;
    h->base.t = 0;
    d->qpos[2] = hs->root_z;
    for (int j = 0; j < m->njnt; j++) {
        if (m->jnt_type[j] != mjJNT_HINGE)
            continue;
        int a = m->jnt_qposadr[j];
        double q = d->qpos[a] + mjenv_uniform(&h->base, -HUM_JOINT_NOISE, HUM_JOINT_NOISE);
        if (m->jnt_limited[j]) {
            double lo = m->jnt_range[2 * j], hi = m->jnt_range[2 * j + 1];
            q = q < lo ? lo : (q > hi ? hi : q);
        }
        d->qpos[a] = q;
    }
    mj_forward(m, d);
    mj_subtreeVel(m, d);
    if (hum_unstable(d))
        return 3;
    memset(&h->cur, 0, sizeof h->cur);
    h->tracking = 0;
    hum_torso_xy(sh, d, h->start_xy);
    hum_sample_goal(sh, h, 1);
    if (h->tracking && hs->stand_phase > 0) {
        h->tracking = 0; /* measured from the end of the standing phase */
        h->track_pending = 1;
    }
    h->cur.final_distance = h->cur.initial_distance;
    hum_observe(sh, h, obs);
    if (!hum_finite(obs, HUMANOID_OBS_DIM))
        return 3;
    h->base.running = 1;
    return 0;
}

static int hum_step(void *user, void *env, const float *action, float *obs, float *reward,
                    unsigned *flags)
{
    hum_shared *hs = user;
    hum_inst *h = env;
    if (!hs || !h || !action || !obs || !reward || !flags)
        return 1;
    if (!h->base.running)
        return 2; /* no episode running: reset first */
    const mjenv_shared *sh = hs->sh;
    const mjModel *m = sh->m;
    mjData *d = h->base.d;
    double u[HUMANOID_ACT_DIM], target[HUMANOID_ACT_DIM];
    for (int i = 0; i < m->nu; i++) {
        double a = (double)action[i];
        if (!isfinite(a))
            return 3;
        u[i] = a < -1.0 ? -1.0 : (a > 1.0 ? 1.0 : a);
        if (hs->pd)
            target[i] = hum_pd_target(&hs->pdj[i], u[i]);
        else
            d->ctrl[i] = u[i];
    }
    /* positions and velocities are current (mj_forward at reset or mj_step1
     * below): finish this step, then take the others whole. PD torques are
     * recomputed from the state before every physics step. */
    if (hs->pd)
        hum_pd_ctrl(hs, d, target);
    mj_step2(m, d);
    for (int k = 1; k < sh->repeat; k++) {
        if (hs->pd)
            hum_pd_ctrl(hs, d, target);
        mj_step(m, d);
    }
    mj_step1(m, d);
    mj_subtreeVel(m, d);
    double v_cmd = hum_command(h); /* the command observed before this step */
    h->base.t++;
    h->cur.steps++;

    unsigned f = 0;
    double r = 0.0;
    int bad = hum_unstable(d);
    if (!bad) {
        double xy[2], vel[2], dist, bearing, v_par, v_perp;
        hum_torso_xy(sh, d, xy);
        double heading = hum_torso_heading(sh, d);
        double head_z = d->xpos[3 * sh->id[HUM_HEAD] + 2];
        double zz = d->xmat[9 * sh->id[HUM_TORSO] + 8];
        const mjtNum *cv = d->subtree_linvel + 3 * sh->id[HUM_TORSO];
        vel[0] = cv[0];
        vel[1] = cv[1];
        humanoid_velocity_split(xy, h->goal, vel, &v_par, &v_perp);
        r = humanoid_reward(head_z, zz, v_par, v_perp, v_cmd, u, m->nu);
        humanoid_goal_polar(xy, heading, h->goal, &dist, &bearing);
        if (h->tracking) {
            h->track_angle += humanoid_wrap_angle(heading - h->prev_heading);
            h->prev_heading = heading;
            h->track_steps++;
            if (fabs(bearing) < HUM_FRONT || h->track_steps >= HUMANOID_TURN_WINDOW)
                hum_track_end(h);
        }
        if (h->track_pending && h->base.t >= hs->stand_phase) {
            h->track_pending = 0;
            h->tracking = 1;
            h->prev_heading = heading;
        }
        if (v_cmd > 0.0 && dist <= HUMANOID_REACH_RADIUS) {
            r += HUMANOID_GOAL_BONUS;
            h->cur.goals_reached++;
            hum_track_end(h);
            hum_sample_goal(sh, h, 0);
            humanoid_goal_polar(xy, heading, h->goal, &dist, &bearing);
        }
        h->cur.final_distance = dist;
        h->cur.drift = hypot(xy[0] - h->start_xy[0], xy[1] - h->start_xy[1]);
        if (head_z < HUMANOID_FALL_HEIGHT)
            f |= FPO_STEP_TERMINATED;
        else
            h->cur.alive_steps++;
        hum_observe(sh, h, obs);
        bad = !hum_finite(obs, HUMANOID_OBS_DIM) || !isfinite(r);
    }
    if (bad) {
        memset(obs, 0, sizeof(float) * HUMANOID_OBS_DIM);
        r = 0.0;
        f |= FPO_STEP_TERMINATED;
        if (h->cur.alive_steps >= h->cur.steps)
            h->cur.alive_steps = h->cur.steps - 1;
    }
    if (h->base.t >= HUMANOID_MAX_STEPS)
        f |= FPO_STEP_TRUNCATED;
    h->cur.ret += r;
    if (f) {
        hum_track_end(h);
        h->cur.terminated = (f & FPO_STEP_TERMINATED) != 0;
        h->cur.truncated = (f & FPO_STEP_TRUNCATED) != 0;
        if (humanoid_episode_success(&h->cur))
            f |= FPO_STEP_SUCCESS; /* counted in the trainer's episode statistics */
        h->last = h->cur;
        h->has_last = 1;
        h->completed++;
        h->base.running = 0;
    }
    *reward = (float)r;
    *flags = f;
    return 0;
}

/* ---- open / close ----------------------------------------------------------------------- */

static int hum_prepare(mjenv_shared *sh, char *err, size_t errlen)
{
    static const char *const names[HUM_NIDS] = {"torso",     "head",       "left_hand",
                                                "left_foot", "right_hand", "right_foot"};
    const mjModel *m = sh->m;
    for (int i = 0; i < HUM_NIDS; i++)
        if ((sh->id[i] = mjenv_id(m, mjOBJ_BODY, names[i], err, errlen)) < 0)
            return 1;
    if (m->nq != 28 || m->nv != 27 || m->nu != HUMANOID_ACT_DIM || m->njnt < 1 ||
        m->jnt_type[0] != mjJNT_FREE || m->body_parentid[sh->id[HUM_TORSO]] != 0 ||
        sh->id[HUM_TORSO] != m->jnt_bodyid[0]) {
        if (err && errlen > 0)
            snprintf(err, errlen,
                     "humanoid.xml: expected a free-floating torso, nq 28, nv 27, nu 21");
        return 1;
    }
    return 0;
}

static const mjenv_task hum_task = {
    .model_file = HUMANOID_MODEL_FILE,
    .control_dt = HUMANOID_SUBSTEPS * 0.005,
    .obs_dim = HUMANOID_OBS_DIM,
    .act_dim = HUMANOID_ACT_DIM,
    .prepare = hum_prepare,
};

static int hum_file_exists(const char *dir, const char *file)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    fclose(fp);
    return 1;
}

/* Root height at which the lowest point of the body's geoms (capsules and
 * spheres) is on the floor, from the pose qpos0. */
static double hum_standing_root_z(const mjModel *m)
{
    mjData *d = mj_makeData(m);
    if (!d)
        return m->qpos0[2];
    mj_forward(m, d);
    double low = INFINITY;
    for (int g = 0; g < m->ngeom; g++) {
        if (m->geom_bodyid[g] == 0)
            continue;
        const mjtNum *p = d->geom_xpos + 3 * g;
        const mjtNum *R = d->geom_xmat + 9 * g;
        double z = p[2] - m->geom_size[3 * g];
        if (m->geom_type[g] == mjGEOM_CAPSULE)
            z -= fabs(R[8]) * m->geom_size[3 * g + 1];
        if (z < low)
            low = z;
    }
    double root = d->qpos[2] - (isfinite(low) ? low : 0.0);
    mj_deleteData(d);
    return root;
}

static void hum_close(void *user)
{
    hum_shared *hs = user;
    if (!hs)
        return;
    mjenv_close(hs->sh);
    free(hs);
}

static int hum_open_mode(void **user, const char *model_dir, char *err, size_t errlen, int pd)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!user) {
        if (err && errlen > 0)
            snprintf(err, errlen, "invalid arguments");
        return 1;
    }
    *user = NULL;
    const char *dir = HUMANOID_MODEL_DIR;
    if (model_dir && hum_file_exists(model_dir, HUMANOID_MODEL_FILE))
        dir = model_dir;
    if (!hum_file_exists(dir, HUMANOID_MODEL_FILE)) {
        if (err && errlen > 0)
            snprintf(err, errlen,
                     "humanoid model not found: %s/%s is missing (install libmujoco-samples, "
                     "or pass a model directory holding %s)",
                     dir, HUMANOID_MODEL_FILE, HUMANOID_MODEL_FILE);
        return 1;
    }
    hum_shared *hs = calloc(1, sizeof *hs);
    if (!hs) {
        if (err && errlen > 0)
            snprintf(err, errlen, "out of memory");
        return 1;
    }
    void *sh = NULL;
    if (mjenv_open(&sh, dir, err, errlen, &hum_task) != 0) {
        free(hs);
        return 1;
    }
    hs->sh = sh;
    if (hs->sh->repeat != HUMANOID_SUBSTEPS) {
        if (err && errlen > 0)
            snprintf(err, errlen, "%s/%s: timestep is not .005 s", dir, HUMANOID_MODEL_FILE);
        hum_close(hs);
        return 1;
    }
    hs->root_z = hum_standing_root_z(hs->sh->m);
    hs->pd = pd;
    hs->stand_phase = pd ? HUMANOID_PD_STAND_PHASE : 0;
    if (pd && hum_pd_prepare(hs, err, errlen) != 0) {
        hum_close(hs);
        return 1;
    }
    *user = hs;
    return 0;
}

static int hum_open(void **user, const char *model_dir, char *err, size_t errlen)
{
    return hum_open_mode(user, model_dir, err, errlen, 0);
}

static int hum_open_pd(void **user, const char *model_dir, char *err, size_t errlen)
{
    return hum_open_mode(user, model_dir, err, errlen, 1);
}

static const fpo_env_table hum_table = {
    .struct_size = sizeof(fpo_env_table),
    .version = FPO_ENV_TABLE_VERSION,
    .obs_dim = HUMANOID_OBS_DIM,
    .act_dim = HUMANOID_ACT_DIM,
    .action_low = NULL,
    .action_high = NULL,
    .create = hum_create,
    .reset = hum_reset,
    .step = hum_step,
    .destroy = hum_destroy,
};

/* The torque task's settings (measured on it: docs/results.md); the PD task
 * takes them with FPO's anchor off (HUM_PD_DEFAULTS). */
#define HUM_DEFAULT_FIELDS                                                                     \
    .num_envs = 16, .horizon = 64, .steps = 3000000, .gamma = 0.99f, .gae_lambda = 0.95f,     \
    .lr = 3e-4f, .reward_scale = 1.0f, .clip_fpo = 0.05f, .clip_ppo = 0.1f,                   \
    .epochs = 4, /* FPO too: 2 epochs are not measured on this task */                        \
    .minibatches = 8, .n_mc = 8, .actor_layers = 4, .actor_hidden = 64,                       \
    .actor_act = FPO_ACT_SILU, .critic_layers = 3, .critic_hidden = 128,                      \
    .critic_act = FPO_ACT_SILU, .cfm = FPO_CFM_EPS, .ratio = FPO_RATIO_PER_SAMPLE, .aspo = 1, \
    .gauss_fixed_std = 0.0f, .entropy_coef = 0.01f, .eval_episodes = 20

/* FPO's anchor off: with the library's anchor (0.1) the flow never sharpens here
 * (every action dimension's sign stays a coin flip, the return flat at ~40 from
 * 100k to 4M steps); without it FPO stands by 4M steps, its CFM loss within
 * 1.3x of its first (docs/results.md, "humanoid-root-goal-pd"). */
#define HUM_PD_DEFAULTS {HUM_DEFAULT_FIELDS, .anchor = -1.0f}

const task_info task_humanoid_root_goal = {
    .name = "humanoid-root-goal",
    .description = "humanoid walks to ground goals at a commanded speed, +10 per goal "
                   "(MuJoCo, 400 steps)",
    .open = hum_open,
    .close = hum_close,
    .table = &hum_table,
    .defaults = {HUM_DEFAULT_FIELDS},
};

const task_info task_humanoid_root_goal_pd = {
    .name = "humanoid-root-goal-pd",
    .description = "humanoid-root-goal with PD joint-position targets instead of torques "
                   "(MuJoCo, 400 steps)",
    .open = hum_open_pd,
    .close = hum_close,
    .table = &hum_table,
    .defaults = HUM_PD_DEFAULTS,
};
