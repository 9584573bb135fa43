/* gridworld-demo: the paper's clearest finding, reproduced. Trains a flow
 * policy (FPO) and a Gaussian policy (PPO) on GridWorld, then starts 100
 * sampled episodes from each saddle cell, (12,12) and (17,12), counts which
 * goal band they reach, reports the Gaussian policy's mean action there,
 * and draws trajectories and action samples side by side as SVG. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpo/fpo.h>

#include "svg.h"
#include "task_config.h"
#include "tasks/gridworld.h"

#define EPISODES 100
#define DRAWN 25   /* trajectories drawn per start */
#define SAMPLES 400 /* action samples drawn at the saddle */

static const int starts[2][2] = {{12, 12}, {17, 12}};

typedef struct traj {
    int n;
    int x[GRIDWORLD_MAX_STEPS + 1], y[GRIDWORLD_MAX_STEPS + 1];
} traj;

typedef struct result {
    const char *name;
    int band[2][3];            /* per start: none, bottom, top */
    traj drawn[2][DRAWN];
    float act[SAMPLES][2];     /* action samples at (12,12) */
    float mean_act[2][2];      /* deterministic action at each start */
} result;

typedef struct timing {
    double rollout, update, elapsed, last_return;
    long long steps;
    int quiet;
    double last_print;
    /* Saddle checks during training (--eval-every): */
    fpo_trainer *trainer;
    long long eval_every, next_eval;
    uint64_t eval_seed;
    int checks, passed;
} timing;

static int evaluate(const fpo_policy *p, result *r, uint64_t seed);
static int passes(const result *r);

static int on_progress(void *user, const fpo_progress *p)
{
    timing *t = user;
    t->rollout += p->rollout_seconds;
    t->update += p->update_seconds;
    t->elapsed = p->elapsed_seconds;
    t->steps = p->env_steps;
    t->last_return = p->mean_return;
    if (t->trainer && t->eval_every > 0 && p->env_steps >= t->next_eval) {
        t->next_eval += t->eval_every;
        static result r; /* large; the callback runs on one thread */
        if (evaluate(fpo_trainer_policy(t->trainer), &r, t->eval_seed) == 0) {
            int ok = passes(&r);
            t->checks++;
            t->passed += ok;
            printf("  check at %7lld steps: from (12,12) top %3d%% bottom %3d%%, from (17,12) "
                   "top %3d%% bottom %3d%%  %s\n",
                   (long long)p->env_steps, r.band[0][GRIDWORLD_BAND_TOP],
                   r.band[0][GRIDWORLD_BAND_BOTTOM], r.band[1][GRIDWORLD_BAND_TOP],
                   r.band[1][GRIDWORLD_BAND_BOTTOM], ok ? "both bands" : "-");
            fflush(stdout);
        }
    }
    if (!t->quiet && (p->elapsed_seconds - t->last_print > 2.0 || p->env_steps >= p->total_steps)) {
        t->last_print = p->elapsed_seconds;
        printf("  %7lld/%lld steps  %6.0f steps/s  return %6.2f\n", (long long)p->env_steps,
               (long long)p->total_steps, p->env_steps / p->elapsed_seconds, p->mean_return);
        fflush(stdout);
    }
    return 0;
}

static int train(fpo_algo algo, long long steps, uint64_t seed, int threads, void *user,
                 fpo_policy **out, timing *tm)
{
    fpo_policy_config pc;
    fpo_optimizer_config oc;
    fpo_trainer_config tc;
    task_default_configs(&task_gridworld, TASK_PRESET_CPU, algo, &pc, &oc, &tc);
    tc.env_user = user;
    tc.threads = threads;
    tc.seed = seed;
    tc.policy = &pc;
    tc.optimizer = &oc;
    tc.progress = on_progress;
    tc.progress_user = tm;
    fpo_trainer *t;
    int rc = fpo_trainer_create(&t, &tc);
    if (rc)
        return rc;
    if (algo == FPO_ALGO_FPO)
        tm->trainer = t;
    rc = fpo_trainer_run(t, steps);
    tm->trainer = NULL;
    if (rc == 0)
        rc = fpo_policy_clone(out, fpo_trainer_policy(t));
    fpo_trainer_destroy(t);
    return rc;
}

