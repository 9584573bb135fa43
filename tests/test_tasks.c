/* The example tasks: GridWorld, Pendulum and the task registry. Everything
 * goes through the fpo_env_table callbacks, as libfpo would call them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fpo/env.h>

#include "gridworld.h"
#include "pendulum.h"
#include "task.h"
#include "task_config.h"
#include "testutil.h"

#define PI 3.14159265358979323846

static void *make_env(const fpo_env_table *t, void *user)
{
    void *env = NULL;
    ck_assert_int_eq(t->create(user, 0, &env), 0);
    ck_assert_ptr_nonnull(env);
    return env;
}

/* ---- GridWorld ---------------------------------------------------------- */

static const fpo_env_table *GW = &gridworld_table;

static void gw_step_ok(void *env, float ax, float ay, float *obs, float *r, unsigned *fl)
{
    float a[2] = {ax, ay};
    ck_assert_int_eq(GW->step(NULL, env, a, obs, r, fl), 0);
}

/* Start at (x, y) through force_start and a reset. */
static void gw_start_at(void *env, int x, int y)
{
    float obs[2];
    ck_assert_int_eq(gridworld_force_start(env, x, y), 0);
    ck_assert_int_eq(GW->reset(NULL, env, 1, obs), 0);
    int px, py;
    ck_assert_int_eq(gridworld_position(env, &px, &py), 0);
    ck_assert_int_eq(px, x);
    ck_assert_int_eq(py, y);
}

static void gw_expect_pos(void *env, int x, int y)
{
    int px, py;
    ck_assert_int_eq(gridworld_position(env, &px, &py), 0);
    ck_assert_int_eq(px, x);
    ck_assert_int_eq(py, y);
}

START_TEST(gw_table_shape)
{
    ck_assert_uint_eq(GW->struct_size, sizeof(fpo_env_table));
    ck_assert_int_eq(GW->version, FPO_ENV_TABLE_VERSION);
    ck_assert_int_eq(GW->obs_dim, 2);
    ck_assert_int_eq(GW->act_dim, 2);
    ck_assert_ptr_null(GW->action_low); /* [-1, 1] */
    ck_assert_ptr_null(GW->action_high);
    ck_assert(GW->create != NULL);
    ck_assert(GW->destroy != NULL);
}
END_TEST

START_TEST(gw_starts_cover_non_goal_cells_uniformly)
{
    void *env = make_env(GW, NULL);
    enum { PER_CELL = 200, CELLS = 25 * 21, N = PER_CELL * CELLS };
    static int count[25][25];
    memset(count, 0, sizeof count);
    for (int i = 0; i < N; i++) {
        float obs[2];
        ck_assert_int_eq(GW->reset(NULL, env, 0x1234567ull * (uint64_t)i + 99u, obs), 0);
        int x, y;
        ck_assert_int_eq(gridworld_position(env, &x, &y), 0);
        ck_assert_int_ge(x, 0);
        ck_assert_int_le(x, 24);
        ck_assert_int_ge(y, 2);
        ck_assert_int_le(y, 22);
        count[y][x]++;
    }
    /* every non-goal cell is hit about PER_CELL times (sd ~ 14) */
    for (int y = 0; y < 25; y++)
        for (int x = 0; x < 25; x++) {
            if (y < 2 || y > 22) {
                ck_assert_int_eq(count[y][x], 0);
            } else {
                ck_assert_msg(count[y][x] > PER_CELL / 2 && count[y][x] < PER_CELL * 3 / 2,
                              "cell (%d,%d) hit %d times", x, y, count[y][x]);
            }
        }
    /* each row and column: expected N/21 and N/25 (sd ~ 70), within 5% */
    for (int y = 2; y <= 22; y++) {
        int s = 0;
        for (int x = 0; x < 25; x++)
            s += count[y][x];
        ck_assert_msg(fabs(s - N / 21.0) < 0.05 * N / 21.0, "row %d: %d", y, s);
    }
    for (int x = 0; x < 25; x++) {
        int s = 0;
        for (int y = 0; y < 25; y++)
            s += count[y][x];
        ck_assert_msg(fabs(s - N / 25.0) < 0.05 * N / 25.0, "column %d: %d", x, s);
    }
    GW->destroy(NULL, env);
}
END_TEST

START_TEST(gw_observation_formula)
{
    void *env = make_env(GW, NULL);
    for (uint64_t seed = 0; seed < 500; seed++) {
        float obs[2];
        ck_assert_int_eq(GW->reset(NULL, env, seed, obs), 0);
        int x, y;
        ck_assert_int_eq(gridworld_position(env, &x, &y), 0);
        ck_assert_float_eq(obs[0], (float)(x - 12) / 12.0f);
        ck_assert_float_eq(obs[1], (float)(y - 12) / 12.0f);
    }
    float obs[2], r;
    unsigned fl;
    gw_start_at(env, 0, 2);
    gw_step_ok(env, 0, 0, obs, &r, &fl);
    ck_assert_float_eq(obs[0], -1.0f);
    ck_assert_float_eq(obs[1], -10.0f / 12.0f);
    gw_start_at(env, 24, 22);
    gw_step_ok(env, 0, 0, obs, &r, &fl);
    ck_assert_float_eq(obs[0], 1.0f);
    ck_assert_float_eq(obs[1], 10.0f / 12.0f);
    gw_start_at(env, 12, 12);
    gw_step_ok(env, 0, 0, obs, &r, &fl);
    ck_assert_float_eq(obs[0], 0.0f);
    ck_assert_float_eq(obs[1], 0.0f);
    GW->destroy(NULL, env);
}
END_TEST

