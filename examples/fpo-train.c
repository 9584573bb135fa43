/* fpo-train: train a flow policy (FPO) or a Gaussian policy (PPO) on a
 * bundled task, with progress, a CSV log, a checkpoint, an SVG learning
 * curve and a final evaluation; or evaluate a saved policy. Built with MPI
 * (meson -Dmpi=enabled) it also runs under mpirun: every rank steps
 * --num-envs environments, rank 0 prints and writes the files
 * (mpi_train.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fpo/fpo.h>

#include "curve.h"
#include "dataset.h"
#include "evaluate.h"
#include "mpi_train.h"
#include "svg.h"
#include "task_config.h"
#include "tasks/task.h"

/* Per fpo_algo: the --algo name, the plot label and colour, and words. */
static const char *const algo_names[] = {"fpo", "ppo", "dppo"};
static const char *const algo_labels[] = {"FPO", "PPO", "DPPO"};
static const char *const algo_colors[] = {"#d62728", "#1f77b4", "#2ca02c"};
static const char *const algo_titles[] = {"FPO", "Gaussian PPO", "DPPO"};
static const char *const algo_what[] = {"a flow policy (FPO)", "a Gaussian policy (PPO)",
                                        "a flow policy (DPPO)"};

typedef struct opts {
    const char *task, *out, *eval_ckpt, *model_dir;
    fpo_algo algo;
    long long steps;
    uint64_t seed;
    int threads, num_envs, horizon, epochs, minibatches, n_mc, eval_episodes;
    float lr, clip, gamma, lambda, reward_scale, entropy, max_grad_norm, value_coef, sde_noise, raw_clip;
    float adam_eps; /* NAN: the library's default */
    float noise_corr; /* NAN: the task's */
    float bound, bound_coef, spike_clip, anchor, anchor_drift, cfm_clamp; /* NAN: the library's default */
    float dppo_sigma;     /* NAN: the library's default */
    int dppo_final_half;
    float init_std;                      /* NAN: the task's default */
    int squash, obs_norm, activation;    /* -1: the task's default */
    int adv_norm;                        /* -1: the library's default (on) */
    int preset;                          /* -1: cpu (the tasks' defaults) */
    int cfm, ratio_mode, aspo, sampler_steps, quiet, t_dist; /* -1: the task's default */
    int time_emb;                                            /* -1: the task's default */
    fpo_integrator integrator;
    int actor_layers, actor_hidden, critic_layers, critic_hidden;
    int keep_best, no_guard;
    int lr_schedule; /* 0: the library's default */
    int chunk;       /* actions per policy query; 0: the library's (1) */
    long long eval_every; /* --keep-best: env steps between evaluations; 0 = steps / 20 */
    int checkpoint_every; /* iterations between trainer checkpoints; 0 = none */
    const char *resume;   /* continue the run in this directory */
    const char *config;   /* --config FILE */
    int list;
    /* Recording, pretraining, fine-tuning (docs/finetune.md). */
    int record;           /* --record N (with --eval POLICY): episodes to write */
    float record_noise;   /* --record-noise S: std of Gaussian noise on the raw action */
    const char *pretrain; /* --pretrain PATH: a data set to fit before RL */
    const char *obs_keys; /* --pretrain-obs-keys K1,K2: a robomimic file's observation keys */
    const char *init;     /* --init POLICY: start RL from this saved policy */
    int pretrain_epochs;  /* 0: --finetune's, else the library's default */
    int critic_warmup;    /* -1: --finetune's, else 0 */
    int finetune;         /* --finetune: the defaults of finetune_defaults */
} opts;

/* --finetune: what a fine-tuning run changes in the defaults, in this one
 * place. Each applies only where its own flag (or config key) is not given:
 * more pretraining epochs than the library's default, critic warm-up
 * iterations before the first policy update (the critic starts untrained,
 * and its first advantages are noise), and a learning rate 10/3 of the
 * task's lr (3e-4 -> 1e-3 on the DM Control tasks, for FPO and PPO alike:
 * FPO's own preset rate there, lr_fpo, is already 1e-3 and is not scaled
 * again). On a pretrained policy the clip hardly binds (a
 * median 0.4-3.5% of FPO's ratios reach it), so the rate alone sets how far
 * the policy moves; at the task's rate a fitted flow moved about half as far
 * as PPO's Gaussian. x 10/3 ended above x 1 on cheetah-run (3 of 3 seeds),
 * reacher-hard (2 of 3), finger-spin (2 of 3), Pendulum (3 of 3) and
 * cheetah-run with PPO (2 of 2); x 0.3 with clip x 0.5, the first defaults,
 * ended below x 1 in eight of nine runs (docs/finetune.md, "The step
 * size"). The clip stays the task's. */
static const struct finetune_defaults {
    float lr_factor;     /* x the task's learning rate */
    float clip_factor;   /* x the task's clip */
    int pretrain_epochs; /* --pretrain-epochs */
    int critic_warmup;   /* --critic-warmup, in iterations */
} finetune_defaults = {10.0f / 3.0f, 1.0f, 100, 5};

/* SIGINT / SIGTERM during training: the signal's number. The progress
 * callback then asks the trainer to stop after the current iteration, and
 * the outputs are written as at the end of a run. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* The handlers reset themselves (SA_RESETHAND): a second Ctrl-C kills at once. */
static void catch_stop_signals(int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on ? on_stop_signal : SIG_DFL;
    sa.sa_flags = on ? SA_RESETHAND : 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static const char log_header[] =
    "iteration,env_steps,elapsed_s,rollout_s,update_s,episodes,episode_return,"
    "mean_return,policy_loss,value_loss,ratio_mean,ratio_max,clip_fraction,"
    "approx_kl,cfm_loss,entropy,explained_variance,steps_per_s,rollbacks,lr,"
    "cfm_loss_old,bound_fraction,spike_steps,cfm_loss_max,grad_norm,successes,anchor,cfm_above_clamp,"
    "actor_grad_norm,critic_grad_norm\n";

/* The share of its best by which a run's training return may end below it
 * before fpo-train warns (the stability benchmark's target: final >= 0.8 of
 * best). */
#define RETURN_FALL 0.2

/* Log kept in memory for the curve. */
typedef struct run_log {
    FILE *csv;
    double *x, *y;
    int n, cap;
    int tty, quiet;
    double last_print;
    int64_t rollbacks;    /* the guard's count at the last report */
    /* --keep-best (rank 0): periodic evaluation, the best policy in best.fpo */
    int keep_best;
    long long eval_every, next_eval;
    const opts *o;
    const task_info *task;
    void *user;
    fpo_trainer *t;
    const char *outdir;
    double best_return;
    long long best_step; /* -1: none yet */
    long long last_eval; /* env step of the last evaluation; -1: none */
    int best_failed;     /* an evaluation or save of best.fpo failed */
    int checkpoint_every; /* rank 0: save trainer.ckpt every this many iterations */
    int checkpoint_failed;
} run_log;

/* The library's default number of pretraining epochs. */
static int pretrain_default_epochs(void)
{
    fpo_pretrain_config d;
    fpo_pretrain_config_init(&d);
    return d.epochs;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fpo-train --task NAME [options]     train\n"
            "       fpo-train --task NAME --eval FILE   evaluate a saved policy\n"
            "       fpo-train --list                    list tasks\n"
            "\n"
            "  --algo fpo|ppo|dppo   flow policy (FPO), Gaussian policy (PPO), or flow policy with\n"
            "                        the denoising-MDP policy gradient (DPPO); default fpo\n"
            "  --dppo-sigma X        DPPO: per-step noise std of the denoising chain (default 0.1)\n"
            "  --dppo-final-half     DPPO: only the final half of the steps in the loss\n"
            "  --steps N             environment steps (default: the task's)\n"
            "  --seed S              random seed (default 1)\n"
            "  --threads T           threads for env stepping and updates (default 1)\n"
            "  --out DIR             write log.csv, policy.fpo, curve.svg here (default out/TASK-ALGO)\n"
            "  --num-envs N --horizon H --epochs E --minibatches M\n"
            "  --lr X --clip X --gamma X --lambda X --reward-scale X --entropy X\n"
            "  --value-coef X --max-grad-norm X\n"
            "  --n-mc N              (t, eps) pairs per transition (FPO)\n"
            "  --t-dist uniform|grid|beta  the pairs' times (default uniform)\n"
            "  --cfm eps|u|elbo      CFM loss (FPO; default: the task's)\n"
            "  --ratio avg|per-sample  FPO ratio (per-sample = FPO++; default: the task's)\n"
            "  --aspo, --no-aspo     FPO++ asymmetric objective for negative advantages, or not\n"
            "  --sampler auto|euler|heun|midpoint  --sampler-steps K  --sde-noise X\n"
            "                        (default auto: midpoint, Euler for DPPO; Euler's samples are\n"
            "                        narrower than the flow, docs/stability.md)\n"
            "  --noise-corr X        rollout noise carried from step to step, AR(1), in [0, 1)\n"
            "                        (default: the task's for FPO, else 0)\n"
            );
    fprintf(f,
            "  --actor L:W --critic L:W  hidden layers and width\n"
            "  --time-emb sin|raw    flow time features: 8 sinusoids or t itself (default: the task's)\n"
            "  --raw-clip X          clamp the unbounded action to [-X, X] (0 = off; default 3)\n"
            "  --chunk H             action chunks: the policy emits H actions per query (1..64,\n"
            "                        default 1); the environments step H times per query and\n"
            "                        --horizon counts queries, --steps environment steps\n"
            "  --squash tanh|clip    how the unbounded action is brought into the bounds\n"
            "                        (default tanh)\n"
            "  --init-std X          PPO: the Gaussian's std at initialization (default: the\n"
            "                        task's, else 1)\n"
            "  --activation silu|relu|tanh  hidden activation of actor and critic (default: the\n"
            "                        task's)\n"
            "  --no-obs-norm         do not normalize observations (running mean/std)\n"
            "  --no-adv-norm         do not normalize advantages per minibatch (to mean 0, std 1)\n"
            "  --adam-eps X          Adam's epsilon (default: the library's, 1e-8)\n"
            "  --anchor C            FPO: C x the CFM loss of the stored pairs added to the loss\n"
            "                        (default: the task's, else 0.1; 0 = off)\n"
            "  --anchor-drift R      FPO: adaptive anchor, off while the flow's CFM loss stays\n"
            "                        near its lowest, the full --anchor at R x it (e.g. 1.2;\n"
            "                        default: the task's, else 0: the anchor at every update)\n"
            "  --cfm-clamp L         FPO: per-pair CFM losses clamped to at most L in the ratio\n"
            "                        (default 10; 0 = off)\n"
            "  --bound X --bound-coef C  FPO saturation penalty: advantages of actions beyond\n"
            "                        +-X lowered by C x mean squared excess (default 3, 0 = off)\n"
            "  --spike-clip K        scale down steps whose gradient norm exceeds K x its running\n"
            "                        RMS (default 4; 0 = off)\n"
            "  --preset cpu|paper    batch geometry: cpu (the task's defaults, small batches for\n"
            "                        a small machine) or paper (the reference's: 2048 envs x 30\n"
            "                        steps, 32 minibatches, 16 epochs, reward scale 10)\n"
            "  --eval-episodes N     episodes of the final evaluation (and of --keep-best's)\n"
            "  --keep-best           evaluate during training (deterministic, --eval-episodes\n"
            "                        episodes) and keep the best policy in best.fpo\n"
            "  --eval-every N        env steps between those evaluations (default: steps / 20)\n"
            "  --no-guard            turn off the trainer's collapse guard (rollback to the last\n"
            "                        good state and halving of the learning rate on a blow-up)\n"
            "  --lr-schedule S       constant or linear (to 0 at --steps); default: the task's,\n"
            "                        else the library's (linear for FPO, constant for PPO)\n"
            "  --checkpoint-every N  save the whole trainer to OUT/trainer.ckpt every N iterations\n"
            "                        and at the end (atomically: a temporary file, then rename)\n"
            "  --resume DIR          continue the run in DIR from DIR/trainer.ckpt (same flags;\n"
            "                        --steps is the total); log.csv is continued\n");
    fprintf(f,
            "  --record N            with --eval POLICY: write N episodes of the policy (sampled\n"
            "                        as in training rollouts) to OUT as obs.npy, act.npy (raw\n"
            "                        actions) and episode_ends.npy (default OUT out/TASK-record)\n"
            "  --record-noise S      add S x N(0, 1) to the raw action of every recorded step\n"
            "  --pretrain PATH       fit the policy to a data set before RL: a directory of\n"
            "                        obs.npy / act.npy / episode_ends.npy, or an HDF5 file in the\n"
            "                        robomimic or D4RL layout (fpo_policy_pretrain; the fitted\n"
            "                        policy is OUT/pretrained.fpo)\n"
            "  --pretrain-obs-keys K1,K2  a robomimic file's observation keys, in order (default:\n"
            "                        every low-dimensional key of data/demo_0/obs, by name)\n"
            "  --pretrain-epochs N   epochs of that fit (default %d; --finetune: %d)\n"
            "  --init POLICY         start RL from a saved policy (same networks)\n"
            "  --critic-warmup N     the first N iterations train only the critic (default 0;\n"
            "                        --finetune: %d)\n"
            "  --finetune            fine-tuning defaults: the pretraining epochs and critic\n"
            "                        warm-up above; lr x %.3g of the task's base lr (on the DM\n"
            "                        Control tasks 1e-3, FPO's own rate there) and clip x %g\n"
            "  --model-dir DIR       where MuJoCo task models are\n"
            "  --quiet               no progress output\n"
            "\n"
            "SIGINT or SIGTERM (Ctrl-C) stops after the current iteration and writes\n"
            "trainer.ckpt, policy.fpo, curve.svg and log.csv (exit status 128 + signal).\n",
            pretrain_default_epochs(), finetune_defaults.pretrain_epochs,
            finetune_defaults.critic_warmup,
            (double)finetune_defaults.lr_factor, (double)finetune_defaults.clip_factor);
}

