/* Regression tests for what a new user hit (issue #19): loads from a FIFO,
 * failing automatic resets, a checkpoint whose observation count is out of
 * range, settings that used to be accepted silently, and re-entering the
 * trainer from its own progress callback, and trainer sizes checked up
 * front in the config's terms. */
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fpo/fpo.h"
#include "policy_impl.h"
#include "serial.h"
#include "testutil.h"
#include "toyenv.h"

#define OD 3
#define AD 2

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "timed out: an open() of a FIFO blocked\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

/* A temp directory holding a FIFO named "pipe"; the path in buf. */
static void make_fifo(char *dir, size_t dn, char *path, size_t pn)
{
    snprintf(dir, dn, "%s/fpo-fifo-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, pn, "%s/pipe", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
}

static fpo_trainer *make_trainer(toy *env, fpo_env_table *tab, fpo_progress_fn fn, void *user)
{
    fpo_trainer_config tc;
    fpo_policy_config pc;
    fpo_optimizer_config oc;
    toy_init(env, OD, AD);
    *tab = toy_table(env);
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.minibatches = 2;
    oc.epochs = 1;
    fpo_trainer_config_init(&tc);
    tc.env = tab;
    tc.env_user = env;
    tc.num_envs = 2;
    tc.horizon = 4;
    tc.n_mc = 2;
    tc.policy = &pc;
    tc.optimizer = &oc;
    tc.progress = fn;
    tc.progress_user = user;
    fpo_trainer *t = NULL;
    ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_OK);
    return t;
}

/* ---- 1. a FIFO is not a checkpoint: FPO_EIO at once, no hang -------------- */

