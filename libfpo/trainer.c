/* The training loop: rollout with a sampler, then one optimizer update. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "fpo/trainer.h"
#include "alloc.h"
#include "error.h"
#include "coll.h"
#include "exchange.h"
#include "guard.h"
#include "internal.h"
#include "serial.h"
#include "objective.h"
#include "policy_view.h"
#include "util.h"

struct fpo_trainer {
    fpo_errbuf err;
    fpo_mem mem;
    fpo_trainer_config cfg; /* component pointers cleared */
    fpo_policy *policy;
    fpo_sampler *sampler;
    fpo_buffer *buffer;
    fpo_optimizer *opt;
    fpo_vecenv *env;
    int record_path; /* DPPO: the sampler's chains go into the buffer */
    /* Data-parallel training (fpo/collective.h); single process otherwise. */
    fpo_coll coll;
    fpo_layout lay;
    double *xb;     /* exchange buffer for the collective sums */
    int N, od, ad;
    int H; /* actions per policy query (fpo_policy_config.chunk) */
    float *obs, *next_obs, *act, *raw, *rew, *final_obs; /* act, raw: [N x H x ad] */
    unsigned *flags; /* each env's flags of the last transition (chunk) */
    /* Action chunks (H > 1 only): per env, the chunk's discounted reward,
     * gamma^(steps taken), the flags of the step in progress, the steps
     * taken and whether the chunk goes on. */
    float *crew, *cdisc;
    unsigned *sflags;
    unsigned char *ksteps, *active;
    int need_reset;
    int64_t iteration, env_steps;
    double t0;
    fpo_episode_stats last_episodes; /* what fpo_progress points to */
    fpo_update_stats last_update;
    /* Running mean over recent episodes (exponential, weight 0.1 per batch). */
    double recent_return;
    int have_recent;
    fpo_guard guard; /* collapse guard (guard.h) */
    int in_progress; /* the progress callback is running (no re-entry) */
    int64_t run_target; /* total_steps of the fpo_trainer_run in progress; 0 outside */
};

double fpo_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void trainer_defaults(fpo_trainer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->num_envs = 16;
    cfg->horizon = 64;
    cfg->threads = 1;
    fpo_flow_config fc; /* the pairs' settings are the flow objective's (obj_flow.c) */
    fpo_flow_config_defaults(&fc);
    cfg->n_mc = fc.n_mc;
    cfg->t_dist = fc.t_dist;
    cfg->guard = 1;
    cfg->guard_max_rollbacks = FPO_GUARD_MAX_ROLLBACKS;
    cfg->lr_schedule = FPO_LR_DEFAULT;
}

FPO_DEFINE_CONFIG_INIT(fpo_trainer_config, TRAINER_CONFIG, trainer_defaults)

static void trainer_free(fpo_trainer *t)
{
    fpo_mem m = t->mem;
    fpo_guard_free(&t->guard, &m);
    fpo_vecenv_destroy(t->env);
    fpo_optimizer_destroy(t->opt);
    fpo_buffer_destroy(t->buffer);
    fpo_sampler_destroy(t->sampler);
    fpo_policy_destroy(t->policy);
    float *arrays[] = {t->obs, t->next_obs, t->act, t->raw, t->rew, t->final_obs};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        fpo_mem_free(&m, arrays[i]);
    fpo_mem_free(&m, t->flags);
    fpo_mem_free(&m, t->crew);
    fpo_mem_free(&m, t->cdisc);
    fpo_mem_free(&m, t->sflags);
    fpo_mem_free(&m, t->ksteps);
    fpo_mem_free(&m, t->active);
    fpo_mem_free(&m, t->xb);
    fpo_mem_free(&m, t);
}

/* Derive independent seeds for the components from the trainer's. */
static uint64_t sub_seed(uint64_t seed, uint64_t k)
{
    uint64_t x = seed + 0x9e3779b97f4a7c15ull * (k + 1);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Prefix the thread's last error message with the failing component. */
static int with_context(int rc, const char *what)
{
    char why[FPO_ERRMSG_LEN];
    snprintf(why, sizeof why, "%s", fpo_last_errmsg());
    return fpo_fail(NULL, rc, "%s: %s", what, why);
}

/* Limits of a trainer's sizes; the components' own are the same or wider. */
#define TRAINER_MAX_ENVS (1 << 20)
#define TRAINER_MAX_HORIZON (1 << 24)
#define TRAINER_MAX_BATCH (1 << 26) /* transitions per iteration: int indices */
#define GIB (1024.0 * 1024.0 * 1024.0)

/* The memory this machine has (0 if unknown). */
static double physical_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0.0;
}

/* The trainer's sizes in the caller's terms, and the memory they imply,
 * checked before anything is allocated: otherwise a component reports its
 * own field (num_envs = INT_MAX as the sampler's max_batch), or a batch the
 * machine cannot hold fails with FPO_ENOMEM only after seconds or minutes
 * of allocating. What the estimate cannot judge (an invalid policy or
 * optimizer config) is left to the components' own checks. */
