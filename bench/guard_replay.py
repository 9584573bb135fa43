#!/usr/bin/env python3
"""Replay the collapse guard's CFM rule on finished runs' log.csv files, with
other thresholds, to see when each would have judged a run collapsed.

    python3 bench/guard_replay.py RESULTS_DIR [RESULTS_DIR ...]

Every log.csv under the given directories whose runs logged a CFM loss (FPO)
is read. The guard (libfpo/guard.c) keeps the cfm_loss of its last 20 healthy
iterations, takes its median once 10 are known, remembers the lowest median
of a full window (the floor) and the first one (the early level), and calls
an update suspicious when its cfm_loss is above the early level and above
FACTOR x the floor; three suspicious updates in a row are a collapse. The
rules replayed:

    10x, 5x, 3x   that rule with FACTOR 10 (the library's), 5 and 3;
    med3x, med2x  the same, but the window's median (with the update in it)
                  against FACTOR x the floor: a slow creep, not a jump.

Each column shows the first iteration at which the rule fires, with the
training return there and its best so far, "-" when it never fires, or
"rb@N" when the real guard rolled back first, at iteration N (the run after a
rollback is not the run the rule would have seen; the 10x column of a run
the real guard stopped on its CFM rule shows the real verdict's iteration). A rule that fires on a run
that held its return is a false alarm; one that fires late on a run that fell
has missed it. The last columns give the run's best and final training return.
"""
import csv
import math
import os
import statistics
import sys

WINDOW, WARMUP, PERSIST = 20, 10, 3
RULES = [("10x", 10.0, False), ("5x", 5.0, False), ("3x", 3.0, False),
         ("med3x", 3.0, True), ("med2x", 2.0, True)]


def replay(rows, factor, use_median):
    hist, floor, early, run = [], 0.0, 0.0, 0
    for r in rows:
        rolled = int(r.get("rollbacks") or 0) > 0
        c = float(r["cfm_loss"])
        suspicious = False
        if len(hist) >= WARMUP and floor > 0.0 and c > early:
            x = statistics.median(hist[-(WINDOW - 1):] + [c]) if use_median else c
            suspicious = x > factor * floor
        if suspicious:
            run += 1
            if run >= PERSIST:
                return int(r["iteration"])
        if rolled:
            return -int(r["iteration"])
        if suspicious:
            continue
        run = 0
        hist.append(c)
        if len(hist) >= WINDOW:
            m = statistics.median(hist[-WINDOW:])
            if floor == 0.0 or m < floor:
                floor = m
            if early == 0.0:
                early = m
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    print("| run | " + " | ".join(n for n, _, _ in RULES) + " | best | final |")
    print("|---" * (len(RULES) + 3) + "|")
    for top in argv[1:]:
        for dirpath, _, files in sorted(os.walk(top)):
            if "log.csv" not in files:
                continue
            with open(os.path.join(dirpath, "log.csv")) as f:
                rows = list(csv.DictReader(f))
            if len(rows) < WINDOW or "cfm_loss" not in rows[0]:
                continue
            if not any(float(r["cfm_loss"]) > 0.0 for r in rows):
                continue  # not a flow policy
            ret = [float(r["mean_return"]) for r in rows]
            ret = [x if math.isfinite(x) else 0.0 for x in ret]
            cells = []
            for _, factor, med in RULES:
                it = replay(rows, factor, med)
                if it < 0:
                    cells.append("rb@%d" % -it)
                elif it == 0:
                    cells.append("-")
                else:
                    cells.append("%d (%.0f / %.0f)" % (it, ret[it - 1], max(ret[:it])))
            print("| %s | %s | %.0f | %.0f |" % (dirpath, " | ".join(cells), max(ret), ret[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
