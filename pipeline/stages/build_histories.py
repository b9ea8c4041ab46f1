"""Stage ``build_histories``: organizations table, spells, organization-years and population series
(overall and per subpopulation) from the cleaned tables; or, for population-series datasets, the yearly
series put on the 1-January density convention."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.columns import DENSITY, DENSITY_SQ, FOUNDINGS, YEAR
from pipeline.core.io import atomic_dir, write_json, write_parquet
from pipeline.core.params import stage_params
from pipeline.core.paths import DatasetPaths
from pipeline.data.coverage import usable_values
from pipeline.data.histories import (
    build_org_years,
    build_organizations,
    build_spells,
    population_groups,
    population_series,
    truncated_density_note,
    unknown_founding_note,
)

log = logging.getLogger("build_histories")


def series_population(frame: pd.DataFrame, *, window: tuple[int, int], density_timing: str) -> pd.DataFrame:
    """Population-series input on the pipeline's conventions.

    With ``density_timing="end_of_year"`` the given stock is a year-end count, so density on 1 January
    of t is the count given for t − 1 (NaN if that year is missing) and ``density_end`` is the count of t.
    ``exits`` is the sum of the exit kinds given when no total is given.
    """
    start, end = window
    src = frame.set_index(YEAR).sort_index()
    years = np.arange(start, end + 1)
    out = pd.DataFrame({YEAR: years})
    given = src[DENSITY].astype(float)
    if density_timing == "end_of_year":
        out[DENSITY] = given.reindex(years - 1).to_numpy()
        out["density_end"] = given.reindex(years).to_numpy()
    else:
        out[DENSITY] = given.reindex(years).to_numpy()
        out["density_end"] = given.reindex(years + 1).to_numpy()
    out[DENSITY_SQ] = out[DENSITY] ** 2
    exit_cols = [c for c in src.columns if c.startswith("exits_")]
    for col in [FOUNDINGS, "exits", "mass", *exit_cols]:
        if col in src:
            out[col] = pd.to_numeric(src[col].reindex(years), errors="coerce").to_numpy()
    if "exits" not in out and exit_cols:
        out["exits"] = out[exit_cols].sum(axis=1, min_count=len(exit_cols))
    for col in [FOUNDINGS, "exits", "mass"]:
        if col not in out:
            out[col] = np.nan
    keep = [c for c in src.columns if c not in out.columns and c not in ("source_row",)]
    for col in keep:
        values = src[col].reindex(years)
        numeric = pd.to_numeric(values, errors="coerce")
        # counts kept alongside (e.g. sub-type stocks) become numbers; flags and sources stay text
        out[col] = numeric.to_numpy() if numeric.notna().sum() == values.notna().sum() else values.to_numpy()
    out["observed"] = out[YEAR].isin(src.index)
    return out


def run(dataset: str, params: dict[str, Any]) -> None:
    """Stage entry point."""
    ds = params["datasets"][dataset]
    cfg = stage_params(params, "build_histories", dataset)
    paths = DatasetPaths(dataset)
    window = (ds["window"]["start"], ds["window"]["end"])
    tables = {p.stem: pd.read_parquet(p) for p in sorted(paths.clean.glob("*.parquet"))}
    outputs: dict[str, pd.DataFrame] = {}
    metadata: dict[str, Any] = {"dataset": dataset}
    if ds["kind"] == "population":
        outputs["population"] = series_population(
            tables["population"], window=window, density_timing=ds["population"]["density_timing"]
        )
    else:
        panel = tables.get("panel")
        env = tables.get("environment")
        groups = ds["group_columns"]
        orgs = build_organizations(
            tables["organizations"],
            window=window,
            end_reasons=ds["end_reasons"],
            missing_end_reason=ds["missing_end_reason"],
            group_columns=groups,
            cohort_width=cfg["cohort_width"],
            panel=panel,
            vanished_rule=cfg["vanished"]["rule"],
            grace_years=cfg["vanished"]["grace_years"],
            left_truncated_density=cfg["left_truncated_density"],
        )
        note = truncated_density_note(orgs, window_start=window[0], rule=cfg["left_truncated_density"])
        metadata["left_truncated_density"] = note
        if note["organizations"]:
            log.warning("%s", note["statement"])
        unknown = unknown_founding_note(orgs)
        metadata["unknown_founding"] = unknown
        if unknown.get("statement"):
            log.warning("%s (%s)", unknown["statement"], ", ".join(unknown["org_ids"]))
        pop = population_series(orgs, window=window, panel=panel, environment=env)
        outputs["organizations"] = orgs
        outputs["population"] = pop
        outputs["population_groups"] = population_groups(
            orgs, window=window, group_columns=groups, panel=panel, environment=env
        )
        log.info("building spells for %d organizations", int(orgs["in_spells"].sum()))
        outputs["spells"] = build_spells(
            orgs, pop, window=window, panel=panel, environment=env, group_columns=groups
        )
        outputs["org_years"] = build_org_years(
            orgs, panel, pop, window=window, environment=env, group_columns=groups
        )
    with atomic_dir(paths.processed) as out:
        for name, frame in outputs.items():
            write_parquet(out / f"{name}.parquet", frame)
            log.info("%s: %d rows", name, len(frame))
        metadata["usable"] = usable_values(outputs, ("spells", "org_years", "population"))
        write_json(out / "histories.json", metadata)