static int check_sizes(const fpo_trainer_config *c, const fpo_optimizer_config *oc,
                       const fpo_policy_config *pc)
{
    const fpo_env_table *tab = c->env;
    if (c->num_envs < 1 || c->num_envs > TRAINER_MAX_ENVS)
        return fpo_fail(NULL, FPO_ERANGE,
                        "trainer config: num_envs must be in [1, 2^20 = %d], got %d",
                        TRAINER_MAX_ENVS, c->num_envs);
    if (c->horizon < 1 || c->horizon > TRAINER_MAX_HORIZON)
        return fpo_fail(NULL, FPO_ERANGE,
                        "trainer config: horizon (steps per environment per iteration) must be "
                        "in [1, 2^24 = %d], got %d", TRAINER_MAX_HORIZON, c->horizon);
    int64_t batch = (int64_t)c->num_envs * c->horizon;
    if (batch > TRAINER_MAX_BATCH)
        return fpo_fail(NULL, FPO_ERANGE,
                        "trainer config: num_envs x horizon = %d x %d = %lld transitions per "
                        "iteration, more than 2^26 = %d", c->num_envs, c->horizon,
                        (long long)batch, TRAINER_MAX_BATCH);
    if (c->threads < 1 || c->threads > 256)
        return fpo_fail(NULL, FPO_ERANGE, "trainer config: threads must be in [1, 256], got %d",
                        c->threads);
    fpo_flow_config fc;
    fpo_flow_config_defaults(&fc);
    fc.n_mc = c->n_mc;
    fc.t_dist = c->t_dist;
    int frc = fpo_flow_config_check(NULL, &fc, 0, "trainer config");
    if (frc)
        return frc;
    /* The environment table's own sizes: fpo_env_table_check, before. */
    fpo_mlp actor, critic;
    int emb;
    size_t n_std;
    if (pc->chunk < 0 || pc->chunk > FPO_MAX_CHUNK ||
        fpo_policy_shapes(pc, &actor, &critic, &emb, &n_std) != FPO_OK)
        return FPO_OK;
    /* The buffer and the sampler hold whole chunks; the environments one action. */
    int cd = fpo_policy_chunk_dim(pc), H = fpo_policy_chunk_of(pc);
    int n_mc = oc->algo == FPO_ALGO_FPO ? c->n_mc : 0;
    /* DPPO: the stored chains and K actor rows per transition. */
    int path = 0;
    if (oc->algo == FPO_ALGO_DPPO) {
        fpo_sampler_config sc;
        if ((c->sampler ? FPO_COPY_CONFIG(NULL, SAMPLER_CONFIG, &sc, c->sampler,
                                          fpo_sampler_config_init(&sc))
                        : (fpo_sampler_config_init(&sc), FPO_OK)) == FPO_OK)
            path = sc.steps;
    }
    double np = fpo_mlp_params_estimate(&actor) + fpo_mlp_params_estimate(&critic) + (double)n_std;
    double od = tab->obs_dim, N = c->num_envs;
    double opt = fpo_optimizer_estimate_bytes(&actor, &critic, np, tab->obs_dim,
                                              path ? path : n_mc, (double)batch,
                                              oc->minibatches, c->threads);
    double buf = fpo_buffer_estimate_bytes(c->num_envs, c->horizon, tab->obs_dim, cd, n_mc, path) +
                 (H > 1 ? (double)batch : 0.0) /* the chunks' step counts */;
    double smp = fpo_sampler_estimate_bytes(&actor, &critic, tab->obs_dim, cd, c->num_envs, path);
    double rest = 4.0 * np + 32.0 * od /* policy */ + fpo_guard_estimate_bytes(np, tab->obs_dim) +
                  fpo_vecenv_estimate_bytes(c->num_envs, tab->act_dim) +
                  N * (3.0 * od + 2.0 * cd + 2.0) * 4.0 /* the trainer's arrays */ +
                  (H > 1 ? N * 14.0 : 0.0) /* and its chunk arrays */;
    double total = opt + buf + smp + rest, have = physical_memory_bytes();
    if (have > 0 && total > have)
        return fpo_fail(NULL, FPO_ENOMEM,
                        "num_envs x horizon = %d x %d (n_mc %d) needs about %.1f GiB (optimizer "
                        "%.1f for minibatches of %.0f; buffer %.1f; sampler %.1f; other %.1f), "
                        "more than this machine's %.1f GiB: lower num_envs, horizon or network "
                        "sizes, or raise minibatches",
                        c->num_envs, c->horizon, n_mc, total / GIB, opt / GIB,
                        ceil((double)batch / (oc->minibatches > 0 ? oc->minibatches : 1)),
                        buf / GIB, smp / GIB, rest / GIB, have / GIB);
    return FPO_OK;
}

/* The optimizer's and the policy's configs as the trainer gives them: the
 * caller's (or the defaults), the policy's kind from the algorithm unless a
 * policy config is given, its sizes from the environment table. */
static int component_configs(const fpo_trainer_config *c, fpo_optimizer_config *oc,
                             fpo_policy_config *pc)
{
    int rc = c->optimizer ? FPO_COPY_CONFIG(NULL, OPTIMIZER_CONFIG, oc, c->optimizer,
                                            fpo_optimizer_config_init(oc, FPO_ALGO_FPO))
                          : (fpo_optimizer_config_init(oc, FPO_ALGO_FPO), FPO_OK);
    if (rc)
        return rc;
    rc = c->policy ? FPO_COPY_CONFIG(NULL, POLICY_CONFIG, pc, c->policy, fpo_policy_config_init(pc))
                   : (fpo_policy_config_init(pc), FPO_OK);
    if (rc)
        return rc;
    if (!c->policy)
        pc->kind = oc->algo == FPO_ALGO_PPO ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW;
    pc->obs_dim = c->env->obs_dim;
    pc->act_dim = c->env->act_dim;
    return FPO_OK;
}

