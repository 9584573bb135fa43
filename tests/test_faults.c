/* Faults from outside the library: allocation failure at every allocation
 * site, host environments that fail or produce NaN mid-rollout, checkpoint
 * writes that fail or are cut short, and updates that overflow. In each case
 * the call reports the documented code, leaks nothing and leaves the policy
 * exactly as it was. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fpo/fpo.h"
#include "testutil.h"
#include "toyenv.h"

#define OD 3
#define AD 2

/* ---- an allocator that fails the k-th allocation ---------------------------- */

typedef struct hook {
    long calls;   /* allocations attempted since arm() */
    long fail_at; /* 0: never fail */
    long live;    /* blocks allocated and not yet freed */
    long injected;
} hook;

static void *hook_alloc(void *user, size_t size, size_t align)
{
    hook *h = user;
    h->calls++;
    if (h->fail_at && h->calls == h->fail_at) {
        h->injected++;
        return NULL;
    }
    void *p = NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) != 0)
        return NULL;
    h->live++;
    return p;
}

static void hook_free(void *user, void *p)
{
    hook *h = user;
    if (p) {
        h->live--;
        free(p);
    }
}

static fpo_allocator hook_allocator(hook *h)
{
    fpo_allocator a = {sizeof a, hook_alloc, hook_free, h};
    return a;
}

static void arm(hook *h, long k)
{
    h->calls = 0;
    h->fail_at = k;
}

/* Faults injected over all tests of this process (each test runs forked,
 * so each reports its own share). */
static long total_injected;

/* Call make() with the k-th allocation failing for k = 1, 2, ... until it
 * succeeds: every failure must be FPO_ENOMEM with nothing left allocated and
 * *out NULL; returns the number of faults injected. */
typedef int (*make_fn)(void *ctx, const fpo_allocator *a, void **out);
typedef void (*free_fn)(void *obj);

static long every_allocation(const char *what, make_fn make, free_fn destroy, void *ctx,
                             int expect)
{
    hook h = {0};
    fpo_allocator a = hook_allocator(&h);
    long k;
    for (k = 1; k < 100000; k++) {
        arm(&h, k);
        void *obj = (void *)&h; /* poison */
        int rc = make(ctx, &a, &obj);
        if (rc == FPO_OK) {
            ck_assert_msg(h.calls < k, "%s: succeeded although allocation %ld failed", what, k);
            ck_assert_ptr_nonnull(obj);
            destroy(obj);
            break;
        }
        ck_assert_msg(rc == expect, "%s: allocation %ld failed -> %d (%s)", what, k, rc,
                      fpo_strerror(rc));
        ck_assert_msg(obj == NULL, "%s: *out not NULL after a failure", what);
        ck_assert_msg(h.live == 0, "%s: %ld blocks leaked when allocation %ld failed", what,
                      h.live, k);
    }
    ck_assert_msg(h.live == 0, "%s: %ld blocks leaked after destroy", what, h.live);
    ck_assert_int_eq(h.injected, k - 1);
    ck_assert_msg(k > 2, "%s: expected several allocations, saw %ld", what, k - 1);
    printf("faults: %-22s %4ld allocation sites, each failed once\n", what, k - 1);
    fflush(stdout);
    total_injected += k - 1;
    return k - 1;
}

static void pcfg(fpo_policy_config *pc, fpo_policy_kind kind)
{
    toy_policy_config(pc, kind, OD, AD);
}

static int make_policy(void *ctx, const fpo_allocator *a, void **out)
{
    fpo_policy_config pc;
    pcfg(&pc, *(fpo_policy_kind *)ctx);
    pc.allocator = a;
    return fpo_policy_create((fpo_policy **)out, &pc);
}
static void free_policy(void *o) { fpo_policy_destroy(o); }

typedef struct pctx {
    fpo_policy *p;
    fpo_buffer *b;
    const void *bytes;
    size_t n;
    int threads;
} pctx;

static int make_sampler(void *ctx, const fpo_allocator *a, void **out)
{
    pctx *c = ctx;
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.max_batch = 16;
    sc.allocator = a;
    return fpo_sampler_create((fpo_sampler **)out, c->p, &sc);
}
static void free_sampler(void *o) { fpo_sampler_destroy(o); }

