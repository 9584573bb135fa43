/* A tiny host environment for the reliability suites (test_badinput.c,
 * test_faults.c, test_threads.c), with one-shot failure injection.
 *
 * State: obs_dim floats; step adds 0.1 * action (cycled over the state),
 * reward -mean(state^2) (or a fixed value), episodes truncate after
 * TOY_EPISODE steps. Counters are atomics so vecenvs with threads > 1 may
 * step instances concurrently. A "*_at" trigger fires once, on the step call
 * with that 1-based global number; a "*_next" trigger fires on the next call. */
#ifndef FPO_TEST_TOYENV_H
#define FPO_TEST_TOYENV_H

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fpo/fpo.h"

#define TOY_MAX_OBS 16
#define TOY_EPISODE 7

typedef struct toy {
    int obs_dim, act_dim;
    atomic_long steps;      /* step calls so far */
    atomic_long resets;
    atomic_int created, destroyed;
    /* one-shot triggers (0 = off) */
    atomic_long fail_step_at, nan_obs_at, nan_rew_at, inf_rew_at, badflag_at;
    atomic_int fail_reset_next, nan_reset_next;
    int fail_create_index;  /* create fails for this instance (-1: never) */
    float fixed_reward;     /* used instead of the computed reward when != 0 */
} toy;

typedef struct toy_inst {
    int index, t;
    float s[TOY_MAX_OBS];
} toy_inst;

static inline void toy_init(toy *e, int obs_dim, int act_dim)
{
    memset(e, 0, sizeof *e);
    e->obs_dim = obs_dim;
    e->act_dim = act_dim;
    e->fail_create_index = -1;
}

static inline int toy_fire(atomic_long *trigger, long now)
{
    long want = atomic_load(trigger);
    return want != 0 && want == now &&
           atomic_compare_exchange_strong(trigger, &want, 0);
}

static inline int toy_fire_next(atomic_int *trigger)
{
    return atomic_exchange(trigger, 0) != 0;
}

static int toy_create(void *user, int index, void **env)
{
    toy *e = user;
    if (index == e->fail_create_index)
        return 42;
    toy_inst *in = calloc(1, sizeof *in);
    if (!in)
        return 1;
    in->index = index;
    *env = in;
    atomic_fetch_add(&e->created, 1);
    return 0;
}

static void toy_destroy(void *user, void *env)
{
    toy *e = user;
    free(env);
    atomic_fetch_add(&e->destroyed, 1);
}

static int toy_reset(void *user, void *env, uint64_t seed, float *obs)
{
    toy *e = user;
    toy_inst *in = env;
    atomic_fetch_add(&e->resets, 1);
    if (toy_fire_next(&e->fail_reset_next))
        return 7;
    in->t = 0;
    for (int i = 0; i < e->obs_dim; i++) {
        in->s[i] = 0.25f * (float)((seed >> (4 * i)) & 7u) - 0.875f;
        obs[i] = in->s[i];
    }
    if (toy_fire_next(&e->nan_reset_next))
        obs[0] = NAN;
    return 0;
}

static int toy_step(void *user, void *env, const float *action, float *obs, float *reward,
                    unsigned *flags)
{
    toy *e = user;
    toy_inst *in = env;
    long now = atomic_fetch_add(&e->steps, 1) + 1;
    if (toy_fire(&e->fail_step_at, now))
        return -3;
    double r = 0.0;
    for (int i = 0; i < e->obs_dim; i++) {
        in->s[i] += 0.1f * action[i % e->act_dim];
        r -= (double)in->s[i] * in->s[i];
        obs[i] = in->s[i];
    }
    *reward = e->fixed_reward != 0.0f ? e->fixed_reward : (float)(r / e->obs_dim);
    *flags = ++in->t >= TOY_EPISODE ? FPO_STEP_TRUNCATED : 0u;
    if (toy_fire(&e->nan_obs_at, now))
        obs[e->obs_dim - 1] = NAN;
    if (toy_fire(&e->nan_rew_at, now))
        *reward = NAN;
    if (toy_fire(&e->inf_rew_at, now))
        *reward = -INFINITY;
    if (toy_fire(&e->badflag_at, now))
        *flags = 0x40u;
    return 0;
}

static inline fpo_env_table toy_table(const toy *e)
{
    fpo_env_table t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    t.version = FPO_ENV_TABLE_VERSION;
    t.obs_dim = e->obs_dim;
    t.act_dim = e->act_dim;
    t.create = toy_create;
    t.reset = toy_reset;
    t.step = toy_step;
    t.destroy = toy_destroy;
    return t;
}

/* Small networks so every suite stays fast. */
static inline void toy_policy_config(fpo_policy_config *pc, fpo_policy_kind kind, int obs_dim,
                                     int act_dim)
{
    fpo_policy_config_init(pc);
    pc->kind = kind;
    pc->obs_dim = obs_dim;
    pc->act_dim = act_dim;
    pc->actor_layers = 2;
    pc->actor_hidden[0] = pc->actor_hidden[1] = 8;
    pc->critic_layers = 2;
    pc->critic_hidden[0] = pc->critic_hidden[1] = 8;
    pc->seed = 3;
}

#endif
