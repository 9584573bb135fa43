#!/usr/bin/env python3
"""Summarize the FPO vs Gaussian PPO grid of bench/compare.sh.

    python3 bench/compare_report.py RESULTS_DIR [--md docs/results.md] [--svg-dir docs/results]
        [--notes NOTES.md]

Reads RESULTS_DIR/TASK/ALGO/seedS/{log.csv,stdout.txt,wall.txt,command.txt,evalN.txt}
(and failed.txt of a run the trainer stopped with an error: it is counted with the
evaluation of the policy it left, and marked) and writes a Markdown report (a table
of the final evaluation return, mean +- std over seeds per task and the ten-task mean, the per-run summary) plus one SVG
learning curve per task (mean over seeds of the running-mean episode return,
with a min-max band; FPO red, PPO blue). If --notes is given, that file's text is
inserted after the generated sections (the hand-written discussion).
Python 3 standard library only.
"""
import argparse
import csv
import math
import os
import re
import statistics

TASKS = ["ball-in-cup", "cartpole-balance", "cheetah-run", "finger-spin", "finger-turn-easy",
         "finger-turn-hard", "fish-swim", "point-mass", "reacher-easy", "reacher-hard"]
ALGOS = ["fpo", "ppo"]
COLORS = {"fpo": "#d62728", "ppo": "#1f77b4"}
LABELS = {"fpo": "FPO", "ppo": "Gaussian PPO"}
EVAL_RE = re.compile(r"evaluation over (\d+) episodes: deterministic return ([-\d.naif]+) \+- "
                     r"([-\d.naif]+) \(length ([-\d.naif]+)\), sampled return ([-\d.naif]+) \+- "
                     r"([-\d.naif]+)")


def load_run(d):
    run = {"dir": d}
    with open(os.path.join(d, "stdout.txt")) as f:
        m = None
        for line in f:
            mm = EVAL_RE.search(line)
            if mm:
                m = mm
    # A run the trainer stopped (compare.sh keeps it with failed.txt) has no
    # evaluation line of its own; its re-evaluation below is its result.
    try:
        with open(os.path.join(d, "failed.txt")) as f:
            run["failed"] = f.read().strip()
    except OSError:
        run["failed"] = ""
    if not m and not run["failed"]:
        return None
    run["train_eval_det"] = float(m.group(2)) if m else float("nan")
    # Prefer the longest re-evaluation (compare.sh EVAL_EPISODES -> evalN.txt).
    best = 0
    for name in os.listdir(d):
        mm = re.fullmatch(r"eval(\d+)\.txt", name)
        if mm and int(mm.group(1)) > best:
            with open(os.path.join(d, name)) as f:
                e = EVAL_RE.search(f.read())
            if e:
                best, m = int(mm.group(1)), e
    if not m:
        return None
    run["eval_episodes"] = int(m.group(1))
    run["det"] = float(m.group(2))
    run["det_std"] = float(m.group(3))
    run["sampled"] = float(m.group(5))
    xs, ys = [], []
    last = None
    max_kl = max_cfm = 0.0
    n_iter = n_bigkl = 0
    frozen_from = None  # start of a trailing stretch where the policy no longer moves
    with open(os.path.join(d, "log.csv")) as f:
        for row in csv.DictReader(f):
            last = row
            for key, val in (("kl", float(row["approx_kl"])), ("cfm", float(row["cfm_loss"]))):
                if not math.isfinite(val) or val > (max_kl if key == "kl" else max_cfm):
                    if key == "kl":
                        max_kl = val if math.isfinite(max_kl) else max_kl
                    else:
                        max_cfm = val if math.isfinite(max_cfm) else max_cfm
            n_iter += 1
            kl = float(row["approx_kl"])
            if not (kl <= 0.1):
                n_bigkl += 1
            still = abs(float(row["approx_kl"])) < 1e-9 and float(row["clip_fraction"]) == 0.0
            if not still:
                frozen_from = None
            elif frozen_from is None:
                frozen_from = int(float(row["env_steps"]))
            y = float(row["mean_return"])
            if math.isfinite(y):
                xs.append(float(row["env_steps"]))
                ys.append(y)
    run["x"], run["y"] = xs, ys
    run["frozen_from"] = frozen_from
    run["max_kl"], run["max_cfm"] = max_kl, max_cfm
    run["bigkl_pct"] = 100.0 * n_bigkl / n_iter if n_iter else float("nan")
    run["steps"] = int(float(last["env_steps"])) if last else 0
    run["train_s"] = float(last["elapsed_s"]) if last else float("nan")
    run["final_running"] = ys[-1] if ys else float("nan")
    run["sps"] = run["steps"] / run["train_s"] if last and run["train_s"] > 0 else float("nan")
    try:
        with open(os.path.join(d, "wall.txt")) as f:
            run["wall"] = float(f.read().strip())
    except OSError:
        run["wall"] = float("nan")
    try:
        with open(os.path.join(d, "command.txt")) as f:
            run["command"] = f.read().strip()
    except OSError:
        run["command"] = ""
    return run