START_TEST(load_from_fifo_fails_promptly)
{
    char dir[512], path[600];
    make_fifo(dir, sizeof dir, path, sizeof path);
    signal(SIGALRM, on_alarm);
    alarm(10);
    fpo_policy *p = (fpo_policy *)1;
    int rc = fpo_policy_load(&p, path, NULL);
    alarm(0);
    ck_assert_int_eq(rc, FPO_EIO);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(fpo_last_errmsg(), "named pipe") != NULL, "message: %s",
                  fpo_last_errmsg());
    ck_assert_msg(strstr(fpo_last_errmsg(), "regular file") != NULL, "message: %s",
                  fpo_last_errmsg());
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(restore_from_fifo_fails_promptly)
{
    char dir[512], path[600];
    toy env;
    fpo_env_table tab;
    fpo_trainer *t = make_trainer(&env, &tab, NULL, NULL);
    make_fifo(dir, sizeof dir, path, sizeof path);
    signal(SIGALRM, on_alarm);
    alarm(10);
    int rc = fpo_trainer_restore(t, path);
    alarm(0);
    ck_assert_int_eq(rc, FPO_EIO);
    ck_assert_msg(strstr(fpo_trainer_errmsg(t), "named pipe") != NULL, "message: %s",
                  fpo_trainer_errmsg(t));
    /* still usable */
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    fpo_trainer_destroy(t);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(load_from_directory_fails)
{
    fpo_policy *p = NULL;
    ck_assert_int_eq(fpo_policy_load(&p, "/", NULL), FPO_EIO);
    ck_assert_msg(strstr(fpo_last_errmsg(), "directory") != NULL, "message: %s",
                  fpo_last_errmsg());
}
END_TEST

START_TEST(save_and_load_file_roundtrip)
{
    /* The read path rewritten for FIFOs still reads regular files. */
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "/tmp/fpo-rt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.fpo", dir);
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    fpo_policy *p, *q;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    ck_assert_int_eq(fpo_policy_save(p, path), FPO_OK);
    ck_assert_int_eq(fpo_policy_load(&q, path, NULL), FPO_OK);
    size_t n1, n2;
    fpo_policy_save_mem(p, NULL, 0, &n1);
    fpo_policy_save_mem(q, NULL, 0, &n2);
    ck_assert_uint_eq(n1, n2);
    fpo_policy_destroy(p);
    fpo_policy_destroy(q);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---- 2. a failing automatic reset names the reset callback ---------------- */

static fpo_vecenv *one_env(toy *env, fpo_env_table *tab, float *obs)
{
    toy_init(env, OD, AD);
    *tab = toy_table(env);
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = tab;
    vc.user = env;
    vc.num_envs = 4;
    fpo_vecenv *v = NULL;
    ck_assert_int_eq(fpo_vecenv_create(&v, &vc), FPO_OK);
    ck_assert_int_eq(fpo_vecenv_reset(v, obs), FPO_OK); /* the first reset calls */
    return v;
}

/* Steps until an episode ends (TOY_EPISODE steps); returns the failing code. */
static int step_to_episode_end(fpo_vecenv *v, float *obs)
{
    float act[4 * AD] = {0}, rew[4];
    unsigned flags[4];
    int rc = FPO_OK;
    for (int k = 0; k < TOY_EPISODE && rc == FPO_OK; k++)
        rc = fpo_vecenv_step(v, act, obs, rew, flags, NULL);
    return rc;
}

START_TEST(auto_reset_callback_failure_names_reset)
{
    toy env;
    fpo_env_table tab;
    float obs[4 * OD];
    fpo_vecenv *v = one_env(&env, &tab, obs);
    atomic_store(&env.fail_reset_next, 1); /* the next reset call: an automatic one */
    int rc = step_to_episode_end(v, obs);
    ck_assert_int_eq(rc, FPO_ECALLBACK);
    const char *m = fpo_vecenv_errmsg(v);
    ck_assert_msg(strstr(m, "reset callback") != NULL, "message: %s", m);
    ck_assert_msg(strstr(m, "step callback") == NULL, "message: %s", m);
    ck_assert_msg(strstr(m, "automatic reset") != NULL, "message: %s", m);
    /* an explicit reset recovers */
    ck_assert_int_eq(fpo_vecenv_reset(v, obs), FPO_OK);
    fpo_vecenv_destroy(v);
}
END_TEST

START_TEST(auto_reset_nan_names_reset)
{
    toy env;
    fpo_env_table tab;
    float obs[4 * OD];
    fpo_vecenv *v = one_env(&env, &tab, obs);
    atomic_store(&env.nan_reset_next, 1);
    int rc = step_to_episode_end(v, obs);
    ck_assert_int_eq(rc, FPO_ENONFINITE);
    const char *m = fpo_vecenv_errmsg(v);
    ck_assert_msg(strstr(m, "from reset") != NULL, "message: %s", m);
    ck_assert_msg(strstr(m, "from step") == NULL, "message: %s", m);
    fpo_vecenv_destroy(v);
}
END_TEST

START_TEST(step_failure_still_names_step)
{
    toy env;
    fpo_env_table tab;
    float obs[4 * OD];
    fpo_vecenv *v = one_env(&env, &tab, obs);
    atomic_store(&env.fail_step_at, 2);
    ck_assert_int_eq(step_to_episode_end(v, obs), FPO_ECALLBACK);
    ck_assert_msg(strstr(fpo_vecenv_errmsg(v), "step callback") != NULL, "message: %s",
                  fpo_vecenv_errmsg(v));
    fpo_vecenv_destroy(v);
}
END_TEST

/* ---- 4. observation count >= 2^63 in a CRC-valid checkpoint --------------- */

START_TEST(checkpoint_count_out_of_range)
{
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    fpo_policy *p;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    /* Mark the count field so it can be found in the bytes. */
    const int64_t marker = 0x0102030405060708ll;
    p->obs.count = marker;
    size_t n;
    fpo_policy_save_mem(p, NULL, 0, &n);
    unsigned char *buf = malloc(n);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fpo_policy_save_mem(p, buf, n, &n), FPO_OK);
    fpo_policy_destroy(p);
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)marker >> (8 * i));
    size_t at = n;
    for (size_t i = 0; i + 8 <= n; i++)
        if (memcmp(buf + i, le, 8) == 0) {
            at = i;
            break;
        }
    ck_assert_uint_lt(at, n);
    const uint64_t values[] = {(uint64_t)1 << 63, UINT64_MAX};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 8; i++)
            buf[at + (size_t)i] = (unsigned char)(values[k] >> (8 * i));
        uint32_t crc = crc32_update(0, buf, n - 4);
        for (int i = 0; i < 4; i++)
            buf[n - 4 + (size_t)i] = (unsigned char)(crc >> (8 * i));
        fpo_policy *q = (fpo_policy *)1;
        ck_assert_int_eq(fpo_policy_load_mem(&q, buf, n, NULL), FPO_EFORMAT);
        ck_assert_ptr_null(q);
        const char *m = fpo_last_errmsg();
        ck_assert_msg(strstr(m, "observation statistics") != NULL, "message: %s", m);
        ck_assert_msg(strstr(m, "count") != NULL, "message: %s", m);
        ck_assert_msg(strstr(m, "parameter block") == NULL, "message: %s", m);
    }
    free(buf);
}
END_TEST