START_TEST(gw_moves_round_and_clip)
{
    void *env = make_env(GW, NULL);
    float obs[2], r;
    unsigned fl;
    gw_start_at(env, 12, 12);
    gw_step_ok(env, 0.49f, -0.51f, obs, &r, &fl); /* (0, -1) */
    gw_expect_pos(env, 12, 11);
    ck_assert_float_eq(r, 0.0f);
    ck_assert_uint_eq(fl, 0);
    gw_step_ok(env, 0.51f, 0.51f, obs, &r, &fl); /* (1, 1) */
    gw_expect_pos(env, 13, 12);
    gw_step_ok(env, 0.5f, -0.5f, obs, &r, &fl); /* half to even: (0, 0) */
    gw_expect_pos(env, 13, 12);
    gw_step_ok(env, -7.0f, 3.0f, obs, &r, &fl); /* clipped first: (-1, 1) */
    gw_expect_pos(env, 12, 13);
    gw_step_ok(env, -1.0f, -1.0f, obs, &r, &fl);
    gw_expect_pos(env, 11, 12);
    gw_step_ok(env, -0.2f, 0.3f, obs, &r, &fl); /* stay */
    gw_expect_pos(env, 11, 12);
    ck_assert_int_eq(gridworld_steps(env), 6);
    ck_assert_float_eq(obs[0], -1.0f / 12.0f);
    ck_assert_float_eq(obs[1], 0.0f);
    ck_assert_int_eq(gridworld_goal_band(env), GRIDWORLD_BAND_NONE);

    /* the position is clipped at the side borders */
    gw_start_at(env, 0, 5);
    gw_step_ok(env, -1.0f, 0.0f, obs, &r, &fl);
    gw_expect_pos(env, 0, 5);
    gw_step_ok(env, -1.0f, 1.0f, obs, &r, &fl);
    gw_expect_pos(env, 0, 6);
    gw_start_at(env, 24, 20);
    gw_step_ok(env, 1.0f, -1.0f, obs, &r, &fl);
    gw_expect_pos(env, 24, 19);
    ck_assert_uint_eq(fl, 0);
    GW->destroy(NULL, env);
}
END_TEST

START_TEST(gw_goal_bands_terminate)
{
    void *env = make_env(GW, NULL);
    float obs[2], r;
    unsigned fl;
    /* top band */
    gw_start_at(env, 24, 22);
    gw_step_ok(env, 1.0f, 1.0f, obs, &r, &fl);
    gw_expect_pos(env, 24, 23);
    ck_assert_float_eq(r, 20.0f);
    ck_assert_uint_eq(fl, FPO_STEP_TERMINATED | FPO_STEP_SUCCESS);
    ck_assert_int_eq(gridworld_goal_band(env), GRIDWORLD_BAND_TOP);
    ck_assert_int_eq(gridworld_band_of_obs(obs), GRIDWORLD_BAND_TOP);
    ck_assert_float_eq(obs[1], 11.0f / 12.0f);
    /* stepping a finished episode is an error; a reset starts a new one */
    float a[2] = {0, 0};
    ck_assert_int_ne(GW->step(NULL, env, a, obs, &r, &fl), 0);
    ck_assert_int_eq(GW->reset(NULL, env, 5, obs), 0);
    ck_assert_int_eq(gridworld_goal_band(env), GRIDWORLD_BAND_NONE);

    /* bottom band */
    gw_start_at(env, 3, 2);
    gw_step_ok(env, 0.0f, -0.9f, obs, &r, &fl);
    gw_expect_pos(env, 3, 1);
    ck_assert_float_eq(r, 20.0f);
    ck_assert_uint_eq(fl, FPO_STEP_TERMINATED | FPO_STEP_SUCCESS);
    ck_assert_int_eq(gridworld_goal_band(env), GRIDWORLD_BAND_BOTTOM);
    ck_assert_int_eq(gridworld_band_of_obs(obs), GRIDWORLD_BAND_BOTTOM);

    /* walking straight up from the saddle row takes 11 steps */
    gw_start_at(env, 12, 12);
    for (int i = 1; i <= 10; i++) {
        gw_step_ok(env, 0.0f, 1.0f, obs, &r, &fl);
        ck_assert_uint_eq(fl, 0);
        ck_assert_float_eq(r, 0.0f);
    }
    gw_step_ok(env, 0.0f, 1.0f, obs, &r, &fl);
    ck_assert_uint_eq(fl, FPO_STEP_TERMINATED | FPO_STEP_SUCCESS);
    ck_assert_float_eq(r, 20.0f);
    GW->destroy(NULL, env);
}
END_TEST

START_TEST(gw_truncates_at_100)
{
    void *env = make_env(GW, NULL);
    float obs[2], r;
    unsigned fl;
    gw_start_at(env, 12, 12);
    for (int i = 1; i <= 100; i++) {
        /* wander without reaching a band: up, down, stay, sideways */
        float ay = (i % 3 == 0) ? 1.0f : (i % 3 == 1 ? -1.0f : 0.0f);
        gw_step_ok(env, (i % 2) ? 1.0f : -1.0f, ay, obs, &r, &fl);
        ck_assert_float_eq(r, 0.0f);
        ck_assert_uint_eq(fl, i < 100 ? 0u : (unsigned)FPO_STEP_TRUNCATED);
    }
    ck_assert_int_eq(gridworld_goal_band(env), GRIDWORLD_BAND_NONE);
    ck_assert_int_eq(gridworld_band_of_obs(obs), GRIDWORLD_BAND_NONE);
    float a[2] = {0, 0};
    ck_assert_int_ne(GW->step(NULL, env, a, obs, &r, &fl), 0);

    /* entering a band on step 100 terminates (TERMINATED only) */
    gw_start_at(env, 0, 2);
    for (int i = 1; i < 100; i++) {
        gw_step_ok(env, 0.0f, 0.0f, obs, &r, &fl);
        ck_assert_uint_eq(fl, 0);
    }
    gw_step_ok(env, 0.0f, -1.0f, obs, &r, &fl);
    ck_assert_uint_eq(fl, FPO_STEP_TERMINATED | FPO_STEP_SUCCESS);
    ck_assert_float_eq(r, 20.0f);
    GW->destroy(NULL, env);
}
END_TEST

