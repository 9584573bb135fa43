/* The MuJoCo example tasks (examples/tasks/mujoco): tolerance(), the reward
 * functions on hand-computed cases, and for each of the ten tasks: loading,
 * dimensions, 1000-step episodes with random actions, finite observations,
 * reproducibility for a seed, and concurrent stepping of two instances. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mujoco/mjenv.h"
#include "mujoco/tolerance.h"
#include "task.h"
#include "task_config.h"
#include "testutil.h"

#define MAXD 32

/* ---- tolerance ------------------------------------------------------------ */

START_TEST(tolerance_bounds_and_margin_zero)
{
    ck_assert_double_eq(tolerance(0.5, 0.0, 1.0, 0.0, TOL_GAUSSIAN, TOL_VAM), 1.0);
    ck_assert_double_eq(tolerance(0.0, 0.0, 1.0, 0.0, TOL_GAUSSIAN, TOL_VAM), 1.0);
    ck_assert_double_eq(tolerance(1.0, 0.0, 1.0, 0.0, TOL_GAUSSIAN, TOL_VAM), 1.0);
    ck_assert_double_eq(tolerance(1.0001, 0.0, 1.0, 0.0, TOL_GAUSSIAN, TOL_VAM), 0.0);
    ck_assert_double_eq(tolerance(-1e-9, 0.0, 1.0, 0.0, TOL_LINEAR, 0.0), 0.0);
    ck_assert_double_eq(tolerance(1e9, 10.0, INFINITY, 10.0, TOL_LINEAR, 0.0), 1.0);
    ck_assert_double_eq(tolerance(-1e9, -INFINITY, 0.0, 1.0, TOL_GAUSSIAN, TOL_VAM), 1.0);
    ck_assert(isnan(tolerance(NAN, 0.0, 1.0, 1.0, TOL_GAUSSIAN, TOL_VAM)));
    ck_assert(isnan(tolerance(2.0, 1.0, 0.0, 1.0, TOL_GAUSSIAN, TOL_VAM)));
    ck_assert(isnan(tolerance(2.0, 0.0, 1.0, 1.0, TOL_GAUSSIAN, 0.0))); /* v = 0: no gaussian */
}
END_TEST

START_TEST(tolerance_sigmoids_hand_computed)
{
    const double v = 0.1;
    /* d = 0.5 on either side: x = 1.5 above [0, 1] or x = -1 below [0, 1] with margin 2 */
    struct {
        tol_sigmoid s;
        double want;
    } c[] = {
        {TOL_GAUSSIAN, 0.5623413251903491},       /* 0.1^(0.25) */
        {TOL_LINEAR, 0.55},                       /* 1 - 0.5 * 0.9 */
        {TOL_QUADRATIC, 0.775},                   /* 1 - 0.25 * 0.9 */
        {TOL_LONG_TAIL, 1.0 / 3.25},              /* 1 / (0.25 * 9 + 1) */
        {TOL_HYPERBOLIC, 0.42640143271122083},    /* 1 / cosh(0.5 acosh 10) */
        {TOL_RECIPROCAL, 1.0 / 5.5},              /* 1 / (0.5 * 9 + 1) */
        {TOL_COSINE, 0.5 * (1.0 + sqrt(0.1))},    /* (1 + cos(acos(-0.8) / 2)) / 2 */
        {TOL_TANH_SQUARED, 0.4805061467040842},   /* 1 - tanh(0.5 atanh sqrt 0.9)^2 */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ck_assert_close(tolerance(1.5, 0.0, 1.0, 1.0, c[i].s, v), c[i].want, 1e-12);
        ck_assert_close(tolerance(-1.0, 0.0, 1.0, 2.0, c[i].s, v), c[i].want, 1e-12);
        /* value_at_margin at d = 1, 1 at d = 0 */
        ck_assert_close(tolerance(3.0, 0.0, 1.0, 2.0, c[i].s, v), v, 1e-12);
        ck_assert_close(tolerance_sigmoid(0.0, c[i].s, v), 1.0, 1e-15);
        /* monotone decreasing in d */
        ck_assert(tolerance_sigmoid(0.7, c[i].s, v) < tolerance_sigmoid(0.6, c[i].s, v));
    }
    /* the bounded sigmoids vanish beyond their support */
    ck_assert_double_eq(tolerance(3.0, 0.0, 0.0, 1.0, TOL_LINEAR, 0.0), 0.0);
    ck_assert_double_eq(tolerance(1.0 / sqrt(0.9) + 1e-9, 0.0, 0.0, 1.0, TOL_QUADRATIC, 0.1), 0.0);
    ck_assert_double_eq(tolerance(1.0, 0.0, 0.0, 1.0, TOL_QUADRATIC, 0.0), 0.0);
    ck_assert_close(tolerance(0.5, 0.0, 0.0, 1.0, TOL_QUADRATIC, 0.0), 0.75, 1e-15);
    ck_assert_double_eq(tolerance(2.0, 0.0, 0.0, 1.0, TOL_COSINE, 0.0), 0.0);
    ck_assert_close(tolerance(0.5, 0.0, 0.0, 1.0, TOL_COSINE, 0.0), 0.5, 1e-15);
    /* cheetah's linear, value 0: clip(v / 10, 0, 1) */
    ck_assert_close(tolerance(3.0, 10.0, INFINITY, 10.0, TOL_LINEAR, 0.0), 0.3, 1e-15);
    ck_assert_double_eq(tolerance(-3.0, 10.0, INFINITY, 10.0, TOL_LINEAR, 0.0), 0.0);
}
END_TEST