int fpo_trainer_create(fpo_trainer **out, const fpo_trainer_config *cfg)
{
    fpo_trainer_config c;
    fpo_mem mem;
    if (!out)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_trainer_create: out is NULL");
    *out = NULL;
    int rc = FPO_COPY_CONFIG(NULL, TRAINER_CONFIG, &c, cfg, fpo_trainer_config_init(&c));
    if (rc)
        return rc;
    if (!c.env)
        return fpo_fail(NULL, FPO_EINVAL, "the trainer config has no environment table");
    /* The table's sizes and bounds are read below: the vecenv's full check
     * first, the same one fpo_vecenv_create makes. */
    if ((rc = fpo_env_table_check(NULL, c.env, NULL)))
        return rc;
    /* Older callers' structs lack the guard fields: the copy leaves the
     * defaults (on, 3). 0 means the default too. */
    if (c.guard < -1 || c.guard > 1)
        return fpo_fail(NULL, FPO_ERANGE, "guard must be 1 or 0 (on) or -1 (off), got %d",
                        c.guard);
    if (c.guard_max_rollbacks == 0)
        c.guard_max_rollbacks = FPO_GUARD_MAX_ROLLBACKS;
    if ((unsigned)c.lr_schedule > FPO_LR_LINEAR)
        return fpo_fail(NULL, FPO_ERANGE, "lr_schedule %d is not an fpo_lr_schedule",
                        (int)c.lr_schedule);
    if (c.guard_max_rollbacks < 1 || c.guard_max_rollbacks > 64)
        return fpo_fail(NULL, FPO_ERANGE, "guard_max_rollbacks must be in [1, 64] (0: default), "
                        "got %d", c.guard_max_rollbacks);
    if (c.critic_warmup < 0 || c.critic_warmup > (1 << 30))
        return fpo_fail(NULL, FPO_ERANGE, "critic_warmup must be in [0, 2^30] iterations, got %d",
                        c.critic_warmup);
    /* Optimizer config first: it decides the algorithm. */
    fpo_optimizer_config oc;
    fpo_policy_config pc;
    if ((rc = component_configs(&c, &oc, &pc)) || (rc = check_sizes(&c, &oc, &pc)))
        return rc;
    /* The default schedule follows the algorithm (docs/stability.md, "The
     * learning-rate schedule"): FPO's late collapses at a constant rate make
     * it linear; Gaussian PPO, which did not collapse, keeps its rate. */
    if (c.lr_schedule == FPO_LR_DEFAULT)
        c.lr_schedule = oc.algo == FPO_ALGO_FPO ? FPO_LR_LINEAR : FPO_LR_CONSTANT;
    fpo_coll coll;
    if ((rc = fpo_coll_init(&coll, c.collective, NULL)))
        return rc;
    if ((rc = fpo_mem_init(&mem, c.allocator, NULL)))
        return rc;
    fpo_trainer *t = fpo_mem_calloc(&mem, 1, sizeof *t);
    /* The exchange buffer (exchange.h) is allocated before the first collective call: failing here is a
     * local failure (fpo/collective.h). */
    size_t nxb = fpo_xchg_trainer_doubles(&coll);
    double *xb = t ? fpo_mem_calloc(&mem, nxb, sizeof(double)) : NULL;
    if (!xb) {
        if (t)
            fpo_mem_free(&mem, t);
        return fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating the trainer");
    }
    t->mem = mem;
    t->cfg = c;
    t->cfg.policy = NULL;
    t->cfg.sampler = NULL;
    t->cfg.optimizer = NULL;
    t->cfg.collective = NULL;
    t->cfg.init_policy = NULL;
    t->coll = coll;
    t->xb = xb;
    t->t0 = fpo_now_seconds();
    const fpo_env_table *tab = c.env;

    oc.threads = c.threads;
    oc.seed = sub_seed(c.seed, 1);
    oc.allocator = c.allocator;
    oc.collective = c.collective;

    pc.action_low = tab->action_low;
    pc.action_high = tab->action_high;
    pc.seed = sub_seed(c.seed, 2);
    pc.allocator = c.allocator;

    fpo_sampler_config sc;
    rc = c.sampler ? FPO_COPY_CONFIG(NULL, SAMPLER_CONFIG, &sc, c.sampler, fpo_sampler_config_init(&sc))
                   : (fpo_sampler_config_init(&sc), FPO_OK);
    if (rc)
        goto fail;
    if (oc.algo == FPO_ALGO_DPPO) {
        /* DPPO samples its denoising MDP with the objective's per-step
         * noise and keeps the chains (objective.h, obj_dppo.c). */
        sc.record_path = 1;
        sc.sde_noise = oc.dppo_sigma;
        t->record_path = 1;
    }

    /* Where this rank's environments sit among all ranks' (and a check that
     * every rank has the same settings); then every random stream keyed by
     * environment uses the global index. */
    {
        int n_mc = oc.algo == FPO_ALGO_FPO ? c.n_mc : 0;
        const int ints[] = {n_mc, (int)c.t_dist, (int)sc.integrator, sc.steps,
                            (int)sc.init_noise, sc.deterministic};
        uint32_t fp = fpo_fingerprint(FPO_FINGERPRINT_INIT, ints, sizeof ints);
        fp = fpo_fingerprint(fp, &sc.sde_noise, sizeof sc.sde_noise);
        if (sc.noise_corr != 0.0f) /* only when set: older settings keep their fingerprint */
            fp = fpo_fingerprint(fp, &sc.noise_corr, sizeof sc.noise_corr);
        fp = fpo_fingerprint(fp, &c.seed, sizeof c.seed);
        fp = fpo_optimizer_config_fingerprint(&oc, fp);
        if (c.critic_warmup) /* only when set: older settings keep their fingerprint */
            fp = fpo_fingerprint(fp, &c.critic_warmup, sizeof c.critic_warmup);
        if ((rc = fpo_xchg_trainer_handshake(&t->coll, t->xb, c.num_envs, c.horizon, fp,
                                             &t->lay)))
            goto fail;
    }
    /* From here on a failure on one rank is agreed on at the end. */
    if ((rc = fpo_policy_create(&t->policy, &pc))) {
        rc = with_context(rc, "policy");
        goto agree;
    }
    if (c.init_policy) {
        if (!fpo_policy_same_shape(t->policy, c.init_policy)) {
            rc = fpo_fail(NULL, FPO_EMISMATCH,
                          "init_policy: its kind or network shapes differ from the policy the "
                          "trainer's config makes");
            goto agree;
        }
        fpo_policy_copy_state(t->policy, c.init_policy);
    }
    sc.max_batch = c.num_envs;
    sc.seed = sub_seed(c.seed, 3);
    sc.allocator = c.allocator;
    sc.row_offset = t->lay.env_offset;
    if ((rc = fpo_sampler_create(&t->sampler, t->policy, &sc))) {
        rc = with_context(rc, "sampler");
        goto agree;
    }
    /* What a deployment should use by default: the rollout integrator (as
     * the sampler resolved it) and step count, from zero noise (flow) or the
     * mean (Gaussian). */
    fpo_sampler_config dc = sc;
    dc.integrator = fpo_sampler_integrator(t->sampler);
    dc.init_noise = FPO_NOISE_ZERO;
    dc.sde_noise = 0.0f;
    dc.deterministic = pc.kind == FPO_POLICY_GAUSSIAN;
    dc.record_path = 0;
    if ((rc = fpo_policy_set_sampler_defaults(t->policy, &dc)))
        goto agree;

    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = c.num_envs;
    bc.horizon = c.horizon;
    bc.obs_dim = tab->obs_dim;
    bc.act_dim = fpo_policy_chunk_dim(&pc); /* the whole chunk */
    bc.n_mc = oc.algo == FPO_ALGO_FPO ? c.n_mc : 0;
    bc.t_dist = c.t_dist;
    bc.path_steps = t->record_path ? sc.steps : 0;
    bc.seed = sub_seed(c.seed, 4);
    bc.allocator = c.allocator;
    bc.env_offset = t->lay.env_offset;
    if ((rc = fpo_buffer_create(&t->buffer, &bc)) ||
        (pc.chunk > 1 && (rc = fpo_buffer_enable_chunks(t->buffer)))) {
        rc = with_context(rc, "buffer");
        goto agree;
    }
    if ((rc = fpo_optimizer_create_for(&t->opt, t->policy, t->buffer, &oc, &t->lay))) {
        rc = with_context(rc, "optimizer");
        goto agree;
    }

    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = tab;
    vc.user = c.env_user;
    vc.num_envs = c.num_envs;
    vc.threads = c.threads;
    vc.seed = sub_seed(c.seed, 5);
    vc.allocator = c.allocator;
    vc.env_offset = t->lay.env_offset;
    if ((rc = fpo_vecenv_create(&t->env, &vc))) {
        rc = with_context(rc, "environments");
        goto agree;
    }

    t->N = c.num_envs;
    t->od = tab->obs_dim;
    t->ad = tab->act_dim;
    t->H = fpo_policy_chunk_of(&pc);
    size_t N = (size_t)t->N, od = (size_t)t->od, ad = (size_t)t->ad * (size_t)t->H;
    t->obs = fpo_mem_calloc(&mem, N * od, sizeof(float));
    t->next_obs = fpo_mem_calloc(&mem, N * od, sizeof(float));
    t->final_obs = fpo_mem_calloc(&mem, N * od, sizeof(float));
    t->act = fpo_mem_calloc(&mem, N * ad, sizeof(float));
    t->raw = fpo_mem_calloc(&mem, N * ad, sizeof(float));
    t->rew = fpo_mem_calloc(&mem, N, sizeof(float));
    t->flags = fpo_mem_calloc(&mem, N, sizeof(unsigned));
    if (t->H > 1) {
        t->crew = fpo_mem_calloc(&mem, N, sizeof(float));
        t->cdisc = fpo_mem_calloc(&mem, N, sizeof(float));
        t->sflags = fpo_mem_calloc(&mem, N, sizeof(unsigned));
        t->ksteps = fpo_mem_calloc(&mem, N, 1);
        t->active = fpo_mem_calloc(&mem, N, 1);
    }
    if (!t->obs || !t->next_obs || !t->final_obs || !t->act || !t->raw || !t->rew || !t->flags ||
        (t->H > 1 && (!t->crew || !t->cdisc || !t->sflags || !t->ksteps || !t->active)))
        rc = fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating trainer arrays");
    else if (fpo_guard_init(&t->guard, &mem, c.guard != -1, c.guard_max_rollbacks, t->policy,
                            t->opt))
        rc = fpo_fail(NULL, FPO_ENOMEM, "out of memory allocating the collapse guard's snapshots");
agree:
    /* Every rank learns whether all succeeded, and that all start from the
     * same parameters. */
    rc = fpo_xchg_trainer_agree(&t->coll, t->xb, rc,
                                rc ? 0u : fpo_policy_fingerprint(t->policy, FPO_FINGERPRINT_INIT));
    if (rc)
        goto fail;
    t->need_reset = 1;
    *out = t;
    return FPO_OK;
fail:
    trainer_free(t);
    return rc;
}

