/* The trainer's collapse guard (fpo_trainer_config.guard, libfpo/guard.c):
 * collapses are forced on the toy environment by sabotage between
 * iterations (a learning rate of 1, or actor weights scaled by 30), and
 * the guard must roll back to its snapshot bit for bit, halve the learning
 * rate, give up with an error when collapses repeat, stay silent on healthy
 * runs, and change nothing when off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "testutil.h"
#include "toyenv.h"

#define OD 3
#define AD 2
#define MAXIT 64

typedef struct rig {
    toy e;
    fpo_env_table tab;
    fpo_trainer *t;
    size_t np;
    float *hist[MAXIT + 1]; /* parameters after iteration i (0: at create) */
    int64_t steps[MAXIT + 1]; /* Adam steps after iteration i */
} rig;

/* The learning-rate schedule rig_make gives its trainer. */
static fpo_lr_schedule rig_schedule = FPO_LR_DEFAULT;

static void rig_make(rig *r, fpo_algo algo, int guard, int max_rollbacks)
{
    memset(r, 0, sizeof *r);
    toy_init(&r->e, OD, AD);
    r->tab = toy_table(&r->e);
    fpo_policy_config pc;
    toy_policy_config(&pc, algo == FPO_ALGO_FPO ? FPO_POLICY_FLOW : FPO_POLICY_GAUSSIAN, OD, AD);
    /* Bounded flow actions: the collapses forced below (lr 1, scaled
     * weights) then give huge but finite statistics, which is the guard's
     * case; unbounded ones overflow to a non-finite update, which the
     * optimizer itself rejects (FPO_EDIVERGED, passed through). */
    pc.raw_clip = 3.0f;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, algo);
    oc.epochs = 2;
    oc.minibatches = 2;
    /* The fixed anchor, whatever the default: the adaptive one engages as
     * the forced blow-up starts and delays the guard's verdict by a few
     * iterations, which would make the counts below depend on it. */
    oc.anchor_drift = 0.0f;
    /* Euler rollouts: the rate-floor case scales the actor by 30 after every
     * rollback (30^4 by the end), and the midpoint integrator's evaluation
     * at x + dt/2 v of so steep a flow overflows to a non-finite action (the
     * sampler's FPO_ENONFINITE) in the rollout before the update the guard
     * judges; one evaluation per step stays finite. */
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.integrator = FPO_INTEGRATOR_EULER;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    ck_assert_int_eq(tc.guard, 1);
    tc.sampler = &sc;
    tc.env = &r->tab;
    tc.env_user = &r->e;
    tc.num_envs = 4;
    tc.horizon = 16;
    tc.n_mc = 2;
    tc.seed = 1;
    tc.policy = &pc;
    tc.optimizer = &oc;
    tc.guard = guard;
    tc.guard_max_rollbacks = max_rollbacks;
    tc.lr_schedule = rig_schedule;
    ck_assert_int_eq(fpo_trainer_create(&r->t, &tc), FPO_OK);
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(fpo_trainer_policy(r->t), &info), FPO_OK);
    r->np = info.actor_params + info.critic_params;
}

static void rig_free(rig *r)
{
    for (int i = 0; i <= MAXIT; i++)
        free(r->hist[i]);
    fpo_trainer_destroy(r->t);
}

static float *params(rig *r)
{
    float *w = malloc(r->np * sizeof(float));
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(fpo_policy_get_params(fpo_trainer_policy(r->t), FPO_NET_ALL, w, r->np), FPO_OK);
    return w;
}

static void record(rig *r, int64_t it)
{
    ck_assert(it >= 0 && it <= MAXIT);
    free(r->hist[it]);
    r->hist[it] = params(r);
    r->steps[it] = fpo_optimizer_step_count(fpo_trainer_optimizer(r->t));
}

static int same_as(rig *r, int64_t it)
{
    float *w = params(r);
    int same = r->hist[it] && memcmp(w, r->hist[it], r->np * sizeof(float)) == 0 &&
               fpo_optimizer_step_count(fpo_trainer_optimizer(r->t)) == r->steps[it];
    free(w);
    return same;
}

