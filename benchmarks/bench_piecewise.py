"""Benchmark: episode splitting and the piecewise-exponential fit at 1M and 10M spells.

Run: ``python benchmarks/bench_piecewise.py [n_rows ...] [--statsmodels]``. Prints wall-clock seconds for
``split_episodes``, the glum-based ``fit_piecewise_exponential`` (model SEs and CR1 cluster SEs) and, with
``--statsmodels``, statsmodels' GLM on the same design as the cross-check engine. Target: fit < 15 s at 10M.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from analysis.piecewise import fit_piecewise_exponential, split_episodes


def make_spells(n_rows: int, seed: int = 1) -> pd.DataFrame:
    """Yearly spells of organizations with ~10 spells each; density, funding share, a type dummy."""
    rng = np.random.default_rng(seed)
    n_org = max(1, n_rows // 10)
    org = np.repeat(np.arange(n_org), 10)[:n_rows]
    k = np.tile(np.arange(10), n_org)[:n_rows]
    entry = rng.uniform(0, 8, n_org)[org]
    start = entry + k
    x = rng.normal(size=n_rows)
    dens = rng.uniform(0.5, 1.5, n_rows)
    eta = -3 + 0.3 * x - 0.8 * dens + 0.4 * dens**2
    event = (rng.uniform(size=n_rows) < 1 - np.exp(-np.exp(eta))).astype(np.int8)
    stop = start + np.where(event == 1, rng.uniform(0.01, 1.0, n_rows), 1.0)  # deaths happen during the year
    return pd.DataFrame(
        {
            "org_id": org,
            "start": start,
            "stop": stop,
            "event": event,
            "x": x,
            "density": dens,
            "density_sq": dens**2,
            "typeB": (org % 3 == 0).astype(float),
        }
    )


def main(sizes: list[int], with_statsmodels: bool) -> None:
    for n in sizes:
        sp = make_spells(n)
        t0 = time.perf_counter()
        ep = split_episodes(sp)
        t1 = time.perf_counter()
        res = fit_piecewise_exponential(ep, ["x", "density", "density_sq", "typeB"])
        t2 = time.perf_counter()
        res_cl = fit_piecewise_exponential(ep, ["x", "density", "density_sq", "typeB"], se_type="cluster_cr1")
        t3 = time.perf_counter()
        res_nt = fit_piecewise_exponential(ep, ["x", "density", "density_sq", "typeB"], engine="newton")
        t3b = time.perf_counter()
        diff = max(abs(a.coef - b.coef) for a, b in zip(res.terms, res_nt.terms, strict=True))
        print(
            f"n_spells={n:>10,d} episodes={len(ep):>10,d} split={t1 - t0:6.2f}s "
            f"fit(glum, model SE)={t2 - t1:6.2f}s fit(glum, CR1)={t3 - t2:6.2f}s converged={res.fit['converged']}"
            f"/{res_cl.fit['converged']} fit(newton, model SE)={t3b - t3:6.2f}s max|glum-newton|={diff:.1e}",
            flush=True,
        )
        if with_statsmodels:
            import statsmodels.api as sm

            x = np.column_stack(
                [
                    pd.get_dummies(ep["piece"]).to_numpy(float),
                    ep[["x", "density", "density_sq", "typeB"]].to_numpy(float),
                ]
            )
            t4 = time.perf_counter()
            sm.GLM(
                ep["event"].to_numpy(float),
                x,
                family=sm.families.Poisson(),
                offset=np.log(ep["exposure"].to_numpy()),
            ).fit(tol=1e-10)
            t5 = time.perf_counter()
            print(f"    statsmodels GLM fit={t5 - t4:6.2f}s", flush=True)
        del sp, ep


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main([int(a) for a in args] or [1_000_000, 10_000_000], "--statsmodels" in sys.argv)
