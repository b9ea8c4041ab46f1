"""Benchmark: our Cox engine vs R's ``coxph(..., cluster = org_id)`` on the same organization-years.

Run on demand (not in CI), from the repository root::

    .venv/bin/python benchmarks/bench_cox.py --rows 1000000 10000000 [--repeat 3] [--skip-r] [--workdir DIR]

For each size it simulates yearly-split spells with delayed entry (founding and death dates to the month,
observation window 2000–2019, five covariates), writes them once to CSV, then times in fresh processes
(a) our ``CoxPH(ties="efron").fit(..., cluster="org_id")`` including its data preparation and robust
variance, with peak resident memory (``ru_maxrss``) of that process, and (b) R's full ``coxph`` call
(the user's experience, includes the model frame, the robust variance and the concordance statistic)
and R's fitter ``agreg.fit`` alone. Reading the CSV is not timed on either side; ``--repeat k`` reports the
best of k runs on both sides. Memory: ``peak_mb`` is the worker's ru_maxrss (includes reading the parquet
file), ``fit_alloc_peak_mb`` the tracemalloc peak of the fit's own allocations on top of the data frame.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
COVS = ["x1", "x2", "x3", "x4", "x5"]
BETA = np.array([0.3, -0.2, 0.1, 0.25, -0.15])


def simulate(n_rows: int, seed: int = 1) -> pd.DataFrame:
    """About ``n_rows`` organization-year spells (age clock) from a Cox model with time-varying x1, x2."""
    rng = np.random.default_rng(seed)
    first, last = 2000, 2019
    n_orgs = int(n_rows / 9.9)
    founded = rng.integers(1950, last + 1, n_orgs) + (rng.integers(0, 12, n_orgs) + 0.5) / 12
    y0 = np.maximum(np.floor(founded).astype(int), first)
    n_years = last - y0 + 1
    org = np.repeat(np.arange(n_orgs), n_years)
    pos = np.arange(org.size) - np.repeat(np.cumsum(n_years) - n_years, n_years)
    year = y0[org] + pos
    start = np.maximum(year - founded[org], 0.0)
    stop_full = year + 1 - founded[org]
    static = rng.normal(size=(n_orgs, 3))
    x = np.column_stack(
        [
            np.sin((year - 2000) / 3.0) + rng.normal(0, 0.1, org.size),  # environment-like, yearly
            rng.normal(size=org.size),  # log size-like, yearly
            static[org, 0],
            static[org, 1] > 0.5,
            np.clip(static[org, 2] * 0.2 + 0.4, 0, 1),
        ]
    ).astype(float)
    hazard = 0.06 * np.exp(x @ BETA)
    die = rng.random(org.size) < 1 - np.exp(-hazard * (stop_full - start))
    death_age = np.floor(start * 12 + rng.random(org.size) * (stop_full - start) * 12 + 1) / 12
    stop = np.where(die, np.minimum(np.maximum(death_age, start + 1 / 24), stop_full), stop_full)
    # keep spells up to and including each organization's first death
    first_death = pd.Series(np.where(die, pos, 10**6)).groupby(org).transform("min").to_numpy()
    keep = pos <= first_death
    df = pd.DataFrame({"org_id": org, "start": start, "stop": stop, "event": die.astype(int)})
    for i, c in enumerate(COVS):
        df[c] = np.round(x[:, i], 6)
    return df.loc[keep].reset_index(drop=True)


def fit_ours(path: str, repeat: int = 1) -> dict:
    """Fresh-process worker: read, fit with clustered SEs, report time and peak memory."""
    sys.path.insert(0, str(ROOT))
    import pyarrow.parquet as pq

    from analysis.cox import CoxPH

    df = pq.read_table(path).to_pandas(split_blocks=True, self_destruct=True)
    frame_mb = df.memory_usage(deep=True).sum() / 2**20
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kw = dict(start="start", stop="stop", event="event", covariates=COVS, cluster="org_id")
    elapsed = math.inf
    for _ in range(repeat):  # best of `repeat` runs (shared machines are noisy)
        t = time.perf_counter()
        m = CoxPH(ties="efron").fit(df, **kw)
        elapsed = min(elapsed, time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # allocation peak of the fit alone (numpy reports its buffers to tracemalloc), in a second, untimed run
    tracemalloc.start()
    CoxPH(ties="efron").fit(df, **kw)
    fit_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "t_ours": elapsed,
        "peak_mb": peak,
        "rss_after_load_mb": rss_loaded,
        "frame_mb": frame_mb,
        "fit_alloc_peak_mb": fit_peak,
        "coef": m.params_.tolist(),
        "robust_se": m.robust_se_.tolist(),
        "loglik": m.loglik_,
        "converged": m.converged_,
        "iterations": m.iterations_,
        "n": m.n_obs_,
        "events": m.n_events_,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--workdir", default="/tmp/bench_cox")
    ap.add_argument("--skip-r", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="report the best of this many runs (both sides)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(fit_ours(a.worker, a.repeat)))
        return
    wd = Path(a.workdir)
    wd.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in a.rows:
        csv, pq = wd / f"spells_{n}.csv", wd / f"spells_{n}.parquet"
        if not pq.exists():
            df = simulate(n)
            df.to_parquet(pq)
            df.to_csv(csv, index=False, float_format="%.10g")
            del df
        ours = json.loads(
            subprocess.run(
                [sys.executable, __file__, "--worker", str(pq), "--repeat", str(a.repeat)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        rec = {"rows": ours["n"], "events": ours["events"], **ours}
        if not a.skip_r:
            out = wd / f"r_{n}.json"
            subprocess.run(
                ["Rscript", str(ROOT / "benchmarks" / "bench_cox.R"), str(csv), str(out), str(a.repeat)],
                check=True,
            )
            r = json.loads(out.read_text())
            rec.update(
                t_coxph=r["t_coxph"],
                t_agreg=r["t_agreg"],
                max_rel_coef=float(np.max(np.abs(np.array(ours["coef"]) - r["coef"]) / np.abs(r["coef"]))),
                max_rel_rse=float(
                    np.max(np.abs(np.array(ours["robust_se"]) - r["robust_se"]) / np.array(r["robust_se"]))
                ),
            )
        rows.append(rec)
        print(json.dumps(rec), flush=True)
    cols = ["rows", "events", "t_ours", "t_coxph", "t_agreg", "peak_mb", "frame_mb", "fit_alloc_peak_mb"]
    cols += ["max_rel_coef", "max_rel_rse"]
    table = pd.DataFrame(rows).reindex(columns=cols)
    if "t_coxph" in table:
        table["ours/coxph"] = table["t_ours"] / table["t_coxph"]
        table["ours/agreg"] = table["t_ours"] / table["t_agreg"]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