static int same_params(rig *x, rig *y)
{
    float *a = params(x), *b = params(y);
    int same = x->np == y->np && memcmp(a, b, x->np * sizeof(float)) == 0;
    free(a);
    free(b);
    return same;
}

static double lr_of(rig *r)
{
    double lr;
    ck_assert_int_eq(fpo_optimizer_get(fpo_trainer_optimizer(r->t), FPO_OPT_LR, &lr), FPO_OK);
    return lr;
}

/* One iteration that must succeed; its statistics in *st. */
static void step(rig *r, fpo_update_stats *st)
{
    fpo_progress pr = {sizeof pr};
    int rc = fpo_trainer_iterate(r->t, &pr);
    ck_assert_msg(rc == FPO_OK, "iterate: %s: %s", fpo_strerror(rc), fpo_trainer_errmsg(r->t));
    *st = *pr.update;
    record(r, pr.iteration);
}

static void scale_actor(rig *r, float k)
{
    fpo_policy *p = fpo_trainer_policy(r->t);
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
    float *w = malloc(info.actor_params * sizeof(float));
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ACTOR, w, info.actor_params), FPO_OK);
    for (size_t i = 0; i < info.actor_params; i++)
        w[i] *= k;
    ck_assert_int_eq(fpo_policy_set_params(p, FPO_NET_ACTOR, w, info.actor_params), FPO_OK);
    free(w);
}

/* (e) 50 healthy iterations: never a rollback, the rate stays. */
START_TEST(healthy_run_never_triggers)
{
    fpo_algo algo = _i ? FPO_ALGO_PPO : FPO_ALGO_FPO;
    rig r;
    rig_make(&r, algo, 0, 0);
    double lr0 = lr_of(&r);
    for (int i = 0; i < 50; i++) {
        fpo_update_stats st;
        step(&r, &st);
        ck_assert_int_eq(st.rollbacks, 0);
        ck_assert_msg(st.lr == lr0, "lr %g", st.lr);
        ck_assert_int_eq(st.skipped_steps, 0);
    }
    rig_free(&r);
}
END_TEST

/* (a), (b): a learning rate of 1 makes the next updates explode; the guard
 * restores its snapshot (taken after iteration 10 and promoted at 20, since
 * the one of iteration 20 may already hold a slow blow-up) bit for bit,
 * Adam's step count included, and halves the rate. */
START_TEST(collapse_rolls_back_to_the_snapshot)
{
    fpo_algo algo = _i ? FPO_ALGO_PPO : FPO_ALGO_FPO;
    rig r;
    rig_make(&r, algo, 1, 0);
    record(&r, 0);
    fpo_update_stats st;
    for (int i = 0; i < 25; i++)
        step(&r, &st);
    ck_assert_int_eq(st.rollbacks, 0);
    ck_assert_int_eq(fpo_optimizer_set(fpo_trainer_optimizer(r.t), FPO_OPT_LR, 1.0), FPO_OK);
    int it = 25, found = 0;
    while (it < 25 + 6) {
        step(&r, &st);
        it++;
        if (st.rollbacks == 1) {
            found = 1;
            break;
        }
        ck_assert_int_eq(st.rollbacks, 0);
    }
    ck_assert_msg(found, "no rollback within 6 iterations of a learning rate of 1");
    /* three suspicious iterations in a row: 26, 27, 28 */
    ck_assert_int_eq(it, 28);
    ck_assert_msg(same_as(&r, 10), "the parameters are not those after iteration 10");
    ck_assert(!same_as(&r, 20));
    ck_assert_msg(st.lr == 0.5 && lr_of(&r) == 0.5, "lr %g / %g", st.lr, lr_of(&r));
    /* the trainer checkpoint keeps the halved rate */
    char path[] = "/tmp/fpo_guard_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    ck_assert_int_eq(fpo_trainer_save(r.t, path), FPO_OK);
    rig r2;
    rig_make(&r2, algo, 1, 0);
    ck_assert_int_eq(fpo_trainer_restore(r2.t, path), FPO_OK);
    ck_assert(lr_of(&r2) == 0.5);
    unlink(path);
    rig_free(&r2);
    rig_free(&r);
}
END_TEST

