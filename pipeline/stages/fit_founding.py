"""Stage ``fit_founding``: density-dependent founding models (nested Poisson and NB2 sequences on the
population-year series, and on every subpopulation-year panel with fixed effects and clustered SEs)."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from analysis.founding import fit_founding_models, fit_founding_panel
from analysis.founding_design import FoundingSpec
from analysis.results import ModelResult
from pipeline.core.params import stage_params
from pipeline.core.paths import DatasetPaths
from pipeline.stages.applicability import founding_verdict
from pipeline.stages.common import assessment_rules, not_applicable, read_inputs, write_results

log = logging.getLogger("fit_founding")


def fit_founding(
    population: pd.DataFrame,
    groups: pd.DataFrame | None,
    *,
    dataset: str,
    spec: dict[str, Any],
    density_scale: float,
    families: list[str],
    se_type: str,
    panel_se_type: str,
    panel_group_vars: list[str] | None,
) -> list[ModelResult]:
    """Every founding model of one dataset, in a stable order: population-level sequences, then panels.

    The density scale is the dataset's (one declared number, recorded in each result).
    """
    verdict = founding_verdict(population)
    if not verdict.applies:
        return [
            not_applicable(
                dataset=dataset, stage="fit_founding", unit="population-year", reason=verdict.reason
            )
        ]
    cfg = {**spec, "density_scale": density_scale}
    founding_spec = FoundingSpec.from_mapping(cfg)
    results = fit_founding_models(
        population, spec=founding_spec, families=families, se_type=se_type, dataset=dataset
    )
    available = [] if groups is None or groups.empty else list(dict.fromkeys(groups["group_var"].astype(str)))
    wanted = available if panel_group_vars is None else [g for g in panel_group_vars if g in available]
    absent = [g for g in panel_group_vars or [] if g not in available]
    if absent:  # the names resolve (checked at load); the data have no subpopulation-years for them
        note = f"No subpopulation panel for {', '.join(absent)}: no subpopulation-years with data."
        log.warning("%s", note)
        for res in results:
            res.notes.append(note)
    for var in wanted:
        sub = groups[groups["group_var"] == var]
        log.info("subpopulation panel by %s: %d groups", var, sub["group"].nunique())
        results += fit_founding_panel(
            sub,
            spec=founding_spec,
            families=families,
            se_type=panel_se_type,
            group_var=var,
            dataset=dataset,
        )
    return results


def run(dataset: str, params: dict[str, Any]) -> None:
    """Stage entry point."""
    ds = params["datasets"][dataset]
    cfg = stage_params(params, "fit_founding", dataset)
    paths = DatasetPaths(dataset)
    files = [paths.processed / "population.parquet"]
    if (paths.processed / "population_groups.parquet").exists():
        files.append(paths.processed / "population_groups.parquet")
    frames, hashes = read_inputs(files)
    results = fit_founding(
        frames["population"],
        frames.get("population_groups"),
        dataset=dataset,
        spec=cfg["spec"],
        density_scale=ds["density_scale"],
        families=cfg["families"],
        se_type=cfg["se_type"],
        panel_se_type=cfg["panel_se_type"],
        panel_group_vars=cfg["panel_group_vars"],
    )
    write_results(
        paths.results("founding"),
        results,
        stage="fit_founding",
        inputs=hashes,
        rules=assessment_rules(params),
        params=cfg,
    )
