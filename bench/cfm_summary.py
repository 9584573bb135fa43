#!/usr/bin/env python3
"""One line per FPO run: the CFM loss's drift and the return's best and final.

    python3 bench/cfm_summary.py RUN_DIR [RUN_DIR ...]

RUN_DIR holds fpo-train's log.csv (and, when there, eval20.txt). Printed per
run, as docs/stability.md's tables give them:
  - the peak of the 20-iteration medians of cfm_loss, as a multiple of the
    first such median, and the median of cfm_loss over the last quarter of the
    iterations, as the same multiple;
  - the training return (the running mean) at its best and at the end, and
    their ratio;
  - the collapse guard's rollbacks and the env steps reached;
  - the 20-episode evaluation line, deterministic / sampled, when eval20.txt
    exists.
"""
import csv
import math
import os
import re
import statistics
import sys


def summary(run):
    with open(os.path.join(run, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    if len(rows) < 20:
        return "%s: fewer than 20 iterations" % run
    cfm = [float(r["cfm_loss"]) for r in rows]
    med = [statistics.median(cfm[i:i + 20]) for i in range(0, len(cfm) - 19, 20)]
    last = statistics.median(cfm[3 * len(cfm) // 4:])
    ret = [float(r["mean_return"]) for r in rows]
    ret = [x if math.isfinite(x) else 0.0 for x in ret]
    best, final = max(ret), ret[-1]
    line = "%s: CFM peak %.2fx, last quarter %.2fx; return best %.0f, final %.0f (%.2f); " \
           "rollbacks %s; %.1fM env steps" % (
               run, max(med) / med[0], last / med[0], best, final,
               final / best if best > 0 else float("nan"), rows[-1]["rollbacks"],
               int(rows[-1]["env_steps"]) / 1e6)
    ev = os.path.join(run, "eval20.txt")
    if os.path.exists(ev):
        m = re.search(r"deterministic return (-?[\d.]+).*sampled return (-?[\d.]+)", open(ev).read())
        if m:
            line += "; eval %.0f / %.0f" % (float(m.group(1)), float(m.group(2)))
    return line


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for run in argv[1:]:
        print(summary(run))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