START_TEST(gw_reproducible_per_seed)
{
    void *a = make_env(GW, NULL), *b = make_env(GW, NULL);
    int distinct = 0, px0 = -1, py0 = -1;
    for (uint64_t seed = 1000; seed < 1020; seed++) {
        float oa[2], ob[2], ra, rb;
        unsigned fa, fb;
        ck_assert_int_eq(GW->reset(NULL, a, seed, oa), 0);
        ck_assert_int_eq(GW->reset(NULL, b, seed, ob), 0);
        ck_assert_mem_eq(oa, ob, sizeof oa);
        int x, y;
        gridworld_position(a, &x, &y);
        distinct += (x != px0 || y != py0);
        px0 = x;
        py0 = y;
        for (int t = 0; t < 30; t++) {
            float act[2] = {sinf((float)(seed + (uint64_t)t)), cosf((float)t * 0.7f)};
            ck_assert_int_eq(GW->step(NULL, a, act, oa, &ra, &fa), 0);
            ck_assert_int_eq(GW->step(NULL, b, act, ob, &rb, &fb), 0);
            ck_assert_mem_eq(oa, ob, sizeof oa);
            ck_assert_float_eq(ra, rb);
            ck_assert_uint_eq(fa, fb);
            if (fa)
                break;
        }
    }
    ck_assert_int_ge(distinct, 10); /* different seeds, different starts */
    GW->destroy(NULL, a);
    GW->destroy(NULL, b);
}
END_TEST

START_TEST(gw_force_start_is_persistent_until_cleared)
{
    void *env = make_env(GW, NULL);
    float obs[2];
    ck_assert_int_eq(gridworld_position(env, &(int){0}, &(int){0}), -1); /* no episode yet */
    ck_assert_int_eq(gridworld_force_start(env, 17, 12), 0);
    for (uint64_t seed = 0; seed < 20; seed++) {
        ck_assert_int_eq(GW->reset(NULL, env, seed, obs), 0);
        gw_expect_pos(env, 17, 12);
        ck_assert_float_eq(obs[0], 5.0f / 12.0f);
        ck_assert_float_eq(obs[1], 0.0f);
    }
    ck_assert_int_eq(gridworld_force_start(env, -1, -1), 0);
    int other = 0;
    for (uint64_t seed = 0; seed < 20; seed++) {
        ck_assert_int_eq(GW->reset(NULL, env, seed, obs), 0);
        int x, y;
        gridworld_position(env, &x, &y);
        other += (x != 17 || y != 12);
    }
    ck_assert_int_gt(other, 15);
    ck_assert_int_eq(gridworld_force_start(NULL, 1, 1), -1);
    GW->destroy(NULL, env);
}
END_TEST

START_TEST(gw_user_force_start_applies_to_all_instances)
{
    const task_info *t = task_find("gridworld");
    ck_assert_ptr_nonnull(t);
    void *user = NULL;
    char err[64] = "";
    ck_assert_int_eq(t->open(&user, NULL, err, sizeof err), 0);
    ck_assert_ptr_nonnull(user);
    void *e[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(t->table->create(user, i, &e[i]), 0);
    ck_assert_int_eq(gridworld_user_force_start(user, 12, 12), 0);
    ck_assert_int_eq(gridworld_force_start(e[2], 5, 20), 0); /* instance wins */
    float obs[2];
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(t->table->reset(user, e[i], 77u + (uint64_t)i, obs), 0);
        if (i < 2)
            gw_expect_pos(e[i], 12, 12);
        else
            gw_expect_pos(e[i], 5, 20);
    }
    ck_assert_int_eq(gridworld_user_force_start(user, -1, 0), 0);
    ck_assert_int_eq(t->table->reset(user, e[0], 3, obs), 0);
    ck_assert_int_eq(t->table->reset(NULL, e[1], 3, obs), 0);
    int x0, y0, x1, y1;
    gridworld_position(e[0], &x0, &y0);
    gridworld_position(e[1], &x1, &y1);
    ck_assert_int_eq(x0, x1); /* both drawn from seed 3 */
    ck_assert_int_eq(y0, y1);
    for (int i = 0; i < 3; i++)
        t->table->destroy(user, e[i]);
    t->close(user);
}
END_TEST

START_TEST(gw_rejects_bad_calls)
{
    void *env = make_env(GW, NULL);
    float obs[2], r, a[2] = {0, 0};
    unsigned fl;
    ck_assert_int_ne(GW->step(NULL, env, a, obs, &r, &fl), 0); /* before reset */
    ck_assert_int_eq(GW->reset(NULL, env, 9, obs), 0);
    a[1] = NAN;
    ck_assert_int_ne(GW->step(NULL, env, a, obs, &r, &fl), 0);
    ck_assert_int_eq(gridworld_position(NULL, &(int){0}, &(int){0}), -1);
    ck_assert_int_eq(gridworld_steps(NULL), -1);
    ck_assert_int_eq(gridworld_band_of_obs(NULL), GRIDWORLD_BAND_NONE);
    GW->destroy(NULL, env);
}
END_TEST

/* ---- Pendulum ----------------------------------------------------------- */

static const fpo_env_table *PD = &pendulum_table;

START_TEST(pd_table_shape)
{
    ck_assert_int_eq(PD->version, FPO_ENV_TABLE_VERSION);
    ck_assert_int_eq(PD->obs_dim, 3);
    ck_assert_int_eq(PD->act_dim, 1);
    ck_assert_ptr_nonnull(PD->action_low);
    ck_assert_ptr_nonnull(PD->action_high);
    ck_assert_float_eq(PD->action_low[0], -2.0f);
    ck_assert_float_eq(PD->action_high[0], 2.0f);
}
END_TEST