/* Whole-string number parsing for the flags: garbage, trailing characters and
 * out-of-range values are errors, not zeros. */
static int num_ll(const char *flag, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "fpo-train: --%s wants an integer in [%lld, %lld], got '%s'\n", flag, lo,
                hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int num_int(const char *flag, const char *s, int lo, int *out)
{
    long long v;
    if (num_ll(flag, s, lo, 1 << 30, &v))
        return -1;
    *out = (int)v;
    return 0;
}

static int num_f(const char *flag, const char *s, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        fprintf(stderr, "fpo-train: --%s wants a finite number, got '%s'\n", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Index of s in names[0..n), or -1 after an error message naming the flag. */
static int choice(const char *flag, const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    fprintf(stderr, "fpo-train: --%s must be one of:", flag);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %s", names[i]);
    fprintf(stderr, " (got '%s')\n", s);
    return -1;
}

static int parse_layers(const char *s, int *layers, int *width)
{
    return sscanf(s, "%d:%d", layers, width) == 2 && *layers >= 0 && *layers <= FPO_MAX_LAYERS &&
                   *width > 0
               ? 0
               : -1;
}

/* The final evaluation's deterministic protocol: the rollout integrator and
 * steps, zero noise (flow) or the mean (Gaussian). */
static int eval_deterministic(const opts *o, const task_info *task, void *user,
                              const fpo_policy *p, uint64_t seed, eval_result *out, char *err,
                              size_t errlen)
{
    int eps = o->eval_episodes > 0 ? o->eval_episodes : task->defaults.eval_episodes;
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.integrator = o->integrator;
    sc.steps = o->sampler_steps;
    sc.deterministic = 1;
    return evaluate_policy(task, user, p, &sc, eps, o->threads, seed, out, err, errlen);
}

/* --keep-best: evaluate the trainer's policy (the same episodes every time)
 * and save it as best.fpo if it beats the best so far. */
static void keep_best_check(run_log *L, long long env_steps)
{
    char err[256], path[1200];
    eval_result r;
    fpo_policy *p = fpo_trainer_policy(L->t);
    if (eval_deterministic(L->o, L->task, L->user, p, L->o->seed + 3000, &r, err, sizeof err)) {
        fprintf(stderr, "%sfpo-train: evaluation at step %lld failed: %s\n", L->tty ? "\n" : "",
                env_steps, err);
        L->best_failed = 1;
        return;
    }
    L->last_eval = env_steps;
    if (L->best_step >= 0 && !(r.mean_return > L->best_return))
        return;
    snprintf(path, sizeof path, "%s/best.fpo", L->outdir);
    if (fpo_policy_save(p, path)) {
        fprintf(stderr, "%sfpo-train: saving %s failed: %s\n", L->tty ? "\n" : "", path,
                fpo_policy_errmsg(p));
        L->best_failed = 1;
        return;
    }
    L->best_return = r.mean_return;
    L->best_step = env_steps;
    if (!L->quiet && !L->tty)
        printf("best so far: deterministic return %.2f at step %lld (best.fpo)\n", r.mean_return,
               env_steps);
}

/* A point of the learning curve (NaN: no episode finished yet, skipped). */
static void curve_add(run_log *L, double x, double y)
{
    if (L->n == L->cap) {
        int nc = L->cap ? 2 * L->cap : 256;
        double *nx = realloc(L->x, nc * sizeof(double));
        if (nx)
            L->x = nx;
        double *ny = realloc(L->y, nc * sizeof(double));
        if (ny)
            L->y = ny;
        if (nx && ny)
            L->cap = nc;
    }
    if (L->n < L->cap && isfinite(y)) {
        L->x[L->n] = x;
        L->y[L->n] = y;
        L->n++;
    }
}

/* The log row, the curve point and the progress line of an iteration. */
static void progress_report(run_log *L, const fpo_progress *p)
{
    if (p->update->rollbacks > L->rollbacks) {
        /* The guard found a collapse and restored its last good snapshot. */
        L->rollbacks = p->update->rollbacks;
        fprintf(stderr,
                "%sfpo-train: collapse guard: training collapsed at iteration %lld (step %lld, "
                "cfm_loss %.3g, approx_kl %.3g, ratio_max %.3g, value_loss %.3g, gradient "
                "norm actor %.3g / critic %.3g); rolled back to the last good state, lr now %g "
                "(rollback %lld)\n",
                L->tty && !L->quiet ? "\n" : "", (long long)p->iteration,
                (long long)p->env_steps, p->update->cfm_loss, p->update->approx_kl,
                p->update->ratio_max, p->update->value_loss, p->update->actor_grad_norm,
                p->update->critic_grad_norm, p->update->lr, (long long)L->rollbacks);
    }
    if (L->keep_best && p->env_steps >= L->next_eval) {
        keep_best_check(L, (long long)p->env_steps);
        while (L->next_eval <= p->env_steps)
            L->next_eval += L->eval_every;
    }
    double sps = p->env_steps / fmax(p->elapsed_seconds, 1e-9);
    if (L->csv) {
        fprintf(L->csv,
                "%lld,%lld,%.3f,%.4f,%.4f,%lld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.1f,"
                "%lld,%.6g,%.6g,%.6g,%lld,%.6g,%.6g,%lld,%.6g,%.6g,%.6g,%.6g\n",
                (long long)p->iteration, (long long)p->env_steps, p->elapsed_seconds,
                p->rollout_seconds, p->update_seconds, (long long)p->episodes->episodes,
                p->episodes->episodes ? p->episodes->mean_return : NAN, p->mean_return,
                p->update->policy_loss, p->update->value_loss, p->update->ratio_mean,
                p->update->ratio_max, p->update->clip_fraction, p->update->approx_kl,
                p->update->cfm_loss, p->update->entropy, p->update->explained_variance, sps,
                (long long)p->update->rollbacks, p->update->lr, p->update->cfm_loss_old,
                p->update->bound_fraction, (long long)p->update->spike_steps,
                p->update->cfm_loss_max, p->update->grad_norm,
                (long long)p->episodes->successes, p->update->anchor_coef,
                p->update->cfm_above_clamp, p->update->actor_grad_norm,
                p->update->critic_grad_norm);
    }
    curve_add(L, (double)p->env_steps, p->mean_return);
    if (L->quiet)
        return;
    double frac = p->total_steps > 0 ? (double)p->env_steps / (double)p->total_steps : 0;
    double eta = frac > 0 && frac < 1 ? p->elapsed_seconds * (1 - frac) / frac : 0;
    if (L->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r[%s] %3.0f%% %lld/%lld steps %7.0f steps/s return %9.2f ETA %3d:%02d ",
                bar, 100 * frac, (long long)p->env_steps, (long long)p->total_steps, sps,
                p->mean_return, (int)(eta / 60), (int)fmod(eta, 60));
        if (L->rollbacks > 0)
            fprintf(stderr, "rollbacks %lld ", (long long)L->rollbacks);
        if (L->best_step >= 0)
            fprintf(stderr, "best %.2f ", L->best_return);
        if (p->env_steps >= p->total_steps)
            fputc('\n', stderr);
        fflush(stderr);
    } else if (p->elapsed_seconds - L->last_print >= 2.0 || p->env_steps >= p->total_steps) {
        L->last_print = p->elapsed_seconds;
        printf("steps %lld/%lld (%.0f%%)  %.0f steps/s  return %.2f  ratio %.3f  clip %.3f  "
               "rollbacks %lld  ETA %.0fs\n",
               (long long)p->env_steps, (long long)p->total_steps, 100 * frac, sps, p->mean_return,
               p->update->ratio_mean, p->update->clip_fraction, (long long)p->update->rollbacks,
               eta);
        fflush(stdout);
    }
}

/* Rank 0: the whole trainer to OUT/trainer.ckpt (fpo_trainer_save writes a
 * temporary file, fsyncs it and renames it over the old one). */
static int save_checkpoint(run_log *L)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/trainer.ckpt", L->outdir);
    if (fpo_trainer_save(L->t, path)) {
        fprintf(stderr, "%sfpo-train: saving %s failed: %s\n", L->tty && !L->quiet ? "\n" : "",
                path, fpo_trainer_errmsg(L->t));
        L->checkpoint_failed = 1;
        return -1;
    }
    return 0;
}

static int progress(void *user, const fpo_progress *p)
{
    run_log *L = user;
    progress_report(L, p);
    /* After a signal the checkpoint is saved once training has stopped. */
    if (L->checkpoint_every > 0 && p->iteration % L->checkpoint_every == 0 && !stop_signal)
        save_checkpoint(L);
    return stop_signal != 0;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

/* --resume, rank 0: keep the rows of DIR/log.csv up to the checkpoint's
 * env_steps (a run stopped by a kill may have logged iterations after its
 * last checkpoint; they are trained again), take the curve's points from
 * them, and open the file to append to, line-buffered. */
static int resume_log(run_log *L, const char *outdir, long long env_steps)
{
    char path[1200], tmp[1300], line[4096];
    snprintf(path, sizeof path, "%s/log.csv", outdir);
    snprintf(tmp, sizeof tmp, "%s/log.csv.tmp", outdir);
    FILE *in = fopen(path, "r");
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "fpo-train: cannot write %s: %s\n", tmp, strerror(errno));
        if (in)
            fclose(in);
        return -1;
    }
    fputs(log_header, out);
    int first = 1;
    while (in && fgets(line, sizeof line, in)) {
        if (first) { /* the header, written afresh above */
            first = 0;
            continue;
        }
        char *end;
        if (!strchr(line, '\n'))
            break; /* a row cut short by a kill */
        char *c = strchr(line, ',');
        long long steps = c ? strtoll(c + 1, &end, 10) : -1;
        if (!c || end == c + 1 || steps > env_steps)
            break;
        /* mean_return is the 8th column */
        const char *f = line;
        for (int k = 0; k < 7 && f; k++) {
            f = strchr(f, ',');
            f = f ? f + 1 : NULL;
        }
        if (f)
            curve_add(L, (double)steps, strtod(f, NULL));
        fputs(line, out);
    }
    if (in)
        fclose(in);
    if (fclose(out) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "fpo-train: cannot rewrite %s: %s\n", path, strerror(errno));
        return -1;
    }
    L->csv = fopen(path, "a");
    if (!L->csv) {
        fprintf(stderr, "fpo-train: cannot append to %s: %s\n", path, strerror(errno));
        return -1;
    }
    setvbuf(L->csv, NULL, _IOLBF, 0);
    return 0;
}

