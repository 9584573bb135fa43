/* The trainer's collapse guard (guard.h). */
#include "guard.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "obsstats.h"
#include "policy_view.h"

static void snapshot_free(fpo_guard_snapshot *s, const fpo_mem *mem)
{
    fpo_mem_free(mem, s->params);
    fpo_mem_free(mem, s->m);
    fpo_mem_free(mem, s->v);
    fpo_mem_free(mem, s->stats.mean);
    fpo_mem_free(mem, s->stats.m2);
    memset(s, 0, sizeof *s);
}

static void take(fpo_guard *g, fpo_guard_snapshot *s, fpo_policy *p, fpo_optimizer *o,
                 int64_t iteration)
{
    fpo_opt_state os;
    fpo_optimizer_state(o, &os);
    memcpy(s->params, fpo_policy_params(p), g->n * sizeof(float));
    memcpy(s->m, os.m, g->n * sizeof(float));
    memcpy(s->v, os.v, g->n * sizeof(float));
    fpo_obsstats_save(fpo_policy_obsstats(p), &s->stats);
    s->step = *os.step;
    s->iteration = iteration;
    s->valid = 1;
}

static void restore(fpo_guard *g, const fpo_guard_snapshot *s, fpo_policy *p, fpo_optimizer *o)
{
    fpo_opt_state os;
    fpo_optimizer_state(o, &os);
    memcpy(fpo_policy_params(p), s->params, g->n * sizeof(float));
    memcpy(os.m, s->m, g->n * sizeof(float));
    memcpy(os.v, s->v, g->n * sizeof(float));
    *os.step = s->step;
    fpo_obsstats_restore(fpo_policy_obsstats(p), &s->stats);
}

void fpo_guard_free(fpo_guard *g, const fpo_mem *mem)
{
    snapshot_free(&g->snap[0], mem);
    snapshot_free(&g->snap[1], mem);
}

static double current_lr(fpo_optimizer *o)
{
    double lr = 0.0;
    fpo_optimizer_get(o, FPO_OPT_LR, &lr);
    return lr;
}

void fpo_guard_reset(fpo_guard *g, fpo_policy *p, fpo_optimizer *o, int64_t iteration)
{
    g->lr = g->ref_lr = current_lr(o);
    g->hn = g->hpos = 0;
    g->floor_cfm = g->floor_kl = 0.0;
    g->early_cfm = 0.0;
    g->suspect_run = g->since_snap = g->healthy_run = g->strikes = 0;
    if (!g->on)
        return;
    g->good = 0;
    take(g, &g->snap[0], p, o, iteration);
    g->snap[1].valid = 0;
}

double fpo_guard_estimate_bytes(double n_params, int obs_dim)
{
    /* Two snapshots: parameters, Adam's moments, statistics. */
    return 2.0 * (3.0 * 4.0 * n_params + 2.0 * 8.0 * obs_dim);
}

int fpo_guard_init(fpo_guard *g, const fpo_mem *mem, int on, int max_rollbacks, fpo_policy *p,
                   fpo_optimizer *o)
{
    memset(g, 0, sizeof *g);
    fpo_opt_state os;
    fpo_optimizer_state(o, &os);
    g->on = on;
    g->max_rollbacks = max_rollbacks;
    g->judge_cfm = os.cfg->algo == FPO_ALGO_FPO;
    g->n = os.n;
    g->obs_dim = (size_t)fpo_policy_obsstats(p)->dim;
    if (on) {
        for (int i = 0; i < 2; i++) {
            fpo_guard_snapshot *s = &g->snap[i];
            s->params = fpo_mem_calloc(mem, g->n, sizeof(float));
            s->m = fpo_mem_calloc(mem, g->n, sizeof(float));
            s->v = fpo_mem_calloc(mem, g->n, sizeof(float));
            s->stats.mean = fpo_mem_calloc(mem, g->obs_dim, sizeof(double));
            s->stats.m2 = fpo_mem_calloc(mem, g->obs_dim, sizeof(double));
            if (!s->params || !s->m || !s->v || !s->stats.mean || !s->stats.m2) {
                fpo_guard_free(g, mem);
                return FPO_ENOMEM;
            }
        }
    }
    fpo_guard_reset(g, p, o, 0);
    return FPO_OK;
}