static int make_buffer(void *ctx, const fpo_allocator *a, void **out)
{
    (void)ctx;
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = 4;
    bc.horizon = 8;
    bc.obs_dim = OD;
    bc.act_dim = AD;
    bc.allocator = a;
    return fpo_buffer_create((fpo_buffer **)out, &bc);
}
static void free_buffer(void *o) { fpo_buffer_destroy(o); }

static int make_optimizer(void *ctx, const fpo_allocator *a, void **out)
{
    pctx *c = ctx;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.minibatches = 4;
    oc.threads = c->threads;
    oc.allocator = a;
    return fpo_optimizer_create((fpo_optimizer **)out, c->p, c->b, &oc);
}
static void free_optimizer(void *o) { fpo_optimizer_destroy(o); }

static toy vec_env;
static fpo_env_table vec_tab;

static int make_vecenv(void *ctx, const fpo_allocator *a, void **out)
{
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = &vec_tab;
    vc.user = &vec_env;
    vc.num_envs = 4;
    vc.threads = *(int *)ctx;
    vc.allocator = a;
    int rc = fpo_vecenv_create((fpo_vecenv **)out, &vc);
    /* every instance the host made was destroyed again */
    if (rc)
        ck_assert_int_eq(atomic_load(&vec_env.created), atomic_load(&vec_env.destroyed));
    return rc;
}
static void free_vecenv(void *o) { fpo_vecenv_destroy(o); }

static int make_trainer(void *ctx, const fpo_allocator *a, void **out)
{
    fpo_trainer_config tc;
    fpo_policy_config pc;
    fpo_optimizer_config oc;
    pcfg(&pc, FPO_POLICY_FLOW);
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.minibatches = 2;
    oc.epochs = 1;
    fpo_trainer_config_init(&tc);
    tc.env = &vec_tab;
    tc.env_user = &vec_env;
    tc.num_envs = 2;
    tc.horizon = 4;
    tc.n_mc = 2;
    tc.threads = *(int *)ctx;
    tc.policy = &pc;
    tc.optimizer = &oc;
    tc.allocator = a;
    int rc = fpo_trainer_create((fpo_trainer **)out, &tc);
    if (rc)
        ck_assert_int_eq(atomic_load(&vec_env.created), atomic_load(&vec_env.destroyed));
    return rc;
}
static void free_trainer(void *o) { fpo_trainer_destroy(o); }

static int make_loaded(void *ctx, const fpo_allocator *a, void **out)
{
    pctx *c = ctx;
    return fpo_policy_load_mem((fpo_policy **)out, c->bytes, c->n, a);
}

static int make_clone(void *ctx, const fpo_allocator *a, void **out)
{
    /* clone allocates through the source's allocator: make the source with
     * this one (failures there are counted by the policy case already) */
    (void)a;
    return fpo_policy_clone((fpo_policy **)out, ((pctx *)ctx)->p);
}

static fpo_policy *plain_policy(fpo_policy_kind kind)
{
    fpo_policy_config pc;
    pcfg(&pc, kind);
    fpo_policy *p;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    return p;
}