/* A progress callback that sets the rate to 1 after every iteration from
 * `from` on (a host whose schedule keeps the run collapsing). */
typedef struct sabotage {
    fpo_trainer *t;
    int64_t from;
} sabotage;

static int sabotage_lr(void *user, const fpo_progress *p)
{
    sabotage *s = user;
    if (p->iteration >= s->from)
        fpo_optimizer_set(fpo_trainer_optimizer(s->t), FPO_OPT_LR, 1.0);
    return 0;
}

/* (c) collapses that keep coming: fpo_trainer_run fails with FPO_EDIVERGED
 * and a message after guard_max_rollbacks rollbacks (not 0), with finite
 * parameters. */
START_TEST(repeated_collapse_fails_the_run)
{
    fpo_algo algo = _i ? FPO_ALGO_PPO : FPO_ALGO_FPO;
    toy e;
    toy_init(&e, OD, AD);
    fpo_env_table tab = toy_table(&e);
    fpo_policy_config pc;
    toy_policy_config(&pc, _i ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW, OD, AD);
    pc.raw_clip = 3.0f; /* bounded flow actions, as in rig_init */
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, algo);
    oc.epochs = 2;
    oc.minibatches = 2;
    /* Without the update's own stabilizers, which absorb an lr of 1 on this
     * toy task: the guard is what is tested. */
    oc.spike_clip = 0.0f;
    oc.anchor_coef = 0.0f;
    sabotage sab = {NULL, 12};
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &tab;
    tc.env_user = &e;
    tc.num_envs = 4;
    tc.horizon = 16;
    tc.n_mc = 2;
    tc.seed = 1;
    tc.policy = &pc;
    tc.optimizer = &oc;
    tc.guard_max_rollbacks = 2;
    tc.progress = sabotage_lr;
    tc.progress_user = &sab;
    ck_assert_int_eq(fpo_trainer_create(&sab.t, &tc), FPO_OK);
    /* 64 env steps per iteration; the third collapse, about 9 iterations
     * after the sabotage starts, fails the run long before 100 iterations */
    int rc = fpo_trainer_run(sab.t, 100 * 64);
    ck_assert_msg(rc == FPO_EDIVERGED, "run: %d (%s) %s", rc, fpo_strerror(rc),
                  fpo_trainer_errmsg(sab.t));
    ck_assert_msg(strstr(fpo_trainer_errmsg(sab.t), "collapsed") != NULL &&
                      strstr(fpo_trainer_errmsg(sab.t), "after 2 rollbacks") != NULL,
                  "%s", fpo_trainer_errmsg(sab.t));
    ck_assert_int_lt(fpo_trainer_env_steps(sab.t), 30 * 64);
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(fpo_trainer_policy(sab.t), &info), FPO_OK);
    size_t np = info.actor_params + info.critic_params;
    float *w = malloc(np * sizeof(float));
    ck_assert_int_eq(fpo_policy_get_params(fpo_trainer_policy(sab.t), FPO_NET_ALL, w, np), FPO_OK);
    for (size_t i = 0; i < np; i++)
        ck_assert(isfinite(w[i]));
    free(w);
    fpo_trainer_destroy(sab.t);
}
END_TEST

/* (c) the rate floor: weights scaled by 30 after every rollback collapse
 * the run again whatever the rate; with many rollbacks allowed, the fifth
 * halving (below 1/16 of 3e-4) fails instead. Every rollback restores the
 * state at create: after 12 iterations the only promoted snapshot. */