static int run_eval(const opts *o, const task_info *task, void *user, const fpo_policy *p)
{
    int eps = o->eval_episodes > 0 ? o->eval_episodes : task->defaults.eval_episodes;
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.integrator = o->integrator;
    sc.steps = o->sampler_steps;
    char err[256];
    eval_result det, sto;
    int rc = eval_deterministic(o, task, user, p, o->seed + 1000, &det, err, sizeof err);
    if (rc == 0) {
        sc.deterministic = 0;
        rc = evaluate_policy(task, user, p, &sc, eps, o->threads, o->seed + 2000, &sto, err,
                             sizeof err);
    }
    if (rc) {
        fprintf(stderr, "fpo-train: evaluation failed: %s\n", err);
        return 1;
    }
    printf("evaluation over %d episodes: deterministic return %.2f +- %.2f (length %.1f), "
           "sampled return %.2f +- %.2f\n",
           det.episodes, det.mean_return, det.std_return, det.mean_length, sto.mean_return,
           sto.std_return);
    if (det.successes + sto.successes > 0) /* a task that reports FPO_STEP_SUCCESS */
        printf("success: %d of %d episodes deterministic, %d of %d sampled\n", det.successes,
               det.episodes, sto.successes, sto.episodes);
    return 0;
}

/* --record: the policy's raw action plus noise, brought into the task's
 * bounds as the library does it (fpo/policy.h: tanh or clip into [-1, 1],
 * then onto [low, high]); a flow policy's raw action is clamped to its
 * raw_clip first, as its samplers clamp theirs. */
static void noisy_action(const fpo_policy_config *pc, const fpo_env_table *tab, float *raw,
                         float *act, const float *z, float noise)
{
    for (int d = 0; d < tab->act_dim; d++) {
        float x = raw[d] + noise * z[d];
        if (pc->kind == FPO_POLICY_FLOW && pc->raw_clip > 0.0f)
            x = x < -pc->raw_clip ? -pc->raw_clip : (x > pc->raw_clip ? pc->raw_clip : x);
        raw[d] = x;
        float u = pc->squash == FPO_SQUASH_TANH ? tanhf(x) : (x < -1 ? -1 : (x > 1 ? 1 : x));
        float lo = tab->action_low ? tab->action_low[d] : -1.0f;
        float hi = tab->action_high ? tab->action_high[d] : 1.0f;
        act[d] = lo + 0.5f * (u + 1.0f) * (hi - lo);
    }
}

/* Standard normals for --record-noise (Box-Muller on a xorshift stream). */
static void normals(uint64_t *state, float *out, int n)
{
    for (int i = 0; i < n; i++) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            uint64_t x = *state;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *state = x;
            u[k] = ((double)(x >> 11) + 0.5) / 9007199254740992.0;
        }
        out[i] = (float)(sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
    }
}

/* One environment's episode in progress. */
typedef struct rec_ep {
    float *obs, *act;
    int64_t len, cap;
    double ret;
} rec_ep;

/* --record N --eval POLICY: N episodes of the policy, sampled as in
 * training rollouts (the rollout integrator and steps, random initial noise
 * for a flow, a draw for a Gaussian), each appended when it ends, in the
 * order they end (instances in index order within a step); episodes still
 * running at the end are dropped. Writes OUT/obs.npy, act.npy (the raw
 * actions: what fpo_policy_pretrain fits) and episode_ends.npy. */
