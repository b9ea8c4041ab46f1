"""AFT and Gompertz-Makeham mortality models at registry scale (on demand: `.venv/bin/python benchmarks/bench_aft.py`).

Times ``analysis.aft.fit_aft`` (log-logistic, log-normal) and ``analysis.makeham.fit_makeham`` on 1M yearly
spells (100k organizations × 10 years, a yearly time-varying covariate, 40% entering late), model-based and
clustered SEs. No assertion: the figures go into the notes (issue 13 target: ≤ 10 s per model at 1M spells)."""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from analysis.aft import fit_aft
from analysis.makeham import fit_makeham


def spells(n_orgs: int = 100_000, years: int = 10, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    entry = np.where(rng.random(n_orgs) < 0.4, rng.integers(1, 20, n_orgs), 0).astype(float)
    ids = np.repeat(np.arange(n_orgs), years)
    start = np.repeat(entry, years) + np.tile(np.arange(years), n_orgs)
    z = rng.normal(size=n_orgs * years)
    w = np.repeat(rng.normal(size=n_orgs), years)
    hazard = 0.03 * np.exp(0.3 * z - 0.2 * w)
    dead = rng.random(n_orgs * years) < hazard
    # an organization stops at its first death
    first_dead = (
        pd.Series(np.where(dead, np.tile(np.arange(years), n_orgs), years)).groupby(ids).transform("min")
    )
    keep = np.tile(np.arange(years), n_orgs) <= first_dead.to_numpy()
    out = pd.DataFrame(
        {"org_id": ids, "start": start, "stop": start + 1, "event": dead.astype(int), "z": z, "w": w}
    )
    return out[keep].reset_index(drop=True)


def main() -> None:
    n_orgs = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    sp = spells(n_orgs)
    print(f"{len(sp):,} spells, {sp['org_id'].nunique():,} organizations, {int(sp['event'].sum()):,} deaths")
    for label, fit in (
        ("AFT log-logistic", lambda se: fit_aft(sp, ["z", "w"], distribution="loglogistic", se_type=se)),
        ("AFT log-normal", lambda se: fit_aft(sp, ["z", "w"], distribution="lognormal", se_type=se)),
        ("Gompertz-Makeham", lambda se: fit_makeham(sp, ["z", "w"], se_type=se)),
    ):
        for se in ("model", "cluster_cr1"):
            t0 = time.perf_counter()
            res = fit(se)
            print(f"{label:18s} {se:12s} {time.perf_counter() - t0:6.2f} s  converged={res.fit['converged']}")


if __name__ == "__main__":
    main()
