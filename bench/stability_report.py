#!/usr/bin/env python3
"""Summarize bench/stability.sh (or any tree of fpo-train runs laid out as
RESULTS_DIR/TASK/ALGO/seedS/log.csv).

    python3 bench/stability_report.py RESULTS_DIR [--md FILE] [--svg-dir DIR] [--title T]

Per run: env steps reached, the best and the final training return (the
trainer's running mean of episode returns, the log's mean_return column), the
final over the best (a run that peaks and collapses ends far below 1), the
best deterministic evaluation of --keep-best when present, FPO's peak CFM loss
(cfm_loss column: the update's mean, at its last epoch) over its first
iteration's, raw and as the peak of the 20-iteration running median, and the
guard's rollbacks and spike-clipped steps. Per task: one SVG with the mean
over seeds (min-max band) of the return, FPO against Gaussian PPO, and one
with FPO's CFM loss per seed. Writes Markdown to --md (stdout by default).
Python 3 standard library only.
"""
import argparse
import csv
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_report import svg_chart  # noqa: E402

COLORS = {"fpo": "#d62728", "ppo": "#1f77b4"}
SEED_COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]
LABELS = {"fpo": "FPO", "ppo": "Gaussian PPO"}
BEST_RE = re.compile(r"best policy: deterministic return ([-\d.naif]+) at step (\d+)")


def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return math.nan