START_TEST(pd_angle_norm)
{
    ck_assert_close(pendulum_angle_norm(3.0 * PI / 2.0), -PI / 2.0, 1e-12);
    ck_assert_close(pendulum_angle_norm(-3.0 * PI / 2.0), PI / 2.0, 1e-12);
    ck_assert_close(pendulum_angle_norm(0.3), 0.3, 1e-12);
    ck_assert_close(pendulum_angle_norm(0.3 + 4.0 * PI), 0.3, 1e-12);
    ck_assert_close(pendulum_angle_norm(-0.3 - 6.0 * PI), -0.3, 1e-12);
    ck_assert_close(pendulum_angle_norm(PI), -PI, 1e-12); /* [-pi, pi) */
}
END_TEST

static void pd_step_from(void *env, double th, double thdot, float u, float *obs, float *r,
                         unsigned *fl)
{
    ck_assert_int_eq(pendulum_set_state(env, th, thdot), 0);
    ck_assert_int_eq(PD->step(NULL, env, &u, obs, r, fl), 0);
}

START_TEST(pd_one_step_by_hand)
{
    void *env = make_env(PD, NULL);
    float obs[3], r;
    unsigned fl;
    double th, thdot;

    /* th = 1, thdot = 0.5, u = 1:
     * reward = -(1 + 0.1*0.25 + 0.001*1) = -1.026
     * thdot' = 0.5 + (15 sin 1 + 3*1) * 0.05 = 1.2811032386059225
     * th'    = 1 + thdot' * 0.05            = 1.064055161930296 */
    pd_step_from(env, 1.0, 0.5, 1.0f, obs, &r, &fl);
    ck_assert_close(r, -1.026, 1e-6);
    ck_assert_uint_eq(fl, 0);
    ck_assert_int_eq(pendulum_get_state(env, &th, &thdot), 0);
    ck_assert_close(thdot, 1.2811032386059225, 1e-12);
    ck_assert_close(th, 1.064055161930296, 1e-12);
    ck_assert_close(obs[0], 0.48533052923081726, 1e-6); /* cos th' */
    ck_assert_close(obs[1], 0.8743307597222775, 1e-6);  /* sin th' */
    ck_assert_close(obs[2], 1.2811032386059225, 1e-6);

    /* th = -2.5, thdot = -3, u = -0.7:
     * reward = -(6.25 + 0.9 + 0.00049) = -7.15049
     * thdot' = -3 + (15 sin(-2.5) - 2.1) * 0.05 = -3.5538541080779673
     * th'    = -2.5 + thdot' * 0.05             = -2.6776927054038984 */
    pd_step_from(env, -2.5, -3.0, -0.7f, obs, &r, &fl);
    ck_assert_close(r, -7.15049, 1e-6);
    ck_assert_int_eq(pendulum_get_state(env, &th, &thdot), 0);
    /* u is a float: -0.7f differs from -0.7 by ~1e-8 */
    ck_assert_close(thdot, -3.5538541080779673, 1e-7);
    ck_assert_close(th, -2.6776927054038984, 1e-7);
    ck_assert_close(obs[0], -0.8943143130105101, 1e-6);
    ck_assert_close(obs[1], -0.4474392802878837, 1e-6);
    ck_assert_close(obs[2], -3.5538541080779673, 1e-6);
    PD->destroy(NULL, env);
}
END_TEST

START_TEST(pd_reward_uses_normalized_angle_and_clipped_torque)
{
    void *env = make_env(PD, NULL);
    float obs[3], r;
    unsigned fl;
    /* th = 3pi/2 -> angle_norm = -pi/2: reward = -(pi/2)^2 */
    pd_step_from(env, 3.0 * PI / 2.0, 0.0, 0.0f, obs, &r, &fl);
    ck_assert_close(r, -(PI / 2.0) * (PI / 2.0), 1e-6);
    /* upright at rest, no torque: reward 0, stays put */
    pd_step_from(env, 2.0 * PI, 0.0, 0.0f, obs, &r, &fl);
    ck_assert_close(r, 0.0, 1e-6);
    /* u = 5 is clipped to 2: reward -(0.001*4), thdot' = 3*2*0.05 = 0.3 */
    pd_step_from(env, 0.0, 0.0, 5.0f, obs, &r, &fl);
    ck_assert_close(r, -0.004, 1e-6);
    ck_assert_close(obs[2], 0.3, 1e-6);
    pd_step_from(env, 0.0, 0.0, -5.0f, obs, &r, &fl);
    ck_assert_close(r, -0.004, 1e-6);
    ck_assert_close(obs[2], -0.3, 1e-6);
    /* the reward uses the state before the update: thdot = 2 costs 0.4 */
    pd_step_from(env, 0.0, 2.0, 0.0f, obs, &r, &fl);
    ck_assert_close(r, -0.4, 1e-6);
    PD->destroy(NULL, env);
}
END_TEST

START_TEST(pd_speed_is_clipped)
{
    void *env = make_env(PD, NULL);
    float obs[3], r;
    unsigned fl;
    double th, thdot;
    /* 7.9 + (15 + 6) * 0.05 = 8.95 -> 8; th' = pi/2 + 8 * 0.05 */
    pd_step_from(env, PI / 2.0, 7.9, 2.0f, obs, &r, &fl);
    ck_assert_int_eq(pendulum_get_state(env, &th, &thdot), 0);
    ck_assert_close(thdot, 8.0, 1e-12);
    ck_assert_close(th, PI / 2.0 + 0.4, 1e-12);
    ck_assert_float_eq(obs[2], 8.0f);
    ck_assert_close(r, -((PI / 2.0) * (PI / 2.0) + 0.1 * 7.9 * 7.9 + 0.004), 1e-6);
    pd_step_from(env, -PI / 2.0, -7.9, -2.0f, obs, &r, &fl);
    ck_assert_int_eq(pendulum_get_state(env, &th, &thdot), 0);
    ck_assert_close(thdot, -8.0, 1e-12);
    ck_assert_close(th, -PI / 2.0 - 0.4, 1e-12);
    /* a long full-torque spin never exceeds the limit */
    ck_assert_int_eq(pendulum_set_state(env, 0.1, 0.0), 0);
    for (int i = 0; i < 150; i++) {
        float u = 2.0f;
        ck_assert_int_eq(PD->step(NULL, env, &u, obs, &r, &fl), 0);
        ck_assert(fabsf(obs[2]) <= 8.0f);
    }
    PD->destroy(NULL, env);
}
END_TEST

