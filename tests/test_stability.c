/* The update's two stabilizers (docs/stability.md): the saturation penalty
 * of FPO (fpo_optimizer_config.bound / bound_coef) and the spike guard on
 * Adam (spike_clip), checked against hand-computed values; their drift
 * statistics; their config checks. */
#include <stdlib.h>
#include <string.h>

#include "fpo/fpo.h"
#include "internal.h"
#include "objective.h"
#include "optimizer_impl.h"
#include "testutil.h"

enum { N = 4, T = 8, OD = 3, AD = 2 };

typedef struct setup {
    fpo_policy *p;
    fpo_buffer *b;
    fpo_optimizer *o;
} setup;

/* A buffer of N x T transitions: obs in [-1, 1], rewards in [0, 1];
 * actions in [-1, 1] except that every third transition has its first
 * dimension at +-(bound + 1 + i/10) (beyond the bound 3), and of the others
 * every seventh (k % 7 == 1) has its last dimension at -3, exactly on the
 * bound as a clamped action is; the rest are within.
 * reward_big: the reward of transition 5 (a spike of the value loss). */
static float act_scale_ = 1.0f; /* the within-bound actions' scale in fill() */

static void fill(fpo_buffer *b, float reward_big)
{
    srand(11);
    float obs[N * OD], act[N * AD], rew[N], fin[N * OD];
    unsigned fl[N];
    fpo_buffer_clear(b);
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < N * OD; i++) {
            obs[i] = (float)rand() / RAND_MAX * 2 - 1;
            fin[i] = obs[i];
        }
        for (int e = 0; e < N; e++) {
            int k = t * N + e;
            for (int d = 0; d < AD; d++)
                act[e * AD + d] = act_scale_ * ((float)rand() / RAND_MAX * 2 - 1);
            if (k % 3 == 0)
                act[e * AD] = (k % 2 ? -1.0f : 1.0f) * (4.0f + 0.1f * (float)(k % 5));
            else if (k % 7 == 1)
                act[e * AD + AD - 1] = -3.0f; /* exactly at the bound, as clamped */
            rew[e] = k == 5 ? reward_big : (float)rand() / RAND_MAX;
            fl[e] = 0;
        }
        ck_assert_int_eq(fpo_buffer_add(b, obs, act, rew, fl, fin), FPO_OK);
    }
    ck_assert_int_eq(fpo_buffer_set_last_obs(b, obs), FPO_OK);
}

static float anchor_coef_; /* anchor_coef of the next make() */
static float cfm_clamp_;   /* cfm_clamp of the next make() (0: off) */

static setup make(fpo_ratio_mode mode, float bound_coef, float spike_clip)
{
    setup s;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.kind = FPO_POLICY_FLOW;
    pc.obs_dim = OD;
    pc.act_dim = AD;
    pc.actor_layers = pc.critic_layers = 2;
    pc.actor_hidden[0] = pc.actor_hidden[1] = 8;
    pc.critic_hidden[0] = pc.critic_hidden[1] = 8;
    pc.actor_activation = pc.critic_activation = FPO_ACT_TANH;
    pc.seed = 3;
    ck_assert_int_eq(fpo_policy_create(&s.p, &pc), FPO_OK);
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = N;
    bc.horizon = T;
    bc.obs_dim = OD;
    bc.act_dim = AD;
    bc.n_mc = 4;
    bc.seed = 5;
    ck_assert_int_eq(fpo_buffer_create(&s.b, &bc), FPO_OK);
    fill(s.b, 0.5f);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.minibatches = 1;
    oc.epochs = 1;
    oc.ratio_mode = mode;
    oc.reward_scale = 0.1f;
    oc.bound_coef = bound_coef;
    oc.spike_clip = spike_clip;
    oc.anchor_coef = anchor_coef_;
    oc.anchor_drift = 0.0f; /* the fixed anchor; the adaptive one has tests of its own */
    oc.cfm_clamp = cfm_clamp_; /* off unless a test sets it: it has tests of its own */
    ck_assert_int_eq(fpo_optimizer_create(&s.o, s.p, s.b, &oc), FPO_OK);
    return s;
}

static void unmake(setup *s)
{
    fpo_optimizer_destroy(s->o);
    fpo_buffer_destroy(s->b);
    fpo_policy_destroy(s->p);
}

/* Mean over the transitions of bound_coef x the mean squared excess of the
 * actions beyond +-3, computed here from the buffer's actions. */
