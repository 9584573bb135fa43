/* Internal: the trainer's collapse guard (fpo_trainer_config.guard).
 *
 * After every successful update the trainer hands the update statistics
 * (global on every rank) to fpo_guard_judge, which compares them with the
 * run's recent healthy history; on a collapse it restores the last good
 * snapshot of parameters, observation statistics and Adam state and halves
 * the learning rate. Everything it decides from is the same on all ranks, so
 * ranks stay in step. */
#ifndef FPO_INTERNAL_GUARD_H
#define FPO_INTERNAL_GUARD_H

#include "fpo/optimizer.h"
#include "fpo/policy.h"
#include "alloc.h"
#include "error.h"
#include "obsstats.h"

/* The rules (the trainer.h comment on fpo_trainer_config.guard states them
 * for hosts). Calibrated on logs of healthy and collapsing runs:
 * - FPO on point-mass (16 environments whose episodes all end on the same
 *   iteration) has CFM-loss spikes of 8-47x its median for 1-4 iterations
 *   at every episode boundary while the return keeps rising, and approx_kl
 *   spikes to 0.05-1.5 on single iterations; with a 3x factor or without
 *   the persistence rule the guard rolled back healthy runs every 16
 *   iterations. With 10x and 3 iterations in a row it never fires on two
 *   such runs (1,270 iterations), and on a third, whose return peaked at
 *   788 and then fell to 450, it first fires 3 iterations before the peak.
 * - The humanoid collapse (docs/results.md): approx_kl 4e-4 -> 0.04 -> 0.34
 *   -> 1.3 and CFM loss 1.0 -> 38 -> 1e7 within five iterations, staying
 *   there: caught on its third suspicious iteration.
 * - approx_kl of a healthy FPO update is 1e-6..1e-3 (PPO: up to ~0.02), so
 *   50x its median, never below 0.05, leaves room for a healthy PPO run.
 * - FPO++'s per-sample ratio is clamped to exp(ratio_clamp) = 148 by
 *   default; averaged FPO and Gaussian ratios of healthy updates stay
 *   below ~10. 1e3 is above both; 100x the median keeps a run whose clamp
 *   is wider and saturated every iteration from looking suspicious. */
/* Besides: any skipped optimizer step (fpo_update_stats.skipped_steps) is
 * suspicious from the first iteration on. */
#define FPO_GUARD_WINDOW 20        /* healthy iterations the medians cover */
#define FPO_GUARD_WARMUP 10        /* healthy iterations known before judging */
#define FPO_GUARD_CFM_FACTOR 10.0  /* cfm_loss > 10x its median, or 10x its lowest
                                    * median in the run: suspicious */
/* approx_kl > max(50x its median, 0.05), or > max(50x its lowest median in
 * the run, 0.05). The lowest medians catch a slow climb: FPO on finger-spin
 * went from CFM loss 0.21 and approx_kl 1e-4 to 21 and 0.18 over 300
 * iterations, about 1.4x per 20, which the recent medians followed while
 * the return fell from 575 to 271 (docs/stability.md). */
/* And only above the run's first 20-iteration median of cfm_loss: a flow
 * that has sharpened far below its early loss (point-mass at clip 0.1: a
 * median of 0.0125 against 0.57 early) has episode-start spikes of 10x and
 * more that are still below where it began, and the guard had stopped such
 * a run (final return 889 of its best 893) with FPO_EDIVERGED. Every
 * collapse seen rose above its early level (finger-spin 0.9 against 0.6,
 * the humanoid 51 against 0.57). */
#define FPO_GUARD_KL_FACTOR 50.0
#define FPO_GUARD_KL_FLOOR 0.05
#define FPO_GUARD_RATIO_FACTOR 100.0 /* ratio_max > max(100x median, 1e3) */
#define FPO_GUARD_RATIO_FLOOR 1e3
#define FPO_GUARD_PERSIST 3        /* suspicious iterations in a row = collapse */
#define FPO_GUARD_SNAPSHOT_EVERY 10 /* healthy iterations between snapshots */
#define FPO_GUARD_HEALTHY_STRETCH 20 /* healthy iterations that clear the strikes */
#define FPO_GUARD_MAX_ROLLBACKS 3  /* default rollbacks in a row before failing */
#define FPO_GUARD_LR_FLOOR (1.0 / 16.0) /* of the reference learning rate */

typedef struct fpo_guard_snapshot {
    float *params, *m, *v;  /* n floats each */
    fpo_obsstats_snap stats; /* committed observation statistics (obs_dim each) */
    int64_t step, iteration;
    int valid;
} fpo_guard_snapshot;

typedef struct fpo_guard {
    int on, max_rollbacks, judge_cfm;
    size_t n, obs_dim;
    /* snap[good] is what a rollback restores; snap[!good], when valid, the
     * fresher one, promoted after FPO_GUARD_SNAPSHOT_EVERY more healthy
     * iterations, so a slow blow-up has time to show before it is kept. */
    fpo_guard_snapshot snap[2];
    int good;
    double h_cfm[FPO_GUARD_WINDOW], h_kl[FPO_GUARD_WINDOW], h_ratio[FPO_GUARD_WINDOW];
    int hn, hpos;           /* values held, next slot */
    /* The lowest 20-iteration medians of cfm_loss and approx_kl in this run
     * (0 until the window first fills): a slow climb that the recent medians
     * follow is still caught against them. */
    double floor_cfm, floor_kl;
    double early_cfm;       /* the first 20-iteration median of cfm_loss (0 until then) */
    int suspect_run;        /* suspicious iterations in a row */
    int since_snap;         /* healthy iterations since the last snapshot */
    int healthy_run;        /* healthy iterations in a row */
    int strikes;            /* rollbacks since the last healthy stretch */
    int64_t rollbacks;      /* since create */
    double lr, ref_lr;      /* the rate last seen or set; the floor's reference */
} fpo_guard;

/* on: whether to guard; max_rollbacks >= 1. Allocates the snapshots through
 * mem (nothing when off) and takes the first from p and o. */
int fpo_guard_init(fpo_guard *g, const fpo_mem *mem, int on, int max_rollbacks, fpo_policy *p,
                   fpo_optimizer *o);
void fpo_guard_free(fpo_guard *g, const fpo_mem *mem);
/* Forget the history and take the current state (after iteration) as the
 * good snapshot: after a trainer restore. The rollback count is kept. */
void fpo_guard_reset(fpo_guard *g, fpo_policy *p, fpo_optimizer *o, int64_t iteration);
/* Before an update: a learning rate the host set since becomes the
 * reference. */
void fpo_guard_begin(fpo_guard *g, fpo_optimizer *o);
/* After a successful update (iteration: its 1-based number): judge st; on a
 * collapse roll back and halve the learning rate. Returns FPO_OK, or
 * FPO_EDIVERGED (message in err) when it gives up, with the snapshot
 * restored. */
int fpo_guard_judge(fpo_guard *g, fpo_policy *p, fpo_optimizer *o, const fpo_update_stats *st,
                    int64_t iteration, fpo_errbuf *err);

#endif