def load_all(root):
    runs = {}
    for task in TASKS:
        for algo in ALGOS:
            base = os.path.join(root, task, algo)
            if not os.path.isdir(base):
                continue
            for name in sorted(os.listdir(base)):
                m = re.fullmatch(r"seed(\d+)", name)
                if not m:
                    continue
                r = load_run(os.path.join(base, name))
                if r:
                    r["seed"] = int(m.group(1))
                    runs.setdefault((task, algo), []).append(r)
    return runs


def mean_std(v):
    if not v:
        return float("nan"), float("nan")
    return statistics.fmean(v), statistics.pstdev(v) if len(v) > 1 else 0.0


def fmt(m, s):
    return "n/a" if math.isnan(m) else "%.1f &plusmn; %.1f" % (m, s)


# ---- SVG -------------------------------------------------------------------

def nice_ticks(lo, hi, n=5):
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((c * mag for c in (1, 2, 2.5, 5, 10) if c * mag >= raw), default=10 * mag)
    t = math.ceil(lo / step) * step
    out = []
    while t <= hi + 1e-9 * span:
        out.append(t)
        t += step
    return out


def fmt_steps(v):
    if abs(v) >= 1e6:
        return ("%.2f" % (v / 1e6)).rstrip("0").rstrip(".") + "M"
    if abs(v) >= 1e3:
        return ("%.0f" % (v / 1e3)) + "k"
    return "%g" % v


def aggregate(runs):
    """Mean, min and max over seeds on the step grid of the longest run; past the end
    of a shorter run (one the trainer stopped) over the seeds that are still running."""
    longest = max(runs, key=lambda r: len(r["x"]))
    n = len(longest["x"])
    if n == 0:
        return [], [], [], []
    xs = longest["x"]
    mean, lo, hi = [], [], []
    for i in range(n):
        v = [r["y"][i] for r in runs if i < len(r["y"])]
        mean.append(statistics.fmean(v))
        lo.append(min(v))
        hi.append(max(v))
    return xs, mean, lo, hi


