/* cheetah-run (dm_control cheetah, run task) on models/cheetah.xml.
 *
 * Control step 0.01 s = 1 physics step. Observation (17): qpos[1:] (8: root
 * z, root pitch, 6 leg joints; the root x is left out), qvel (9).
 * Reset: every limited joint ~ U(its range), then 200 physics steps with zero
 * control to let the body settle, time set back to 0.
 * Reward: tol(vx, (10, inf), margin 10, value_at_margin 0, linear) =
 * clip(vx / 10, 0, 1), vx = the torso subtree's linear velocity along x
 * (sensor torso_subtreelinvel). */
#include "mjenv.h"
#include "tolerance.h"

#define CH_RUN_SPEED 10.0
#define CH_SETTLE_STEPS 200

enum { CH_SENSOR_ADR };

double mjt_cheetah_reward(double vx)
{
    return tolerance(vx, CH_RUN_SPEED, INFINITY, CH_RUN_SPEED, TOL_LINEAR, 0.0);
}

static int ch_prepare(mjenv_shared *sh, char *err, size_t errlen)
{
    int s = mjenv_id(sh->m, mjOBJ_SENSOR, "torso_subtreelinvel", err, errlen);
    if (s < 0)
        return 1;
    sh->id[CH_SENSOR_ADR] = sh->m->sensor_adr[s];
    return 0;
}

static int ch_reset(const mjenv_shared *sh, mjenv_inst *e)
{
    const mjModel *m = sh->m;
    mjData *d = e->d;
    for (int j = 0; j < m->njnt; j++)
        if (m->jnt_limited[j])
            d->qpos[m->jnt_qposadr[j]] =
                mjenv_uniform(e, m->jnt_range[2 * j], m->jnt_range[2 * j + 1]);
    for (int k = 0; k < CH_SETTLE_STEPS; k++)
        mj_step(m, d);
    d->time = 0.0;
    return 0;
}

static void ch_observe(const mjenv_shared *sh, const mjenv_inst *e, float *obs)
{
    const mjModel *m = sh->m;
    const mjData *d = e->d;
    for (int i = 1; i < m->nq; i++)
        obs[i - 1] = (float)d->qpos[i];
    for (int i = 0; i < m->nv; i++)
        obs[m->nq - 1 + i] = (float)d->qvel[i];
}

static double ch_reward(const mjenv_shared *sh, const mjenv_inst *e)
{
    return mjt_cheetah_reward(e->d->sensordata[sh->id[CH_SENSOR_ADR]]);
}

static const mjenv_task ch_task = {
    .model_file = "cheetah.xml",
    .control_dt = 0.01,
    .obs_dim = 17,
    .act_dim = 6,
    .prepare = ch_prepare,
    .reset = ch_reset,
    .observe = ch_observe,
    .reward = ch_reward,
};

static int ch_open(void **user, const char *model_dir, char *err, size_t errlen)
{
    return mjenv_open(user, model_dir, err, errlen, &ch_task);
}

static const fpo_env_table ch_table = MJENV_TABLE(17, 6);

const task_info task_cheetah_run = {
    .name = "cheetah-run",
    .description = "DM Control cheetah run: run forward at up to 10 m/s (MuJoCo, 1000 steps)",
    .open = ch_open,
    .close = mjenv_close,
    .table = &ch_table,
    /* MJENV_DEFAULTS with a small adaptive anchor (0.03, drift 1.2). Without
     * an anchor cheetah-run's CFM loss crept at 16M steps (3.7x and 6.7x its
     * first on seeds 2-3, seed 2 stopped by the guard); with the default's
     * fixed 0.1 it learned slowly, and the adaptive 0.1 cost seed 3 a third of
     * its return when it came on in full. With this one, seeds 1-3 at 16M:
     * best/final 653/652, 797/761, 810/806, CFM loss peak 1.04x-1.44x its
     * first, evaluation (deterministic) 683/847/856 against 615/661/687
     * without (docs/stability.md, "cheetah-run: a small adaptive anchor"). */
    .defaults = {MJENV_DEFAULT_FIELDS, .anchor = 0.03f, .anchor_drift = 1.2f},
};