def load(d):
    with open(os.path.join(d, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    col = lambda k: [fnum(r.get(k)) for r in rows]  # noqa: E731
    run = {"steps": col("env_steps"), "ret": col("mean_return"), "cfm": col("cfm_loss"),
           "cfm_old": col("cfm_loss_old"), "rollbacks": col("rollbacks"),
           "spikes": col("spike_steps"), "best_eval": math.nan, "best_eval_step": math.nan}
    out = os.path.join(d, "stdout.txt")
    if os.path.exists(out):
        m = BEST_RE.search(open(out, errors="replace").read())
        if m:
            run["best_eval"], run["best_eval_step"] = fnum(m.group(1)), fnum(m.group(2))
    return run


def summary(run):
    ret = [r for r in run["ret"] if math.isfinite(r)]
    best = max(ret) if ret else math.nan
    final = ret[-1] if ret else math.nan
    s = {"steps": run["steps"][-1], "best": best, "final": final,
         "ratio": final / best if ret and best > 0 else math.nan,
         "best_eval": run["best_eval"],
         "rollbacks": max([r for r in run["rollbacks"] if math.isfinite(r)] or [0]),
         "spikes": sum(r for r in run["spikes"] if math.isfinite(r))}
    for k in ("cfm", "cfm_old"):
        v = [x for x in run[k] if math.isfinite(x) and x > 0]
        s[k + "_first"] = v[0] if v else math.nan
        s[k + "_peak"] = max(v) / v[0] if v else math.nan
        # the peak of the 20-iteration running median: the level, not one
        # iteration's outliers (episode starts in saturated tasks)
        med = [sorted(v[i - 19:i + 1])[10] for i in range(19, len(v))]
        s[k + "_peak_med"] = max(med) / v[0] if med else math.nan
    return s


def grid(xs_list, ys_list, n=100):
    """Resample runs onto n common env-step points (last value carried)."""
    top = min(xs[-1] for xs in xs_list)
    pts = [top * (i + 1) / n for i in range(n)]
    out = []
    for xs, ys in zip(xs_list, ys_list):
        j, last, col = 0, math.nan, []
        for p in pts:
            while j < len(xs) and xs[j] <= p:
                if math.isfinite(ys[j]):
                    last = ys[j]
                j += 1
            col.append(last)
        out.append(col)
    return pts, out


def f(v, fmt="%.1f"):
    return fmt % v if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--md")
    ap.add_argument("--svg-dir")
    ap.add_argument("--title", default="Stability benchmark")
    a = ap.parse_args()
    runs = {}
    for task in sorted(os.listdir(a.results)):
        for algo in ("fpo", "ppo"):
            ad = os.path.join(a.results, task, algo)
            if not os.path.isdir(ad):
                continue
            for sd in sorted(os.listdir(ad)):
                if sd.startswith("seed") and os.path.exists(os.path.join(ad, sd, "log.csv")):
                    r = load(os.path.join(ad, sd))
                    if r:
                        runs.setdefault(task, {}).setdefault(algo, {})[int(sd[4:])] = r
    lines = ["## " + a.title, "",
             "| task | algo | seed | env steps | best return | final return | final / best | "
             "best eval (--keep-best) | CFM loss peak / first | CFM loss peak of 20-it. median / "
             "first | rollbacks | spike-clipped steps |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for task in runs:
        for algo in ("fpo", "ppo"):
            for seed, r in sorted(runs[task].get(algo, {}).items()):
                s = summary(r)
                lines.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %d | %d |" % (
                    task, LABELS[algo], seed, f(s["steps"], "%.0f"), f(s["best"]), f(s["final"]),
                    f(s["ratio"], "%.2f"), f(s["best_eval"]),
                    f(s["cfm_peak"], "%.2f") if algo == "fpo" else "-",
                    f(s["cfm_peak_med"], "%.2f") if algo == "fpo" else "-",
                    s["rollbacks"], s["spikes"]))
    lines += ["", "Per task, mean over seeds (final / best is the worst seed's):", "",
              "| task | FPO best | FPO final | FPO worst final / best | PPO best | PPO final | "
              "PPO worst final / best |", "|---|---|---|---|---|---|---|"]
    for task in runs:
        row = [task]
        for algo in ("fpo", "ppo"):
            ss = [summary(r) for r in runs[task].get(algo, {}).values()]
            if not ss:
                row += ["-"] * 3
                continue
            mean = lambda k: sum(s[k] for s in ss) / len(ss)  # noqa: E731
            row += [f(mean("best")), f(mean("final")), f(min(s["ratio"] for s in ss), "%.2f")]
        lines.append("| " + " | ".join(row) + " |")
    text = "\n".join(lines) + "\n"
    if a.md:
        with open(a.md, "w") as fo:
            fo.write(text)
    else:
        sys.stdout.write(text)
    if a.svg_dir:
        os.makedirs(a.svg_dir, exist_ok=True)
        for task in runs:
            series = []
            for algo in ("fpo", "ppo"):
                rs = list(runs[task].get(algo, {}).values())
                if not rs:
                    continue
                pts, cols = grid([r["steps"] for r in rs], [r["ret"] for r in rs])
                mean, lo, hi = [], [], []
                for i in range(len(pts)):
                    v = [c[i] for c in cols if math.isfinite(c[i])]
                    mean.append(sum(v) / len(v) if v else math.nan)
                    lo.append(min(v) if v else math.nan)
                    hi.append(max(v) if v else math.nan)
                series.append(("%s (%d seeds)" % (LABELS[algo], len(rs)), pts, mean, lo, hi,
                               COLORS[algo]))
            svg_chart(os.path.join(a.svg_dir, task + "-return.svg"), task + ": training return",
                      "mean episode return", series, headroom=0.15)
            fs = sorted(runs[task].get("fpo", {}).items())
            if fs:
                series = []
                for k, (seed, r) in enumerate(fs):
                    y = [math.log10(c) if math.isfinite(c) and c > 0 else math.nan for c in r["cfm"]]
                    series.append(("FPO seed %d" % seed, r["steps"], y, y, y,
                                   SEED_COLORS[k % len(SEED_COLORS)]))
                svg_chart(os.path.join(a.svg_dir, task + "-cfm.svg"),
                          task + ": FPO CFM loss (log10)", "log10 cfm_loss", series, headroom=0.15)


if __name__ == "__main__":
    main()