static int run_record(const opts *o, const task_info *task, void *user, const fpo_policy *p,
                      const char *outdir)
{
    const fpo_env_table *tab = task->table;
    int od = tab->obs_dim, ad = tab->act_dim;
    int E = o->record < 16 ? o->record : 16;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    if (fpo_policy_get_config(p, &pc) || pc.obs_dim != od || pc.act_dim != ad) {
        fprintf(stderr, "fpo-train: --record: the policy does not fit task %s (%d x %d)\n",
                task->name, od, ad);
        return 1;
    }
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.integrator = o->integrator;
    sc.steps = o->sampler_steps;
    sc.sde_noise = o->sde_noise;
    sc.max_batch = E;
    sc.seed = o->seed + 4000;
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = tab;
    vc.user = user;
    vc.num_envs = E;
    vc.threads = o->threads;
    vc.seed = o->seed + 4000;
    fpo_sampler *s = NULL;
    fpo_vecenv *v = NULL;
    int rc = fpo_sampler_create(&s, p, &sc);
    if (rc == FPO_OK)
        rc = fpo_vecenv_create(&v, &vc);
    if (rc) {
        fprintf(stderr, "fpo-train: --record: %s\n", fpo_last_errmsg());
        fpo_sampler_destroy(s);
        return 1;
    }
    size_t Eo = (size_t)E * od, Ea = (size_t)E * ad;
    float *obs = malloc(Eo * sizeof(float)), *act = malloc(Ea * sizeof(float));
    float *raw = malloc(Ea * sizeof(float)), *z = malloc(Ea * sizeof(float));
    float *rew = malloc((size_t)E * sizeof(float));
    unsigned *fl = malloc((size_t)E * sizeof(unsigned));
    rec_ep *ep = calloc((size_t)E, sizeof *ep);
    ds_dataset d;
    memset(&d, 0, sizeof d);
    d.obs_dim = od;
    d.act_dim = ad;
    d.ends = malloc((size_t)o->record * sizeof(int64_t));
    int64_t cap = 0;
    double ret_sum = 0.0;
    int status = 0;
    uint64_t zs = 0x9e3779b97f4a7c15ull ^ (o->seed * 0xbf58476d1ce4e5b9ull);
    if (!obs || !act || !raw || !z || !rew || !fl || !ep || !d.ends) {
        fprintf(stderr, "fpo-train: --record: out of memory\n");
        status = 1;
        goto done;
    }
    if ((rc = fpo_vecenv_reset(v, obs))) {
        fprintf(stderr, "fpo-train: --record: %s\n", fpo_vecenv_errmsg(v));
        status = 1;
        goto done;
    }
    while (d.episodes < o->record) {
        if ((rc = fpo_sampler_act(s, p, obs, E, act, raw))) {
            fprintf(stderr, "fpo-train: --record: %s\n", fpo_sampler_errmsg(s));
            status = 1;
            goto done;
        }
        if (o->record_noise > 0.0f) {
            normals(&zs, z, (int)Ea);
            for (int e = 0; e < E; e++)
                noisy_action(&pc, tab, raw + (size_t)e * ad, act + (size_t)e * ad,
                             z + (size_t)e * ad, o->record_noise);
        }
        for (int e = 0; e < E; e++) {
            rec_ep *r = &ep[e];
            if (r->len == r->cap) {
                int64_t nc = r->cap ? 2 * r->cap : 256;
                float *no = realloc(r->obs, (size_t)nc * od * sizeof(float));
                if (no)
                    r->obs = no;
                float *na = realloc(r->act, (size_t)nc * ad * sizeof(float));
                if (na)
                    r->act = na;
                if (!no || !na) {
                    fprintf(stderr, "fpo-train: --record: out of memory\n");
                    status = 1;
                    goto done;
                }
                r->cap = nc;
            }
            memcpy(r->obs + (size_t)r->len * od, obs + (size_t)e * od, (size_t)od * sizeof(float));
            memcpy(r->act + (size_t)r->len * ad, raw + (size_t)e * ad, (size_t)ad * sizeof(float));
            r->len++;
        }
        if ((rc = fpo_vecenv_step(v, act, obs, rew, fl, NULL))) {
            fprintf(stderr, "fpo-train: --record: %s\n", fpo_vecenv_errmsg(v));
            status = 1;
            goto done;
        }
        for (int e = 0; e < E; e++) {
            rec_ep *r = &ep[e];
            r->ret += rew[e];
            if (!(fl[e] & (FPO_STEP_TERMINATED | FPO_STEP_TRUNCATED)))
                continue;
            if (d.episodes < o->record) {
                if (d.n + r->len > cap) {
                    int64_t nc = cap ? 2 * cap : 4096;
                    while (nc < d.n + r->len)
                        nc *= 2;
                    float *no = realloc(d.obs, (size_t)nc * od * sizeof(float));
                    if (no)
                        d.obs = no;
                    float *na = realloc(d.act, (size_t)nc * ad * sizeof(float));
                    if (na)
                        d.act = na;
                    if (!no || !na) {
                        fprintf(stderr, "fpo-train: --record: out of memory\n");
                        status = 1;
                        goto done;
                    }
                    cap = nc;
                }
                memcpy(d.obs + (size_t)d.n * od, r->obs, (size_t)r->len * od * sizeof(float));
                memcpy(d.act + (size_t)d.n * ad, r->act, (size_t)r->len * ad * sizeof(float));
                d.n += r->len;
                d.ends[d.episodes++] = d.n;
                ret_sum += r->ret;
            }
            r->len = 0;
            r->ret = 0.0;
        }
    }
    char err[DS_ERRLEN];
    if (mkdir_p(outdir) || ds_dataset_save(outdir, &d, err)) {
        fprintf(stderr, "fpo-train: --record: cannot write %s: %s\n", outdir,
                errno ? strerror(errno) : err);
        status = 1;
        goto done;
    }
    if (!o->quiet)
        printf("recorded %lld episodes, %lld steps, mean return %.2f (record noise %g) in %s\n",
               (long long)d.episodes, (long long)d.n, ret_sum / (double)d.episodes,
               (double)o->record_noise, outdir);
done:
    for (int e = 0; ep && e < E; e++) {
        free(ep[e].obs);
        free(ep[e].act);
    }
    free(ep);
    free(obs);
    free(act);
    free(raw);
    free(z);
    free(rew);
    free(fl);
    ds_dataset_free(&d);
    fpo_vecenv_destroy(v);
    fpo_sampler_destroy(s);
    return status;
}

/* --pretrain: one line per 10 epochs (and the last) and OUT/pretrain.csv. */
typedef struct pretrain_log {
    FILE *csv;
    int quiet, epochs;
} pretrain_log;

static int pretrain_progress(void *user, int epoch, double train, double val)
{
    pretrain_log *pl = user;
    if (pl->csv)
        fprintf(pl->csv, "%d,%.6g,%.6g\n", epoch, train, val);
    if (!pl->quiet && (epoch % 10 == 0 || epoch == pl->epochs || epoch == 1))
        printf("pretrain epoch %d/%d: train loss %.4f, validation loss %.4f\n", epoch, pl->epochs,
               train, val);
    return stop_signal != 0;
}

/* --pretrain DIR (and --init POLICY): the policy RL starts from, or NULL
 * (neither given) with *status 0; on failure NULL and *status 1. Every rank
 * computes the same bits (pretraining is deterministic for a seed); rank 0
 * writes OUT/pretrain.csv and OUT/pretrained.fpo. */
static fpo_policy *initial_policy(const opts *o, const task_info *task, const fpo_policy_config *pc,
                                  const fpo_optimizer_config *oc, const fpo_trainer_config *tc,
                                  const char *outdir, int *status)
{
    *status = 0;
    if (!o->pretrain && !o->init)
        return NULL;
    fpo_policy *p = NULL;
    const fpo_env_table *tab = task->table;
    if (o->init) {
        if (fpo_policy_load(&p, o->init, NULL)) {
            fprintf(stderr, "fpo-train: --init %s: %s\n", o->init, fpo_last_errmsg());
            *status = 1;
            return NULL;
        }
    } else {
        /* The policy the trainer would make: its config with the task's sizes. */
        fpo_policy_config c = *pc;
        c.obs_dim = tab->obs_dim;
        c.act_dim = tab->act_dim;
        c.action_low = tab->action_low;
        c.action_high = tab->action_high;
        c.seed = o->seed;
        if (fpo_policy_create(&p, &c)) {
            fprintf(stderr, "fpo-train: --pretrain: %s\n", fpo_last_errmsg());
            *status = 1;
            return NULL;
        }
    }
    if (!o->pretrain)
        return p;
    char err[DS_ERRLEN], path[1200];
    ds_dataset d;
    if (ds_dataset_open(o->pretrain, o->obs_keys, tab->obs_dim, tab->act_dim, &d, err)) {
        fprintf(stderr, "fpo-train: --pretrain: %s\n", err);
        fpo_policy_destroy(p);
        *status = 1;
        return NULL;
    }
    fpo_pretrain_config c;
    fpo_pretrain_config_init(&c);
    c.epochs = o->pretrain_epochs;
    c.seed = o->seed;
    c.n_mc = tc->n_mc;
    c.t_dist = tc->t_dist;
    c.cfm_loss = oc->cfm_loss; /* the loss form fine-tuning's ratio uses */
    pretrain_log pl = {NULL, o->quiet, c.epochs};
    if (train_rank() == 0) {
        snprintf(path, sizeof path, "%s/pretrain.csv", outdir);
        pl.csv = fopen(path, "w");
        if (pl.csv)
            fputs("epoch,train_loss,val_loss\n", pl.csv);
    }
    c.progress = pretrain_progress;
    c.progress_user = &pl;
    if (!o->quiet)
        printf("pretraining on %s: %lld steps of %lld episodes, %d epochs\n", o->pretrain,
               (long long)d.n, (long long)d.episodes, c.epochs);
    fpo_pretrain_stats st = {sizeof st};
    int rc = fpo_policy_pretrain(p, &c, d.obs, d.act, d.n, &st);
    if (pl.csv)
        fclose(pl.csv);
    ds_dataset_free(&d);
    if (rc) {
        fprintf(stderr, "fpo-train: --pretrain: %s: %s\n", fpo_strerror(rc), fpo_policy_errmsg(p));
        fpo_policy_destroy(p);
        *status = 1;
        return NULL;
    }
    if (!o->quiet)
        printf("pretrained: %d epochs, validation loss %.4f -> %.4f (%lld rows held out)\n",
               st.epochs, st.first_val_loss, st.val_loss, (long long)st.n_val);
    snprintf(path, sizeof path, "%s/pretrained.fpo", outdir);
    if (train_rank() == 0 && fpo_policy_save(p, path))
        fprintf(stderr, "fpo-train: saving %s failed: %s\n", path, fpo_policy_errmsg(p));
    return p;
}

/* Rank 0 after training: policy.fpo, curve.svg, the final evaluation. */
static int save_outputs(const opts *op, const task_info *task, void *user, fpo_trainer *t,
                        const char *outdir, run_log *lg, double t_run, int status)
{
    char path[1200];
    fpo_policy *p = fpo_trainer_policy(t);
    snprintf(path, sizeof path, "%s/policy.fpo", outdir);
    if (fpo_policy_save(p, path)) {
        fprintf(stderr, "fpo-train: saving %s failed: %s\n", path, fpo_policy_errmsg(p));
        status = 1;
    }
    snprintf(path, sizeof path, "%s/curve.svg", outdir);
    char title[128];
    snprintf(title, sizeof title, "%s, %s, seed %llu", task->name,
             algo_titles[op->algo], (unsigned long long)op->seed);
    svg_series s = {algo_labels[op->algo], algo_colors[op->algo], lg->x, lg->y, NULL, NULL, lg->n};
    svg_write_chart(path, title, "environment steps", "episode return (running mean)", &s, 1);
    if (!op->quiet) {
        printf("wrote %s/log.csv, %s/policy.fpo, %s/curve.svg\n", outdir, outdir, outdir);
        train_mpi_report(t_run);
    }
    if (lg->rollbacks > 0)
        printf("collapse guard: %lld rollback(s) during training\n", (long long)lg->rollbacks);
    /* The curve's end against its peak: a run that fell from its best is a
     * failure even with a good early policy, and the guard does not see a
     * fall without a collapse of the update (docs/stability.md). */
    curve_peak cp;
    curve_peak_find(lg->x, lg->y, lg->n, RETURN_FALL, &cp);
    if (cp.have && !op->quiet)
        printf("return of the training episodes (running mean): final %.2f at step %.0f, "
               "best %.2f at step %.0f\n",
               cp.final, cp.final_x, cp.best, cp.best_x);
    if (cp.have && cp.fell)
        fprintf(stderr,
                "fpo-train: warning: the training return fell from %.2f (step %.0f) to %.2f at "
                "the end, more than %.0f%% below its best%s\n",
                cp.best, cp.best_x, cp.final, 100.0 * RETURN_FALL,
                lg->keep_best ? "; best.fpo holds the best evaluated policy"
                              : "; --keep-best keeps the best policy");
    if (lg->keep_best) {
        if (lg->best_step >= 0)
            printf("best policy: deterministic return %.2f at step %lld -> %s/best.fpo\n",
                   lg->best_return, lg->best_step, outdir);
        else
            fprintf(stderr, "fpo-train: --keep-best: no policy was saved as best.fpo\n");
        if (lg->best_failed || lg->best_step < 0)
            status = status ? status : 1;
    }
    if (status == 0 && !stop_signal) /* interrupted: no evaluation */
        status = run_eval(op, task, user, p);
    return status;
}

