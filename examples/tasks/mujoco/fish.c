/* fish-swim (dm_control fish, swim task) on models/fish.xml.
 *
 * Control step 0.04 s = 20 physics steps of 0.002 s. Observation (24):
 * torso upright (zz of the torso frame, 1), the 7 joint angles qpos[7:] (in
 * model order: finright roll/pitch, finleft roll/pitch, tail1, tail2,
 * tail_twist), mouth -> target in the mouth frame (3), qvel (13).
 * Reset: torso orientation uniform (normalized 4-d Gaussian), joint angles ~
 * U(-.2, .2), velocities 0; the target (a mocap body, so per-instance in
 * mjData) at x, y ~ U(-.4, .4), z ~ U(.1, .3).
 * Reward: (7 tol(|mouth -> target|, (0, .045), margin .09) + (zz + 1)/2)/8,
 * .045 = mouth radius .005 + target radius .04 (gaussian, value .1). */
#include <math.h>
#include <stdio.h>

#include "mjenv.h"
#include "tolerance.h"

#define FS_RADII 0.045

enum { FS_TORSO, FS_MOUTH, FS_TARGET, FS_MOCAP };

double mjt_fish_reward(double dist, double zz)
{
    double in_target = tolerance(dist, 0.0, FS_RADII, 2.0 * FS_RADII, TOL_GAUSSIAN, TOL_VAM);
    double upright = 0.5 * (zz + 1.0);
    return (7.0 * in_target + upright) / 8.0;
}

static int fs_prepare(mjenv_shared *sh, char *err, size_t errlen)
{
    const mjModel *m = sh->m;
    int tb;
    if ((sh->id[FS_TORSO] = mjenv_id(m, mjOBJ_BODY, "torso", err, errlen)) < 0 ||
        (sh->id[FS_MOUTH] = mjenv_id(m, mjOBJ_GEOM, "mouth", err, errlen)) < 0 ||
        (sh->id[FS_TARGET] = mjenv_id(m, mjOBJ_GEOM, "target", err, errlen)) < 0 ||
        (tb = mjenv_id(m, mjOBJ_BODY, "target", err, errlen)) < 0)
        return 1;
    sh->id[FS_MOCAP] = m->body_mocapid[tb];
    if (sh->id[FS_MOCAP] < 0 || m->nq != 14 || m->nv != 13) {
        if (err && errlen > 0)
            snprintf(err, errlen, "fish.xml: expected a mocap target and nq 14, nv 13");
        return 1;
    }
    return 0;
}

static int fs_reset(const mjenv_shared *sh, mjenv_inst *e)
{
    const mjModel *m = sh->m;
    mjData *d = e->d;
    double q[4], n2;
    do {
        n2 = 0.0;
        for (int k = 0; k < 4; k++) {
            q[k] = mjenv_normal(e);
            n2 += q[k] * q[k];
        }
    } while (n2 < 1e-12);
    for (int k = 0; k < 4; k++)
        d->qpos[3 + k] = q[k] / sqrt(n2);
    for (int i = 7; i < m->nq; i++)
        d->qpos[i] = mjenv_uniform(e, -0.2, 0.2);
    mjtNum *t = d->mocap_pos + 3 * sh->id[FS_MOCAP];
    t[0] = mjenv_uniform(e, -0.4, 0.4);
    t[1] = mjenv_uniform(e, -0.4, 0.4);
    t[2] = mjenv_uniform(e, 0.1, 0.3);
    return 0;
}

/* mouth -> target in the mouth frame */
static void fs_mouth_to_target(const mjenv_shared *sh, const mjData *d, double out[3])
{
    const mjtNum *mo = d->geom_xpos + 3 * sh->id[FS_MOUTH];
    const mjtNum *ta = d->geom_xpos + 3 * sh->id[FS_TARGET];
    const mjtNum *R = d->geom_xmat + 9 * sh->id[FS_MOUTH];
    double g[3] = {ta[0] - mo[0], ta[1] - mo[1], ta[2] - mo[2]};
    for (int i = 0; i < 3; i++)
        out[i] = g[0] * R[i] + g[1] * R[3 + i] + g[2] * R[6 + i];
}

static void fs_observe(const mjenv_shared *sh, const mjenv_inst *e, float *obs)
{
    const mjModel *m = sh->m;
    const mjData *d = e->d;
    double v[3];
    obs[0] = (float)d->xmat[9 * sh->id[FS_TORSO] + 8];
    for (int i = 7; i < m->nq; i++)
        obs[1 + i - 7] = (float)d->qpos[i];
    fs_mouth_to_target(sh, d, v);
    obs[8] = (float)v[0];
    obs[9] = (float)v[1];
    obs[10] = (float)v[2];
    for (int i = 0; i < m->nv; i++)
        obs[11 + i] = (float)d->qvel[i];
}

static double fs_reward(const mjenv_shared *sh, const mjenv_inst *e)
{
    double v[3];
    fs_mouth_to_target(sh, e->d, v);
    return mjt_fish_reward(sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]),
                           e->d->xmat[9 * sh->id[FS_TORSO] + 8]);
}

static const mjenv_task fs_task = {
    .model_file = "fish.xml",
    .control_dt = 0.04,
    .obs_dim = 24,
    .act_dim = 5,
    .prepare = fs_prepare,
    .reset = fs_reset,
    .observe = fs_observe,
    .reward = fs_reward,
};

static int fs_open(void **user, const char *model_dir, char *err, size_t errlen)
{
    return mjenv_open(user, model_dir, err, errlen, &fs_task);
}

static const fpo_env_table fs_table = MJENV_TABLE(24, 5);

const task_info task_fish_swim = {
    .name = "fish-swim",
    .description = "DM Control fish swim: swim the mouth to the target (MuJoCo, 1000 steps)",
    .open = fs_open,
    .close = mjenv_close,
    .table = &fs_table,
    .defaults = MJENV_DEFAULTS,
};
