"""Stage ``fit_growth``: Gibrat growth regressions (pooled, organization FE, two-way FE) and the
size–variance scaling of growth rates, on the organization-years of a dataset with a size measure."""

from __future__ import annotations

import logging
from typing import Any

from analysis.growth import fit_gibrat_models, size_variance_scaling
from pipeline.core.params import stage_params
from pipeline.core.paths import DatasetPaths
from pipeline.stages.common import assessment_rules, not_applicable, read_inputs, usable_terms, write_results

log = logging.getLogger("fit_growth")


def fit_growth(
    org_years,
    *,
    dataset: str,
    covariates: list[str],
    age_terms: list[str],
    environment: list[str],
    density_scale: float,
    k_convention: str,
    scaling: dict[str, Any],
    seed: int,
) -> list:
    """All growth models of one dataset. Covariates whose every value is missing are left out (recorded in
    each model's notes); a name absent from the organization-years is an error."""
    if org_years is None or "size" not in org_years or org_years["growth"].notna().sum() == 0:
        return [
            not_applicable(
                dataset=dataset,
                stage="fit_growth",
                unit="organization-year",
                reason="this dataset has no organization-level size measure: growth models do not apply",
            )
        ]
    usable, left_out = usable_terms(org_years, covariates, what="fit_growth.covariates")
    env, left_env = usable_terms(org_years, environment, what="fit_growth.environment")
    left_out += left_env
    results = fit_gibrat_models(
        org_years,
        covariates=tuple(usable),
        age_terms=tuple(age_terms),
        environment=tuple(env),
        density_scale=density_scale,
        k_convention=k_convention,
        dataset=dataset,
    )
    for res in results:
        res.notes.extend(left_out)
    results.append(
        size_variance_scaling(
            org_years,
            method=scaling["method"],
            ci=scaling["ci"],
            n_boot=scaling["n_boot"],
            seed=seed,
            dataset=dataset,
        )
    )
    return results


def run(dataset: str, params: dict[str, Any]) -> None:
    """Stage entry point."""
    ds = params["datasets"][dataset]
    cfg = stage_params(params, "fit_growth", dataset)
    paths = DatasetPaths(dataset)
    frames, hashes = read_inputs([paths.processed / "org_years.parquet"])
    results = fit_growth(
        frames.get("org_years"),
        dataset=dataset,
        covariates=cfg["covariates"],
        age_terms=cfg["age_terms"],
        environment=cfg["environment"],
        density_scale=ds["density_scale"],
        k_convention=cfg["k_convention"],
        scaling=cfg["size_variance"],
        seed=params["seed"],
    )
    write_results(
        paths.results("growth"),
        results,
        stage="fit_growth",
        inputs=hashes,
        rules=assessment_rules(params),
        params=cfg,
    )
