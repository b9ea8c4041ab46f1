"""Size of the sup-F break test: rejection rate at 5% when there is no break.

Simulates iid normal series (constant-only regression, and a regression with a trending regressor) of
several lengths, applies ``analysis.breaks.sup_f_test`` with the default 15% trimming and simulated
asymptotic p-values, and prints the rejection rate with its binomial standard error, plus timings.

    .venv/bin/python benchmarks/break_size.py [--reps 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from analysis.breaks import sup_f_test


def rejection_rate(n: int, reps: int, seed: int, with_trend: bool = False, alpha: float = 0.05) -> float:
    rng = np.random.default_rng(seed)
    x = np.ones((n, 1))
    if with_trend:
        x = np.column_stack([x, np.linspace(0, 1, n)])
    hits = 0
    for _ in range(reps):
        y = x @ np.ones(x.shape[1]) + rng.normal(size=n)
        hits += sup_f_test(y, x).p < alpha
    return hits / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sup_f_test(np.random.default_rng(0).normal(size=50), np.ones((50, 1)))  # warm the null-distribution cache
    print(f"{'n':>5} {'k':>3} {'rejection@5%':>13} {'binomial SE':>12} {'sec':>6}")
    for n in (30, 50, 100, 200):
        for trend in (False, True):
            t0 = time.perf_counter()
            rate = rejection_rate(n, args.reps, args.seed, with_trend=trend)
            se = np.sqrt(0.05 * 0.95 / args.reps)
            print(f"{n:>5} {1 + trend:>3} {rate:>13.3f} {se:>12.3f} {time.perf_counter() - t0:>6.1f}")


if __name__ == "__main__":
    main()