START_TEST(alloc_failure_every_create)
{
    long before = total_injected;
    fpo_policy_kind flow = FPO_POLICY_FLOW, gauss = FPO_POLICY_GAUSSIAN;
    every_allocation("policy_create flow", make_policy, free_policy, &flow, FPO_ENOMEM);
    every_allocation("policy_create gaussian", make_policy, free_policy, &gauss, FPO_ENOMEM);

    pctx c = {0};
    c.p = plain_policy(FPO_POLICY_FLOW);
    every_allocation("sampler_create", make_sampler, free_sampler, &c, FPO_ENOMEM);
    every_allocation("buffer_create", make_buffer, free_buffer, &c, FPO_ENOMEM);
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = 4;
    bc.horizon = 8;
    bc.obs_dim = OD;
    bc.act_dim = AD;
    ck_assert_int_eq(fpo_buffer_create(&c.b, &bc), FPO_OK);
    c.threads = 1;
    every_allocation("optimizer_create", make_optimizer, free_optimizer, &c, FPO_ENOMEM);
    c.threads = 3; /* the worker pool allocates too */
    every_allocation("optimizer_create 3thr", make_optimizer, free_optimizer, &c, FPO_ENOMEM);

    /* load_mem of a valid checkpoint */
    size_t n;
    ck_assert_int_eq(fpo_policy_save_mem(c.p, NULL, 0, &n), FPO_OK);
    void *bytes = malloc(n);
    ck_assert_int_eq(fpo_policy_save_mem(c.p, bytes, n, &n), FPO_OK);
    c.bytes = bytes;
    c.n = n;
    every_allocation("policy_load_mem", make_loaded, free_policy, &c, FPO_ENOMEM);
    free(bytes);
    fpo_buffer_destroy(c.b);
    fpo_policy_destroy(c.p);

    /* clone through the source's allocator */
    hook h = {0};
    fpo_allocator a = hook_allocator(&h);
    fpo_policy_config pc;
    pcfg(&pc, FPO_POLICY_FLOW);
    pc.allocator = &a;
    ck_assert_int_eq(fpo_policy_create(&c.p, &pc), FPO_OK);
    long live0 = h.live;
    long k;
    for (k = 1;; k++) {
        arm(&h, k);
        fpo_policy *q = c.p;
        int rc = fpo_policy_clone(&q, c.p);
        if (rc == FPO_OK) {
            fpo_policy_destroy(q);
            break;
        }
        ck_assert_int_eq(rc, FPO_ENOMEM);
        ck_assert_ptr_null(q);
        ck_assert_int_eq(h.live, live0);
    }
    ck_assert_int_eq(h.live, live0);
    total_injected += k - 1;
    printf("faults: %-22s %4ld allocation sites, each failed once\n", "policy_clone", k - 1);
    fflush(stdout);
    arm(&h, 0);
    fpo_policy_destroy(c.p);
    ck_assert_int_eq(h.live, 0);
    (void)make_clone;

    int threads = 1;
    toy_init(&vec_env, OD, AD);
    vec_tab = toy_table(&vec_env);
    every_allocation("vecenv_create", make_vecenv, free_vecenv, &threads, FPO_ENOMEM);
    threads = 2;
    every_allocation("vecenv_create 2thr", make_vecenv, free_vecenv, &threads, FPO_ENOMEM);
    threads = 1;
    every_allocation("trainer_create", make_trainer, free_trainer, &threads, FPO_ENOMEM);
    threads = 2;
    every_allocation("trainer_create 2thr", make_trainer, free_trainer, &threads, FPO_ENOMEM);
    printf("faults: allocation faults injected by create functions: %ld\n",
           total_injected - before);
    fflush(stdout);
}
END_TEST

