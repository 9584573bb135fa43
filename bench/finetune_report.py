#!/usr/bin/env python3
"""The report of bench/finetune_demo.sh: demonstrator, pretrained and fine-tuned runs
against FPO from scratch.

    python3 bench/finetune_report.py OUT [--svg-prefix PREFIX] [--title TITLE]

Reads OUT/teacher.txt, OUT/record.txt and OUT/VARIANT-SEED/{log.csv,stdout.txt,
pretrained-eval.txt}. Prints Markdown: per seed and variant the final evaluation
(deterministic and sampled, as fpo-train prints it), the training return (the
trainer's running mean, best and final), and the env steps at which the run's
training return first reached the from-scratch run's final training return of the
same seed. With --svg-prefix, writes PREFIX-return.svg: the training return, mean
over seeds with a min-max band, and the demonstrations' mean return as a line.
Python 3 standard library only.
"""
import argparse
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_report import svg_chart  # noqa: E402
from stability_report import grid, load  # noqa: E402

NAMES = {"ft": "pretrained + --finetune", "pd": "pretrained + task settings",
         "scratch": "from scratch"}
COLORS = {"ft": "#1f77b4", "pd": "#2ca02c", "scratch": "#d62728"}
EVAL_RE = re.compile(r"deterministic return ([-\d.naif]+).*sampled return ([-\d.naif]+)")
REC_RE = re.compile(r"recorded (\d+) episodes, (\d+) steps, mean return ([-\d.naif]+)")


def last_eval(path):
    """(deterministic, sampled) of the last evaluation line of a stdout file."""
    if not os.path.exists(path):
        return math.nan, math.nan
    m = EVAL_RE.findall(open(path, errors="replace").read())
    return (float(m[-1][0]), float(m[-1][1])) if m else (math.nan, math.nan)


def f(v, fmt="%.0f"):
    return fmt % v if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def mean(v):
    v = [x for x in v if math.isfinite(x)]
    return sum(v) / len(v) if v else math.nan


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--svg-prefix")
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    runs = {}
    for name in sorted(os.listdir(a.out)):
        m = re.fullmatch(r"(ft|pd|scratch)-(\d+)", name)
        d = os.path.join(a.out, name)
        if m and os.path.exists(os.path.join(d, "log.csv")):
            r = load(d)
            if r:
                r["eval"] = last_eval(os.path.join(d, "stdout.txt"))
                r["pre"] = last_eval(os.path.join(d, "pretrained-eval.txt"))
                runs[(m.group(1), int(m.group(2)))] = r
    teacher = last_eval(os.path.join(a.out, "teacher.txt"))
    rec = math.nan
    if os.path.exists(os.path.join(a.out, "record.txt")):
        m = REC_RE.search(open(os.path.join(a.out, "record.txt")).read())
        if m:
            rec = float(m.group(3))
            print("Demonstrations: %s episodes, %s steps, mean return %s. Teacher's final "
                  "evaluation: deterministic %s, sampled %s.\n"
                  % (m.group(1), m.group(2), f(rec, "%.1f"), f(teacher[0], "%.1f"),
                     f(teacher[1], "%.1f")))
    seeds = sorted({s for _, s in runs})
    variants = [v for v in ("ft", "pd", "scratch") if any(k[0] == v for k in runs)]
    print("| seed | run | env steps | pretrained alone: det. / sampled | final eval: det. / "
          "sampled | training return: best / final | env steps to scratch's final |")
    print("|---|---|---|---|---|---|---|")
    agg = {v: [] for v in variants}
    for s in seeds:
        sc = runs.get(("scratch", s))
        target = next((y for y in reversed(sc["ret"]) if math.isfinite(y)), math.nan) if sc \
            else math.nan
        for v in variants:
            r = runs.get((v, s))
            if not r:
                continue
            ret = [y for y in r["ret"] if math.isfinite(y)]
            reach = next((x for x, y in zip(r["steps"], r["ret"])
                          if math.isfinite(y) and y >= target), math.nan)
            agg[v].append((r["steps"][-1], r["pre"], r["eval"], max(ret), ret[-1], reach))
            print("| %d | %s | %d | %s / %s | %s / %s | %s / %s | %s |" % (
                s, NAMES[v], r["steps"][-1], f(r["pre"][0]), f(r["pre"][1]), f(r["eval"][0]),
                f(r["eval"][1]), f(max(ret)), f(ret[-1]),
                f(reach, "%.0f") if v != "scratch" else "-"))
    for v in variants:
        x = agg[v]
        if not x:
            continue
        print("| mean | %s | %d | %s / %s | %s / %s | %s / %s | %s |" % (
            NAMES[v], x[0][0], f(mean([e[1][0] for e in x])), f(mean([e[1][1] for e in x])),
            f(mean([e[2][0] for e in x])), f(mean([e[2][1] for e in x])),
            f(mean([e[3] for e in x])), f(mean([e[4] for e in x])),
            "%d of %d reached" % (sum(math.isfinite(e[5]) for e in x), len(x))
            if v != "scratch" else "-"))
    if a.svg_prefix:
        series = []
        for v in variants:
            rs = [runs[(v, s)] for s in seeds if (v, s) in runs]
            pts, cols = grid([r["steps"] for r in rs], [r["ret"] for r in rs])
            mn = [mean(c) for c in zip(*cols)]
            lo = [min(c) for c in zip(*cols)]
            hi = [max(c) for c in zip(*cols)]
            series.append(("%s (%d seeds)" % (NAMES[v], len(rs)), pts, mn, lo, hi, COLORS[v]))
        if math.isfinite(rec) and series:
            top = max(s[1][-1] for s in series)
            series.append(("demonstrations' mean return", [0, top], [rec, rec], [rec, rec],
                           [rec, rec], "#7f7f7f"))
        svg_chart(a.svg_prefix + "-return.svg", a.title or "training return",
                  "training return (running mean)", series, headroom=0.3)


if __name__ == "__main__":
    main()