static double mean_excess(const fpo_buffer *b)
{
    fpo_buffer_view v = {sizeof v};
    ck_assert_int_eq(fpo_buffer_get_view(b, &v), FPO_OK);
    double s = 0.0;
    for (int i = 0; i < N * T; i++) {
        double ex = 0.0;
        for (int d = 0; d < AD; d++) {
            double e = fabs(v.raw_actions[i * AD + d]) - 3.0;
            ex += e > 0 ? e * e : 0.0;
        }
        s += ex / AD;
    }
    return s / (N * T);
}

/* At theta_old every ratio is 1 and the normalized advantages have mean 0,
 * so the policy loss -mean(rho A') is exactly the penalty's mean,
 * bound_coef x mean excess: the whole difference between the losses with
 * and without it (the value loss is the same). */
START_TEST(bound_penalty_hand_computed)
{
    fpo_ratio_mode mode = _i ? FPO_RATIO_PER_SAMPLE : FPO_RATIO_AVERAGED;
    double loss[2];
    double want = 0.0;
    for (int k = 0; k < 2; k++) {
        setup s = make(mode, k ? 2.5f : 0.0f, 4.0f);
        fpo_update_stats st = {sizeof st};
        ck_assert_int_eq(fpo_optimizer_prepare(s.o, s.p, s.b, &st), FPO_OK);
        int idx[N * T];
        for (int i = 0; i < N * T; i++)
            idx[i] = i;
        double r[3];
        ck_assert_int_eq(fpo_optimizer_loss_grad(s.o, s.p, s.b, idx, N * T, &loss[k], NULL, r),
                         FPO_OK);
        ck_assert_double_eq(r[0], 1.0);
        want = 2.5 * mean_excess(s.b);
        unmake(&s);
    }
    ck_assert(want > 0.1); /* the buffer does hold actions beyond the bound */
    ck_assert_close(loss[1] - loss[0], want, 1e-5);
}
END_TEST

/* Moves the actor a little away from theta_old (seeded), so that ratios
 * differ from 1. */
static void nudge_actor(setup *s, unsigned seed)
{
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(s->p, &info), FPO_OK);
    size_t np = info.actor_params;
    float *theta = malloc(np * sizeof(float));
    ck_assert_int_eq(fpo_policy_get_params(s->p, FPO_NET_ACTOR, theta, np), FPO_OK);
    srand(seed);
    for (size_t i = 0; i < np; i++)
        theta[i] += 0.02f * ((float)rand() / RAND_MAX - 0.5f);
    ck_assert_int_eq(fpo_policy_set_params(s->p, FPO_NET_ACTOR, theta, np), FPO_OK);
    free(theta);
}

/* The worst relative error between the actor gradient of the loss and
 * central differences over about 50 actor parameters, at parameters moved a
 * little away from theta_old (so ratios differ from 1 and some are clipped).
 * Requires fpo_optimizer_prepare. */
static double actor_fd_worst(setup *s, unsigned seed)
{
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(s->p, &info), FPO_OK);
    size_t np = info.actor_params;
    float *theta = malloc(np * sizeof(float)), *g = malloc((np + info.critic_params) * sizeof(float));
    nudge_actor(s, seed);
    ck_assert_int_eq(fpo_policy_get_params(s->p, FPO_NET_ACTOR, theta, np), FPO_OK);
    int idx[N * T];
    for (int i = 0; i < N * T; i++)
        idx[i] = i;
    double l0, r[3];
    ck_assert_int_eq(fpo_optimizer_loss_grad(s->o, s->p, s->b, idx, N * T, &l0, g, r), FPO_OK);
    ck_assert(r[1] != r[2]);
    double worst = 0.0;
    int checked = 0;
    for (size_t i = 0; i < np; i += 1 + np / 50) {
        float h = 2e-3f, keep = theta[i];
        double lp, lm;
        theta[i] = keep + h;
        fpo_policy_set_params(s->p, FPO_NET_ACTOR, theta, np);
        fpo_optimizer_loss_grad(s->o, s->p, s->b, idx, N * T, &lp, NULL, NULL);
        theta[i] = keep - h;
        fpo_policy_set_params(s->p, FPO_NET_ACTOR, theta, np);
        fpo_optimizer_loss_grad(s->o, s->p, s->b, idx, N * T, &lm, NULL, NULL);
        theta[i] = keep;
        double fd = (lp - lm) / (2.0 * h);
        worst = fmax(worst, fabs(fd - g[i]) / fmax(2e-2, fabs(fd) + fabs(g[i])));
        checked++;
    }
    ck_assert_int_ge(checked, 30);
    free(theta);
    free(g);
    return worst;
}