void fpo_trainer_destroy(fpo_trainer *t)
{
    if (t)
        trainer_free(t);
}

const char *fpo_trainer_errmsg(const fpo_trainer *t)
{
    return t ? t->err.msg : "trainer is NULL";
}

fpo_policy *fpo_trainer_policy(fpo_trainer *t)
{
    if (!t) {
        (void)FPO_NULL_ARG("t");
        return NULL;
    }
    return t->policy;
}

fpo_optimizer *fpo_trainer_optimizer(fpo_trainer *t)
{
    if (!t) {
        (void)FPO_NULL_ARG("t");
        return NULL;
    }
    return t->opt;
}
fpo_buffer *fpo_trainer_buffer(fpo_trainer *t) { return t->buffer; }
int64_t fpo_trainer_env_steps(const fpo_trainer *t) { return t ? t->env_steps : FPO_NULL_ARG("t"); }

/* Action chunks: step every environment through the H actions of its
 * chunk (one env step each; an environment whose episode ends stops there,
 * its chunk cut short), summing r_0 + gamma r_1 + ... into t->crew; t->flags
 * get the ending step's flags, t->ksteps the steps taken. Adds the steps
 * taken to *steps. */
static int step_chunk(fpo_trainer *t, float gamma, int64_t *steps)
{
    int N = t->N, H = t->H, ad = t->ad;
    for (int e = 0; e < N; e++) {
        t->crew[e] = 0.0f;
        t->cdisc[e] = 1.0f;
        t->flags[e] = 0;
        t->ksteps[e] = 0;
        t->active[e] = 1;
    }
    for (int j = 0; j < H; j++) {
        int rc = fpo_vecenv_step_chunk(t->env, t->act + (size_t)j * (size_t)ad,
                                       (size_t)H * (size_t)ad, t->active, t->next_obs, t->rew,
                                       t->sflags, t->final_obs);
        if (rc)
            return rc;
        int left = 0;
        for (int e = 0; e < N; e++) {
            if (!t->active[e])
                continue;
            t->crew[e] += t->cdisc[e] * t->rew[e];
            t->cdisc[e] *= gamma;
            t->ksteps[e]++;
            (*steps)++;
            /* the success bit of any step (statistics only), the end of the episode */
            t->flags[e] |= t->sflags[e];
            if (t->sflags[e] & FPO_STEP_ENDED_)
                t->active[e] = 0;
            else
                left = 1;
        }
        if (!left)
            break;
    }
    return FPO_OK;
}