START_TEST(learning_rate_floor_fails_the_run)
{
    rig r;
    rig_make(&r, FPO_ALGO_FPO, 1, 64);
    record(&r, 0);
    fpo_update_stats st;
    for (int i = 0; i < 12; i++)
        step(&r, &st);
    double lr0 = lr_of(&r);
    scale_actor(&r, 30.0f);
    int64_t seen = 0;
    int rc = FPO_OK;
    for (int i = 0; i < 40 && rc == FPO_OK; i++) {
        fpo_progress pr = {sizeof pr};
        rc = fpo_trainer_iterate(r.t, &pr);
        if (rc == FPO_OK && pr.update->rollbacks != seen) {
            ck_assert_int_eq(pr.update->rollbacks, seen + 1);
            seen = pr.update->rollbacks;
            ck_assert_msg(pr.update->lr == (float)(lr0 / (double)(1 << seen)), "lr %g after %lld",
                          pr.update->lr, (long long)seen);
            scale_actor(&r, 30.0f); /* again */
        }
    }
    ck_assert_msg(rc == FPO_EDIVERGED, "rc %d (%s) %s", rc, fpo_strerror(rc), fpo_trainer_errmsg(r.t));
    ck_assert_int_eq(seen, 4);
    ck_assert_msg(strstr(fpo_trainer_errmsg(r.t), "cannot be halved") != NULL, "%s",
                  fpo_trainer_errmsg(r.t));
    ck_assert(lr_of(&r) == (float)(lr0 / 16));
    /* restored to the snapshot: no weights left from the sabotage */
    ck_assert(same_as(&r, 0));
    rig_free(&r);
}
END_TEST

/* (d) guard off: the same sabotage is not rolled back, and a healthy run
 * is bit-identical with the guard on and off. */
START_TEST(guard_off_changes_nothing)
{
    rig on, off;
    rig_make(&on, FPO_ALGO_FPO, 1, 0);
    rig_make(&off, FPO_ALGO_FPO, -1, 0);
    fpo_update_stats a, b;
    for (int i = 0; i < 25; i++) {
        step(&on, &a);
        step(&off, &b);
        ck_assert_int_eq(b.rollbacks, 0);
        ck_assert(b.lr == a.lr);
        ck_assert_mem_eq(on.hist[i + 1], off.hist[i + 1], on.np * sizeof(float));
    }
    ck_assert_int_eq(fpo_optimizer_set(fpo_trainer_optimizer(off.t), FPO_OPT_LR, 1.0), FPO_OK);
    for (int i = 0; i < 6; i++) {
        fpo_progress pr = {sizeof pr};
        int rc = fpo_trainer_iterate(off.t, &pr);
        if (rc != FPO_OK) { /* the optimizer's own divergence check may fire */
            ck_assert_int_eq(rc, FPO_EDIVERGED);
            continue;
        }
        ck_assert_int_eq(pr.update->rollbacks, 0);
        ck_assert(pr.update->lr == 1.0);
        ck_assert(!same_as(&off, 10));
    }
    rig_free(&on);
    rig_free(&off);
}
END_TEST

/* (f) bad guard settings; an old caller's struct (without the guard fields)
 * gets the guard on. */