enum { O_ALGO = 256, O_STEPS, O_SEED, O_THREADS, O_OUT, O_NENV, O_HOR, O_EP, O_MB, O_LR,
       O_CLIP, O_GAMMA, O_LAMBDA, O_RS, O_ENT, O_VC, O_MGN, O_NMC, O_TD, O_CFM, O_RATIO,
       O_ASPO, O_SAMP, O_SSTEPS, O_SDE, O_ACTOR, O_CRITIC, O_EVAL, O_EVALEP, O_MDIR, O_QUIET,
       O_LIST, O_TASK, O_HELP, O_RAWCLIP, O_CHUNK, O_NOASPO, O_TEMB, O_KEEPBEST, O_EVALEVERY,
       O_NOGUARD, O_BOUND, O_BOUNDC, O_SPIKE, O_PRESET, O_ANCHOR, O_ANCHOR_DRIFT, O_CFMCLAMP, O_CKPT, O_RESUME,
       O_CONFIG, O_LRSCHED, O_SQUASH, O_INITSTD, O_ACTIV, O_NOOBSNORM, O_DSIGMA, O_DHALF, O_RECORD,
       O_RECNOISE, O_PRETRAIN, O_OBSKEYS, O_PTEPOCHS, O_INIT, O_CWARMUP, O_FINETUNE, O_NOISECORR, O_NOADVNORM, O_ADAMEPS };
static const struct option long_opts[] = {
    {"task", 1, 0, O_TASK}, {"algo", 1, 0, O_ALGO}, {"steps", 1, 0, O_STEPS},
    {"seed", 1, 0, O_SEED}, {"threads", 1, 0, O_THREADS}, {"out", 1, 0, O_OUT},
    {"num-envs", 1, 0, O_NENV}, {"horizon", 1, 0, O_HOR}, {"epochs", 1, 0, O_EP},
    {"minibatches", 1, 0, O_MB}, {"lr", 1, 0, O_LR}, {"clip", 1, 0, O_CLIP},
    {"gamma", 1, 0, O_GAMMA}, {"lambda", 1, 0, O_LAMBDA}, {"reward-scale", 1, 0, O_RS},
    {"entropy", 1, 0, O_ENT}, {"value-coef", 1, 0, O_VC}, {"max-grad-norm", 1, 0, O_MGN},
    {"n-mc", 1, 0, O_NMC}, {"t-dist", 1, 0, O_TD}, {"cfm", 1, 0, O_CFM},
    {"ratio", 1, 0, O_RATIO}, {"aspo", 0, 0, O_ASPO}, {"sampler", 1, 0, O_SAMP},
    {"sampler-steps", 1, 0, O_SSTEPS}, {"sde-noise", 1, 0, O_SDE}, {"noise-corr", 1, 0, O_NOISECORR},
    {"actor", 1, 0, O_ACTOR},
    {"critic", 1, 0, O_CRITIC}, {"eval", 1, 0, O_EVAL}, {"eval-episodes", 1, 0, O_EVALEP},
    {"model-dir", 1, 0, O_MDIR}, {"quiet", 0, 0, O_QUIET}, {"list", 0, 0, O_LIST},
    {"help", 0, 0, O_HELP}, {"raw-clip", 1, 0, O_RAWCLIP}, {"chunk", 1, 0, O_CHUNK}, {"no-aspo", 0, 0, O_NOASPO},
    {"time-emb", 1, 0, O_TEMB}, {"keep-best", 0, 0, O_KEEPBEST},
    {"eval-every", 1, 0, O_EVALEVERY}, {"no-guard", 0, 0, O_NOGUARD},
    {"bound", 1, 0, O_BOUND}, {"bound-coef", 1, 0, O_BOUNDC}, {"spike-clip", 1, 0, O_SPIKE},
    {"preset", 1, 0, O_PRESET}, {"anchor", 1, 0, O_ANCHOR}, {"anchor-drift", 1, 0, O_ANCHOR_DRIFT},
    {"cfm-clamp", 1, 0, O_CFMCLAMP},
    {"dppo-sigma", 1, 0, O_DSIGMA}, {"dppo-final-half", 0, 0, O_DHALF},
    {"checkpoint-every", 1, 0, O_CKPT}, {"resume", 1, 0, O_RESUME},
    {"config", 1, 0, O_CONFIG}, {"lr-schedule", 1, 0, O_LRSCHED},
    {"squash", 1, 0, O_SQUASH}, {"init-std", 1, 0, O_INITSTD}, {"activation", 1, 0, O_ACTIV},
    {"no-obs-norm", 0, 0, O_NOOBSNORM}, {"no-adv-norm", 0, 0, O_NOADVNORM},
    {"adam-eps", 1, 0, O_ADAMEPS},
    {"record", 1, 0, O_RECORD}, {"record-noise", 1, 0, O_RECNOISE},
    {"pretrain", 1, 0, O_PRETRAIN}, {"pretrain-obs-keys", 1, 0, O_OBSKEYS},
    {"pretrain-epochs", 1, 0, O_PTEPOCHS},
    {"init", 1, 0, O_INIT}, {"critic-warmup", 1, 0, O_CWARMUP}, {"finetune", 0, 0, O_FINETUNE},
    {0, 0, 0, 0}};
/* Names in the order of the enums they select. */
static const char *const t_dists[] = {"grid", "uniform", "beta"};
static const char *const cfms[] = {"eps", "u", "elbo"};
static const char *const ratios[] = {"avg", "per-sample"};
/* In fpo_integrator's order: samplers[FPO_INTEGRATOR_AUTO] is "auto". */
static const char *const samplers[] = {"euler", "heun", "midpoint", "auto"};
static const char *const time_embs[] = {"sin", "raw"};
static const char *const presets[] = {"cpu", "paper"};
static const char *const squashes[] = {"tanh", "clip"};          /* fpo_squash's order */
static const char *const activations[] = {"silu", "relu", "tanh"}; /* fpo_activation's order */
/* fpo_lr_schedule's values: 0 is the library's default. */
static const char *const lr_schedules[] = {"default", "constant", "linear"};