/* ---- 5. settings that used to be accepted silently ------------------------ */

START_TEST(env_table_version_too_new)
{
    toy env;
    toy_init(&env, OD, AD);
    fpo_env_table tab = toy_table(&env);
    tab.version = 99;
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = &tab;
    vc.user = &env;
    fpo_vecenv *v = (fpo_vecenv *)1;
    ck_assert_int_eq(fpo_vecenv_create(&v, &vc), FPO_EVERSION);
    ck_assert_ptr_null(v);
    ck_assert_msg(strstr(fpo_last_errmsg(), "version 99") != NULL, "message: %s",
                  fpo_last_errmsg());
    ck_assert_int_eq(atomic_load(&env.created), 0);
    /* the current version is accepted */
    tab.version = FPO_ENV_TABLE_VERSION;
    ck_assert_int_eq(fpo_vecenv_create(&v, &vc), FPO_OK);
    fpo_vecenv_destroy(v);
}
END_TEST

START_TEST(normalize_obs_must_be_boolean)
{
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    pc.normalize_obs = 5;
    fpo_policy *p = (fpo_policy *)1;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_ERANGE);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(fpo_last_errmsg(), "normalize_obs") != NULL, "message: %s",
                  fpo_last_errmsg());
    pc.normalize_obs = 0;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    fpo_policy_destroy(p);
}
END_TEST

START_TEST(deterministic_must_be_boolean)
{
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    fpo_policy *p;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.deterministic = 2;
    fpo_sampler *s = (fpo_sampler *)1;
    ck_assert_int_eq(fpo_sampler_create(&s, p, &sc), FPO_ERANGE);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(fpo_last_errmsg(), "deterministic") != NULL, "message: %s",
                  fpo_last_errmsg());
    /* reconfigure and the policy's sampler defaults check it too */
    sc.deterministic = 1;
    ck_assert_int_eq(fpo_sampler_create(&s, p, &sc), FPO_OK);
    sc.deterministic = -1;
    ck_assert_int_eq(fpo_sampler_reconfigure(s, &sc), FPO_ERANGE);
    ck_assert_msg(strstr(fpo_sampler_errmsg(s), "deterministic") != NULL, "message: %s",
                  fpo_sampler_errmsg(s));
    ck_assert_int_eq(fpo_policy_set_sampler_defaults(p, &sc), FPO_ERANGE);
    ck_assert_msg(strstr(fpo_policy_errmsg(p), "deterministic") != NULL, "message: %s",
                  fpo_policy_errmsg(p));
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
}
END_TEST

START_TEST(gaussian_min_std_must_be_positive)
{
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_GAUSSIAN, OD, AD);
    pc.min_std = 0.0f;
    fpo_policy *p = (fpo_policy *)1;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_ERANGE);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(fpo_last_errmsg(), "min_std") != NULL, "message: %s",
                  fpo_last_errmsg());
    pc.std_mode = FPO_STD_STATE_DEPENDENT;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_ERANGE);
    /* a fixed std does not use min_std; a flow policy has no std */
    pc.std_mode = FPO_STD_FIXED;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    fpo_policy_destroy(p);
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    pc.min_std = 0.0f;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    fpo_policy_destroy(p);
}
END_TEST

typedef struct reenter {
    fpo_trainer *t;
    int calls;
    int run_rc, iterate_rc;
    char run_msg[FPO_ERRMSG_LEN], iterate_msg[FPO_ERRMSG_LEN];
} reenter;

static int reenter_progress(void *user, const fpo_progress *pr)
{
    (void)pr;
    reenter *r = user;
    r->calls++;
    r->run_rc = fpo_trainer_run(r->t, 1000000);
    snprintf(r->run_msg, sizeof r->run_msg, "%s", fpo_trainer_errmsg(r->t));
    r->iterate_rc = fpo_trainer_iterate(r->t, NULL);
    snprintf(r->iterate_msg, sizeof r->iterate_msg, "%s", fpo_trainer_errmsg(r->t));
    return 1; /* stop */
}