/* ---- rewards on physical quantities ------------------------------------------ */

START_TEST(rewards_hand_computed)
{
    /* cartpole: upright centred still -> 1; at every margin: .5 * .55 * .8 * .55 */
    ck_assert_close(mjt_cartpole_reward(0.0, 1.0, 0.0, 0.0), 1.0, 1e-15);
    ck_assert_close(mjt_cartpole_reward(2.0, 0.0, 5.0, 1.0), 0.5 * 0.55 * 0.8 * 0.55, 1e-12);
    ck_assert_close(mjt_cartpole_reward(-2.0, 0.0, -5.0, -1.0), 0.121, 1e-12);
    ck_assert_close(mjt_cartpole_reward(0.0, -1.0, 0.0, 0.0), 0.0, 1e-15);
    /* half control: quadratic 1 - .25 -> (4 + .75) / 5 = .95 */
    ck_assert_close(mjt_cartpole_reward(0.0, 1.0, 0.0, 0.5), 0.95, 1e-12);

    /* point mass: inside the target, no control -> 1; at the margin with u = (1, 0) */
    double u0[2] = {0.0, 0.0}, u1[2] = {1.0, 0.0};
    ck_assert_close(mjt_point_mass_reward(0.01, u0), 1.0, 1e-15);
    ck_assert_close(mjt_point_mass_reward(0.03, u1), 0.1 * 0.9, 1e-12);
    ck_assert_close(mjt_point_mass_reward(0.015, u1), 0.9, 1e-12);

    /* reacher: radius target + .01 */
    ck_assert_double_eq(mjt_reacher_reward(0.059, 0.05), 1.0);
    ck_assert_double_eq(mjt_reacher_reward(0.061, 0.05), 0.0);
    ck_assert_double_eq(mjt_reacher_reward(0.024, 0.015), 1.0);
    ck_assert_double_eq(mjt_reacher_reward(0.026, 0.015), 0.0);

    /* cheetah: clip(vx / 10, 0, 1) */
    ck_assert_close(mjt_cheetah_reward(5.0), 0.5, 1e-15);
    ck_assert_double_eq(mjt_cheetah_reward(12.0), 1.0);
    ck_assert_double_eq(mjt_cheetah_reward(-3.0), 0.0);
    ck_assert_double_eq(mjt_cheetah_reward(0.0), 0.0);

    /* finger */
    ck_assert_double_eq(mjt_finger_spin_reward(-15.0), 1.0);
    ck_assert_double_eq(mjt_finger_spin_reward(-20.0), 1.0);
    ck_assert_double_eq(mjt_finger_spin_reward(-14.9), 0.0);
    ck_assert_double_eq(mjt_finger_spin_reward(15.0), 0.0);
    ck_assert_double_eq(mjt_finger_turn_reward(-0.01), 1.0);
    ck_assert_double_eq(mjt_finger_turn_reward(0.0), 1.0);
    ck_assert_double_eq(mjt_finger_turn_reward(0.001), 0.0);

    /* ball in cup: |dx|, |dz| < .025 */
    ck_assert_double_eq(mjt_ball_in_cup_reward(0.02, -0.02), 1.0);
    ck_assert_double_eq(mjt_ball_in_cup_reward(0.0, 0.0), 1.0);
    ck_assert_double_eq(mjt_ball_in_cup_reward(0.03, 0.0), 0.0);
    ck_assert_double_eq(mjt_ball_in_cup_reward(0.0, -0.026), 0.0);

    /* fish: (7 in_target + (zz + 1) / 2) / 8 */
    ck_assert_close(mjt_fish_reward(0.04, 1.0), 1.0, 1e-15);
    ck_assert_close(mjt_fish_reward(0.135, 0.0), (0.7 + 0.5) / 8.0, 1e-12);
    ck_assert_close(mjt_fish_reward(10.0, -1.0), 0.0, 1e-12);
}
END_TEST