/* Apply one option (a flag or a config file's key): 0, or 2 after a message. */
static int apply_option(opts *o, int c, const char *arg)
{
    switch (c) {
    case O_TASK: o->task = arg; break;
    case O_ALGO:
        if (!strcmp(arg, "fpo"))
            o->algo = FPO_ALGO_FPO;
        else if (!strcmp(arg, "ppo"))
            o->algo = FPO_ALGO_PPO;
        else if (!strcmp(arg, "dppo"))
            o->algo = FPO_ALGO_DPPO;
        else {
            fprintf(stderr, "fpo-train: --algo must be fpo, ppo or dppo\n");
            return 2;
        }
        break;
    case O_STEPS: if (num_ll("steps", arg, 0, (long long)1 << 62, &o->steps)) return 2; break;
    case O_SEED: {
        long long v;
        if (num_ll("seed", arg, 0, LLONG_MAX, &v))
            return 2;
        o->seed = (uint64_t)v;
        break;
    }
    case O_THREADS: if (num_int("threads", arg, 1, &o->threads)) return 2; break;
    case O_OUT: o->out = arg; break;
    case O_NENV: if (num_int("num-envs", arg, 1, &o->num_envs)) return 2; break;
    case O_HOR: if (num_int("horizon", arg, 1, &o->horizon)) return 2; break;
    case O_EP: if (num_int("epochs", arg, 1, &o->epochs)) return 2; break;
    case O_MB: if (num_int("minibatches", arg, 1, &o->minibatches)) return 2; break;
    case O_LR: if (num_f("lr", arg, &o->lr)) return 2; break;
    case O_CLIP: if (num_f("clip", arg, &o->clip)) return 2; break;
    case O_GAMMA: if (num_f("gamma", arg, &o->gamma)) return 2; break;
    case O_LAMBDA: if (num_f("lambda", arg, &o->lambda)) return 2; break;
    case O_RS: if (num_f("reward-scale", arg, &o->reward_scale)) return 2; break;
    case O_ENT: if (num_f("entropy", arg, &o->entropy)) return 2; break;
    case O_VC: if (num_f("value-coef", arg, &o->value_coef)) return 2; break;
    case O_MGN: if (num_f("max-grad-norm", arg, &o->max_grad_norm)) return 2; break;
    case O_ADAMEPS: if (num_f("adam-eps", arg, &o->adam_eps)) return 2; break;
    case O_NMC: if (num_int("n-mc", arg, 1, &o->n_mc)) return 2; break;
    case O_TD:
        if ((o->t_dist = choice("t-dist", arg, t_dists, 3)) < 0)
            return 2;
        break;
    case O_CFM:
        if ((o->cfm = choice("cfm", arg, cfms, 3)) < 0)
            return 2;
        break;
    case O_RATIO:
        if ((o->ratio_mode = choice("ratio", arg, ratios, 2)) < 0)
            return 2;
        break;
    case O_TEMB:
        if ((o->time_emb = choice("time-emb", arg, time_embs, 2)) < 0)
            return 2;
        break;
    case O_ASPO: o->aspo = 1; break;
    case O_NOASPO: o->aspo = 0; break;
    case O_SAMP: {
        int k = choice("sampler", arg, samplers, 4);
        if (k < 0)
            return 2;
        o->integrator = (fpo_integrator)k;
        break;
    }
    case O_SSTEPS: if (num_int("sampler-steps", arg, 1, &o->sampler_steps)) return 2; break;
    case O_SDE: if (num_f("sde-noise", arg, &o->sde_noise)) return 2; break;
    case O_NOISECORR: if (num_f("noise-corr", arg, &o->noise_corr)) return 2; break;
    case O_RAWCLIP: if (num_f("raw-clip", arg, &o->raw_clip)) return 2; break;
    case O_CHUNK: if (num_int("chunk", arg, 1, &o->chunk)) return 2; break;
    case O_SQUASH:
        if ((o->squash = choice("squash", arg, squashes, 2)) < 0)
            return 2;
        break;
    case O_ACTIV:
        if ((o->activation = choice("activation", arg, activations, 3)) < 0)
            return 2;
        break;
    case O_INITSTD: if (num_f("init-std", arg, &o->init_std)) return 2; break;
    case O_NOOBSNORM: o->obs_norm = 0; break;
    case O_NOADVNORM: o->adv_norm = 0; break;
    case O_BOUND: if (num_f("bound", arg, &o->bound)) return 2; break;
    case O_BOUNDC: if (num_f("bound-coef", arg, &o->bound_coef)) return 2; break;
    case O_SPIKE: if (num_f("spike-clip", arg, &o->spike_clip)) return 2; break;
    case O_ANCHOR: if (num_f("anchor", arg, &o->anchor)) return 2; break;
    case O_ANCHOR_DRIFT: if (num_f("anchor-drift", arg, &o->anchor_drift)) return 2; break;
    case O_CFMCLAMP: if (num_f("cfm-clamp", arg, &o->cfm_clamp)) return 2; break;
    case O_DSIGMA: if (num_f("dppo-sigma", arg, &o->dppo_sigma)) return 2; break;
    case O_DHALF: o->dppo_final_half = arg && !strcmp(arg, "false") ? 0 : 1; break;
    case O_PRESET:
        if ((o->preset = choice("preset", arg, presets, 2)) < 0)
            return 2;
        break;
    case O_ACTOR:
        if (parse_layers(arg, &o->actor_layers, &o->actor_hidden)) {
            fprintf(stderr, "fpo-train: --actor wants LAYERS:WIDTH\n");
            return 2;
        }
        break;
    case O_CRITIC:
        if (parse_layers(arg, &o->critic_layers, &o->critic_hidden)) {
            fprintf(stderr, "fpo-train: --critic wants LAYERS:WIDTH\n");
            return 2;
        }
        break;
    case O_EVAL: o->eval_ckpt = arg; break;
    case O_EVALEP: if (num_int("eval-episodes", arg, 1, &o->eval_episodes)) return 2; break;
    case O_MDIR: o->model_dir = arg; break;
    case O_KEEPBEST: o->keep_best = 1; break;
    case O_EVALEVERY:
        if (num_ll("eval-every", arg, 1, (long long)1 << 62, &o->eval_every))
            return 2;
        break;
    case O_NOGUARD: o->no_guard = 1; break;
    case O_LRSCHED:
        if (!strcmp(arg, "constant"))
            o->lr_schedule = FPO_LR_CONSTANT;
        else if (!strcmp(arg, "linear"))
            o->lr_schedule = FPO_LR_LINEAR;
        else if (!strcmp(arg, "default"))
            o->lr_schedule = FPO_LR_DEFAULT;
        else {
            fprintf(stderr, "fpo-train: --lr-schedule wants constant or linear, got '%s'\n", arg);
            return 2;
        }
        break;
    case O_CKPT: if (num_int("checkpoint-every", arg, 1, &o->checkpoint_every)) return 2; break;
    case O_RESUME: o->resume = arg; break;
    case O_QUIET: o->quiet = 1; break;
    case O_LIST: o->list = 1; break;
    case O_CONFIG: o->config = arg; break;
    case O_RECORD: if (num_int("record", arg, 1, &o->record)) return 2; break;
    case O_RECNOISE:
        if (num_f("record-noise", arg, &o->record_noise))
            return 2;
        if (o->record_noise < 0.0f) {
            fprintf(stderr, "fpo-train: --record-noise must be >= 0\n");
            return 2;
        }
        break;
    case O_PRETRAIN: o->pretrain = arg; break;
    case O_OBSKEYS: o->obs_keys = arg; break;
    case O_PTEPOCHS: if (num_int("pretrain-epochs", arg, 1, &o->pretrain_epochs)) return 2; break;
    case O_INIT: o->init = arg; break;
    case O_CWARMUP:
        if (num_int("critic-warmup", arg, 0, &o->critic_warmup))
            return 2;
        break;
    case O_FINETUNE: o->finetune = 1; break;
    default: return 2;
    }
    return 0;
}

/* ---- config files: INI through libinih (Debian's libinih-dev) ----------------
 *
 * Keys are the long option names, in an optional [fpo-train] section; flags
 * without a value take true or false. The flags on the command line override
 * the file. Every run writes its full resolved configuration to
 * OUT/config.ini, which --config accepts: a run can be repeated from its
 * folder. */

#ifdef FPO_TRAIN_INIH
#include <ini.h>

typedef struct ini_ctx {
    opts *o;
    char err[600];
    int n_strings;
    char strings[6][1024]; /* task, out, model-dir, pretrain, pretrain-obs-keys, init: the
                            * parser's buffers are transient */
} ini_ctx;

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i]))
            return *out = 1, 0;
        if (!strcasecmp(v, no[i]))
            return *out = 0, 0;
    }
    return -1;
}

static int ini_entry(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx *x = user;
    char *err = x->err[0] ? NULL : x->err; /* keep the first error */
    size_t n = sizeof x->err;
    if (*section && strcmp(section, "fpo-train")) {
        if (err)
            snprintf(err, n, "section [%s]: the keys belong in [fpo-train] or before any section",
                     section);
        return 0;
    }
    const struct option *opt = NULL;
    for (const struct option *l = long_opts; l->name; l++)
        if (!strcmp(l->name, name))
            opt = l;
    if (!opt) {
        if (err)
            snprintf(err, n, "unknown key '%s' (the keys are fpo-train's long option names)", name);
        return 0;
    }
    switch (opt->val) {
    case O_CONFIG: case O_RESUME: case O_EVAL: case O_LIST: case O_HELP: case O_RECORD:
    case O_RECNOISE:
        if (err)
            snprintf(err, n, "'%s' is a command, not a setting: give it on the command line", name);
        return 0;
    default: break;
    }
    if (!opt->has_arg) {
        int b;
        if (parse_bool(value, &b)) {
            if (err)
                snprintf(err, n, "%s wants true or false, got '%s'", name, value);
            return 0;
        }
        switch (opt->val) {
        case O_ASPO: x->o->aspo = b; break;
        case O_NOASPO: x->o->aspo = !b; break;
        case O_DHALF: x->o->dppo_final_half = b; break;
        case O_KEEPBEST: x->o->keep_best = b; break;
        case O_NOGUARD: x->o->no_guard = b; break;
        case O_NOOBSNORM: x->o->obs_norm = !b; break;
        case O_NOADVNORM: x->o->adv_norm = !b; break;
        case O_QUIET: x->o->quiet = b; break;
        case O_FINETUNE: x->o->finetune = b; break;
        default: break;
        }
        return 1;
    }
    if (opt->val == O_TASK || opt->val == O_OUT || opt->val == O_MDIR || opt->val == O_PRETRAIN ||
        opt->val == O_OBSKEYS || opt->val == O_INIT) {
        char *keep = x->strings[x->n_strings < 5 ? x->n_strings++ : 5];
        snprintf(keep, sizeof x->strings[0], "%s", value);
        value = keep;
    }
    if (apply_option(x->o, opt->val, value)) { /* it printed what is wrong */
        if (err)
            snprintf(err, n, "bad value for %s", name);
        return 0;
    }
    return 1;
}

static int load_config(opts *o, const char *path)
{
    static ini_ctx x; /* its strings are kept for the whole run */
    memset(&x, 0, sizeof x);
    x.o = o;
    int line = ini_parse(path, ini_entry, &x);
    if (line == -1) {
        fprintf(stderr, "fpo-train: cannot read the config file %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (line) {
        fprintf(stderr, "fpo-train: %s line %d: %s\n", path, line,
                x.err[0] ? x.err : "not a key = value line");
        return -1;
    }
    return 0;
}
#else
static int load_config(opts *o, const char *path)
{
    (void)o;
    fprintf(stderr, "fpo-train: --config %s: this fpo-train was built without INI support "
                    "(install libinih-dev, then reconfigure and rebuild)\n", path);
    return -1;
}
#endif

/* The shortest decimal that reads back (strtof) as the same float. */
static const char *float_str(char *buf, size_t n, float v)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, n, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    return buf;
}

/* OUT/config.ini: every setting of the run as resolved (the task's defaults
 * and the flags), in a form load_config reads back; floats in the
 * shortest form that reads back as the same float. Written to a
 * temporary file, then renamed. */