START_TEST(pd_truncates_at_200_never_terminates)
{
    void *env = make_env(PD, NULL);
    float obs[3], r;
    unsigned fl;
    ck_assert_int_eq(PD->reset(NULL, env, 42, obs), 0);
    for (int i = 1; i <= 200; i++) {
        float u = (i % 7 < 3) ? 2.0f : -1.5f;
        ck_assert_int_eq(PD->step(NULL, env, &u, obs, &r, &fl), 0);
        ck_assert_uint_eq(fl, i < 200 ? 0u : (unsigned)FPO_STEP_TRUNCATED);
        ck_assert(r <= 0.0f);
        ck_assert(r >= -(float)(PI * PI + 6.4 + 0.004) - 1e-4f);
        ck_assert_close(obs[0] * obs[0] + obs[1] * obs[1], 1.0, 1e-5);
    }
    ck_assert_int_eq(pendulum_steps(env), 200);
    float u = 0.0f;
    ck_assert_int_ne(PD->step(NULL, env, &u, obs, &r, &fl), 0); /* episode over */
    u = NAN;
    ck_assert_int_eq(PD->reset(NULL, env, 43, obs), 0);
    ck_assert_int_ne(PD->step(NULL, env, &u, obs, &r, &fl), 0);
    PD->destroy(NULL, env);
}
END_TEST

START_TEST(pd_starts_and_reproducibility)
{
    void *a = make_env(PD, NULL), *b = make_env(PD, NULL);
    enum { N = 4000 };
    double sum_th = 0, sum_thd = 0, min_th = 10, max_th = -10, min_thd = 10, max_thd = -10;
    for (int i = 0; i < N; i++) {
        float oa[3], ob[3];
        uint64_t seed = 0xABCDEFull + (uint64_t)i * 7919u;
        ck_assert_int_eq(PD->reset(NULL, a, seed, oa), 0);
        ck_assert_int_eq(PD->reset(NULL, b, seed, ob), 0);
        ck_assert_mem_eq(oa, ob, sizeof oa);
        double th, thd;
        ck_assert_int_eq(pendulum_get_state(a, &th, &thd), 0);
        ck_assert(th >= -PI && th <= PI);
        ck_assert(thd >= -1.0 && thd <= 1.0);
        ck_assert_close(oa[0], cos(th), 1e-6);
        ck_assert_close(oa[1], sin(th), 1e-6);
        ck_assert_close(oa[2], thd, 1e-6);
        sum_th += th;
        sum_thd += thd;
        min_th = fmin(min_th, th);
        max_th = fmax(max_th, th);
        min_thd = fmin(min_thd, thd);
        max_thd = fmax(max_thd, thd);
    }
    /* uniform: means ~0 (sd pi/sqrt(3N) ~ 0.03, 1/sqrt(3N) ~ 0.01), full ranges */
    ck_assert(fabs(sum_th / N) < 0.15);
    ck_assert(fabs(sum_thd / N) < 0.05);
    ck_assert(min_th < -3.0 && max_th > 3.0);
    ck_assert(min_thd < -0.98 && max_thd > 0.98);

    /* same seed and actions: the same episode */
    float oa[3], ob[3], ra, rb;
    unsigned fa, fb;
    ck_assert_int_eq(PD->reset(NULL, a, 2024, oa), 0);
    ck_assert_int_eq(PD->reset(NULL, b, 2024, ob), 0);
    for (int t = 0; t < 200; t++) {
        float u = 2.0f * sinf(0.1f * (float)t);
        ck_assert_int_eq(PD->step(NULL, a, &u, oa, &ra, &fa), 0);
        ck_assert_int_eq(PD->step(NULL, b, &u, ob, &rb, &fb), 0);
        ck_assert_mem_eq(oa, ob, sizeof oa);
        ck_assert_float_eq(ra, rb);
        ck_assert_uint_eq(fa, fb);
    }
    /* a different seed: a different start */
    ck_assert_int_eq(PD->reset(NULL, a, 2024, oa), 0);
    ck_assert_int_eq(PD->reset(NULL, b, 2025, ob), 0);
    ck_assert(memcmp(oa, ob, sizeof oa) != 0);
    PD->destroy(NULL, a);
    PD->destroy(NULL, b);
}
END_TEST

/* ---- registry ----------------------------------------------------------- */

START_TEST(registry_finds_tasks)
{
    int n = -1;
    const task_info *const *list = task_list(&n);
    ck_assert_ptr_nonnull(list);
    ck_assert_int_ge(n, 2);
    ck_assert_str_eq(list[0]->name, "gridworld");
    ck_assert_str_eq(list[1]->name, "pendulum");
    ck_assert_ptr_null(list[n]);
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(list[i]);
        ck_assert_ptr_nonnull(list[i]->name);
        ck_assert_ptr_nonnull(list[i]->description);
        ck_assert_ptr_nonnull(list[i]->table);
        ck_assert_ptr_eq(task_find(list[i]->name), list[i]);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(list[i]->name, list[j]->name);
    }
    ck_assert_ptr_eq(task_find("gridworld"), &task_gridworld);
    ck_assert_ptr_eq(task_find("pendulum"), &task_pendulum);
    ck_assert_ptr_eq(task_find("gridworld")->table, &gridworld_table);
    ck_assert_ptr_eq(task_find("pendulum")->table, &pendulum_table);
    ck_assert_ptr_null(task_find("no-such-task"));
    ck_assert_ptr_null(task_find("Gridworld"));
    ck_assert_ptr_null(task_find(""));
    ck_assert_ptr_null(task_find(NULL));
    int n2 = 0;
    ck_assert_ptr_eq(task_list(&n2), list);
    ck_assert_int_eq(n2, n);
    ck_assert_ptr_eq(task_list(NULL), list);
}
END_TEST

