/* Bad input to every public function: NULL handles and pointers, wrong
 * sizes, NaN/Inf in observations, rewards, actions, parameters and configs,
 * out-of-range dimensions and enums, bad struct_size, mismatched handles and
 * wrong call order.
 *
 * Table-driven: each row names a call, the code it must return and the
 * handle whose error message it must set. Every row runs on a fresh fixture
 * (every kind of handle, all made successfully) and then checks that
 *   - the call returned exactly the expected negative code (no crash: each
 *     row is its own forked Check test),
 *   - the named handle's errmsg (or fpo_last_errmsg for loads) is non-empty,
 *   - the failed call changed nothing observable: the policies' checkpoint
 *     bytes, the sampler's random stream and configuration (against a twin
 *     made identically), the buffer's contents and stream (against a twin),
 *     the optimizer's tunables and step count, the trainer's policy,
 *   - every handle of the fixture still works: a good call on each succeeds.
 *
 * The number of rows is printed and pinned by bad_input_case_count. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fpo/fpo.h"
#include "testutil.h"
#include "toyenv.h"

#define OD 3
#define AD 2
#define NE 2 /* environments of the fixture's buffers and vecenv */
#define HZ 4 /* their horizon */
#define NMC 2

/* ---- the fixture -------------------------------------------------------- */

typedef struct fx {
    toy venv, tenv; /* host state of the vecenv and of the trainer */
    fpo_env_table vtab, ttab;
    fpo_policy *pf;      /* flow policy the sampler, buffers and optimizer fit */
    fpo_policy *pg;      /* Gaussian policy of the same sizes */
    fpo_policy *pobs4;   /* flow policy with obs_dim 4 */
    fpo_policy *pwide;   /* flow policy with the same sizes, wider actor */
    fpo_policy *pbig;    /* pf's shape, parameters 1e30: forward overflows */
    fpo_policy *pnan_mc; /* flow policy with the same sizes */
    fpo_sampler *s, *s_twin;
    fpo_buffer *b, *b_twin; /* empty */
    fpo_buffer *bfull;      /* full, last observations set */
    fpo_buffer *bpart;      /* 2 of HZ steps */
    fpo_buffer *bnolast;    /* full, set_last_obs never called */
    fpo_buffer *bne3;       /* num_envs 3: does not fit o */
    fpo_buffer *bg;         /* Gaussian (n_mc 0), full */
    fpo_optimizer *o;
    fpo_vecenv *v; /* reset done */
    fpo_trainer *t;
    /* snapshots taken before the call */
    unsigned char *pf_bytes, *pg_bytes, *t_bytes;
    size_t pf_n, pg_n, t_n;
    double opt_keys[64]; /* >= fpo_optimizer_key_count(), checked in the fixture */
    int b_steps, bfull_steps;
    char tmpdir[64];
    char path[256];
} fx;

static const float good_obs[NE * OD] = {0.1f, -0.2f, 0.3f, 0.5f, 0.0f, -0.4f};
static const float good_act[NE * AD] = {0.2f, -0.1f, 0.0f, 0.3f};
static const float good_rew[NE] = {1.0f, -0.5f};
static const unsigned no_flags[NE] = {0, 0};

static fpo_policy *mk_policy(fpo_policy_kind kind, int od, int width)
{
    fpo_policy_config pc;
    toy_policy_config(&pc, kind, od, AD);
    pc.actor_hidden[0] = pc.actor_hidden[1] = width;
    fpo_policy *p = NULL;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    return p;
}

static fpo_buffer *mk_buffer(int num_envs, int n_mc, int steps, int last)
{
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = num_envs;
    bc.horizon = HZ;
    bc.obs_dim = OD;
    bc.act_dim = AD;
    bc.n_mc = n_mc;
    bc.seed = 17;
    fpo_buffer *b = NULL;
    ck_assert_int_eq(fpo_buffer_create(&b, &bc), FPO_OK);
    float obs[3 * OD], act[3 * AD], rew[3];
    unsigned fl[3] = {0, 0, 0};
    for (int i = 0; i < 3 * OD; i++)
        obs[i] = 0.1f * (float)(i % 5) - 0.2f;
    for (int i = 0; i < 3 * AD; i++)
        act[i] = 0.3f * (float)(i % 3) - 0.3f;
    for (int i = 0; i < 3; i++)
        rew[i] = (float)i - 1.0f;
    for (int h = 0; h < steps; h++) {
        fl[0] = h == 1 ? FPO_STEP_TRUNCATED : 0u;
        ck_assert_int_eq(fpo_buffer_add(b, obs, act, rew, fl, obs), FPO_OK);
    }
    if (last)
        ck_assert_int_eq(fpo_buffer_set_last_obs(b, obs), FPO_OK);
    return b;
}

static unsigned char *policy_bytes(const fpo_policy *p, size_t *n)
{
    ck_assert_int_eq(fpo_policy_save_mem(p, NULL, 0, n), FPO_OK);
    unsigned char *buf = malloc(*n);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fpo_policy_save_mem(p, buf, *n, n), FPO_OK);
    return buf;
}

static void fx_snapshot(fx *f)
{
    free(f->pf_bytes);
    free(f->pg_bytes);
    free(f->t_bytes);
    f->pf_bytes = policy_bytes(f->pf, &f->pf_n);
    f->pg_bytes = policy_bytes(f->pg, &f->pg_n);
    f->t_bytes = policy_bytes(fpo_trainer_policy(f->t), &f->t_n);
    ck_assert_int_le(fpo_optimizer_key_count(), 64);
    for (int k = 0; k < fpo_optimizer_key_count(); k++)
        ck_assert_int_eq(fpo_optimizer_get(f->o, (fpo_opt_key)k, &f->opt_keys[k]), FPO_OK);
    f->b_steps = fpo_buffer_steps(f->b);
    f->bfull_steps = fpo_buffer_steps(f->bfull);
}