static int write_config(const char *outdir, const opts *o, const task_info *task,
                        const fpo_policy_config *pc, const fpo_optimizer_config *oc,
                        const fpo_sampler_config *sc, const fpo_trainer_config *tc,
                        long long steps, int eval_episodes, long long eval_every)
{
    char path[1200], tmp[1300];
    snprintf(path, sizeof path, "%s/config.ini", outdir);
    snprintf(tmp, sizeof tmp, "%s/config.ini.tmp", outdir);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "fpo-train: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    const char *tf[] = {"false", "true"};
    char fb[16][32];
#define FS(i, v) float_str(fb[i], sizeof fb[i], v)
    fprintf(f, "# fpo-train's resolved settings for this run: fpo-train --config %s\n"
               "[fpo-train]\n", path);
    fprintf(f, "task = %s\nalgo = %s\npreset = %s\nsteps = %lld\nseed = %llu\nthreads = %d\n",
            task->name, algo_names[oc->algo], presets[o->preset == 1],
            steps, (unsigned long long)tc->seed, tc->threads);
    fprintf(f, "num-envs = %d\nhorizon = %d\nn-mc = %d\nt-dist = %s\n", tc->num_envs, tc->horizon,
            tc->n_mc, t_dists[tc->t_dist]);
    fprintf(f, "epochs = %d\nminibatches = %d\nlr = %s\nclip = %s\ngamma = %s\n"
               "lambda = %s\nreward-scale = %s\nentropy = %s\nvalue-coef = %s\n"
               "max-grad-norm = %s\n",
            oc->epochs, oc->minibatches, FS(0, oc->lr), FS(1, oc->clip_eps), FS(2, oc->gamma),
            FS(3, oc->gae_lambda), FS(4, oc->reward_scale), FS(5, oc->entropy_coef),
            FS(6, oc->value_coef), FS(7, oc->max_grad_norm));
    fprintf(f, "cfm = %s\nratio = %s\naspo = %s\nanchor = %s\nbound = %s\n"
               "bound-coef = %s\nspike-clip = %s\nno-adv-norm = %s\n",
            cfms[oc->cfm_loss], ratios[oc->ratio_mode], tf[oc->aspo != 0],
            FS(8, oc->anchor_coef), FS(9, oc->bound), FS(10, oc->bound_coef),
            FS(11, oc->spike_clip), tf[!oc->normalize_advantages]);
    fprintf(f, "adam-eps = %s\n", FS(0, oc->adam_eps));
    if (oc->anchor_drift != 0.0f)
        fprintf(f, "anchor-drift = %s\n", FS(14, oc->anchor_drift));
    if (oc->algo == FPO_ALGO_FPO)
        fprintf(f, "cfm-clamp = %s\n", FS(15, oc->cfm_clamp));
    if (oc->algo == FPO_ALGO_DPPO)
        fprintf(f, "dppo-sigma = %s\ndppo-final-half = %s\n", FS(14, oc->dppo_sigma),
                tf[oc->dppo_final_half != 0]);
    fprintf(f, "sampler = %s\nsampler-steps = %d\nsde-noise = %s\nnoise-corr = %s\n",
            samplers[sc->integrator], sc->steps, FS(12, sc->sde_noise), FS(14, sc->noise_corr));
    fprintf(f, "actor = %d:%d\ncritic = %d:%d\ntime-emb = %s\nraw-clip = %s\n",
            pc->actor_layers, pc->actor_layers > 0 ? pc->actor_hidden[0] : 1, pc->critic_layers,
            pc->critic_layers > 0 ? pc->critic_hidden[0] : 1, time_embs[pc->time_embedding],
            FS(13, pc->raw_clip));
    fprintf(f, "chunk = %lld\n", (long long)(pc->chunk > 0 ? pc->chunk : 1));
    fprintf(f, "squash = %s\nno-obs-norm = %s\n", squashes[pc->squash != FPO_SQUASH_TANH],
            tf[!pc->normalize_obs]);
    if (pc->actor_activation == pc->critic_activation)
        fprintf(f, "activation = %s\n", activations[(unsigned)pc->actor_activation < 3
                                                       ? pc->actor_activation : 0]);
    if (pc->kind == FPO_POLICY_GAUSSIAN)
        fprintf(f, "init-std = %s\n", FS(12, pc->init_std));
    fprintf(f, "no-guard = %s\neval-episodes = %d\nkeep-best = %s\n", tf[tc->guard == -1],
            eval_episodes, tf[o->keep_best != 0]);
    fprintf(f, "lr-schedule = %s\n", lr_schedules[(unsigned)tc->lr_schedule < 3 ? tc->lr_schedule : 0]);
    if (o->keep_best)
        fprintf(f, "eval-every = %lld\n", eval_every);
    if (o->checkpoint_every > 0)
        fprintf(f, "checkpoint-every = %d\n", o->checkpoint_every);
    if (o->model_dir)
        fprintf(f, "model-dir = %s\n", o->model_dir);
    if (o->finetune)
        fprintf(f, "finetune = true\n");
    if (o->pretrain)
        fprintf(f, "pretrain = %s\npretrain-epochs = %d\n", o->pretrain, o->pretrain_epochs);
    if (o->obs_keys)
        fprintf(f, "pretrain-obs-keys = %s\n", o->obs_keys);
    if (o->init)
        fprintf(f, "init = %s\n", o->init);
    fprintf(f, "critic-warmup = %d\n", tc->critic_warmup);
#undef FS
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "fpo-train: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int train_main(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    o.algo = FPO_ALGO_FPO;
    o.seed = 1;
    o.threads = 1;
    o.steps = -1;
    o.lr = o.clip = o.gamma = o.lambda = o.reward_scale = o.entropy = NAN;
    o.max_grad_norm = o.value_coef = o.raw_clip = o.adam_eps = NAN;
    o.bound = o.bound_coef = o.spike_clip = o.anchor = o.anchor_drift = o.cfm_clamp = o.dppo_sigma = NAN;
    o.preset = -1;
    o.cfm = o.ratio_mode = o.aspo = o.time_emb = -1;
    o.init_std = o.noise_corr = NAN;
    o.squash = o.obs_norm = o.activation = o.adv_norm = -1;
    {
        fpo_sampler_config d; /* the library's defaults: the integrator and steps */
        fpo_sampler_config_init(&d);
        o.integrator = d.integrator;
        o.sampler_steps = d.steps;
        fpo_trainer_config tc0; /* and the pairs' time distribution */
        fpo_trainer_config_init(&tc0);
        o.t_dist = tc0.t_dist;
    }
    o.actor_layers = o.critic_layers = -1;
    o.critic_warmup = -1;
    /* A config file first (--config FILE, or the run's config.ini with
     * --resume DIR), then the flags, which override it. */
    const char *config = NULL, *resume_dir = NULL;
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        const char *v = NULL;
        int is_config = !strcmp(argv[i], "--config") || !strncmp(argv[i], "--config=", 9);
        int is_resume = !strcmp(argv[i], "--resume") || !strncmp(argv[i], "--resume=", 9);
        if (!is_config && !is_resume)
            continue;
        v = argv[i][8] == '=' ? argv[i] + 9 : i + 1 < argc ? argv[++i] : NULL;
        if (is_config)
            config = v;
        else
            resume_dir = v;
    }
#ifdef FPO_TRAIN_INIH
    char resume_config[1100];
    if (!config && resume_dir) {
        snprintf(resume_config, sizeof resume_config, "%s/config.ini", resume_dir);
        if (access(resume_config, F_OK) == 0)
            config = resume_config;
    }
#else
    (void)resume_dir;
