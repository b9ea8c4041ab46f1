"""Stage ``fit_growth``: Gibrat growth regressions (pooled, organization FE, two-way FE) and the
size–variance scaling of growth rates, on the organization-years of a dataset with a size measure."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from analysis.formula import FormulaError, TermContext, build_design, render_formula
from analysis.formula.growth import growth_formula, legacy_formula, legacy_lists, uses_legacy_names
from analysis.growth import fit_gibrat_models, size_variance_scaling
from pipeline.core.dataset_columns import measure_aliases
from pipeline.core.params import ParamsError, stage_params
from pipeline.core.paths import DatasetPaths
from pipeline.stages.applicability import growth_verdict
from pipeline.stages.common import (
    assessment_rules,
    not_applicable,
    read_inputs,
    require_observed_columns,
    subset_mask,
    usable_terms,
    write_results,
)

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
    formula: str | None = None,
    population: pd.DataFrame | None = None,
    aliases: dict[str, str] | None = None,
    subset: str | None = None,
) -> list:
    """All growth models of one dataset: the Gibrat ``formula`` (``analysis.formula.growth``) or, without it, the
    legacy lists (covariates whose every value is missing are left out, recorded in each model's notes; a
    name absent from the organization-years is an error)."""
    verdict = growth_verdict(org_years)
    if not verdict.applies:
        return [
            not_applicable(
                dataset=dataset, stage="fit_growth", unit="organization-year", reason=verdict.reason
            )
        ]
    excluded = None
    if subset:
        mask = subset_mask(org_years, subset, "org_year")
        excluded = int((~mask).sum())
        org_years = org_years.iloc[np.flatnonzero(mask)].reset_index(drop=True)
    if formula:
        results = _formula_models(
            org_years,
            formula,
            dataset=dataset,
            density_scale=density_scale,
            k_convention=k_convention,
            population=population,
            aliases=aliases,
        )
    else:
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
            model_formula=legacy_formula(usable, age_terms, env),
        )
        for res in results:
            res.notes.extend(left_out)
    if excluded is not None:
        for res in results:
            res.notes.append(
                f"Subset {subset!r}: {excluded} organization-years of organizations outside it excluded before the "
                "models (density stays the whole population's)."
            )
            res.sample["excluded_by_subset"] = excluded
            res.specification["subset"] = subset
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


def _formula_models(
    org_years: pd.DataFrame,
    text: str,
    *,
    dataset: str,
    density_scale: float,
    k_convention: str,
    population: pd.DataFrame | None,
    aliases: dict[str, str] | None,
) -> list:
    """The three Gibrat versions of one formula, its design built by the formula engine on organization-years."""
    where = f"datasets.{dataset}: fit_growth.formula"
    try:
        f = growth_formula({"formula": text}, where=where)
    except FormulaError as exc:
        raise ParamsError(str(exc)) from None
    require_observed_columns(
        org_years, [("", f)], aliases=aliases, where=where.removesuffix(".formula") + ".formula"
    )
    ctx = TermContext(density_scale=density_scale, population=population, aliases=aliases or {})
    try:
        design = build_design(f, org_years, unit="org_year", ctx=ctx, intercept=False, where=where)
    except FormulaError as exc:
        raise ParamsError(str(exc)) from None
    regressors = pd.DataFrame(np.nan, index=org_years.index, columns=list(design.x.columns))
    regressors.iloc[design.rows] = design.x.to_numpy()
    results = fit_gibrat_models(
        org_years,
        regressors=regressors,
        model_formula=render_formula(f),
        density_scale=density_scale,
        k_convention=k_convention,
        dataset=dataset,
        growth_col=render_formula(f).split(" ~ ")[0],
    )
    notes = [n for n in design.notes if "dropped for missing" not in n]
    for res in results:
        res.notes.extend(notes)
    return results


def run(dataset: str, params: dict[str, Any]) -> None:
    """Stage entry point."""
    ds = params["datasets"][dataset]
    cfg = stage_params(params, "fit_growth", dataset)
    paths = DatasetPaths(dataset)
    frames, hashes = read_inputs(
        [paths.processed / "org_years.parquet", paths.processed / "population.parquet"]
    )
    legacy = uses_legacy_names(cfg)
    covariates, age_terms, environment = legacy_lists(cfg) if legacy else ([], [], [])
    results = fit_growth(
        frames.get("org_years"),
        dataset=dataset,
        covariates=covariates,
        age_terms=age_terms,
        environment=environment,
        formula=None if legacy else cfg["formula"],
        population=frames.get("population"),
        aliases=measure_aliases(ds),
        subset=cfg["subset"],
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