/* ---- the tasks ------------------------------------------------------------------ */

typedef struct task_fact {
    const char *name;
    int obs, act;
} task_fact;

static const task_fact facts[] = {
    {"ball-in-cup", 8, 2},      {"cartpole-balance", 5, 1}, {"cheetah-run", 17, 6},
    {"finger-spin", 9, 2},      {"finger-turn-easy", 12, 2}, {"finger-turn-hard", 12, 2},
    {"fish-swim", 24, 5},       {"point-mass", 4, 2},       {"reacher-easy", 6, 2},
    {"reacher-hard", 6, 2},
};
#define NFACTS ((int)(sizeof facts / sizeof facts[0]))

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float rng_action(uint64_t *s)
{
    return (float)((double)(rng_next(s) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

START_TEST(registry_lists_the_ten)
{
    ck_assert_int_ge(task_mujoco_count, 10); /* the ten DM Control tasks, then others */
    for (int i = 0; i < NFACTS; i++) {
        const task_info *t = task_find(facts[i].name);
        ck_assert_msg(t != NULL, "%s not registered", facts[i].name);
        ck_assert_int_eq(t->table->obs_dim, facts[i].obs);
        ck_assert_int_eq(t->table->act_dim, facts[i].act);
        ck_assert_ptr_null(t->table->action_low);
        ck_assert_ptr_null(t->table->action_high);
        ck_assert_int_eq(t->defaults.num_envs, 16);
        ck_assert(t->defaults.clip_fpo > 0.0f);
        /* 2 epochs for FPO, 4 for the others (docs/stability.md, "Two epochs") */
        ck_assert_int_eq(t->defaults.epochs, 4);
        ck_assert_int_eq(t->defaults.epochs_fpo, 2);
        /* FPO at 1e-3, the others at the task's lr (docs/results.md, "FPO's
         * learning rate"); point-mass keeps its own 1e-4 for every algorithm */
        fpo_optimizer_config oc;
        task_default_configs(t, TASK_PRESET_CPU, FPO_ALGO_FPO, NULL, &oc, NULL);
        int pm = !strcmp(facts[i].name, "point-mass");
        ck_assert_float_eq(oc.lr, pm ? 1e-4f : 1e-3f);
        task_default_configs(t, TASK_PRESET_CPU, FPO_ALGO_PPO, NULL, &oc, NULL);
        ck_assert_float_eq(oc.lr, pm ? 1e-4f : 3e-4f);
    }
}
END_TEST

START_TEST(open_reports_missing_model_dir)
{
    const task_info *t = task_find("cartpole-balance");
    ck_assert_ptr_nonnull(t);
    void *user = (void *)1;
    char err[256] = "";
    ck_assert_int_ne(t->open(&user, "/nonexistent/dir", err, sizeof err), 0);
    ck_assert_ptr_null(user);
    ck_assert_msg(strstr(err, "cartpole.xml") != NULL, "err = %s", err);
}
END_TEST

/* One episode of 1000 random steps on two instances with the same seed and
 * actions: identical outputs, truncation exactly at step 1000, finite
 * observations, rewards in [0, 1]. */
START_TEST(task_episode)
{
    const task_fact *f = &facts[_i];
    const task_info *t = task_find(f->name);
    ck_assert_msg(t != NULL, "%s", f->name);
    const fpo_env_table *tb = t->table;
    void *user = NULL;
    char err[512] = "";
    ck_assert_msg(t->open(&user, NULL, err, sizeof err) == 0, "%s: %s", f->name, err);
    void *a = NULL, *b = NULL;
    ck_assert_int_eq(tb->create(user, 0, &a), 0);
    ck_assert_int_eq(tb->create(user, 1, &b), 0);
    float oa[MAXD], ob[MAXD], act[8], ra, rb;
    unsigned fa, fb;
    ck_assert_int_eq(tb->reset(user, a, 42, oa), 0);
    ck_assert_int_eq(tb->reset(user, b, 42, ob), 0);
    ck_assert(memcmp(oa, ob, sizeof(float) * (size_t)f->obs) == 0);
    uint64_t s = 7;
    double ret = 0.0;
    for (int k = 1; k <= MJENV_MAX_STEPS; k++) {
        for (int i = 0; i < f->act; i++)
            act[i] = rng_action(&s);
        ck_assert_int_eq(tb->step(user, a, act, oa, &ra, &fa), 0);
        ck_assert_int_eq(tb->step(user, b, act, ob, &rb, &fb), 0);
        ck_assert_msg(memcmp(oa, ob, sizeof(float) * (size_t)f->obs) == 0, "%s: step %d differs",
                      f->name, k);
        ck_assert(memcmp(&ra, &rb, sizeof ra) == 0);
        ck_assert_uint_eq(fa, fb);
        for (int i = 0; i < f->obs; i++)
            ck_assert_msg(isfinite(oa[i]), "%s: obs[%d] at step %d", f->name, i, k);
        ck_assert_msg(ra >= 0.0f && ra <= 1.0f, "%s: reward %g", f->name, (double)ra);
        ck_assert_uint_eq(fa & FPO_STEP_TERMINATED, 0);
        ck_assert_uint_eq(fa, k == MJENV_MAX_STEPS ? FPO_STEP_TRUNCATED : 0u);
        ret += ra;
    }
    ck_assert(ret >= 0.0 && ret <= 1000.0);
    /* the episode is over: stepping again needs a reset */
    ck_assert_int_ne(tb->step(user, a, act, oa, &ra, &fa), 0);
    /* a new seed gives another start; the old seed the same start again */
    float o1[MAXD], o2[MAXD];
    ck_assert_int_eq(tb->reset(user, a, 43, o1), 0);
    ck_assert_int_eq(tb->reset(user, b, 42, o2), 0);
    ck_assert_int_eq(tb->reset(user, a, 42, oa), 0);
    ck_assert(memcmp(oa, o2, sizeof(float) * (size_t)f->obs) == 0);
    ck_assert(memcmp(o1, o2, sizeof(float) * (size_t)f->obs) != 0);
    tb->destroy(user, a);
    tb->destroy(user, b);
    t->close(user);
}
END_TEST

/* A non-finite state (MuJoCo resets it and warns) ends the episode with
 * TERMINATED, reward 0 and an all-zero observation; RK4 and Euler models. */
START_TEST(unstable_state_terminates)
{
    const char *names[] = {"cartpole-balance", "point-mass", "fish-swim"};
    for (int n = 0; n < 3; n++) {
        const task_info *t = task_find(names[n]);
        char err[512];
        void *user, *env;
        float o[MAXD], act[8] = {0}, r = -1.0f;
        unsigned fl = 0;
        ck_assert_int_eq(t->open(&user, NULL, err, sizeof err), 0);
        ck_assert_int_eq(t->table->create(user, 0, &env), 0);
        ck_assert_int_eq(t->table->reset(user, env, 5, o), 0);
        ck_assert_int_eq(t->table->step(user, env, act, o, &r, &fl), 0);
        ck_assert_uint_eq(fl, 0);
        ((mjenv_inst *)env)->d->qvel[0] = NAN;
        ck_assert_int_eq(t->table->step(user, env, act, o, &r, &fl), 0);
        ck_assert_msg(fl == FPO_STEP_TERMINATED, "%s: flags %u", names[n], fl);
        ck_assert(r == 0.0f);
        for (int i = 0; i < t->table->obs_dim; i++)
            ck_assert(o[i] == 0.0f);
        ck_assert_int_ne(t->table->step(user, env, act, o, &r, &fl), 0);
        ck_assert_int_eq(t->table->reset(user, env, 6, o), 0);
        ck_assert_int_eq(t->table->step(user, env, act, o, &r, &fl), 0);
        ck_assert_uint_eq(fl, 0);
        /* a non-finite action is an error, not a state */
        act[0] = NAN;
        ck_assert_int_ne(t->table->step(user, env, act, o, &r, &fl), 0);
        t->table->destroy(user, env);
        t->close(user);
    }
}
END_TEST

/* Facts about the observation layouts. */
START_TEST(observation_layouts)
{
    char err[512];
    float o[MAXD];
    void *user, *e;
    const task_info *t;

    t = task_find("cartpole-balance");
    ck_assert_int_eq(t->open(&user, NULL, err, sizeof err), 0);
    ck_assert_int_eq(t->table->create(user, 0, &e), 0);
    for (uint64_t seed = 0; seed < 20; seed++) {
        ck_assert_int_eq(t->table->reset(user, e, seed, o), 0);
        ck_assert(fabsf(o[0]) <= 0.1f);                          /* cart x */
        ck_assert_close(o[1] * o[1] + o[2] * o[2], 1.0, 1e-6);  /* cos, sin */
        ck_assert(o[1] > 0.999f);                                 /* near upright */
    }
    t->table->destroy(user, e);
    t->close(user);

    t = task_find("point-mass");
    ck_assert_int_eq(t->open(&user, NULL, err, sizeof err), 0);
    ck_assert_int_eq(t->table->create(user, 0, &e), 0);
    for (uint64_t seed = 0; seed < 20; seed++) {
        ck_assert_int_eq(t->table->reset(user, e, seed, o), 0);
        ck_assert(fabsf(o[0]) <= 0.29f && fabsf(o[1]) <= 0.29f);
        ck_assert(o[2] == 0.0f && o[3] == 0.0f);
    }
    t->table->destroy(user, e);
    t->close(user);

    t = task_find("reacher-easy");
    ck_assert_int_eq(t->open(&user, NULL, err, sizeof err), 0);
    ck_assert_int_eq(t->table->create(user, 0, &e), 0);
    for (uint64_t seed = 0; seed < 20; seed++) {
        ck_assert_int_eq(t->table->reset(user, e, seed, o), 0);
        /* finger position from the joint angles, then the target's radius */
        double fx = 0.12 * cos(o[0]) + 0.12 * cos(o[0] + o[1]);
        double fy = 0.12 * sin(o[0]) + 0.12 * sin(o[0] + o[1]);
        double r = hypot(fx + o[2], fy + o[3]);
        ck_assert_msg(r >= 0.05 - 1e-5 && r <= 0.2 + 1e-5, "target radius %g", r);
        ck_assert(fabsf(o[1]) <= 160.0f * 3.1416f / 180.0f);
    }
    t->table->destroy(user, e);
    t->close(user);

    const char *fingers[] = {"finger-spin", "finger-turn-easy"};
    for (int k = 0; k < 2; k++) {
        t = task_find(fingers[k]);
        ck_assert_int_eq(t->open(&user, NULL, err, sizeof err), 0);
        ck_assert_int_eq(t->table->create(user, 0, &e), 0);
        for (uint64_t seed = 0; seed < 10; seed++) {
            ck_assert_int_eq(t->table->reset(user, e, seed, o), 0);
            ck_assert_close(hypotf(o[2], o[3]), 0.13, 1e-5); /* spinner tip */
            ck_assert(o[7] == 0.0f && o[8] == 0.0f);          /* no touch at reset */
            if (k == 1) {
                ck_assert_close(hypotf(o[9], o[10]), 0.13, 1e-5); /* target on the circle */
                ck_assert_close(o[11], hypotf(o[9] - o[2], o[10] - o[3]) - 0.07, 1e-5);
            }
        }
        t->table->destroy(user, e);
        t->close(user);
    }

    t = task_find("fish-swim");
    ck_assert_int_eq(t->open(&user, NULL, err, sizeof err), 0);
    ck_assert_int_eq(t->table->create(user, 0, &e), 0);
    for (uint64_t seed = 0; seed < 10; seed++) {
        ck_assert_int_eq(t->table->reset(user, e, seed, o), 0);
        ck_assert(o[0] >= -1.0f && o[0] <= 1.0f);
        for (int i = 1; i < 8; i++)
            ck_assert(fabsf(o[i]) <= 0.2f);
        double dist = sqrt(o[8] * o[8] + o[9] * o[9] + o[10] * o[10]);
        ck_assert(dist > 0.1 && dist < 1.0);
        for (int i = 11; i < 24; i++)
            ck_assert(o[i] == 0.0f);
    }
    t->table->destroy(user, e);
    t->close(user);
}
END_TEST

/* Two instances stepped on two threads give the same results as on one. */
typedef struct run_arg {
    const task_info *t;
    void *user, *env;
    uint64_t seed;
    double ret;
    float last[MAXD];
    int rc;
} run_arg;

static void *run_episode(void *p)
{
    run_arg *r = p;
    const fpo_env_table *tb = r->t->table;
    float o[MAXD] = {0}, act[8], rew;
    unsigned fl = 0;
    uint64_t s = r->seed * 31 + 1;
    r->ret = 0.0;
    r->rc = tb->reset(r->user, r->env, r->seed, o);
    for (int k = 0; k < 300 && r->rc == 0; k++) {
        for (int i = 0; i < tb->act_dim; i++)
            act[i] = rng_action(&s);
        r->rc = tb->step(r->user, r->env, act, o, &rew, &fl);
        r->ret += rew;
    }
    memcpy(r->last, o, sizeof o);
    return NULL;
}

START_TEST(concurrent_instances)
{
    const char *names[] = {"cheetah-run", "finger-turn-hard"};
    for (int n = 0; n < 2; n++) {
        const task_info *t = task_find(names[n]);
        char err[512];
        void *user;
        ck_assert_int_eq(t->open(&user, NULL, err, sizeof err), 0);
        run_arg seq[2], par[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            seq[i] = (run_arg){.t = t, .user = user, .seed = 100u + (uint64_t)i};
            ck_assert_int_eq(t->table->create(user, i, &seq[i].env), 0);
            run_episode(&seq[i]);
            ck_assert_int_eq(seq[i].rc, 0);
            par[i] = seq[i];
        }
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(pthread_create(&th[i], NULL, run_episode, &par[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(par[i].rc, 0);
            ck_assert(par[i].ret == seq[i].ret);
            ck_assert(memcmp(par[i].last, seq[i].last, sizeof par[i].last) == 0);
            t->table->destroy(user, seq[i].env);
        }
        t->close(user);
    }
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("mujoco_tasks");
    TCase *tc = tcase_create("tolerance");
    tcase_add_test(tc, tolerance_bounds_and_margin_zero);
    tcase_add_test(tc, tolerance_sigmoids_hand_computed);
    tcase_add_test(tc, rewards_hand_computed);
    suite_add_tcase(s, tc);
    tc = tcase_create("tasks");
    tcase_add_test(tc, registry_lists_the_ten);
    tcase_add_test(tc, open_reports_missing_model_dir);
    tcase_add_loop_test(tc, task_episode, 0, NFACTS);
    tcase_add_test(tc, unstable_state_terminates);
    tcase_add_test(tc, observation_layouts);
    tcase_add_test(tc, concurrent_instances);
    suite_add_tcase(s, tc);
    return s;
}
