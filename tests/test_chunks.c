/* Action chunks (fpo_policy_config.chunk): the chunk transition's return and
 * GAE by hand on a deterministic environment, termination and truncation
 * inside a chunk, chunk 1 bit for bit the run without the field, checkpoint
 * round trips, bad values rejected. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fpo/fpo.h"
#include "buffer_impl.h"
#include "internal.h"
#include "optimizer_impl.h"
#include "serial.h"
#include "testutil.h"

/* ---- a counting environment --------------------------------------------------
 * obs = 0.1 * t (t: steps taken in the episode), reward of step t (1-based) =
 * t, whatever the action; the episode ends at step `len` with `end_flag`. */

typedef struct counter {
    int len;
    unsigned end_flag;
    long steps; /* step calls */
} counter;

typedef struct counter_inst {
    int t;
} counter_inst;

static int c_create(void *user, int index, void **env)
{
    (void)user;
    (void)index;
    *env = calloc(1, sizeof(counter_inst));
    return *env ? 0 : 1;
}

static void c_destroy(void *user, void *env)
{
    (void)user;
    free(env);
}

static int c_reset(void *user, void *env, uint64_t seed, float *obs)
{
    (void)user;
    (void)seed;
    ((counter_inst *)env)->t = 0;
    obs[0] = 0.0f;
    return 0;
}

static int c_step(void *user, void *env, const float *action, float *obs, float *reward,
                  unsigned *flags)
{
    counter *c = user;
    counter_inst *in = env;
    (void)action;
    c->steps++;
    in->t++;
    obs[0] = 0.1f * (float)in->t;
    *reward = (float)in->t;
    *flags = in->t >= c->len ? c->end_flag : 0u;
    return 0;
}

static fpo_env_table counter_table(void)
{
    fpo_env_table t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    t.version = FPO_ENV_TABLE_VERSION;
    t.obs_dim = 1;
    t.act_dim = 1;
    t.create = c_create;
    t.reset = c_reset;
    t.step = c_step;
    t.destroy = c_destroy;
    return t;
}

static fpo_policy_config small_policy(fpo_policy_kind kind, int64_t chunk)
{
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.kind = kind;
    pc.actor_layers = 2;
    pc.actor_hidden[0] = pc.actor_hidden[1] = 16;
    pc.critic_layers = 2;
    pc.critic_hidden[0] = pc.critic_hidden[1] = 16;
    pc.chunk = chunk;
    return pc;
}

/* One iteration of an N = 1 trainer on the counting environment with H = 4,
 * horizon 3, episodes of 6 steps ending with end_flag: the chunks are steps
 * 1-4, 5-6 (cut short by the episode's end), then 1-4 of the next episode.
 * Checks the stored transitions and the update's GAE against the hand
 * computation, with the update's own theta_old values. */
