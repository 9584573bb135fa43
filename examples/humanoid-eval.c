/* humanoid-eval: evaluate a saved policy (policy.fpo from fpo-train) on
 * humanoid-root-goal with the task's metrics: success rate, alive steps,
 * final goal distance, goals reached per episode and, for first goals
 * behind the humanoid, which way it turned.
 *
 * Episodes: episode i (0-based) of a run with --seed S resets the task with
 * seed humanoid_eval_episode_seed(S, i) below, so the set of episodes
 * depends only on S and i. Each worker thread owns one task instance and one
 * sampler and takes the next episode index when its episode ends; a sampler
 * is reseeded at the start of every episode (sampled mode), and records are
 * kept by episode index. The numbers therefore do not depend on --threads.
 *
 * Actions: by default the policy's own deployment sampler settings
 * (fpo_policy_get_sampler_defaults; what fpo-train saves: the flow integrated
 * from zero initial noise, the Gaussian's mean), with the noise forced off
 * (deterministic). --sampled draws actions instead: the flow from random
 * initial noise, the Gaussian with its std. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpo/fpo.h>

#include "tasks/mujoco/humanoid.h"
#include "tasks/task.h"

#define PROG "humanoid-eval"
#define MAX_EPISODES 1000000
#define MAX_THREADS 64

/* Reset seed of episode i for --seed S (documented in the usage text). */
static uint64_t humanoid_eval_episode_seed(uint64_t seed, long long i)
{
    return seed * 1000003ull + (uint64_t)i;
}

/* Sampler seed of episode i (sampled mode). */
static uint64_t humanoid_eval_noise_seed(uint64_t seed, long long i)
{
    return humanoid_eval_episode_seed(seed, i) ^ 0x9e3779b97f4a7c15ull;
}

typedef struct opts {
    const char *policy, *model_dir, *episodes_csv, *task;
    long long episodes;
    uint64_t seed;
    int threads, sampled, json, csv, quiet;
} opts;

typedef struct shared {
    const opts *o;
    const task_info *task;
    void *user;
    const fpo_policy *p;
    fpo_sampler_config sc;
    humanoid_episode *rec;   /* per episode index */
    long long next;          /* next episode index to run */
    pthread_mutex_t lock;
    int failed;
    char err[512];
} shared;

typedef struct worker {
    shared *S;
    int index;
    void *env;
    fpo_sampler *sampler;
} worker;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [options] POLICY\n"
            "\n"
            "Evaluates POLICY (a policy.fpo written by fpo-train --task humanoid-root-goal)\n"
            "on humanoid-root-goal and prints success rate, mean alive steps, mean final goal\n"
            "distance, goals reached per episode and the left/right/no-turn histogram of\n"
            "first goals behind the humanoid.\n"
            "\n"
            "  --task NAME      humanoid-root-goal (default; torques) or humanoid-root-goal-pd\n"
            "                   (PD position targets): the task POLICY was trained on\n"
            "  --episodes N     episodes (default 100)\n"
            "  --seed S         episode i resets with seed S*1000003+i (default 1)\n"
            "  --sampled        sampled actions (flow: random initial noise; Gaussian: with its\n"
            "                   std) instead of the deterministic default (the policy's own\n"
            "                   sampler defaults without noise: flow from zero noise, Gaussian mean)\n"
            "  --threads T      worker threads (default 1; the numbers do not depend on it)\n"
            "  --model-dir DIR  directory holding humanoid.xml (default: libmujoco-samples')\n"
            "  --json           print one JSON object on one line instead of the text report\n"
            "  --csv            print a CSV header line and one data line instead\n"
            "  --episodes-csv FILE  also write one CSV line per episode to FILE\n"
            "  --help\n"
            "\n"
            "Exit status: 0 ok, 1 the evaluation failed (unreadable policy, a policy that\n"
            "does not fit the task, simulation error), 2 bad command line.\n");
}