static unsigned char *file_bytes(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

static void make_tmpdir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/fpo_faults_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Files in dir (to find stray temporary files). */
static int count_files(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    ck_assert_int_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

START_TEST(alloc_failure_in_save)
{
    /* fpo_policy_save and fpo_trainer_save allocate through the handle's
     * allocator: every failure is FPO_ENOMEM, leaks nothing, and leaves the
     * previous checkpoint at the path intact. */
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/p.ckpt", dir);
    hook h = {0};
    fpo_allocator a = hook_allocator(&h);
    fpo_policy_config pc;
    pcfg(&pc, FPO_POLICY_FLOW);
    pc.allocator = &a;
    fpo_policy *p, *q;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    pc.seed = 77;
    ck_assert_int_eq(fpo_policy_create(&q, &pc), FPO_OK);
    ck_assert_int_eq(fpo_policy_save(q, path), FPO_OK);
    size_t n0, n1;
    unsigned char *before = file_bytes(path, &n0);
    long live0 = h.live, k;
    for (k = 1;; k++) {
        arm(&h, k);
        int rc = fpo_policy_save(p, path);
        if (rc == FPO_OK)
            break;
        ck_assert_int_eq(rc, FPO_ENOMEM);
        ck_assert_str_ne(fpo_policy_errmsg(p), "");
        ck_assert_int_eq(h.live, live0);
        unsigned char *now = file_bytes(path, &n1);
        ck_assert(n1 == n0 && memcmp(now, before, n0) == 0);
        free(now);
        ck_assert_int_eq(count_files(dir), 1);
    }
    ck_assert_int_eq(h.live, live0);
    ck_assert_int_gt(k, 1);
    total_injected += k - 1;
    printf("faults: %-22s %4ld allocation sites, each failed once\n", "policy_save", k - 1);
    arm(&h, 0);
    fpo_policy *r;
    ck_assert_int_eq(fpo_policy_load(&r, path, NULL), FPO_OK); /* the new one, complete */
    fpo_policy_destroy(r);
    fpo_policy_destroy(p);
    fpo_policy_destroy(q);
    ck_assert_int_eq(h.live, 0);

    /* trainer_save */
    toy_init(&vec_env, OD, AD);
    vec_tab = toy_table(&vec_env);
    int threads = 1;
    fpo_trainer *t;
    ck_assert_int_eq(make_trainer(&threads, &a, (void **)&t), FPO_OK);
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    snprintf(path, sizeof path, "%s/t.ckpt", dir);
    ck_assert_int_eq(fpo_trainer_save(t, path), FPO_OK);
    free(before);
    before = file_bytes(path, &n0);
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    live0 = h.live;
    for (k = 1;; k++) {
        arm(&h, k);
        int rc = fpo_trainer_save(t, path);
        if (rc == FPO_OK)
            break;
        ck_assert_int_eq(rc, FPO_ENOMEM);
        ck_assert_int_eq(h.live, live0);
        unsigned char *now = file_bytes(path, &n1);
        ck_assert(n1 == n0 && memcmp(now, before, n0) == 0);
        free(now);
    }
    total_injected += k - 1;
    printf("faults: %-22s %4ld allocation sites, each failed once\n", "trainer_save", k - 1);
    /* and restore: the trainer is unchanged by every failure */
    size_t np0;
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    ck_assert_int_eq(fpo_policy_save_mem(fpo_trainer_policy(t), NULL, 0, &np0), FPO_OK);
    unsigned char *pol0 = malloc(np0), *pol1 = malloc(np0);
    ck_assert_int_eq(fpo_policy_save_mem(fpo_trainer_policy(t), pol0, np0, &np0), FPO_OK);
    int64_t steps0 = fpo_optimizer_step_count(fpo_trainer_optimizer(t));
    live0 = h.live;
    for (k = 1;; k++) {
        arm(&h, k);
        int rc = fpo_trainer_restore(t, path);
        if (rc == FPO_OK)
            break;
        ck_assert_int_eq(rc, FPO_ENOMEM);
        ck_assert_int_eq(h.live, live0);
        ck_assert_int_eq(fpo_policy_save_mem(fpo_trainer_policy(t), pol1, np0, &np0), FPO_OK);
        ck_assert(memcmp(pol0, pol1, np0) == 0);
        ck_assert_int_eq(fpo_optimizer_step_count(fpo_trainer_optimizer(t)), steps0);
    }
    total_injected += k - 1;
    printf("faults: %-22s %4ld allocation sites, each failed once\n", "trainer_restore", k - 1);
    arm(&h, 0);
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    fpo_trainer_destroy(t);
    ck_assert_int_eq(h.live, 0);
    free(pol0);
    free(pol1);
    free(before);
    rm_rf(dir);
    fflush(stdout);
}
END_TEST

/* ---- host environments failing mid-rollout ------------------------------------ */

static fpo_trainer *toy_trainer(toy *e, fpo_env_table *tab, int threads)
{
    fpo_policy_config pc;
    pcfg(&pc, FPO_POLICY_FLOW);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.minibatches = 2;
    oc.epochs = 2;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = tab;
    tc.env_user = e;
    tc.num_envs = 4;
    tc.horizon = 8;
    tc.n_mc = 2;
    tc.threads = threads;
    tc.policy = &pc;
    tc.optimizer = &oc;
    fpo_trainer *t;
    ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_OK);
    return t;
}

static unsigned char *policy_bytes(const fpo_policy *p, size_t *n)
{
    ck_assert_int_eq(fpo_policy_save_mem(p, NULL, 0, n), FPO_OK);
    unsigned char *b = malloc(*n);
    ck_assert_int_eq(fpo_policy_save_mem(p, b, *n, n), FPO_OK);
    return b;
}

START_TEST(env_fails_mid_rollout)
{
    /* _i: 0 callback error, 1 NaN observation, 2 NaN reward, 3 -Inf reward,
     * 4 reset fails (at an automatic reset), each with 1 and 2 threads. */
    int kind = _i % 5, threads = 1 + _i / 5;
    toy e;
    toy_init(&e, OD, AD);
    fpo_env_table tab = toy_table(&e);
    fpo_trainer *t = toy_trainer(&e, &tab, threads);
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    size_t n0, n1;
    unsigned char *before = policy_bytes(fpo_trainer_policy(t), &n0);
    int64_t steps0 = fpo_optimizer_step_count(fpo_trainer_optimizer(t));
    int64_t env0 = fpo_trainer_env_steps(t);
    long now = atomic_load(&e.steps);
    long mid = now + 4 * 8 / 2 + 1; /* halfway through the next rollout */
    int expect = FPO_ECALLBACK;
    switch (kind) {
    case 0: atomic_store(&e.fail_step_at, mid); break;
    case 1: atomic_store(&e.nan_obs_at, mid); expect = FPO_ENONFINITE; break;
    case 2: atomic_store(&e.nan_rew_at, mid); expect = FPO_ENONFINITE; break;
    case 3: atomic_store(&e.inf_rew_at, mid); expect = FPO_ENONFINITE; break;
    case 4: atomic_store(&e.fail_reset_next, 1); break; /* episodes end every 7 steps */
    }
    fpo_progress pr = {sizeof pr};
    int rc = fpo_trainer_iterate(t, &pr);
    ck_assert_msg(rc == expect, "kind %d: %d (%s)", kind, rc, fpo_strerror(rc));
    ck_assert_str_ne(fpo_trainer_errmsg(t), "");
    ck_assert(atomic_load(&e.steps) > now + 1); /* it failed mid-rollout */
    unsigned char *after = policy_bytes(fpo_trainer_policy(t), &n1);
    ck_assert_msg(n0 == n1 && memcmp(before, after, n0) == 0, "policy changed by a failed iteration");
    ck_assert_int_eq(fpo_optimizer_step_count(fpo_trainer_optimizer(t)), steps0);
    ck_assert_int_eq(fpo_trainer_env_steps(t), env0);
    free(after);
    /* the environment recovered (one-shot faults): the next iteration works */
    ck_assert_int_eq(fpo_trainer_iterate(t, &pr), FPO_OK);
    ck_assert_int_eq(pr.iteration, 2);
    after = policy_bytes(fpo_trainer_policy(t), &n1);
    ck_assert(memcmp(before, after, n0) != 0); /* and it trained */
    ck_assert_int_gt(fpo_optimizer_step_count(fpo_trainer_optimizer(t)), steps0);
    free(after);
    free(before);
    fpo_trainer_destroy(t);
    ck_assert_int_eq(atomic_load(&e.created), atomic_load(&e.destroyed));
}
END_TEST

/* ---- checkpoint writes that fail or are cut short ------------------------------ */

START_TEST(save_failure_keeps_previous_checkpoint)
{
    char dir[64], path[128], bad[160];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/p.ckpt", dir);
    fpo_policy *p = plain_policy(FPO_POLICY_FLOW), *q;
    ck_assert_int_eq(fpo_policy_save(p, path), FPO_OK);
    size_t n0, n1;
    unsigned char *before = file_bytes(path, &n0);
    fpo_policy_config pc;
    pcfg(&pc, FPO_POLICY_FLOW);
    pc.seed = 1234;
    ck_assert_int_eq(fpo_policy_create(&q, &pc), FPO_OK);

    /* directory missing; parent a regular file (fails for root too) */
    snprintf(bad, sizeof bad, "%s/missing/p.ckpt", dir);
    ck_assert_int_eq(fpo_policy_save(q, bad), FPO_EIO);
    ck_assert_str_ne(fpo_policy_errmsg(q), "");
    snprintf(bad, sizeof bad, "%s/p.ckpt/x.ckpt", dir);
    ck_assert_int_eq(fpo_policy_save(q, bad), FPO_EIO);

    /* writing the real path fails half-way: a file size limit makes write()
     * fail with EFBIG (root is not exempt); SIGXFSZ is ignored meanwhile */
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = n0 / 2;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = fpo_policy_save(q, path);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    ck_assert_int_eq(rc, FPO_EIO);
    ck_assert_str_ne(fpo_policy_errmsg(q), "");
    ck_assert_int_eq(count_files(dir), 1); /* no temporary file left behind */

    /* the previous checkpoint is intact and loads as p */
    unsigned char *now = file_bytes(path, &n1);
    ck_assert(n1 == n0 && memcmp(now, before, n0) == 0);
    free(now);
    fpo_policy *r;
    ck_assert_int_eq(fpo_policy_load(&r, path, NULL), FPO_OK);
    size_t m;
    now = policy_bytes(r, &m);
    ck_assert(m == n0 && memcmp(now, before, m) == 0);
    free(now);
    fpo_policy_destroy(r);
    /* and the handle still saves */
    ck_assert_int_eq(fpo_policy_save(q, path), FPO_OK);
    fpo_policy_destroy(q);
    fpo_policy_destroy(p);
    free(before);
    rm_rf(dir);
}
END_TEST

static long truncations_tried, flips_tried;

START_TEST(truncated_or_flipped_checkpoints_never_load)
{
    /* A crash during a non-atomic copy leaves a prefix; storage corrupts a
     * byte. Every prefix and every single-byte change of a small checkpoint
     * must be rejected (CRC-32 catches every error burst of <= 32 bits). */
    fpo_policy_config pc;
    toy_policy_config(&pc, _i ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW, 2, 1);
    pc.actor_layers = 1;
    pc.critic_layers = 1;
    pc.actor_hidden[0] = pc.critic_hidden[0] = 4;
    fpo_policy *p, *r;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    float obs[4] = {1, 2, 3, 5};
    ck_assert_int_eq(fpo_policy_obs_accumulate(p, obs, 2), FPO_OK);
    ck_assert_int_eq(fpo_policy_obs_commit(p), FPO_OK);
    size_t n;
    unsigned char *b = policy_bytes(p, &n);
    for (size_t len = 0; len < n; len++) {
        unsigned char *c = malloc(len ? len : 1);
        memcpy(c, b, len);
        r = (fpo_policy *)c;
        int rc = fpo_policy_load_mem(&r, c, len, NULL);
        ck_assert_msg(rc == FPO_EFORMAT || rc == FPO_EVERSION, "prefix %zu: %d", len, rc);
        ck_assert_ptr_null(r);
        free(c);
        truncations_tried++;
    }
    static const unsigned char masks[] = {0x01, 0x80, 0xff, 0x5a};
    unsigned char *c = malloc(n);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof masks; k++) {
            memcpy(c, b, n);
            c[i] ^= masks[k];
            int rc = fpo_policy_load_mem(&r, c, n, NULL);
            ck_assert_msg(rc == FPO_EFORMAT || rc == FPO_EVERSION, "byte %zu ^ %#x: %d", i,
                          masks[k], rc);
            ck_assert_ptr_null(r);
            flips_tried++;
        }
    /* the untouched bytes still load, to the same policy */
    ck_assert_int_eq(fpo_policy_load_mem(&r, b, n, NULL), FPO_OK);
    size_t m;
    unsigned char *again = policy_bytes(r, &m);
    ck_assert(m == n && memcmp(again, b, n) == 0);
    free(again);
    fpo_policy_destroy(r);

    /* the same through files, for a spread of lengths */
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/cut.ckpt", dir);
    for (size_t len = 0; len < n; len += 7) {
        FILE *f = fopen(path, "wb");
        fwrite(b, 1, len, f);
        fclose(f);
        int rc = fpo_policy_load(&r, path, NULL);
        ck_assert_msg(rc == FPO_EFORMAT || rc == FPO_EVERSION, "file prefix %zu: %d", len, rc);
        ck_assert_str_ne(fpo_last_errmsg(), "");
    }
    rm_rf(dir);
    printf("faults: checkpoint (%s, %zu bytes): %ld truncations, %ld byte flips rejected\n",
           _i ? "gaussian" : "flow", n, truncations_tried, flips_tried);
    fflush(stdout);
    free(c);
    free(b);
    fpo_policy_destroy(p);
}
END_TEST