/* The penalized loss's gradient against central differences, away from
 * theta_old (the penalty shifts advantages, so it enters every branch of
 * the clipped objective). */
START_TEST(bound_penalty_gradient_matches_finite_differences)
{
    fpo_ratio_mode mode = _i ? FPO_RATIO_PER_SAMPLE : FPO_RATIO_AVERAGED;
    setup s = make(mode, 2.5f, 4.0f);
    fpo_update_stats st = {sizeof st};
    ck_assert_int_eq(fpo_optimizer_prepare(s.o, s.p, s.b, &st), FPO_OK);
    double worst = actor_fd_worst(&s, 4);
    ck_assert_msg(worst < 2e-2, "worst relative error %g", worst);
    unmake(&s);
}
END_TEST

/* The anchor adds anchor_coef x the mean CFM loss of the stored pairs: at
 * theta_old the loss grows linearly in the coefficient, by exactly the mean
 * l_old, which is what cfm_loss_old reports; and its gradient matches
 * finite differences. */
START_TEST(anchor_hand_computed_and_gradient)
{
    double loss[3];
    const float coefs[3] = {0.0f, 0.5f, 1.0f};
    for (int k = 0; k < 3; k++) {
        anchor_coef_ = coefs[k];
        setup s = make(FPO_RATIO_PER_SAMPLE, 0.0f, 4.0f);
        fpo_update_stats st = {sizeof st};
        ck_assert_int_eq(fpo_optimizer_prepare(s.o, s.p, s.b, &st), FPO_OK);
        int idx[N * T];
        for (int i = 0; i < N * T; i++)
            idx[i] = i;
        ck_assert_int_eq(fpo_optimizer_loss_grad(s.o, s.p, s.b, idx, N * T, &loss[k], NULL, NULL),
                         FPO_OK);
        unmake(&s);
    }
    /* l_old's mean from an update of one step at theta_old (same statistics) */
    anchor_coef_ = 1.0f;
    setup s = make(FPO_RATIO_PER_SAMPLE, 0.0f, 4.0f);
    fpo_update_stats st = {sizeof st};
    ck_assert_int_eq(fpo_optimizer_update(s.o, s.p, s.b, &st), FPO_OK);
    unmake(&s);
    ck_assert(st.cfm_loss_old > 0.0);
    ck_assert_close(loss[2] - loss[0], st.cfm_loss_old, 1e-5);
    ck_assert_close(loss[1] - loss[0], 0.5 * st.cfm_loss_old, 1e-5);

    /* the gradient, away from theta_old */
    s = make(FPO_RATIO_PER_SAMPLE, 0.0f, 4.0f);
    ck_assert_int_eq(fpo_optimizer_prepare(s.o, s.p, s.b, &st), FPO_OK);
    double worst = actor_fd_worst(&s, 6);
    ck_assert_msg(worst < 2e-2, "worst relative error %g", worst);
    unmake(&s);
    anchor_coef_ = 0.0f;
}
END_TEST

static double sum_v(fpo_optimizer *o)
{
    fpo_opt_state os;
    fpo_optimizer_state(o, &os);
    double s = 0.0;
    for (size_t i = 0; i < os.n; i++)
        s += os.v[i];
    return s;
}

/* One Adam step per update. After step 1, v = (1 - b2) g1^2, and the running
 * RMS of the gradient norm is |g1|. A second step whose gradient norm is far
 * above K |g1| is scaled to exactly K |g1|, so
 *   sum v2 = b2 sum v1 + (1 - b2) K^2 |g1|^2 = sum v1 (b2 + K^2).
 * Without the guard the same step multiplies sum v by far more. */