void fpo_guard_begin(fpo_guard *g, fpo_optimizer *o)
{
    double lr = current_lr(o);
    if (lr != g->lr)
        g->lr = g->ref_lr = lr;
}

static double median(const double *h, int n)
{
    double a[FPO_GUARD_WINDOW];
    memcpy(a, h, (size_t)n * sizeof(double));
    for (int i = 1; i < n; i++) /* insertion sort of at most 20 values */
        for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
            double x = a[j];
            a[j] = a[j - 1];
            a[j - 1] = x;
        }
    return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

/* 0: healthy; 1: suspicious; 2: a collapse by itself (non-finite). why
 * names the rule. */
static int classify(const fpo_guard *g, const fpo_update_stats *st, char *why, size_t len)
{
    const double fin[] = {st->policy_loss, st->value_loss, st->cfm_loss, st->approx_kl,
                          st->ratio_max};
    static const char *const names[] = {"policy_loss", "value_loss", "cfm_loss", "approx_kl",
                                        "ratio_max"};
    for (int i = 0; i < 5; i++)
        if (!isfinite(fin[i])) {
            snprintf(why, len, "%s is %g", names[i], fin[i]);
            return 2;
        }
    /* Steps the optimizer skipped had a non-finite loss or gradient, or one
     * too large for Adam: never part of a healthy update. (A run of them
     * also leaves the CFM loss and approx_kl at 0, which would look calm.) */
    if (st->skipped_steps > 0) {
        snprintf(why, len, "%lld of %lld steps skipped as non-finite", (long long)st->skipped_steps,
                 (long long)(st->steps + st->skipped_steps));
        return 1;
    }
    if (g->hn < FPO_GUARD_WARMUP)
        return 0;
    double mc = median(g->h_cfm, g->hn), mk = median(g->h_kl, g->hn);
    double mr = median(g->h_ratio, g->hn);
    /* Below its early level a flow's CFM loss is never suspicious. */
    int cfm_high = g->judge_cfm && st->cfm_loss > g->early_cfm;
    if (cfm_high && mc > 0.0 && st->cfm_loss > FPO_GUARD_CFM_FACTOR * mc) {
        snprintf(why, len, "cfm_loss %.3g > %gx its median %.3g", st->cfm_loss,
                 FPO_GUARD_CFM_FACTOR, mc);
        return 1;
    }
    if (cfm_high && g->floor_cfm > 0.0 &&
        st->cfm_loss > FPO_GUARD_CFM_FACTOR * g->floor_cfm) {
        snprintf(why, len, "cfm_loss %.3g > %gx its lowest median %.3g", st->cfm_loss,
                 FPO_GUARD_CFM_FACTOR, g->floor_cfm);
        return 1;
    }
    double kl_bound = fmax(FPO_GUARD_KL_FACTOR * mk, FPO_GUARD_KL_FLOOR);
    if (st->approx_kl > kl_bound) {
        snprintf(why, len, "approx_kl %.3g > %.3g (its median %.3g)", st->approx_kl, kl_bound, mk);
        return 1;
    }
    double kl_floor_bound = fmax(FPO_GUARD_KL_FACTOR * g->floor_kl, FPO_GUARD_KL_FLOOR);
    if (g->floor_kl > 0.0 && st->approx_kl > kl_floor_bound) {
        snprintf(why, len, "approx_kl %.3g > %.3g (its lowest median %.3g)", st->approx_kl,
                 kl_floor_bound, g->floor_kl);
        return 1;
    }
    double r_bound = fmax(FPO_GUARD_RATIO_FACTOR * mr, FPO_GUARD_RATIO_FLOOR);
    if (st->ratio_max > r_bound) {
        snprintf(why, len, "ratio_max %.3g > %.3g (its median %.3g)", st->ratio_max, r_bound, mr);
        return 1;
    }
    return 0;
}

