/* humanoid-root-goal (examples/tasks/mujoco/humanoid.c): the reward and the
 * goal geometry on hand-computed cases, loading and the model path,
 * dimensions, the observation layout at reset, falling (TERMINATED with the
 * head below .9 m), truncation at 400 steps, reaching a goal (bonus and
 * resampling), reproducibility for a seed, the turn metrics and the
 * per-index episode records through libfpo's vecenv. Tests that need the
 * model pass without checking anything when libmujoco-samples is not
 * installed (the file is missing) and no model is found. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mujoco/humanoid.h"
#include "mujoco/tolerance.h"
#include "task.h"
#include "testutil.h"

#define PI 3.14159265358979323846
#define NO HUMANOID_OBS_DIM
#define NA HUMANOID_ACT_DIM
#define DEBIAN_MODEL "/usr/share/mujoco/model/humanoid/humanoid.xml"

static const task_info *T(void)
{
    const task_info *t = task_find("humanoid-root-goal");
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Open the task; 0 if the model is not installed (the test then ends). */
static int open_task(void **user)
{
    char err[512] = "";
    if (access(DEBIAN_MODEL, R_OK) != 0)
        return 0;
    ck_assert_msg(T()->open(user, NULL, err, sizeof err) == 0, "open: %s", err);
    return 1;
}

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

/* Hold the root at (x, y, z) upright with yaw `yaw` and no root velocity,
 * and bring the derived quantities up to date. */
static void pin_root(const mjModel *m, void *env, double x, double y, double z, double yaw)
{
    mjData *d = humanoid_env_data(env);
    ck_assert_ptr_nonnull(d);
    d->qpos[0] = x;
    d->qpos[1] = y;
    d->qpos[2] = z;
    d->qpos[3] = cos(0.5 * yaw);
    d->qpos[4] = 0.0;
    d->qpos[5] = 0.0;
    d->qpos[6] = sin(0.5 * yaw);
    for (int i = 0; i < 6; i++)
        d->qvel[i] = 0.0;
    mj_forward(m, d);
    mj_subtreeVel(m, d);
}