/* The criterion: from both saddle starts, each band >= 20% of the
 * episodes and timeouts <= 5%. */
static int passes(const result *r)
{
    for (int k = 0; k < 2; k++) {
        const int *b = r->band[k];
        if (b[GRIDWORLD_BAND_TOP] < 20 || b[GRIDWORLD_BAND_BOTTOM] < 20 ||
            b[GRIDWORLD_BAND_NONE] > 5)
            return 0;
    }
    return 1;
}

/* Roll out sampled episodes from the saddle starts, one instance at a time
 * (they are short), recording bands and the first DRAWN trajectories. */
static int evaluate(const fpo_policy *p, result *r, uint64_t seed)
{
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.max_batch = SAMPLES;
    sc.seed = seed;
    fpo_sampler *s;
    int rc = fpo_sampler_create(&s, p, &sc);
    if (rc)
        return rc;
    void *env;
    if (gridworld_table.create(NULL, 0, &env)) {
        fpo_sampler_destroy(s);
        return FPO_ECALLBACK;
    }
    for (int k = 0; k < 2; k++) {
        gridworld_force_start(env, starts[k][0], starts[k][1]);
        memset(r->band[k], 0, sizeof r->band[k]);
        for (int e = 0; e < EPISODES; e++) {
            float obs[2], act[2], rew;
            unsigned fl = 0;
            gridworld_table.reset(NULL, env, seed + (uint64_t)e, obs);
            traj *tr = e < DRAWN ? &r->drawn[k][e] : NULL;
            int x, y;
            gridworld_position(env, &x, &y);
            if (tr) {
                tr->n = 1;
                tr->x[0] = x;
                tr->y[0] = y;
            }
            while (!fl) {
                if ((rc = fpo_sampler_act(s, p, obs, 1, act, NULL)))
                    goto out;
                gridworld_table.step(NULL, env, act, obs, &rew, &fl);
                gridworld_position(env, &x, &y);
                if (tr && tr->n <= GRIDWORLD_MAX_STEPS) {
                    tr->x[tr->n] = x;
                    tr->y[tr->n] = y;
                    tr->n++;
                }
            }
            r->band[k][gridworld_goal_band(env)]++;
        }
        /* The deterministic action (Gaussian: its mean; flow: zero noise). */
        float obs[2] = {(starts[k][0] - 12) / 12.0f, (starts[k][1] - 12) / 12.0f};
        fpo_sampler_config dc = sc;
        dc.deterministic = 1;
        fpo_sampler_reconfigure(s, &dc);
        fpo_sampler_act(s, p, obs, 1, r->mean_act[k], NULL);
        fpo_sampler_reconfigure(s, &sc);
    }
    /* Action samples at (12,12). */
    float obs[2 * SAMPLES];
    for (int i = 0; i < SAMPLES; i++)
        obs[2 * i] = obs[2 * i + 1] = 0.0f;
    rc = fpo_sampler_act(s, p, obs, SAMPLES, &r->act[0][0], NULL);
out:
    gridworld_table.destroy(NULL, env);
    fpo_sampler_destroy(s);
    return rc;
}

