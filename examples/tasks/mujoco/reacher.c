/* reacher-easy / reacher-hard (dm_control reacher) on models/reacher.xml.
 *
 * Control step 0.02 s = 4 physics steps of 0.005 s. Observation (6): qpos
 * (shoulder, wrist), finger -> target (x, y), qvel. Reset: shoulder ~
 * U(-pi, pi), wrist ~ U(range = +-160 deg), qvel 0; target at radius
 * U(.05, .2), angle U(0, 2 pi): (r sin a, r cos a), at the arm's height.
 * The target lives in the instance (not in the shared model); it has no
 * physical effect. Reward: 1 if |finger - target| <= target size + finger
 * radius (.01), else 0; target size .05 (easy) or .015 (hard). */
#include <math.h>

#include "mjenv.h"
#include "tolerance.h"

#define RE_FINGER_SIZE 0.01
#define RE_PI 3.14159265358979323846

enum { RE_FINGER };

double mjt_reacher_reward(double dist, double target_size)
{
    return tolerance(dist, 0.0, target_size + RE_FINGER_SIZE, 0.0, TOL_GAUSSIAN, TOL_VAM);
}

static int re_prepare(mjenv_shared *sh, char *err, size_t errlen)
{
    if ((sh->id[RE_FINGER] = mjenv_id(sh->m, mjOBJ_GEOM, "finger", err, errlen)) < 0)
        return 1;
    return 0;
}

static int re_reset(const mjenv_shared *sh, mjenv_inst *e)
{
    mjenv_randomize_joints(sh->m, e);
    double angle = mjenv_uniform(e, 0.0, 2.0 * RE_PI);
    double radius = mjenv_uniform(e, 0.05, 0.20);
    e->target[0] = radius * sin(angle);
    e->target[1] = radius * cos(angle);
    e->target[2] = 0.01;
    return 0;
}

static void re_observe(const mjenv_shared *sh, const mjenv_inst *e, float *obs)
{
    const mjData *d = e->d;
    const mjtNum *f = d->geom_xpos + 3 * sh->id[RE_FINGER];
    obs[0] = (float)d->qpos[0];
    obs[1] = (float)d->qpos[1];
    obs[2] = (float)(e->target[0] - f[0]);
    obs[3] = (float)(e->target[1] - f[1]);
    obs[4] = (float)d->qvel[0];
    obs[5] = (float)d->qvel[1];
}

static double re_reward(const mjenv_shared *sh, const mjenv_inst *e)
{
    const mjtNum *f = e->d->geom_xpos + 3 * sh->id[RE_FINGER];
    double dx = e->target[0] - f[0], dy = e->target[1] - f[1], dz = e->target[2] - f[2];
    return mjt_reacher_reward(sqrt(dx * dx + dy * dy + dz * dz), sh->task->param[0]);
}

static const mjenv_task re_easy_task = {
    .model_file = "reacher.xml",
    .control_dt = 0.02,
    .obs_dim = 6,
    .act_dim = 2,
    .param = {0.05},
    .prepare = re_prepare,
    .reset = re_reset,
    .observe = re_observe,
    .reward = re_reward,
};

static const mjenv_task re_hard_task = {
    .model_file = "reacher.xml",
    .control_dt = 0.02,
    .obs_dim = 6,
    .act_dim = 2,
    .param = {0.015},
    .prepare = re_prepare,
    .reset = re_reset,
    .observe = re_observe,
    .reward = re_reward,
};

static int re_open_easy(void **user, const char *model_dir, char *err, size_t errlen)
{
    return mjenv_open(user, model_dir, err, errlen, &re_easy_task);
}

static int re_open_hard(void **user, const char *model_dir, char *err, size_t errlen)
{
    return mjenv_open(user, model_dir, err, errlen, &re_hard_task);
}

static const fpo_env_table re_table = MJENV_TABLE(6, 2);

const task_info task_reacher_easy = {
    .name = "reacher-easy",
    .description = "DM Control reacher easy: touch a 5 cm target (MuJoCo, 1000 steps)",
    .open = re_open_easy,
    .close = mjenv_close,
    .table = &re_table,
    .defaults = MJENV_DEFAULTS,
};

const task_info task_reacher_hard = {
    .name = "reacher-hard",
    .description = "DM Control reacher hard: touch a 1.5 cm target (MuJoCo, 1000 steps)",
    .open = re_open_hard,
    .close = mjenv_close,
    .table = &re_table,
    .defaults = MJENV_DEFAULTS,
};