static void fx_create(fx *f)
{
    memset(f, 0, sizeof *f);
    toy_init(&f->venv, OD, AD);
    toy_init(&f->tenv, OD, AD);
    f->vtab = toy_table(&f->venv);
    f->ttab = toy_table(&f->tenv);
    f->pf = mk_policy(FPO_POLICY_FLOW, OD, 8);
    f->pg = mk_policy(FPO_POLICY_GAUSSIAN, OD, 8);
    f->pobs4 = mk_policy(FPO_POLICY_FLOW, 4, 8);
    f->pwide = mk_policy(FPO_POLICY_FLOW, OD, 16);
    f->pnan_mc = mk_policy(FPO_POLICY_FLOW, OD, 8);
    {
        fpo_policy_config pc;
        toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
        pc.normalize_obs = 0;
        ck_assert_int_eq(fpo_policy_create(&f->pbig, &pc), FPO_OK);
        fpo_policy_info info = {sizeof info};
        ck_assert_int_eq(fpo_policy_get_info(f->pbig, &info), FPO_OK);
        size_t n = info.actor_params;
        float *w = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            w[i] = 1e30f;
        ck_assert_int_eq(fpo_policy_set_params(f->pbig, FPO_NET_ACTOR, w, n), FPO_OK);
        free(w);
    }
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.max_batch = NE;
    sc.seed = 99;
    ck_assert_int_eq(fpo_sampler_create(&f->s, f->pf, &sc), FPO_OK);
    ck_assert_int_eq(fpo_sampler_create(&f->s_twin, f->pf, &sc), FPO_OK);
    f->b = mk_buffer(NE, NMC, 0, 0);
    f->b_twin = mk_buffer(NE, NMC, 0, 0);
    f->bfull = mk_buffer(NE, NMC, HZ, 1);
    f->bpart = mk_buffer(NE, NMC, 2, 1);
    f->bnolast = mk_buffer(NE, NMC, HZ, 0);
    f->bne3 = mk_buffer(3, NMC, HZ, 1);
    f->bg = mk_buffer(NE, 0, HZ, 1);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.epochs = 1;
    oc.minibatches = 2;
    ck_assert_int_eq(fpo_optimizer_create(&f->o, f->pf, f->bfull, &oc), FPO_OK);
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = &f->vtab;
    vc.user = &f->venv;
    vc.num_envs = NE;
    ck_assert_int_eq(fpo_vecenv_create(&f->v, &vc), FPO_OK);
    float obs[NE * OD];
    ck_assert_int_eq(fpo_vecenv_reset(f->v, obs), FPO_OK);
    fpo_trainer_config tc;
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    fpo_trainer_config_init(&tc);
    tc.env = &f->ttab;
    tc.env_user = &f->tenv;
    tc.num_envs = NE;
    tc.horizon = HZ;
    tc.n_mc = NMC;
    tc.policy = &pc;
    oc.minibatches = 1;
    tc.optimizer = &oc;
    ck_assert_int_eq(fpo_trainer_create(&f->t, &tc), FPO_OK);
    snprintf(f->tmpdir, sizeof f->tmpdir, "/tmp/fpo_badinput_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->tmpdir));
    snprintf(f->path, sizeof f->path, "%s/p.ckpt", f->tmpdir);
    fx_snapshot(f);
}

static void fx_destroy(fx *f)
{
    fpo_trainer_destroy(f->t);
    fpo_vecenv_destroy(f->v);
    fpo_optimizer_destroy(f->o);
    fpo_buffer_destroy(f->b);
    fpo_buffer_destroy(f->b_twin);
    fpo_buffer_destroy(f->bfull);
    fpo_buffer_destroy(f->bpart);
    fpo_buffer_destroy(f->bnolast);
    fpo_buffer_destroy(f->bne3);
    fpo_buffer_destroy(f->bg);
    fpo_sampler_destroy(f->s);
    fpo_sampler_destroy(f->s_twin);
    fpo_policy_destroy(f->pf);
    fpo_policy_destroy(f->pg);
    fpo_policy_destroy(f->pobs4);
    fpo_policy_destroy(f->pwide);
    fpo_policy_destroy(f->pbig);
    fpo_policy_destroy(f->pnan_mc);
    free(f->pf_bytes);
    free(f->pg_bytes);
    free(f->t_bytes);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- which handle's message a row checks; what it may change ------------ */

enum {
    H_NONE,    /* checked by the case itself, or a call that succeeds (destroys) */
    H_LOAD,    /* fpo_last_errmsg(): creates, loads, sized inits */
    H_PF, H_PG, H_S, H_B, H_BFULL, H_O, H_V, H_T
};

/* A failed call may legitimately change these (documented side effects). */
#define MUT_S 1u /* the sampler drew random numbers before failing */
/* Calls on a const handle (getters) leave their message in fpo_last_errmsg(),
 * the calling thread's: writing it into the handle would be a write to a
 * handle that several threads may read at once (docs/threads.md). */
#define TLMSG 2u /* a const handle: the message is fpo_last_errmsg()'s */

typedef struct bcase {
    const char *name;
    int (*fn)(fx *f, int k);
    int k;
    int expect;
    int handle;
    unsigned mut;
} bcase;

/* A call that must fail: its code, or -100 if it succeeded. */
static int nz(int rc) { return rc ? rc : -100; }

/* ---- policy ------------------------------------------------------------- */

static fpo_allocator bad_allocators[3];
static void *dummy_alloc(void *u, size_t n, size_t a) { (void)u; (void)a; return malloc(n); }
static void dummy_free(void *u, void *p) { (void)u; free(p); }

static const fpo_allocator *bad_allocator(int k)
{
    fpo_allocator *a = &bad_allocators[k];
    memset(a, 0, sizeof *a);
    a->struct_size = sizeof *a;
    switch (k) {
    case 0: a->struct_size = 0; a->alloc = dummy_alloc; a->free = dummy_free; break;
    case 1: a->alloc = dummy_alloc; break; /* free missing */
    default: a->free = dummy_free; break;  /* alloc missing */
    }
    return a;
}

/* Collective tables that fail validation before any callback is made
 * (k: 0 no f32 callback, 1 version 0, 2 rank >= size). */
static int never_sum_f32(void *user, float *buf, size_t n) { (void)user, (void)buf, (void)n; return 1; }
static int never_sum_f64(void *user, double *buf, size_t n) { (void)user, (void)buf, (void)n; return 1; }
static fpo_collective bad_collectives[3];
static const fpo_collective *bad_collective(int k)
{
    fpo_collective c = {sizeof c, FPO_COLLECTIVE_VERSION, 0, 2, NULL, never_sum_f32, never_sum_f64};
    bad_collectives[k] = c;
    if (k == 0)
        bad_collectives[k].allreduce_sum_f32 = NULL;
    else if (k == 1)
        bad_collectives[k].version = 0;
    else
        bad_collectives[k].rank = 2;
    return &bad_collectives[k];
}

static float nan_low[AD] = {NAN, -1.0f}, inf_high[AD] = {1.0f, INFINITY};
static float eq_low[AD] = {0.0f, 0.5f}, eq_high[AD] = {1.0f, 0.5f};

static int policy_create_case(fx *f, int k)
{
    (void)f;
    fpo_policy_config c;
    toy_policy_config(&c, FPO_POLICY_FLOW, OD, AD);
    fpo_policy *p = (fpo_policy *)&c; /* poison: must be set to NULL on failure */
    switch (k) {
    case 0: return fpo_policy_create(NULL, &c);
    case 1: return nz(fpo_policy_create(&p, NULL));
    case 2: c.struct_size = 0; break;
    case 3: c.struct_size = 4; break;
    case 4: c.obs_dim = 0; break;
    case 5: c.obs_dim = -1; break;
    case 6: c.obs_dim = 65537; break;
    case 7: c.obs_dim = INT_MAX; break;
    case 8: c.act_dim = 0; break;
    case 9: c.act_dim = INT_MIN; break;
    case 10: c.kind = (fpo_policy_kind)2; break;
    case 11: c.kind = (fpo_policy_kind)-1; break;
    case 12: c.actor_layers = -1; break;
    case 13: c.actor_layers = FPO_MAX_LAYERS + 1; break;
    case 14: c.critic_layers = 9; break;
    case 15: c.actor_hidden[0] = 0; break;
    case 16: c.actor_hidden[1] = 65537; break;
    case 17: c.critic_hidden[1] = -3; break;
    case 18: c.actor_activation = (fpo_activation)3; break;
    case 19: c.critic_activation = (fpo_activation)-1; break;
    case 20: c.flow_output_scale = NAN; break;
    case 21: c.flow_output_scale = INFINITY; break;
    case 22: c.flow_output_scale = 0.0f; break;
    case 23: c.flow_output_scale = -1.0f; break;
    case 24: c.time_embedding = (fpo_time_embedding)2; break;
    case 25: c.std_mode = (fpo_std_mode)3; break;
    case 26: c.min_std = NAN; break;
    case 27: c.min_std = -1.0f; break;
    case 28: c.init_std = NAN; break;
    case 29: c.init_std = INFINITY; break;
    case 30: c.init_std = c.min_std; break;
    case 31: c.squash = (fpo_squash)2; break;
    case 32: c.obs_clip = NAN; break;
    case 33: c.obs_clip = 0.0f; break;
    case 34: c.obs_clip = INFINITY; break;
    case 35: c.raw_clip = NAN; break;
    case 36: c.raw_clip = -1.0f; break;
    case 37: c.raw_clip = INFINITY; break;
    case 38: c.action_low = nan_low; break;
    case 39: c.action_high = inf_high; break;
    case 40: c.action_low = eq_low; c.action_high = eq_high; break; /* low == high */
    case 41: c.action_low = eq_high; c.action_high = eq_low; break; /* low > high */
    case 42: c.allocator = bad_allocator(0); break;
    case 43: c.allocator = bad_allocator(1); break;
    case 44: c.allocator = bad_allocator(2); break;
    case 45: c.kind = FPO_POLICY_GAUSSIAN; c.init_std = NAN; break;
    case 46: c.kind = FPO_POLICY_GAUSSIAN; c.min_std = INFINITY; break;
    case 47: c.kind = FPO_POLICY_GAUSSIAN; c.std_mode = (fpo_std_mode)-2; break;
    case 48: c.chunk = -1; break;
    case 49: c.chunk = 65; break;
    case 50: c.chunk = (int64_t)1 << 40; break;
    case 51: c.chunk = 64; c.act_dim = 1025; break; /* chunk x act_dim > 65536 */
    }
    int rc = fpo_policy_create(&p, &c);
    if (p != NULL) /* failure must leave *out NULL */
        return -100;
    return rc;
}

static int policy_misc_case(fx *f, int k)
{
    fpo_policy_info info = {sizeof info};
    fpo_policy_config cfg = {sizeof cfg};
    fpo_policy *out = NULL;
    size_t na = 0;
    ck_assert_int_eq(fpo_policy_get_info(f->pf, &info), FPO_OK);
    na = info.actor_params;
    size_t nall = info.actor_params + info.critic_params;
    float *w = calloc(nall + 1, sizeof(float));
    ck_assert_int_eq(fpo_policy_get_params(f->pf, FPO_NET_ALL, w, nall), FPO_OK);
    float mean[OD], sd[OD];
    float obs[4 * OD];
    for (int i = 0; i < 4 * OD; i++)
        obs[i] = 0.1f * (float)i;
    int rc = -100;
    switch (k) {
    case 0: rc = fpo_policy_clone(NULL, f->pf); break;
    case 1: rc = fpo_policy_clone(&out, NULL); break;
    case 2: rc = fpo_policy_get_info(NULL, &info); break;
    case 3: rc = fpo_policy_get_info(f->pf, NULL); break;
    case 4: info.struct_size = 0; rc = fpo_policy_get_info(f->pf, &info); break;
    case 5: rc = fpo_policy_get_config(NULL, &cfg); break;
    case 6: rc = fpo_policy_get_config(f->pf, NULL); break;
    case 7: cfg.struct_size = 0; rc = fpo_policy_get_config(f->pf, &cfg); break;
    case 8: rc = fpo_policy_get_params(NULL, FPO_NET_ALL, w, nall); break;
    case 9: rc = fpo_policy_get_params(f->pf, FPO_NET_ALL, NULL, nall); break;
    case 10: rc = fpo_policy_get_params(f->pf, (fpo_net)3, w, nall); break;
    case 11: rc = fpo_policy_get_params(f->pf, (fpo_net)-1, w, nall); break;
    case 12: rc = fpo_policy_get_params(f->pf, FPO_NET_ALL, w, nall + 1); break;
    case 13: rc = fpo_policy_get_params(f->pf, FPO_NET_ACTOR, w, 0); break;
    case 14: rc = fpo_policy_get_params(f->pf, FPO_NET_CRITIC, w, SIZE_MAX); break;
    case 15: rc = fpo_policy_set_params(NULL, FPO_NET_ALL, w, nall); break;
    case 16: rc = fpo_policy_set_params(f->pf, FPO_NET_ALL, NULL, nall); break;
    case 17: rc = fpo_policy_set_params(f->pf, (fpo_net)7, w, nall); break;
    case 18: rc = fpo_policy_set_params(f->pf, FPO_NET_ALL, w, nall - 1); break;
    case 19: rc = fpo_policy_set_params(f->pf, FPO_NET_ACTOR, w, nall); break;
    case 20: w[0] = NAN; rc = fpo_policy_set_params(f->pf, FPO_NET_ALL, w, nall); break;
    case 21: w[nall - 1] = INFINITY; rc = fpo_policy_set_params(f->pf, FPO_NET_ALL, w, nall); break;
    case 22: w[na] = -INFINITY; rc = fpo_policy_set_params(f->pf, FPO_NET_ALL, w, nall); break;
    case 23: w[3] = NAN; rc = fpo_policy_set_params(f->pf, FPO_NET_CRITIC, w, nall - na); break;
    case 24: rc = fpo_policy_obs_accumulate(NULL, obs, 1); break;
    case 25: rc = fpo_policy_obs_accumulate(f->pf, NULL, 1); break;
    case 26: rc = fpo_policy_obs_accumulate(f->pf, obs, -1); break;
    case 27: obs[2 * OD + 1] = NAN; rc = fpo_policy_obs_accumulate(f->pf, obs, 4); break;
    case 28: obs[4 * OD - 1] = INFINITY; rc = fpo_policy_obs_accumulate(f->pf, obs, 4); break;
    case 29: obs[0] = -INFINITY; rc = fpo_policy_obs_accumulate(f->pf, obs, 1); break;
    case 30: rc = fpo_policy_obs_commit(NULL); break;
    case 31: rc = fpo_policy_obs_stats(NULL, mean, sd); break;
    case 32: rc = fpo_policy_obs_stats(f->pf, NULL, sd); break;
    case 33: rc = fpo_policy_obs_stats(f->pf, mean, NULL); break;
    case 34: rc = fpo_policy_set_params(f->pg, FPO_NET_ALL, w, nall); break; /* other size */
    case 35: { /* NaN pending statistics would poison the next commit: rejected, none kept */
        obs[1] = NAN;
        rc = fpo_policy_obs_accumulate(f->pf, obs, 4);
        if (fpo_policy_obs_commit(f->pf) != FPO_OK)
            rc = -100;
        fpo_policy_info i2 = {sizeof i2};
        fpo_policy_get_info(f->pf, &i2);
        if (i2.obs_count != 0)
            rc = -101;
        break;
    }
    }
    free(w);
    if (out)
        return -102;
    return rc;
}

/* CRC-32 (IEEE, reflected) to re-seal edited checkpoints. */
static uint32_t crc32_ieee(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void reseal(unsigned char *buf, size_t n)
{
    put32(buf + n - 4, crc32_ieee(buf, n - 4));
}

/* Byte offsets of the format-1 header (libfpo/checkpoint.c). */
enum {
    CK_FORMAT = 8, CK_KIND = 16, CK_OBS = 20, CK_ACT = 24, CK_ALAYERS = 28, CK_AHID = 32,
    CK_AACT = 64, CK_CLAYERS = 68, CK_CHID = 72, CK_TEMB = 108, CK_STD = 112, CK_SQUASH = 116,
    CK_FOS = 124, CK_INITSTD = 128, CK_MINSTD = 132, CK_OBSCLIP = 136, CK_RAWCLIP = 140,
    CK_LOW = 152 /* act_dim low, act_dim high, u64 count, od mean, od m2, u64 np, params */
};

static int checkpoint_case(fx *f, int k)
{
    size_t n;
    unsigned char *buf = policy_bytes(f->pf, &n);
    fpo_policy *out = (fpo_policy *)buf; /* poison */
    size_t cnt_off = CK_LOW + 8 * AD, mean_off = cnt_off + 8, m2_off = mean_off + 8 * OD;
    /* the parameter block is last: u64 count, floats, CRC */
    fpo_policy_info pinfo = {sizeof pinfo};
    fpo_policy_get_info(f->pf, &pinfo);
    size_t np_off = n - 4 - 4 * (pinfo.actor_params + pinfo.critic_params) - 8;
    size_t par_off = np_off + 8;
    int rc = -100;
    FILE *fp;
    switch (k) {
    case 0: rc = fpo_policy_save(NULL, f->path); break;
    case 1: rc = fpo_policy_save(f->pf, NULL); break;
    case 2: { /* parent directory does not exist */
        char p[300];
        snprintf(p, sizeof p, "%s/no/such/dir/p.ckpt", f->tmpdir);
        rc = fpo_policy_save(f->pf, p);
        break;
    }
    case 3: { /* parent is a regular file: fails even for root */
        char p[300];
        snprintf(p, sizeof p, "%s/file", f->tmpdir);
        fp = fopen(p, "wb");
        fputs("x", fp);
        fclose(fp);
        snprintf(p, sizeof p, "%s/file/p.ckpt", f->tmpdir);
        rc = fpo_policy_save(f->pf, p);
        break;
    }
    case 4: rc = fpo_policy_save(f->pf, f->tmpdir); break; /* the path is a directory */
    case 5: rc = fpo_policy_save(f->pf, ""); break;
    case 6: { /* a path longer than PATH_MAX */
        char *p = malloc(8192);
        memset(p, 'a', 8191);
        p[8191] = '\0';
        memcpy(p, f->tmpdir, strlen(f->tmpdir));
        p[strlen(f->tmpdir)] = '/';
        rc = fpo_policy_save(f->pf, p);
        free(p);
        break;
    }
    case 7: rc = fpo_policy_save(f->pf, "/proc/version"); break; /* no temp files in /proc */
    case 8: rc = fpo_policy_save_mem(NULL, buf, n, &n); break;
    case 9: rc = fpo_policy_save_mem(f->pf, buf, n, NULL); break;
    case 10: rc = fpo_policy_save_mem(f->pf, buf, n - 1, &n); break;
    case 11: rc = fpo_policy_save_mem(f->pf, buf, 0, &n); break;
    /* ---- loads: no handle, the message is fpo_last_errmsg() ---- */
    case 12: rc = fpo_policy_load(NULL, f->path, NULL); break;
    case 13: rc = fpo_policy_load(&out, NULL, NULL); break;
    case 14: rc = fpo_policy_load(&out, "/nonexistent/dir/p.ckpt", NULL); break;
    case 15: rc = fpo_policy_load(&out, f->tmpdir, NULL); break; /* a directory */
    case 16: /* empty file */
        fp = fopen(f->path, "wb");
        fclose(fp);
        rc = fpo_policy_load(&out, f->path, NULL);
        break;
    case 17: /* garbage file */
        fp = fopen(f->path, "wb");
        fputs("this is not a checkpoint at all, but it is long enough", fp);
        fclose(fp);
        rc = fpo_policy_load(&out, f->path, NULL);
        break;
    case 18:
        ck_assert_int_eq(fpo_policy_save(f->pf, f->path), FPO_OK);
        rc = fpo_policy_load(&out, f->path, bad_allocator(0));
        break;
    case 19: rc = fpo_policy_load_mem(NULL, buf, n, NULL); break;
    case 20: rc = fpo_policy_load_mem(&out, NULL, n, NULL); break;
    case 21: rc = fpo_policy_load_mem(&out, buf, 0, NULL); break;
    case 22: rc = fpo_policy_load_mem(&out, buf, 7, NULL); break;
    case 23: rc = fpo_policy_load_mem(&out, buf, 16, NULL); break;
    case 24: rc = fpo_policy_load_mem(&out, buf, n - 1, NULL); break;
    case 25: rc = fpo_policy_load_mem(&out, buf, n, bad_allocator(1)); break;
    case 26: buf[n / 2] ^= 0x10; rc = fpo_policy_load_mem(&out, buf, n, NULL); break;
    case 27: buf[0] = 'X'; reseal(buf, n); rc = fpo_policy_load_mem(&out, buf, n, NULL); break;
    /* re-sealed (valid CRC) but invalid contents */
    case 28: put32(buf + CK_FORMAT, 4); break; /* a future format (3: chunks) */
    case 29: put32(buf + CK_FORMAT, 0); break;
    case 30: put32(buf + CK_KIND, 7); break;
    case 31: put32(buf + CK_OBS, 0); break;
    case 32: put32(buf + CK_OBS, 0x80000000u); break;
    case 33: put32(buf + CK_OBS, OD + 1); break; /* arrays no longer line up */
    case 34: put32(buf + CK_ACT, 65537); break;
    case 35: put32(buf + CK_ALAYERS, 9); break;
    case 36: put32(buf + CK_ALAYERS, 0xffffffffu); break;
    case 37: put32(buf + CK_AHID, 0); break;
    case 38: put32(buf + CK_AHID + 4, 9); break; /* width changes: param count mismatch */
    case 39: put32(buf + CK_AACT, 9); break;
    case 40: put32(buf + CK_CLAYERS, 1000); break;
    case 41: put32(buf + CK_CHID, 0x7fffffffu); break;
    case 42: put32(buf + CK_TEMB, 5); break;
    case 43: put32(buf + CK_STD, 5); break;
    case 44: put32(buf + CK_SQUASH, 5); break;
    case 45: put32(buf + CK_FOS, 0x7fc00000u); break; /* NaN */
    case 46: put32(buf + CK_INITSTD, 0x7f800000u); break; /* Inf */
    case 47: put32(buf + CK_MINSTD, 0xbf800000u); break; /* -1 */
    case 48: put32(buf + CK_OBSCLIP, 0); break;
    case 49: put32(buf + CK_RAWCLIP, 0xff800000u); break;
    case 50: put32(buf + CK_LOW, 0x7fc00000u); break; /* action_low NaN */
    case 51: put32(buf + CK_LOW, 0x40000000u); break; /* action_low 2 > high 1 */
    case 52: put32(buf + cnt_off + 4, 0x80000000u); break; /* negative count */
    case 53: put32(buf + mean_off + 4, 0x7ff80000u); break; /* NaN mean */
    case 54: put32(buf + m2_off + 4, 0xbff00000u); break; /* m2 = -1 */
    case 55: put32(buf + np_off, 5); break;
    case 56: put32(buf + np_off + 4, 0x40000000u); break; /* np ~ 2^62 */
    case 57: put32(buf + par_off + 8, 0x7f800000u); break; /* Inf parameter */
    case 58: put32(buf + par_off, 0xffc00000u); break; /* NaN parameter */
    case 59: put32(buf + m2_off + 4, 0x7ff00000u); break; /* Inf m2 */
    }
    if (k >= 28) {
        reseal(buf, n);
        rc = fpo_policy_load_mem(&out, buf, n, NULL);
    }
    if (k >= 12 && k != 12 && k != 19 && out != NULL) { /* 12, 19 pass out = NULL */
        if (rc == FPO_OK)
            fpo_policy_destroy(out);
        free(buf);
        return -101; /* *out must be NULL after a failed load */
    }
    free(buf);
    return rc;
}

/* ---- sampler -------------------------------------------------------------- */

static int sampler_create_case(fx *f, int k)
{
    fpo_sampler_config c;
    fpo_sampler_config_init(&c);
    fpo_sampler *s = (fpo_sampler *)&c;
    switch (k) {
    case 0: return fpo_sampler_create(NULL, f->pf, &c);
    case 1: return nz(fpo_sampler_create(&s, NULL, &c));
    case 2: return nz(fpo_sampler_create(&s, f->pf, NULL));
    case 3: c.struct_size = 0; break;
    case 4: c.integrator = (fpo_integrator)4; break; /* 3 is FPO_INTEGRATOR_AUTO */
    case 5: c.integrator = (fpo_integrator)-1; break;
    case 6: c.steps = 0; break;
    case 7: c.steps = 1001; break;
    case 8: c.steps = INT_MIN; break;
    case 9: c.init_noise = (fpo_init_noise)2; break;
    case 10: c.sde_noise = NAN; break;
    case 11: c.sde_noise = -0.5f; break;
    case 12: c.sde_noise = INFINITY; break;
    case 13: c.max_batch = 0; break;
    case 14: c.max_batch = -1; break;
    case 15: c.max_batch = (1 << 24) + 1; break;
    case 16: c.allocator = bad_allocator(0); break;
    case 17: c.allocator = bad_allocator(2); break;
    case 18: c.row_offset = -1; break;
    case 19: c.row_offset = (1 << 30) + 1; break;
    case 20: c.record_path = 2; break;
    case 21: c.record_path = 1; c.integrator = FPO_INTEGRATOR_HEUN; break;
    case 22: c.record_path = 1; return nz(fpo_sampler_create(&s, f->pg, &c)); /* Gaussian */
    }
    int rc = fpo_sampler_create(&s, f->pf, &c);
    return s ? -100 : rc;
}

static int sampler_call_case(fx *f, int k)
{
    float obs[(NE + 1) * OD], act[(NE + 1) * AD], raw[(NE + 1) * AD], val[NE + 1];
    memcpy(obs, good_obs, sizeof good_obs);
    memcpy(obs + NE * OD, good_obs, OD * sizeof(float));
    fpo_sampler_config c;
    fpo_sampler_config_init(&c);
    switch (k) {
    case 0: return fpo_sampler_act(NULL, f->pf, obs, 1, act, raw);
    case 1: return fpo_sampler_act(f->s, NULL, obs, 1, act, raw);
    case 2: return fpo_sampler_act(f->s, f->pf, NULL, 1, act, raw);
    case 3: return fpo_sampler_act(f->s, f->pf, obs, 1, NULL, NULL);
    case 4: return fpo_sampler_act(f->s, f->pf, obs, -1, act, raw);
    case 5: return fpo_sampler_act(f->s, f->pf, obs, NE + 1, act, raw);
    case 6: return fpo_sampler_act(f->s, f->pf, obs, INT_MAX, act, raw);
    case 7: obs[1] = NAN; return fpo_sampler_act(f->s, f->pf, obs, NE, act, raw);
    case 8: obs[NE * OD - 1] = INFINITY; return fpo_sampler_act(f->s, f->pf, obs, NE, act, raw);
    case 9: obs[0] = -INFINITY; return fpo_sampler_act(f->s, f->pf, obs, 1, act, NULL);
    case 10: return fpo_sampler_act(f->s, f->pobs4, obs, 1, act, raw);
    case 11: return fpo_sampler_act(f->s, f->pg, obs, 1, act, raw);
    case 12: return fpo_sampler_act(f->s, f->pwide, obs, 1, act, raw);
    case 13: return fpo_sampler_act(f->s, f->pbig, obs, NE, act, raw); /* overflows */
    case 14: return fpo_sampler_value(NULL, f->pf, obs, 1, val);
    case 15: return fpo_sampler_value(f->s, NULL, obs, 1, val);
    case 16: return fpo_sampler_value(f->s, f->pf, NULL, 1, val);
    case 17: return fpo_sampler_value(f->s, f->pf, obs, 1, NULL);
    case 18: return fpo_sampler_value(f->s, f->pf, obs, NE + 1, val);
    case 19: return fpo_sampler_value(f->s, f->pf, obs, -5, val);
    case 20: obs[2] = NAN; return fpo_sampler_value(f->s, f->pf, obs, NE, val);
    case 21: return fpo_sampler_value(f->s, f->pobs4, obs, 1, val);
    case 22: return fpo_sampler_value(f->s, f->pg, obs, 1, val);
    case 23: return fpo_sampler_reconfigure(NULL, &c);
    case 24: return fpo_sampler_reconfigure(f->s, NULL);
    case 25: c.struct_size = 0; return fpo_sampler_reconfigure(f->s, &c);
    case 26: c.steps = 0; return fpo_sampler_reconfigure(f->s, &c);
    case 27: c.sde_noise = NAN; c.steps = 3; return fpo_sampler_reconfigure(f->s, &c);
    case 28: c.integrator = (fpo_integrator)9; c.steps = 3; return fpo_sampler_reconfigure(f->s, &c);
    case 29: c.init_noise = (fpo_init_noise)-3; return fpo_sampler_reconfigure(f->s, &c);
    case 30: return fpo_sampler_reseed(NULL, 5);
    case 31: { const float *pp; int st; return fpo_sampler_path(NULL, &pp, &st); }
    case 32: { int st; return fpo_sampler_path(f->s, NULL, &st); }
    case 33: { const float *pp; int st; return fpo_sampler_path(f->s, &pp, &st); } /* not recording */
    }
    return -100;
}

/* ---- buffer and GAE ------------------------------------------------------ */

static int buffer_create_case(fx *f, int k)
{
    (void)f;
    fpo_buffer_config c;
    fpo_buffer_config_init(&c);
    c.num_envs = NE;
    c.horizon = HZ;
    c.obs_dim = OD;
    c.act_dim = AD;
    fpo_buffer *b = (fpo_buffer *)&c;
    switch (k) {
    case 0: return fpo_buffer_create(NULL, &c);
    case 1: return nz(fpo_buffer_create(&b, NULL));
    case 2: c.struct_size = 0; break;
    case 3: c.num_envs = 0; break;
    case 4: c.num_envs = -1; break;
    case 5: c.num_envs = (1 << 20) + 1; break;
    case 6: c.horizon = 0; break;
    case 7: c.horizon = (1 << 24) + 1; break;
    case 8: c.obs_dim = 0; break;
    case 9: c.obs_dim = 65537; break;
    case 10: c.act_dim = -2; break;
    case 11: c.act_dim = INT_MAX; break;
    case 12: c.n_mc = -1; break;
    case 13: c.n_mc = 4097; break;
    case 14: c.num_envs = 1 << 13; c.horizon = 1 << 14; break; /* 2^27 transitions */
    case 15: c.t_dist = (fpo_t_dist)3; break;
    case 16: c.t_dist = FPO_T_BETA; c.t_beta = NAN; break;
    case 17: c.t_beta = 0.0f; break;
    case 18: c.t_beta = -1.0f; break;
    case 19: c.t_beta = INFINITY; break;
    case 20: c.allocator = bad_allocator(1); break;
    case 21: c.struct_size = 7; break;
    case 22: c.env_offset = -1; break;
    case 23: c.path_steps = -1; break;
    case 24: c.path_steps = 1001; break;
    }
    int rc = fpo_buffer_create(&b, &c);
    return b ? -100 : rc;
}

static int buffer_call_case(fx *f, int k)
{
    float obs[NE * OD], act[NE * AD], rew[NE], fin[NE * OD];
    unsigned fl[NE] = {0, 0};
    memcpy(obs, good_obs, sizeof obs);
    memcpy(act, good_act, sizeof act);
    memcpy(rew, good_rew, sizeof rew);
    memcpy(fin, good_obs, sizeof fin);
    fpo_buffer_view view = {sizeof view};
    switch (k) {
    case 0: return fpo_buffer_add(NULL, obs, act, rew, fl, NULL);
    case 1: return fpo_buffer_add(f->b, NULL, act, rew, fl, NULL);
    case 2: return fpo_buffer_add(f->b, obs, NULL, rew, fl, NULL);
    case 3: return fpo_buffer_add(f->b, obs, act, NULL, fl, NULL);
    case 4: return fpo_buffer_add(f->b, obs, act, rew, NULL, NULL);
    case 5: fl[1] = 8u; /* 4 is FPO_STEP_SUCCESS */ return fpo_buffer_add(f->b, obs, act, rew, fl, fin);
    case 6: fl[0] = 0x80000000u; return fpo_buffer_add(f->b, obs, act, rew, fl, fin);
    case 7: fl[1] = FPO_STEP_TRUNCATED; return fpo_buffer_add(f->b, obs, act, rew, fl, NULL);
    case 8: fl[0] = FPO_STEP_TERMINATED; return fpo_buffer_add(f->b, obs, act, rew, fl, NULL);
    case 9: obs[4] = NAN; return fpo_buffer_add(f->b, obs, act, rew, fl, NULL);
    case 10: obs[0] = -INFINITY; return fpo_buffer_add(f->b, obs, act, rew, fl, NULL);
    case 11: act[3] = INFINITY; return fpo_buffer_add(f->b, obs, act, rew, fl, NULL);
    case 12: act[0] = NAN; return fpo_buffer_add(f->b, obs, act, rew, fl, NULL);
    case 13: rew[1] = NAN; return fpo_buffer_add(f->b, obs, act, rew, fl, NULL);
    case 14: rew[0] = -INFINITY; return fpo_buffer_add(f->b, obs, act, rew, fl, NULL);
    case 15: fl[1] = FPO_STEP_TRUNCATED; fin[OD + 2] = NAN;
        return fpo_buffer_add(f->b, obs, act, rew, fl, fin);
    case 16: return fpo_buffer_add(f->bfull, obs, act, rew, fl, NULL); /* full */
    case 17: return fpo_buffer_set_last_obs(NULL, obs);
    case 18: return fpo_buffer_set_last_obs(f->b, NULL);
    case 19: obs[5] = NAN; return fpo_buffer_set_last_obs(f->b, obs);
    case 20: return fpo_buffer_clear(NULL);
    case 21: return fpo_buffer_steps(NULL);
    case 22: return fpo_buffer_is_full(NULL);
    case 23: return fpo_buffer_get_view(NULL, &view);
    case 24: return fpo_buffer_get_view(f->b, NULL);
    case 25: view.struct_size = 0; return fpo_buffer_get_view(f->b, &view);
    case 26: return fpo_buffer_add_path(NULL, act);
    case 27: return fpo_buffer_add_path(f->b, NULL);
    case 28: return fpo_buffer_add_path(f->bfull, act); /* no path_steps */
    }
    return -100;
}

static int gae_case(fx *f, int k)
{
    (void)f;
    enum { S = 3, N = 2 };
    float adv[S * N], ret[S * N], r[S * N] = {1, 2, 3, 4, 5, 6}, v[S * N] = {0};
    float fv[S * N] = {0}, last[N] = {0.5f, 0.5f};
    unsigned fl[S * N] = {0, 0, FPO_STEP_TRUNCATED, 0, 0, 0};
    switch (k) {
    case 0: return fpo_gae(NULL, ret, r, fl, v, fv, last, S, N, 0.9f, 0.9f, 1.0f);
    case 1: return fpo_gae(adv, NULL, r, fl, v, fv, last, S, N, 0.9f, 0.9f, 1.0f);
    case 2: return fpo_gae(adv, ret, NULL, fl, v, fv, last, S, N, 0.9f, 0.9f, 1.0f);
    case 3: return fpo_gae(adv, ret, r, NULL, v, fv, last, S, N, 0.9f, 0.9f, 1.0f);
    case 4: return fpo_gae(adv, ret, r, fl, NULL, fv, last, S, N, 0.9f, 0.9f, 1.0f);
    case 5: return fpo_gae(adv, ret, r, fl, v, fv, NULL, S, N, 0.9f, 0.9f, 1.0f);
    case 6: return fpo_gae(adv, ret, r, fl, v, NULL, last, S, N, 0.9f, 0.9f, 1.0f);
    case 7: return fpo_gae(adv, ret, r, fl, v, fv, last, 0, N, 0.9f, 0.9f, 1.0f);
    case 8: return fpo_gae(adv, ret, r, fl, v, fv, last, S, -1, 0.9f, 0.9f, 1.0f);
    case 9: return fpo_gae(adv, ret, r, fl, v, fv, last, S, N, NAN, 0.9f, 1.0f);
    case 10: return fpo_gae(adv, ret, r, fl, v, fv, last, S, N, 1.5f, 0.9f, 1.0f);
    case 11: return fpo_gae(adv, ret, r, fl, v, fv, last, S, N, -0.1f, 0.9f, 1.0f);
    case 12: return fpo_gae(adv, ret, r, fl, v, fv, last, S, N, 0.9f, NAN, 1.0f);
    case 13: return fpo_gae(adv, ret, r, fl, v, fv, last, S, N, 0.9f, 2.0f, 1.0f);
    case 14: return fpo_gae(adv, ret, r, fl, v, fv, last, S, N, 0.9f, 0.9f, INFINITY);
    case 15: return fpo_gae(adv, ret, r, fl, v, fv, last, S, N, 0.9f, 0.9f, NAN);
    case 16: return fpo_gae(adv, ret, r, fl, v, fv, last, INT_MIN, N, 0.9f, 0.9f, 1.0f);
    }
    return -100;
}

/* ---- optimizer ------------------------------------------------------------ */

static int optimizer_create_case(fx *f, int k)
{
    fpo_optimizer_config c;
    fpo_optimizer_config_init(&c, FPO_ALGO_FPO);
    c.minibatches = 2;
    fpo_optimizer *o = (fpo_optimizer *)&c;
    const fpo_policy *p = f->pf;
    const fpo_buffer *b = f->bfull;
    switch (k) {
    case 0: return fpo_optimizer_create(NULL, p, b, &c);
    case 1: p = NULL; break;
    case 2: b = NULL; break;
    case 3: return nz(fpo_optimizer_create(&o, p, b, NULL));
    case 4: c.struct_size = 0; break;
    case 5: c.algo = (fpo_algo)3; break; /* 2 is DPPO */
    case 6: c.algo = FPO_ALGO_PPO; break;                      /* PPO, flow policy */
    case 7: p = f->pg; break;                                  /* FPO, Gaussian policy */
    case 8: p = f->pg; b = f->bg; c.algo = FPO_ALGO_FPO; break;
    case 9: b = f->bg; break;                                  /* FPO needs n_mc >= 1 */
    case 10: p = f->pobs4; break;                              /* buffer obs_dim differs */
    case 11: c.minibatches = NE * HZ + 1; break;
    case 12: c.minibatches = 0; break;
    case 13: c.epochs = 0; break;
    case 14: c.epochs = -4; break;
    case 15: c.lr = NAN; break;
    case 16: c.lr = -1e-3f; break;
    case 17: c.lr = INFINITY; break;
    case 18: c.lr = 2.0f; break;
    case 19: c.clip_eps = 0.0f; break;
    case 20: c.clip_eps = NAN; break;
    case 21: c.gamma = 1.5f; break;
    case 22: c.gae_lambda = NAN; break;
    case 23: c.reward_scale = INFINITY; break;
    case 24: c.reward_scale = NAN; break;
    case 25: c.adam_beta1 = 1.0f; break;
    case 26: c.adam_beta2 = NAN; break;
    case 27: c.adam_eps = 0.0f; break;
    case 28: c.adam_eps = INFINITY; break;
    case 29: c.weight_decay = NAN; break;
    case 30: c.weight_decay = -0.1f; break;
    case 31: c.ratio_clamp = 0.0f; break;
    case 32: c.cfm_loss = (fpo_cfm_loss)3; break;
    case 33: c.ratio_mode = (fpo_ratio_mode)2; break;
    case 34: c.threads = 0; break;
    case 35: c.threads = 257; break;
    case 36: c.entropy_coef = -1.0f; break;
    case 37: c.value_coef = NAN; break;
    case 38: c.max_grad_norm = -1.0f; break;
    case 39: c.max_grad_norm = INFINITY; break;
    case 40: c.allocator = bad_allocator(0); break;
    case 41: c.adam_beta1 = -0.5f; break;
    case 42: c.collective = bad_collective(0); break;
    case 43: c.collective = bad_collective(1); break;
    case 44: c.algo = FPO_ALGO_DPPO; break;                    /* buffer without chains */
    case 45: c.algo = FPO_ALGO_DPPO; c.dppo_sigma = 0.0f; break;
    case 46: c.algo = FPO_ALGO_DPPO; c.dppo_final_half = 2; break;
    case 47: c.algo = FPO_ALGO_DPPO; p = f->pg; break;         /* DPPO, Gaussian policy */
    }
    int rc = fpo_optimizer_create(&o, p, b, &c);
    if (o) {
        if (o != (fpo_optimizer *)&c)
            fpo_optimizer_destroy(o);
        return -100;
    }
    return rc;
}

/* Two flow policies with the same sizes and the same parameter count but
 * different network shapes (time embedding and widths differ). */
static void same_count_pair(fpo_policy **a, fpo_policy **b)
{
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    pc.actor_layers = 1;
    pc.critic_layers = 1;
    /* sinusoidal: in = 3 + 2 + 8 = 13: actor 13*5+5+5*2+2 = 82, critic 3*4+4+4+1 = 21 */
    pc.actor_hidden[0] = 5;
    pc.critic_hidden[0] = 4;
    ck_assert_int_eq(fpo_policy_create(a, &pc), FPO_OK);
    /* raw: in = 6: actor 6*5+5+5*2+2 = 47, critic 3*11+11+11+1 = 56 */
    pc.time_embedding = FPO_TIME_RAW;
    pc.critic_hidden[0] = 11;
    ck_assert_int_eq(fpo_policy_create(b, &pc), FPO_OK);
    fpo_policy_info ia = {sizeof ia}, ib = {sizeof ib};
    fpo_policy_get_info(*a, &ia);
    fpo_policy_get_info(*b, &ib);
    ck_assert_uint_eq(ia.actor_params + ia.critic_params, ib.actor_params + ib.critic_params);
    ck_assert_uint_ne(ia.actor_params, ib.actor_params);
}

static int optimizer_call_case(fx *f, int k)
{
    fpo_update_stats st = {sizeof st};
    double d;
    fpo_key_info ki = {sizeof ki};
    switch (k) {
    case 0: return fpo_optimizer_update(NULL, f->pf, f->bfull, &st);
    case 1: return fpo_optimizer_update(f->o, NULL, f->bfull, &st);
    case 2: return fpo_optimizer_update(f->o, f->pf, NULL, &st);
    case 3: return fpo_optimizer_update(f->o, f->pobs4, f->bfull, &st);
    case 4: return fpo_optimizer_update(f->o, f->pg, f->bfull, &st);
    case 5: return fpo_optimizer_update(f->o, f->pwide, f->bfull, &st);
    case 6: return fpo_optimizer_update(f->o, f->pf, f->bne3, &st);
    case 7: return fpo_optimizer_update(f->o, f->pf, f->bg, &st);
    case 8: return fpo_optimizer_update(f->o, f->pf, f->b, &st);      /* empty */
    case 9: return fpo_optimizer_update(f->o, f->pf, f->bpart, &st);  /* half full */
    case 10: return fpo_optimizer_update(f->o, f->pf, f->bnolast, &st);
    case 11: st.struct_size = 0; return fpo_optimizer_update(f->o, f->pf, f->bfull, &st);
    case 12: { /* same parameter count, different shapes, both directions */
        fpo_policy *a, *b;
        same_count_pair(&a, &b);
        fpo_optimizer_config oc;
        fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
        oc.epochs = 1;
        oc.minibatches = 2;
        fpo_optimizer *oa, *ob;
        ck_assert_int_eq(fpo_optimizer_create(&oa, a, f->bfull, &oc), FPO_OK);
        ck_assert_int_eq(fpo_optimizer_create(&ob, b, f->bfull, &oc), FPO_OK);
        int r1 = fpo_optimizer_update(oa, b, f->bfull, NULL);
        int r2 = fpo_optimizer_update(ob, a, f->bfull, NULL);
        int m1 = fpo_optimizer_errmsg(oa)[0] != '\0', m2 = fpo_optimizer_errmsg(ob)[0] != '\0';
        /* and each still works with its own policy */
        int g1 = fpo_optimizer_update(oa, a, f->bfull, NULL);
        int g2 = fpo_optimizer_update(ob, b, f->bfull, NULL);
        fpo_optimizer_destroy(oa);
        fpo_optimizer_destroy(ob);
        fpo_policy_destroy(a);
        fpo_policy_destroy(b);
        ck_assert_int_eq(g1, FPO_OK);
        ck_assert_int_eq(g2, FPO_OK);
        ck_assert(m1 && m2);
        ck_assert_int_eq(r1, r2);
        return r1;
    }
    case 13: return fpo_optimizer_set(NULL, FPO_OPT_LR, 1e-3);
    case 14: return fpo_optimizer_set(f->o, (fpo_opt_key)-1, 1e-3);
    case 15: return fpo_optimizer_set(f->o, fpo_optimizer_key_count(), 1e-3);
    case 16: return fpo_optimizer_set(f->o, FPO_OPT_LR, NAN);
    case 17: return fpo_optimizer_set(f->o, FPO_OPT_LR, INFINITY);
    case 18: return fpo_optimizer_set(f->o, FPO_OPT_LR, 2.0);
    case 19: return fpo_optimizer_set(f->o, FPO_OPT_LR, -1e-9);
    case 20: return fpo_optimizer_set(f->o, FPO_OPT_EPOCHS, 1.5);
    case 21: return fpo_optimizer_set(f->o, FPO_OPT_EPOCHS, 0);
    case 22: return fpo_optimizer_set(f->o, FPO_OPT_MINIBATCHES, 1);     /* below create's 2 */
    case 23: return fpo_optimizer_set(f->o, FPO_OPT_MINIBATCHES, NE * HZ + 1);
    case 24: return fpo_optimizer_set(f->o, FPO_OPT_GAMMA, -0.1);
    case 25: return fpo_optimizer_set(f->o, FPO_OPT_CLIP_EPS, 0.0);
    case 26: return fpo_optimizer_set(f->o, FPO_OPT_EPOCHS, 1e300);
    case 27: return fpo_optimizer_set(f->o, FPO_OPT_REWARD_SCALE, -INFINITY);
    case 28: return fpo_optimizer_get(NULL, FPO_OPT_LR, &d);
    case 29: return fpo_optimizer_get(f->o, FPO_OPT_LR, NULL);
    case 30: return fpo_optimizer_get(f->o, (fpo_opt_key)99, &d);
    case 31: return fpo_optimizer_key_info(FPO_OPT_LR, NULL);
    case 32: return fpo_optimizer_key_info((fpo_opt_key)99, &ki);
    case 33: return fpo_optimizer_key_info((fpo_opt_key)-1, &ki);
    case 34: ki.struct_size = 0; return fpo_optimizer_key_info(FPO_OPT_LR, &ki);
    case 35: return (int)fpo_optimizer_step_count(NULL);
    }
    return -100;
}

/* ---- vecenv ------------------------------------------------------------------ */

static float bad_low[AD] = {0.0f, NAN}, hi_low[AD] = {1.0f, 1.0f}, hi_high[AD] = {1.0f, 2.0f};

static int vecenv_create_case(fx *f, int k)
{
    toy e;
    toy_init(&e, OD, AD);
    fpo_env_table tab = toy_table(&e);
    fpo_vecenv_config c;
    fpo_vecenv_config_init(&c);
    c.table = &tab;
    c.user = &e;
    c.num_envs = 3;
    fpo_vecenv *v = (fpo_vecenv *)&c;
    (void)f;
    switch (k) {
    case 0: return fpo_vecenv_create(NULL, &c);
    case 1: return nz(fpo_vecenv_create(&v, NULL));
    case 2: c.struct_size = 0; break;
    case 3: c.table = NULL; break;
    case 4: tab.struct_size = 8; break;
    case 5: tab.version = 0; break;
    case 6: tab.reset = NULL; break;
    case 7: tab.step = NULL; break;
    case 8: tab.obs_dim = 0; break;
    case 9: tab.act_dim = 65537; break;
    case 10: tab.obs_dim = -7; break;
    case 11: c.num_envs = 0; break;
    case 12: c.num_envs = (1 << 20) + 1; break;
    case 13: c.threads = 0; break;
    case 14: c.threads = 257; break;
    case 15: tab.action_low = bad_low; break;
    case 16: tab.action_low = hi_low; tab.action_high = hi_high; break; /* low == high */
    case 17: c.allocator = bad_allocator(2); break;
    case 18: e.fail_create_index = 1; break; /* instance 0 made, 1 fails */
    case 19: e.fail_create_index = 2; c.threads = 2; break;
    case 20: tab.action_high = bad_low; break;
    case 21: c.env_offset = INT_MIN; break;
    }
    int rc = fpo_vecenv_create(&v, &c);
    if (v)
        return -100;
    /* whatever create made was destroyed */
    if (atomic_load(&e.created) != atomic_load(&e.destroyed))
        return -101;
    return rc;
}

static int vecenv_call_case(fx *f, int k)
{
    float obs[NE * OD], act[NE * AD], rew[NE], fin[NE * OD];
    unsigned fl[NE];
    fpo_episode_stats es = {sizeof es};
    memcpy(act, good_act, sizeof act);
    long now = atomic_load(&f->venv.steps);
    switch (k) {
    case 0: return fpo_vecenv_reset(NULL, obs);
    case 1: return fpo_vecenv_reset(f->v, NULL);
    case 2: atomic_store(&f->venv.fail_reset_next, 1); return fpo_vecenv_reset(f->v, obs);
    case 3: atomic_store(&f->venv.nan_reset_next, 1); return fpo_vecenv_reset(f->v, obs);
    case 4: return fpo_vecenv_step(NULL, act, obs, rew, fl, fin);
    case 5: return fpo_vecenv_step(f->v, NULL, obs, rew, fl, fin);
    case 6: return fpo_vecenv_step(f->v, act, NULL, rew, fl, fin);
    case 7: return fpo_vecenv_step(f->v, act, obs, NULL, fl, fin);
    case 8: return fpo_vecenv_step(f->v, act, obs, rew, NULL, fin);
    case 9: act[1] = NAN; return fpo_vecenv_step(f->v, act, obs, rew, fl, fin);
    case 10: act[3] = -INFINITY; return fpo_vecenv_step(f->v, act, obs, rew, fl, fin);
    case 11: atomic_store(&f->venv.fail_step_at, now + 2); return fpo_vecenv_step(f->v, act, obs, rew, fl, fin);
    case 12: atomic_store(&f->venv.nan_obs_at, now + 1); return fpo_vecenv_step(f->v, act, obs, rew, fl, fin);
    case 13: atomic_store(&f->venv.nan_rew_at, now + 2); return fpo_vecenv_step(f->v, act, obs, rew, fl, fin);
    case 14: atomic_store(&f->venv.inf_rew_at, now + 1); return fpo_vecenv_step(f->v, act, obs, rew, fl, fin);
    case 15: atomic_store(&f->venv.badflag_at, now + 2); return fpo_vecenv_step(f->v, act, obs, rew, fl, fin);
    case 16: /* step after a failed step, before a reset */
        atomic_store(&f->venv.fail_step_at, now + 1);
        if (fpo_vecenv_step(f->v, act, obs, rew, fl, fin) != FPO_ECALLBACK)
            return -100;
        return fpo_vecenv_step(f->v, act, obs, rew, fl, fin);
    case 17: { /* step before the first reset */
        fpo_vecenv_config c;
        fpo_vecenv_config_init(&c);
        c.table = &f->vtab;
        c.user = &f->venv;
        c.num_envs = NE;
        fpo_vecenv *v2;
        ck_assert_int_eq(fpo_vecenv_create(&v2, &c), FPO_OK);
        int rc = fpo_vecenv_step(v2, act, obs, rew, fl, fin);
        int msg = fpo_vecenv_errmsg(v2)[0] != '\0';
        int ok = fpo_vecenv_reset(v2, obs) == FPO_OK &&
                 fpo_vecenv_step(v2, act, obs, rew, fl, fin) == FPO_OK;
        fpo_vecenv_destroy(v2);
        return msg && ok ? rc : -100;
    }
    case 18: atomic_store(&f->venv.fail_reset_next, 1); /* reset after an ended episode fails */
        for (int i = 0; i < TOY_EPISODE; i++) {
            int rc = fpo_vecenv_step(f->v, act, obs, rew, fl, fin);
            if (rc)
                return rc;
        }
        return -100;
    case 19: return fpo_vecenv_num_envs(NULL);
    case 20: return fpo_vecenv_obs_dim(NULL);
    case 21: return fpo_vecenv_act_dim(NULL);
    case 22: return fpo_vecenv_take_episode_stats(NULL, &es);
    case 23: return fpo_vecenv_take_episode_stats(f->v, NULL);
    case 24: es.struct_size = 0; return fpo_vecenv_take_episode_stats(f->v, &es);
    }
    return -100;
}

/* ---- trainer -------------------------------------------------------------------- */

static int trainer_create_case(fx *f, int k)
{
    toy e;
    toy_init(&e, OD, AD);
    fpo_env_table tab = toy_table(&e);
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.epochs = 1;
    oc.minibatches = 1;
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    fpo_trainer_config c;
    fpo_trainer_config_init(&c);
    c.env = &tab;
    c.env_user = &e;
    c.num_envs = NE;
    c.horizon = HZ;
    c.n_mc = NMC;
    c.policy = &pc;
    c.optimizer = &oc;
    c.sampler = &sc;
    fpo_trainer *t = (fpo_trainer *)&c;
    (void)f;
    switch (k) {
    case 0: return fpo_trainer_create(NULL, &c);
    case 1: return nz(fpo_trainer_create(&t, NULL));
    case 2: c.struct_size = 0; break;
    case 3: c.env = NULL; break;
    case 4: c.num_envs = 0; break;
    case 5: c.horizon = 0; break;
    case 6: c.horizon = -3; break;
    case 7: c.threads = 0; break;
    case 8: c.threads = 257; break;
    case 9: c.n_mc = -1; break;
    case 10: c.n_mc = 0; break; /* FPO needs pairs */
    case 11: tab.obs_dim = 0; break;
    case 12: tab.reset = NULL; break;
    case 13: tab.version = 0; break;
    case 14: oc.algo = FPO_ALGO_PPO; break; /* with a flow policy config */
    case 15: oc.struct_size = 0; break;
    case 16: pc.actor_layers = 9; break;
    case 17: pc.flow_output_scale = NAN; break;
    case 18: sc.steps = 0; break;
    case 19: sc.struct_size = 1; break;
    case 20: c.horizon = 1 << 25; break;
    case 21: c.num_envs = INT_MAX; break;
    case 22: c.allocator = bad_allocator(1); break;
    case 23: oc.lr = NAN; break;
    case 24: pc.struct_size = 0; break;
    case 25: e.fail_create_index = 0; break;
    case 26: oc.minibatches = NE * HZ + 1; break;
    case 27: c.t_dist = (fpo_t_dist)9; break;
    case 28: c.collective = bad_collective(2); break;
    }
    int rc = fpo_trainer_create(&t, &c);
    if (t)
        return -100;
    if (atomic_load(&e.created) != atomic_load(&e.destroyed))
        return -101;
    return rc;
}

static int trainer_call_case(fx *f, int k)
{
    fpo_progress pr = {sizeof pr};
    long now = atomic_load(&f->tenv.steps);
    switch (k) {
    case 0: return fpo_trainer_iterate(NULL, &pr);
    case 1: atomic_store(&f->tenv.fail_step_at, now + 5); return fpo_trainer_iterate(f->t, &pr);
    case 2: atomic_store(&f->tenv.nan_obs_at, now + 3); return fpo_trainer_iterate(f->t, &pr);
    case 3: atomic_store(&f->tenv.nan_rew_at, now + 8); return fpo_trainer_iterate(f->t, NULL);
    case 4: atomic_store(&f->tenv.fail_reset_next, 1); return fpo_trainer_iterate(f->t, &pr);
    case 5: atomic_store(&f->tenv.nan_reset_next, 1); return fpo_trainer_iterate(f->t, &pr);
    case 6: atomic_store(&f->tenv.badflag_at, now + 1); return fpo_trainer_iterate(f->t, &pr);
    case 7: pr.struct_size = 0; return fpo_trainer_iterate(f->t, &pr);
    case 8: return fpo_trainer_run(NULL, 10);
    case 9: return fpo_trainer_run(f->t, -1);
    case 10: atomic_store(&f->tenv.inf_rew_at, now + 2); return fpo_trainer_run(f->t, 1000);
    case 11: return fpo_trainer_policy(NULL) == NULL ? FPO_EINVAL : -100;
    case 12: return fpo_trainer_optimizer(NULL) == NULL ? FPO_EINVAL : -100;
    case 13: return (int)fpo_trainer_env_steps(NULL);
    case 14: return fpo_trainer_run(f->t, INT64_MIN);
    }
    return -100;
}

static fpo_trainer *mk_trainer(toy *e, fpo_env_table *tab, int num_envs)
{
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.epochs = 1;
    oc.minibatches = 1;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = tab;
    tc.env_user = e;
    tc.num_envs = num_envs;
    tc.horizon = HZ;
    tc.n_mc = NMC;
    tc.policy = &pc;
    tc.optimizer = &oc;
    fpo_trainer *t = NULL;
    ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_OK);
    return t;
}

static int trainer_ckpt_case(fx *f, int k)
{
    char p[300];
    FILE *fp;
    snprintf(p, sizeof p, "%s/t.ckpt", f->tmpdir);
    switch (k) {
    case 0: return fpo_trainer_save(NULL, p);
    case 1: return fpo_trainer_save(f->t, NULL);
    case 2: snprintf(p, sizeof p, "%s/missing/t.ckpt", f->tmpdir); return fpo_trainer_save(f->t, p);
    case 3: /* parent is a regular file */
        fp = fopen(p, "wb");
        fclose(fp);
        strcat(p, "/x");
        return fpo_trainer_save(f->t, p);
    case 4: return fpo_trainer_restore(NULL, p);
    case 5: return fpo_trainer_restore(f->t, NULL);
    case 6: return fpo_trainer_restore(f->t, p); /* missing */
    case 7: return fpo_trainer_restore(f->t, f->tmpdir); /* a directory */
    case 8: /* garbage */
        fp = fopen(p, "wb");
        fputs("garbage garbage garbage garbage", fp);
        fclose(fp);
        return fpo_trainer_restore(f->t, p);
    case 9: /* a policy checkpoint is not a trainer checkpoint */
        ck_assert_int_eq(fpo_policy_save(f->pf, p), FPO_OK);
        return fpo_trainer_restore(f->t, p);
    case 10: case 11: case 12: { /* from another configuration; truncated; one bit flipped */
        toy e;
        toy_init(&e, OD, AD);
        fpo_env_table tab = toy_table(&e);
        fpo_trainer *t2 = mk_trainer(&e, &tab, k == 10 ? 3 : NE);
        ck_assert_int_eq(fpo_trainer_iterate(t2, NULL), FPO_OK);
        ck_assert_int_eq(fpo_trainer_save(t2, p), FPO_OK);
        fpo_trainer_destroy(t2);
        if (k != 10) {
            fp = fopen(p, "r+b");
            fseek(fp, 0, SEEK_END);
            long n = ftell(fp);
            if (k == 11) {
                ck_assert_int_eq(ftruncate(fileno(fp), n - 9), 0);
            } else {
                fseek(fp, n / 3, SEEK_SET);
                int ch = fgetc(fp);
                fseek(fp, n / 3, SEEK_SET);
                fputc(ch ^ 4, fp);
            }
            fclose(fp);
        }
        return fpo_trainer_restore(f->t, p);
    }
    }
    return -100;
}

/* ---- no handle: inits, destroys, messages, strerror ---------------------------- */

static int misc_case(fx *f, int k)
{
    (void)f;
    const char *s = "x";
    switch (k) {
    /* sized inits of a NULL struct: FPO_EINVAL, with a message */
    case 0: return fpo_policy_config_init_sized(NULL, sizeof(fpo_policy_config));
    case 1: return fpo_sampler_config_init_sized(NULL, sizeof(fpo_sampler_config));
    case 2: return fpo_buffer_config_init_sized(NULL, sizeof(fpo_buffer_config));
    case 3: return fpo_optimizer_config_init_sized(NULL, sizeof(fpo_optimizer_config), FPO_ALGO_FPO);
    case 4: return fpo_vecenv_config_init_sized(NULL, sizeof(fpo_vecenv_config));
    case 5: return fpo_trainer_config_init_sized(NULL, sizeof(fpo_trainer_config));
    case 6: fpo_policy_destroy(NULL); break;
    case 7: fpo_sampler_destroy(NULL); break;
    case 8: fpo_buffer_destroy(NULL); break;
    case 9: fpo_optimizer_destroy(NULL); break;
    case 10: fpo_vecenv_destroy(NULL); break;
    case 11: fpo_trainer_destroy(NULL); break;
    case 12: s = fpo_policy_errmsg(NULL); break;
    case 13: s = fpo_sampler_errmsg(NULL); break;
    case 14: s = fpo_buffer_errmsg(NULL); break;
    case 15: s = fpo_optimizer_errmsg(NULL); break;
    case 16: s = fpo_vecenv_errmsg(NULL); break;
    case 17: s = fpo_trainer_errmsg(NULL); break;
    case 18: s = fpo_strerror(1); break;
    case 19: s = fpo_strerror(INT_MIN); break;
    case 20: s = fpo_strerror(FPO_EKEY - 1); break;
    case 21: { /* an optimizer config for an unknown algorithm still initializes */
        fpo_optimizer_config c;
        fpo_optimizer_config_init(&c, (fpo_algo)77);
        s = c.struct_size == sizeof c ? "ok" : NULL;
        break;
    }
    case 22: s = fpo_last_errmsg(); s = s ? "ok" : NULL; break;
    }
    if (!s || !s[0])
        return -100;
    return FPO_OK;
}

/* ---- the table ------------------------------------------------------------------ */

#define E(c) FPO_##c
static const bcase cases[] = {
    /* policy create: 0..47 */
    {"policy_create out NULL", policy_create_case, 0, E(EINVAL), H_LOAD, 0},
    {"policy_create cfg NULL", policy_create_case, 1, E(EINVAL), H_LOAD, 0},
    {"policy_create struct_size 0", policy_create_case, 2, E(EINVAL), H_LOAD, 0},
    {"policy_create struct_size 4", policy_create_case, 3, E(EINVAL), H_LOAD, 0},
    {"policy_create obs_dim 0", policy_create_case, 4, E(ERANGE), H_LOAD, 0},
    {"policy_create obs_dim -1", policy_create_case, 5, E(ERANGE), H_LOAD, 0},
    {"policy_create obs_dim 65537", policy_create_case, 6, E(ERANGE), H_LOAD, 0},
    {"policy_create obs_dim INT_MAX", policy_create_case, 7, E(ERANGE), H_LOAD, 0},
    {"policy_create act_dim 0", policy_create_case, 8, E(ERANGE), H_LOAD, 0},
    {"policy_create act_dim INT_MIN", policy_create_case, 9, E(ERANGE), H_LOAD, 0},
    {"policy_create kind 2", policy_create_case, 10, E(ERANGE), H_LOAD, 0},
    {"policy_create kind -1", policy_create_case, 11, E(ERANGE), H_LOAD, 0},
    {"policy_create actor_layers -1", policy_create_case, 12, E(ERANGE), H_LOAD, 0},
    {"policy_create actor_layers 9", policy_create_case, 13, E(ERANGE), H_LOAD, 0},
    {"policy_create critic_layers 9", policy_create_case, 14, E(ERANGE), H_LOAD, 0},
    {"policy_create actor_hidden 0", policy_create_case, 15, E(ERANGE), H_LOAD, 0},
    {"policy_create actor_hidden 65537", policy_create_case, 16, E(ERANGE), H_LOAD, 0},
    {"policy_create critic_hidden -3", policy_create_case, 17, E(ERANGE), H_LOAD, 0},
    {"policy_create actor_activation 3", policy_create_case, 18, E(ERANGE), H_LOAD, 0},
    {"policy_create critic_activation -1", policy_create_case, 19, E(ERANGE), H_LOAD, 0},
    {"policy_create flow_output_scale NaN", policy_create_case, 20, E(ERANGE), H_LOAD, 0},
    {"policy_create flow_output_scale Inf", policy_create_case, 21, E(ERANGE), H_LOAD, 0},
    {"policy_create flow_output_scale 0", policy_create_case, 22, E(ERANGE), H_LOAD, 0},
    {"policy_create flow_output_scale -1", policy_create_case, 23, E(ERANGE), H_LOAD, 0},
    {"policy_create time_embedding 2", policy_create_case, 24, E(ERANGE), H_LOAD, 0},
    {"policy_create std_mode 3", policy_create_case, 25, E(ERANGE), H_LOAD, 0},
    {"policy_create min_std NaN", policy_create_case, 26, E(ERANGE), H_LOAD, 0},
    {"policy_create min_std -1", policy_create_case, 27, E(ERANGE), H_LOAD, 0},
    {"policy_create init_std NaN", policy_create_case, 28, E(ERANGE), H_LOAD, 0},
    {"policy_create init_std Inf", policy_create_case, 29, E(ERANGE), H_LOAD, 0},
    {"policy_create init_std == min_std", policy_create_case, 30, E(ERANGE), H_LOAD, 0},
    {"policy_create squash 2", policy_create_case, 31, E(ERANGE), H_LOAD, 0},
    {"policy_create obs_clip NaN", policy_create_case, 32, E(ERANGE), H_LOAD, 0},
    {"policy_create obs_clip 0", policy_create_case, 33, E(ERANGE), H_LOAD, 0},
    {"policy_create obs_clip Inf", policy_create_case, 34, E(ERANGE), H_LOAD, 0},
    {"policy_create raw_clip NaN", policy_create_case, 35, E(ERANGE), H_LOAD, 0},
    {"policy_create raw_clip -1", policy_create_case, 36, E(ERANGE), H_LOAD, 0},
    {"policy_create raw_clip Inf", policy_create_case, 37, E(ERANGE), H_LOAD, 0},
    {"policy_create action_low NaN", policy_create_case, 38, E(ERANGE), H_LOAD, 0},
    {"policy_create action_high Inf", policy_create_case, 39, E(ERANGE), H_LOAD, 0},
    {"policy_create action low == high", policy_create_case, 40, E(ERANGE), H_LOAD, 0},
    {"policy_create action low > high", policy_create_case, 41, E(ERANGE), H_LOAD, 0},
    {"policy_create allocator struct_size 0", policy_create_case, 42, E(EINVAL), H_LOAD, 0},
    {"policy_create allocator without free", policy_create_case, 43, E(EINVAL), H_LOAD, 0},
    {"policy_create allocator without alloc", policy_create_case, 44, E(EINVAL), H_LOAD, 0},
    {"policy_create gaussian init_std NaN", policy_create_case, 45, E(ERANGE), H_LOAD, 0},
    {"policy_create gaussian min_std Inf", policy_create_case, 46, E(ERANGE), H_LOAD, 0},
    {"policy_create gaussian std_mode -2", policy_create_case, 47, E(ERANGE), H_LOAD, 0},
    {"policy_create chunk -1", policy_create_case, 48, E(ERANGE), H_LOAD, 0},
    {"policy_create chunk 65", policy_create_case, 49, E(ERANGE), H_LOAD, 0},
    {"policy_create chunk 2^40", policy_create_case, 50, E(ERANGE), H_LOAD, 0},
    {"policy_create chunk 64 x act_dim 1025", policy_create_case, 51, E(ERANGE), H_LOAD, 0},
    /* policy calls */
    {"policy_clone out NULL", policy_misc_case, 0, E(EINVAL), H_LOAD, 0},
    {"policy_clone src NULL", policy_misc_case, 1, E(EINVAL), H_LOAD, 0},
    {"policy_get_info p NULL", policy_misc_case, 2, E(EINVAL), H_LOAD, 0},
    {"policy_get_info out NULL", policy_misc_case, 3, E(EINVAL), H_PF, TLMSG},
    {"policy_get_info struct_size 0", policy_misc_case, 4, E(EINVAL), H_PF, TLMSG},
    {"policy_get_config p NULL", policy_misc_case, 5, E(EINVAL), H_LOAD, 0},
    {"policy_get_config out NULL", policy_misc_case, 6, E(EINVAL), H_PF, TLMSG},
    {"policy_get_config struct_size 0", policy_misc_case, 7, E(EINVAL), H_PF, TLMSG},
    {"policy_get_params p NULL", policy_misc_case, 8, E(EINVAL), H_LOAD, 0},
    {"policy_get_params out NULL", policy_misc_case, 9, E(EINVAL), H_PF, TLMSG},
    {"policy_get_params net 3", policy_misc_case, 10, E(ERANGE), H_PF, TLMSG},
    {"policy_get_params net -1", policy_misc_case, 11, E(ERANGE), H_PF, TLMSG},
    {"policy_get_params n + 1", policy_misc_case, 12, E(ESIZE), H_PF, TLMSG},
    {"policy_get_params n 0", policy_misc_case, 13, E(ESIZE), H_PF, TLMSG},
    {"policy_get_params n SIZE_MAX", policy_misc_case, 14, E(ESIZE), H_PF, TLMSG},
    {"policy_set_params p NULL", policy_misc_case, 15, E(EINVAL), H_LOAD, 0},
    {"policy_set_params params NULL", policy_misc_case, 16, E(EINVAL), H_PF, 0},
    {"policy_set_params net 7", policy_misc_case, 17, E(ERANGE), H_PF, 0},
    {"policy_set_params n - 1", policy_misc_case, 18, E(ESIZE), H_PF, 0},
    {"policy_set_params actor with all's n", policy_misc_case, 19, E(ESIZE), H_PF, 0},
    {"policy_set_params NaN first", policy_misc_case, 20, E(ENONFINITE), H_PF, 0},
    {"policy_set_params Inf last", policy_misc_case, 21, E(ENONFINITE), H_PF, 0},
    {"policy_set_params -Inf first critic", policy_misc_case, 22, E(ENONFINITE), H_PF, 0},
    {"policy_set_params critic NaN", policy_misc_case, 23, E(ENONFINITE), H_PF, 0},
    {"policy_obs_accumulate p NULL", policy_misc_case, 24, E(EINVAL), H_LOAD, 0},
    {"policy_obs_accumulate obs NULL", policy_misc_case, 25, E(EINVAL), H_PF, 0},
    {"policy_obs_accumulate n -1", policy_misc_case, 26, E(EINVAL), H_PF, 0},
    {"policy_obs_accumulate NaN row 2", policy_misc_case, 27, E(ENONFINITE), H_PF, 0},
    {"policy_obs_accumulate Inf last", policy_misc_case, 28, E(ENONFINITE), H_PF, 0},
    {"policy_obs_accumulate -Inf first", policy_misc_case, 29, E(ENONFINITE), H_PF, 0},
    {"policy_obs_commit NULL", policy_misc_case, 30, E(EINVAL), H_LOAD, 0},
    {"policy_obs_stats p NULL", policy_misc_case, 31, E(EINVAL), H_LOAD, 0},
    {"policy_obs_stats mean NULL", policy_misc_case, 32, E(EINVAL), H_PF, TLMSG},
    {"policy_obs_stats std NULL", policy_misc_case, 33, E(EINVAL), H_PF, TLMSG},
    {"policy_set_params other policy's n", policy_misc_case, 34, E(ESIZE), H_PG, 0},
    {"policy_obs_accumulate NaN, then commit", policy_misc_case, 35, E(ENONFINITE), H_PF, 0},
    /* checkpoints */
    {"policy_save p NULL", checkpoint_case, 0, E(EINVAL), H_LOAD, 0},
    {"policy_save path NULL", checkpoint_case, 1, E(EINVAL), H_PF, 0},
    {"policy_save missing dir", checkpoint_case, 2, E(EIO), H_PF, 0},
    {"policy_save parent is a file", checkpoint_case, 3, E(EIO), H_PF, 0},
    {"policy_save path is a dir", checkpoint_case, 4, E(EIO), H_PF, 0},
    {"policy_save path empty", checkpoint_case, 5, E(EIO), H_PF, 0},
    {"policy_save path too long", checkpoint_case, 6, E(EIO), H_PF, 0},
    {"policy_save into /proc", checkpoint_case, 7, E(EIO), H_PF, 0},
    {"policy_save_mem p NULL", checkpoint_case, 8, E(EINVAL), H_LOAD, 0},
    {"policy_save_mem size NULL", checkpoint_case, 9, E(EINVAL), H_PF, TLMSG},
    {"policy_save_mem cap - 1", checkpoint_case, 10, E(ESIZE), H_PF, TLMSG},
    {"policy_save_mem cap 0", checkpoint_case, 11, E(ESIZE), H_PF, TLMSG},
    {"policy_load out NULL", checkpoint_case, 12, E(EINVAL), H_LOAD, 0},
    {"policy_load path NULL", checkpoint_case, 13, E(EINVAL), H_LOAD, 0},
    {"policy_load missing file", checkpoint_case, 14, E(EIO), H_LOAD, 0},
    {"policy_load a directory", checkpoint_case, 15, E(EIO), H_LOAD, 0},
    {"policy_load empty file", checkpoint_case, 16, E(EFORMAT), H_LOAD, 0},
    {"policy_load garbage file", checkpoint_case, 17, E(EFORMAT), H_LOAD, 0},
    {"policy_load bad allocator", checkpoint_case, 18, E(EINVAL), H_LOAD, 0},
    {"policy_load_mem out NULL", checkpoint_case, 19, E(EINVAL), H_LOAD, 0},
    {"policy_load_mem buf NULL", checkpoint_case, 20, E(EINVAL), H_LOAD, 0},
    {"policy_load_mem size 0", checkpoint_case, 21, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem size 7", checkpoint_case, 22, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem size 16", checkpoint_case, 23, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem size - 1", checkpoint_case, 24, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem bad allocator", checkpoint_case, 25, E(EINVAL), H_LOAD, 0},
    {"policy_load_mem bit flip", checkpoint_case, 26, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem bad magic", checkpoint_case, 27, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem format 4", checkpoint_case, 28, E(EVERSION), H_LOAD, 0},
    {"policy_load_mem format 0", checkpoint_case, 29, E(EVERSION), H_LOAD, 0},
    {"policy_load_mem kind 7", checkpoint_case, 30, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem obs_dim 0", checkpoint_case, 31, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem obs_dim 2^31", checkpoint_case, 32, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem obs_dim + 1", checkpoint_case, 33, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem act_dim 65537", checkpoint_case, 34, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem actor_layers 9", checkpoint_case, 35, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem actor_layers -1", checkpoint_case, 36, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem actor_hidden 0", checkpoint_case, 37, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem actor_hidden 9", checkpoint_case, 38, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem actor_activation 9", checkpoint_case, 39, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem critic_layers 1000", checkpoint_case, 40, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem critic_hidden 2^31-1", checkpoint_case, 41, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem time_embedding 5", checkpoint_case, 42, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem std_mode 5", checkpoint_case, 43, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem squash 5", checkpoint_case, 44, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem flow_output_scale NaN", checkpoint_case, 45, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem init_std Inf", checkpoint_case, 46, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem min_std -1", checkpoint_case, 47, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem obs_clip 0", checkpoint_case, 48, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem raw_clip -Inf", checkpoint_case, 49, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem action_low NaN", checkpoint_case, 50, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem action_low > high", checkpoint_case, 51, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem count < 0", checkpoint_case, 52, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem mean NaN", checkpoint_case, 53, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem m2 -1", checkpoint_case, 54, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem n_params 5", checkpoint_case, 55, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem n_params 2^62", checkpoint_case, 56, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem param Inf", checkpoint_case, 57, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem param NaN", checkpoint_case, 58, E(EFORMAT), H_LOAD, 0},
    {"policy_load_mem m2 Inf", checkpoint_case, 59, E(EFORMAT), H_LOAD, 0},
    /* sampler create */
    {"sampler_create out NULL", sampler_create_case, 0, E(EINVAL), H_LOAD, 0},
    {"sampler_create policy NULL", sampler_create_case, 1, E(EINVAL), H_LOAD, 0},
    {"sampler_create cfg NULL", sampler_create_case, 2, E(EINVAL), H_LOAD, 0},
    {"sampler_create struct_size 0", sampler_create_case, 3, E(EINVAL), H_LOAD, 0},
    {"sampler_create integrator 4", sampler_create_case, 4, E(ERANGE), H_LOAD, 0},
    {"sampler_create integrator -1", sampler_create_case, 5, E(ERANGE), H_LOAD, 0},
    {"sampler_create steps 0", sampler_create_case, 6, E(ERANGE), H_LOAD, 0},
    {"sampler_create steps 1001", sampler_create_case, 7, E(ERANGE), H_LOAD, 0},
    {"sampler_create steps INT_MIN", sampler_create_case, 8, E(ERANGE), H_LOAD, 0},
    {"sampler_create init_noise 2", sampler_create_case, 9, E(ERANGE), H_LOAD, 0},
    {"sampler_create sde_noise NaN", sampler_create_case, 10, E(ERANGE), H_LOAD, 0},
    {"sampler_create sde_noise -0.5", sampler_create_case, 11, E(ERANGE), H_LOAD, 0},
    {"sampler_create sde_noise Inf", sampler_create_case, 12, E(ERANGE), H_LOAD, 0},
    {"sampler_create max_batch 0", sampler_create_case, 13, E(ERANGE), H_LOAD, 0},
    {"sampler_create max_batch -1", sampler_create_case, 14, E(ERANGE), H_LOAD, 0},
    {"sampler_create max_batch 2^24+1", sampler_create_case, 15, E(ERANGE), H_LOAD, 0},
    {"sampler_create allocator struct_size 0", sampler_create_case, 16, E(EINVAL), H_LOAD, 0},
    {"sampler_create allocator without alloc", sampler_create_case, 17, E(EINVAL), H_LOAD, 0},
    {"sampler_create row_offset -1", sampler_create_case, 18, E(ERANGE), H_LOAD, 0},
    {"sampler_create row_offset 2^30+1", sampler_create_case, 19, E(ERANGE), H_LOAD, 0},
    {"sampler_create record_path 2", sampler_create_case, 20, E(ERANGE), H_LOAD, 0},
    {"sampler_create record_path with Heun", sampler_create_case, 21, E(ERANGE), H_LOAD, 0},
    {"sampler_create record_path, Gaussian policy", sampler_create_case, 22, E(EMISMATCH), H_LOAD, 0},
    /* sampler calls */
    {"sampler_act s NULL", sampler_call_case, 0, E(EINVAL), H_LOAD, 0},
    {"sampler_act p NULL", sampler_call_case, 1, E(EINVAL), H_S, 0},
    {"sampler_act obs NULL", sampler_call_case, 2, E(EINVAL), H_S, 0},
    {"sampler_act outputs NULL", sampler_call_case, 3, E(EINVAL), H_S, 0},
    {"sampler_act n -1", sampler_call_case, 4, E(ERANGE), H_S, 0},
    {"sampler_act n max_batch + 1", sampler_call_case, 5, E(ERANGE), H_S, 0},
    {"sampler_act n INT_MAX", sampler_call_case, 6, E(ERANGE), H_S, 0},
    {"sampler_act obs NaN", sampler_call_case, 7, E(ENONFINITE), H_S, 0},
    {"sampler_act obs Inf", sampler_call_case, 8, E(ENONFINITE), H_S, 0},
    {"sampler_act obs -Inf", sampler_call_case, 9, E(ENONFINITE), H_S, 0},
    {"sampler_act policy obs_dim 4", sampler_call_case, 10, E(EMISMATCH), H_S, 0},
    {"sampler_act Gaussian policy", sampler_call_case, 11, E(EMISMATCH), H_S, 0},
    {"sampler_act wider policy", sampler_call_case, 12, E(EMISMATCH), H_S, 0},
    {"sampler_act overflowing policy", sampler_call_case, 13, E(ENONFINITE), H_S, MUT_S},
    {"sampler_value s NULL", sampler_call_case, 14, E(EINVAL), H_LOAD, 0},
    {"sampler_value p NULL", sampler_call_case, 15, E(EINVAL), H_S, 0},
    {"sampler_value obs NULL", sampler_call_case, 16, E(EINVAL), H_S, 0},
    {"sampler_value values NULL", sampler_call_case, 17, E(EINVAL), H_S, 0},
    {"sampler_value n max_batch + 1", sampler_call_case, 18, E(ERANGE), H_S, 0},
    {"sampler_value n -5", sampler_call_case, 19, E(ERANGE), H_S, 0},
    {"sampler_value obs NaN", sampler_call_case, 20, E(ENONFINITE), H_S, 0},
    {"sampler_value policy obs_dim 4", sampler_call_case, 21, E(EMISMATCH), H_S, 0},
    {"sampler_value Gaussian policy", sampler_call_case, 22, E(EMISMATCH), H_S, 0},
    {"sampler_reconfigure s NULL", sampler_call_case, 23, E(EINVAL), H_LOAD, 0},
    {"sampler_reconfigure cfg NULL", sampler_call_case, 24, E(EINVAL), H_S, 0},
    {"sampler_reconfigure struct_size 0", sampler_call_case, 25, E(EINVAL), H_S, 0},
    {"sampler_reconfigure steps 0", sampler_call_case, 26, E(ERANGE), H_S, 0},
    {"sampler_reconfigure sde NaN", sampler_call_case, 27, E(ERANGE), H_S, 0},
    {"sampler_reconfigure integrator 9", sampler_call_case, 28, E(ERANGE), H_S, 0},
    {"sampler_reconfigure init_noise -3", sampler_call_case, 29, E(ERANGE), H_S, 0},
    {"sampler_reseed NULL", sampler_call_case, 30, E(EINVAL), H_LOAD, 0},
    {"sampler_path s NULL", sampler_call_case, 31, E(EINVAL), H_LOAD, 0},
    {"sampler_path out NULL", sampler_call_case, 32, E(EINVAL), H_S, TLMSG},
    {"sampler_path without record_path", sampler_call_case, 33, E(ESTATE), H_S, TLMSG},
    /* buffer create */
    {"buffer_create out NULL", buffer_create_case, 0, E(EINVAL), H_LOAD, 0},
    {"buffer_create cfg NULL", buffer_create_case, 1, E(EINVAL), H_LOAD, 0},
    {"buffer_create struct_size 0", buffer_create_case, 2, E(EINVAL), H_LOAD, 0},
    {"buffer_create num_envs 0", buffer_create_case, 3, E(ERANGE), H_LOAD, 0},
    {"buffer_create num_envs -1", buffer_create_case, 4, E(ERANGE), H_LOAD, 0},
    {"buffer_create num_envs 2^20+1", buffer_create_case, 5, E(ERANGE), H_LOAD, 0},
    {"buffer_create horizon 0", buffer_create_case, 6, E(ERANGE), H_LOAD, 0},
    {"buffer_create horizon 2^24+1", buffer_create_case, 7, E(ERANGE), H_LOAD, 0},
    {"buffer_create obs_dim 0", buffer_create_case, 8, E(ERANGE), H_LOAD, 0},
    {"buffer_create obs_dim 65537", buffer_create_case, 9, E(ERANGE), H_LOAD, 0},
    {"buffer_create act_dim -2", buffer_create_case, 10, E(ERANGE), H_LOAD, 0},
    {"buffer_create act_dim INT_MAX", buffer_create_case, 11, E(ERANGE), H_LOAD, 0},
    {"buffer_create n_mc -1", buffer_create_case, 12, E(ERANGE), H_LOAD, 0},
    {"buffer_create n_mc 4097", buffer_create_case, 13, E(ERANGE), H_LOAD, 0},
    {"buffer_create 2^27 transitions", buffer_create_case, 14, E(ERANGE), H_LOAD, 0},
    {"buffer_create t_dist 3", buffer_create_case, 15, E(ERANGE), H_LOAD, 0},
    {"buffer_create t_beta NaN", buffer_create_case, 16, E(ERANGE), H_LOAD, 0},
    {"buffer_create t_beta 0", buffer_create_case, 17, E(ERANGE), H_LOAD, 0},
    {"buffer_create t_beta -1", buffer_create_case, 18, E(ERANGE), H_LOAD, 0},
    {"buffer_create t_beta Inf", buffer_create_case, 19, E(ERANGE), H_LOAD, 0},
    {"buffer_create allocator without free", buffer_create_case, 20, E(EINVAL), H_LOAD, 0},
    {"buffer_create struct_size 7", buffer_create_case, 21, E(EINVAL), H_LOAD, 0},
    {"buffer_create env_offset -1", buffer_create_case, 22, E(ERANGE), H_LOAD, 0},
    {"buffer_create path_steps -1", buffer_create_case, 23, E(ERANGE), H_LOAD, 0},
    {"buffer_create path_steps 1001", buffer_create_case, 24, E(ERANGE), H_LOAD, 0},
    /* buffer calls */
    {"buffer_add b NULL", buffer_call_case, 0, E(EINVAL), H_LOAD, 0},
    {"buffer_add obs NULL", buffer_call_case, 1, E(EINVAL), H_B, 0},
    {"buffer_add raw NULL", buffer_call_case, 2, E(EINVAL), H_B, 0},
    {"buffer_add rewards NULL", buffer_call_case, 3, E(EINVAL), H_B, 0},
    {"buffer_add flags NULL", buffer_call_case, 4, E(EINVAL), H_B, 0},
    {"buffer_add flag bit 8", buffer_call_case, 5, E(EINVAL), H_B, 0},
    {"buffer_add flag bit 31", buffer_call_case, 6, E(EINVAL), H_B, 0},
    {"buffer_add truncated, final_obs NULL", buffer_call_case, 7, E(EINVAL), H_B, 0},
    {"buffer_add terminated, final_obs NULL", buffer_call_case, 8, E(EINVAL), H_B, 0},
    {"buffer_add obs NaN", buffer_call_case, 9, E(ENONFINITE), H_B, 0},
    {"buffer_add obs -Inf", buffer_call_case, 10, E(ENONFINITE), H_B, 0},
    {"buffer_add action Inf", buffer_call_case, 11, E(ENONFINITE), H_B, 0},
    {"buffer_add action NaN", buffer_call_case, 12, E(ENONFINITE), H_B, 0},
    {"buffer_add reward NaN", buffer_call_case, 13, E(ENONFINITE), H_B, 0},
    {"buffer_add reward -Inf", buffer_call_case, 14, E(ENONFINITE), H_B, 0},
    {"buffer_add final_obs NaN", buffer_call_case, 15, E(ENONFINITE), H_B, 0},
    {"buffer_add full", buffer_call_case, 16, E(ESTATE), H_BFULL, 0},
    {"buffer_set_last_obs b NULL", buffer_call_case, 17, E(EINVAL), H_LOAD, 0},
    {"buffer_set_last_obs obs NULL", buffer_call_case, 18, E(EINVAL), H_B, 0},
    {"buffer_set_last_obs NaN", buffer_call_case, 19, E(ENONFINITE), H_B, 0},
    {"buffer_clear NULL", buffer_call_case, 20, E(EINVAL), H_LOAD, 0},
    {"buffer_steps NULL", buffer_call_case, 21, E(EINVAL), H_LOAD, 0},
    {"buffer_is_full NULL", buffer_call_case, 22, E(EINVAL), H_LOAD, 0},
    {"buffer_get_view b NULL", buffer_call_case, 23, E(EINVAL), H_LOAD, 0},
    {"buffer_get_view out NULL", buffer_call_case, 24, E(EINVAL), H_B, TLMSG},
    {"buffer_get_view struct_size 0", buffer_call_case, 25, E(EINVAL), H_B, TLMSG},
    {"buffer_add_path b NULL", buffer_call_case, 26, E(EINVAL), H_LOAD, 0},
    {"buffer_add_path path NULL", buffer_call_case, 27, E(EINVAL), H_B, 0},
    {"buffer_add_path without path_steps", buffer_call_case, 28, E(ESTATE), H_BFULL, 0},
    /* GAE */
    {"gae adv NULL", gae_case, 0, E(EINVAL), H_LOAD, 0},
    {"gae ret NULL", gae_case, 1, E(EINVAL), H_LOAD, 0},
    {"gae rewards NULL", gae_case, 2, E(EINVAL), H_LOAD, 0},
    {"gae flags NULL", gae_case, 3, E(EINVAL), H_LOAD, 0},
    {"gae values NULL", gae_case, 4, E(EINVAL), H_LOAD, 0},
    {"gae last_values NULL", gae_case, 5, E(EINVAL), H_LOAD, 0},
    {"gae truncation, final_values NULL", gae_case, 6, E(EINVAL), H_LOAD, 0},
    {"gae steps 0", gae_case, 7, E(ERANGE), H_LOAD, 0},
    {"gae num_envs -1", gae_case, 8, E(ERANGE), H_LOAD, 0},
    {"gae gamma NaN", gae_case, 9, E(ERANGE), H_LOAD, 0},
    {"gae gamma 1.5", gae_case, 10, E(ERANGE), H_LOAD, 0},
    {"gae gamma -0.1", gae_case, 11, E(ERANGE), H_LOAD, 0},
    {"gae lambda NaN", gae_case, 12, E(ERANGE), H_LOAD, 0},
    {"gae lambda 2", gae_case, 13, E(ERANGE), H_LOAD, 0},
    {"gae reward_scale Inf", gae_case, 14, E(ERANGE), H_LOAD, 0},
    {"gae reward_scale NaN", gae_case, 15, E(ERANGE), H_LOAD, 0},
    {"gae steps INT_MIN", gae_case, 16, E(ERANGE), H_LOAD, 0},
    /* optimizer create */
    {"optimizer_create out NULL", optimizer_create_case, 0, E(EINVAL), H_LOAD, 0},
    {"optimizer_create policy NULL", optimizer_create_case, 1, E(EINVAL), H_LOAD, 0},
    {"optimizer_create buffer NULL", optimizer_create_case, 2, E(EINVAL), H_LOAD, 0},
    {"optimizer_create cfg NULL", optimizer_create_case, 3, E(EINVAL), H_LOAD, 0},
    {"optimizer_create struct_size 0", optimizer_create_case, 4, E(EINVAL), H_LOAD, 0},
    {"optimizer_create algo 3", optimizer_create_case, 5, E(ERANGE), H_LOAD, 0},
    {"optimizer_create PPO with a flow policy", optimizer_create_case, 6, E(EMISMATCH), H_LOAD, 0},
    {"optimizer_create FPO with a Gaussian policy", optimizer_create_case, 7, E(EMISMATCH), H_LOAD, 0},
    {"optimizer_create FPO, Gaussian, n_mc 0", optimizer_create_case, 8, E(EMISMATCH), H_LOAD, 0},
    {"optimizer_create FPO, buffer n_mc 0", optimizer_create_case, 9, E(EMISMATCH), H_LOAD, 0},
    {"optimizer_create buffer obs_dim differs", optimizer_create_case, 10, E(EMISMATCH), H_LOAD, 0},
    {"optimizer_create minibatches > batch", optimizer_create_case, 11, E(ERANGE), H_LOAD, 0},
    {"optimizer_create minibatches 0", optimizer_create_case, 12, E(ERANGE), H_LOAD, 0},
    {"optimizer_create epochs 0", optimizer_create_case, 13, E(ERANGE), H_LOAD, 0},
    {"optimizer_create epochs -4", optimizer_create_case, 14, E(ERANGE), H_LOAD, 0},
    {"optimizer_create lr NaN", optimizer_create_case, 15, E(ERANGE), H_LOAD, 0},
    {"optimizer_create lr < 0", optimizer_create_case, 16, E(ERANGE), H_LOAD, 0},
    {"optimizer_create lr Inf", optimizer_create_case, 17, E(ERANGE), H_LOAD, 0},
    {"optimizer_create lr 2", optimizer_create_case, 18, E(ERANGE), H_LOAD, 0},
    {"optimizer_create clip_eps 0", optimizer_create_case, 19, E(ERANGE), H_LOAD, 0},
    {"optimizer_create clip_eps NaN", optimizer_create_case, 20, E(ERANGE), H_LOAD, 0},
    {"optimizer_create gamma 1.5", optimizer_create_case, 21, E(ERANGE), H_LOAD, 0},
    {"optimizer_create gae_lambda NaN", optimizer_create_case, 22, E(ERANGE), H_LOAD, 0},
    {"optimizer_create reward_scale Inf", optimizer_create_case, 23, E(ERANGE), H_LOAD, 0},
    {"optimizer_create reward_scale NaN", optimizer_create_case, 24, E(ERANGE), H_LOAD, 0},
    {"optimizer_create beta1 1", optimizer_create_case, 25, E(ERANGE), H_LOAD, 0},
    {"optimizer_create beta2 NaN", optimizer_create_case, 26, E(ERANGE), H_LOAD, 0},
    {"optimizer_create adam_eps 0", optimizer_create_case, 27, E(ERANGE), H_LOAD, 0},
    {"optimizer_create adam_eps Inf", optimizer_create_case, 28, E(ERANGE), H_LOAD, 0},
    {"optimizer_create weight_decay NaN", optimizer_create_case, 29, E(ERANGE), H_LOAD, 0},
    {"optimizer_create weight_decay -0.1", optimizer_create_case, 30, E(ERANGE), H_LOAD, 0},
    {"optimizer_create ratio_clamp 0", optimizer_create_case, 31, E(ERANGE), H_LOAD, 0},
    {"optimizer_create cfm_loss 3", optimizer_create_case, 32, E(ERANGE), H_LOAD, 0},
    {"optimizer_create ratio_mode 2", optimizer_create_case, 33, E(ERANGE), H_LOAD, 0},
    {"optimizer_create threads 0", optimizer_create_case, 34, E(ERANGE), H_LOAD, 0},
    {"optimizer_create threads 257", optimizer_create_case, 35, E(ERANGE), H_LOAD, 0},
    {"optimizer_create entropy_coef -1", optimizer_create_case, 36, E(ERANGE), H_LOAD, 0},
    {"optimizer_create value_coef NaN", optimizer_create_case, 37, E(ERANGE), H_LOAD, 0},
    {"optimizer_create max_grad_norm -1", optimizer_create_case, 38, E(ERANGE), H_LOAD, 0},
    {"optimizer_create max_grad_norm Inf", optimizer_create_case, 39, E(ERANGE), H_LOAD, 0},
    {"optimizer_create allocator struct_size 0", optimizer_create_case, 40, E(EINVAL), H_LOAD, 0},
    {"optimizer_create beta1 -0.5", optimizer_create_case, 41, E(ERANGE), H_LOAD, 0},
    {"optimizer_create collective without f32 sum", optimizer_create_case, 42, E(EINVAL), H_LOAD, 0},
    {"optimizer_create collective version 0", optimizer_create_case, 43, E(EVERSION), H_LOAD, 0},
    {"optimizer_create DPPO, buffer without chains", optimizer_create_case, 44, E(EMISMATCH), H_LOAD, 0},
    {"optimizer_create DPPO sigma 0", optimizer_create_case, 45, E(ERANGE), H_LOAD, 0},
    {"optimizer_create DPPO final_half 2", optimizer_create_case, 46, E(ERANGE), H_LOAD, 0},
    {"optimizer_create DPPO, Gaussian policy", optimizer_create_case, 47, E(EMISMATCH), H_LOAD, 0},
    /* optimizer calls */
    {"optimizer_update o NULL", optimizer_call_case, 0, E(EINVAL), H_LOAD, 0},
    {"optimizer_update p NULL", optimizer_call_case, 1, E(EINVAL), H_O, 0},
    {"optimizer_update b NULL", optimizer_call_case, 2, E(EINVAL), H_O, 0},
    {"optimizer_update policy obs_dim 4", optimizer_call_case, 3, E(EMISMATCH), H_O, 0},
    {"optimizer_update Gaussian policy", optimizer_call_case, 4, E(EMISMATCH), H_O, 0},
    {"optimizer_update wider policy", optimizer_call_case, 5, E(EMISMATCH), H_O, 0},
    {"optimizer_update buffer num_envs 3", optimizer_call_case, 6, E(EMISMATCH), H_O, 0},
    {"optimizer_update buffer n_mc 0", optimizer_call_case, 7, E(EMISMATCH), H_O, 0},
    {"optimizer_update empty buffer", optimizer_call_case, 8, E(ESTATE), H_O, 0},
    {"optimizer_update half-full buffer", optimizer_call_case, 9, E(ESTATE), H_O, 0},
    {"optimizer_update no last obs", optimizer_call_case, 10, E(ESTATE), H_O, 0},
    {"optimizer_update stats struct_size 0", optimizer_call_case, 11, E(EINVAL), H_O, 0},
    {"optimizer_update same n_params, other shape", optimizer_call_case, 12, E(EMISMATCH), H_NONE, 0},
    {"optimizer_set o NULL", optimizer_call_case, 13, E(EINVAL), H_LOAD, 0},
    {"optimizer_set key -1", optimizer_call_case, 14, E(EKEY), H_O, 0},
    {"optimizer_set key count", optimizer_call_case, 15, E(EKEY), H_O, 0},
    {"optimizer_set lr NaN", optimizer_call_case, 16, E(ERANGE), H_O, 0},
    {"optimizer_set lr Inf", optimizer_call_case, 17, E(ERANGE), H_O, 0},
    {"optimizer_set lr 2", optimizer_call_case, 18, E(ERANGE), H_O, 0},
    {"optimizer_set lr < 0", optimizer_call_case, 19, E(ERANGE), H_O, 0},
    {"optimizer_set epochs 1.5", optimizer_call_case, 20, E(ERANGE), H_O, 0},
    {"optimizer_set epochs 0", optimizer_call_case, 21, E(ERANGE), H_O, 0},
    {"optimizer_set minibatches below create's", optimizer_call_case, 22, E(ERANGE), H_O, 0},
    {"optimizer_set minibatches > batch", optimizer_call_case, 23, E(ERANGE), H_O, 0},
    {"optimizer_set gamma -0.1", optimizer_call_case, 24, E(ERANGE), H_O, 0},
    {"optimizer_set clip_eps 0", optimizer_call_case, 25, E(ERANGE), H_O, 0},
    {"optimizer_set epochs 1e300", optimizer_call_case, 26, E(ERANGE), H_O, 0},
    {"optimizer_set reward_scale -Inf", optimizer_call_case, 27, E(ERANGE), H_O, 0},
    {"optimizer_get o NULL", optimizer_call_case, 28, E(EINVAL), H_LOAD, 0},
    {"optimizer_get out NULL", optimizer_call_case, 29, E(EINVAL), H_O, TLMSG},
    {"optimizer_get key 99", optimizer_call_case, 30, E(EKEY), H_O, TLMSG},
    {"optimizer_key_info out NULL", optimizer_call_case, 31, E(EINVAL), H_LOAD, 0},
    {"optimizer_key_info key 99", optimizer_call_case, 32, E(EKEY), H_LOAD, 0},
    {"optimizer_key_info key -1", optimizer_call_case, 33, E(EKEY), H_LOAD, 0},
    {"optimizer_key_info struct_size 0", optimizer_call_case, 34, E(EINVAL), H_LOAD, 0},
    {"optimizer_step_count NULL", optimizer_call_case, 35, E(EINVAL), H_LOAD, 0},
    /* vecenv create */
    {"vecenv_create out NULL", vecenv_create_case, 0, E(EINVAL), H_LOAD, 0},
    {"vecenv_create cfg NULL", vecenv_create_case, 1, E(EINVAL), H_LOAD, 0},
    {"vecenv_create struct_size 0", vecenv_create_case, 2, E(EINVAL), H_LOAD, 0},
    {"vecenv_create table NULL", vecenv_create_case, 3, E(EINVAL), H_LOAD, 0},
    {"vecenv_create table struct_size 8", vecenv_create_case, 4, E(EINVAL), H_LOAD, 0},
    {"vecenv_create table version 0", vecenv_create_case, 5, E(EVERSION), H_LOAD, 0},
    {"vecenv_create reset NULL", vecenv_create_case, 6, E(EINVAL), H_LOAD, 0},
    {"vecenv_create step NULL", vecenv_create_case, 7, E(EINVAL), H_LOAD, 0},
    {"vecenv_create obs_dim 0", vecenv_create_case, 8, E(ERANGE), H_LOAD, 0},
    {"vecenv_create act_dim 65537", vecenv_create_case, 9, E(ERANGE), H_LOAD, 0},
    {"vecenv_create obs_dim -7", vecenv_create_case, 10, E(ERANGE), H_LOAD, 0},
    {"vecenv_create num_envs 0", vecenv_create_case, 11, E(ERANGE), H_LOAD, 0},
    {"vecenv_create num_envs 2^20+1", vecenv_create_case, 12, E(ERANGE), H_LOAD, 0},
    {"vecenv_create threads 0", vecenv_create_case, 13, E(ERANGE), H_LOAD, 0},
    {"vecenv_create threads 257", vecenv_create_case, 14, E(ERANGE), H_LOAD, 0},
    {"vecenv_create action_low NaN", vecenv_create_case, 15, E(ERANGE), H_LOAD, 0},
    {"vecenv_create action low == high", vecenv_create_case, 16, E(ERANGE), H_LOAD, 0},
    {"vecenv_create allocator without alloc", vecenv_create_case, 17, E(EINVAL), H_LOAD, 0},
    {"vecenv_create create callback fails", vecenv_create_case, 18, E(ECALLBACK), H_LOAD, 0},
    {"vecenv_create create fails, 2 threads", vecenv_create_case, 19, E(ECALLBACK), H_LOAD, 0},
    {"vecenv_create action_high NaN", vecenv_create_case, 20, E(ERANGE), H_LOAD, 0},
    {"vecenv_create env_offset INT_MIN", vecenv_create_case, 21, E(ERANGE), H_LOAD, 0},
    /* vecenv calls */
    {"vecenv_reset v NULL", vecenv_call_case, 0, E(EINVAL), H_LOAD, 0},
    {"vecenv_reset obs NULL", vecenv_call_case, 1, E(EINVAL), H_V, 0},
    {"vecenv_reset callback fails", vecenv_call_case, 2, E(ECALLBACK), H_V, 0},
    {"vecenv_reset NaN obs", vecenv_call_case, 3, E(ENONFINITE), H_V, 0},
    {"vecenv_step v NULL", vecenv_call_case, 4, E(EINVAL), H_LOAD, 0},
    {"vecenv_step actions NULL", vecenv_call_case, 5, E(EINVAL), H_V, 0},
    {"vecenv_step obs NULL", vecenv_call_case, 6, E(EINVAL), H_V, 0},
    {"vecenv_step rewards NULL", vecenv_call_case, 7, E(EINVAL), H_V, 0},
    {"vecenv_step flags NULL", vecenv_call_case, 8, E(EINVAL), H_V, 0},
    {"vecenv_step action NaN", vecenv_call_case, 9, E(ENONFINITE), H_V, 0},
    {"vecenv_step action -Inf", vecenv_call_case, 10, E(ENONFINITE), H_V, 0},
    {"vecenv_step callback fails", vecenv_call_case, 11, E(ECALLBACK), H_V, 0},
    {"vecenv_step NaN obs", vecenv_call_case, 12, E(ENONFINITE), H_V, 0},
    {"vecenv_step NaN reward", vecenv_call_case, 13, E(ENONFINITE), H_V, 0},
    {"vecenv_step -Inf reward", vecenv_call_case, 14, E(ENONFINITE), H_V, 0},
    {"vecenv_step unknown flag bits", vecenv_call_case, 15, E(ECALLBACK), H_V, 0},
    {"vecenv_step after a failed step", vecenv_call_case, 16, E(ESTATE), H_V, 0},
    {"vecenv_step before reset", vecenv_call_case, 17, E(ESTATE), H_NONE, 0},
    {"vecenv_step auto-reset fails", vecenv_call_case, 18, E(ECALLBACK), H_V, 0},
    {"vecenv_num_envs NULL", vecenv_call_case, 19, E(EINVAL), H_LOAD, 0},
    {"vecenv_obs_dim NULL", vecenv_call_case, 20, E(EINVAL), H_LOAD, 0},
    {"vecenv_act_dim NULL", vecenv_call_case, 21, E(EINVAL), H_LOAD, 0},
    {"vecenv_take_episode_stats v NULL", vecenv_call_case, 22, E(EINVAL), H_LOAD, 0},
    {"vecenv_take_episode_stats out NULL", vecenv_call_case, 23, E(EINVAL), H_V, 0},
    {"vecenv_take_episode_stats struct_size 0", vecenv_call_case, 24, E(EINVAL), H_V, 0},
    /* trainer create */
    {"trainer_create out NULL", trainer_create_case, 0, E(EINVAL), H_LOAD, 0},
    {"trainer_create cfg NULL", trainer_create_case, 1, E(EINVAL), H_LOAD, 0},
    {"trainer_create struct_size 0", trainer_create_case, 2, E(EINVAL), H_LOAD, 0},
    {"trainer_create env NULL", trainer_create_case, 3, E(EINVAL), H_LOAD, 0},
    {"trainer_create num_envs 0", trainer_create_case, 4, E(ERANGE), H_LOAD, 0},
    {"trainer_create horizon 0", trainer_create_case, 5, E(ERANGE), H_LOAD, 0},
    {"trainer_create horizon -3", trainer_create_case, 6, E(ERANGE), H_LOAD, 0},
    {"trainer_create threads 0", trainer_create_case, 7, E(ERANGE), H_LOAD, 0},
    {"trainer_create threads 257", trainer_create_case, 8, E(ERANGE), H_LOAD, 0},
    {"trainer_create n_mc -1", trainer_create_case, 9, E(ERANGE), H_LOAD, 0},
    {"trainer_create n_mc 0 with FPO", trainer_create_case, 10, E(EMISMATCH), H_LOAD, 0},
    {"trainer_create table obs_dim 0", trainer_create_case, 11, E(ERANGE), H_LOAD, 0},
    {"trainer_create table reset NULL", trainer_create_case, 12, E(EINVAL), H_LOAD, 0},
    {"trainer_create table version 0", trainer_create_case, 13, E(EVERSION), H_LOAD, 0},
    {"trainer_create PPO with a flow policy", trainer_create_case, 14, E(EMISMATCH), H_LOAD, 0},
    {"trainer_create optimizer struct_size 0", trainer_create_case, 15, E(EINVAL), H_LOAD, 0},
    {"trainer_create policy actor_layers 9", trainer_create_case, 16, E(ERANGE), H_LOAD, 0},
    {"trainer_create policy scale NaN", trainer_create_case, 17, E(ERANGE), H_LOAD, 0},
    {"trainer_create sampler steps 0", trainer_create_case, 18, E(ERANGE), H_LOAD, 0},
    {"trainer_create sampler struct_size 1", trainer_create_case, 19, E(EINVAL), H_LOAD, 0},
    {"trainer_create horizon 2^25", trainer_create_case, 20, E(ERANGE), H_LOAD, 0},
    {"trainer_create num_envs INT_MAX", trainer_create_case, 21, E(ERANGE), H_LOAD, 0},
    {"trainer_create allocator without free", trainer_create_case, 22, E(EINVAL), H_LOAD, 0},
    {"trainer_create optimizer lr NaN", trainer_create_case, 23, E(ERANGE), H_LOAD, 0},
    {"trainer_create policy struct_size 0", trainer_create_case, 24, E(EINVAL), H_LOAD, 0},
    {"trainer_create env create fails", trainer_create_case, 25, E(ECALLBACK), H_LOAD, 0},
    {"trainer_create minibatches > batch", trainer_create_case, 26, E(ERANGE), H_LOAD, 0},
    {"trainer_create t_dist 9", trainer_create_case, 27, E(ERANGE), H_LOAD, 0},
    {"trainer_create collective rank 2 of 2", trainer_create_case, 28, E(ERANGE), H_LOAD, 0},
    /* trainer calls */
    {"trainer_iterate NULL", trainer_call_case, 0, E(EINVAL), H_LOAD, 0},
    {"trainer_iterate step callback fails", trainer_call_case, 1, E(ECALLBACK), H_T, 0},
    {"trainer_iterate NaN obs", trainer_call_case, 2, E(ENONFINITE), H_T, 0},
    {"trainer_iterate NaN reward", trainer_call_case, 3, E(ENONFINITE), H_T, 0},
    {"trainer_iterate reset fails", trainer_call_case, 4, E(ECALLBACK), H_T, 0},
    {"trainer_iterate reset NaN obs", trainer_call_case, 5, E(ENONFINITE), H_T, 0},
    {"trainer_iterate unknown flag bits", trainer_call_case, 6, E(ECALLBACK), H_T, 0},
    {"trainer_iterate progress struct_size 0", trainer_call_case, 7, E(EINVAL), H_T, 0},
    {"trainer_run NULL", trainer_call_case, 8, E(EINVAL), H_LOAD, 0},
    {"trainer_run total -1", trainer_call_case, 9, E(ERANGE), H_T, 0},
    {"trainer_run -Inf reward", trainer_call_case, 10, E(ENONFINITE), H_T, 0},
    {"trainer_policy NULL", trainer_call_case, 11, E(EINVAL), H_LOAD, 0},
    {"trainer_optimizer NULL", trainer_call_case, 12, E(EINVAL), H_LOAD, 0},
    {"trainer_env_steps NULL", trainer_call_case, 13, E(EINVAL), H_LOAD, 0},
    {"trainer_run total INT64_MIN", trainer_call_case, 14, E(ERANGE), H_T, 0},
    /* trainer checkpoints */
    {"trainer_save t NULL", trainer_ckpt_case, 0, E(EINVAL), H_LOAD, 0},
    {"trainer_save path NULL", trainer_ckpt_case, 1, E(EINVAL), H_T, 0},
    {"trainer_save missing dir", trainer_ckpt_case, 2, E(EIO), H_T, 0},
    {"trainer_save parent is a file", trainer_ckpt_case, 3, E(EIO), H_T, 0},
    {"trainer_restore t NULL", trainer_ckpt_case, 4, E(EINVAL), H_LOAD, 0},
    {"trainer_restore path NULL", trainer_ckpt_case, 5, E(EINVAL), H_T, 0},
    {"trainer_restore missing file", trainer_ckpt_case, 6, E(EIO), H_T, 0},
    {"trainer_restore a directory", trainer_ckpt_case, 7, E(EIO), H_T, 0},
    {"trainer_restore garbage", trainer_ckpt_case, 8, E(EFORMAT), H_T, 0},
    {"trainer_restore a policy checkpoint", trainer_ckpt_case, 9, E(EFORMAT), H_T, 0},
    {"trainer_restore other num_envs", trainer_ckpt_case, 10, E(EMISMATCH), H_T, 0},
    {"trainer_restore truncated", trainer_ckpt_case, 11, E(EFORMAT), H_T, 0},
    {"trainer_restore bit flip", trainer_ckpt_case, 12, E(EFORMAT), H_T, 0},
    /* no handle */
    {"policy_config_init NULL", misc_case, 0, E(EINVAL), H_LOAD, 0},
    {"sampler_config_init NULL", misc_case, 1, E(EINVAL), H_LOAD, 0},
    {"buffer_config_init NULL", misc_case, 2, E(EINVAL), H_LOAD, 0},
    {"optimizer_config_init NULL", misc_case, 3, E(EINVAL), H_LOAD, 0},
    {"vecenv_config_init NULL", misc_case, 4, E(EINVAL), H_LOAD, 0},
    {"trainer_config_init NULL", misc_case, 5, E(EINVAL), H_LOAD, 0},
    {"policy_destroy NULL", misc_case, 6, E(OK), H_NONE, 0},
    {"sampler_destroy NULL", misc_case, 7, E(OK), H_NONE, 0},
    {"buffer_destroy NULL", misc_case, 8, E(OK), H_NONE, 0},
    {"optimizer_destroy NULL", misc_case, 9, E(OK), H_NONE, 0},
    {"vecenv_destroy NULL", misc_case, 10, E(OK), H_NONE, 0},
    {"trainer_destroy NULL", misc_case, 11, E(OK), H_NONE, 0},
    {"policy_errmsg NULL", misc_case, 12, E(OK), H_NONE, 0},
    {"sampler_errmsg NULL", misc_case, 13, E(OK), H_NONE, 0},
    {"buffer_errmsg NULL", misc_case, 14, E(OK), H_NONE, 0},
    {"optimizer_errmsg NULL", misc_case, 15, E(OK), H_NONE, 0},
    {"vecenv_errmsg NULL", misc_case, 16, E(OK), H_NONE, 0},
    {"trainer_errmsg NULL", misc_case, 17, E(OK), H_NONE, 0},
    {"strerror 1", misc_case, 18, E(OK), H_NONE, 0},
    {"strerror INT_MIN", misc_case, 19, E(OK), H_NONE, 0},
    {"strerror past the last code", misc_case, 20, E(OK), H_NONE, 0},
    {"optimizer_config_init algo 77", misc_case, 21, E(OK), H_NONE, 0},
    {"load_errmsg before any load", misc_case, 22, E(OK), H_NONE, 0},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* ---- the checks after every row ---------------------------------------------------- */

static const char *errmsg_of(const fx *f, int h)
{
    switch (h) {
    case H_LOAD: return fpo_last_errmsg();
    case H_PF: return fpo_policy_errmsg(f->pf);
    case H_PG: return fpo_policy_errmsg(f->pg);
    case H_S: return fpo_sampler_errmsg(f->s);
    case H_B: return fpo_buffer_errmsg(f->b);
    case H_BFULL: return fpo_buffer_errmsg(f->bfull);
    case H_O: return fpo_optimizer_errmsg(f->o);
    case H_V: return fpo_vecenv_errmsg(f->v);
    case H_T: return fpo_trainer_errmsg(f->t);
    }
    return NULL;
}

static void check_policy_unchanged(const fpo_policy *p, const unsigned char *before, size_t n,
                                   const char *what)
{
    size_t m;
    unsigned char *now = policy_bytes(p, &m);
    ck_assert_msg(m == n && memcmp(now, before, n) == 0, "%s changed by a failed call", what);
    free(now);
}

static void check_all_usable(fx *f, unsigned mut)
{
    /* policies: unchanged, and parameters can be written back */
    check_policy_unchanged(f->pf, f->pf_bytes, f->pf_n, "flow policy");
    check_policy_unchanged(f->pg, f->pg_bytes, f->pg_n, "Gaussian policy");
    check_policy_unchanged(fpo_trainer_policy(f->t), f->t_bytes, f->t_n, "trainer policy");
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(f->pf, &info), FPO_OK);
    size_t np = info.actor_params + info.critic_params;
    float *w = malloc(np * sizeof(float));
    ck_assert_int_eq(fpo_policy_get_params(f->pf, FPO_NET_ALL, w, np), FPO_OK);
    ck_assert_int_eq(fpo_policy_set_params(f->pf, FPO_NET_ALL, w, np), FPO_OK);
    free(w);
    ck_assert_int_eq(fpo_policy_obs_accumulate(f->pg, good_obs, NE), FPO_OK);

    /* sampler: same stream and configuration as its twin */
    float a1[NE * AD], a2[NE * AD], r1[NE * AD], r2[NE * AD], v1[NE], v2[NE];
    ck_assert_int_eq(fpo_sampler_act(f->s, f->pf, good_obs, NE, a1, r1), FPO_OK);
    ck_assert_int_eq(fpo_sampler_act(f->s_twin, f->pf, good_obs, NE, a2, r2), FPO_OK);
    if (!(mut & MUT_S)) {
        ck_assert_mem_eq(a1, a2, sizeof a1);
        ck_assert_mem_eq(r1, r2, sizeof r1);
    }
    ck_assert_int_eq(fpo_sampler_value(f->s, f->pf, good_obs, NE, v1), FPO_OK);
    ck_assert_int_eq(fpo_sampler_value(f->s_twin, f->pf, good_obs, NE, v2), FPO_OK);
    ck_assert_mem_eq(v1, v2, sizeof v1);
    for (int i = 0; i < NE * AD; i++)
        ck_assert(isfinite(a1[i]) && a1[i] >= -1.0f && a1[i] <= 1.0f);

    /* buffers: same contents and stream as the twin after one more good step */
    ck_assert_int_eq(fpo_buffer_steps(f->b), f->b_steps);
    ck_assert_int_eq(fpo_buffer_steps(f->bfull), f->bfull_steps);
    ck_assert_int_eq(fpo_buffer_add(f->b, good_obs, good_act, good_rew, no_flags, NULL), FPO_OK);
    ck_assert_int_eq(fpo_buffer_add(f->b_twin, good_obs, good_act, good_rew, no_flags, NULL),
                     FPO_OK);
    fpo_buffer_view x = {sizeof x}, y = {sizeof y};
    ck_assert_int_eq(fpo_buffer_get_view(f->b, &x), FPO_OK);
    ck_assert_int_eq(fpo_buffer_get_view(f->b_twin, &y), FPO_OK);
    ck_assert_int_eq(x.steps, y.steps);
    size_t T = (size_t)x.steps * NE;
    ck_assert_mem_eq(x.obs, y.obs, T * OD * sizeof(float));
    ck_assert_mem_eq(x.rewards, y.rewards, T * sizeof(float));
    ck_assert_mem_eq(x.pairs_t, y.pairs_t, T * NMC * sizeof(float));
    ck_assert_mem_eq(x.pairs_eps, y.pairs_eps, T * NMC * AD * sizeof(float));
    ck_assert_int_eq(fpo_buffer_clear(f->bfull), FPO_OK);
    for (int h = 0; h < HZ; h++)
        ck_assert_int_eq(fpo_buffer_add(f->bfull, good_obs, good_act, good_rew, no_flags, NULL),
                         FPO_OK);
    ck_assert_int_eq(fpo_buffer_set_last_obs(f->bfull, good_obs), FPO_OK);

    /* optimizer: tunables and step count untouched, and an update works */
    for (int k = 0; k < fpo_optimizer_key_count(); k++) {
        double d;
        ck_assert_int_eq(fpo_optimizer_get(f->o, (fpo_opt_key)k, &d), FPO_OK);
        ck_assert_msg(d == f->opt_keys[k], "optimizer key %d changed by a failed call", k);
    }
    ck_assert_int_eq(fpo_optimizer_step_count(f->o), 0);
    fpo_update_stats st = {sizeof st};
    ck_assert_int_eq(fpo_optimizer_update(f->o, f->pf, f->bfull, &st), FPO_OK);
    ck_assert_int_eq(st.steps, 2);
    ck_assert_int_eq(fpo_optimizer_step_count(f->o), 2);

    /* vecenv: a reset and a step work (the injected faults were one-shot) */
    float obs[NE * OD], rew[NE], fin[NE * OD];
    unsigned fl[NE];
    ck_assert_int_eq(fpo_vecenv_reset(f->v, obs), FPO_OK);
    ck_assert_int_eq(fpo_vecenv_step(f->v, good_act, obs, rew, fl, fin), FPO_OK);
    fpo_episode_stats es = {sizeof es};
    ck_assert_int_eq(fpo_vecenv_take_episode_stats(f->v, &es), FPO_OK);

    /* trainer: an iteration works */
    fpo_progress pr = {sizeof pr};
    ck_assert_int_eq(fpo_trainer_iterate(f->t, &pr), FPO_OK);
    ck_assert_int_eq(pr.iteration, 1);
    ck_assert_int_eq(fpo_trainer_env_steps(f->t), NE * HZ);
}

START_TEST(bad_input)
{
    const bcase *c = &cases[_i];
    fx f;
    fx_create(&f);
    const char *m0 = errmsg_of(&f, c->handle);
    if (m0 && c->handle != H_LOAD)
        ck_assert_msg(m0[0] == '\0', "[%s] message set before the call", c->name);
    if ((c->mut & TLMSG) || c->handle == H_LOAD)
        ck_assert_msg(fpo_last_errmsg()[0] == '\0', "[%s] thread message set before the call",
                      c->name);
    int rc = c->fn(&f, c->k);
    ck_assert_msg(rc == c->expect, "[%s] returned %d (%s), expected %d (%s)", c->name, rc,
                  fpo_strerror(rc), c->expect, fpo_strerror(c->expect));
    const char *m = (c->mut & TLMSG) ? fpo_last_errmsg() : errmsg_of(&f, c->handle);
    if (m)
        ck_assert_msg(m[0] != '\0', "[%s] left no error message", c->name);
    check_all_usable(&f, c->mut);
    fx_destroy(&f);
}
END_TEST

START_TEST(bad_input_case_count)
{
    /* Pinned so that rows are not lost silently: 487 bad inputs. */
    printf("badinput: %d bad-input cases\n", N_CASES);
    fflush(stdout);
    ck_assert_int_eq(N_CASES, 487);
    /* every row expects a negative code except the no-handle calls
     * (destroys, messages, the init of an unknown algo) that must simply not crash */
    int nonneg = 0;
    for (int i = 0; i < N_CASES; i++)
        nonneg += cases[i].expect >= 0;
    ck_assert_int_eq(nonneg, 17);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("table");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bad_input_case_count);
    tcase_add_loop_test(tc, bad_input, 0, N_CASES);
    suite_add_tcase(s, tc);
    return s;
}
