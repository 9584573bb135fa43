#!/usr/bin/env python3
"""How much a sampler narrows a flow, computed by hand (docs/stability.md, "Why flows narrow").

For actions a ~ N(mu, s^2) on libfpo's path x_t = t eps + (1 - t) a (t = 1: noise, t = 0:
action), x_t is N((1 - t) mu, S_t^2) with S_t^2 = t^2 + (1 - t)^2 s^2, and the flow's
exact field moves a sample's standardized part z by x_t = (1 - t) mu + S_t z: the scale
c_t = S_t obeys dc/dt = c g(t), g(t) = (t - (1 - t) s^2) / S_t^2. An integrator applied to
that linear ODE from t = 1 (c = 1) to t = 0 ends at some c_0, and c_0 / s is the factor by
which its samples' spread differs from the flow's own: 1 for an exact integrator, below 1
when the sampler narrows the flow.

    python3 bench/sampler_spread.py            # the table of docs/stability.md
"""


def spread(s, steps, scheme):
    def g(t):
        return (t - (1 - t) * s * s) / (t * t + (1 - t) ** 2 * s * s)

    c, h = 1.0, 1.0 / steps
    for k in range(steps):
        t0 = 1.0 - k * h
        t1 = t0 - h
        if scheme == "euler":
            c -= h * g(t0) * c
        elif scheme == "heun":
            k1 = g(t0) * c
            k2 = g(t1) * (c - h * k1)
            c -= h * (k1 + k2) / 2
        elif scheme == "midpoint":
            c -= h * g(t0 - h / 2) * (c - h / 2 * g(t0) * c)
        else:
            raise ValueError(scheme)
    return c / s


def main():
    cols = [("euler", 10), ("euler", 20), ("euler", 50), ("midpoint", 10), ("heun", 10)]
    print("| action std s | " + " | ".join(f"{n} {k}" for n, k in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for s in (1.0, 0.5, 0.3, 0.1, 0.05, 0.02):
        print(f"| {s:g} | " + " | ".join(f"{spread(s, k, n):.3f}" for n, k in cols) + " |")


if __name__ == "__main__":
    main()