static void draw_panel(FILE *f, double ox, double oy, const result *r)
{
    const double cell = 12, W = cell * GRIDWORLD_SIZE;
    svg_text(f, ox + W / 2, oy - 28, 15, "middle", r->name);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" "
               "stroke=\"#444\"/>\n", ox, oy, W, W);
    /* goal bands: y <= 1 at the bottom, y >= 23 at the top (SVG y grows down) */
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#b7e4c7\"/>\n",
            ox, oy, W, 2 * cell);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#b7e4c7\"/>\n",
            ox, oy + W - 2 * cell, W, 2 * cell);
    const char *colors[2] = {"#d62728", "#1f77b4"};
    for (int k = 0; k < 2; k++)
        for (int e = 0; e < DRAWN; e++) {
            const traj *t = &r->drawn[k][e];
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-opacity=\"0.35\" "
                       "stroke-width=\"1.5\" points=\"", colors[k]);
            for (int i = 0; i < t->n; i++) {
                double jx = 0.6 * ((e * 7919 + i * 31) % 11 - 5) / 5.0; /* jitter to separate lines */
                fprintf(f, "%.1f,%.1f ", ox + (t->x[i] + 0.5) * cell + jx,
                        oy + W - (t->y[i] + 0.5) * cell + jx);
            }
            fputs("\"/>\n", f);
        }
    for (int k = 0; k < 2; k++)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" stroke=\"black\"/>\n",
                ox + (starts[k][0] + 0.5) * cell, oy + W - (starts[k][1] + 0.5) * cell, colors[k]);
    char buf[160];
    for (int k = 0; k < 2; k++) {
        snprintf(buf, sizeof buf, "from (%d,%d): top %d%%, bottom %d%%, timeout %d%%", starts[k][0],
                 starts[k][1], r->band[k][GRIDWORLD_BAND_TOP], r->band[k][GRIDWORLD_BAND_BOTTOM],
                 r->band[k][GRIDWORLD_BAND_NONE]);
        svg_text(f, ox, oy + W + 18 + 16 * k, 12, "start", buf);
    }
    /* action samples at (12,12) */
    double ay = oy + W + 60, A = 180, cx = ox + W / 2, cy = ay + A / 2;
    svg_text(f, cx, ay - 6, 12, "middle", "action samples at (12,12)");
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" "
               "stroke=\"#444\"/>\n", cx - A / 2, ay, A, A);
    fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n",
            cx - A / 2, cx + A / 2, cy, cy);
    fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n", cx, cx,
            ay, ay + A);
    for (int i = 0; i < SAMPLES; i++)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.8\" fill=\"#333\" fill-opacity=\"0.5\"/>\n",
                cx + r->act[i][0] * A / 2, cy - r->act[i][1] * A / 2);
    /* The vertical component decides the band: its histogram, 20 bins over
     * [-1, 1], beside the scatter (the move rounds it: below -0.5 down, above
     * 0.5 up, between stay). */
    enum { BINS = 20 };
    int h[BINS] = {0}, hmax = 1;
    for (int i = 0; i < SAMPLES; i++) {
        int b = (int)((r->act[i][1] + 1.0f) * 0.5f * BINS);
        b = b < 0 ? 0 : (b >= BINS ? BINS - 1 : b);
        if (++h[b] > hmax)
            hmax = h[b];
    }
    double hx = cx + A / 2 + 8, HW = 60, bh = A / BINS;
    for (int b = 0; b < BINS; b++) {
        double len = HW * h[b] / hmax;
        const char *col = b < BINS / 4 ? "#2a9d8f" : (b >= BINS - BINS / 4 ? "#e76f51" : "#aaa");
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                hx, ay + A - (b + 1) * bh, len, bh - 1, col);
    }
    svg_text(f, hx, ay - 6, 10, "start", "a_y: up");
    svg_text(f, hx, ay + A + 12, 10, "start", "down");
}

static int write_svg(const char *path, const result *a, const result *b)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    svg_begin(f, 760, 660);
    svg_text(f, 380, 24, 16, "middle",
             "GridWorld: sampled episodes from the saddle starts (12,12) red, (17,12) blue");
    draw_panel(f, 40, 80, a);
    draw_panel(f, 400, 80, b);
    svg_end(f);
    return fclose(f);
}

static void report(const result *r)
{
    printf("%s:\n", r->name);
    for (int k = 0; k < 2; k++)
        printf("  from (%d,%d): %3d%% top band, %3d%% bottom band, %3d%% timeouts; "
               "deterministic action (%.2f, %.2f)\n",
               starts[k][0], starts[k][1], r->band[k][GRIDWORLD_BAND_TOP],
               r->band[k][GRIDWORLD_BAND_BOTTOM], r->band[k][GRIDWORLD_BAND_NONE],
               r->mean_act[k][0], r->mean_act[k][1]);
}