static void check_chunk_rollout(unsigned end_flag)
{
    counter c = {6, end_flag, 0};
    fpo_env_table tab = counter_table();
    fpo_policy_config pc = small_policy(FPO_POLICY_FLOW, 4);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.gamma = 0.9f;
    oc.gae_lambda = 0.8f;
    oc.reward_scale = 1.0f;
    oc.epochs = 1;
    oc.minibatches = 1;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &tab;
    tc.env_user = &c;
    tc.num_envs = 1;
    tc.horizon = 3;
    tc.policy = &pc;
    tc.optimizer = &oc;
    tc.n_mc = 2;
    tc.seed = 5;
    fpo_trainer *t;
    ck_assert_msg(fpo_trainer_create(&t, &tc) == FPO_OK, "%s", fpo_last_errmsg());
    fpo_progress pr = {sizeof pr};
    ck_assert_msg(fpo_trainer_iterate(t, &pr) == FPO_OK, "%s", fpo_trainer_errmsg(t));
    /* 4 + 2 + 4 environment steps, one episode of return 21 and length 6 */
    ck_assert_int_eq(c.steps, 10);
    ck_assert_int_eq(pr.env_steps, 10);
    ck_assert_int_eq(fpo_trainer_env_steps(t), 10);
    ck_assert_int_eq(pr.episodes->episodes, 1);
    ck_assert_close(pr.episodes->mean_return, 21.0, 1e-9);
    ck_assert_close(pr.episodes->mean_length, 6.0, 1e-9);

    fpo_buffer *b = fpo_trainer_buffer(t);
    fpo_buffer_view v = {sizeof v};
    ck_assert_int_eq(fpo_buffer_get_view(b, &v), FPO_OK);
    ck_assert_int_eq(v.steps, 3);
    ck_assert_int_eq(v.act_dim, 4); /* the whole chunk is stored */
    const float g = 0.9f;
    /* the trainer sums in float, gamma^j by repeated products */
    float R0 = 1.0f + g * 2.0f + (g * g) * 3.0f + (g * g * g) * 4.0f;
    float R1 = 5.0f + g * 6.0f;
    ck_assert_close(v.rewards[0], R0, 1e-6);
    ck_assert_close(v.rewards[1], R1, 1e-6);
    ck_assert_close(v.rewards[2], R0, 1e-6);
    ck_assert_uint_eq(v.flags[0], 0);
    ck_assert_uint_eq(v.flags[1], end_flag);
    ck_assert_uint_eq(v.flags[2], 0);
    ck_assert_int_eq(b->ksteps[0], 4);
    ck_assert_int_eq(b->ksteps[1], 2);
    ck_assert_int_eq(b->ksteps[2], 4);
    /* observations: the chunk's first; the ended chunk's final one is step 6's */
    ck_assert_close(v.obs[0], 0.0, 1e-7);
    ck_assert_close(v.obs[1], 0.4, 1e-6);
    ck_assert_close(v.obs[2], 0.0, 1e-7);
    ck_assert_close(v.final_obs[1], 0.6, 1e-6);
    ck_assert_close(v.last_obs[0], 0.4, 1e-6);

    /* GAE by hand from the update's theta_old values. */
    fpo_optimizer *o = fpo_trainer_optimizer(t);
    double G4 = 0.9 * 0.9 * 0.9 * 0.9, G2 = 0.9 * 0.9, lam = 0.8;
    double v0 = o->values[0], v1 = o->values[1], v2 = o->values[2], vl = o->lastv[0];
    double A2 = R0 + G4 * vl - v2;
    double A1, A0;
    if (end_flag == FPO_STEP_TERMINATED)
        A1 = R1 - v1; /* ends there: no bootstrap */
    else
        A1 = R1 + G2 * o->fvalues[1] - v1; /* 2 steps taken: gamma^2 V(final obs) */
    A0 = R0 + G4 * v1 - v0 + G4 * lam * A1;
    ck_assert_close(o->adv[2], A2, 1e-5);
    ck_assert_close(o->adv[1], A1, 1e-5);
    ck_assert_close(o->adv[0], A0, 1e-5);
    /* and fpo_gae_chunks alone gives the same */
    float adv[3], ret[3], lastv = (float)vl;
    ck_assert_int_eq(fpo_gae_chunks(adv, ret, v.rewards, v.flags, o->values, o->fvalues, &lastv,
                                    3, 1, 0.9f, 0.8f, 1.0f, 4, b->ksteps),
                     FPO_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_float_eq(adv[i], o->adv[i]);
    /* without the step counts every transition is discounted gamma^chunk */
    ck_assert_int_eq(fpo_gae_chunks(adv, ret, v.rewards, v.flags, o->values, o->fvalues, &lastv,
                                    3, 1, 0.9f, 0.8f, 1.0f, 4, NULL),
                     FPO_OK);
    ck_assert_close(adv[2], A2, 1e-5);
    fpo_trainer_destroy(t);
}

START_TEST(chunk_return_and_gae_by_hand_terminated)
{
    check_chunk_rollout(FPO_STEP_TERMINATED);
}
END_TEST

START_TEST(chunk_truncated_bootstraps_gamma_k)
{
    check_chunk_rollout(FPO_STEP_TRUNCATED);
}
END_TEST

START_TEST(gae_chunks_of_one_is_fpo_gae)
{
    const float r[4] = {1, 2, 3, 4};
    const unsigned f[4] = {0, FPO_STEP_TRUNCATED, 0, FPO_STEP_TERMINATED};
    const float v[4] = {0.5f, 1.0f, 1.5f, 2.0f};
    const float fv[4] = {0, 10.0f, 0, 99.0f};
    const float last[1] = {7.0f};
    const unsigned char k[4] = {1, 1, 1, 1};
    float a1[4], r1[4], a2[4], r2[4], a3[4], r3[4];
    ck_assert_int_eq(fpo_gae(a1, r1, r, f, v, fv, last, 4, 1, 0.9f, 0.5f, 2.0f), FPO_OK);
    ck_assert_int_eq(fpo_gae_chunks(a2, r2, r, f, v, fv, last, 4, 1, 0.9f, 0.5f, 2.0f, 1, NULL),
                     FPO_OK);
    ck_assert_int_eq(fpo_gae_chunks(a3, r3, r, f, v, fv, last, 4, 1, 0.9f, 0.5f, 2.0f, 1, k),
                     FPO_OK);
    ck_assert_mem_eq(a1, a2, sizeof a1);
    ck_assert_mem_eq(r1, r2, sizeof r1);
    ck_assert_mem_eq(a1, a3, sizeof a1);
}
END_TEST

/* ---- chunk 1 is the run without the field ------------------------------------ */

static void train_params(fpo_algo algo, const fpo_policy_config *pc, float *out, size_t n,
                         unsigned char *ckpt, size_t *ckpt_n)
{
    counter c = {9, FPO_STEP_TRUNCATED, 0};
    fpo_env_table tab = counter_table();
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, algo);
    oc.epochs = 2;
    oc.minibatches = 2;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &tab;
    tc.env_user = &c;
    tc.num_envs = 4;
    tc.horizon = 16;
    tc.policy = pc;
    tc.optimizer = &oc;
    tc.n_mc = 4;
    tc.seed = 11;
    fpo_trainer *t;
    ck_assert_msg(fpo_trainer_create(&t, &tc) == FPO_OK, "%s", fpo_last_errmsg());
    ck_assert_msg(fpo_trainer_run(t, 3 * 4 * 16) == FPO_OK, "%s", fpo_trainer_errmsg(t));
    ck_assert_int_eq(fpo_trainer_env_steps(t), 3 * 4 * 16);
    fpo_policy *p = fpo_trainer_policy(t);
    ck_assert_int_eq(fpo_policy_get_params(p, FPO_NET_ALL, out, n), FPO_OK);
    ck_assert_int_eq(fpo_policy_save_mem(p, ckpt, *ckpt_n, ckpt_n), FPO_OK);
    fpo_trainer_destroy(t);
}