START_TEST(truncated_trainer_checkpoints_never_restore)
{
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.ckpt", dir);
    toy e;
    toy_init(&e, OD, AD);
    fpo_env_table tab = toy_table(&e);
    fpo_trainer *t = toy_trainer(&e, &tab, 1);
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    ck_assert_int_eq(fpo_trainer_save(t, path), FPO_OK);
    size_t n, np, m;
    unsigned char *b = file_bytes(path, &n);
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    unsigned char *pol = policy_bytes(fpo_trainer_policy(t), &np);
    int64_t steps = fpo_optimizer_step_count(fpo_trainer_optimizer(t));
    long tried = 0;
    for (size_t len = 0; len < n; len += (len < 64 || n - len < 64) ? 1 : 13) {
        FILE *f = fopen(path, "wb");
        fwrite(b, 1, len, f);
        fclose(f);
        int rc = fpo_trainer_restore(t, path);
        ck_assert_msg(rc == FPO_EFORMAT || rc == FPO_EVERSION, "prefix %zu: %d", len, rc);
        tried++;
    }
    for (size_t i = 0; i < n; i += 11) {
        b[i] ^= 0x20;
        FILE *f = fopen(path, "wb");
        fwrite(b, 1, n, f);
        fclose(f);
        b[i] ^= 0x20;
        int rc = fpo_trainer_restore(t, path);
        ck_assert_msg(rc == FPO_EFORMAT || rc == FPO_EVERSION, "flip %zu: %d", i, rc);
        tried++;
    }
    /* nothing of it reached the trainer */
    unsigned char *now = policy_bytes(fpo_trainer_policy(t), &m);
    ck_assert(m == np && memcmp(now, pol, np) == 0);
    ck_assert_int_eq(fpo_optimizer_step_count(fpo_trainer_optimizer(t)), steps);
    free(now);
    /* the intact file restores, and training goes on */
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    ck_assert_int_eq(fpo_trainer_restore(t, path), FPO_OK);
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    printf("faults: trainer checkpoint (%zu bytes): %ld damaged copies rejected\n", n, tried);
    fflush(stdout);
    free(pol);
    free(b);
    fpo_trainer_destroy(t);
    rm_rf(dir);
}
END_TEST

