/* Shared scaffolding of the MuJoCo example tasks: see mjenv.h.
 *
 * Training defaults (MJENV_DEFAULTS), chosen for a CPU budget:
 *  - 16 envs x 64 steps = 1024 transitions per iteration, 8 minibatches,
 *    4 epochs (2 for FPO: docs/stability.md, "Two epochs"), 2M env steps;
 *    gamma 0.995, lambda 0.95, lr 3e-4 (the reference's values), FPO's
 *    lr 1e-3 (at 3e-4 its ratios hardly reached the clip: docs/results.md,
 *    "FPO's learning rate"; point-mass keeps its own 1e-4);
 *  - reward_scale 1: per-step rewards are in [0, 1] and returns up to 1000.
 *    The reference (Playground/Brax) scales by 10; with per-minibatch
 *    advantage normalization the scale only changes the critic's targets,
 *    and unscaled targets (values <= 200 at gamma 0.995) are quicker for a
 *    small critic to reach. Use --reward-scale 10 to match the reference;
 *  - FPO clip 0.05, Gaussian PPO clip 0.1 (SPEC.md), N_mc 8, eps-MSE;
 *  - actor 4 x 32 SiLU (the reference), critic 3 x 128 SiLU (the reference
 *    uses 5 x 256; smaller here for CPU time);
 *  - Gaussian PPO: learned std, entropy 0.01; 5 evaluation episodes. */
#include "mjenv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mujoco/mjenv_config.h"

#define MJENV_PI 3.14159265358979323846

/* ---- RNG: splitmix64-seeded xoshiro256** ---------------------------------- */

static uint64_t mjenv_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t mjenv_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t mjenv_next(mjenv_inst *e)
{
    uint64_t *s = e->rng;
    uint64_t r = mjenv_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = mjenv_rotl(s[3], 45);
    return r;
}

static void mjenv_seed(mjenv_inst *e, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < 4; i++)
        e->rng[i] = mjenv_splitmix(&s);
}

double mjenv_uniform(mjenv_inst *e, double lo, double hi)
{
    double u = (double)(mjenv_next(e) >> 11) * (1.0 / 9007199254740992.0);
    return lo + (hi - lo) * u;
}

double mjenv_normal(mjenv_inst *e)
{
    /* Box-Muller; u1 in (0, 1] */
    double u1 = 1.0 - mjenv_uniform(e, 0.0, 1.0);
    double u2 = mjenv_uniform(e, 0.0, 1.0);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * MJENV_PI * u2);
}

void mjenv_randomize_joints(const mjModel *m, mjenv_inst *e)
{
    mjtNum *qpos = e->d->qpos;
    for (int j = 0; j < m->njnt; j++) {
        int a = m->jnt_qposadr[j];
        int type = m->jnt_type[j];
        if (m->jnt_limited[j] && (type == mjJNT_HINGE || type == mjJNT_SLIDE)) {
            qpos[a] = mjenv_uniform(e, m->jnt_range[2 * j], m->jnt_range[2 * j + 1]);
        } else if (type == mjJNT_HINGE) {
            qpos[a] = mjenv_uniform(e, -MJENV_PI, MJENV_PI);
        } else if (type == mjJNT_BALL || type == mjJNT_FREE) {
            int q = type == mjJNT_FREE ? a + 3 : a;
            double n2 = 0.0;
            do {
                n2 = 0.0;
                for (int k = 0; k < 4; k++) {
                    qpos[q + k] = mjenv_normal(e);
                    n2 += qpos[q + k] * qpos[q + k];
                }
            } while (n2 < 1e-12);
            double inv = 1.0 / sqrt(n2);
            for (int k = 0; k < 4; k++)
                qpos[q + k] *= inv;
        }
    }
}

/* ---- helpers ---------------------------------------------------------------- */

static void mjenv_errf(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen > 0)
        snprintf(err, errlen, fmt, a, b);
}

int mjenv_id(const mjModel *m, int type, const char *name, char *err, size_t errlen)
{
    int id = mj_name2id(m, type, name);
    if (id < 0)
        mjenv_errf(err, errlen, "model has no object named '%s'%s", name, "");
    return id;
}

static void mjenv_silent_warning(const char *msg)
{
    (void)msg;
}

/* ---- open / close ------------------------------------------------------------- */

static mjModel *mjenv_load(const char *dir, const char *file, char *err, size_t errlen)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *path = malloc(n);
    if (!path) {
        mjenv_errf(err, errlen, "out of memory%s%s", "", "");
        return NULL;
    }
    snprintf(path, n, "%s/%s", dir, file);
    char msg[1000] = "";
    mjModel *m = mj_loadXML(path, NULL, msg, (int)sizeof msg);
    if (!m) {
        if (err && errlen > 0)
            snprintf(err, errlen, "loading %s: %s", path, msg[0] ? msg : "unknown error");
    }
    free(path);
    return m;
}

static int mjenv_file_exists(const char *dir, const char *file)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

