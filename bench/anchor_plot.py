#!/usr/bin/env python3
"""Curves of fpo-train runs side by side, for docs/stability.md ("An adaptive anchor").

    python3 bench/anchor_plot.py --title TITLE --svg-prefix PREFIX LABEL=DIR [LABEL=DIR ...]

Reads each DIR/log.csv and writes PREFIX-return.svg (the training return, the
trainer's running mean), PREFIX-cfm.svg (cfm_loss_old, the flow's CFM loss on
fresh pairs before each update, as a 20-iteration running median) and
PREFIX-anchor.svg (the anchor's coefficient in force, log.csv's `anchor`).
Prints, per run: env steps, best and final return, the CFM loss's first value,
its peak and its median peak against it, rollbacks, and the mean anchor.
Python 3 standard library only.
"""
import argparse
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collapse_plot import load  # noqa: E402
from compare_report import svg_chart  # noqa: E402

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def thin(v, n=400):
    """Every k-th point, so that about n are drawn (and the last)."""
    k = max(1, len(v) // n)
    return v[::k] + ([v[-1]] if (len(v) - 1) % k else [])


def running_median(v, w=20):
    return [statistics.median(v[max(0, i - w + 1):i + 1]) for i in range(len(v))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--title", required=True)
    ap.add_argument("--svg-prefix", required=True)
    ap.add_argument("runs", nargs="+", help="LABEL=DIR")
    a = ap.parse_args()
    ret, cfm, anc = [], [], []
    print("| run | env steps | best / final | CFM first | peak / first | median peak / first "
          "| rollbacks | mean anchor |")
    print("|---|---|---|---|---|---|---|---|")
    for k, spec in enumerate(a.runs):
        label, _, d = spec.partition("=")
        r = load(d, ("env_steps", "mean_return", "cfm_loss_old", "rollbacks", "anchor"))
        xs, c = r["env_steps"], COLORS[k % len(COLORS)]
        ys = r["mean_return"]
        med = running_median(r["cfm_loss_old"])
        tx, ty, tm, ta = thin(xs), thin(ys), thin(med), thin(r["anchor"])
        ret.append((label, tx, ty, ty, ty, c))
        cfm.append((label, tx, tm, tm, tm, c))
        anc.append((label, tx, ta, ta, ta, c))
        fin = [y for y in ys if math.isfinite(y)]
        c0 = r["cfm_loss_old"][0]
        print("| %s | %d | %.0f / %.0f | %.2f | %.2f | %.2f | %d | %.4f |" % (
            label, xs[-1], max(fin), fin[-1], c0, max(r["cfm_loss_old"]) / c0, max(med) / c0,
            r["rollbacks"][-1], statistics.fmean(r["anchor"])))
    svg_chart(a.svg_prefix + "-return.svg", a.title + ": training return", "return", ret, 0.25)
    svg_chart(a.svg_prefix + "-cfm.svg", a.title + ": CFM loss (20-iteration median)",
              "cfm_loss_old", cfm, 0.25)
    svg_chart(a.svg_prefix + "-anchor.svg", a.title + ": anchor coefficient in force",
              "anchor", anc, 0.25)


if __name__ == "__main__":
    main()