/* ---- divergence ------------------------------------------------------------------- */

START_TEST(divergence_guard_keeps_parameters)
{
    /* Rewards of 1e38 are finite (the buffer and the vecenv accept them) but
     * scaled by reward_scale they overflow: returns, advantages and losses
     * become Inf/NaN. The update must skip every such step and report
     * FPO_EDIVERGED with the parameters bit-identical and finite. */
    fpo_policy *p = plain_policy(_i ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW);
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = 2;
    bc.horizon = 4;
    bc.obs_dim = OD;
    bc.act_dim = AD;
    bc.n_mc = _i ? 0 : 2;
    fpo_buffer *b;
    ck_assert_int_eq(fpo_buffer_create(&b, &bc), FPO_OK);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, _i ? FPO_ALGO_PPO : FPO_ALGO_FPO);
    oc.minibatches = 2;
    oc.epochs = 2;
    fpo_optimizer *o;
    ck_assert_int_eq(fpo_optimizer_create(&o, p, b, &oc), FPO_OK);
    float obs[2 * OD] = {0.1f, 0.2f, 0.3f, -0.1f, 0.0f, 0.4f}, act[2 * AD] = {0.5f, -0.5f, 0.1f, 0.2f};
    float rew[2] = {1e38f, -1e38f};
    unsigned fl[2] = {0, 0};
    for (int h = 0; h < 4; h++)
        ck_assert_int_eq(fpo_buffer_add(b, obs, act, rew, fl, NULL), FPO_OK);
    ck_assert_int_eq(fpo_buffer_set_last_obs(b, obs), FPO_OK);
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
    size_t np = info.actor_params + info.critic_params;
    float *w0 = malloc(np * 4), *w1 = malloc(np * 4);
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ALL, w0, np), FPO_OK);
    fpo_update_stats st = {sizeof st};
    int rc = fpo_optimizer_update(o, p, b, &st);
    ck_assert_msg(rc == FPO_EDIVERGED, "update: %d (%s)", rc, fpo_strerror(rc));
    ck_assert_str_ne(fpo_optimizer_errmsg(o), "");
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ALL, w1, np), FPO_OK);
    ck_assert_mem_eq(w0, w1, np * 4);
    for (size_t i = 0; i < np; i++)
        ck_assert(isfinite(w1[i]));
    ck_assert_int_eq(fpo_optimizer_step_count(o), 0);
    /* the observation statistics committed at the start were rolled back too */
    fpo_policy_info after = {sizeof after};
    ck_assert_int_eq(fpo_policy_get_info(p, &after), FPO_OK);
    ck_assert_int_eq(after.obs_count, info.obs_count);
    /* the same optimizer and policy update normally on sane data */
    rew[0] = 1.0f;
    rew[1] = -1.0f;
    ck_assert_int_eq(fpo_buffer_clear(b), FPO_OK);
    for (int h = 0; h < 4; h++)
        ck_assert_int_eq(fpo_buffer_add(b, obs, act, rew, fl, NULL), FPO_OK);
    ck_assert_int_eq(fpo_buffer_set_last_obs(b, obs), FPO_OK);
    ck_assert_int_eq(fpo_optimizer_update(o, p, b, &st), FPO_OK);
    ck_assert_int_eq(st.steps, 4);
    ck_assert_int_eq(st.skipped_steps, 0);
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ALL, w1, np), FPO_OK);
    ck_assert(memcmp(w0, w1, np * 4) != 0);
    free(w0);
    free(w1);
    fpo_optimizer_destroy(o);
    fpo_buffer_destroy(b);
    fpo_policy_destroy(p);
}
END_TEST

