"""Recovery and 95% CI coverage of every simulator parameter by the pipeline's own models.

Each replica draws a population from the default simulator (``pipeline.simulate.population``, seed = base + i), takes
its clean frames through the same event-history and model functions the stages call (with the
specifications of ``params.yaml`` for the ``default`` dataset), and records for every true parameter
(``pipeline.stages.render_report.truth_mapping``) the estimate and whether the 95% CI covers the truth.

    python benchmarks/recovery_coverage.py --reps 200 --seed 1000 [--workers 2] [--csv out.csv]

Run on demand (minutes); the figures are reported in docs/simulator.md.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import time

import numpy as np
import pandas as pd

from analysis.formula.growth import legacy_lists, uses_legacy_names
from pipeline.core.dataset_columns import measure_aliases
from pipeline.core.params import load_params, stage_params
from pipeline.data.histories import build_org_years, build_organizations, build_spells, population_series
from pipeline.simulate.population import SimConfig, simulate_population
from pipeline.stages.fit_founding import fit_founding
from pipeline.stages.fit_growth import fit_growth
from pipeline.stages.fit_survival import fit_survival
from pipeline.stages.render_report import truth_mapping

PARAMS = load_params("params.yaml")
DS = PARAMS["datasets"]["default"]
WINDOW = (DS["window"]["start"], DS["window"]["end"])


def validated_frames(pop) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The simulator's clean frames in the validated-table contract (day-precision dates)."""
    o = pop.organizations
    orgs = pd.DataFrame(
        {
            "org_id": o["org_id"].astype("string"),
            "founded": o["founded_dec"].astype(float),
            "founded_precision": "day",
            "founded_year": o["founded_year"].astype("Int64"),
            "ended": o["ended_dec"].astype(float),
            "ended_precision": np.where(o["ended_dec"].notna(), "day", "unknown"),
            "ended_year": o["ended_year"].astype("Int64"),
            "end_reason": o["end_reason"].astype("string"),
            "district": o["district"].astype("string"),
            "type": o["type"].astype("string"),
        }
    )
    p = pop.panel
    panel = pd.DataFrame(
        {
            "org_id": p["org_id"].astype("string"),
            "year": p["year"].astype(int),
            "size": p["staff"].astype(float),
            "funding_share": p["gov_share"].astype(float),
            "revenue": p["revenue"].astype(float),
        }
    )
    return orgs, panel, pop.environment.copy()


def one_replica(seed: int) -> list[dict]:
    """Fit one replica; one row per true parameter: estimate, SE, CI, covered."""
    pop = simulate_population(SimConfig(), seed=seed)
    orgs, panel, env = validated_frames(pop)
    groups = DS["group_columns"]
    built = build_organizations(
        orgs, window=WINDOW, end_reasons=DS["end_reasons"], group_columns=groups, panel=panel
    )
    population = population_series(built, window=WINDOW, panel=panel, environment=env)
    spells = build_spells(
        built, population, window=WINDOW, panel=panel, environment=env, group_columns=groups
    )
    org_years = build_org_years(
        built, panel, population, window=WINDOW, environment=env, group_columns=groups
    )
    fcfg = stage_params(PARAMS, "fit_founding", "default")
    scfg = stage_params(PARAMS, "fit_survival", "default")
    gcfg = stage_params(PARAMS, "fit_growth", "default")
    results = fit_founding(
        population,
        None,
        dataset="default",
        spec=fcfg["spec"],
        density_scale=DS["density_scale"],
        families=["negative_binomial"],
        se_type=fcfg["se_type"],
        panel_se_type="cluster",
        panel_group_vars=[],
    )
    results += fit_survival(
        spells,
        dataset="default",
        window=WINDOW,
        density_scale=DS["density_scale"],
        cfg={**scfg, "parametric": []},
        environment=DS["environment"]["covariates"],
        groups=[],
        population=population,
        aliases=measure_aliases(DS),
    )
    legacy = uses_legacy_names(gcfg)
    covariates, age_terms, environment = legacy_lists(gcfg) if legacy else ([], [], [])
    results += fit_growth(  # as pipeline.stages.fit_growth.run, on the in-memory histories
        org_years,
        dataset="default",
        covariates=covariates,
        age_terms=age_terms,
        environment=environment,
        formula=None if legacy else gcfg["formula"],
        population=population,
        aliases=measure_aliases(DS),
        subset=gcfg["subset"],
        density_scale=DS["density_scale"],
        k_convention=gcfg["k_convention"],
        scaling=gcfg["size_variance"],
        seed=PARAMS["seed"],
    )
    by_key = {
        (area, r.model): r
        for r in results
        for area in ("founding", "survival", "growth")
        if r.stage == f"fit_{area}"
    }
    rows = []
    for key, truth in truth_mapping(pop.truth).items():
        area, model, term = key.split("/", 2)
        res = by_key.get((area, model))
        row = {
            "seed": seed,
            "parameter": key,
            "truth": truth,
            "estimate": math.nan,
            "se": math.nan,
            "covered": False,
        }
        if res is not None and res.fit.get("converged"):
            t = next((t for t in res.terms if t.term == term), None)
            if t is not None:
                row.update(estimate=t.coef, se=t.se, covered=bool(t.ci_low <= truth <= t.ci_high))
        rows.append(row)
    return rows


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: truth, mean estimate, bias, empirical SD, mean SE, coverage and its Monte Carlo SE."""
    g = rows.groupby("parameter", sort=False)
    out = pd.DataFrame(
        {
            "truth": g["truth"].first(),
            "mean_estimate": g["estimate"].mean(),
            "sd_estimate": g["estimate"].std(),
            "mean_se": g["se"].mean(),
            "coverage": g["covered"].mean(),
            "reps": g.size(),
        }
    )
    out["bias"] = out["mean_estimate"] - out["truth"]
    out["coverage_mc_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["reps"])
    return out[
        ["truth", "mean_estimate", "bias", "sd_estimate", "mean_se", "coverage", "coverage_mc_se", "reps"]
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--csv", default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    seeds = [args.seed + i for i in range(args.reps)]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        rows = [r for reps in pool.imap(one_replica, seeds) for r in reps]
    table = summarize(pd.DataFrame(rows))
    with pd.option_context("display.width", 160, "display.max_rows", 100):
        print(table.round(4).to_string())
    print(f"{args.reps} replicas in {time.perf_counter() - t0:.0f} s")
    if args.csv:
        table.to_csv(args.csv)


if __name__ == "__main__":
    main()