static int rollout(fpo_trainer *t, int64_t *steps)
{
    int rc;
    if (t->need_reset) {
        if ((rc = fpo_vecenv_reset(t->env, t->obs)))
            return fpo_fail(&t->err, rc, "reset: %s", fpo_vecenv_errmsg(t->env));
        t->need_reset = 0;
    }
    fpo_buffer_clear(t->buffer);
    size_t bytes = (size_t)t->N * (size_t)t->od * sizeof(float);
    /* The discount within a chunk is the optimizer's (a tunable: read per rollout). */
    double gamma = 1.0;
    if (t->H > 1)
        fpo_optimizer_get(t->opt, FPO_OPT_GAMMA, &gamma);
    for (int h = 0; h < t->cfg.horizon; h++) {
        if ((rc = fpo_sampler_act(t->sampler, t->policy, t->obs, t->N, t->act, t->raw)))
            return fpo_fail(&t->err, rc, "sampler: %s", fpo_sampler_errmsg(t->sampler));
        if (t->H > 1) {
            if ((rc = step_chunk(t, (float)gamma, steps)))
                return fpo_fail(&t->err, rc, "environment: %s", fpo_vecenv_errmsg(t->env));
            if ((rc = fpo_buffer_add(t->buffer, t->obs, t->raw, t->crew, t->flags,
                                     t->final_obs)) ||
                (rc = fpo_buffer_set_chunk_steps(t->buffer, t->ksteps)))
                return fpo_fail(&t->err, rc, "buffer: %s", fpo_buffer_errmsg(t->buffer));
        } else {
            if ((rc = fpo_vecenv_step(t->env, t->act, t->next_obs, t->rew, t->flags,
                                      t->final_obs)))
                return fpo_fail(&t->err, rc, "environment: %s", fpo_vecenv_errmsg(t->env));
            *steps += t->N;
            if ((rc = fpo_buffer_add(t->buffer, t->obs, t->raw, t->rew, t->flags, t->final_obs)))
                return fpo_fail(&t->err, rc, "buffer: %s", fpo_buffer_errmsg(t->buffer));
        }
        if (t->record_path) {
            /* DPPO: the denoising chains behind these actions. */
            const float *path;
            int states;
            if ((rc = fpo_sampler_path(t->sampler, &path, &states)) ||
                (rc = fpo_buffer_add_path(t->buffer, path)))
                return fpo_fail(&t->err, rc, "buffer: %s", fpo_buffer_errmsg(t->buffer));
        }
        memcpy(t->obs, t->next_obs, bytes);
    }
    if ((rc = fpo_buffer_set_last_obs(t->buffer, t->obs)))
        return fpo_fail(&t->err, rc, "buffer: %s", fpo_buffer_errmsg(t->buffer));
    return FPO_OK;
}

int fpo_trainer_iterate(fpo_trainer *t, fpo_progress *out)
{
    if (!t)
        return FPO_NULL_ARG("t");
    if (t->in_progress)
        return fpo_fail(&t->err, FPO_ESTATE,
                        "fpo_trainer_iterate called from the trainer's own progress callback; "
                        "return non-zero from the callback to stop instead");
    /* Checked before anything changes: a failed call must not have trained. */
    if (out && out->struct_size < fpo_struct_v1_size(FPO_S_PROGRESS))
        return fpo_fail(&t->err, FPO_EINVAL,
                        "fpo_progress.struct_size is %zu, below the smallest of any release "
                        "(%zu): set it to sizeof(fpo_progress)", out->struct_size,
                        fpo_struct_v1_size(FPO_S_PROGRESS));
    fpo_progress pr;
    memset(&pr, 0, sizeof pr);
    pr.struct_size = sizeof pr;
    memset(&t->last_update, 0, sizeof t->last_update);
    memset(&t->last_episodes, 0, sizeof t->last_episodes);
    t->last_update.struct_size = sizeof t->last_update;
    t->last_episodes.struct_size = sizeof t->last_episodes;
    pr.update = &t->last_update;
    pr.episodes = &t->last_episodes;

    double t0 = fpo_now_seconds();
    int64_t steps = 0; /* environment steps of this rank, then of all ranks */
    int rc = rollout(t, &steps);
    if (rc) /* the environments restart next time */
        t->need_reset = 1;
    fpo_vecenv_take_episode_stats(t->env, &t->last_episodes);
    /* All ranks learn whether every rollout succeeded (and the episode
     * statistics of all). On failure the iteration's data is discarded
     * everywhere. */
    rc = fpo_xchg_episode_stats(&t->coll, &t->err, t->xb, rc, &t->last_episodes, &steps);
    if (rc)
        return rc;
    double t1 = fpo_now_seconds();
    /* The schedule (cfg.lr_schedule) scales the rate within a run's budget. */
    float lr_scale = 1.0f;
    if (t->cfg.lr_schedule == FPO_LR_LINEAR && t->run_target > 0)
        lr_scale = (float)(1.0 - (double)t->env_steps / (double)t->run_target);
    if (!(lr_scale > 0.0f)) /* not reached: run stops at the target */
        lr_scale = 0.0f;
    fpo_optimizer_set_lr_scale(t->opt, lr_scale);
    fpo_optimizer_set_critic_only(t->opt, t->iteration < t->cfg.critic_warmup);
    fpo_guard_begin(&t->guard, t->opt);
    rc = fpo_optimizer_update(t->opt, t->policy, t->buffer, &t->last_update);
    double t2 = fpo_now_seconds();
    if (rc)
        return fpo_fail(&t->err, rc, "update: %s", fpo_optimizer_errmsg(t->opt));
    t->iteration++;
    t->env_steps += steps; /* global_envs x horizon x chunk, less chunks cut short */
    /* The statistics are global on every rank, so is the guard's verdict. */
    rc = fpo_guard_judge(&t->guard, t->policy, t->opt, &t->last_update, t->iteration, &t->err);
    t->last_update.rollbacks = t->guard.rollbacks;
    fpo_optimizer_get(t->opt, FPO_OPT_LR, &t->last_update.lr);
    t->last_update.lr *= lr_scale; /* as scaled by this iteration's schedule */
    if (rc)
        return rc;
    if (t->last_episodes.episodes > 0) {
        t->recent_return = t->have_recent
                               ? 0.9 * t->recent_return + 0.1 * t->last_episodes.mean_return
                               : t->last_episodes.mean_return;
        t->have_recent = 1;
    }
    pr.iteration = t->iteration;
    pr.env_steps = t->env_steps;
    pr.mean_return = t->have_recent ? t->recent_return : NAN;
    pr.rollout_seconds = t1 - t0;
    pr.update_seconds = t2 - t1;
    pr.elapsed_seconds = t2 - t->t0;
    if (out && (rc = fpo_struct_out(&t->err, FPO_S_PROGRESS, out, &pr, sizeof pr)))
        return rc;
    return FPO_OK;
}