START_TEST(spike_guard_hand_computed)
{
    double ratio[2];
    int64_t spikes[2];
    for (int k = 0; k < 2; k++) {
        setup s = make(FPO_RATIO_PER_SAMPLE, 1.0f, k ? 4.0f : 0.0f);
        fpo_update_stats st = {sizeof st};
        ck_assert_int_eq(fpo_optimizer_update(s.o, s.p, s.b, &st), FPO_OK);
        ck_assert_int_eq(st.spike_steps, 0); /* the first step has no history */
        double v1 = sum_v(s.o);
        fill(s.b, 3e4f); /* one reward 6e4 times the others: a value-loss spike */
        ck_assert_int_eq(fpo_optimizer_update(s.o, s.p, s.b, &st), FPO_OK);
        spikes[k] = st.spike_steps;
        ratio[k] = sum_v(s.o) / v1;
        unmake(&s);
    }
    ck_assert_int_eq(spikes[0], 0);
    ck_assert_int_eq(spikes[1], 1);
    ck_assert_close(ratio[1], 0.999 + 16.0, 1e-4);
    ck_assert_msg(ratio[0] > 1000.0, "without the guard sum v grew %gx", ratio[0]);
}
END_TEST

/* cfm_loss_old is the mean CFM loss of the stored pairs under theta_old,
 * bound_fraction the share of transitions with an action at or beyond the
 * bound (an action clamped to +-raw_clip = bound counts). */
START_TEST(drift_statistics)
{
    setup s = make(FPO_RATIO_PER_SAMPLE, 1.0f, 4.0f);
    fpo_update_stats st1 = {sizeof st1};
    ck_assert_int_eq(fpo_optimizer_update(s.o, s.p, s.b, &st1), FPO_OK);
    /* one epoch of one minibatch: cfm_loss is the mean at the parameters of
     * that single step, theta_old itself */
    ck_assert_close(st1.cfm_loss_old, st1.cfm_loss, 1e-6);
    ck_assert(st1.cfm_loss_old > 0.0);
    int beyond = 0;
    for (int k = 0; k < N * T; k++)
        beyond += k % 3 == 0 || k % 7 == 1;
    ck_assert_close(st1.bound_fraction, (double)beyond / (N * T), 1e-12);
    ck_assert_double_eq(st1.cfm_above_clamp, 0.0); /* the clamp off */
    unmake(&s);
    /* cfm_above_clamp, the share of pairs whose l_old is above cfm_clamp: all
     * of them below every loss, none at the largest loss itself (above, not
     * at), and at least one pair of the 4 x 32 just below it. */
    const float clamps[3] = {1e-6f, (float)st1.cfm_loss_max,
                             nextafterf((float)st1.cfm_loss_max, 0.0f)};
    for (int k = 0; k < 3; k++) {
        cfm_clamp_ = clamps[k];
        s = make(FPO_RATIO_PER_SAMPLE, 1.0f, 4.0f);
        cfm_clamp_ = 0.0f;
        fpo_update_stats st = {sizeof st};
        ck_assert_int_eq(fpo_optimizer_update(s.o, s.p, s.b, &st), FPO_OK);
        ck_assert_double_eq(st.cfm_loss_max, st1.cfm_loss_max); /* the same l_old */
        if (k == 0)
            ck_assert_double_eq(st.cfm_above_clamp, 1.0);
        else if (k == 1)
            ck_assert_double_eq(st.cfm_above_clamp, 0.0);
        else
            ck_assert(st.cfm_above_clamp >= 1.0 / (4 * N * T) && st.cfm_above_clamp < 0.5);
        unmake(&s);
    }
}
END_TEST


/* The adaptive anchor (anchor_drift): the windowed median of cfm_loss_old
 * against its lowest value sets the next update's share of anchor_coef,
 * min(1, ((r - 1) / (drift - 1))^2), here with drift 1.5 by hand. */
