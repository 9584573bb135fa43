#!/usr/bin/env python3
"""Which finger-turn targets a saved policy reaches, by how far the target is from the tip.

    python3 bench/turn_reach.py RECORD_DIR [RECORD_DIR ...] [--bins B]

Each RECORD_DIR holds obs.npy and episode_ends.npy from
`fpo-train --task finger-turn-easy --eval POLICY --record N --out RECORD_DIR` (sampled
actions, as in training rollouts). The turn observation (examples/tasks/mujoco/finger.c)
carries the tip and the target relative to the spinner's centre (columns 2-3 and 9-10,
(x, z)) and the tip's signed distance to the target's edge (column 11: <= 0 inside, where
the reward is 1). Per directory the script prints:
  - in-target: the mean share of an episode's steps with the tip inside the target (the
    return / 1000), and the share of episodes that never enter it;
  - the share of episodes that enter the target at some step, by the signed angle from the
    tip to the target at the episode's first step, in B bins over (-pi, pi] (the number of
    episodes in each bin in brackets): 0 is a target at the tip, +-pi one on the far side;
  - the median hinge rotation (largest minus smallest unwrapped tip angle) of the episodes
    that reached the target and of those that did not.
Needs numpy.
"""
import argparse
import math
import os
import sys

import numpy as np


def episodes(d):
    obs = np.load(os.path.join(d, "obs.npy"))
    ends = np.load(os.path.join(d, "episode_ends.npy")).astype(np.int64)
    if obs.ndim != 2 or obs.shape[1] < 12:
        sys.exit(f"{d}: obs.npy is {obs.shape}, not finger-turn's 12 columns")
    starts = np.concatenate([[0], ends[:-1]])
    return [obs[s:e] for s, e in zip(starts, ends) if e > s]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--bins", type=int, default=6)
    a = ap.parse_args()
    edges = np.linspace(-math.pi, math.pi, a.bins + 1)
    for d in a.dirs:
        eps = episodes(d)
        rel, reached, share, turned = [], [], [], []
        for ob in eps:
            target = math.atan2(ob[0, 9], ob[0, 10])
            tip = math.atan2(ob[0, 2], ob[0, 3])
            rel.append(math.pi - (math.pi - (target - tip)) % (2 * math.pi))
            inside = ob[:, 11] <= 0
            reached.append(bool(inside.any()))
            share.append(float(inside.mean()))
            ang = np.unwrap(np.arctan2(ob[:, 2], ob[:, 3]))
            turned.append(float(ang.max() - ang.min()))
        rel, reached, turned = np.array(rel), np.array(reached), np.array(turned)
        idx = np.clip(np.digitize(rel, edges) - 1, 0, a.bins - 1)
        print(f"{d}: {len(eps)} episodes, in-target {np.mean(share):.2f}, "
              f"never in the target {np.mean(~reached):.2f}")
        cells = []
        for k in range(a.bins):
            m = idx == k
            cells.append(f"{reached[m].mean():.2f} ({m.sum()})" if m.any() else "- (0)")
        print("  reached, by tip-to-target angle " +
              " | ".join(f"{edges[k]:+.2f}..{edges[k + 1]:+.2f}: {c}" for k, c in enumerate(cells)))
        med = lambda x: f"{np.median(x):.2f}" if len(x) else "-"
        print(f"  hinge rotation (rad), median: reached {med(turned[reached])}, "
              f"not reached {med(turned[~reached])}")


if __name__ == "__main__":
    main()