int fpo_trainer_run(fpo_trainer *t, int64_t total_steps)
{
    if (!t)
        return FPO_NULL_ARG("t");
    if (t->in_progress)
        return fpo_fail(&t->err, FPO_ESTATE,
                        "fpo_trainer_run called from the trainer's own progress callback; "
                        "return non-zero from the callback to stop instead");
    if (total_steps < 0)
        return fpo_fail(&t->err, FPO_ERANGE, "total_steps must be >= 0");
    while (t->env_steps < total_steps) {
        fpo_progress pr;
        pr.struct_size = sizeof pr;
        t->run_target = total_steps;
        int rc = fpo_trainer_iterate(t, &pr);
        t->run_target = 0;
        if (rc)
            return rc;
        pr.total_steps = total_steps;
        int stop = 0;
        if (t->cfg.progress) {
            t->in_progress = 1;
            stop = t->cfg.progress(t->cfg.progress_user, &pr);
            t->in_progress = 0;
        }
        /* Stop everywhere if any rank's callback asks to. */
        if ((rc = fpo_xchg_stop_request(&t->coll, &t->err, t->xb, &stop)))
            return rc;
        if (stop)
            break;
    }
    return FPO_OK;
}

/* ---- whole-trainer checkpoints -------------------------------------------- */

#define TRAINER_MAGIC "FPOTRAIN"
/* Format 2 (0.2.0) appends the adaptive anchor's state. It is written only
 * when the anchor is adaptive (anchor_drift > 0), so every other run's file
 * stays format 1 and readable by 0.1.0; format 1 files load with the
 * anchor's state fresh. Format 3 (0.2.0) is written only when the rollout
 * sampler carries its noise over (noise_corr > 0): after format 1's fields a
 * u32 of section bits (TRAINER_SEC_*), then the anchor's state if its bit is
 * set, then the rows' noise (u32 rows, u32 width, f32 x rows x width). Files
 * without either section keep the older formats (docs/checkpoint.md). */
#define TRAINER_FORMAT 3u
enum { TRAINER_SEC_ANCHOR = 1u, TRAINER_SEC_NOISE = 2u };

static void put_rng(wbuf *w, const fpo_rng *r)
{
    put_u64(w, r->key);
    put_u64(w, r->stream);
    put_u64(w, r->ctr);
    for (int i = 0; i < 4; i++)
        put_u32(w, r->buf[i]);
    put_u32(w, r->pos);
}

static void get_rng(rbuf *r, fpo_rng *out)
{
    out->key = get_u64(r);
    out->stream = get_u64(r);
    out->ctr = get_u64(r);
    for (int i = 0; i < 4; i++)
        out->buf[i] = get_u32(r);
    out->pos = get_u32(r);
    if (out->pos > 4)
        r->bad = 1;
}

enum { FIXED_COUNT = 10 };
static const char *const fixed_names[FIXED_COUNT] = {
    "horizon", "n_mc", "t_dist", "algo", "cfm_loss", "ratio_mode", "aspo",
    "normalize_advantages", "adam_beta1", "adam_beta2"};

static void trainer_fixed_settings(fpo_trainer *t, uint32_t out[FIXED_COUNT])
{
    fpo_opt_state os;
    fpo_optimizer_state(t->opt, &os);
    const fpo_optimizer_config *c = os.cfg;
    uint32_t b1, b2;
    memcpy(&b1, &c->adam_beta1, 4);
    memcpy(&b2, &c->adam_beta2, 4);
    uint32_t v[FIXED_COUNT] = {(uint32_t)t->cfg.horizon,
                               c->algo == FPO_ALGO_FPO ? (uint32_t)t->cfg.n_mc : 0u,
                               (uint32_t)t->cfg.t_dist, (uint32_t)c->algo, (uint32_t)c->cfm_loss,
                               (uint32_t)c->ratio_mode, (uint32_t)c->aspo,
                               (uint32_t)c->normalize_advantages, b1, b2};
    memcpy(out, v, sizeof v);
}

static void trainer_serialize(fpo_trainer *t, wbuf *w, const unsigned char *pol, size_t npol)
{
    fpo_opt_state os;
    fpo_optimizer_state(t->opt, &os);
    put_bytes(w, TRAINER_MAGIC, 8);
    int adaptive = os.cfg->anchor_drift != 0.0f;
    int *nrows, width, max_rows;
    float corr;
    const float *noise =
        fpo_sampler_noise_state(t->sampler, &nrows, &width, &max_rows, &corr);
    int held = corr != 0.0f;
    put_u32(w, held ? 3u : adaptive ? 2u : 1u);
    put_u32(w, FPO_VERSION);
    put_u64(w, (uint64_t)npol);
    put_bytes(w, pol, npol);
    put_u64(w, (uint64_t)os.n);
    put_u64(w, (uint64_t)*os.step);
    for (size_t i = 0; i < os.n; i++)
        put_f32(w, os.m[i]);
    for (size_t i = 0; i < os.n; i++)
        put_f32(w, os.v[i]);
    put_rng(w, os.rng);
    put_rng(w, fpo_buffer_rng(t->buffer));
    put_rng(w, fpo_sampler_rng(t->sampler));
    /* Settings that are not tunables but must match for the run to continue
     * the same way: checked by restore. */
    uint32_t fixed[FIXED_COUNT];
    trainer_fixed_settings(t, fixed);
    for (int i = 0; i < FIXED_COUNT; i++)
        put_u32(w, fixed[i]);
    put_u32(w, (uint32_t)FPO_OPT_KEY_COUNT);
    for (int k = 0; k < FPO_OPT_KEY_COUNT; k++) {
        double v = 0;
        fpo_optimizer_get(t->opt, (fpo_opt_key)k, &v);
        put_f64(w, v);
    }
    int n;
    const uint64_t *ep = fpo_vecenv_episode_counters(t->env, &n);
    put_u32(w, (uint32_t)n);
    /* An instance whose episode ended on the last step has already been
     * reset for the next one; a restored trainer resets every instance
     * again, so save the counter it had before, and that reset replays the
     * same episode seed. */
    for (int i = 0; i < n; i++)
        put_u64(w, ep[i] - (t->iteration > 0 && !t->need_reset && (t->flags[i] & FPO_STEP_ENDED_)
                                ? 1u : 0u));
    put_u64(w, (uint64_t)t->iteration);
    put_u64(w, (uint64_t)t->env_steps);
    put_f64(w, t->recent_return);
    put_u32(w, (uint32_t)t->have_recent);
    if (held)
        put_u32(w, (adaptive ? TRAINER_SEC_ANCHOR : 0u) | TRAINER_SEC_NOISE);
    if (adaptive)
        fpo_flow_anchor_save(os.anchor, w);
    if (held) {
        put_u32(w, (uint32_t)*nrows);
        put_u32(w, (uint32_t)width);
        for (size_t i = 0; i < (size_t)*nrows * (size_t)width; i++)
            put_f32(w, noise[i]);
    }
    uint32_t crc = w->p && w->len <= w->cap ? crc32_update(0, w->p, w->len) : 0;
    put_u32(w, crc);
}