static int num_ll(const char *flag, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, PROG ": --%s wants an integer in [%lld, %lld], got '%s'\n", flag, lo, hi,
                s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Run episode i on worker w; the record goes to S->rec[i]. */
static int run_episode(worker *w, long long i, char *err, size_t errlen)
{
    shared *S = w->S;
    const fpo_env_table *tab = S->task->table;
    float obs[HUMANOID_OBS_DIM], act[HUMANOID_ACT_DIM], rew;
    unsigned flags = 0;
    int rc;
    if (S->o->sampled && (rc = fpo_sampler_reseed(w->sampler, humanoid_eval_noise_seed(S->o->seed, i)))) {
        snprintf(err, errlen, "sampler: %s", fpo_sampler_errmsg(w->sampler));
        return 1;
    }
    if ((rc = tab->reset(S->user, w->env, humanoid_eval_episode_seed(S->o->seed, i), obs))) {
        snprintf(err, errlen, "episode %lld: reset failed (code %d)", i, rc);
        return 1;
    }
    for (int t = 0; !flags; t++) {
        if (t > HUMANOID_MAX_STEPS) {
            snprintf(err, errlen, "episode %lld did not end after %d steps", i, t);
            return 1;
        }
        if ((rc = fpo_sampler_act(w->sampler, S->p, obs, 1, act, NULL))) {
            snprintf(err, errlen, "episode %lld, step %d: %s", i, t,
                     fpo_sampler_errmsg(w->sampler));
            return 1;
        }
        if ((rc = tab->step(S->user, w->env, act, obs, &rew, &flags))) {
            snprintf(err, errlen, "episode %lld, step %d: step failed (code %d)", i, t, rc);
            return 1;
        }
    }
    if (humanoid_env_episode(w->env, 1, &S->rec[i]) != 0) {
        snprintf(err, errlen, "episode %lld: no record", i);
        return 1;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    shared *S = w->S;
    char err[512];
    for (;;) {
        pthread_mutex_lock(&S->lock);
        long long i = S->failed ? S->o->episodes : S->next++;
        pthread_mutex_unlock(&S->lock);
        if (i >= S->o->episodes)
            break;
        if (run_episode(w, i, err, sizeof err)) {
            pthread_mutex_lock(&S->lock);
            if (!S->failed) {
                S->failed = 1;
                snprintf(S->err, sizeof S->err, "%s", err);
            }
            pthread_mutex_unlock(&S->lock);
            break;
        }
    }
    return NULL;
}

/* Everything a report prints, from the per-episode records. */
typedef struct report {
    humanoid_summary s;
    long long walk_successes, stand_successes;
    long long behind_goals, turns_left, turns_right; /* all behind goals */
    double ret;                                      /* sum of returns */
    long long steps;                                 /* sum of episode lengths */
} report;

static void report_build(report *r, const humanoid_episode *rec, long long n)
{
    memset(r, 0, sizeof *r);
    humanoid_summary_init(&r->s);
    for (long long i = 0; i < n; i++) {
        const humanoid_episode *e = &rec[i];
        humanoid_summary_add(&r->s, e);
        int ok = humanoid_episode_success(e);
        if (e->stand)
            r->stand_successes += ok;
        else
            r->walk_successes += ok;
        r->behind_goals += e->behind_goals;
        r->turns_left += e->turns_left;
        r->turns_right += e->turns_right;
        r->ret += e->ret;
        r->steps += e->steps;
    }
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(f, "\\u%04x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

/* A number for JSON (null when not finite) or CSV (empty). */
static void num_out(FILE *f, double v, int json)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else if (json)
        fputs("null", f);
}

static const char *const FIELDS[] = {
    "policy", "kind", "mode", "episodes", "seed", "success_rate", "successes",
    "walk_episodes", "walk_successes", "stand_episodes", "stand_successes",
    "mean_alive_steps", "mean_final_distance", "goals_per_episode", "goals_reached",
    "mean_return", "mean_length", "behind", "left", "right", "no_turn", "left_fraction",
    "behind_goals_all", "turns_left_all", "turns_right_all"};
#define NFIELDS ((int)(sizeof FIELDS / sizeof FIELDS[0]))

static void print_machine(const opts *o, const char *kind, const report *r, int json)
{
    const humanoid_summary *s = &r->s;
    double n = (double)s->episodes;
    if (!json) {
        for (int k = 0; k < NFIELDS; k++)
            printf("%s%s", k ? "," : "", FIELDS[k]);
        putchar('\n');
    }
    for (int k = 0; k < NFIELDS; k++) {
        if (json)
            printf("%s\"%s\":", k ? "," : "{", FIELDS[k]);
        else if (k)
            putchar(',');
        switch (k) {
        case 0:
            if (json)
                json_string(stdout, o->policy);
            else {
                /* CSV: quote, doubling quotes */
                putchar('"');
                for (const char *c = o->policy; *c; c++) {
                    if (*c == '"')
                        putchar('"');
                    putchar(*c);
                }
                putchar('"');
            }
            break;
        case 1: printf(json ? "\"%s\"" : "%s", kind); break;
        case 2: printf(json ? "\"%s\"" : "%s", o->sampled ? "sampled" : "deterministic"); break;
        case 3: printf("%lld", s->episodes); break;
        case 4: printf("%llu", (unsigned long long)o->seed); break;
        case 5: num_out(stdout, humanoid_summary_success_rate(s), json); break;
        case 6: printf("%lld", s->successes); break;
        case 7: printf("%lld", s->walk_episodes); break;
        case 8: printf("%lld", r->walk_successes); break;
        case 9: printf("%lld", s->stand_episodes); break;
        case 10: printf("%lld", r->stand_successes); break;
        case 11: num_out(stdout, humanoid_summary_mean_alive(s), json); break;
        case 12: num_out(stdout, humanoid_summary_mean_distance(s), json); break;
        case 13: num_out(stdout, n > 0 ? (double)s->goals_reached / n : NAN, json); break;
        case 14: printf("%lld", s->goals_reached); break;
        case 15: num_out(stdout, n > 0 ? r->ret / n : NAN, json); break;
        case 16: num_out(stdout, n > 0 ? (double)r->steps / n : NAN, json); break;
        case 17: printf("%lld", s->behind); break;
        case 18: printf("%lld", s->left); break;
        case 19: printf("%lld", s->right); break;
        case 20: printf("%lld", s->no_turn); break;
        case 21: num_out(stdout, humanoid_summary_left_fraction(s), json); break;
        case 22: printf("%lld", r->behind_goals); break;
        case 23: printf("%lld", r->turns_left); break;
        case 24: printf("%lld", r->turns_right); break;
        }
    }
    puts(json ? "}" : "");
}

static double pct(long long a, long long b)
{
    return b > 0 ? 100.0 * (double)a / (double)b : NAN;
}

static void print_text(const opts *o, const char *kind, const fpo_sampler_config *sc,
                       const report *r)
{
    const humanoid_summary *s = &r->s;
    static const char *const integ[] = {"Euler", "Heun", "midpoint"};
    printf("%s on %s: %s policy, %lld episodes, seed %llu, %s actions", o->policy, o->task, kind,
           s->episodes, (unsigned long long)o->seed, o->sampled ? "sampled" : "deterministic");
    if (!strcmp(kind, "flow"))
        printf(" (%s initial noise, %s %d steps)", o->sampled ? "random" : "zero",
               (unsigned)sc->integrator < 3 ? integ[sc->integrator] : "?", sc->steps);
    else
        printf(" (%s)", o->sampled ? "mean + std * noise" : "the mean");
    printf("\n");
    printf("  success rate          %.1f%% (%lld/%lld; walking %lld/%lld, standing %lld/%lld)\n",
           100.0 * humanoid_summary_success_rate(s), s->successes, s->episodes,
           r->walk_successes, s->walk_episodes, r->stand_successes, s->stand_episodes);
    printf("  alive steps           %.1f mean (of %d)\n", humanoid_summary_mean_alive(s),
           HUMANOID_MAX_STEPS);
    printf("  final goal distance   %.2f m mean over %lld walking episodes\n",
           humanoid_summary_mean_distance(s), s->walk_episodes);
    printf("  goals per episode     %.3f (%lld goals)\n",
           s->episodes ? (double)s->goals_reached / (double)s->episodes : NAN, s->goals_reached);
    printf("  return                %.2f mean, length %.1f mean\n",
           s->episodes ? r->ret / (double)s->episodes : NAN,
           s->episodes ? (double)r->steps / (double)s->episodes : NAN);
    printf("  first goal behind     %lld episodes: left %lld (%.0f%%), right %lld (%.0f%%), "
           "no turn %lld (%.0f%%)\n",
           s->behind, s->left, pct(s->left, s->behind), s->right, pct(s->right, s->behind),
           s->no_turn, pct(s->no_turn, s->behind));
    printf("  all goals behind      %lld: left %lld, right %lld, no turn %lld\n", r->behind_goals,
           r->turns_left, r->turns_right, r->behind_goals - r->turns_left - r->turns_right);
}

static int write_episodes_csv(const char *path, const opts *o, const humanoid_episode *rec,
                              long long n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(f, "episode,reset_seed,steps,alive_steps,terminated,truncated,goals_reached,return,"
               "stand,speed_cmd,initial_distance,initial_bearing,final_distance,drift,behind,"
               "turn,turn_steps,turn_angle,behind_goals,turns_left,turns_right,success\n");
    for (long long i = 0; i < n; i++) {
        const humanoid_episode *e = &rec[i];
        fprintf(f, "%lld,%llu,%d,%d,%d,%d,%d,%.9g,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%d,%d,%d,%.9g,%d,%d,%d,%d\n",
                i, (unsigned long long)humanoid_eval_episode_seed(o->seed, i), e->steps,
                e->alive_steps, e->terminated, e->truncated, e->goals_reached, e->ret, e->stand,
                e->speed_cmd, e->initial_distance, e->initial_bearing, e->final_distance,
                e->drift, e->behind, e->turn, e->turn_steps, e->turn_angle, e->behind_goals,
                e->turns_left, e->turns_right, humanoid_episode_success(e));
    }
    if (fclose(f) != 0) {
        fprintf(stderr, PROG ": writing %s failed: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    o.episodes = 100;
    o.seed = 1;
    o.threads = 1;
    o.task = "humanoid-root-goal";
    enum { O_EPISODES = 256, O_SEED, O_SAMPLED, O_THREADS, O_MDIR, O_JSON, O_CSV, O_EPCSV,
           O_TASK, O_HELP };
    static const struct option lo[] = {
        {"episodes", 1, 0, O_EPISODES}, {"seed", 1, 0, O_SEED},
        {"sampled", 0, 0, O_SAMPLED},   {"threads", 1, 0, O_THREADS},
        {"model-dir", 1, 0, O_MDIR},    {"json", 0, 0, O_JSON},
        {"csv", 0, 0, O_CSV},           {"episodes-csv", 1, 0, O_EPCSV},
        {"task", 1, 0, O_TASK},         {"help", 0, 0, O_HELP},
        {0, 0, 0, 0}};
    int c;
    long long v;
    opterr = 0; /* our own messages */
    while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
        switch (c) {
        case O_EPISODES:
            if (num_ll("episodes", optarg, 1, MAX_EPISODES, &o.episodes))
                return 2;
            break;
        case O_SEED:
            if (num_ll("seed", optarg, 0, LLONG_MAX, &v))
                return 2;
            o.seed = (uint64_t)v;
            break;
        case O_SAMPLED: o.sampled = 1; break;
        case O_THREADS:
            if (num_ll("threads", optarg, 1, MAX_THREADS, &v))
                return 2;
            o.threads = (int)v;
            break;
        case O_MDIR: o.model_dir = optarg; break;
        case O_JSON: o.json = 1; break;
        case O_CSV: o.csv = 1; break;
        case O_EPCSV: o.episodes_csv = optarg; break;
        case O_TASK:
            if (strcmp(optarg, "humanoid-root-goal") && strcmp(optarg, "humanoid-root-goal-pd")) {
                fprintf(stderr, PROG ": --task wants humanoid-root-goal or humanoid-root-goal-pd, "
                                     "got '%s'\n", optarg);
                return 2;
            }
            o.task = optarg;
            break;
        case O_HELP: usage(stdout); return 0;
        case ':':
            fprintf(stderr, PROG ": %s needs a value (see --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, PROG ": unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, optind >= argc ? PROG ": no policy file given (see --help)\n"
                                       : PROG ": exactly one policy file expected (see --help)\n");
        return 2;
    }
    if (o.json && o.csv) {
        fprintf(stderr, PROG ": --json and --csv exclude each other\n");
        return 2;
    }
    o.policy = argv[optind];
    if (o.threads > o.episodes)
        o.threads = (int)o.episodes;

    fpo_policy *p = NULL;
    if (fpo_policy_load(&p, o.policy, NULL)) {
        fprintf(stderr, PROG ": cannot load the policy: %s\n", fpo_last_errmsg());
        return 1;
    }
    fpo_policy_info info = {sizeof info};
    fpo_policy_get_info(p, &info);
    const char *kind = info.kind == FPO_POLICY_FLOW ? "flow" : "Gaussian";
    if (info.obs_dim != HUMANOID_OBS_DIM || info.act_dim != HUMANOID_ACT_DIM) {
        fprintf(stderr,
                PROG ": %s is a policy with %d observations and %d actions; humanoid-root-goal "
                     "has %d and %d\n",
                o.policy, info.obs_dim, info.act_dim, HUMANOID_OBS_DIM, HUMANOID_ACT_DIM);
        fpo_policy_destroy(p);
        return 1;
    }
    fpo_policy_config pcfg;
    fpo_policy_config_init(&pcfg);
    fpo_policy_get_config(p, &pcfg);
    if (pcfg.chunk > 1) {
        fprintf(stderr, PROG ": %s emits action chunks (%lld actions per query), which this "
                        "program does not evaluate\n", o.policy, (long long)pcfg.chunk);
        fpo_policy_destroy(p);
        return 1;
    }
    const task_info *task = task_find(o.task);
    if (!task) {
        fprintf(stderr, PROG ": this build has no %s task\n", o.task);
        fpo_policy_destroy(p);
        return 1;
    }
    shared S;
    memset(&S, 0, sizeof S);
    S.o = &o;
    S.task = task;
    S.p = p;
    char err[512] = "";
    if (task->open(&S.user, o.model_dir, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": cannot open %s: %s\n", o.task, err);
        fpo_policy_destroy(p);
        return 1;
    }
    fpo_sampler_config_init(&S.sc);
    fpo_policy_get_sampler_defaults(p, &S.sc);
    if (o.sampled) {
        S.sc.deterministic = 0;
        S.sc.init_noise = FPO_NOISE_RANDOM;
    } else {
        S.sc.deterministic = 1; /* flow: zero noise, no SDE noise; Gaussian: the mean */
        S.sc.init_noise = FPO_NOISE_ZERO;
        S.sc.sde_noise = 0.0f;
    }
    S.sc.max_batch = 1;
    S.rec = calloc((size_t)o.episodes, sizeof *S.rec);
    worker *W = calloc((size_t)o.threads, sizeof *W);
    pthread_t *tid = calloc((size_t)o.threads, sizeof *tid);
    int status = 0, started = 0;
    pthread_mutex_init(&S.lock, NULL);
    if (!S.rec || !W || !tid) {
        fprintf(stderr, PROG ": out of memory\n");
        status = 1;
        goto out;
    }
    for (int k = 0; k < o.threads; k++) {
        W[k].S = &S;
        W[k].index = k;
        int rc = task->table->create(S.user, k, &W[k].env);
        if (rc) {
            fprintf(stderr, PROG ": cannot create a task instance (code %d)\n", rc);
            status = 1;
            goto out;
        }
        S.sc.seed = humanoid_eval_noise_seed(o.seed, k);
        if ((rc = fpo_sampler_create(&W[k].sampler, p, &S.sc))) {
            fprintf(stderr, PROG ": cannot create a sampler: %s: %s\n", fpo_strerror(rc),
                    fpo_last_errmsg());
            status = 1;
            goto out;
        }
    }
    for (int k = 1; k < o.threads; k++) {
        if (pthread_create(&tid[k], NULL, worker_main, &W[k]) != 0) {
            pthread_mutex_lock(&S.lock);
            S.failed = 1;
            snprintf(S.err, sizeof S.err, "cannot start a thread");
            pthread_mutex_unlock(&S.lock);
            break;
        }
        started = k;
    }
    worker_main(&W[0]);
    for (int k = 1; k <= started; k++)
        pthread_join(tid[k], NULL);
    if (S.failed) {
        fprintf(stderr, PROG ": evaluation failed: %s\n", S.err);
        status = 1;
        goto out;
    }
    report r;
    report_build(&r, S.rec, o.episodes);
    if (o.json || o.csv)
        print_machine(&o, kind, &r, o.json);
    else
        print_text(&o, kind, &S.sc, &r);
    if (fflush(stdout) != 0) {
        fprintf(stderr, PROG ": writing the report failed: %s\n", strerror(errno));
        status = 1;
    }
    if (o.episodes_csv && write_episodes_csv(o.episodes_csv, &o, S.rec, o.episodes))
        status = 1;
out:
    if (W)
        for (int k = 0; k < o.threads; k++) {
            fpo_sampler_destroy(W[k].sampler);
            if (W[k].env)
                task->table->destroy(S.user, W[k].env);
        }
    pthread_mutex_destroy(&S.lock);
    free(W);
    free(tid);
    free(S.rec);
    task->close(S.user);
    fpo_policy_destroy(p);
    return status;
}
