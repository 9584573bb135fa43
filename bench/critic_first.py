#!/usr/bin/env python3
"""Which quantity leaves its range first before a collapse, and where in the
episode it happens: the figures of docs/stability.md ("Which network goes
first").

    python3 bench/critic_first.py DIR [DIR ...] [--window 12] [--factor 5]

Reads each DIR/log.csv (fpo-train). Two reports per run:

1. Reset phase. On a task whose episodes all last the same number of steps
   and start together (the DM Control tasks: 1000 steps, 16 environments),
   every environment ends its episode in the same iteration. The phase of an
   iteration is the number of iterations since the last one in which episodes
   ended (0: that iteration, whose batch holds the end of the old episodes and
   the start of the new). For each phase: iterations, value-loss spikes
   (value_loss above 30x the median of the 20 iterations before) and
   rollbacks. With 16 phases, a spike that did not care about the episode
   would fall in phases 0-1 about 2 times in 16.

2. The first rollback (log.csv's rollbacks column first growing). For the
   `window` iterations before it, each of value_loss, cfm_loss, approx_kl,
   actor_grad_norm and critic_grad_norm is judged against its median over the
   20 iterations before the window; the first iteration at which it is above
   `factor` x that median is printed, and the window's rows. The two gradient
   norms are logged from libfpo 0.2.0 on (fpo_update_stats.actor_grad_norm,
   critic_grad_norm: before the spike guard); older logs show "-".

Python 3 standard library only.
"""
import argparse
import csv
import math
import os
import statistics

WATCH = ("value_loss", "cfm_loss", "approx_kl", "actor_grad_norm", "critic_grad_norm")


def num(r, k):
    v = r.get(k)
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def phases(rows):
    """Iterations since the last one in which episodes ended (-1 before the first)."""
    out, ph = [], -1
    for r in rows:
        if num(r, "episodes") > 0:
            ph = 0
        elif ph >= 0:
            ph += 1
        out.append(ph)
    return out


def phase_report(rows):
    ph = phases(rows)
    vl = [num(r, "value_loss") for r in rows]
    its, spikes, rbs = {}, {}, {}
    prev_rb = 0
    for i, r in enumerate(rows):
        p = ph[i]
        if p < 0:
            continue
        its[p] = its.get(p, 0) + 1
        if i >= 20:
            base = [x for x in vl[i - 20:i] if math.isfinite(x)]
            if base and vl[i] > 30.0 * statistics.median(base):
                spikes[p] = spikes.get(p, 0) + 1
        rb = int(num(r, "rollbacks")) if math.isfinite(num(r, "rollbacks")) else 0
        if rb > prev_rb:
            rbs[p] = rbs.get(p, 0) + rb - prev_rb
        prev_rb = rb
    n_sp = sum(spikes.values())
    early = spikes.get(0, 0) + spikes.get(1, 0)
    print("  reset phase: %d value-loss spikes, %d (%.0f%%) in phases 0-1 "
          "(phases seen: %d)" % (n_sp, early, 100.0 * early / n_sp if n_sp else 0.0, len(its)))
    print("  phase:      " + " ".join("%5d" % p for p in sorted(its)))
    print("  iterations: " + " ".join("%5d" % its[p] for p in sorted(its)))
    print("  spikes:     " + " ".join("%5d" % spikes.get(p, 0) for p in sorted(its)))
    print("  rollbacks:  " + " ".join("%5d" % rbs.get(p, 0) for p in sorted(its)))


def first_rollback_report(rows, window, factor):
    first = None
    for i, r in enumerate(rows):
        if num(r, "rollbacks") > 0:
            first = i
            break
    if first is None:
        print("  no rollback")
        return
    lo = max(0, first - window)
    print("  first rollback at iteration %s (env step %s)" % (rows[first]["iteration"],
                                                             rows[first]["env_steps"]))
    for k in WATCH:
        base = [num(r, k) for r in rows[max(0, lo - 20):lo]]
        base = [x for x in base if math.isfinite(x)]
        if not base:
            print("    %-17s -" % k)
            continue
        med = statistics.median(base)
        hit = None
        for r in rows[lo:first + 1]:
            if num(r, k) > factor * med:
                hit = r["iteration"]
                break
        print("    %-17s median before %.3g; first above %gx: %s" % (
            k, med, factor, "never" if hit is None else "iteration " + hit))
    print("    %9s %9s %4s %10s %9s %9s %9s %9s %5s" % (
        "iteration", "env_steps", "eps", "value_loss", "cfm_loss", "approx_kl", "actor_gn",
        "critic_gn", "spike"))
    for r in rows[lo:first + 1]:
        print("    %9s %9s %4s %10.3g %9.3g %9.2g %9.3g %9.3g %5s" % (
            r["iteration"], r["env_steps"], r["episodes"], num(r, "value_loss"),
            num(r, "cfm_loss"), num(r, "approx_kl"), num(r, "actor_grad_norm"),
            num(r, "critic_grad_norm"), r.get("spike_steps", "-")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--window", type=int, default=12)
    ap.add_argument("--factor", type=float, default=5.0)
    a = ap.parse_args()
    for d in a.dirs:
        with open(os.path.join(d, "log.csv")) as f:
            rows = list(csv.DictReader(f))
        print(d)
        phase_report(rows)
        first_rollback_report(rows, a.window, a.factor)


if __name__ == "__main__":
    main()