START_TEST(adaptive_anchor_hand_computed)
{
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.anchor_coef = 0.4f;
    oc.anchor_drift = 1.5f;
    fpo_objective ob;
    memset(&ob, 0, sizeof ob);
    ob.cfg = &oc;
    ck_assert_float_eq(fpo_flow_anchor_coef(&ob), 0.0f); /* nothing seen yet: off */
    /* each row: the observed cfm_loss_old, then the window's median and the
     * share it gives: (median - 1) / 0.5, squared, at most 1 */
    const struct {
        double seen;
        float scale;
    } seq[] = {
        {1.0, 0.0f},      /* [1]: median 1, the lowest */
        {1.25, 0.0625f},  /* [1, 1.25]: median 1.125, x 0.25 */
        {1.25, 0.25f},    /* [1, 1.25, 1.25]: 1.25, x 0.5 */
        {2.0, 0.25f},     /* [1, 1.25, 1.25, 2]: 1.25 */
        {NAN, 0.25f},     /* not finite: ignored */
        {-1.0, 0.25f},    /* not positive: ignored */
        {2.0, 0.25f},     /* [1, 1.25, 1.25, 2, 2]: 1.25 */
        {2.0, 1.0f},      /* [.., 2, 2, 2]: (1.25 + 2) / 2 = 1.625, x 1.25: capped */
    };
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        fpo_flow_anchor_observe(&ob, seq[i].seen);
        ck_assert_msg(fabsf(ob.anchor.scale - seq[i].scale) < 1e-6f, "step %zu: scale %g, want %g",
                      i, (double)ob.anchor.scale, (double)seq[i].scale);
        ck_assert_float_eq_tol(fpo_flow_anchor_coef(&ob), 0.4f * seq[i].scale, 1e-7f);
    }
    ck_assert_uint_eq(ob.anchor.n, 6);
    ck_assert_float_eq(ob.anchor.lowest, 1.0f);
    /* a lower plateau fills the window of 20: the median and the lowest
     * both become 0.5, and the anchor is off again */
    for (int i = 0; i < FPO_ANCHOR_WINDOW; i++)
        fpo_flow_anchor_observe(&ob, 0.5);
    ck_assert_float_eq(ob.anchor.lowest, 0.5f);
    ck_assert_float_eq(ob.anchor.scale, 0.0f);
    /* the window forgets: 10 of 20 at 0.75 give a median of 0.625, r 1.25 */
    for (int i = 0; i < FPO_ANCHOR_WINDOW / 2; i++)
        fpo_flow_anchor_observe(&ob, 0.75);
    ck_assert_float_eq_tol(ob.anchor.scale, 0.25f, 1e-6f);
    /* anchor_drift 0: a fixed anchor, whatever was observed */
    oc.anchor_drift = 0.0f;
    fpo_flow_anchor_observe(&ob, 100.0);
    ck_assert_float_eq(fpo_flow_anchor_coef(&ob), 0.4f);
    ck_assert_uint_eq(ob.anchor.n, 36);
}
END_TEST

/* Through the optimizer: update statistics report the coefficient in force;
 * a fixed anchor reports anchor_coef, an adaptive one starts at 0 and
 * follows the observed cfm_loss_old; bad anchor_drift values are refused. */
START_TEST(adaptive_anchor_in_updates)
{
    anchor_coef_ = 0.3f;
    setup s = make(FPO_RATIO_PER_SAMPLE, 0.0f, 4.0f);
    fpo_update_stats st = {sizeof st};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(fpo_optimizer_update(s.o, s.p, s.b, &st), FPO_OK);
        ck_assert_float_eq_tol(st.anchor_coef, 0.3, 1e-7);
    }
    unmake(&s);

    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    ck_assert_float_eq(oc.anchor_drift, 0.0f); /* FPO's default: the fixed anchor */
    fpo_optimizer_config ppo;
    fpo_optimizer_config_init(&ppo, FPO_ALGO_PPO);
    ck_assert_float_eq(ppo.anchor_drift, 0.0f);
    s = make(FPO_RATIO_PER_SAMPLE, 0.0f, 4.0f);
    oc.minibatches = 1;
    oc.epochs = 1;
    oc.anchor_coef = 0.3f;
    oc.anchor_drift = 1.5f;
    fpo_optimizer *o = NULL;
    ck_assert_int_eq(fpo_optimizer_create(&o, s.p, s.b, &oc), FPO_OK);
    /* a shadow of the anchor's state, fed the same statistics */
    fpo_objective shadow;
    memset(&shadow, 0, sizeof shadow);
    shadow.cfg = &oc;
    int moved = 0;
    for (int k = 0; k < 8; k++) {
        if (k == 4) { /* larger actions: a jump of the flow's CFM loss */
            act_scale_ = 2.5f;
            fill(s.b, 0.5f);
            act_scale_ = 1.0f;
        }
        ck_assert_int_eq(fpo_optimizer_update(o, s.p, s.b, &st), FPO_OK);
        if (k == 0)
            ck_assert(st.anchor_coef == 0.0); /* nothing seen before the first */
        ck_assert_float_eq_tol(st.anchor_coef, fpo_flow_anchor_coef(&shadow), 1e-9);
        moved += st.anchor_coef > 0.0;
        fpo_flow_anchor_observe(&shadow, st.cfm_loss_old);
        ck_assert_uint_eq(o->obj.anchor.n, (unsigned)k + 1);
    }
    ck_assert_msg(moved > 0, "the adaptive anchor never engaged");
    const float bad[] = {0.5f, 1.0f, -2.0f, 101.0f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fpo_optimizer *o2 = NULL;
        oc.anchor_drift = bad[i];
        ck_assert_int_eq(fpo_optimizer_create(&o2, s.p, s.b, &oc), FPO_ERANGE);
        ck_assert_ptr_null(o2);
        ck_assert(strstr(fpo_last_errmsg(), "anchor_drift") != NULL);
    }
    fpo_optimizer_destroy(o);
    unmake(&s);
    anchor_coef_ = 0.0f;
}
END_TEST