START_TEST(task_configs_keep_each_algorithms_objective)
{
    /* The task's FPO choices (ratio mode, ASPO, CFM loss) must not leak into
     * Gaussian PPO, whose objective is PPO's clipped one. */
    int n;
    const task_info *const *list = task_list(&n);
    for (int i = 0; i < n; i++) {
        fpo_optimizer_config fpo, ppo, ref;
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_FPO, NULL, &fpo, NULL);
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_PPO, NULL, &ppo, NULL);
        fpo_optimizer_config_init(&ref, FPO_ALGO_PPO);
        ck_assert_msg(ppo.aspo == ref.aspo && ppo.ratio_mode == ref.ratio_mode &&
                          ppo.cfm_loss == ref.cfm_loss,
                      "%s: Gaussian PPO got aspo %d ratio %d", list[i]->name, ppo.aspo,
                      (int)ppo.ratio_mode);
        ck_assert_int_eq(fpo.aspo, list[i]->defaults.aspo);
        ck_assert_int_eq(fpo.ratio_mode, list[i]->defaults.ratio);
        ck_assert_int_eq(fpo.cfm_loss, list[i]->defaults.cfm);
    }
}
END_TEST

/* A task's anchor settings reach FPO's optimizer config, and only FPO's: 0
 * keeps the library's default, a negative anchor turns it off. The configs
 * are checked by the library itself, by creating an optimizer with them. */
START_TEST(task_configs_anchor)
{
    int n;
    const task_info *const *list = task_list(&n);
    fpo_optimizer_config ref;
    fpo_optimizer_config_init(&ref, FPO_ALGO_FPO);
    for (int i = 0; i < n; i++) {
        const task_defaults *d = &list[i]->defaults;
        fpo_policy_config pc;
        fpo_optimizer_config oc;
        fpo_trainer_config tc;
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_FPO, &pc, &oc, &tc);
        float want = d->anchor == 0.0f ? ref.anchor_coef : (d->anchor > 0.0f ? d->anchor : 0.0f);
        ck_assert_msg(oc.anchor_coef == want, "%s: anchor_coef %g, want %g", list[i]->name,
                      (double)oc.anchor_coef, (double)want);
        ck_assert_float_eq(oc.anchor_drift, d->anchor_drift != 0.0f ? d->anchor_drift
                                                                     : ref.anchor_drift);
        fpo_policy *p = NULL;
        fpo_buffer *b = NULL;
        fpo_optimizer *o = NULL;
        fpo_buffer_config bc;
        fpo_buffer_config_init(&bc);
        bc.num_envs = tc.num_envs;
        bc.horizon = tc.horizon;
        bc.obs_dim = list[i]->table->obs_dim;
        bc.act_dim = list[i]->table->act_dim;
        bc.n_mc = tc.n_mc;
        pc.obs_dim = bc.obs_dim;
        pc.act_dim = bc.act_dim;
        ck_assert_int_eq(fpo_policy_create(&p, &pc), 0);
        ck_assert_int_eq(fpo_buffer_create(&b, &bc), 0);
        int rc = fpo_optimizer_create(&o, p, b, &oc);
        ck_assert_msg(rc == 0, "%s: %s", list[i]->name, fpo_last_errmsg());
        fpo_optimizer_destroy(o);
        fpo_buffer_destroy(b);
        fpo_policy_destroy(p);
        /* Gaussian PPO has no anchor */
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_PPO, NULL, &oc, NULL);
        ck_assert_float_eq(oc.anchor_coef, 0.0f);
        ck_assert_float_eq(oc.anchor_drift, 0.0f);
    }
}
END_TEST

/* A task's noise_corr reaches FPO's rollout sampler config, and only FPO's;
 * the library accepts it (a sampler is created with it). */
START_TEST(task_sampler_noise_corr)
{
    int n, seen = 0;
    const task_info *const *list = task_list(&n);
    fpo_sampler_config ref;
    fpo_sampler_config_init(&ref);
    for (int i = 0; i < n; i++) {
        fpo_sampler_config sc;
        task_default_sampler(list[i], TASK_PRESET_CPU, FPO_ALGO_FPO, &sc);
        ck_assert_float_eq(sc.noise_corr, list[i]->defaults.noise_corr);
        ck_assert_int_eq(sc.steps, ref.steps);
        ck_assert_int_eq(sc.integrator, ref.integrator);
        seen += sc.noise_corr != 0.0f;
        fpo_policy_config pc;
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_FPO, &pc, NULL, NULL);
        pc.obs_dim = list[i]->table->obs_dim;
        pc.act_dim = list[i]->table->act_dim;
        fpo_policy *p = NULL;
        fpo_sampler *s = NULL;
        ck_assert_int_eq(fpo_policy_create(&p, &pc), 0);
        int rc = fpo_sampler_create(&s, p, &sc);
        ck_assert_msg(rc == 0, "%s: %s", list[i]->name, fpo_last_errmsg());
        fpo_sampler_destroy(s);
        fpo_policy_destroy(p);
        task_default_sampler(list[i], TASK_PRESET_PAPER, FPO_ALGO_FPO, &sc);
        ck_assert_float_eq(sc.noise_corr, list[i]->defaults.noise_corr);
        task_default_sampler(list[i], TASK_PRESET_CPU, FPO_ALGO_PPO, &sc);
        ck_assert_float_eq(sc.noise_corr, 0.0f);
    }
    const task_info *fte = task_find("finger-turn-easy");
    if (fte) /* MuJoCo tasks built */
        ck_assert_int_ge(seen, 1);
}
END_TEST

