/* bench_mujoco: what one environment step of each MuJoCo example task costs,
 * level by level, so libfpo's own share can be read against MuJoCo's:
 *
 *   mj_step    raw physics: ctrl set, then the task's `repeat` mj_step calls
 *              per control step (mjData per environment, reset every 1000
 *              control steps with mj_resetData + mj_forward);
 *   host       the task's fpo_env_table callbacks called directly, one
 *              thread: physics + observation + reward + episode resets
 *              (what any host pays for its simulator);
 *   vecenv     the same environments through fpo_vecenv_step on the
 *              caller's thread: the library's env stepping (action clipping,
 *              NaN/Inf checks, episode statistics, auto-reset);
 *   vecenv x2  fpo_vecenv_step with 2 worker threads;
 *   act+step   fpo_sampler_act of the task's default FPO policy (10 Euler
 *              steps of the 4x32 actor, random initial noise) for the whole
 *              batch, then fpo_vecenv_step, one thread: a training rollout
 *              without the buffer (or a deployment loop).
 *
 * Every level steps 16 environments with the same action sequence for the
 * same number of environment steps; each level runs REPS times, alternating,
 * after one uncounted warm-up round, and the median is printed in microseconds per env step. The library's
 * overhead is vecenv - host (the callbacks are the host's code, not the
 * library's), printed also as a share of the raw mj_step cost.
 *
 * Usage: bench_mujoco [env steps per level (default 16000)] [reps (3)] [task...]
 * (tasks: the MuJoCo tasks of `fpo-train --list`; default all). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mujoco/mujoco.h>

#include <fpo/fpo.h>

#include "mujoco/humanoid.h"
#include "mujoco/mjenv.h"
#include "task.h"
#include "task_config.h"

#define NENV 16
#define MAXREPS 15

enum { L_RAW, L_HOST, L_VEC1, L_VEC2, L_ACT, NLEVELS };
static const char *level_names[NLEVELS] = {"mj_step", "host", "vecenv", "vecenv x2", "act+step"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The action of environment e at control step k, dimension i: a fixed
 * smooth pattern in [-0.9, 0.9], the same at every level. */
static void actions_at(float *a, int ad, int k)
{
    for (int e = 0; e < NENV; e++)
        for (int i = 0; i < ad; i++)
            a[e * ad + i] = 0.9f * sinf(0.37f * (float)k + 1.3f * (float)i + 0.7f * (float)e);
}

typedef struct bench {
    const task_info *task;
    void *user;
    const mjenv_shared *sh;
    int od, ad, steps; /* steps per environment */
    float *obs, *act, *rew, *final_obs;
    unsigned *flags;
} bench;

static int run_raw(bench *b, double *secs)
{
    const mjModel *m = b->sh->m;
    mjData *d[NENV];
    for (int e = 0; e < NENV; e++) {
        if (!(d[e] = mj_makeData(m))) {
            while (e--)
                mj_deleteData(d[e]);
            return 1;
        }
        mj_forward(m, d[e]);
    }
    double t0 = now();
    for (int k = 0; k < b->steps; k++) {
        actions_at(b->act, b->ad, k);
        for (int e = 0; e < NENV; e++) {
            if (k % MJENV_MAX_STEPS == 0 && k > 0) {
                mj_resetData(m, d[e]);
                mj_forward(m, d[e]);
            }
            for (int i = 0; i < m->nu; i++)
                d[e]->ctrl[i] = b->act[e * b->ad + i];
            for (int r = 0; r < b->sh->repeat; r++)
                mj_step(m, d[e]);
        }
    }
    *secs = now() - t0;
    for (int e = 0; e < NENV; e++)
        mj_deleteData(d[e]);
    return 0;
}

static int run_host(bench *b, double *secs)
{
    const fpo_env_table *t = b->task->table;
    void *env[NENV] = {0};
    int rc = 0;
    uint64_t episode = 1;
    for (int e = 0; e < NENV && !rc; e++)
        rc = t->create(b->user, e, &env[e]) || t->reset(b->user, env[e], episode++, b->obs + e * b->od);
    double t0 = now();
    for (int k = 0; k < b->steps && !rc; k++) {
        actions_at(b->act, b->ad, k);
        for (int e = 0; e < NENV && !rc; e++) {
            float *o = b->obs + e * b->od;
            rc = t->step(b->user, env[e], b->act + e * b->ad, o, &b->rew[e], &b->flags[e]);
            if (!rc && b->flags[e])
                rc = t->reset(b->user, env[e], episode++, o);
        }
    }
    *secs = now() - t0;
    for (int e = 0; e < NENV; e++)
        if (env[e] && t->destroy)
            t->destroy(b->user, env[e]);
    return rc;
}