START_TEST(trainer_reentry_from_progress)
{
    toy env;
    fpo_env_table tab;
    reenter r;
    memset(&r, 0, sizeof r);
    fpo_trainer *t = make_trainer(&env, &tab, reenter_progress, &r);
    r.t = t;
    ck_assert_int_eq(fpo_trainer_run(t, 1000), FPO_OK);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.run_rc, FPO_ESTATE);
    ck_assert_int_eq(r.iterate_rc, FPO_ESTATE);
    ck_assert_msg(strstr(r.run_msg, "progress callback") != NULL, "message: %s", r.run_msg);
    ck_assert_msg(strstr(r.iterate_msg, "progress callback") != NULL, "message: %s",
                  r.iterate_msg);
    /* exactly one iteration ran (the re-entrant calls did nothing) */
    fpo_progress pr;
    pr.struct_size = sizeof pr;
    ck_assert_int_eq(fpo_trainer_iterate(t, &pr), FPO_OK);
    ck_assert_int_eq(pr.iteration, 2);
    /* and after the callback returned, run works again */
    ck_assert_int_eq(fpo_trainer_run(t, 0), FPO_OK);
    fpo_trainer_destroy(t);
}
END_TEST

/* ---- 7. sizes checked up front, in the trainer config's terms ------------ */

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Create a trainer with the toy env and the library's default configs (only
 * what edit() changes); returns the code, the message in msg, and fails the
 * test if anything was created or it took more than a second. */
static int create_sized(void (*edit)(fpo_trainer_config *, fpo_policy_config *), char *msg,
                        size_t n)
{
    toy env;
    toy_init(&env, OD, AD);
    fpo_env_table tab = toy_table(&env);
    fpo_trainer_config tc;
    fpo_policy_config pc;
    fpo_trainer_config_init(&tc);
    fpo_policy_config_init(&pc);
    tc.env = &tab;
    tc.env_user = &env;
    tc.policy = &pc;
    edit(&tc, &pc);
    fpo_trainer *t = NULL;
    double t0 = seconds_now();
    int rc = fpo_trainer_create(&t, &tc);
    double dt = seconds_now() - t0;
    snprintf(msg, n, "%s", fpo_last_errmsg());
    ck_assert_ptr_null(t);
    ck_assert_int_eq(atomic_load(&env.created), 0); /* refused before any environment */
    ck_assert_msg(dt < 1.0, "refusing took %.2f s: %s", dt, msg);
    return rc;
}

static void edit_envs_int_max(fpo_trainer_config *tc, fpo_policy_config *pc)
{
    (void)pc;
    tc->num_envs = INT_MAX;
}

static void edit_envs_2_20(fpo_trainer_config *tc, fpo_policy_config *pc)
{
    (void)pc;
    tc->num_envs = 1 << 20; /* x horizon 64 = 2^26 transitions: within the limits */
    /* About 160 GiB at the defaults; on a machine with more, ask for more. */
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if ((double)pages * (double)size > 150.0 * 1024 * 1024 * 1024)
        tc->n_mc = 4096;
}

static void edit_batch_2_27(fpo_trainer_config *tc, fpo_policy_config *pc)
{
    (void)pc;
    tc->num_envs = 1 << 14;
    tc->horizon = 1 << 13;
}

static void edit_huge_network(fpo_trainer_config *tc, fpo_policy_config *pc)
{
    tc->num_envs = 2;
    pc->critic_layers = FPO_MAX_LAYERS;
    for (int i = 0; i < FPO_MAX_LAYERS; i++)
        pc->critic_hidden[i] = 65536; /* 30 billion parameters */
}

START_TEST(trainer_sizes_checked_up_front)
{
    char msg[FPO_ERRMSG_LEN];
    /* was "sampler: max_batch must be in [1, 2^24]" */
    ck_assert_int_eq(create_sized(edit_envs_int_max, msg, sizeof msg), FPO_ERANGE);
    ck_assert_msg(strstr(msg, "num_envs") && !strstr(msg, "max_batch"), "message: %s", msg);
    /* was FPO_ENOMEM after 10 s and 4 GB (here 93 s and 20 GB) */
    ck_assert_int_eq(create_sized(edit_envs_2_20, msg, sizeof msg), FPO_ENOMEM);
    ck_assert_msg(strstr(msg, "num_envs x horizon = 1048576 x 64") && strstr(msg, "GiB"),
                  "message: %s", msg);
    ck_assert_int_eq(create_sized(edit_batch_2_27, msg, sizeof msg), FPO_ERANGE);
    ck_assert_msg(strstr(msg, "num_envs x horizon = 16384 x 8192"), "message: %s", msg);
    ck_assert_int_eq(create_sized(edit_huge_network, msg, sizeof msg), FPO_ENOMEM);
    ck_assert_msg(strstr(msg, "GiB") && strstr(msg, "network sizes"), "message: %s", msg);
}
END_TEST