static void remember(fpo_guard *g, const fpo_update_stats *st)
{
    g->h_cfm[g->hpos] = st->cfm_loss;
    g->h_kl[g->hpos] = st->approx_kl;
    g->h_ratio[g->hpos] = st->ratio_max;
    g->hpos = (g->hpos + 1) % FPO_GUARD_WINDOW;
    if (g->hn < FPO_GUARD_WINDOW)
        g->hn++;
    if (g->hn == FPO_GUARD_WINDOW) {
        double mc = median(g->h_cfm, g->hn), mk = median(g->h_kl, g->hn);
        if (mc > 0.0 && (g->floor_cfm == 0.0 || mc < g->floor_cfm))
            g->floor_cfm = mc;
        if (g->early_cfm == 0.0)
            g->early_cfm = mc;
        if (mk > 0.0 && (g->floor_kl == 0.0 || mk < g->floor_kl))
            g->floor_kl = mk;
    }
}

int fpo_guard_judge(fpo_guard *g, fpo_policy *p, fpo_optimizer *o, const fpo_update_stats *st,
                    int64_t iteration, fpo_errbuf *err)
{
    if (!g->on)
        return FPO_OK;
    char why[160];
    int verdict = classify(g, st, why, sizeof why);
    if (verdict == 0) {
        g->suspect_run = 0;
        remember(g, st);
        if (++g->healthy_run >= FPO_GUARD_HEALTHY_STRETCH)
            g->strikes = 0;
        if (++g->since_snap >= FPO_GUARD_SNAPSHOT_EVERY) {
            /* Promote the fresher snapshot (healthy for SNAPSHOT_EVERY
             * iterations since it was taken) and take a new fresh one. */
            int fresh = !g->good;
            if (g->snap[fresh].valid) {
                g->good = fresh;
                fresh = !fresh;
            }
            take(g, &g->snap[fresh], p, o, iteration);
            g->since_snap = 0;
        }
        return FPO_OK;
    }
    g->healthy_run = 0;
    if (verdict == 1 && ++g->suspect_run < FPO_GUARD_PERSIST)
        return FPO_OK;
    /* A collapse: back to the good snapshot; the fresher one may already
     * hold the beginning of the blow-up. */
    const fpo_guard_snapshot *s = &g->snap[g->good];
    restore(g, s, p, o);
    g->snap[!g->good].valid = 0;
    g->suspect_run = 0;
    g->since_snap = 0;
    g->rollbacks++;
    double lr = g->lr * 0.5;
    fpo_key_info ki = {sizeof ki};
    fpo_optimizer_key_info(FPO_OPT_LR, &ki);
    if (g->strikes >= g->max_rollbacks)
        return fpo_fail(err, FPO_EDIVERGED,
                        "training collapsed at iteration %lld (%s%s) after %d rollbacks without "
                        "%d healthy iterations between; the policy was restored to its state "
                        "after iteration %lld",
                        (long long)iteration, why, verdict == 1 ? ", 3 iterations in a row" : "",
                        g->strikes, FPO_GUARD_HEALTHY_STRETCH, (long long)s->iteration);
    if (lr < FPO_GUARD_LR_FLOOR * g->ref_lr || lr < ki.min)
        return fpo_fail(err, FPO_EDIVERGED,
                        "training collapsed at iteration %lld (%s%s) and the learning rate %g "
                        "cannot be halved again (floor: 1/16 of %g); the policy was restored "
                        "to its state after iteration %lld",
                        (long long)iteration, why, verdict == 1 ? ", 3 iterations in a row" : "",
                        g->lr, g->ref_lr, (long long)s->iteration);
    fpo_optimizer_set(o, FPO_OPT_LR, lr);
    g->lr = current_lr(o);
    g->strikes++;
    return FPO_OK;
}