START_TEST(bad_guard_config)
{
    toy e;
    toy_init(&e, OD, AD);
    fpo_env_table tab = toy_table(&e);
    fpo_trainer_config tc;
    fpo_trainer *t = NULL;
    const int bad_guard[] = {2, -2, 1000};
    for (size_t i = 0; i < sizeof bad_guard / sizeof bad_guard[0]; i++) {
        fpo_trainer_config_init(&tc);
        tc.env = &tab;
        tc.env_user = &e;
        tc.guard = bad_guard[i];
        ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_ERANGE);
        ck_assert_ptr_null(t);
        ck_assert(strstr(fpo_last_errmsg(), "guard") != NULL);
    }
    const int bad_sched[] = {-1, 3, 1000};
    for (size_t i = 0; i < sizeof bad_sched / sizeof bad_sched[0]; i++) {
        fpo_trainer_config_init(&tc);
        tc.env = &tab;
        tc.env_user = &e;
        tc.lr_schedule = (fpo_lr_schedule)bad_sched[i];
        ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_ERANGE);
        ck_assert(strstr(fpo_last_errmsg(), "lr_schedule") != NULL);
    }
    const int bad_max[] = {-1, 65, 1 << 30};
    for (size_t i = 0; i < sizeof bad_max / sizeof bad_max[0]; i++) {
        fpo_trainer_config_init(&tc);
        tc.env = &tab;
        tc.env_user = &e;
        tc.guard_max_rollbacks = bad_max[i];
        ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_ERANGE);
        ck_assert(strstr(fpo_last_errmsg(), "guard_max_rollbacks") != NULL);
    }
    fpo_trainer_config_init(&tc);
    tc.env = &tab;
    tc.env_user = &e;
    /* A struct that ends before the guard fields is smaller than any release's
     * fpo_trainer_config (docs/abi.md): refused, never read past its end. */
    tc.guard = 77;
    tc.struct_size = offsetof(fpo_trainer_config, guard);
    ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_EINVAL);
    ck_assert(strstr(fpo_last_errmsg(), "fpo_trainer_config") != NULL);
    /* 0 and 1 are both on; -1 off */
    const int good[] = {0, 1, -1};
    for (size_t i = 0; i < 3; i++) {
        fpo_trainer_config_init(&tc);
        tc.env = &tab;
        tc.env_user = &e;
        tc.guard = good[i];
        tc.guard_max_rollbacks = i == 2 ? 64 : (int)i;
        ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_OK);
        fpo_trainer_destroy(t);
    }
}
END_TEST

/* A slow climb: the CFM loss grows 1.1x per iteration after 40 calm ones at
 * 0.5, so the median of the last 20 always trails it by about 2.6x and the
 * recent-median rule never fires. The run's lowest median (0.5) does: the
 * loss passes 10 x 0.5 at the 25th climbing iteration (0.5 x 1.1^25 = 5.4;
 * 1.1^24 = 9.85), and the third such iteration in a row is a collapse. Judged directly on
 * synthetic statistics. */
/* (h) The linear schedule: within fpo_trainer_run(t, N), iteration k runs
 * Adam at lr * (1 - steps before it / N), and reports that rate; the
 * configured rate (FPO_OPT_LR) is unchanged; fpo_trainer_iterate alone and
 * the constant schedule do not scale. Checked bit for bit against a constant
 * run whose rate the host halves by hand. */
static double reported_lr[8];
static int n_reported;
static int record_lr(void *user, const fpo_progress *pr)
{
    (void)user;
    if (n_reported < 8)
        reported_lr[n_reported++] = pr->update->lr;
    return 0;
}

/* (i) The default schedule follows the algorithm: linear for FPO, constant
 * for Gaussian PPO. Each default run equals, bit for bit, the run with the
 * schedule named, and FPO's differs from a constant one. */
START_TEST(default_schedule_follows_the_algorithm)
{
    fpo_algo algo = _i ? FPO_ALGO_PPO : FPO_ALGO_FPO;
    fpo_lr_schedule want = _i ? FPO_LR_CONSTANT : FPO_LR_LINEAR;
    fpo_lr_schedule other = _i ? FPO_LR_LINEAR : FPO_LR_CONSTANT;
    rig d, w, o;
    rig_schedule = FPO_LR_DEFAULT;
    rig_make(&d, algo, 1, 0);
    rig_schedule = want;
    rig_make(&w, algo, 1, 0);
    rig_schedule = other;
    rig_make(&o, algo, 1, 0);
    rig_schedule = FPO_LR_DEFAULT;
    const int64_t budget = 3 * 4 * 16;
    ck_assert_int_eq(fpo_trainer_run(d.t, budget), FPO_OK);
    ck_assert_int_eq(fpo_trainer_run(w.t, budget), FPO_OK);
    ck_assert_int_eq(fpo_trainer_run(o.t, budget), FPO_OK);
    ck_assert_msg(same_params(&d, &w), "%s: the default schedule is not %s", _i ? "PPO" : "FPO",
                  _i ? "constant" : "linear");
    ck_assert(!same_params(&d, &o));
    rig_free(&d);
    rig_free(&w);
    rig_free(&o);
}
END_TEST

