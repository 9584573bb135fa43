#!/usr/bin/env python3
"""Where a cartpole-balance policy's return comes from, per reward factor.

    python3 bench/cartpole_parts.py REC_DIR...

REC_DIR holds obs.npy, act.npy and episode_ends.npy from `fpo-train --task
cartpole-balance --eval POLICY --record N --out REC_DIR`. For every recorded
step it evaluates the four factors of the task's reward (examples/tasks/mujoco/
cartpole.c) on the recorded observation and the squashed action, and prints
their means over all steps, and per episode the first step whose pole is below
cos 0.9 (-1: never) with the mean cos of the pole from then on. The factors are
taken on the observation before each step (the reward itself uses the state
after it), so their product's mean approximates the return / 1000. Needs numpy.
"""
import os
import sys

import numpy as np


def gauss_tol(x, margin, vam=0.1):
    """dm_control's tolerance with bounds (0, 0) and the gaussian sigmoid."""
    return vam ** ((x / margin) ** 2)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.split("\n\n")[1])
    for d in sys.argv[1:]:
        o = np.load(os.path.join(d, "obs.npy"))
        u = np.tanh(np.load(os.path.join(d, "act.npy"))[:, 0])
        ends = np.load(os.path.join(d, "episode_ends.npy"))
        x, c, thd = o[:, 0], o[:, 1], o[:, 4]
        up = (c + 1) / 2
        cen = (1 + gauss_tol(x, 2.0)) / 2
        ctrl = (4 + np.clip(1 - u ** 2, 0, 1)) / 5
        vel = (1 + gauss_tol(thd, 5.0)) / 2
        print(f"{d}: product {(up * cen * ctrl * vel).mean():.3f}  upright {up.mean():.3f}  "
              f"centered {cen.mean():.3f}  small_control {ctrl.mean():.3f}  "
              f"small_velocity {vel.mean():.3f}")
        start = 0
        for end in ends:
            seg = c[start:end]
            below = np.flatnonzero(seg < 0.9)
            first = int(below[0]) if below.size else -1
            after = f"{seg[first:].mean():.2f}" if first >= 0 else "-"
            print(f"  episode of {end - start} steps: first below cos 0.9 at step {first}, "
                  f"mean cos from then on {after}")
            start = end


if __name__ == "__main__":
    main()