START_TEST(divergence_through_the_trainer)
{
    /* A host whose rewards blow up to 1e38 for one iteration. */
    toy e;
    toy_init(&e, OD, AD);
    fpo_env_table tab = toy_table(&e);
    fpo_trainer *t = toy_trainer(&e, &tab, 1 + _i);
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    fpo_policy *p = fpo_trainer_policy(t);
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
    size_t np = info.actor_params + info.critic_params;
    float *w0 = malloc(np * 4), *w1 = malloc(np * 4);
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ALL, w0, np), FPO_OK);
    int64_t steps0 = fpo_optimizer_step_count(fpo_trainer_optimizer(t));
    e.fixed_reward = 1e38f;
    int rc = fpo_trainer_iterate(t, NULL);
    ck_assert_msg(rc == FPO_EDIVERGED, "iterate: %d (%s)", rc, fpo_strerror(rc));
    ck_assert_str_ne(fpo_trainer_errmsg(t), "");
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ALL, w1, np), FPO_OK);
    ck_assert_mem_eq(w0, w1, np * 4);
    ck_assert_int_eq(fpo_optimizer_step_count(fpo_trainer_optimizer(t)), steps0);
    e.fixed_reward = 0.0f;
    fpo_progress pr = {sizeof pr};
    ck_assert_int_eq(fpo_trainer_iterate(t, &pr), FPO_OK);
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ALL, w1, np), FPO_OK);
    for (size_t i = 0; i < np; i++)
        ck_assert(isfinite(w1[i]));
    ck_assert(memcmp(w0, w1, np * 4) != 0);
    free(w0);
    free(w1);
    fpo_trainer_destroy(t);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *a = tcase_create("allocation");
    tcase_set_timeout(a, 120);
    tcase_add_test(a, alloc_failure_every_create);
    tcase_add_test(a, alloc_failure_in_save);
    suite_add_tcase(s, a);
    TCase *env = tcase_create("environment");
    tcase_add_loop_test(env, env_fails_mid_rollout, 0, 10);
    suite_add_tcase(s, env);
    TCase *ck = tcase_create("checkpoint");
    tcase_set_timeout(ck, 120);
    tcase_add_test(ck, save_failure_keeps_previous_checkpoint);
    tcase_add_loop_test(ck, truncated_or_flipped_checkpoints_never_load, 0, 2);
    tcase_add_test(ck, truncated_trainer_checkpoints_never_restore);
    suite_add_tcase(s, ck);
    TCase *dv = tcase_create("divergence");
    tcase_add_loop_test(dv, divergence_guard_keeps_parameters, 0, 2);
    tcase_add_loop_test(dv, divergence_through_the_trainer, 0, 2);
    suite_add_tcase(s, dv);
    return s;
}