START_TEST(linear_schedule_scales_the_rate_within_a_run)
{
    rig a, b, c, d;
    rig_schedule = FPO_LR_CONSTANT;
    rig_make(&a, FPO_ALGO_FPO, 1, 0);
    rig_make(&c, FPO_ALGO_FPO, 1, 0);
    rig_schedule = FPO_LR_LINEAR;
    rig_make(&b, FPO_ALGO_FPO, 1, 0);
    rig_make(&d, FPO_ALGO_FPO, 1, 0);
    rig_schedule = FPO_LR_DEFAULT;
    const int64_t per_it = 4 * 16;
    double lr0 = lr_of(&b);

    /* b: two iterations of a 2-iteration budget: scales 1 and 1/2 */
    ck_assert_int_eq(fpo_trainer_run(b.t, 2 * per_it), FPO_OK);
    ck_assert_int_eq(fpo_trainer_env_steps(b.t), 2 * per_it);
    ck_assert(lr_of(&b) == lr0);
    /* c: constant, the host halves the rate before the second iteration */
    ck_assert_int_eq(fpo_trainer_run(c.t, per_it), FPO_OK);
    ck_assert_int_eq(fpo_optimizer_set(fpo_trainer_optimizer(c.t), FPO_OPT_LR, 0.5 * lr0), FPO_OK);
    ck_assert_int_eq(fpo_trainer_run(c.t, 2 * per_it), FPO_OK);
    ck_assert_msg(same_params(&b, &c), "linear schedule != constant run at half the rate");
    /* a: constant throughout, differs in the second iteration */
    ck_assert_int_eq(fpo_trainer_run(a.t, 2 * per_it), FPO_OK);
    ck_assert(!same_params(&a, &b));
    /* d: linear, but fpo_trainer_iterate outside a run: no scaling */
    fpo_update_stats st;
    step(&d, &st);
    step(&d, &st);
    ck_assert(st.lr == lr0);
    ck_assert(same_params(&a, &d));
    rig_free(&a);
    rig_free(&b);
    rig_free(&c);
    rig_free(&d);

    /* the rates reported to the progress callback: lr0 * (1 - k / 4) */
    toy e;
    toy_init(&e, OD, AD);
    fpo_env_table tab = toy_table(&e);
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &tab;
    tc.env_user = &e;
    tc.num_envs = 4;
    tc.horizon = 16;
    tc.lr_schedule = FPO_LR_LINEAR;
    tc.progress = record_lr;
    fpo_trainer *t;
    ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_OK);
    double base;
    ck_assert_int_eq(fpo_optimizer_get(fpo_trainer_optimizer(t), FPO_OPT_LR, &base), FPO_OK);
    n_reported = 0;
    ck_assert_int_eq(fpo_trainer_run(t, 4 * per_it), FPO_OK);
    ck_assert_int_eq(n_reported, 4);
    for (int k = 0; k < 4; k++)
        ck_assert_msg(fabs(reported_lr[k] - base * (1.0 - k / 4.0)) <= 1e-7 * base,
                      "iteration %d: rate %g, expected %g", k, reported_lr[k],
                      base * (1.0 - k / 4.0));
    fpo_trainer_destroy(t);
}
END_TEST