/* A task's initial std reaches Gaussian PPO's learned std only: a fixed std
 * wins, and flow policies keep the library's default. */
START_TEST(task_configs_gauss_init_std)
{
    const task_info *pd = task_find("pendulum");
    fpo_policy_config pc, ref;
    fpo_policy_config_init(&ref);
    task_default_configs(pd, TASK_PRESET_CPU, FPO_ALGO_PPO, &pc, NULL, NULL);
    ck_assert_int_eq(pc.kind, FPO_POLICY_GAUSSIAN);
    ck_assert_int_eq(pc.std_mode, FPO_STD_STATE_INDEPENDENT);
    ck_assert_float_eq(pc.init_std, pd->defaults.gauss_init_std);
    task_default_configs(pd, TASK_PRESET_CPU, FPO_ALGO_FPO, &pc, NULL, NULL);
    ck_assert_float_eq(pc.init_std, ref.init_std);
    task_info t = *pd;
    t.defaults.gauss_fixed_std = 0.5f;
    task_default_configs(&t, TASK_PRESET_CPU, FPO_ALGO_PPO, &pc, NULL, NULL);
    ck_assert_int_eq(pc.std_mode, FPO_STD_FIXED);
    ck_assert_float_eq(pc.init_std, 0.5f);
    t.defaults.gauss_fixed_std = 0.0f;
    t.defaults.gauss_init_std = 0.0f;
    task_default_configs(&t, TASK_PRESET_CPU, FPO_ALGO_PPO, &pc, NULL, NULL);
    ck_assert_float_eq(pc.init_std, ref.init_std);
    /* the policy the configs describe can be made */
    task_default_configs(pd, TASK_PRESET_CPU, FPO_ALGO_PPO, &pc, NULL, NULL);
    pc.obs_dim = 3;
    pc.act_dim = 1;
    fpo_policy *pol = NULL;
    ck_assert_int_eq(fpo_policy_create(&pol, &pc), FPO_OK);
    fpo_policy_destroy(pol);
}
END_TEST

/* The two presets of every task: cpu is the task's own defaults, paper the
 * reference's DM Control geometry (983,040 transitions per update in 32
 * minibatches of 30,720, 16 epochs) laid over them. */
START_TEST(presets_cpu_and_paper)
{
    int n;
    const task_info *const *list = task_list(&n);
    for (int i = 0; i < n; i++) {
        task_defaults c = task_preset_defaults(list[i], TASK_PRESET_CPU);
        const task_defaults *t = &list[i]->defaults;
        ck_assert(c.num_envs == t->num_envs && c.horizon == t->horizon && c.steps == t->steps &&
                  c.epochs == t->epochs && c.epochs_fpo == t->epochs_fpo &&
                  c.minibatches == t->minibatches &&
                  c.n_mc == t->n_mc && c.lr == t->lr && c.reward_scale == t->reward_scale &&
                  c.critic_layers == t->critic_layers && c.ratio == t->ratio &&
                  c.aspo == t->aspo && c.cfm == t->cfm);
        task_defaults d = task_preset_defaults(list[i], TASK_PRESET_PAPER);
        ck_assert_int_eq(d.num_envs * d.horizon, 983040);
        ck_assert_int_eq(d.num_envs * d.horizon / d.minibatches, 30720);
        ck_assert_int_eq(d.epochs, 16);
        ck_assert_int_eq(d.epochs_fpo, 16);
        ck_assert_int_eq(d.steps, 60000000);
        ck_assert_float_eq(d.reward_scale, 10.0f);
        ck_assert_int_eq(d.ratio, FPO_RATIO_AVERAGED);
        ck_assert_int_eq(d.aspo, 0);
        ck_assert_int_eq(d.eval_episodes, list[i]->defaults.eval_episodes);
        fpo_policy_config pc;
        fpo_optimizer_config oc;
        fpo_trainer_config tc;
        task_default_configs(list[i], TASK_PRESET_PAPER, FPO_ALGO_FPO, &pc, &oc, &tc);
        ck_assert_int_eq(tc.num_envs, 2048);
        ck_assert_int_eq(tc.horizon, 480);
        ck_assert_int_eq(oc.minibatches, 32);
        ck_assert_int_eq(oc.epochs, 16);
        ck_assert_float_eq(oc.value_coef, 0.25f);
        ck_assert_float_eq(oc.reward_scale, 10.0f);
        ck_assert_int_eq(oc.ratio_mode, FPO_RATIO_AVERAGED);
        ck_assert_int_eq(pc.critic_layers, 5);
        ck_assert_int_eq(pc.critic_hidden[4], 256);
        ck_assert_int_eq(pc.actor_layers, 4);
        ck_assert_int_eq(pc.actor_hidden[3], 32);
        /* the cpu preset keeps the library's value coefficient */
        fpo_optimizer_config ref;
        fpo_optimizer_config_init(&ref, FPO_ALGO_FPO);
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_FPO, NULL, &oc, NULL);
        ck_assert_float_eq(oc.value_coef, ref.value_coef);
        /* FPO takes the task's epochs_fpo where set, the others its epochs */
        const task_defaults *t0 = &list[i]->defaults;
        ck_assert_int_eq(oc.epochs, t0->epochs_fpo > 0 ? t0->epochs_fpo : t0->epochs);
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_PPO, NULL, &oc, NULL);
        ck_assert_int_eq(oc.epochs, t0->epochs);
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_DPPO, NULL, &oc, NULL);
        ck_assert_int_eq(oc.epochs, t0->epochs);
        /* FPO takes the task's lr_fpo where set, the others (and the paper
         * preset, the reference's 3e-4) its lr */
        ck_assert_float_eq(oc.lr, t0->lr);
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_PPO, NULL, &oc, NULL);
        ck_assert_float_eq(oc.lr, t0->lr);
        task_default_configs(list[i], TASK_PRESET_CPU, FPO_ALGO_FPO, NULL, &oc, NULL);
        ck_assert_float_eq(oc.lr, t0->lr_fpo > 0.0f ? t0->lr_fpo : t0->lr);
        ck_assert_float_eq(c.lr_fpo, t0->lr_fpo);
        ck_assert_float_eq(d.lr_fpo, 0.0f);
        task_default_configs(list[i], TASK_PRESET_PAPER, FPO_ALGO_FPO, NULL, &oc, NULL);
        ck_assert_float_eq(oc.lr, 3e-4f);
    }
}
END_TEST