def svg_chart(path, title, ylabel, series, headroom=0.0):
    """Curves against environment steps: series = [(name, xs, mean, lo, hi, color)], a
    band lo..hi around each mean; non-finite points are left out. headroom: share of
    the y range added on top (room for the legend). False if there is nothing to draw."""
    W, H, L, R, T, B = 640, 400, 70, 20, 40, 55
    pts = [(x, y) for s in series for x, lo, hi in zip(s[1], s[3], s[4]) for y in (lo, hi)
           if math.isfinite(y)]
    if not pts:
        return False
    x0, x1 = 0.0, max(x for x, _ in pts)
    y0, y1 = min(0.0, min(y for _, y in pts)), max(y for _, y in pts)
    if y1 - y0 < 1e-9:
        y1 = y0 + 1
    y1 += headroom * (y1 - y0)
    yt = nice_ticks(y0, y1)
    y1 = max(y1, yt[-1])

    def px(x):
        return L + (x - x0) / (x1 - x0 or 1) * (W - L - R)

    def py(y):
        return H - B - (y - y0) / (y1 - y0) * (H - T - B)

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="sans-serif" font-size="12">' % (W, H, W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="22" text-anchor="middle" font-size="15">%s</text>' % (W // 2, title)]
    for t in yt:
        o.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (L, W - R, py(t), py(t)))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (L - 6, py(t) + 4, t))
    for t in nice_ticks(x0, x1):
        o.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eee"/>' % (px(t), px(t), T, H - B))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (px(t), H - B + 16, fmt_steps(t)))
    o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>'
             % (L, T, W - L - R, H - T - B))
    o.append('<text x="%d" y="%d" text-anchor="middle">environment steps</text>' % ((L + W - R) // 2, H - 14))
    o.append('<text transform="translate(16,%d) rotate(-90)" text-anchor="middle">%s</text>'
             % ((T + H - B) // 2, ylabel))
    for name, xs, mean, lo, hi, color in series:
        keep = [i for i in range(len(xs)) if math.isfinite(mean[i])]
        if not keep:
            continue
        poly = ["%.1f,%.1f" % (px(xs[i]), py(hi[i])) for i in keep]
        poly += ["%.1f,%.1f" % (px(xs[i]), py(lo[i])) for i in reversed(keep)]
        o.append('<polygon points="%s" fill="%s" fill-opacity="0.18" stroke="none"/>' % (" ".join(poly), color))
        o.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>'
                 % (" ".join("%.1f,%.1f" % (px(xs[i]), py(mean[i])) for i in keep), color))
    ly = T + 16
    for s in series:
        o.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>'
                 % (L + 10, L + 30, ly - 4, ly - 4, s[5]))
        o.append('<text x="%d" y="%d">%s</text>' % (L + 36, ly, s[0]))
        ly += 16
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")
    return True


# ---- report ----------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--md", default="docs/results.md")
    ap.add_argument("--svg-dir", default="docs/results")
    ap.add_argument("--notes", default=None)
    ap.add_argument("--header", default=None, help="Markdown inserted before the tables")
    a = ap.parse_args()
    runs = load_all(a.results)
    os.makedirs(a.svg_dir, exist_ok=True)
    rel_svg = os.path.relpath(a.svg_dir, os.path.dirname(os.path.abspath(a.md)) or ".")

    md = ["# FPO vs Gaussian PPO on the ten DM Control tasks", "",
          "Generated by `bench/compare_report.py` from the runs of `bench/compare.sh`; "
          "the discussion below the tables is hand-written.", ""]
    if a.header:
        with open(a.header) as f:
            md += [f.read().rstrip(), ""]

    md += ["## Final evaluation return", "",
           "Deterministic evaluation of the final policy (FPO: zero sampling, the flow integrated "
           "from x_1 = 0; PPO: the Gaussian mean), mean &plusmn; std over seeds (population std) "
           "of each seed's mean over its evaluation episodes (%s per run). *Sampled* is the same with the "
           "stochastic policy. Budget = `--steps` of every run, the same for both algorithms (the "
           "trainer rounds up to whole 1024-step iterations)." % (
               "/".join(str(n) for n in sorted({r["eval_episodes"] for rr in runs.values() for r in rr}))
               or "n/a"), "",
           "| task | budget | seeds | FPO | Gaussian PPO | FPO sampled | PPO sampled |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    complete = []
    stopped_runs = []
    per_seed_sum = {"fpo": {}, "ppo": {}}
    for task in TASKS:
        f = runs.get((task, "fpo"), [])
        p = runs.get((task, "ppo"), [])
        if not f and not p:
            md.append("| %s | | 0 | not run | not run | | |" % task)
            continue
        asked = [int(m.group(1)) for r in f + p for m in [re.search(r"--steps (\d+)", r["command"])] if m]
        budget = max(asked) if asked else max(r["steps"] for r in f + p)
        nseeds = "%d / %d" % (len(f), len(p))
        stopped = ["%s seed %d" % (LABELS[algo], r["seed"]) for algo, rr in (("fpo", f), ("ppo", p))
                   for r in rr if r["failed"]]
        if stopped:
            stopped_runs.append((task, stopped))
            nseeds += " *"
        md.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            task, fmt_steps(budget), nseeds,
            fmt(*mean_std([r["det"] for r in f])), fmt(*mean_std([r["det"] for r in p])),
            fmt(*mean_std([r["sampled"] for r in f])), fmt(*mean_std([r["sampled"] for r in p]))))
        if f and p:
            complete.append(task)
        for algo, rr in (("fpo", f), ("ppo", p)):
            for r in rr:
                per_seed_sum[algo].setdefault(r["seed"], {})[task] = r
    # Ten-task mean: mean over tasks of the per-task mean; the std is over seeds of
    # each seed's mean over the tasks (as the paper reports it), when every task
    # has that seed.
    def task_mean(algo, key):
        means = [statistics.fmean([r[key] for r in runs[(t, algo)]]) for t in complete]
        m = statistics.fmean(means) if means else float("nan")
        seed_means = [statistics.fmean([per_seed_sum[algo][s][t][key] for t in complete])
                      for s in per_seed_sum[algo]
                      if all(t in per_seed_sum[algo][s] for t in complete)]
        sd = statistics.pstdev(seed_means) if len(seed_means) > 1 else float("nan")
        return m, sd
    if complete:
        label = "**%d-task mean**" % len(complete)
        vals = [task_mean("fpo", "det"), task_mean("ppo", "det"),
                task_mean("fpo", "sampled"), task_mean("ppo", "sampled")]
        md.append("| %s | | | %s | %s | %s | %s |" % (
            label, *["**%s**" % fmt(m, s) if not math.isnan(s) else "**%.1f**" % m for m, s in vals]))
        if len(complete) < len(TASKS):
            md.append("")
            md.append("The mean is over the %d tasks that have runs of both algorithms: %s."
                      % (len(complete), ", ".join(complete)))
        md.append("")
        md.append("For the ten-task mean, the &plusmn; is the std over seeds of each seed's mean "
                  "over the tasks.")
    if stopped_runs:
        md.append("")
        md.append("\\* Counted with the policy the trainer left when it stopped the run with an error "
                  "(the collapse guard's `FPO_EDIVERGED`: the state it restored): %s."
                  % "; ".join("%s: %s" % (t, ", ".join(w)) for t, w in stopped_runs))
    md.append("")

    md += ["## Learning curves", "",
           "Running-mean training episode return (the `mean_return` column of `log.csv`) against "
           "env steps; line = mean over seeds, band = min..max over seeds. FPO red, Gaussian "
           "PPO blue. A run the trainer stopped ends there; after that the line is the mean "
           "over the seeds still running.", ""]
    for task in TASKS:
        series = []
        for algo in ALGOS:
            rr = runs.get((task, algo), [])
            if rr:
                xs, mean, lo, hi = aggregate(rr)
                series.append(("%s (%d seeds)" % (LABELS[algo], len(rr)), xs, mean, lo, hi,
                               COLORS[algo]))
        if series:
            svg_chart(os.path.join(a.svg_dir, task + ".svg"), task,
                      "episode return (running mean)", series)
            md.append("![%s](%s/%s.svg)" % (task, rel_svg, task))
            md.append("")

    md += ["## Per-run summary", "",
           "train s = the trainer's elapsed time (rollouts + updates); wall s = the whole process "
           "including the two final evaluations; steps/s = env steps / train s; final running = "
           "the last running-mean training return; frozen from = the env step from which every "
           "remaining iteration had |approx_kl| < 1e-9 and clip_fraction == 0 (the policy stopped "
           "moving), if it happened; max KL / max CFM = the largest approx_kl and (FPO) cfm_loss of any "
           "iteration; KL>0.1 = the share of iterations whose approx_kl exceeded 0.1 (or was not "
           "finite): large values mark the divergent updates discussed below.", "",
           "| task | algo | seed | steps | train s | wall s | steps/s | final running | "
           "eval det (&plusmn; over episodes) | eval sampled | frozen from | max KL | max CFM | KL>0.1 |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    total_wall = 0.0
    for task in TASKS:
        for algo in ALGOS:
            for r in sorted(runs.get((task, algo), []), key=lambda r: r["seed"]):
                total_wall += r["wall"] if not math.isnan(r["wall"]) else 0
                ff = r["frozen_from"]
                md.append("| %s | %s | %s | %d | %.0f | %.0f | %.0f | %.1f | %.1f &plusmn; %.1f | %.1f | %s | %.3g | %s | %.0f%% |" % (
                    task, algo, "%d%s" % (r["seed"], " (stopped)" if r["failed"] else ""),
                    r["steps"], r["train_s"], r["wall"], r["sps"],
                    r["final_running"], r["det"], r["det_std"], r["sampled"],
                    fmt_steps(ff) if ff is not None and ff < r["steps"] else "-", r["max_kl"],
                    "%.3g" % r["max_cfm"] if algo == "fpo" else "-", r["bigkl_pct"]))
    md += ["", "Total wall time of these runs: %.0f s (%.1f min summed over the runs)." %
           (total_wall, total_wall / 60), ""]
    cmds = sorted({re.sub(r"--seed \S+", "--seed S", re.sub(r"--out \S+", "--out DIR", r["command"]))
                   for rr in runs.values() for r in rr})
    if cmds:
        md += ["Commands of the runs (`S` = seed, `DIR` = the run's directory):", "", "```"]
        md += cmds
        md += ["```", ""]

    if a.notes:
        with open(a.notes) as f:
            md += [f.read().rstrip(), ""]
    os.makedirs(os.path.dirname(os.path.abspath(a.md)), exist_ok=True)
    # The file's last section, "# HumanoidRootGoal", belongs to
    # bench/humanoid_report.py: keep it when rewriting the file.
    kept = ""
    if os.path.exists(a.md):
        with open(a.md) as f:
            old = f.read()
        at = old.find("\n# HumanoidRootGoal")
        if at >= 0:
            kept = "\n" + old[at:]
    with open(a.md, "w") as f:
        f.write("\n".join(md) + kept)
    print("wrote %s and %d curves in %s" % (a.md, len([t for t in TASKS if any(
        (t, al) in runs for al in ALGOS)]), a.svg_dir))


if __name__ == "__main__":
    main()
