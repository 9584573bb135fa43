/* ball-in-cup (dm_control ball_in_cup, catch task) on models/ball_in_cup.xml.
 *
 * Control step 0.02 s = 10 physics steps of 0.002 s. Observation (8): qpos
 * (cup x, cup z, ball x, ball z), qvel (4). Reset: ball x ~ U(-.2, .2),
 * ball z ~ U(.2, .5) (joint coordinates; the ball body sits at z = .2),
 * redrawn until nothing is in contact (at most 1000 draws).
 * Reward: 1 if |dx| < .025 and |dz| < .025 where (dx, dz) = ball - (cup +
 * target offset (0, -.05)) and .025 = target half size .05 - ball radius
 * .025; else 0. */
#include <math.h>

#include "mjenv.h"
#include "tolerance.h"

#define BC_MAX_DRAWS 1000

enum { BC_CUP, BC_BALL, BC_TARGET, BC_BALL_GEOM, BC_BALL_X, BC_BALL_Z };

double mjt_ball_in_cup_reward(double dx, double dz)
{
    const double lim = 0.05 - 0.025;
    return (fabs(dx) < lim && fabs(dz) < lim) ? 1.0 : 0.0;
}

static int bc_prepare(mjenv_shared *sh, char *err, size_t errlen)
{
    const mjModel *m = sh->m;
    if ((sh->id[BC_CUP] = mjenv_id(m, mjOBJ_BODY, "cup", err, errlen)) < 0 ||
        (sh->id[BC_BALL] = mjenv_id(m, mjOBJ_BODY, "ball", err, errlen)) < 0 ||
        (sh->id[BC_TARGET] = mjenv_id(m, mjOBJ_SITE, "target", err, errlen)) < 0 ||
        (sh->id[BC_BALL_GEOM] = mjenv_id(m, mjOBJ_GEOM, "ball", err, errlen)) < 0 ||
        (sh->id[BC_BALL_X] = mjenv_id(m, mjOBJ_JOINT, "ball_x", err, errlen)) < 0 ||
        (sh->id[BC_BALL_Z] = mjenv_id(m, mjOBJ_JOINT, "ball_z", err, errlen)) < 0)
        return 1;
    return 0;
}

static int bc_reset(const mjenv_shared *sh, mjenv_inst *e)
{
    const mjModel *m = sh->m;
    mjData *d = e->d;
    for (int k = 0; k < BC_MAX_DRAWS; k++) {
        d->qpos[m->jnt_qposadr[sh->id[BC_BALL_X]]] = mjenv_uniform(e, -0.2, 0.2);
        d->qpos[m->jnt_qposadr[sh->id[BC_BALL_Z]]] = mjenv_uniform(e, 0.2, 0.5);
        mj_forward(m, d);
        if (d->ncon == 0)
            return 0;
    }
    return 1;
}

static void bc_observe(const mjenv_shared *sh, const mjenv_inst *e, float *obs)
{
    (void)sh;
    const mjData *d = e->d;
    for (int i = 0; i < 4; i++) {
        obs[i] = (float)d->qpos[i];
        obs[4 + i] = (float)d->qvel[i];
    }
}

static double bc_reward(const mjenv_shared *sh, const mjenv_inst *e)
{
    const mjModel *m = sh->m;
    const mjData *d = e->d;
    const mjtNum *cup = d->xpos + 3 * sh->id[BC_CUP];
    const mjtNum *ball = d->xpos + 3 * sh->id[BC_BALL];
    const mjtNum *off = m->site_pos + 3 * sh->id[BC_TARGET];
    return mjt_ball_in_cup_reward(ball[0] - (cup[0] + off[0]), ball[2] - (cup[2] + off[2]));
}

static const mjenv_task bc_task = {
    .model_file = "ball_in_cup.xml",
    .control_dt = 0.02,
    .obs_dim = 8,
    .act_dim = 2,
    .prepare = bc_prepare,
    .reset = bc_reset,
    .observe = bc_observe,
    .reward = bc_reward,
};

static int bc_open(void **user, const char *model_dir, char *err, size_t errlen)
{
    return mjenv_open(user, model_dir, err, errlen, &bc_task);
}

static const fpo_env_table bc_table = MJENV_TABLE(8, 2);

const task_info task_ball_in_cup = {
    .name = "ball-in-cup",
    .description = "DM Control ball_in_cup catch: swing the ball into the cup (MuJoCo, 1000 steps)",
    .open = bc_open,
    .close = mjenv_close,
    .table = &bc_table,
    .defaults = MJENV_DEFAULTS,
};
