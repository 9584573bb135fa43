#!/usr/bin/env python3
"""Draw the collapse reproduction (bench/collapse_repro.sh) of docs/stability.md.

    python3 bench/collapse_plot.py BEFORE_DIR AFTER_DIR --svg-prefix PREFIX

Reads each directory's log.csv (fpo-train) and writes PREFIX-return.svg (the
training return), PREFIX-cfm-max.svg (log10 of the largest per-pair CFM loss at
theta_old, the quantity that grows first), PREFIX-cfm.svg (log10 of the mean
CFM loss at theta_old) and PREFIX-grad.svg (log10 of the mean gradient norm of each update). Prints the
env step at which the 16-iteration running maximum of each quantity (one
episode) first leaves its early range (a factor over its level in the first
150 iterations). Python 3
standard library only.
"""
import argparse
import csv
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_report import svg_chart  # noqa: E402


COLUMNS = ("env_steps", "mean_return", "cfm_loss_max", "cfm_loss_old", "bound_fraction",
           "grad_norm", "cfm_loss")


def load(d, columns=COLUMNS):
    """The named columns of DIR/log.csv as float lists (NaN where empty)."""
    with open(os.path.join(d, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    col = lambda k: [float(r[k]) if r.get(k) not in (None, "", "nan") else math.nan  # noqa: E731
                     for r in rows]
    return {k: col(k) for k in columns}


def log10(v):
    return [math.log10(x) if math.isfinite(x) and x > 0 else math.nan for x in v]


def first_excursion(xs, ys, factor, n0=150, w=16):
    """Env step where the w-iteration running maximum of ys (w = 16: one
    point-mass episode, so every window holds one episode start) first exceeds
    factor x the median of that running maximum over the first n0 iterations."""
    runmax = []
    for i in range(len(ys)):
        win = [y for y in ys[max(0, i - w + 1):i + 1] if math.isfinite(y)]
        runmax.append(max(win) if win else math.nan)
    base = sorted(y for y in runmax[w:n0] if math.isfinite(y))
    if not base:
        return None
    med = base[len(base) // 2]
    for x, y in zip(xs, runmax):
        if math.isfinite(y) and y > factor * med:
            return x
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--svg-prefix", required=True)
    a = ap.parse_args()
    runs = [("before the fix", load(a.before), "#d62728"),
            ("today's defaults", load(a.after), "#1f77b4")]
    panels = [("return", "training return (running mean)", "mean_return", None),
              ("cfm-max", "largest per-pair CFM loss at theta_old (log10)", "cfm_loss_max", log10),
              ("cfm", "mean CFM loss at theta_old (log10)", "cfm_loss_old", log10),
              ("grad", "mean gradient norm of the update (log10)", "grad_norm", log10)]
    for suffix, title, key, tf in panels:
        series = []
        for name, r, color in runs:
            y = tf(r[key]) if tf else r[key]
            series.append((name, r["env_steps"], y, y, y, color))
        svg_chart("%s-%s.svg" % (a.svg_prefix, suffix), "point-mass, lr 3e-4: " + title,
                  title, series, headroom=0.15)
    for name, r, _ in runs:
        ret = [x for x in r["mean_return"] if math.isfinite(x)]
        print("%s: best return %.1f, final %.1f, CFM loss first %.3f, peak %.3f (update mean), "
              "largest per-pair loss peak %.1f" % (
                  name, max(ret), ret[-1], r["cfm_loss"][0], max(r["cfm_loss"]),
                  max(x for x in r["cfm_loss_max"] if math.isfinite(x))))
        for key, fac in (("cfm_loss_max", 10.0), ("cfm_loss_old", 3.0), ("grad_norm", 10.0)):
            x = first_excursion(r["env_steps"], r[key], fac)
            print("  %s: 16-iteration maximum first above %gx its early level: %s" % (
                key, fac, "never" if x is None else "step %d" % x))


if __name__ == "__main__":
    main()