#endif
    if (config && load_config(&o, config))
        return 2;
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == O_HELP) {
            usage(stdout);
            return 0;
        }
        if (c == '?' || c == ':') {
            usage(stderr);
            return 2;
        }
        if (c == O_CONFIG)
            continue; /* read above */
        if (apply_option(&o, c, optarg))
            return 2;
    }
    if (train_rank() != 0) {
        /* Only rank 0 prints progress and results (errors go to stderr). */
        o.quiet = 1;
        if (!freopen("/dev/null", "w", stdout))
            return 1;
    }
    if (o.list) {
        int n;
        const task_info *const *t = task_list(&n);
        for (int i = 0; i < n; i++)
            printf("%-20s %s\n", t[i]->name, t[i]->description);
        return 0;
    }
    if (!o.task) {
        usage(stderr);
        return 2;
    }
    const task_info *task = task_find(o.task);
    if (!task) {
        fprintf(stderr, "fpo-train: unknown task '%s' (see --list)\n", o.task);
        return 2;
    }
    char err[512] = "";
    void *user = NULL;
    if (task->open && task->open(&user, o.model_dir, err, sizeof err) != 0) {
        fprintf(stderr, "fpo-train: cannot open task %s: %s\n", task->name, err);
        train_all_ok(0);
        return 1;
    }
    if (!train_all_ok(1))
        return 1; /* another rank could not open it */
    int status = 0;
    if (o.record && !o.eval_ckpt) {
        fprintf(stderr, "fpo-train: --record N records a saved policy: give it with --eval POLICY\n");
        return 2;
    }
    if (o.obs_keys && !o.pretrain) {
        fprintf(stderr, "fpo-train: --pretrain-obs-keys names the keys of --pretrain FILE.hdf5: "
                        "give that too\n");
        return 2;
    }
    if (o.eval_ckpt) {
        fpo_policy *p;
        if (fpo_policy_load(&p, o.eval_ckpt, NULL)) {
            fprintf(stderr, "fpo-train: %s\n", fpo_last_errmsg());
            status = 1;
        } else if (o.record) {
            char dir[1024];
            snprintf(dir, sizeof dir, "%s", o.out ? o.out : "");
            if (!o.out)
                snprintf(dir, sizeof dir, "out/%s-record", task->name);
            status = train_rank() == 0 ? run_record(&o, task, user, p, dir) : 0;
            fpo_policy_destroy(p);
        } else {
            status = run_eval(&o, task, user, p);
            fpo_policy_destroy(p);
        }
        if (task->close)
            task->close(user);
        return status;
    }

    const task_defaults dd = task_preset_defaults(task, o.preset == 1 ? TASK_PRESET_PAPER
                                                                      : TASK_PRESET_CPU);
    const task_defaults *d = &dd;
    fpo_policy_config pc;
    fpo_optimizer_config oc;
    fpo_trainer_config tc;
    task_default_configs(task, o.preset == 1 ? TASK_PRESET_PAPER : TASK_PRESET_CPU, o.algo, &pc,
                         &oc, &tc);
    /* the flags override the task's defaults */
    if (o.actor_layers >= 0) {
        pc.actor_layers = o.actor_layers;
        for (int i = 0; i < FPO_MAX_LAYERS; i++)
            pc.actor_hidden[i] = o.actor_hidden;
    }
    if (o.critic_layers >= 0) {
        pc.critic_layers = o.critic_layers;
        for (int i = 0; i < FPO_MAX_LAYERS; i++)
            pc.critic_hidden[i] = o.critic_hidden;
    }
    if (!isnan(o.raw_clip))
        pc.raw_clip = o.raw_clip;
    if (o.chunk > 0)
        pc.chunk = o.chunk;
    if (o.squash >= 0)
        pc.squash = (fpo_squash)o.squash;
    if (o.activation >= 0)
        pc.actor_activation = pc.critic_activation = (fpo_activation)o.activation;
    if (o.obs_norm >= 0)
        pc.normalize_obs = o.obs_norm;
    if (!isnan(o.init_std) && pc.kind == FPO_POLICY_GAUSSIAN)
        pc.init_std = o.init_std;
    if (o.time_emb >= 0)
        pc.time_embedding = (fpo_time_embedding)o.time_emb;
    if (!isnan(o.lr))
        oc.lr = o.lr;
    if (!isnan(o.clip))
        oc.clip_eps = o.clip;
    if (!isnan(o.gamma))
        oc.gamma = o.gamma;
    if (!isnan(o.lambda))
        oc.gae_lambda = o.lambda;
    if (!isnan(o.reward_scale))
        oc.reward_scale = o.reward_scale;
    if (o.algo == FPO_ALGO_PPO && !isnan(o.entropy))
        oc.entropy_coef = o.entropy;
    if (!isnan(o.value_coef))
        oc.value_coef = o.value_coef;
    if (!isnan(o.max_grad_norm))
        oc.max_grad_norm = o.max_grad_norm;
    if (!isnan(o.adam_eps))
        oc.adam_eps = o.adam_eps;
    if (!isnan(o.bound))
        oc.bound = o.bound;
    if (!isnan(o.bound_coef))
        oc.bound_coef = o.bound_coef;
    if (!isnan(o.spike_clip))
        oc.spike_clip = o.spike_clip;
    if (o.adv_norm >= 0)
        oc.normalize_advantages = o.adv_norm;
    if (!isnan(o.anchor))
        oc.anchor_coef = o.anchor;
    if (!isnan(o.anchor_drift))
        oc.anchor_drift = o.anchor_drift;
    if (!isnan(o.cfm_clamp))
        oc.cfm_clamp = o.cfm_clamp;
    if (!isnan(o.dppo_sigma))
        oc.dppo_sigma = o.dppo_sigma;
    if (o.dppo_final_half)
        oc.dppo_final_half = 1;
    if (o.epochs > 0)
        oc.epochs = o.epochs;
    if (o.minibatches > 0)
        oc.minibatches = o.minibatches;
    if (o.cfm >= 0)
        oc.cfm_loss = (fpo_cfm_loss)o.cfm;
    if (o.ratio_mode >= 0)
        oc.ratio_mode = (fpo_ratio_mode)o.ratio_mode;
    if (o.aspo >= 0)
        oc.aspo = o.aspo;
    /* --finetune's defaults (finetune_defaults), where no flag set them. */
    if (o.finetune) {
        if (isnan(o.lr)) /* of the task's lr, not FPO's own (lr_fpo is already ~x 10/3) */
            oc.lr = d->lr * finetune_defaults.lr_factor;
        if (isnan(o.clip))
            oc.clip_eps *= finetune_defaults.clip_factor;
        if (o.pretrain_epochs <= 0)
            o.pretrain_epochs = finetune_defaults.pretrain_epochs;
        if (o.critic_warmup < 0)
            o.critic_warmup = finetune_defaults.critic_warmup;
    }
    if (o.pretrain_epochs <= 0)
        o.pretrain_epochs = pretrain_default_epochs();
    fpo_sampler_config sc;
    task_default_sampler(task, o.preset == 1 ? TASK_PRESET_PAPER : TASK_PRESET_CPU, o.algo, &sc);
    sc.integrator = o.integrator;
    sc.steps = o.sampler_steps;
    sc.sde_noise = o.sde_noise;
    if (!isnan(o.noise_corr))
        sc.noise_corr = o.noise_corr;

    tc.env_user = user;
    if (o.num_envs > 0)
        tc.num_envs = o.num_envs;
    if (o.horizon > 0)
        tc.horizon = o.horizon;
    tc.threads = o.threads;
    tc.seed = o.seed;
    tc.policy = &pc;
    tc.sampler = &sc;
    tc.optimizer = &oc;
    if (o.n_mc > 0)
        tc.n_mc = o.n_mc;
    if (o.no_guard)
        tc.guard = -1;
    if (o.lr_schedule) /* else the task's */
        tc.lr_schedule = (fpo_lr_schedule)o.lr_schedule;
    tc.t_dist = (fpo_t_dist)o.t_dist;
    if (o.critic_warmup > 0)
        tc.critic_warmup = o.critic_warmup;
    run_log L;
    memset(&L, 0, sizeof L);
    L.tty = isatty(STDERR_FILENO);
    L.quiet = o.quiet;
    L.last_print = -1e9;
    tc.progress = progress;
    tc.progress_user = &L;

    char outdir[1024];
    if (o.resume && o.out && strcmp(o.resume, o.out) != 0) {
        fprintf(stderr, "fpo-train: --resume %s continues the run in that directory; --out %s "
                        "would be another one\n", o.resume, o.out);
        return 2;
    }
    snprintf(outdir, sizeof outdir, "%s", o.resume ? o.resume : o.out ? o.out : "");
    if (!o.out && !o.resume)
        snprintf(outdir, sizeof outdir, "out/%s-%s", task->name, algo_names[o.algo]);
    char path[1200];
    if (train_rank() == 0 && !o.resume) { /* only rank 0 writes files */
        if (mkdir_p(outdir)) {
            fprintf(stderr, "fpo-train: cannot create %s: %s\n", outdir, strerror(errno));
            train_all_ok(0);
            return 1;
        }
        snprintf(path, sizeof path, "%s/log.csv", outdir);
        L.csv = fopen(path, "w");
        if (!L.csv) {
            fprintf(stderr, "fpo-train: cannot write %s: %s\n", path, strerror(errno));
            train_all_ok(0);
            return 1;
        }
        setvbuf(L.csv, NULL, _IOLBF, 0); /* every row reaches the file as it is written */
        fputs(log_header, L.csv);
    }
    if (!train_all_ok(1))
        return 1;
    /* --pretrain / --init: the policy RL starts from (not on --resume: the
     * checkpoint holds the run's own). */
    fpo_policy *init = NULL;
    if (!o.resume) {
        int bad;
        init = initial_policy(&o, task, &pc, &oc, &tc, outdir, &bad);
        if (!train_all_ok(!bad)) {
            fpo_policy_destroy(init);
            if (L.csv)
                fclose(L.csv);
            if (task->close)
                task->close(user);
            return 1;
        }
    }
    tc.init_policy = init;
    tc.collective = train_collective();

    fpo_trainer *t;
    int rc = fpo_trainer_create(&t, &tc);
    fpo_policy_destroy(init); /* copied by the trainer */
    tc.init_policy = init = NULL;
    if (rc) {
        fprintf(stderr, "fpo-train: cannot create the trainer: %s: %s\n", fpo_strerror(rc),
                fpo_last_errmsg());
        if (L.csv)
            fclose(L.csv);
        if (task->close)
            task->close(user);
        return 1;
    }
    long long steps = o.steps >= 0 ? o.steps : d->steps;
    L.t = t;
    if (o.resume) {
        /* Every rank restores the same file; rank 0 continues log.csv. */
        snprintf(path, sizeof path, "%s/trainer.ckpt", outdir);
        int ok = fpo_trainer_restore(t, path) == FPO_OK;
        if (!ok)
            fprintf(stderr, "fpo-train: cannot resume: %s\n", fpo_trainer_errmsg(t));
        if (ok && train_rank() == 0 && resume_log(&L, outdir, fpo_trainer_env_steps(t)))
            ok = 0;
        if (!train_all_ok(ok)) {
            fpo_trainer_destroy(t);
            if (L.csv)
                fclose(L.csv);
            free(L.x);
            free(L.y);
            return 1;
        }
    }
    L.outdir = outdir;
    if (train_rank() == 0)
        L.checkpoint_every = o.checkpoint_every;
    L.best_step = L.last_eval = -1;
    if (o.keep_best && train_rank() == 0) { /* only rank 0 evaluates and writes */
        L.keep_best = 1;
        L.o = &o;
        L.task = task;
        L.user = user;
        L.outdir = outdir;
        L.eval_every = o.eval_every > 0 ? o.eval_every : (steps / 20 > 0 ? steps / 20 : 1);
        L.next_eval = L.eval_every;
        while (L.next_eval <= fpo_trainer_env_steps(t)) /* a resumed run */
            L.next_eval += L.eval_every;
    }
    if (train_rank() == 0 &&
        write_config(outdir, &o, task, &pc, &oc, &sc, &tc, steps,
                     o.eval_episodes > 0 ? o.eval_episodes : task->defaults.eval_episodes,
                     L.eval_every)) {
        status = 1; /* the run could not be reproduced from its folder: say so, train anyway */
    }
    if (!o.quiet)
        printf("training %s on %s: %lld steps, %d envs x %d steps per iteration, seed %llu, "
               "%d thread(s)%s\n",
               algo_what[o.algo],
               task->name, steps, tc.num_envs, tc.horizon, (unsigned long long)o.seed, o.threads,
               train_ranks() > 1 ? " per rank" : "");
    double t_run = train_now();
    catch_stop_signals(1);
    rc = fpo_trainer_run(t, steps);
    catch_stop_signals(0);
    t_run = train_now() - t_run;
    if (rc) {
        fprintf(stderr, "fpo-train: training failed: %s: %s\n", fpo_strerror(rc),
                fpo_trainer_errmsg(t));
        train_abort_if_comm_failed(rc);
        status = 1;
    }
    /* The final policy competes for best.fpo too (after a failure it is the
     * guard's restored snapshot, or whatever training left). */
    if (L.keep_best && L.last_eval != (long long)fpo_trainer_env_steps(t))
        keep_best_check(&L, (long long)fpo_trainer_env_steps(t));
    /* The checkpoint to continue from: after every run with
     * --checkpoint-every, and after a signal. */
    if (rc == FPO_OK && train_rank() == 0 && (o.checkpoint_every > 0 || stop_signal))
        save_checkpoint(&L);
    if (L.checkpoint_failed)
        status = 1;
    if (L.csv && fclose(L.csv) != 0) {
        fprintf(stderr, "fpo-train: writing %s/log.csv failed: %s\n", outdir, strerror(errno));
        status = 1;
    }
    if (train_rank() == 0) /* rank 0 saves and evaluates; the others are done */
        status = save_outputs(&o, task, user, t, outdir, &L, t_run, status);
    long long done = (long long)fpo_trainer_env_steps(t);
    free(L.x);
    free(L.y);
    fpo_trainer_destroy(t);
    if (task->close)
        task->close(user);
    if (stop_signal) {
        if (!o.quiet)
            printf("stopped by signal %d after step %lld; continue with --resume %s\n",
                   (int)stop_signal, done, outdir);
        return 128 + stop_signal;
    }
    return status;
}

int main(int argc, char **argv)
{
    if (train_mpi_init(&argc, &argv))
        return 1;
    int status = train_main(argc, argv);
    train_mpi_finish();
    return status;
}