START_TEST(slow_climb_is_caught_against_the_lowest_median)
{
    rig r;
    rig_make(&r, FPO_ALGO_FPO, 1, 0);
    fpo_policy *p = fpo_trainer_policy(r.t);
    fpo_optimizer *o = fpo_trainer_optimizer(r.t);
    fpo_mem mem;
    ck_assert_int_eq(fpo_mem_init(&mem, NULL, NULL), FPO_OK);
    fpo_guard g;
    ck_assert_int_eq(fpo_guard_init(&g, &mem, 1, 3, p, o), FPO_OK);
    fpo_errbuf err = {{0}};
    fpo_update_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    st.approx_kl = 1e-4;
    st.ratio_max = 1.2;
    st.steps = 8;
    int64_t it = 0;
    for (int i = 0; i < 40; i++) {
        st.cfm_loss = 0.5;
        fpo_guard_begin(&g, o);
        ck_assert_int_eq(fpo_guard_judge(&g, p, o, &st, ++it, &err), FPO_OK);
    }
    ck_assert_int_eq(g.rollbacks, 0);
    int fired_at = -1;
    for (int k = 1; k <= 40 && fired_at < 0; k++) {
        st.cfm_loss = 0.5 * pow(1.1, k);
        fpo_guard_begin(&g, o);
        ck_assert_int_eq(fpo_guard_judge(&g, p, o, &st, ++it, &err), FPO_OK);
        if (g.rollbacks == 1)
            fired_at = k;
    }
    ck_assert_int_eq(fired_at, 27); /* suspicious from k = 25, the third in a row */
    fpo_guard_free(&g, &mem);
    rig_free(&r);
}
END_TEST

/* A sharpened flow: 20 early iterations at CFM loss 0.5, then 40 at 0.0125
 * (point-mass at clip 0.1 sharpened so). Spikes to 0.2, 16x the median but
 * below the early 0.5, are not suspicious however long they last; a
 * collapse that rises above the early level (0.8, three in a row) still
 * rolls back. Judged directly on synthetic statistics. */
START_TEST(sharpened_flow_spikes_below_its_early_level_are_healthy)
{
    rig r;
    rig_make(&r, FPO_ALGO_FPO, 1, 0);
    fpo_policy *p = fpo_trainer_policy(r.t);
    fpo_optimizer *o = fpo_trainer_optimizer(r.t);
    fpo_mem mem;
    ck_assert_int_eq(fpo_mem_init(&mem, NULL, NULL), FPO_OK);
    fpo_guard g;
    ck_assert_int_eq(fpo_guard_init(&g, &mem, 1, 3, p, o), FPO_OK);
    fpo_errbuf err = {{0}};
    fpo_update_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    st.approx_kl = 1e-4;
    st.ratio_max = 1.2;
    st.steps = 8;
    int64_t it = 0;
    const double level[] = {0.5, 0.0125, 0.2, 0.0125, 0.8};
    const int count[] = {20, 40, 6, 20, 3};
    for (int phase = 0; phase < 5; phase++) {
        for (int i = 0; i < count[phase]; i++) {
            st.cfm_loss = level[phase];
            fpo_guard_begin(&g, o);
            ck_assert_int_eq(fpo_guard_judge(&g, p, o, &st, ++it, &err), FPO_OK);
        }
        ck_assert_msg(g.rollbacks == (phase == 4), "phase %d: %lld rollbacks", phase,
                      (long long)g.rollbacks);
    }
    fpo_guard_free(&g, &mem);
    rig_free(&r);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("guard");
    TCase *tc = tcase_create("guard");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, healthy_run_never_triggers, 0, 2);
    tcase_add_loop_test(tc, collapse_rolls_back_to_the_snapshot, 0, 2);
    tcase_add_loop_test(tc, repeated_collapse_fails_the_run, 0, 2);
    tcase_add_test(tc, learning_rate_floor_fails_the_run);
    tcase_add_test(tc, guard_off_changes_nothing);
    tcase_add_test(tc, bad_guard_config);
    tcase_add_test(tc, slow_climb_is_caught_against_the_lowest_median);
    tcase_add_test(tc, sharpened_flow_spikes_below_its_early_level_are_healthy);
    tcase_add_test(tc, linear_schedule_scales_the_rate_within_a_run);
    tcase_add_loop_test(tc, default_schedule_follows_the_algorithm, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