int main(int argc, char **argv)
{
    long long steps = task_gridworld.defaults.steps, eval_every = 0;
    uint64_t seed = 1;
    int threads = 1, quiet = 0, check = 0;
    const char *svg = "gridworld.svg";
    static const struct option lo[] = {{"steps", 1, 0, 's'}, {"seed", 1, 0, 'e'},
                                       {"threads", 1, 0, 't'}, {"svg", 1, 0, 'o'},
                                       {"quiet", 0, 0, 'q'}, {"check", 0, 0, 'c'},
                                       {"eval-every", 1, 0, 'v'},
                                       {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 's': steps = atoll(optarg); break;
        case 'e': seed = strtoull(optarg, NULL, 10); break;
        case 't': threads = atoi(optarg); break;
        case 'o': svg = optarg; break;
        case 'q': quiet = 1; break;
        case 'c': check = 1; break;
        case 'v': eval_every = atoll(optarg); break;
        default:
            printf("usage: gridworld-demo [--steps N] [--seed S] [--threads T] [--svg FILE] "
                   "[--eval-every N] [--check] [--quiet]\n"
                   "  --check         exit 1 unless FPO reaches both bands from both saddle\n"
                   "                  starts (each >= 20%%, timeouts <= 5%%)\n"
                   "  --eval-every N  during FPO's training, check that every N env steps\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (steps <= 0 || threads < 1 || eval_every < 0) {
        fprintf(stderr, "gridworld-demo: --steps must be > 0, --threads >= 1, --eval-every >= 0\n");
        return 2;
    }
    void *user = NULL;
    char err[256];
    if (task_gridworld.open(&user, NULL, err, sizeof err)) {
        fprintf(stderr, "gridworld-demo: %s\n", err);
        return 1;
    }
    result *res = calloc(2, sizeof *res);
    fpo_policy *pol[2] = {NULL, NULL};
    const fpo_algo algos[2] = {FPO_ALGO_FPO, FPO_ALGO_PPO};
    const char *names[2] = {"FPO (flow policy)", "Gaussian PPO"};
    int status = 0;
    for (int i = 0; i < 2 && res; i++) {
        timing tm = {0};
        tm.quiet = quiet;
        tm.last_print = -1e9;
        tm.eval_every = eval_every;
        tm.next_eval = eval_every;
        tm.eval_seed = seed * 7919 + 17;
        if (!quiet)
            printf("training %s on GridWorld for %lld steps...\n", names[i], steps);
        int rc = train(algos[i], steps, seed, threads, user, &pol[i], &tm);
        if (rc) {
            fprintf(stderr, "gridworld-demo: training failed: %s (%s)\n", fpo_strerror(rc),
                    fpo_last_errmsg());
            status = 1;
            break;
        }
        printf("%s: %lld steps in %.1f s (%.0f steps/s; rollout %.1f s, update %.1f s), "
               "final return %.2f\n",
               names[i], tm.steps, tm.elapsed, tm.steps / tm.elapsed, tm.rollout, tm.update,
               tm.last_return);
        if (tm.checks)
            printf("%s: both bands from both saddle starts at %d of %d checks during training\n",
                   names[i], tm.passed, tm.checks);
        res[i].name = names[i];
        if ((rc = evaluate(pol[i], &res[i], seed * 7919 + 17))) {
            fprintf(stderr, "gridworld-demo: evaluation failed: %s\n", fpo_strerror(rc));
            status = 1;
            break;
        }
    }
    if (status == 0 && res) {
        report(&res[0]);
        report(&res[1]);
        if (write_svg(svg, &res[0], &res[1]) == 0)
            printf("wrote %s\n", svg);
        if (check) {
            status = !passes(&res[0]);
            printf("check (FPO reaches both bands from both saddle starts): %s\n",
                   status ? "FAILED" : "passed");
        }
    }
    fpo_policy_destroy(pol[0]);
    fpo_policy_destroy(pol[1]);
    free(res);
    task_gridworld.close(user);
    return status;
}