START_TEST(chunk_one_bit_identical)
{
    for (int a = 0; a < 2; a++) {
        fpo_algo algo = a ? FPO_ALGO_PPO : FPO_ALGO_FPO;
        fpo_policy_kind kind = a ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW;
        /* without the field: a caller built before it (struct_size ends
         * before chunk), and one that leaves it 0; against chunk = 1 */
        fpo_policy_config old = small_policy(kind, 0);
        old.struct_size = offsetof(fpo_policy_config, chunk);
        fpo_policy_config zero = small_policy(kind, 0);
        fpo_policy_config one = small_policy(kind, 1);
        fpo_policy *tmp;
        fpo_policy_config sized = one;
        sized.obs_dim = sized.act_dim = 1;
        ck_assert_int_eq(fpo_policy_create(&tmp, &sized), FPO_OK);
        fpo_policy_info info = {sizeof info};
        fpo_policy_get_info(tmp, &info);
        size_t n = info.actor_params + info.critic_params;
        fpo_policy_destroy(tmp);
        float *p0 = malloc(n * sizeof(float)), *p1 = malloc(n * sizeof(float)),
              *p2 = malloc(n * sizeof(float));
        size_t cap = 1 << 20, n0 = cap, n1 = cap, n2 = cap;
        unsigned char *c0 = malloc(cap), *c1 = malloc(cap), *c2 = malloc(cap);
        train_params(algo, &old, p0, n, c0, &n0);
        train_params(algo, &zero, p1, n, c1, &n1);
        train_params(algo, &one, p2, n, c2, &n2);
        ck_assert_mem_eq(p0, p1, n * sizeof(float));
        ck_assert_mem_eq(p0, p2, n * sizeof(float));
        /* and the checkpoints are format 2, byte for byte the same */
        ck_assert_uint_eq(n0, n1);
        ck_assert_uint_eq(n0, n2);
        ck_assert_mem_eq(c0, c1, n0);
        ck_assert_mem_eq(c0, c2, n0);
        ck_assert_uint_eq(c0[8], 2);
        free(p0);
        free(p1);
        free(p2);
        free(c0);
        free(c1);
        free(c2);
    }
}
END_TEST

/* ---- the sampler returns the whole chunk ---------------------------------- */