int fpo_trainer_save(fpo_trainer *t, const char *path)
{
    if (!t)
        return FPO_NULL_ARG("t");
    if (!path)
        return fpo_fail(&t->err, FPO_EINVAL, "path is NULL");
    size_t npol;
    fpo_policy_save_mem(t->policy, NULL, 0, &npol);
    unsigned char *pol = fpo_mem_calloc(&t->mem, npol, 1);
    if (!pol)
        return fpo_fail(&t->err, FPO_ENOMEM, "out of memory serializing the trainer");
    fpo_policy_save_mem(t->policy, pol, npol, &npol);
    wbuf w = {NULL, 0, 0};
    trainer_serialize(t, &w, pol, npol);
    unsigned char *buf = fpo_mem_calloc(&t->mem, w.len, 1);
    int rc;
    if (!buf) {
        rc = fpo_fail(&t->err, FPO_ENOMEM, "out of memory serializing the trainer");
    } else {
        wbuf w2 = {buf, w.len, 0};
        trainer_serialize(t, &w2, pol, npol);
        rc = fpo_write_file_atomic(path, buf, w2.len, &t->mem, &t->err);
    }
    fpo_mem_free(&t->mem, buf);
    fpo_mem_free(&t->mem, pol);
    return rc;
}

int fpo_trainer_restore(fpo_trainer *t, const char *path)
{
    if (!t)
        return FPO_NULL_ARG("t");
    if (!path)
        return fpo_fail(&t->err, FPO_EINVAL, "path is NULL");
    void *data;
    size_t n;
    int rc = fpo_read_file(path, &data, &n, &t->mem, &t->err);
    if (rc)
        return rc;
    const unsigned char *buf = data;
    fpo_policy *pol = NULL;
    float *m = NULL, *v = NULL;
    uint64_t *ep = NULL;
    fpo_opt_state os;
    fpo_optimizer_state(t->opt, &os);
    if (n < 16 || memcmp(buf, TRAINER_MAGIC, 8) != 0) {
        rc = fpo_fail(&t->err, FPO_EFORMAT, "%s is not a libfpo trainer checkpoint", path);
        goto out;
    }
    if (!fpo_crc_ok(buf, n)) {
        rc = fpo_fail(&t->err, FPO_EFORMAT, "%s: checksum mismatch (corrupted or truncated)", path);
        goto out;
    }
    rbuf r = {buf, n - 4, 8, 0};
    uint32_t format = get_u32(&r);
    if (format < 1 || format > TRAINER_FORMAT) {
        rc = fpo_fail(&t->err, FPO_EVERSION, "%s: unsupported trainer checkpoint format", path);
        goto out;
    }
    (void)get_u32(&r);
    uint64_t npol = get_u64(&r);
    if (r.bad || npol > r.len - r.pos) {
        rc = fpo_fail(&t->err, FPO_EFORMAT, "%s: truncated policy section", path);
        goto out;
    }
    fpo_allocator alloc = {sizeof alloc, t->mem.alloc, t->mem.free, t->mem.user};
    if ((rc = fpo_policy_load_mem(&pol, buf + r.pos, (size_t)npol, &alloc))) {
        fpo_fail(&t->err, rc, "%s: %s", path, fpo_last_errmsg());
        goto out;
    }
    r.pos += (size_t)npol;
    fpo_policy_config saved_pc, my_pc;
    fpo_policy_config_init(&saved_pc);
    fpo_policy_config_init(&my_pc);
    fpo_policy_get_config(pol, &saved_pc);
    fpo_policy_get_config(t->policy, &my_pc);
    if (saved_pc.chunk != my_pc.chunk || saved_pc.act_dim != my_pc.act_dim) {
        rc = fpo_fail(&t->err, FPO_EMISMATCH,
                      "%s holds a policy of %lld actions of %d per query, this trainer's has "
                      "%lld of %d", path, (long long)saved_pc.chunk, saved_pc.act_dim,
                      (long long)my_pc.chunk, my_pc.act_dim);
        goto out;
    }
    if (!fpo_policy_same_shape(pol, t->policy)) {
        rc = fpo_fail(&t->err, FPO_EMISMATCH,
                      "%s holds a policy of another shape than this trainer's", path);
        goto out;
    }
    uint64_t np = get_u64(&r);
    int64_t step = (int64_t)get_u64(&r);
    if (r.bad || np != os.n || (r.len - r.pos) / 8 < np) {
        rc = fpo_fail(&t->err, FPO_EMISMATCH, "%s: optimizer state does not fit", path);
        goto out;
    }
    m = fpo_mem_calloc(&t->mem, os.n, sizeof(float));
    v = fpo_mem_calloc(&t->mem, os.n, sizeof(float));
    if (!m || !v) {
        rc = fpo_fail(&t->err, FPO_ENOMEM, "out of memory restoring %s", path);
        goto out;
    }
    for (size_t i = 0; i < os.n; i++)
        m[i] = get_f32(&r);
    for (size_t i = 0; i < os.n; i++)
        v[i] = get_f32(&r);
    fpo_rng rng_o, rng_b, rng_s;
    get_rng(&r, &rng_o);
    get_rng(&r, &rng_b);
    get_rng(&r, &rng_s);
    uint32_t fixed[FIXED_COUNT], mine[FIXED_COUNT];
    trainer_fixed_settings(t, mine);
    for (int i = 0; i < FIXED_COUNT; i++)
        fixed[i] = get_u32(&r);
    if (r.bad) {
        rc = fpo_fail(&t->err, FPO_EFORMAT, "%s: truncated settings section", path);
        goto out;
    }
    for (int i = 0; i < FIXED_COUNT; i++)
        if (fixed[i] != mine[i]) {
            rc = fpo_fail(&t->err, FPO_EMISMATCH,
                          "%s was saved with another %s than this trainer's", path, fixed_names[i]);
            goto out;
        }
    uint32_t nkeys = get_u32(&r);
    double keys[FPO_OPT_KEY_COUNT];
    if (r.bad || nkeys > 4096) {
        rc = fpo_fail(&t->err, FPO_EFORMAT, "%s: truncated optimizer section", path);
        goto out;
    }
    for (uint32_t k = 0; k < nkeys; k++) {
        double x = get_f64(&r);
        if (k < FPO_OPT_KEY_COUNT)
            keys[k] = x;
    }
    int ne;
    uint64_t *cur = fpo_vecenv_episode_counters(t->env, &ne);
    uint32_t nenv = get_u32(&r);
    if (r.bad || nenv != (uint32_t)ne) {
        rc = fpo_fail(&t->err, FPO_EMISMATCH, "%s: saved with %u environments, this trainer has %d",
                      path, nenv, ne);
        goto out;
    }
    ep = fpo_mem_calloc(&t->mem, (size_t)ne, sizeof(uint64_t));
    if (!ep) {
        rc = fpo_fail(&t->err, FPO_ENOMEM, "out of memory restoring %s", path);
        goto out;
    }
    for (int i = 0; i < ne; i++)
        ep[i] = get_u64(&r);
    int64_t iteration = (int64_t)get_u64(&r), env_steps = (int64_t)get_u64(&r);
    double recent = get_f64(&r);
    uint32_t have_recent = get_u32(&r);
    fpo_anchor_state anchor;
    memset(&anchor, 0, sizeof anchor);
    uint32_t sections = format == 2 ? TRAINER_SEC_ANCHOR : format >= 3 ? get_u32(&r) : 0u;
    int anchor_bad = sections & TRAINER_SEC_ANCHOR ? fpo_flow_anchor_load(&r, &anchor) : 0;
    /* The rows' correlated noise: read where it is, checked against this
     * trainer's sampler; used if this trainer's sampler carries noise over. */
    int *nrows, width, max_rows;
    float corr;
    float *noise = fpo_sampler_noise_state(t->sampler, &nrows, &width, &max_rows, &corr);
    uint32_t saved_rows = 0, saved_width = 0;
    size_t noise_at = 0;
    if (sections & TRAINER_SEC_NOISE) {
        saved_rows = get_u32(&r);
        saved_width = get_u32(&r);
        noise_at = r.pos;
        if (!r.bad && (saved_rows > (uint32_t)max_rows || saved_width != (uint32_t)width)) {
            rc = fpo_fail(&t->err, FPO_EMISMATCH,
                          "%s: its rollout noise is %u rows of %u, this trainer's sampler has "
                          "up to %d rows of %d", path, saved_rows, saved_width, max_rows, width);
            goto out;
        }
        for (size_t i = 0; !r.bad && i < (size_t)saved_rows * saved_width; i++)
            if (!isfinite(get_f32(&r)))
                r.bad = 1;
    }
    if (r.bad || r.pos != r.len || anchor_bad || (sections & ~3u) || !fpo_all_finite(m, os.n) ||
        !fpo_all_finite(v, os.n)) {
        rc = fpo_fail(&t->err, FPO_EFORMAT, "%s: malformed trainer state", path);
        goto out;
    }
    /* Everything parsed and checked: apply it. Tunables first, since a
     * value out of range must leave the trainer as it was. */
    double before[FPO_OPT_KEY_COUNT];
    for (int k = 0; k < FPO_OPT_KEY_COUNT; k++)
        fpo_optimizer_get(t->opt, (fpo_opt_key)k, &before[k]);
    for (uint32_t k = 0; k < nkeys && k < FPO_OPT_KEY_COUNT; k++)
        if ((rc = fpo_optimizer_set(t->opt, (fpo_opt_key)k, keys[k]))) {
            for (int j = 0; j < FPO_OPT_KEY_COUNT; j++)
                fpo_optimizer_set(t->opt, (fpo_opt_key)j, before[j]);
            fpo_fail(&t->err, rc, "%s: %s", path, fpo_optimizer_errmsg(t->opt));
            goto out;
        }
    fpo_policy_copy_state(t->policy, pol);
    memcpy(os.m, m, os.n * sizeof(float));
    memcpy(os.v, v, os.n * sizeof(float));
    *os.step = step;
    *os.anchor = anchor;
    *os.rng = rng_o;
    *fpo_buffer_rng(t->buffer) = rng_b;
    *fpo_sampler_rng(t->sampler) = rng_s;
    /* The rows' noise: the file's when this trainer carries noise over and
     * the file has it, else afresh (a run saved without it, or one resumed
     * with another noise_corr: not a fixed setting). */
    *nrows = 0;
    if (corr != 0.0f && (sections & TRAINER_SEC_NOISE)) {
        rbuf rn = {buf, n - 4, noise_at, 0};
        for (size_t i = 0; i < (size_t)saved_rows * saved_width; i++)
            noise[i] = get_f32(&rn);
        *nrows = (int)saved_rows;
    }
    memcpy(cur, ep, (size_t)ne * sizeof(uint64_t));
    t->iteration = iteration;
    t->env_steps = env_steps;
    t->recent_return = recent;
    t->have_recent = (int)have_recent;
    t->need_reset = 1; /* the host's simulators restart their episodes */
    /* The guard's state is not in the file: it starts afresh from here. */
    fpo_guard_reset(&t->guard, t->policy, t->opt, t->iteration);
    rc = FPO_OK;
out:
    fpo_policy_destroy(pol);
    fpo_mem_free(&t->mem, m);
    fpo_mem_free(&t->mem, v);
    fpo_mem_free(&t->mem, ep);
    fpo_mem_free(&t->mem, data);
    return rc;
}