/* The loss at nudged parameters: loss, actor gradient (np floats), ratios. */
static void nudged_loss(float clamp, fpo_ratio_mode mode, double *loss, float *g, double r[3],
                        size_t *np)
{
    cfm_clamp_ = clamp;
    setup s = make(mode, 0.0f, 4.0f);
    cfm_clamp_ = 0.0f;
    fpo_update_stats st = {sizeof st};
    ck_assert_int_eq(fpo_optimizer_prepare(s.o, s.p, s.b, &st), FPO_OK);
    nudge_actor(&s, 9);
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(s.p, &info), FPO_OK);
    float *all = malloc((info.actor_params + info.critic_params) * sizeof(float));
    int idx[N * T];
    for (int i = 0; i < N * T; i++)
        idx[i] = i;
    ck_assert_int_eq(fpo_optimizer_loss_grad(s.o, s.p, s.b, idx, N * T, loss, all, r), FPO_OK);
    memcpy(g, all, info.actor_params * sizeof(float)); /* the actor's part comes first */
    *np = info.actor_params;
    free(all);
    unmake(&s);
}

/* The loss clamp (cfm_clamp), with the anchor off (make's default), in
 * both ratio modes:
 *  - a clamp below every per-pair loss makes every ratio exactly 1 and the
 *    actor's gradient exactly 0, where without it the ratios spread and
 *    the gradient is not 0;
 *  - a clamp above every per-pair loss changes nothing, bit for bit;
 *  - a clamp inside the losses' range changes the loss, and its gradient
 *    still matches finite differences. */
START_TEST(cfm_clamp_hand_computed_and_gradient)
{
    fpo_ratio_mode mode = _i ? FPO_RATIO_PER_SAMPLE : FPO_RATIO_AVERAGED;
    enum { MAXP = 4096 };
    static float g_off[MAXP], g_low[MAXP], g_high[MAXP];
    double l_off, l_low, l_high, r_off[3], r_low[3], r_high[3];
    size_t np;
    nudged_loss(0.0f, mode, &l_off, g_off, r_off, &np);
    ck_assert(np <= MAXP);
    nudged_loss(1e-6f, mode, &l_low, g_low, r_low, &np);
    nudged_loss(1e6f, mode, &l_high, g_high, r_high, &np);
    ck_assert(r_off[1] < r_off[2]); /* off: the nudge spread the ratios */
    double gnorm = 0.0;
    for (size_t i = 0; i < np; i++)
        gnorm += fabs(g_off[i]);
    ck_assert(gnorm > 1e-4);
    ck_assert_double_eq(r_low[1], 1.0); /* every loss above 1e-6: every ratio 1 */
    ck_assert_double_eq(r_low[2], 1.0);
    for (size_t i = 0; i < np; i++)
        ck_assert_msg(g_low[i] == 0.0f, "actor gradient %zu is %g", i, (double)g_low[i]);
    ck_assert(memcmp(g_high, g_off, np * sizeof(float)) == 0);
    ck_assert(l_high == l_off);

    /* a clamp at the mean per-pair loss: some pairs above it, some below */
    setup s = make(mode, 0.0f, 4.0f);
    fpo_update_stats st = {sizeof st};
    ck_assert_int_eq(fpo_optimizer_update(s.o, s.p, s.b, &st), FPO_OK);
    unmake(&s);
    ck_assert(st.cfm_loss_max > st.cfm_loss_old);
    double l_mid, r_mid[3];
    static float g_mid[MAXP];
    nudged_loss((float)st.cfm_loss_old, mode, &l_mid, g_mid, r_mid, &np);
    ck_assert(l_mid != l_off);
    cfm_clamp_ = (float)st.cfm_loss_old;
    s = make(mode, 0.0f, 4.0f);
    cfm_clamp_ = 0.0f;
    ck_assert_int_eq(fpo_optimizer_prepare(s.o, s.p, s.b, &st), FPO_OK);
    double worst = actor_fd_worst(&s, 7);
    ck_assert_msg(worst < 2e-2, "worst relative error %g", worst);
    unmake(&s);
}
END_TEST

