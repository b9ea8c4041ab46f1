"""Harrell's C on large counting-process data (run on demand: `.venv/bin/python benchmarks/bench_concordance.py`).

Times ``analysis.inference.concordance.concordance`` on 1M spells with integer ages (tie-heavy) and with
continuous ages (~100k distinct death times). No assertion: the figures go into the notes."""

from __future__ import annotations

import time

import numpy as np

from analysis.inference.concordance import concordance


def main(n: int = 1_000_000, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 20, n).astype(float)
    event = rng.random(n) < 0.1
    score = rng.normal(size=n)
    for label, stop in (
        ("integer ages", start + rng.integers(1, 15, n)),
        ("continuous ages", start + rng.exponential(5.0, n) + 1e-3),
    ):
        t0 = time.perf_counter()
        c = concordance(start, stop, event, score)
        print(
            f"{n:,} spells, {label}: {time.perf_counter() - t0:.2f} s (C = {c.estimate:.4f}, se = {c.se:.4f})"
        )


if __name__ == "__main__":
    main()
