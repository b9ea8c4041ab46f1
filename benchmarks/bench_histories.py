"""Benchmark: event histories for a national-scale registry (run on demand, not in CI).

Builds a synthetic register of N organizations (default 1,000,000) over a 30-year window with a full
organization-year panel (size and funding share), then times and measures peak memory of
build_organizations + population_series + population_groups + build_spells + build_org_years.
Target (issue 2): ≤ 60 s and ≤ 8 GB peak for 1e6 organizations (~15 million organization-years).

    python benchmarks/bench_histories.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from pipeline.data.histories import (
    build_org_years,
    build_organizations,
    build_spells,
    population_groups,
    population_series,
)


def synthetic_register(n: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    founded = rng.uniform(1960.0, 2024.999, n)
    life = rng.exponential(60.0, n)
    ended = founded + life
    ended[ended > 2026] = np.nan
    orgs = pd.DataFrame(
        {
            "org_id": np.char.add("org", np.arange(n).astype(str)),
            "founded": founded,
            "founded_precision": "day",
            "founded_year": np.floor(founded).astype(int),
            "ended": ended,
            "ended_precision": np.where(np.isnan(ended), "unknown", "day"),
            "ended_year": pd.array(np.floor(ended), dtype="Int64"),
            "end_reason": pd.array(np.where(rng.random(n) < 0.8, "dissolved", "merged"), dtype="string"),
            "district": pd.array(rng.choice(list("abcdefgh"), n), dtype="string"),
        }
    )
    first = np.maximum(np.floor(founded), 1995).astype(int)
    last = np.minimum(np.floor(np.nan_to_num(ended, nan=2024)), 2024).astype(int)
    k = np.maximum(last - first + 1, 0)
    idx = np.repeat(np.arange(n), k)
    off = np.arange(len(idx)) - np.repeat(np.cumsum(k) - k, k)
    panel = pd.DataFrame(
        {
            "org_id": orgs["org_id"].to_numpy()[idx],
            "year": first[idx] + off,
            "size": rng.lognormal(2.0, 1.0, len(idx)),
            "funding_share": rng.random(len(idx)),
        }
    )
    return orgs, panel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    t = time.perf_counter()
    orgs, panel = synthetic_register(args.n)
    print(
        f"synthetic register: {len(orgs):,} organizations, panel {len(panel):,} rows "
        f"({time.perf_counter() - t:.1f} s to generate)"
    )
    window = (1995, 2024)
    reasons = {"dissolved": "death", "merged": "competing"}
    t0 = time.perf_counter()
    o = build_organizations(orgs, window=window, end_reasons=reasons, group_columns=["district"], panel=panel)
    t1 = time.perf_counter()
    pop = population_series(o, window=window, panel=panel)
    t2 = time.perf_counter()
    groups = population_groups(o, window=window, group_columns=["district"], panel=panel)
    t3 = time.perf_counter()
    sp = build_spells(o, pop, window=window, panel=panel, group_columns=["district"])
    t4 = time.perf_counter()
    oy = build_org_years(o, panel, pop, window=window, group_columns=["district"])
    t5 = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"organizations      {t1 - t0:6.1f} s")
    print(f"population series  {t2 - t1:6.1f} s")
    print(f"population groups  {t3 - t2:6.1f} s  ({len(groups):,} rows)")
    print(f"spells             {t4 - t3:6.1f} s  ({len(sp):,} rows)")
    print(f"org-years          {t5 - t4:6.1f} s  ({len(oy):,} rows)")
    print(f"total              {t5 - t0:6.1f} s; peak RSS {peak_gb:.2f} GB (includes the synthetic input)")


if __name__ == "__main__":
    main()