START_TEST(bad_settings_are_rejected)
{
    setup s = make(FPO_RATIO_PER_SAMPLE, 1.0f, 4.0f);
    struct {
        float bound, coef, spike;
    } bad[] = {{3.0f, -1.0f, 4.0f}, {3.0f, NAN, 4.0f},  {0.0f, 1.0f, 4.0f},
               {-2.0f, 1.0f, 4.0f}, {3.0f, 1.0f, 0.5f}, {3.0f, 1.0f, -1.0f},
               {3.0f, 1.0f, INFINITY}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fpo_optimizer_config oc;
        fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
        oc.minibatches = 1;
        oc.bound = bad[i].bound;
        oc.bound_coef = bad[i].coef;
        oc.spike_clip = bad[i].spike;
        fpo_optimizer *o = NULL;
        ck_assert_int_eq(fpo_optimizer_create(&o, s.p, s.b, &oc), FPO_ERANGE);
        ck_assert_ptr_null(o);
        ck_assert(strlen(fpo_last_errmsg()) > 0);
    }
    /* The defaults, and an older caller's struct that ends before the new
     * fields (they get the defaults). */
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    ck_assert_float_eq(oc.bound, 3.0f);
    ck_assert_float_eq(oc.bound_coef, 0.0f);
    ck_assert_float_eq(oc.spike_clip, 4.0f);
    ck_assert_float_eq(oc.anchor_coef, 0.1f);
    ck_assert_float_eq(oc.cfm_clamp, 10.0f);
    fpo_optimizer_config_init(&oc, FPO_ALGO_PPO);
    ck_assert_float_eq(oc.anchor_coef, 0.0f);
    ck_assert_float_eq(oc.cfm_clamp, 0.0f);
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.minibatches = 1;
    const float bad_clamp[] = {-1.0f, NAN, INFINITY, 2e6f};
    for (int i = 0; i < 4; i++) {
        oc.cfm_clamp = bad_clamp[i];
        fpo_optimizer *o = NULL;
        ck_assert_int_eq(fpo_optimizer_create(&o, s.p, s.b, &oc), FPO_ERANGE);
        ck_assert_ptr_null(o);
        ck_assert(strstr(fpo_last_errmsg(), "cfm_clamp") != NULL);
    }
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.minibatches = 1;
    const float bad_anchor[] = {-0.1f, NAN, 101.0f};
    for (int i = 0; i < 3; i++) {
        oc.anchor_coef = bad_anchor[i];
        fpo_optimizer *o = NULL;
        ck_assert_int_eq(fpo_optimizer_create(&o, s.p, s.b, &oc), FPO_ERANGE);
        ck_assert_ptr_null(o);
    }
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.minibatches = 1;
    oc.bound_coef = -5.0f;
    /* Smaller than any release's fpo_optimizer_config (docs/abi.md): refused. */
    oc.struct_size = offsetof(fpo_optimizer_config, bound_coef);
    fpo_optimizer *o = NULL;
    ck_assert_int_eq(fpo_optimizer_create(&o, s.p, s.b, &oc), FPO_EINVAL);
    ck_assert(strstr(fpo_last_errmsg(), "fpo_optimizer_config") != NULL);
    ck_assert_ptr_null(o);
    unmake(&s);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("stability");
    TCase *tc = tcase_create("stability");
    tcase_add_loop_test(tc, bound_penalty_hand_computed, 0, 2);
    tcase_add_loop_test(tc, bound_penalty_gradient_matches_finite_differences, 0, 2);
    tcase_add_test(tc, spike_guard_hand_computed);
    tcase_add_test(tc, anchor_hand_computed_and_gradient);
    tcase_add_test(tc, drift_statistics);
    tcase_add_test(tc, adaptive_anchor_hand_computed);
    tcase_add_test(tc, adaptive_anchor_in_updates);
    tcase_add_loop_test(tc, cfm_clamp_hand_computed_and_gradient, 0, 2);
    tcase_add_test(tc, bad_settings_are_rejected);
    suite_add_tcase(s, tc);
    return s;
}