/* A trainer of ordinary size still gets created (the estimate is no obstacle). */
START_TEST(trainer_ordinary_size_created)
{
    toy env;
    fpo_env_table tab;
    fpo_trainer *t = make_trainer(&env, &tab, NULL, NULL);
    ck_assert_ptr_nonnull(t);
    fpo_trainer_destroy(t);
}
END_TEST

/* ---- the optional success flag ----------------------------------------- */

/* 1-D: episodes of 5 steps (truncated); instances with an even index report
 * FPO_STEP_SUCCESS on steps 2 and 3 (twice in one episode: counted once)
 * when *with_success. The env pointer is the instance index. */
typedef struct succ_env {
    int with_success;
    int t[8];
} succ_env;

static int succ_reset(void *user, void *env, uint64_t seed, float *obs)
{
    succ_env *u = user;
    u->t[(intptr_t)env] = 0;
    obs[0] = (float)(seed % 7) * 0.1f;
    return 0;
}

static int succ_step(void *user, void *env, const float *action, float *obs, float *reward,
                     unsigned *flags)
{
    succ_env *u = user;
    int i = (int)(intptr_t)env, t = ++u->t[i];
    obs[0] = action[0] * 0.5f + (float)t * 0.01f;
    *reward = -action[0] * action[0];
    *flags = t >= 5 ? FPO_STEP_TRUNCATED : 0u;
    if (u->with_success && i % 2 == 0 && (t == 2 || t == 3))
        *flags |= FPO_STEP_SUCCESS;
    return 0;
}

static fpo_env_table succ_table(void)
{
    fpo_env_table tab;
    memset(&tab, 0, sizeof tab);
    tab.struct_size = sizeof tab;
    tab.version = FPO_ENV_TABLE_VERSION;
    tab.obs_dim = 1;
    tab.act_dim = 1;
    tab.reset = succ_reset;
    tab.step = succ_step;
    return tab;
}

START_TEST(success_flag_counted_in_vecenv)
{
    succ_env u;
    memset(&u, 0, sizeof u);
    u.with_success = 1;
    fpo_env_table tab = succ_table();
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = &tab;
    vc.user = &u;
    vc.num_envs = 4;
    fpo_vecenv *v;
    ck_assert_int_eq(fpo_vecenv_create(&v, &vc), FPO_OK);
    float obs[4], act[4] = {0.1f, 0.2f, 0.3f, 0.4f}, rew[4], fin[4];
    unsigned fl[4];
    fpo_episode_stats st;
    st.struct_size = sizeof st;
    ck_assert_int_eq(fpo_vecenv_reset(v, obs), FPO_OK);
    for (int t = 1; t <= 4; t++) {
        ck_assert_int_eq(fpo_vecenv_step(v, act, obs, rew, fl, fin), FPO_OK);
        for (int i = 0; i < 4; i++) /* reported, and it does not end the episode */
            ck_assert_uint_eq(fl[i], i % 2 == 0 && (t == 2 || t == 3) ? FPO_STEP_SUCCESS : 0u);
    }
    ck_assert_int_eq(fpo_vecenv_take_episode_stats(v, &st), FPO_OK);
    ck_assert_int_eq(st.episodes, 0);
    ck_assert_int_eq(st.successes, 0);
    ck_assert_int_eq(fpo_vecenv_step(v, act, obs, rew, fl, fin), FPO_OK);
    ck_assert_int_eq(fpo_vecenv_take_episode_stats(v, &st), FPO_OK);
    ck_assert_int_eq(st.episodes, 4);
    ck_assert_int_eq(st.successes, 2); /* once per episode */
    /* the next episodes start without success */
    for (int t = 1; t <= 5; t++)
        ck_assert_int_eq(fpo_vecenv_step(v, act, obs, rew, fl, fin), FPO_OK);
    ck_assert_int_eq(fpo_vecenv_take_episode_stats(v, &st), FPO_OK);
    ck_assert_int_eq(st.episodes, 4);
    ck_assert_int_eq(st.successes, 2);
    /* an older caller's struct (without successes) is filled up to its size */
    fpo_episode_stats old;
    memset(&old, 0x5a, sizeof old);
    old.struct_size = offsetof(fpo_episode_stats, successes);
    ck_assert_int_eq(fpo_vecenv_take_episode_stats(v, &old), FPO_OK);
    int64_t untouched;
    memset(&untouched, 0x5a, sizeof untouched);
    ck_assert_mem_eq(&old.successes, &untouched, sizeof untouched);
    fpo_vecenv_destroy(v);
}
END_TEST