/* A copy of the model the task loads (the same file), for mj_forward. */
static mjModel *load_model(void)
{
    char err[512];
    mjModel *m = mj_loadXML(DEBIAN_MODEL, NULL, err, (int)sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

/* First seed >= from whose first goal is (behind, stand) as asked. */
static uint64_t find_seed(void *user, void *env, uint64_t from, int behind, int stand)
{
    float o[NO];
    humanoid_episode ep;
    for (uint64_t s = from; s < from + 5000; s++) {
        ck_assert_int_eq(T()->table->reset(user, env, s, o), 0);
        ck_assert_int_eq(humanoid_env_episode(env, 0, &ep), 0);
        if ((behind < 0 || ep.behind == behind) && ep.stand == stand)
            return s;
    }
    ck_abort_msg("no seed found");
    return 0;
}

/* ---- reward and geometry on plain numbers ------------------------------------- */

START_TEST(reward_hand_computed)
{
    double u0[NA] = {0}, uh[NA], u2[NA];
    for (int i = 0; i < NA; i++) {
        uh[i] = 0.5;
        u2[i] = (i % 2) ? 2.0 : -3.0; /* clipped to +-1 */
    }
    /* upright, head high, at the commanded speed, no control: 1 */
    ck_assert_close(humanoid_reward(1.5, 1.0, 1.0, 0.0, 1.0, u0, NA), 1.0, 1e-15);
    ck_assert_close(humanoid_reward(1.4, 0.9, 2.0, 0.3, 1.0, u0, NA), 1.0, 1e-15);
    /* half the speed: move .5 -> (2.5 + 1)/6 */
    ck_assert_close(humanoid_reward(1.5, 1.0, 0.5, 0.0, 1.0, u0, NA), 3.5 / 6.0, 1e-12);
    ck_assert_close(humanoid_reward(1.5, 1.0, 0.375, 0.0, 1.5, u0, NA), 2.25 / 6.0, 1e-12);
    /* standing still or walking away with a speed command: 1/6 */
    ck_assert_close(humanoid_reward(1.5, 1.0, 0.0, 0.0, 1.0, u0, NA), 1.0 / 6.0, 1e-12);
    ck_assert_close(humanoid_reward(1.5, 1.0, -1.0, 0.0, 0.5, u0, NA), 1.0 / 6.0, 1e-12);
    /* lateral speed at the margin (|v_perp| = .3 + 1): move .1 -> 1.5/6 */
    ck_assert_close(humanoid_reward(1.5, 1.0, 1.0, -1.3, 1.0, u0, NA), 1.5 / 6.0, 1e-12);
    ck_assert_close(humanoid_reward(1.5, 1.0, 1.0, 0.8, 1.0, u0, NA),
                    (5.0 * pow(0.1, 0.25) + 1.0) / 6.0, 1e-12);
    /* head at the stand margin (1.4 - .35): .1 */
    ck_assert_close(humanoid_reward(1.05, 1.0, 1.0, 0.0, 1.0, u0, NA), 0.1, 1e-12);
    /* torso horizontal: upright = 1 - .9/1.9; upside down: 0 */
    ck_assert_close(humanoid_reward(1.5, 0.0, 1.0, 0.0, 1.0, u0, NA), 1.0 / 1.9, 1e-12);
    ck_assert_double_eq(humanoid_reward(1.5, -1.0, 1.0, 0.0, 1.0, u0, NA), 0.0);
    /* controls: quadratic, value 0 at 1: u = .5 -> .75, (4 + .75)/5; |u| >= 1 -> .8 */
    ck_assert_close(humanoid_reward(1.5, 1.0, 1.0, 0.0, 1.0, uh, NA), 0.95, 1e-12);
    ck_assert_close(humanoid_reward(1.5, 1.0, 1.0, 0.0, 1.0, u2, NA), 0.8, 1e-12);
    /* stand command: move = tol(|v|, (0, .3), margin 1) */
    ck_assert_close(humanoid_reward(1.5, 1.0, 0.0, 0.0, 0.0, u0, NA), 1.0, 1e-15);
    ck_assert_close(humanoid_reward(1.5, 1.0, 0.18, -0.24, 0.0, u0, NA), 1.0, 1e-12);
    ck_assert_close(humanoid_reward(1.5, 1.0, 0.6, 0.8, 0.0, u0, NA),
                    (5.0 * pow(0.1, 0.49) + 1.0) / 6.0, 1e-12);
    /* everything together, against tolerance() itself */
    /* head 1.2: .1^((.2/.35)^2); zz .6: 1 - .3/1.9; v_par .6 of v* 1: .6;
     * |v_perp| .5: .1^(.2^2); u = .5: (4 + .75)/5 */
    double want = 0.95 * pow(0.1, (0.2 / 0.35) * (0.2 / 0.35)) * (1.0 - 0.3 / 1.9) *
                  (5.0 * 0.6 * pow(0.1, 0.04) + 1.0) / 6.0;
    ck_assert_close(humanoid_reward(1.2, 0.6, 0.6, 0.5, 1.0, uh, NA), want, 1e-12);
    /* bounded in [0, 1] */
    uint64_t s = 3;
    for (int k = 0; k < 2000; k++) {
        double u[NA];
        for (int i = 0; i < NA; i++)
            u[i] = 2.0 * rng_action(&s);
        double r = humanoid_reward(2.0 * (rng_action(&s) + 1.0), rng_action(&s),
                                   3.0 * rng_action(&s), 3.0 * rng_action(&s),
                                   k % 5 ? 1.0 + 0.5 * rng_action(&s) : 0.0, u, NA);
        ck_assert(r >= 0.0 && r <= 1.0);
    }
}
END_TEST

START_TEST(geometry_hand_computed)
{
    ck_assert_close(humanoid_wrap_angle(0.5), 0.5, 1e-15);
    ck_assert_close(humanoid_wrap_angle(PI), PI, 1e-15);
    ck_assert_close(humanoid_wrap_angle(-PI), PI, 1e-15);
    ck_assert_close(humanoid_wrap_angle(3.0 * PI / 2.0), -PI / 2.0, 1e-15);
    ck_assert_close(humanoid_wrap_angle(-7.0), -7.0 + 2.0 * PI, 1e-15);
    ck_assert_close(humanoid_wrap_angle(10.0), 10.0 - 4.0 * PI, 1e-14);

    /* heading: identity 0; yaw 90 degrees; pitched but facing -y */
    double I[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    double Y[9] = {0, -1, 0, 1, 0, 0, 0, 0, 1};
    double P[9] = {0, 0.6, 0.8, -0.6, 0, 0, 0, -0.8, 0.6}; /* x axis (0, -.6, 0) */
    ck_assert_close(humanoid_heading(I), 0.0, 1e-15);
    ck_assert_close(humanoid_heading(Y), PI / 2.0, 1e-15);
    ck_assert_close(humanoid_heading(P), -PI / 2.0, 1e-15);

    /* goal at distance 3, 90 degrees left of a torso at (1, 2) facing +y: (-2, 2) */
    double xy[2] = {1.0, 2.0}, g[2], dist, b;
    humanoid_goal_point(xy, PI / 2.0, 3.0, PI / 2.0, g);
    ck_assert_close(g[0], -2.0, 1e-14);
    ck_assert_close(g[1], 2.0, 1e-14);
    humanoid_goal_polar(xy, PI / 2.0, g, &dist, &b);
    ck_assert_close(dist, 3.0, 1e-14);
    ck_assert_close(b, PI / 2.0, 1e-14);
    /* the same goal from facing -x: straight ahead; facing +x: behind */
    humanoid_goal_polar(xy, PI, g, &dist, &b);
    ck_assert_close(b, 0.0, 1e-14);
    humanoid_goal_polar(xy, 0.0, g, &dist, &b);
    ck_assert_close(fabs(b), PI, 1e-14);
    /* 3-4-5: goal (4, 6) from (1, 2) facing +x: bearing atan2(4, 3) */
    double g2[2] = {4.0, 6.0};
    humanoid_goal_polar(xy, 0.0, g2, &dist, &b);
    ck_assert_close(dist, 5.0, 1e-14);
    ck_assert_close(b, atan2(4.0, 3.0), 1e-14);
    /* facing 170 degrees, goal at -170 degrees: bearing +20 degrees, wrapped */
    double gw[2];
    humanoid_goal_point(xy, 170.0 * PI / 180.0, 4.0, 20.0 * PI / 180.0, gw);
    humanoid_goal_polar(xy, 170.0 * PI / 180.0, gw, &dist, &b);
    ck_assert_close(b, 20.0 * PI / 180.0, 1e-12);
    ck_assert_close(dist, 4.0, 1e-12);
    /* round trips */
    uint64_t s = 9;
    for (int k = 0; k < 1000; k++) {
        double h = 4.0 * rng_action(&s), d0 = 3.0 + 3.0 * (rng_action(&s) + 1.0) / 2.0;
        double b0 = PI * rng_action(&s), p[2] = {10.0 * rng_action(&s), 10.0 * rng_action(&s)};
        humanoid_goal_point(p, h, d0, b0, g);
        humanoid_goal_polar(p, h, g, &dist, &b);
        ck_assert_close(dist, d0, 1e-12);
        ck_assert_close(b, b0, 1e-11);
    }

    /* velocity split: goal along (3, 4)/5 from xy */
    double v[2] = {1.0, 0.0}, vp, vq;
    humanoid_velocity_split(xy, g2, v, &vp, &vq);
    ck_assert_close(vp, 0.6, 1e-15);
    ck_assert_close(vq, -0.8, 1e-15); /* to the right of the goal direction */
    double v2[2] = {-4.0, 3.0};
    humanoid_velocity_split(xy, g2, v2, &vp, &vq);
    ck_assert_close(vp, 0.0, 1e-15);
    ck_assert_close(vq, 5.0, 1e-15);
    humanoid_velocity_split(xy, xy, v2, &vp, &vq); /* degenerate: x axis */
    ck_assert_close(vp, -4.0, 1e-15);
    ck_assert_close(vq, 3.0, 1e-15);
}
END_TEST

START_TEST(summary_hand_computed)
{
    humanoid_summary s;
    humanoid_summary_init(&s);
    ck_assert(isnan(humanoid_summary_success_rate(&s)));
    ck_assert(isnan(humanoid_summary_mean_alive(&s)));
    ck_assert(isnan(humanoid_summary_mean_distance(&s)));
    ck_assert(isnan(humanoid_summary_left_fraction(&s)));
    humanoid_episode a = {.steps = 400, .alive_steps = 400, .truncated = 1, .goals_reached = 2,
                          .final_distance = 1.0, .behind = 1, .turn = 1};
    humanoid_episode b = {.steps = 100, .alive_steps = 99, .terminated = 1,
                          .final_distance = 3.0, .behind = 1, .turn = -1};
    humanoid_episode c = {.steps = 50, .alive_steps = 49, .terminated = 1, .goals_reached = 1,
                          .final_distance = 5.0, .behind = 1, .turn = 1};
    humanoid_episode st = {.steps = 400, .alive_steps = 400, .truncated = 1, .stand = 1,
                           .drift = 0.2, .final_distance = 100.0};
    humanoid_episode sf = {.steps = 400, .alive_steps = 400, .truncated = 1, .stand = 1,
                           .drift = 0.7};
    humanoid_episode nb = {.steps = 10, .alive_steps = 9, .terminated = 1, .final_distance = 2.0,
                           .behind = 1, .turn = 0};
    ck_assert(humanoid_episode_success(&a) && !humanoid_episode_success(&b));
    ck_assert(humanoid_episode_success(&c) && humanoid_episode_success(&st));
    ck_assert(!humanoid_episode_success(&sf) && !humanoid_episode_success(NULL));
    const humanoid_episode *all[] = {&a, &b, &c, &st, &sf, &nb};
    for (int i = 0; i < 6; i++)
        humanoid_summary_add(&s, all[i]);
    ck_assert_int_eq(s.episodes, 6);
    ck_assert_int_eq(s.successes, 3);
    ck_assert_int_eq(s.stand_episodes, 2);
    ck_assert_int_eq(s.goals_reached, 3);
    ck_assert_close(humanoid_summary_success_rate(&s), 0.5, 1e-15);
    ck_assert_close(humanoid_summary_mean_alive(&s), (400 + 99 + 49 + 400 + 400 + 9) / 6.0,
                    1e-15);
    ck_assert_close(humanoid_summary_mean_distance(&s), (1.0 + 3.0 + 5.0 + 2.0) / 4.0, 1e-15);
    ck_assert_int_eq(s.behind, 4);
    ck_assert_int_eq(s.left, 2);
    ck_assert_int_eq(s.right, 1);
    ck_assert_int_eq(s.no_turn, 1);
    ck_assert_close(humanoid_summary_left_fraction(&s), 0.5, 1e-15);
}
END_TEST

/* ---- the task -------------------------------------------------------------------- */

START_TEST(registered_with_defaults)
{
    const task_info *t = T();
    ck_assert_int_eq(t->table->obs_dim, 71);
    ck_assert_int_eq(t->table->act_dim, 21);
    ck_assert_ptr_null(t->table->action_low);
    ck_assert_ptr_null(t->table->action_high);
    ck_assert(t->table->create && t->table->reset);
    ck_assert(t->table->step && t->table->destroy);
    const task_defaults *d = &t->defaults;
    ck_assert_int_eq(d->num_envs, 16);
    ck_assert_int_eq(d->horizon, 64);
    ck_assert(d->steps == 3000000);
    ck_assert_float_eq(d->gamma, 0.99f);
    ck_assert_float_eq(d->gae_lambda, 0.95f);
    ck_assert_float_eq(d->lr, 3e-4f);
    ck_assert_float_eq(d->reward_scale, 1.0f);
    ck_assert_float_eq(d->clip_fpo, 0.05f);
    ck_assert_float_eq(d->clip_ppo, 0.1f);
    ck_assert_int_eq(d->epochs, 4);
    ck_assert_int_eq(d->minibatches, 8);
    ck_assert_int_eq(d->n_mc, 8);
    ck_assert_int_eq(d->actor_layers, 4);
    ck_assert_int_eq(d->actor_hidden, 64);
    ck_assert_int_eq(d->actor_act, FPO_ACT_SILU);
    ck_assert_int_eq(d->critic_layers, 3);
    ck_assert_int_eq(d->critic_hidden, 128);
    ck_assert_int_eq(d->critic_act, FPO_ACT_SILU);
    ck_assert_int_eq(d->cfm, FPO_CFM_EPS);
    ck_assert_int_eq(d->ratio, FPO_RATIO_PER_SAMPLE);
    ck_assert_float_eq(d->entropy_coef, 0.01f);
    ck_assert_int_eq(d->eval_episodes, 20);
    ck_assert_int_eq((d->num_envs * d->horizon) % d->minibatches, 0);
}
END_TEST

START_TEST(open_model_paths)
{
    if (access(DEBIAN_MODEL, R_OK) != 0)
        return;
    const task_info *t = T();
    char err[512] = "";
    void *user = (void *)1;
    /* a directory without humanoid.xml: the Debian model */
    ck_assert_msg(t->open(&user, "/nonexistent/dir", err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(user);
    t->close(user);
    /* a directory with one: that file (here a broken one, so open fails naming it) */
    char dir[] = "/tmp/fpo_humanoid_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/humanoid.xml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<mujoco><worldbody><body><geom size=\".1\"/></body></worldbody></mujoco>\n", f);
    fclose(f);
    user = (void *)1;
    err[0] = '\0';
    ck_assert_int_ne(t->open(&user, dir, err, sizeof err), 0);
    ck_assert_ptr_null(user);
    ck_assert_msg(err[0] != '\0', "no message");
    /* the real model copied there loads */
    FILE *src = fopen(DEBIAN_MODEL, "rb");
    f = fopen(path, "wb");
    ck_assert(src && f);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, src)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
    fclose(src);
    fclose(f);
    ck_assert_msg(t->open(&user, dir, err, sizeof err) == 0, "%s", err);
    t->close(user);
    remove(path);
    rmdir(dir);
    /* close(NULL) is harmless */
    t->close(NULL);
}
END_TEST

START_TEST(reset_observation_layout)
{
    void *user, *env;
    if (!open_task(&user))
        return;
    const fpo_env_table *tb = T()->table;
    ck_assert_int_eq(tb->create(user, 0, &env), 0);
    mjData *d = humanoid_env_data(env);
    int stands = 0, behind = 0, n = 400;
    for (uint64_t seed = 0; seed < (uint64_t)n; seed++) {
        float o[NO];
        ck_assert_int_eq(tb->reset(user, env, seed, o), 0);
        for (int i = 0; i < NO; i++)
            ck_assert(isfinite(o[i]));
        for (int i = 0; i < 21; i++)
            ck_assert_msg(fabsf(o[i]) <= 0.0201f, "joint %d = %g", i, (double)o[i]);
        /* standing with the feet on the floor: head at 1.69 - .215 */
        ck_assert_msg(o[21] > 1.45f && o[21] < 1.5f, "head %g", (double)o[21]);
        ck_assert_close(o[21], d->xpos[3 * 2 + 2], 1e-6); /* body 2 = head */
        /* extremities (torso frame): left hand, left foot, right hand, right foot */
        ck_assert(o[23] > 0.05f && o[26] > 0.0f && o[29] < -0.05f && o[32] < 0.0f);
        ck_assert(o[27] < -1.1f && o[33] < -1.1f); /* feet ~1.26 m below the torso */
        ck_assert(o[24] > -0.5f && o[30] > -0.5f); /* hands near the torso's height */
        /* upright */
        ck_assert(fabsf(o[34]) < 0.02f && fabsf(o[35]) < 0.02f && o[36] > 0.999f);
        /* at rest */
        for (int i = 37; i < 67; i++)
            ck_assert_msg(o[i] == 0.0f, "obs[%d] = %g", i, (double)o[i]);
        /* goal */
        ck_assert_close(o[67] * o[67] + o[68] * o[68], 1.0, 1e-6);
        ck_assert(o[69] >= 0.6f - 1e-6f && o[69] <= 1.0f);
        ck_assert(o[70] == 0.0f || (o[70] >= 0.5f && o[70] <= 1.5f));
        humanoid_episode ep;
        ck_assert_int_eq(humanoid_env_episode(env, 0, &ep), 0);
        ck_assert_int_eq(ep.steps, 0);
        ck_assert(ep.initial_distance >= 3.0 && ep.initial_distance <= 6.0);
        ck_assert_close(o[69], fmin(ep.initial_distance, 5.0) / 5.0, 1e-6);
        ck_assert_close(atan2(o[68], o[67]), ep.initial_bearing, 1e-5);
        ck_assert_close(o[70], ep.speed_cmd, 1e-6);
        ck_assert_int_eq(ep.stand, o[70] == 0.0f);
        ck_assert_int_eq(ep.behind, !ep.stand && fabs(ep.initial_bearing) > 2.5);
        double goal[2], v;
        ck_assert_int_eq(humanoid_env_goal(env, goal, &v), 0);
        ck_assert_close(hypot(goal[0] - d->qpos[0], goal[1] - d->qpos[1]), ep.initial_distance,
                        1e-9);
        ck_assert_close(v, ep.speed_cmd, 1e-15);
        stands += ep.stand;
        behind += fabs(ep.initial_bearing) > 2.5;
    }
    /* stand with probability .1 (40 +- 6); behind with (pi - 2.5)/pi (82 +- 8) */
    ck_assert_msg(stands >= 16 && stands <= 64, "stands %d", stands);
    ck_assert_msg(behind >= 50 && behind <= 115, "behind %d", behind);
    tb->destroy(user, env);
    T()->close(user);
}
END_TEST

/* Zero actions: the humanoid falls; TERMINATED comes with the head below .9 m. */
START_TEST(falls_and_terminates)
{
    void *user, *env;
    if (!open_task(&user))
        return;
    const fpo_env_table *tb = T()->table;
    ck_assert_int_eq(tb->create(user, 0, &env), 0);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        float o[NO], a[NA] = {0}, r;
        unsigned f = 0;
        ck_assert_int_eq(tb->reset(user, env, seed, o), 0);
        int k = 0;
        double ret = 0.0;
        while (k < HUMANOID_MAX_STEPS) {
            ck_assert_int_eq(tb->step(user, env, a, o, &r, &f), 0);
            k++;
            ret += r;
            ck_assert(r >= 0.0f && r <= 1.0f);
            if (f)
                break;
            ck_assert_msg(o[21] >= 0.9f, "head %g without termination", (double)o[21]);
        }
        ck_assert_msg(f == FPO_STEP_TERMINATED, "flags %u at step %d", f, k);
        ck_assert_msg(k < HUMANOID_MAX_STEPS, "did not fall");
        ck_assert_msg(o[21] < 0.9f, "head %g", (double)o[21]);
        for (int i = 0; i < NO; i++)
            ck_assert(isfinite(o[i]));
        /* over: stepping again needs a reset */
        ck_assert_int_ne(tb->step(user, env, a, o, &r, &f), 0);
        humanoid_episode ep;
        ck_assert_int_eq(humanoid_env_episode(env, 0, &ep), 1); /* none running */
        ck_assert_int_eq(humanoid_env_episode(env, 1, &ep), 0);
        ck_assert_int_eq(ep.steps, k);
        ck_assert_int_eq(ep.alive_steps, k - 1);
        ck_assert_int_eq(ep.terminated, 1);
        ck_assert_int_eq(ep.truncated, 0);
        ck_assert_int_eq(ep.goals_reached, 0);
        ck_assert_close(ep.ret, ret, 1e-5);
        ck_assert_int_eq(humanoid_episode_success(&ep), 0);
    }
    /* a non-finite action is an error */
    float o[NO], a[NA] = {0}, r;
    unsigned f;
    ck_assert_int_eq(tb->reset(user, env, 5, o), 0);
    a[3] = NAN;
    ck_assert_int_ne(tb->step(user, env, a, o, &r, &f), 0);
    tb->destroy(user, env);
    T()->close(user);
}
END_TEST

/* The PD task and the torque task, one instance each (the PD tests compare
 * them on the same seeds). */
static const task_info *TP(void)
{
    const task_info *t = task_find("humanoid-root-goal-pd");
    ck_assert_ptr_nonnull(t);
    return t;
}

static void pd_pair_open(void **user, void **env, void **tuser, void **tenv)
{
    char err[512] = "";
    ck_assert_msg(TP()->open(user, NULL, err, sizeof err) == 0, "open: %s", err);
    ck_assert_msg(T()->open(tuser, NULL, err, sizeof err) == 0, "open: %s", err);
    ck_assert_int_eq(TP()->table->create(*user, 0, env), 0);
    ck_assert_int_eq(T()->table->create(*tuser, 0, tenv), 0);
}

static void pd_pair_close(void *user, void *env, void *tuser, void *tenv)
{
    TP()->table->destroy(user, env);
    T()->table->destroy(tuser, tenv);
    TP()->close(user);
    T()->close(tuser);
}

/* humanoid-root-goal-pd: one control step is five physics steps, each with
 * ctrl = clip(KP (target - q) - KD qvel, -1, 1) from the state before it and
 * target = clip(qpos0 + FRACTION x range width x a, range), recomputed here
 * from the model with plain MuJoCo; the state matches the task's to 1e-9.
 * Same reset as the torque task for a seed; same observation layout. */
START_TEST(pd_targets_hand_computed)
{
    if (access(DEBIAN_MODEL, R_OK) != 0)
        return;
    const task_info *tp = TP();
    ck_assert_int_eq(tp->table->obs_dim, NO);
    ck_assert_int_eq(tp->table->act_dim, NA);
    /* the torque task's settings with FPO's anchor off */
    task_defaults want = T()->defaults;
    ck_assert(want.anchor == 0.0f); /* the library's anchor on the torque task */
    want.anchor = -1.0f;
    ck_assert_int_eq(memcmp(&tp->defaults, &want, sizeof want), 0);
    void *user, *env, *tuser, *tenv;
    pd_pair_open(&user, &env, &tuser, &tenv);
    mjModel *m = load_model();
    mjData *h = mj_makeData(m);
    ck_assert_ptr_nonnull(h);
    float o[NO], to[NO], a[NA], r;
    unsigned f = 0;
    ck_assert_int_eq(tp->table->reset(user, env, 7, o), 0);
    ck_assert_int_eq(T()->table->reset(tuser, tenv, 7, to), 0);
    ck_assert_int_eq(memcmp(o, to, (NO - 1) * sizeof o[0]), 0); /* v* is 0 while standing */
    ck_assert(o[NO - 1] == 0.0f);
    uint64_t rs = 99;
    double max_ctrl_seen = 0.0;
    int steps = 0;
    for (int k = 0; k < 30 && !f; k++) {
        for (int i = 0; i < NA; i++)
            a[i] = 1.2f * rng_action(&rs); /* beyond [-1, 1] too: clipped */
        mjData *d = humanoid_env_data(env);
        mj_copyData(h, m, d);
        double target[NA];
        for (int i = 0; i < NA; i++) {
            int j = m->actuator_trnid[2 * i];
            double lo = m->jnt_range[2 * j], hi = m->jnt_range[2 * j + 1];
            double u = a[i] < -1.0f ? -1.0 : (a[i] > 1.0f ? 1.0 : (double)a[i]);
            double t = m->qpos0[m->jnt_qposadr[j]] + HUMANOID_PD_RANGE_FRACTION * (hi - lo) * u;
            target[i] = t < lo ? lo : (t > hi ? hi : t);
        }
        for (int sub = 0; sub < HUMANOID_SUBSTEPS; sub++) {
            for (int i = 0; i < NA; i++) {
                int j = m->actuator_trnid[2 * i];
                double c = HUMANOID_PD_KP * (target[i] - h->qpos[m->jnt_qposadr[j]]) -
                           HUMANOID_PD_KD * h->qvel[m->jnt_dofadr[j]];
                h->ctrl[i] = c < -1.0 ? -1.0 : (c > 1.0 ? 1.0 : c);
                if (fabs(c) > max_ctrl_seen)
                    max_ctrl_seen = fabs(c);
            }
            mj_step(m, h);
        }
        ck_assert_int_eq(tp->table->step(user, env, a, o, &r, &f), 0);
        d = humanoid_env_data(env);
        for (int i = 0; i < m->nq; i++)
            ck_assert_msg(fabs(h->qpos[i] - d->qpos[i]) <= 1e-9, "step %d qpos[%d]: %.12g vs %.12g",
                          k, i, h->qpos[i], d->qpos[i]);
        for (int i = 0; i < m->nv; i++)
            ck_assert(fabs(h->qvel[i] - d->qvel[i]) <= 1e-9);
        for (int i = 0; i < NA; i++)
            ck_assert(fabs(h->ctrl[i] - d->ctrl[i]) <= 1e-12);
        for (int i = 0; i < NO; i++)
            ck_assert(isfinite(o[i]));
        ck_assert(r >= 0.0f && r <= 1.0f);
        steps++;
    }
    ck_assert_int_ge(steps, 5);
    ck_assert(max_ctrl_seen > 1.0); /* the clip was exercised */
    /* the same actions as torques give another state: the modes differ */
    float a0[NA];
    for (int i = 0; i < NA; i++)
        a0[i] = 0.5f;
    ck_assert_int_eq(tp->table->reset(user, env, 3, o), 0);
    ck_assert_int_eq(T()->table->reset(tuser, tenv, 3, to), 0);
    ck_assert_int_eq(tp->table->step(user, env, a0, o, &r, &f), 0);
    ck_assert_int_eq(T()->table->step(tuser, tenv, a0, to, &r, &f), 0);
    ck_assert(memcmp(o, to, sizeof o) != 0);
    mj_deleteData(h);
    mj_deleteModel(m);
    pd_pair_close(user, env, tuser, tenv);
}
END_TEST

/* humanoid-root-goal-pd's standing phase: for the first
 * HUMANOID_PD_STAND_PHASE steps the observed and rewarded command is v* = 0
 * and the goal gives no bonus; then the drawn command (the torque task's for
 * the same seed) is in force, and reaching the goal pays. */
START_TEST(pd_standing_phase)
{
    if (access(DEBIAN_MODEL, R_OK) != 0)
        return;
    ck_assert_int_gt(HUMANOID_PD_STAND_PHASE, 0);
    ck_assert_int_lt(HUMANOID_PD_STAND_PHASE, HUMANOID_MAX_STEPS);
    const task_info *tp = TP();
    void *user, *env, *tuser, *tenv;
    pd_pair_open(&user, &env, &tuser, &tenv);
    mjModel *m = load_model();
    uint64_t seed = find_seed(tuser, tenv, 300, -1, 0); /* a walking episode */
    float o[NO], a[NA] = {0}, r;
    unsigned f = 0;
    ck_assert_int_eq(T()->table->reset(tuser, tenv, seed, o), 0);
    double g0[2], v_drawn, v, g[2];
    humanoid_env_goal(tenv, g0, &v_drawn);
    ck_assert(v_drawn >= 0.5 && v_drawn <= 1.5);
    ck_assert_int_eq(tp->table->reset(user, env, seed, o), 0);
    humanoid_env_goal(env, g, &v);
    ck_assert(v == 0.0 && g[0] == g0[0] && g[1] == g0[1]);
    double z = humanoid_env_data(env)->qpos[2];
    for (int k = 1; k <= HUMANOID_PD_STAND_PHASE + 1; k++) {
        /* on the goal the whole time: no bonus until the phase is over */
        pin_root(m, env, g0[0], g0[1], z, 0.0);
        ck_assert_int_eq(tp->table->step(user, env, a, o, &r, &f), 0);
        ck_assert_uint_eq(f, 0u);
        humanoid_env_goal(env, g, &v);
        if (k < HUMANOID_PD_STAND_PHASE) {
            ck_assert_msg(o[NO - 1] == 0.0f && v == 0.0, "step %d: v* %g", k, (double)o[NO - 1]);
            ck_assert_msg(r <= 1.0f, "step %d: reward %g", k, (double)r);
            ck_assert(g[0] == g0[0] && g[1] == g0[1]);
        } else if (k == HUMANOID_PD_STAND_PHASE) {
            /* the command is in force from this step's observation on; the
             * step itself was still scored as standing */
            ck_assert(r <= 1.0f);
            ck_assert_msg(v == v_drawn && o[NO - 1] == (float)v_drawn, "v* %g", v);
        } else {
            ck_assert_msg(r >= 10.0f, "reward %g after the phase", (double)r);
            ck_assert(g[0] != g0[0] || g[1] != g0[1]); /* the next goal */
        }
    }
    humanoid_episode ep;
    ck_assert_int_eq(humanoid_env_episode(env, 0, &ep), 0);
    ck_assert_int_eq(ep.goals_reached, 1);
    ck_assert_int_eq(ep.stand, 0);
    ck_assert(ep.speed_cmd == v_drawn);
    mj_deleteModel(m);
    pd_pair_close(user, env, tuser, tenv);
}
END_TEST

/* Held up by the root, the episode is truncated at exactly 400 steps; the
 * reward is the hand-computed one on the state reached. A stand episode held
 * at its start succeeds (FPO_STEP_SUCCESS with the truncation); a walking
 * one that reached no goal does not. */
START_TEST(truncates_at_400)
{
    void *user, *env;
    if (!open_task(&user))
        return;
    const fpo_env_table *tb = T()->table;
    ck_assert_int_eq(tb->create(user, 0, &env), 0);
    mjModel *m = load_model();
    for (int stand = 0; stand <= 1; stand++) {
        uint64_t seed = find_seed(user, env, 0, -1, stand);
        float o[NO], a[NA], r;
        unsigned f = 0;
        ck_assert_int_eq(tb->reset(user, env, seed, o), 0);
        mjData *d = humanoid_env_data(env);
        double z = d->qpos[2];
        uint64_t s = 11;
        for (int k = 1; k <= HUMANOID_MAX_STEPS; k++) {
            pin_root(m, env, 0.0, 0.0, z, 0.0);
            for (int i = 0; i < NA; i++)
                a[i] = 0.3f * rng_action(&s);
            ck_assert_int_eq(tb->step(user, env, a, o, &r, &f), 0);
            ck_assert_uint_eq(f, k == HUMANOID_MAX_STEPS
                                     ? FPO_STEP_TRUNCATED | (stand ? FPO_STEP_SUCCESS : 0u)
                                     : 0u);
            ck_assert(o[21] > 1.3f);
            /* the reward by hand */
            double goal[2], v, vp, vq, u[NA];
            humanoid_env_goal(env, goal, &v);
            double xy[2] = {d->xpos[3], d->xpos[4]}, vel[2] = {d->subtree_linvel[3],
                                                               d->subtree_linvel[4]};
            humanoid_velocity_split(xy, goal, vel, &vp, &vq);
            for (int i = 0; i < NA; i++)
                u[i] = a[i];
            double want = humanoid_reward(d->xpos[3 * 2 + 2], d->xmat[9 + 8], vp, vq, v, u, NA);
            ck_assert_close(r, want, 1e-6);
            /* COM velocity and root velocity in the heading frame */
            double h = atan2(d->xmat[9 + 3], d->xmat[9]), c = cos(h), sn = sin(h);
            ck_assert_close(o[37], c * vel[0] + sn * vel[1], 1e-5);
            ck_assert_close(o[38], -sn * vel[0] + c * vel[1], 1e-5);
            ck_assert_close(o[39], d->subtree_linvel[5], 1e-5);
            ck_assert_close(o[40], c * d->qvel[0] + sn * d->qvel[1], 1e-5);
            ck_assert_close(o[41], -sn * d->qvel[0] + c * d->qvel[1], 1e-5);
            for (int i = 2; i < 27; i++)
                ck_assert_close(o[40 + i], d->qvel[i], 1e-5);
            for (int i = 0; i < 21; i++)
                ck_assert_close(o[i], d->qpos[7 + i], 1e-6);
        }
        ck_assert_int_ne(tb->step(user, env, a, o, &r, &f), 0);
        humanoid_episode ep;
        ck_assert_int_eq(humanoid_env_episode(env, 1, &ep), 0);
        ck_assert_int_eq(ep.steps, 400);
        ck_assert_int_eq(ep.alive_steps, 400);
        ck_assert_int_eq(ep.truncated, 1);
        ck_assert_int_eq(ep.terminated, 0);
        ck_assert_int_eq(ep.stand, stand);
        ck_assert_int_eq(humanoid_episode_success(&ep), stand);
    }
    mj_deleteModel(m);
    tb->destroy(user, env);
    T()->close(user);
}
END_TEST

/* Moving the torso onto the goal gives the bonus and a new goal 3-6 m away;
 * a stand command's goal is inert. */
START_TEST(reaching_a_goal)
{
    void *user, *env;
    if (!open_task(&user))
        return;
    const fpo_env_table *tb = T()->table;
    ck_assert_int_eq(tb->create(user, 0, &env), 0);
    mjModel *m = load_model();
    float o[NO], a[NA] = {0}, r;
    unsigned f;
    for (int stand = 0; stand <= 1; stand++) {
        uint64_t seed = find_seed(user, env, 100, -1, stand);
        ck_assert_int_eq(tb->reset(user, env, seed, o), 0);
        double z = humanoid_env_data(env)->qpos[2], g0[2], v0;
        humanoid_env_goal(env, g0, &v0);
        ck_assert_int_eq(v0 == 0.0, stand);
        /* walk halfway first: no bonus */
        pin_root(m, env, 0.5 * g0[0], 0.5 * g0[1], z, 0.0);
        ck_assert_int_eq(tb->step(user, env, a, o, &r, &f), 0);
        ck_assert(r <= 1.0f && f == 0);
        pin_root(m, env, g0[0], g0[1] + 0.1, z, 0.0);
        ck_assert_int_eq(tb->step(user, env, a, o, &r, &f), 0);
        ck_assert_uint_eq(f, 0);
        double g1[2], v1;
        humanoid_env_goal(env, g1, &v1);
        humanoid_episode ep;
        ck_assert_int_eq(humanoid_env_episode(env, 0, &ep), 0);
        if (!stand) {
            ck_assert_msg(r >= 10.0f && r <= 11.0f, "reward %g", (double)r);
            ck_assert_int_eq(ep.goals_reached, 1);
            double dist = hypot(g1[0] - g0[0], g1[1] - g0[1]);
            ck_assert_msg(dist >= 2.4 && dist <= 6.6, "new goal %g m away", dist);
            ck_assert(o[69] >= 0.6f - 1e-6f);
            ck_assert(v1 == 0.0 || (v1 >= 0.5 && v1 <= 1.5));
            ck_assert_close(o[70], v1, 1e-6);
            ck_assert(ep.final_distance >= 3.0 && ep.final_distance <= 6.0);
            ck_assert_int_eq(humanoid_episode_success(&ep), 1);
        } else {
            ck_assert(r <= 1.0f);
            ck_assert_int_eq(ep.goals_reached, 0);
            ck_assert(g1[0] == g0[0] && g1[1] == g0[1] && v1 == 0.0);
            ck_assert(ep.final_distance < 0.5);
            ck_assert(ep.drift > 2.5);
        }
        ck_assert_int_eq(ep.steps, 2);
        ck_assert_int_eq(ep.alive_steps, 2);
    }
    mj_deleteModel(m);
    tb->destroy(user, env);
    T()->close(user);
}
END_TEST

/* Same seed and actions: identical episodes; another seed: another goal. */
START_TEST(reproducible_for_a_seed)
{
    void *user, *a, *b;
    if (!open_task(&user))
        return;
    const fpo_env_table *tb = T()->table;
    ck_assert_int_eq(tb->create(user, 0, &a), 0);
    ck_assert_int_eq(tb->create(user, 1, &b), 0);
    float oa[NO], ob[NO], act[NA], ra, rb;
    unsigned fa, fb;
    ck_assert_int_eq(tb->reset(user, a, 42, oa), 0);
    ck_assert_int_eq(tb->reset(user, b, 42, ob), 0);
    ck_assert(memcmp(oa, ob, sizeof oa) == 0);
    uint64_t s = 7;
    int k;
    for (k = 1; k <= HUMANOID_MAX_STEPS; k++) {
        for (int i = 0; i < NA; i++)
            act[i] = rng_action(&s);
        ck_assert_int_eq(tb->step(user, a, act, oa, &ra, &fa), 0);
        ck_assert_int_eq(tb->step(user, b, act, ob, &rb, &fb), 0);
        ck_assert_msg(memcmp(oa, ob, sizeof oa) == 0, "step %d differs", k);
        ck_assert(memcmp(&ra, &rb, sizeof ra) == 0);
        ck_assert_uint_eq(fa, fb);
        if (fa)
            break;
    }
    humanoid_episode ea, eb;
    ck_assert_int_eq(humanoid_env_episode(a, 1, &ea), 0);
    ck_assert_int_eq(humanoid_env_episode(b, 1, &eb), 0);
    ck_assert(memcmp(&ea, &eb, sizeof ea) == 0);
    float o1[NO], o2[NO];
    ck_assert_int_eq(tb->reset(user, a, 43, o1), 0);
    ck_assert_int_eq(tb->reset(user, b, 42, o2), 0);
    ck_assert_int_eq(tb->reset(user, a, 42, oa), 0);
    ck_assert(memcmp(oa, o2, sizeof oa) == 0);
    ck_assert(memcmp(o1 + 67, o2 + 67, 4 * sizeof(float)) != 0);
    tb->destroy(user, a);
    tb->destroy(user, b);
    T()->close(user);
}
END_TEST

/* A goal behind the agent: turning the torso left gives turn +1, right -1. */
START_TEST(turn_direction_metric)
{
    void *user, *env;
    if (!open_task(&user))
        return;
    const fpo_env_table *tb = T()->table;
    ck_assert_int_eq(tb->create(user, 0, &env), 0);
    mjModel *m = load_model();
    uint64_t seed = find_seed(user, env, 0, 1, 0);
    humanoid_summary sum;
    humanoid_summary_init(&sum);
    for (int dir = -1; dir <= 1; dir += 2) {
        float o[NO], a[NA] = {0}, r;
        unsigned f = 0;
        ck_assert_int_eq(tb->reset(user, env, seed, o), 0);
        double z = humanoid_env_data(env)->qpos[2];
        humanoid_episode ep;
        ck_assert_int_eq(humanoid_env_episode(env, 0, &ep), 0);
        ck_assert_int_eq(ep.behind, 1);
        ck_assert(fabs(ep.initial_bearing) > 2.5);
        int k;
        for (k = 1; k <= HUMANOID_MAX_STEPS; k++) {
            double yaw = k <= 60 ? 0.05 * dir * k : 0.05 * dir * 60;
            pin_root(m, env, 0.0, 0.0, z, yaw);
            ck_assert_int_eq(tb->step(user, env, a, o, &r, &f), 0);
            if (f)
                break;
        }
        ck_assert_uint_eq(f, FPO_STEP_TRUNCATED);
        ck_assert_int_eq(humanoid_env_episode(env, 1, &ep), 0);
        ck_assert_int_eq(ep.turn, dir);
        ck_assert(ep.turn_steps >= 1 && ep.turn_steps <= HUMANOID_TURN_WINDOW);
        ck_assert(ep.turn_angle * dir > 0.0);
        ck_assert_close(ep.turn_angle, 0.05 * dir * ep.turn_steps, 0.05);
        ck_assert_int_eq(ep.behind_goals, 1);
        ck_assert_int_eq(ep.turns_left, dir > 0);
        ck_assert_int_eq(ep.turns_right, dir < 0);
        humanoid_summary_add(&sum, &ep);
    }
    ck_assert_int_eq(sum.behind, 2);
    ck_assert_int_eq(sum.left, 1);
    ck_assert_int_eq(sum.right, 1);
    ck_assert_close(humanoid_summary_left_fraction(&sum), 0.5, 1e-15);
    /* a goal in front: no turn measured */
    seed = find_seed(user, env, 0, 0, 0);
    float o[NO];
    ck_assert_int_eq(tb->reset(user, env, seed, o), 0);
    humanoid_episode ep;
    ck_assert_int_eq(humanoid_env_episode(env, 0, &ep), 0);
    ck_assert_int_eq(ep.behind, 0);
    ck_assert_int_eq(ep.behind_goals, 0);
    mj_deleteModel(m);
    tb->destroy(user, env);
    T()->close(user);
}
END_TEST

/* Through libfpo's vecenv on two threads: the records of ended episodes are
 * found by instance index after the automatic reset. */
START_TEST(records_by_index_through_vecenv)
{
    void *user;
    if (!open_task(&user))
        return;
    humanoid_episode ep;
    ck_assert_int_eq(humanoid_last_episode(user, 0, &ep), -1); /* no instance yet */
    ck_assert_int_eq(humanoid_episodes_completed(user, 0), -1);
    fpo_vecenv_config cfg;
    fpo_vecenv_config_init(&cfg);
    cfg.table = T()->table;
    cfg.user = user;
    cfg.num_envs = 3;
    cfg.threads = 2;
    cfg.seed = 5;
    fpo_vecenv *v = NULL;
    ck_assert_int_eq(fpo_vecenv_create(&v, &cfg), 0);
    float obs[3 * NO], act[3 * NA] = {0}, rew[3], fin[3 * NO];
    unsigned fl[3];
    ck_assert_int_eq(fpo_vecenv_reset(v, obs), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(humanoid_last_episode(user, i, &ep), 1);
        ck_assert_int_eq(humanoid_current_episode(user, i, &ep), 0);
        ck_assert_int_eq(humanoid_episodes_completed(user, i), 0);
    }
    ck_assert_int_eq(humanoid_last_episode(user, 3, &ep), -1);
    ck_assert_int_eq(humanoid_last_episode(NULL, 0, &ep), -1);
    int ended[3] = {0}, steps[3] = {0};
    double ret[3] = {0};
    for (int k = 0; k < 200; k++) {
        ck_assert_int_eq(fpo_vecenv_step(v, act, obs, rew, fl, fin), 0);
        for (int i = 0; i < 3; i++) {
            steps[i]++;
            ret[i] += rew[i];
            if (!fl[i])
                continue;
            ck_assert_uint_eq(fl[i], FPO_STEP_TERMINATED);
            ck_assert(fin[i * NO + 21] < 0.9f);
            ck_assert_int_eq(humanoid_last_episode(user, i, &ep), 0);
            ck_assert_int_eq(ep.terminated, 1);
            ck_assert_int_eq(ep.steps, steps[i]);
            ck_assert_int_eq(ep.alive_steps, steps[i] - 1);
            ck_assert_close(ep.ret, ret[i], 1e-4);
            ended[i]++;
            ck_assert_int_eq(humanoid_episodes_completed(user, i), ended[i]);
            /* the next episode is already running */
            ck_assert_int_eq(humanoid_current_episode(user, i, &ep), 0);
            ck_assert_int_eq(ep.steps, 0);
            steps[i] = 0;
            ret[i] = 0.0;
        }
    }
    for (int i = 0; i < 3; i++)
        ck_assert_msg(ended[i] >= 2, "instance %d ended %d episodes", i, ended[i]);
    fpo_vecenv_destroy(v);
    ck_assert_int_eq(humanoid_last_episode(user, 0, &ep), -1); /* destroyed */
    T()->close(user);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("humanoid");
    TCase *tc = tcase_create("functions");
    tcase_add_test(tc, reward_hand_computed);
    tcase_add_test(tc, geometry_hand_computed);
    tcase_add_test(tc, summary_hand_computed);
    suite_add_tcase(s, tc);
    tc = tcase_create("task");
    tcase_add_test(tc, registered_with_defaults);
    tcase_add_test(tc, open_model_paths);
    tcase_add_test(tc, reset_observation_layout);
    tcase_add_test(tc, falls_and_terminates);
    tcase_add_test(tc, pd_targets_hand_computed);
    tcase_add_test(tc, pd_standing_phase);
    tcase_add_test(tc, truncates_at_400);
    tcase_add_test(tc, reaching_a_goal);
    tcase_add_test(tc, reproducible_for_a_seed);
    tcase_add_test(tc, turn_direction_metric);
    tcase_add_test(tc, records_by_index_through_vecenv);
    suite_add_tcase(s, tc);
    return s;
}