static int run_vec(bench *b, int threads, int act, double *secs)
{
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = b->task->table;
    vc.user = b->user;
    vc.num_envs = NENV;
    vc.threads = threads;
    vc.seed = 1;
    fpo_vecenv *v = NULL;
    fpo_policy *p = NULL;
    fpo_sampler *s = NULL;
    int rc = fpo_vecenv_create(&v, &vc);
    if (!rc && act) {
        fpo_policy_config pc;
        task_default_configs(b->task, TASK_PRESET_CPU, FPO_ALGO_FPO, &pc, NULL, NULL);
        pc.obs_dim = b->od;
        pc.act_dim = b->ad;
        pc.action_low = b->task->table->action_low;
        pc.action_high = b->task->table->action_high;
        if (!(rc = fpo_policy_create(&p, &pc))) {
            fpo_sampler_config sc;
            fpo_sampler_config_init(&sc);
            sc.max_batch = NENV; /* Euler, 10 steps, random initial noise: the rollout's */
            sc.seed = 1;
            rc = fpo_sampler_create(&s, p, &sc);
        }
    }
    if (!rc)
        rc = fpo_vecenv_reset(v, b->obs);
    double t0 = now();
    for (int k = 0; k < b->steps && !rc; k++) {
        if (act)
            rc = fpo_sampler_act(s, p, b->obs, NENV, b->act, NULL);
        else
            actions_at(b->act, b->ad, k);
        if (!rc)
            rc = fpo_vecenv_step(v, b->act, b->obs, b->rew, b->flags, b->final_obs);
    }
    *secs = now() - t0;
    if (rc)
        fprintf(stderr, "bench_mujoco: %s: %s\n", b->task->name,
                v ? fpo_vecenv_errmsg(v) : fpo_last_errmsg());
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
    fpo_vecenv_destroy(v);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench_task(const task_info *task, int total, int reps)
{
    bench b = {.task = task};
    char err[256];
    if (task->open(&b.user, NULL, err, sizeof err)) {
        fprintf(stderr, "bench_mujoco: %s: %s\n", task->name, err);
        return 1;
    }
    b.sh = strcmp(task->name, "humanoid-root-goal") == 0 ? humanoid_shared(b.user)
                                                          : (const mjenv_shared *)b.user;
    b.od = task->table->obs_dim;
    b.ad = task->table->act_dim;
    b.steps = (total + NENV - 1) / NENV;
    b.obs = calloc((size_t)NENV * (size_t)b.od, sizeof(float));
    b.final_obs = calloc((size_t)NENV * (size_t)b.od, sizeof(float));
    b.act = calloc((size_t)NENV * (size_t)b.ad, sizeof(float));
    b.rew = calloc(NENV, sizeof(float));
    b.flags = calloc(NENV, sizeof(unsigned));
    int rc = !b.obs || !b.final_obs || !b.act || !b.rew || !b.flags;
    double t[NLEVELS][MAXREPS + 1];
    /* Round 0 warms caches and page tables up and is not counted. */
    for (int r = 0; r <= reps && !rc; r++) {
        rc = run_raw(&b, &t[L_RAW][r]) || run_host(&b, &t[L_HOST][r]) ||
             run_vec(&b, 1, 0, &t[L_VEC1][r]) || run_vec(&b, 2, 0, &t[L_VEC2][r]) ||
             run_vec(&b, 1, 1, &t[L_ACT][r]);
    }
    if (!rc) {
        double us[NLEVELS], n = (double)b.steps * NENV;
        for (int l = 0; l < NLEVELS; l++) {
            qsort(t[l] + 1, (size_t)reps, sizeof(double), cmp_double);
            us[l] = 1e6 * t[l][1 + reps / 2] / n;
        }
        printf("%-20s %3d %9.2f %9.2f %9.2f %9.2f %9.2f | %+7.3f us (%+5.1f%% of mj_step) | x2 speedup %.2f | mj_step %6.0f/s\n",
               task->name, b.sh->repeat, us[L_RAW], us[L_HOST], us[L_VEC1], us[L_VEC2], us[L_ACT],
               us[L_VEC1] - us[L_HOST], 100.0 * (us[L_VEC1] - us[L_HOST]) / us[L_RAW],
               us[L_VEC1] / us[L_VEC2], 1e6 / us[L_RAW] * b.sh->repeat);
        fflush(stdout);
    } else {
        fprintf(stderr, "bench_mujoco: %s failed\n", task->name);
    }
    free(b.obs);
    free(b.final_obs);
    free(b.act);
    free(b.rew);
    free(b.flags);
    task->close(b.user);
    return rc;
}

int main(int argc, char **argv)
{
    int total = argc > 1 ? atoi(argv[1]) : 16000;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    if (total < NENV || reps < 1 || reps > MAXREPS) {
        fprintf(stderr, "usage: bench_mujoco [env steps per level >= %d] [reps 1..%d] [task...]\n",
                NENV, MAXREPS);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        const task_info *t = task_find(argv[i]);
        int mj = 0;
        for (int k = 0; t && k < task_mujoco_count; k++)
            mj |= task_mujoco_list[k] == t;
        if (!mj) {
            fprintf(stderr, "bench_mujoco: %s is not a MuJoCo task\n", argv[i]);
            return 2;
        }
    }
    printf("bench_mujoco: %d environments, %d env steps per level, median of %d; microseconds per env step\n",
           NENV, (total + NENV - 1) / NENV * NENV, reps);
    printf("%-20s %3s %9s %9s %9s %9s %9s | library overhead = vecenv - host\n", "task", "rep",
           level_names[0], level_names[1], level_names[2], level_names[3], level_names[4]);
    int rc = 0;
    if (argc > 3) {
        for (int i = 3; i < argc; i++)
            rc |= bench_task(task_find(argv[i]), total, reps);
    } else {
        for (int k = 0; k < task_mujoco_count; k++)
            rc |= bench_task(task_mujoco_list[k], total, reps);
    }
    return rc ? 1 : 0;
}
