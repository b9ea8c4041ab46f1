"""Benchmark: design matrix of a formula on organization-years (run on demand, not in CI).

Builds a synthetic panel of N organization-years (default 1,000,000: 100,000 organizations × 10 years,
8 districts) with a yearly population series, then times ``build_design`` (parse, check, evaluate the
ecology terms including a within-organization lag and by-year population lookups, subset, encode, formulaic
model matrix) and reports peak memory (max RSS of the process, including the synthetic input).

    python benchmarks/bench_formula.py [--n 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from analysis.formula import TermContext, build_design

FORMULA = (
    "growth ~ density + density_sq + log_size + lag(log_size, 1) + funding_share + age + foundings_lag"
    " + C(district, ref='d1') + density:C(district, ref='d1') + cluster(org_id)"
)
SUBSET = "district != 'd8' and year >= 2001"


def synthetic(n: int, years: int = 10, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` organization-years (n // years organizations × ``years`` years) and the population series."""
    rng = np.random.default_rng(seed)
    n_orgs = max(n // years, 1)
    year_list = np.arange(2000, 2000 + years)
    pop = pd.DataFrame(
        {
            "year": year_list,
            "density": np.linspace(50_000, 90_000, years).round(),
            "foundings": rng.poisson(5_000, years),
        }
    )
    org = np.repeat(np.arange(n_orgs), years)
    year = np.tile(year_list, n_orgs)
    oy = pd.DataFrame(
        {
            "org_id": np.char.add("org", org.astype(str)),
            "year": year,
            "age": (year - 1990 - org % 10).astype(float),
            "size": rng.lognormal(2.0, 1.0, len(org)),
            "funding_share": rng.random(len(org)),
            "district": pd.Categorical(np.char.add("d", (org % 8 + 1).astype(str))),
        }
    )
    oy["log_size"] = np.log(oy["size"])
    oy["growth"] = rng.normal(0, 0.2, len(org))
    oy["density"] = pop.set_index("year")["density"].reindex(year).to_numpy()
    return oy, pop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    oy, pop = synthetic(args.n)
    ctx = TermContext(density_scale=10_000, population=pop)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        d = build_design(FORMULA, oy, unit="org_year", ctx=ctx, subset=SUBSET)
        times.append(time.perf_counter() - t0)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"rows in: {len(oy):,}  sample: {d.n:,} x {d.x.shape[1]} columns  dropped: {d.dropped}")
    print(
        f"build_design: best {min(times):.2f} s, median {float(np.median(times)):.2f} s; peak RSS {peak_gb:.2f} GB"
    )


if __name__ == "__main__":
    main()
