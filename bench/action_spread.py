#!/usr/bin/env python3
"""How widely a saved policy still explores, state by state.

    python3 bench/action_spread.py POLICY RECORD_DIR [--samples K] [--every N] [--seed S]

RECORD_DIR holds obs.npy from `fpo-train --eval POLICY --record N --out RECORD_DIR`
(the states the policy visits). For every N-th recorded observation the policy's
sampler draws K actions as in training rollouts and the script prints, over all
(state, action dimension) cells:
  - minority: the mean probability of the less likely sign of the unbounded action,
    min(P(x > 0), P(x < 0)) (the side of the middle of the bounds the action is on);
    0 means the dimension's sign is decided, 0.5 a coin flip;
  - decided: the share of cells whose minority sign has probability below 1%;
  - saturated: the share of drawn actions within 1% of a bound;
  - std: the mean over cells of the per-state standard deviation of the squashed
    action in [-1, 1] (before the affine map onto the environment's bounds);
  - raw std: the same of the unbounded action x_0 (after the sampler's clamp).
--integrator and --steps pick the sampler (default: the library's sampler
defaults, midpoint with 10 steps), --sde-noise its per-step noise (default 0:
the flow's own ODE samples; fpo-train --sde-noise X rolls out with X); comparing a run with --steps 200 against the default measures how far
the rollout integrator's samples are from the flow's own distribution.
--from START (a saved policy of the same shapes, e.g. a run's pretrained.fpo)
adds how far the policy moved from START: the root mean square, over the same
states and dimensions, of the change of the deterministic action (zero initial
noise for a flow, the mean for a Gaussian) in [-1, 1], and START's std.
Flow and Gaussian policies alike. Needs numpy and the Python binding
(FPO_LIBRARY=path/to/libfpo.so if the library is not installed).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import libfpo  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("policy")
    ap.add_argument("record_dir")
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--integrator", choices=("euler", "heun", "midpoint"))
    ap.add_argument("--steps", type=int)
    ap.add_argument("--sde-noise", type=float)
    ap.add_argument("--from", dest="start", metavar="START")
    a = ap.parse_args()
    pol = libfpo.Policy.load(a.policy)
    obs = np.load(os.path.join(a.record_dir, "obs.npy")).astype(np.float32)[:: a.every]
    opts = {k: v for k, v in (("integrator", a.integrator), ("steps", a.steps),
                              ("sde_noise", a.sde_noise)) if v is not None}
    s = libfpo.Sampler(pol, seed=a.seed, max_batch=len(obs), **opts)
    # The unbounded actions x_0: their sign is the bounded action's side of the
    # middle of its bounds, and the squash says where x_0 saturates.
    raw = np.stack([np.asarray(s.act(obs, raw=True)[1]) for _ in range(a.samples)])  # K x n x A
    squashed = np.tanh(raw) if pol.config["squash"] == "tanh" else np.clip(raw, -1.0, 1.0)
    pos = (raw > 0).mean(axis=0)
    minority = np.minimum(pos, 1.0 - pos)
    print(f"{a.policy}: {len(obs)} states x {raw.shape[2]} dims x {a.samples} draws: "
          f"minority {minority.mean():.3f}  decided {(minority < 0.01).mean():.3f}  "
          f"saturated {(np.abs(squashed) > 0.99).mean():.3f}  "
          f"std {squashed.std(axis=0).mean():.3f} (of the squashed action in [-1, 1])  "
          f"raw std {raw.std(axis=0).mean():.3f}")
    if a.start:
        start = libfpo.Policy.load(a.start)
        s0 = libfpo.Sampler(start, seed=a.seed, max_batch=len(obs), **opts)
        raw0 = np.stack([np.asarray(s0.act(obs, raw=True)[1]) for _ in range(a.samples)])
        sq0 = np.tanh(raw0) if start.config["squash"] == "tanh" else np.clip(raw0, -1.0, 1.0)
        d = libfpo.Sampler(pol, max_batch=len(obs), deterministic=True, **opts)
        d0 = libfpo.Sampler(start, max_batch=len(obs), deterministic=True, **opts)
        sq = (lambda x: np.tanh(x)) if pol.config["squash"] == "tanh" else (lambda x: np.clip(x, -1.0, 1.0))
        move = sq(np.asarray(d.act(obs, raw=True)[1])) - sq(np.asarray(d0.act(obs, raw=True)[1]))
        print(f"  moved from {a.start}: deterministic action rms {np.sqrt(np.mean(move ** 2)):.3f} "
              f"(in [-1, 1]); its std there {sq0.std(axis=0).mean():.3f}")


if __name__ == "__main__":
    main()