typedef struct succ_count {
    int64_t episodes, successes;
} succ_count;

static int count_successes(void *user, const fpo_progress *p)
{
    succ_count *c = user;
    c->episodes += p->episodes->episodes;
    c->successes += p->episodes->successes;
    return 0;
}

/* The success bit is statistics only: training is bit-identical without it. */
START_TEST(success_flag_does_not_change_training)
{
    float params[2][4096];
    size_t np = 0;
    succ_count counts[2];
    for (int k = 0; k < 2; k++) {
        succ_env u;
        memset(&u, 0, sizeof u);
        u.with_success = k;
        memset(&counts[k], 0, sizeof counts[k]);
        fpo_env_table tab = succ_table();
        fpo_policy_config pc;
        toy_policy_config(&pc, FPO_POLICY_FLOW, 1, 1);
        fpo_optimizer_config oc;
        fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
        oc.minibatches = 2;
        oc.epochs = 2;
        fpo_trainer_config tc;
        fpo_trainer_config_init(&tc);
        tc.env = &tab;
        tc.env_user = &u;
        tc.num_envs = 4;
        tc.horizon = 10;
        tc.n_mc = 2;
        tc.policy = &pc;
        tc.optimizer = &oc;
        tc.progress = count_successes;
        tc.progress_user = &counts[k];
        fpo_trainer *t;
        ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_OK);
        ck_assert_int_eq(fpo_trainer_run(t, 3 * 40), FPO_OK);
        fpo_policy_info info = {sizeof info};
        ck_assert_int_eq(fpo_policy_get_info(fpo_trainer_policy(t), &info), FPO_OK);
        np = info.actor_params + info.critic_params;
        ck_assert_uint_le(np, 4096);
        ck_assert_int_eq(fpo_policy_get_params(fpo_trainer_policy(t), FPO_NET_ALL, params[k], np),
                         FPO_OK);
        fpo_trainer_destroy(t);
    }
    ck_assert_mem_eq(params[0], params[1], np * sizeof(float));
    ck_assert_int_eq(counts[0].episodes, 24); /* 3 iterations x 4 envs x 2 episodes */
    ck_assert_int_eq(counts[0].successes, 0);
    ck_assert_int_eq(counts[1].episodes, 24);
    ck_assert_int_eq(counts[1].successes, 12);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("newuser");
    TCase *tc = tcase_create("issue19");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, load_from_fifo_fails_promptly);
    tcase_add_test(tc, restore_from_fifo_fails_promptly);
    tcase_add_test(tc, load_from_directory_fails);
    tcase_add_test(tc, save_and_load_file_roundtrip);
    tcase_add_test(tc, auto_reset_callback_failure_names_reset);
    tcase_add_test(tc, auto_reset_nan_names_reset);
    tcase_add_test(tc, step_failure_still_names_step);
    tcase_add_test(tc, checkpoint_count_out_of_range);
    tcase_add_test(tc, env_table_version_too_new);
    tcase_add_test(tc, normalize_obs_must_be_boolean);
    tcase_add_test(tc, deterministic_must_be_boolean);
    tcase_add_test(tc, gaussian_min_std_must_be_positive);
    tcase_add_test(tc, trainer_reentry_from_progress);
    tcase_add_test(tc, trainer_sizes_checked_up_front);
    tcase_add_test(tc, trainer_ordinary_size_created);
    tcase_add_test(tc, success_flag_counted_in_vecenv);
    tcase_add_test(tc, success_flag_does_not_change_training);
    suite_add_tcase(s, tc);
    return s;
}