START_TEST(sampler_returns_whole_chunk)
{
    for (int kind = 0; kind < 2; kind++) {
        const float lo[2] = {-1.0f, 10.0f}, hi[2] = {1.0f, 12.0f};
        fpo_policy_config pc = small_policy((fpo_policy_kind)kind, 3);
        pc.obs_dim = 2;
        pc.act_dim = 2;
        pc.action_low = lo;
        pc.action_high = hi;
        fpo_policy *p;
        ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
        fpo_policy_info info = {sizeof info};
        ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
        ck_assert_int_eq(info.act_dim, 2);
        fpo_sampler_config sc;
        fpo_sampler_config_init(&sc);
        sc.max_batch = 2;
        fpo_sampler *s;
        ck_assert_int_eq(fpo_sampler_create(&s, p, &sc), FPO_OK);
        const float obs[4] = {0.1f, -0.2f, 0.3f, 0.4f};
        float act[2 * 3 * 2 + 1], raw[2 * 3 * 2 + 1];
        act[12] = raw[12] = 12345.0f; /* canary */
        ck_assert_int_eq(fpo_sampler_act(s, p, obs, 2, act, raw), FPO_OK);
        ck_assert_float_eq(act[12], 12345.0f);
        ck_assert_float_eq(raw[12], 12345.0f);
        for (int i = 0; i < 12; i++) {
            int d = i % 2;
            ck_assert(act[i] >= lo[d] && act[i] <= hi[d]);
        }
        fpo_sampler_destroy(s);
        fpo_policy_destroy(p);
    }
}
END_TEST

/* ---- checkpoints ------------------------------------------------------------- */

START_TEST(checkpoint_round_trip_chunk_4)
{
    for (int kind = 0; kind < 2; kind++) {
        fpo_policy_config pc = small_policy((fpo_policy_kind)kind, 4);
        pc.obs_dim = 3;
        pc.act_dim = 2;
        pc.seed = 9;
        fpo_policy *p, *q;
        ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
        size_t n;
        ck_assert_int_eq(fpo_policy_save_mem(p, NULL, 0, &n), FPO_OK);
        unsigned char *buf = malloc(n);
        ck_assert_int_eq(fpo_policy_save_mem(p, buf, n, &n), FPO_OK);
        ck_assert_uint_eq(buf[8], 3); /* format 3: the chunk is recorded */
        ck_assert_int_eq(fpo_policy_load_mem(&q, buf, n, NULL), FPO_OK);
        fpo_policy_config qc;
        fpo_policy_config_init(&qc);
        ck_assert_int_eq(fpo_policy_get_config(q, &qc), FPO_OK);
        ck_assert_int_eq(qc.chunk, 4);
        ck_assert_int_eq(qc.act_dim, 2);
        /* saved again: the same bytes; the same actions */
        size_t n2;
        unsigned char *buf2 = malloc(n);
        ck_assert_int_eq(fpo_policy_save_mem(q, buf2, n, &n2), FPO_OK);
        ck_assert_uint_eq(n, n2);
        ck_assert_mem_eq(buf, buf2, n);
        fpo_sampler_config sc;
        fpo_sampler_config_init(&sc);
        fpo_sampler *s1, *s2;
        ck_assert_int_eq(fpo_sampler_create(&s1, p, &sc), FPO_OK);
        ck_assert_int_eq(fpo_sampler_create(&s2, q, &sc), FPO_OK);
        const float obs[3] = {0.5f, -1.0f, 2.0f};
        float a1[8], a2[8];
        ck_assert_int_eq(fpo_sampler_act(s1, p, obs, 1, a1, NULL), FPO_OK);
        ck_assert_int_eq(fpo_sampler_act(s2, q, obs, 1, a2, NULL), FPO_OK);
        ck_assert_mem_eq(a1, a2, sizeof a1);
        /* a corrupt chunk field is refused (CRC fixed up so the field is what fails) */
        unsigned char *bad = malloc(n);
        memcpy(bad, buf, n);
        size_t at = 8 + 4 + 4 + 4 * 3 + 4 + 4 * FPO_MAX_LAYERS + 4 + 4 + 4 * FPO_MAX_LAYERS +
                    4 * 5 + 4 * 5 + 8; /* after the seed */
        ck_assert_uint_eq(bad[at], 4);
        bad[at] = 200;
        uint32_t crc = crc32_update(0, bad, n - 4);
        for (int i = 0; i < 4; i++)
            bad[n - 4 + i] = (unsigned char)(crc >> (8 * i));
        fpo_policy *r = NULL;
        ck_assert_int_eq(fpo_policy_load_mem(&r, bad, n, NULL), FPO_EFORMAT);
        free(bad);
        fpo_sampler_destroy(s1);
        fpo_sampler_destroy(s2);
        fpo_policy_destroy(p);
        fpo_policy_destroy(q);
        free(buf);
        free(buf2);
    }
}
END_TEST

