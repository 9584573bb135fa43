/* cartpole-balance (dm_control cartpole, balance task) on models/cartpole.xml.
 *
 * Control step 0.01 s = 1 RK4 step. Observation (5): cart x, cos th, sin th,
 * qvel (cart velocity, pole angular velocity); th = 0 is upright.
 * Reset: cart x ~ U(-0.1, 0.1), th ~ U(-0.034, 0.034), qvel ~ 0.01 N(0, 1).
 * Reward: upright * centered * small_control * small_velocity with
 *   upright        = (cos th + 1) / 2
 *   centered       = (1 + tol(x, margin 2)) / 2
 *   small_control  = (4 + tol(u, margin 1, value_at_margin 0, quadratic)) / 5
 *   small_velocity = (1 + tol(thdot, margin 5)) / 2
 * (tol bounds (0, 0), gaussian with value_at_margin 0.1 unless stated). */
#include <math.h>

#include "mjenv.h"
#include "tolerance.h"

enum { CP_SLIDER, CP_HINGE };

double mjt_cartpole_reward(double x, double cos_th, double thdot, double u)
{
    double upright = (cos_th + 1.0) / 2.0;
    double centered = (1.0 + tolerance(x, 0.0, 0.0, 2.0, TOL_GAUSSIAN, TOL_VAM)) / 2.0;
    double small_control = (4.0 + tolerance(u, 0.0, 0.0, 1.0, TOL_QUADRATIC, 0.0)) / 5.0;
    double small_velocity = (1.0 + tolerance(thdot, 0.0, 0.0, 5.0, TOL_GAUSSIAN, TOL_VAM)) / 2.0;
    return upright * centered * small_control * small_velocity;
}

static int cp_prepare(mjenv_shared *sh, char *err, size_t errlen)
{
    if ((sh->id[CP_SLIDER] = mjenv_id(sh->m, mjOBJ_JOINT, "slider", err, errlen)) < 0 ||
        (sh->id[CP_HINGE] = mjenv_id(sh->m, mjOBJ_JOINT, "hinge_1", err, errlen)) < 0)
        return 1;
    return 0;
}

static int cp_reset(const mjenv_shared *sh, mjenv_inst *e)
{
    const mjModel *m = sh->m;
    mjData *d = e->d;
    d->qpos[m->jnt_qposadr[sh->id[CP_SLIDER]]] = mjenv_uniform(e, -0.1, 0.1);
    d->qpos[m->jnt_qposadr[sh->id[CP_HINGE]]] = mjenv_uniform(e, -0.034, 0.034);
    for (int i = 0; i < m->nv; i++)
        d->qvel[i] = 0.01 * mjenv_normal(e);
    return 0;
}

static void cp_observe(const mjenv_shared *sh, const mjenv_inst *e, float *obs)
{
    const mjModel *m = sh->m;
    const mjData *d = e->d;
    double th = d->qpos[m->jnt_qposadr[sh->id[CP_HINGE]]];
    obs[0] = (float)d->qpos[m->jnt_qposadr[sh->id[CP_SLIDER]]];
    obs[1] = (float)cos(th);
    obs[2] = (float)sin(th);
    obs[3] = (float)d->qvel[m->jnt_dofadr[sh->id[CP_SLIDER]]];
    obs[4] = (float)d->qvel[m->jnt_dofadr[sh->id[CP_HINGE]]];
}

static double cp_reward(const mjenv_shared *sh, const mjenv_inst *e)
{
    const mjModel *m = sh->m;
    const mjData *d = e->d;
    return mjt_cartpole_reward(d->qpos[m->jnt_qposadr[sh->id[CP_SLIDER]]],
                               cos(d->qpos[m->jnt_qposadr[sh->id[CP_HINGE]]]),
                               d->qvel[m->jnt_dofadr[sh->id[CP_HINGE]]], d->ctrl[0]);
}

static const mjenv_task cp_task = {
    .model_file = "cartpole.xml",
    .control_dt = 0.01,
    .obs_dim = 5,
    .act_dim = 1,
    .prepare = cp_prepare,
    .reset = cp_reset,
    .observe = cp_observe,
    .reward = cp_reward,
};

static int cp_open(void **user, const char *model_dir, char *err, size_t errlen)
{
    return mjenv_open(user, model_dir, err, errlen, &cp_task);
}

static const fpo_env_table cp_table = MJENV_TABLE(5, 1);

const task_info task_cartpole_balance = {
    .name = "cartpole-balance",
    .description = "DM Control cartpole balance: keep the pole upright (MuJoCo, 1000 steps)",
    .open = cp_open,
    .close = mjenv_close,
    .table = &cp_table,
    .defaults = MJENV_DEFAULTS,
};
