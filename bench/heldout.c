/* Two held-out tasks, trained the way a new user would: the installed API
 * only, every setting from the fpo_*_config_init functions.
 *
 *   reach    2-D point, velocity actions in [-1, 1]^2 (tanh), start and goal
 *            uniform in [-1, 1]^2, reward 1 and termination within 0.1 of
 *            the goal, 100 steps at most: a sparse reward.
 *   twogoal  the same point starting near the origin; goals at (-0.8, 0) and
 *            (0.8, 0), either one pays 1 and ends the episode: two equally
 *            good answers.
 *
 * The episode return is the success (0 or 1), so the trainer's running mean
 * return is the success rate.
 *
 *   heldout TASK SEED STEPS [old]
 *
 * "old" trains with the library defaults before docs/stability.md (16 epochs
 * x 32 minibatches, the averaged ratio, no ASPO, no anchor, no spike guard,
 * no collapse guard). Prints one line per 20 iterations and a summary line:
 * best and final success rate, the CFM loss's first value and peak, and
 * fpo_trainer_run's return code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpo/fpo.h>

typedef struct pt {
    float x, y, gx, gy;
    int t, two;
    uint64_t s;
} pt;

typedef struct shared {
    int two;
} shared;

static float unif(uint64_t *s) /* splitmix64 -> [0, 1) */
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) / 16777216.0f;
}

static int pt_create(void *user, int index, void **env)
{
    (void)index;
    pt *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->two = ((shared *)user)->two;
    *env = p;
    return 0;
}

static void pt_destroy(void *user, void *env)
{
    (void)user;
    free(env);
}

static void pt_obs(const pt *p, float *obs)
{
    obs[0] = p->x;
    obs[1] = p->y;
    obs[2] = p->two ? 0.0f : p->gx;
    obs[3] = p->two ? 0.0f : p->gy;
}

static int pt_reset(void *user, void *env, uint64_t seed, float *obs)
{
    (void)user;
    pt *p = env;
    p->s = seed;
    float sc = p->two ? 0.1f : 1.0f;
    p->x = sc * (2.0f * unif(&p->s) - 1.0f);
    p->y = sc * (2.0f * unif(&p->s) - 1.0f);
    p->gx = 2.0f * unif(&p->s) - 1.0f;
    p->gy = 2.0f * unif(&p->s) - 1.0f;
    p->t = 0;
    pt_obs(p, obs);
    return 0;
}

static int pt_step(void *user, void *env, const float *a, float *obs, float *r, unsigned *fl)
{
    (void)user;
    pt *p = env;
    p->x = fminf(1.0f, fmaxf(-1.0f, p->x + 0.05f * a[0]));
    p->y = fminf(1.0f, fmaxf(-1.0f, p->y + 0.05f * a[1]));
    p->t++;
    int hit;
    if (p->two)
        hit = hypotf(p->x - 0.8f, p->y) < 0.1f || hypotf(p->x + 0.8f, p->y) < 0.1f;
    else
        hit = hypotf(p->x - p->gx, p->y - p->gy) < 0.1f;
    *r = hit ? 1.0f : 0.0f;
    *fl = hit ? FPO_STEP_TERMINATED : (p->t >= 100 ? FPO_STEP_TRUNCATED : 0);
    pt_obs(p, obs);
    return 0;
}

static const fpo_env_table table = {sizeof(fpo_env_table), FPO_ENV_TABLE_VERSION, 4, 2, NULL,
                                    NULL, pt_create, pt_reset, pt_step, pt_destroy};

typedef struct run {
    double best, last, cfm0, cfm_peak;
    int have;
} run;

static int progress(void *user, const fpo_progress *pr)
{
    run *r = user;
    double ret = pr->mean_return;
    if (isfinite(ret)) {
        r->best = r->have ? fmax(r->best, ret) : ret;
        r->last = ret;
        r->have = 1;
    }
    double c = pr->update->cfm_loss;
    if (pr->iteration == 1)
        r->cfm0 = c;
    r->cfm_peak = fmax(r->cfm_peak, c);
    if (pr->iteration % 20 == 0)
        printf("%lld %.4f %.4f %lld\n", (long long)pr->env_steps, ret, c,
               (long long)pr->update->rollbacks);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: heldout reach|twogoal SEED STEPS [old]\n");
        return 2;
    }
    shared sh = {strcmp(argv[1], "twogoal") == 0};
    int old = argc > 4 && strcmp(argv[4], "old") == 0;
    run r;
    memset(&r, 0, sizeof r);
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &table;
    tc.env_user = &sh;
    tc.seed = strtoull(argv[2], NULL, 10);
    tc.progress = progress;
    tc.progress_user = &r;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    if (old) { /* the library's defaults before docs/stability.md */
        oc.epochs = 16;
        oc.minibatches = 32;
        oc.ratio_mode = FPO_RATIO_AVERAGED;
        oc.aspo = 0;
        oc.anchor_coef = 0.0f;
        oc.spike_clip = 0.0f;
        tc.guard = -1;
    }
    tc.optimizer = &oc;
    tc.policy = &pc;
    fpo_trainer *t;
    int rc = fpo_trainer_create(&t, &tc);
    if (rc) {
        fprintf(stderr, "heldout: %s: %s\n", fpo_strerror(rc), fpo_last_errmsg());
        return 1;
    }
    rc = fpo_trainer_run(t, strtoll(argv[3], NULL, 10));
    printf("summary task=%s seed=%s defaults=%s best=%.3f final=%.3f cfm_first=%.3f "
           "cfm_peak=%.3f rc=%d%s%s\n",
           argv[1], argv[2], old ? "old" : "new", r.best, r.last, r.cfm0, r.cfm_peak, rc,
           rc ? " " : "", rc ? fpo_trainer_errmsg(t) : "");
    fpo_trainer_destroy(t);
    return 0;
}
