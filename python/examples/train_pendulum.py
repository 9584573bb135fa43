#!/usr/bin/env python3
"""Train a policy on a Pendulum written in pure Python, with libfpo's trainer.

    FPO_LIBRARY=build/libfpo/libfpo.so.1 PYTHONPATH=python \\
        python3 python/examples/train_pendulum.py [--algo fpo|ppo] [--steps N] [--out FILE]

Prints one line per finished batch of episodes, saves the policy, reloads it
and evaluates the deterministic policy on a few episodes.
"""

import argparse
import math
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import libfpo  # noqa: E402


class Pendulum(libfpo.Env):
    """Classic swing-up (gym Pendulum-v1 dynamics): obs [cos th, sin th, thdot],
    torque in [-2, 2], reward -(th^2 + .1 thdot^2 + .001 u^2), 200-step episodes."""

    obs_dim, act_dim = 3, 1
    action_low, action_high = [-2.0], [2.0]

    def reset(self, seed):
        rng = random.Random(seed)
        self.th, self.thdot, self.t = rng.uniform(-math.pi, math.pi), rng.uniform(-1, 1), 0
        return [math.cos(self.th), math.sin(self.th), self.thdot]

    def step(self, action):
        u = min(2.0, max(-2.0, action[0]))
        angle = (self.th + math.pi) % (2 * math.pi) - math.pi
        reward = -(angle ** 2 + 0.1 * self.thdot ** 2 + 0.001 * u ** 2)
        self.thdot = min(8.0, max(-8.0, self.thdot + (15.0 * math.sin(self.th) + 3.0 * u) * 0.05))
        self.th += self.thdot * 0.05
        self.t += 1
        obs = [math.cos(self.th), math.sin(self.th), self.thdot]
        return obs, reward, False, self.t >= 200  # time limit: truncated, not terminated


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--algo", choices=["fpo", "ppo"], default="fpo")
    ap.add_argument("--steps", type=int, default=60000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="pendulum.fpo")
    args = ap.parse_args()

    nets = dict(actor_hidden=[64, 64], actor_activation="tanh",
                critic_hidden=[64, 64], critic_activation="tanh")
    opt = dict(lr=1e-3, epochs=10, minibatches=4, gamma=0.99, gae_lambda=0.95,
               reward_scale=0.1, entropy_coef=0.0, clip_eps=0.05 if args.algo == "fpo" else 0.2)

    def progress(p):
        if p.episodes.episodes:
            print("iter %4d  steps %7d  return %8.1f  ratio %.3f  %.1fs" % (
                p.iteration, p.env_steps, p.episodes.mean_return, p.update.ratio_mean,
                p.elapsed_seconds))

    # threads=1: the environment is Python, so its steps run under the GIL anyway.
    with libfpo.Trainer(Pendulum, algo=args.algo, num_envs=8, horizon=32, seed=args.seed,
                        threads=1, policy=nets, optimizer=opt) as trainer:
        trainer.run(args.steps, progress=progress)
        trainer.policy.save(args.out)
    print("saved", args.out)

    policy = libfpo.Policy.load(args.out)
    sampler = libfpo.Sampler(policy, deterministic=True, max_batch=8)
    venv = libfpo.VecEnv(Pendulum, num_envs=8, seed=12345)
    obs = venv.reset()
    for _ in range(200):
        obs = venv.step(sampler.act(obs)).obs
    st = venv.episode_stats()
    print("deterministic policy: mean return %.1f over %d episodes (min %.1f, max %.1f)"
          % (st.mean_return, st.episodes, st.min_return, st.max_return))


if __name__ == "__main__":
    main()