int mjenv_open(void **user, const char *model_dir, char *err, size_t errlen,
               const mjenv_task *task)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!user || !task) {
        mjenv_errf(err, errlen, "invalid arguments%s%s", "", "");
        return 1;
    }
    *user = NULL;
    if (!mju_user_warning)
        mju_user_warning = mjenv_silent_warning;

    const char *dir = model_dir;
    if (!dir) {
        dir = FPO_MJ_MODEL_DIR;
#ifdef FPO_MJ_MODEL_INSTALL_DIR
        if (!mjenv_file_exists(dir, task->model_file) &&
            mjenv_file_exists(FPO_MJ_MODEL_INSTALL_DIR, task->model_file))
            dir = FPO_MJ_MODEL_INSTALL_DIR;
#endif
    } else if (!mjenv_file_exists(dir, task->model_file)) {
        mjenv_errf(err, errlen, "model file %s not found in %s", task->model_file, dir);
        return 1;
    }
    mjModel *m = mjenv_load(dir, task->model_file, err, errlen);
    if (!m)
        return 1;

    mjenv_shared *sh = calloc(1, sizeof *sh);
    if (!sh) {
        mj_deleteModel(m);
        mjenv_errf(err, errlen, "out of memory%s%s", "", "");
        return 1;
    }
    sh->m = m;
    sh->task = task;
    for (int i = 0; i < MJENV_MAX_IDS; i++)
        sh->id[i] = -1;
    double r = task->control_dt / m->opt.timestep;
    sh->repeat = (int)lround(r);
    if (sh->repeat < 1 || fabs(r - sh->repeat) > 1e-6) {
        mjenv_errf(err, errlen, "%s: control dt is not a multiple of the timestep%s",
                   task->model_file, "");
        mjenv_close(sh);
        return 1;
    }
    if (m->nu != task->act_dim) {
        mjenv_errf(err, errlen, "%s: actuator count differs from the task's%s",
                   task->model_file, "");
        mjenv_close(sh);
        return 1;
    }
    if (task->prepare && task->prepare(sh, err, errlen) != 0) {
        mjenv_close(sh);
        return 1;
    }
    *user = sh;
    return 0;
}

void mjenv_close(void *user)
{
    mjenv_shared *sh = user;
    if (!sh)
        return;
    if (sh->m)
        mj_deleteModel(sh->m);
    free(sh);
}

/* ---- table callbacks ------------------------------------------------------------ */

int mjenv_create(void *user, int index, void **env)
{
    (void)index;
    mjenv_shared *sh = user;
    if (!sh || !env)
        return 1;
    mjenv_inst *e = calloc(1, sizeof *e);
    if (!e)
        return 2;
    e->d = mj_makeData(sh->m);
    if (!e->d) {
        free(e);
        return 2;
    }
    *env = e;
    return 0;
}

void mjenv_destroy(void *user, void *env)
{
    (void)user;
    mjenv_inst *e = env;
    if (!e)
        return;
    if (e->d)
        mj_deleteData(e->d);
    free(e);
}

static int mjenv_unstable(const mjData *d)
{
    return d->warning[mjWARN_BADQPOS].number > 0 || d->warning[mjWARN_BADQVEL].number > 0 ||
           d->warning[mjWARN_BADQACC].number > 0;
}

static int mjenv_finite(const float *x, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

int mjenv_reset(void *user, void *env, uint64_t seed, float *obs)
{
    mjenv_shared *sh = user;
    mjenv_inst *e = env;
    if (!sh || !e || !obs)
        return 1;
    const mjModel *m = sh->m;
    mjenv_seed(e, seed);
    mj_resetData(m, e->d);
    e->target[0] = e->target[1] = e->target[2] = 0.0;
    e->running = 0;
    e->t = 0;
    if (sh->task->reset && sh->task->reset(sh, e) != 0)
        return 2;
    mj_forward(m, e->d);
    if (mjenv_unstable(e->d))
        return 3;
    sh->task->observe(sh, e, obs);
    if (!mjenv_finite(obs, sh->task->obs_dim))
        return 3;
    e->running = 1;
    return 0;
}

int mjenv_step(void *user, void *env, const float *action, float *obs, float *reward,
               unsigned *flags)
{
    mjenv_shared *sh = user;
    mjenv_inst *e = env;
    if (!sh || !e || !action || !obs || !reward || !flags)
        return 1;
    if (!e->running)
        return 2; /* no episode running: reset first */
    const mjModel *m = sh->m;
    mjData *d = e->d;
    for (int i = 0; i < m->nu; i++) {
        double a = (double)action[i];
        if (!isfinite(a))
            return 3;
        d->ctrl[i] = a < -1.0 ? -1.0 : (a > 1.0 ? 1.0 : a);
    }
    if (m->opt.integrator == mjINT_RK4) {
        for (int k = 0; k < sh->repeat; k++)
            mj_step(m, d);
    } else {
        /* positions and velocities are current (mj_forward at reset or
         * mj_step1 below): finish this step, then take the others whole */
        mj_step2(m, d);
        for (int k = 1; k < sh->repeat; k++)
            mj_step(m, d);
    }
    mj_step1(m, d);
    e->t++;

    unsigned f = 0;
    double r = 0.0;
    int bad = mjenv_unstable(d);
    if (!bad) {
        sh->task->observe(sh, e, obs);
        r = sh->task->reward(sh, e);
        bad = !mjenv_finite(obs, sh->task->obs_dim) || !isfinite(r);
    }
    if (bad) {
        memset(obs, 0, sizeof(float) * (size_t)sh->task->obs_dim);
        r = 0.0;
        f |= FPO_STEP_TERMINATED;
        e->running = 0;
    }
    if (e->t >= MJENV_MAX_STEPS) {
        f |= FPO_STEP_TRUNCATED;
        e->running = 0;
    }
    *reward = (float)r;
    *flags = f;
    return 0;
}