START_TEST(trainer_checkpoint_chunk_4)
{
    counter c = {5, FPO_STEP_TRUNCATED, 0};
    fpo_env_table tab = counter_table();
    fpo_policy_config pc = small_policy(FPO_POLICY_FLOW, 4);
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &tab;
    tc.env_user = &c;
    tc.num_envs = 2;
    tc.horizon = 4;
    tc.policy = &pc;
    tc.n_mc = 2;
    fpo_trainer *t, *u;
    ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_OK);
    ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
    char path[] = "/tmp/fpo_chunks_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(fpo_trainer_save(t, path), FPO_OK);
    ck_assert_int_eq(fpo_trainer_create(&u, &tc), FPO_OK);
    ck_assert_msg(fpo_trainer_restore(u, path) == FPO_OK, "%s", fpo_trainer_errmsg(u));
    ck_assert_int_eq(fpo_trainer_env_steps(u), fpo_trainer_env_steps(t));
    /* a trainer without chunks does not take it */
    fpo_trainer *w;
    fpo_policy_config one = small_policy(FPO_POLICY_FLOW, 1);
    tc.policy = &one;
    ck_assert_int_eq(fpo_trainer_create(&w, &tc), FPO_OK);
    ck_assert_int_eq(fpo_trainer_restore(w, path), FPO_EMISMATCH);
    unlink(path);
    fpo_trainer_destroy(w);
    fpo_trainer_destroy(u);
    fpo_trainer_destroy(t);
}
END_TEST

/* ---- bad values ---------------------------------------------------------------- */

START_TEST(bad_chunk_rejected)
{
    const int64_t bad[] = {-1, 65, 1000, (int64_t)1 << 40, INT64_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fpo_policy_config pc = small_policy(FPO_POLICY_FLOW, bad[i]);
        pc.obs_dim = 2;
        pc.act_dim = 1;
        fpo_policy *p = NULL;
        ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_ERANGE);
        ck_assert_ptr_null(p);
        ck_assert_ptr_nonnull(strstr(fpo_last_errmsg(), "chunk"));
        /* and through the trainer */
        counter c = {5, FPO_STEP_TRUNCATED, 0};
        fpo_env_table tab = counter_table();
        fpo_trainer_config tc;
        fpo_trainer_config_init(&tc);
        tc.env = &tab;
        tc.env_user = &c;
        tc.num_envs = 1;
        tc.horizon = 2;
        tc.policy = &pc;
        fpo_trainer *t = NULL;
        ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_ERANGE);
        ck_assert_ptr_null(t);
        ck_assert_ptr_nonnull(strstr(fpo_last_errmsg(), "chunk"));
    }
    /* the chunk vector has the dimension limit of an action */
    fpo_policy_config pc = small_policy(FPO_POLICY_FLOW, 64);
    pc.obs_dim = 1;
    pc.act_dim = 2000;
    fpo_policy *p = NULL;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_ERANGE);
    /* 64 is accepted */
    pc.act_dim = 1;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    /* the C export takes the largest chunk and says so in its header
     * (tests/test_export.c runs exported chunks against the sampler) */
    char dir[] = "/tmp/fpo_chunks_exp_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char out[64], hdr[80], line[256];
    snprintf(out, sizeof out, "%s/pol", dir);
    fpo_export_config ec;
    fpo_export_config_init(&ec);
    ck_assert_int_eq(fpo_policy_export_c(p, out, &ec), FPO_OK);
    snprintf(hdr, sizeof hdr, "%s.h", out);
    FILE *f = fopen(hdr, "r");
    ck_assert_ptr_nonnull(f);
    int seen = 0;
    while (fgets(line, sizeof line, f))
        seen += strcmp(line, "#define POL_CHUNK 64\n") == 0;
    fclose(f);
    ck_assert_int_eq(seen, 1);
    remove(hdr);
    snprintf(hdr, sizeof hdr, "%s.c", out);
    remove(hdr);
    rmdir(dir);
    fpo_policy_destroy(p);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("chunks");
    TCase *tc = tcase_create("chunks");
    tcase_add_test(tc, chunk_return_and_gae_by_hand_terminated);
    tcase_add_test(tc, chunk_truncated_bootstraps_gamma_k);
    tcase_add_test(tc, gae_chunks_of_one_is_fpo_gae);
    tcase_add_test(tc, chunk_one_bit_identical);
    tcase_add_test(tc, sampler_returns_whole_chunk);
    tcase_add_test(tc, checkpoint_round_trip_chunk_4);
    tcase_add_test(tc, trainer_checkpoint_chunk_4);
    tcase_add_test(tc, bad_chunk_rejected);
    suite_add_tcase(s, tc);
    return s;
}
