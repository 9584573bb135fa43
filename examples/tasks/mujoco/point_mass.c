/* point-mass (dm_control point_mass, easy task) on models/point_mass.xml.
 *
 * Control step 0.02 s = 1 physics step. Observation (4): qpos (x, y),
 * qvel. Reset: x, y ~ U(-0.29, 0.29) (the joint ranges), qvel 0; the target
 * is fixed at the origin. Reward:
 *   tol(dist, (0, .015), margin .015) * (4 + mean_i tol(u_i, margin 1,
 *   value_at_margin 0, quadratic)) / 5
 * with dist the distance between the mass and target centres. */
#include <math.h>

#include "mjenv.h"
#include "tolerance.h"

#define PM_TARGET_SIZE 0.015

enum { PM_MASS, PM_TARGET };

double mjt_point_mass_reward(double dist, const double *u)
{
    double near = tolerance(dist, 0.0, PM_TARGET_SIZE, PM_TARGET_SIZE, TOL_GAUSSIAN, TOL_VAM);
    double c = 0.5 * (tolerance(u[0], 0.0, 0.0, 1.0, TOL_QUADRATIC, 0.0) +
                      tolerance(u[1], 0.0, 0.0, 1.0, TOL_QUADRATIC, 0.0));
    return near * (4.0 + c) / 5.0;
}

static int pm_prepare(mjenv_shared *sh, char *err, size_t errlen)
{
    if ((sh->id[PM_MASS] = mjenv_id(sh->m, mjOBJ_GEOM, "pointmass", err, errlen)) < 0 ||
        (sh->id[PM_TARGET] = mjenv_id(sh->m, mjOBJ_GEOM, "target", err, errlen)) < 0)
        return 1;
    return 0;
}

static int pm_reset(const mjenv_shared *sh, mjenv_inst *e)
{
    mjenv_randomize_joints(sh->m, e);
    return 0;
}

static void pm_observe(const mjenv_shared *sh, const mjenv_inst *e, float *obs)
{
    (void)sh;
    const mjData *d = e->d;
    obs[0] = (float)d->qpos[0];
    obs[1] = (float)d->qpos[1];
    obs[2] = (float)d->qvel[0];
    obs[3] = (float)d->qvel[1];
}

static double pm_reward(const mjenv_shared *sh, const mjenv_inst *e)
{
    const mjData *d = e->d;
    const mjtNum *a = d->geom_xpos + 3 * sh->id[PM_MASS];
    const mjtNum *b = d->geom_xpos + 3 * sh->id[PM_TARGET];
    double dx = b[0] - a[0], dy = b[1] - a[1], dz = b[2] - a[2];
    double u[2] = {d->ctrl[0], d->ctrl[1]};
    return mjt_point_mass_reward(sqrt(dx * dx + dy * dy + dz * dz), u);
}

static const mjenv_task pm_task = {
    .model_file = "point_mass.xml",
    .control_dt = 0.02,
    .obs_dim = 4,
    .act_dim = 2,
    .prepare = pm_prepare,
    .reset = pm_reset,
    .observe = pm_observe,
    .reward = pm_reward,
};

static int pm_open(void **user, const char *model_dir, char *err, size_t errlen)
{
    return mjenv_open(user, model_dir, err, errlen, &pm_task);
}

static const fpo_env_table pm_table = MJENV_TABLE(4, 2);

const task_info task_point_mass = {
    .name = "point-mass",
    .description = "DM Control point_mass easy: bring the mass to the target (MuJoCo, 1000 steps)",
    .open = pm_open,
    .close = mjenv_close,
    .table = &pm_table,
    /* MJENV_DEFAULTS with lr 1e-4 instead of 3e-4 (docs/results.md): at 3e-4 FPO's updates
     * diverged here (approx_kl up to inf, CFM loss ~1e3, the actor frozen afterwards) and
     * its sampled return stayed ~10 at 1M steps; at 1e-4 it reached ~440, while Gaussian
     * PPO was unchanged (~850 either way). */
    .defaults =
        {
            .num_envs = 16, .horizon = 64, .steps = 2000000, .gamma = 0.995f,
            .gae_lambda = 0.95f, .lr = 1e-4f, .reward_scale = 1.0f, .clip_fpo = 0.05f,
            .clip_ppo = 0.1f, .epochs = 4, .epochs_fpo = 2, .minibatches = 8, .n_mc = 8,
            .actor_layers = 4, .actor_hidden = 32, .actor_act = FPO_ACT_SILU,
            .critic_layers = 3, .critic_hidden = 128, .critic_act = FPO_ACT_SILU,
            .cfm = FPO_CFM_EPS, .ratio = FPO_RATIO_PER_SAMPLE, .aspo = 1, .gauss_fixed_std = 0.0f, .entropy_coef = 0.01f,
            .eval_episodes = 5,
        },
};