START_TEST(registry_defaults_are_sane)
{
    const task_defaults *g = &task_find("gridworld")->defaults;
    ck_assert_int_eq(g->num_envs * g->horizon, 2048);
    ck_assert_float_eq(g->gamma, 0.99f);
    ck_assert_float_eq(g->gae_lambda, 0.98f);
    ck_assert_int_eq(g->epochs, 10);
    ck_assert_int_eq(g->epochs_fpo, 0); /* FPO too takes 10 */    ck_assert_int_eq(g->n_mc, 50);
    ck_assert_int_eq(g->cfm, FPO_CFM_ELBO);
    ck_assert_int_eq(g->ratio, FPO_RATIO_PER_SAMPLE);
    ck_assert_int_eq(g->aspo, 1);
    ck_assert_close(g->gauss_fixed_std * g->gauss_fixed_std, 0.5, 1e-6);
    ck_assert_int_eq(g->actor_act, FPO_ACT_RELU);
    const task_defaults *p = &task_find("pendulum")->defaults;
    /* RLtools' Pendulum PPO geometry: 4 x 1024 steps, minibatches of 256 */
    ck_assert_int_eq(p->num_envs * p->horizon, 4096);
    ck_assert_int_eq(p->num_envs * p->horizon / p->minibatches, 256);
    ck_assert_int_eq(p->actor_act, FPO_ACT_RELU);
    ck_assert_int_eq(p->critic_act, FPO_ACT_RELU);
    ck_assert_float_eq(p->gauss_init_std, 2.0f);
    ck_assert_int_eq(p->cfm, FPO_CFM_EPS);
    ck_assert_int_eq(p->n_mc, 8);
    for (int i = 0; i < 2; i++) {
        const task_defaults *d = i ? p : g;
        ck_assert_int_gt(d->num_envs, 0);
        ck_assert_int_gt(d->horizon, 0);
        ck_assert_int_gt(d->steps, 0);
        ck_assert_int_gt(d->minibatches, 0);
        ck_assert_int_eq((d->num_envs * d->horizon) % d->minibatches, 0);
        ck_assert_int_le(d->actor_layers, FPO_MAX_LAYERS);
        ck_assert_int_le(d->critic_layers, FPO_MAX_LAYERS);
        ck_assert(d->lr > 0.0f && d->clip_fpo > 0.0f && d->clip_ppo > 0.0f);
        ck_assert_int_gt(d->eval_episodes, 0);
    }
}
END_TEST

START_TEST(registry_open_close)
{
    int n;
    const task_info *const *list = task_list(&n);
    for (int i = 0; i < 2; i++) {
        void *user = (void *)1;
        char err[128] = "";
        ck_assert_int_eq(list[i]->open(&user, NULL, err, sizeof err), 0);
        void *env = NULL;
        float obs[3];
        ck_assert_int_eq(list[i]->table->create(user, 0, &env), 0);
        ck_assert_int_eq(list[i]->table->reset(user, env, 1, obs), 0);
        list[i]->table->destroy(user, env);
        list[i]->close(user);
    }
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("tasks");
    TCase *gw = tcase_create("gridworld");
    tcase_add_test(gw, gw_table_shape);
    tcase_add_test(gw, gw_starts_cover_non_goal_cells_uniformly);
    tcase_add_test(gw, gw_observation_formula);
    tcase_add_test(gw, gw_moves_round_and_clip);
    tcase_add_test(gw, gw_goal_bands_terminate);
    tcase_add_test(gw, gw_truncates_at_100);
    tcase_add_test(gw, gw_reproducible_per_seed);
    tcase_add_test(gw, gw_force_start_is_persistent_until_cleared);
    tcase_add_test(gw, gw_user_force_start_applies_to_all_instances);
    tcase_add_test(gw, gw_rejects_bad_calls);
    suite_add_tcase(s, gw);
    TCase *pd = tcase_create("pendulum");
    tcase_add_test(pd, pd_table_shape);
    tcase_add_test(pd, pd_angle_norm);
    tcase_add_test(pd, pd_one_step_by_hand);
    tcase_add_test(pd, pd_reward_uses_normalized_angle_and_clipped_torque);
    tcase_add_test(pd, pd_speed_is_clipped);
    tcase_add_test(pd, pd_truncates_at_200_never_terminates);
    tcase_add_test(pd, pd_starts_and_reproducibility);
    suite_add_tcase(s, pd);
    TCase *rg = tcase_create("registry");
    tcase_add_test(rg, registry_finds_tasks);
    tcase_add_test(rg, registry_defaults_are_sane);
    tcase_add_test(rg, task_configs_keep_each_algorithms_objective);
    tcase_add_test(rg, task_configs_gauss_init_std);
    tcase_add_test(rg, task_configs_anchor);
    tcase_add_test(rg, task_sampler_noise_corr);
    tcase_add_test(rg, presets_cpu_and_paper);
    tcase_add_test(rg, registry_open_close);
    suite_add_tcase(s, rg);
    return s;
}
