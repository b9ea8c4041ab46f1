"""Stage ``fit_bottleneck``: the three declared operationalizations of a population bottleneck.

a. Carrying capacity: logistic curve N_t = K / (1 + exp(−r(t − t0))) fitted to density, and the
   equilibrium density where expected foundings equal expected exits, from the fitted NB founding model
   and a population-level exit-rate model (exits with log-density offset) fitted here.
b. Structural break: sup-F tests for a break in the founding series and in density growth.
c. Stagnation: cause-specific hazards of the start of k consecutive years of low growth, with
   dissolution as a competing risk, and their cumulative incidence.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from analysis.breaks import break_in_density_growth, break_in_founding
from analysis.equilibrium import equilibrium_density
from analysis.formula import FormulaError, TermContext, render_formula
from analysis.formula.stagnation import legacy_covariates, stagnation_formula
from analysis.formula.stagnation import uses_legacy_names as uses_legacy_stagnation
from analysis.founding import fit_founding_models
from analysis.founding_design import FoundingSpec
from analysis.logistic import fit_logistic
from analysis.nonparametric import aalen_johansen
from analysis.registry import count_family
from analysis.results import ModelResult
from analysis.stagnation import fit_stagnation
from pipeline.core.dataset_columns import measure_aliases
from pipeline.core.params import ParamsError, stage_params
from pipeline.core.paths import DatasetPaths
from pipeline.stages.common import (
    assessment_rules,
    read_inputs,
    require_observed_columns,
    subset_mask,
    usable_terms,
    write_results,
)

log = logging.getLogger("fit_bottleneck")


#: The bundled exit-rate sequence (params.yaml: fit_bottleneck.exit_rate.steps).
DEFAULT_EXIT_STEPS = {
    "baseline": "exits ~ 1 + offset(log_density)",
    "density": "+ density",
    "density2": "+ density_sq",
}


def exit_rate_spec(density_scale: float | str = "auto", steps: dict[str, Any] | None = None) -> FoundingSpec:
    """The nested population-level exit-rate models paired with the founding steps by the equilibrium."""
    steps = DEFAULT_EXIT_STEPS if steps is None else steps
    return FoundingSpec(steps=tuple(steps.items()), density_scale=density_scale, outcome="exits")


def exit_rate_kind(spec: FoundingSpec) -> str:
    """``count_offset`` when the exit-rate formulas carry ``offset(log_density)`` (E[D] = N·exp(η)), else ``count``."""
    return "count_offset" if "offset(log_density)" in render_formula(spec.formulas()[-1][1]) else "count"


def exit_rate_models(
    population: pd.DataFrame,
    *,
    density_scale: float,
    families: list[str],
    dataset: str,
    steps: dict[str, Any] | None = None,
) -> list[ModelResult]:
    """Population-level mortality, nested: by default E[D_t] = N_t · exp(c0 + c1·N_t + c2·N_t²) (log N_t
    offset); ``steps`` are formulas (params.yaml: fit_bottleneck.exit_rate.steps)."""
    pop = population[population["density"] > 0].copy()
    spec = exit_rate_spec(density_scale, steps)
    results = fit_founding_models(pop, spec=spec, families=families, dataset=dataset)
    for res in results:
        res.model = f"exit_rate_{res.model}"
        res.kind = "exit_rate"
        res.notes.append(
            (
                "Population-level exit rate per organization: exits ~ density terms with offset log(density); "
                if exit_rate_kind(spec) == "count_offset"
                else "Population-level exit count (no offset log(density)): exits ~ density terms; "
            )
            + "'n_star' here is the density at which the exit rate is extreme, not a founding peak."
        )
        res.notes.append(
            f"SE type: {res.fit.get('se_type')}; intervals at level {spec.level:g}, multiplier grid of "
            f"{spec.grid_points} points, N* profile interval {'on' if spec.profile_intervals else 'off'} "
            "(fit_founding.se_type and fit_founding.spec level, grid_points, profile_intervals apply to the "
            "founding models only)."
        )
    return results


def stagnation_cif(events: pd.DataFrame) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of stagnation and dissolution with 95% CIs, on the clock of
    years at risk (each risk-set row is the interval (t − 1, t]); the point estimates equal the
    discrete-time :func:`analysis.stagnation.cumulative_incidence`."""
    kind = np.where(events["event"] == "none", "", events["event"].astype(str))
    spells = events.assign(start=events["time"] - 1.0, stop=events["time"].astype(float), kind=kind)
    aj = aalen_johansen(
        spells,
        cause_col="kind",
        causes=("stagnation", "dissolution"),
        start="start",
        stop="stop",
        id_col="org_id",
    )
    aj = aj[aj["state"] != "alive"].rename(columns={"state": "cause"})
    return aj[["cause", "time", "estimate", "std_err", "ci_low", "ci_high", "n_risk"]].reset_index(drop=True)


def fit_bottleneck(
    population: pd.DataFrame,
    *,
    dataset: str,
    density_scale: float,
    founding_results: dict[str, dict[str, Any]],
    org_years: pd.DataFrame | None,
    organizations: pd.DataFrame | None,
    cfg: dict[str, Any],
    seed: int,
    aliases: dict[str, str] | None = None,
) -> list[ModelResult]:
    """Every bottleneck analysis that the dataset's data support, in a stable order."""
    results: list[ModelResult] = []
    lg = cfg["logistic"]
    results.append(
        fit_logistic(
            population, exclude_status=lg["exclude_status"], max_k_ratio=lg["max_k_ratio"], dataset=dataset
        )
    )
    br = cfg["breaks"]
    has_foundings = "foundings" in population and population["foundings"].notna().sum() >= 5
    if has_foundings:
        results.append(
            break_in_founding(
                population,
                response=br["response"],
                with_density=br["with_density"],
                density_scale=density_scale,
                trim=br["trim"],
                dataset=dataset,
                seed=seed,
            )
        )
    results.append(break_in_density_growth(population, trim=br["trim"], dataset=dataset, seed=seed))
    eq = cfg["equilibrium"]
    has_exits = "exits" in population and population["exits"].notna().sum() >= 5
    if has_foundings and has_exits:
        exit_steps = cfg["exit_rate"]["steps"]
        exits = exit_rate_models(
            population,
            density_scale=density_scale,
            families=[eq["family"]],
            dataset=dataset,
            steps=exit_steps,
        )
        results += exits
        prefix = count_family(eq["family"]).prefix  # result names are <prefix>_<step> (the registry's)
        founding = founding_results.get(f"{prefix}_{eq['founding_step']}")
        mortality = next((r for r in exits if r.model == f"exit_rate_{prefix}_{eq['founding_step']}"), None)
        dens = population["density"].dropna()
        if founding is None or mortality is None:
            results.append(
                ModelResult.failed(
                    reason=f"founding model {prefix}_{eq['founding_step']} not available",
                    dataset=dataset,
                    stage="fit_bottleneck",
                    model="equilibrium_density",
                    family="equilibrium",
                    kind="equilibrium",
                    method="root of expected foundings = expected exits",
                )
            )
        else:
            res = equilibrium_density(
                founding,
                mortality,
                mortality_kind=exit_rate_kind(exit_rate_spec(density_scale, exit_steps)),
                n_max=float(dens.max()) * eq["n_max_factor"],
                n_draws=eq["n_draws"],
                seed=seed,
                observed_range=(float(dens.min()), float(dens.max())),
                dataset=dataset,
            )
            res.notes.append(
                f"Founding side: {founding['model']}; exit side: {mortality.model} ("
                + (
                    "population-level exit rate with log-density offset"
                    if exit_rate_kind(exit_rate_spec(density_scale, exit_steps)) == "count_offset"
                    else "population-level exit count without offset"
                )
                + "); other covariates none."
            )
            results.append(res)
    st = cfg["stagnation"]
    if org_years is not None and organizations is not None and org_years["growth"].notna().sum() > 0:
        if uses_legacy_stagnation(st):
            covs, left_out = usable_terms(
                org_years, legacy_covariates(st), what="fit_bottleneck.stagnation.covariates"
            )
            formula = None
        else:
            where = f"datasets.{dataset}: fit_bottleneck.stagnation.formula"
            try:
                parsed = stagnation_formula(st, where=where)
            except FormulaError as exc:
                raise ParamsError(str(exc)) from None
            require_observed_columns(org_years, [("", parsed)], aliases=aliases, where=where)
            covs, left_out, formula = [], [], render_formula(parsed)
        at_risk, excluded = org_years, None
        if st["subset"]:
            mask = subset_mask(org_years, st["subset"], "org_year")
            excluded = int((~mask).sum())
            at_risk = org_years.iloc[np.flatnonzero(mask)].reset_index(drop=True)
        try:
            fit = fit_stagnation(
                at_risk,
                organizations,
                k=st["k"],
                threshold=st["threshold"],
                covariates=covs,
                density_scale=density_scale,
                dataset=dataset,
                formula=formula,
                context=TermContext(
                    density_scale=density_scale, population=population, aliases=aliases or {}
                ),
            )
        except FormulaError as exc:
            raise ParamsError(
                str(exc.located(f"datasets.{dataset}: fit_bottleneck.stagnation.formula"))
            ) from None
        # an empty risk set (no organization observed k + 1 consecutive years) is recorded as not fitted
        cif = stagnation_cif(fit.events) if len(fit.events) else None
        for res in (fit.stagnation, fit.dissolution):
            if cif is not None:
                res.curves["cif"] = {c: cif[c].tolist() for c in cif.columns}
            res.specification.update(
                {"k": st["k"], "threshold": st["threshold"], "cif_time_label": "Years at risk of stagnation"}
            )
            res.notes.extend(left_out)
            if excluded is not None:
                res.notes.append(
                    f"Subset {st['subset']!r}: {excluded} organization-years of organizations outside it excluded "
                    "before the risk set was built (density stays the whole population's)."
                )
                res.sample["excluded_by_subset"] = excluded
                res.specification["subset"] = st["subset"]
            results.append(res)
    return results


def run(dataset: str, params: dict[str, Any]) -> None:
    """Stage entry point."""
    ds = params["datasets"][dataset]
    cfg = stage_params(params, "fit_bottleneck", dataset)
    paths = DatasetPaths(dataset)
    files = [paths.processed / "population.parquet"]
    if ds["kind"] == "organizations":
        files += [paths.processed / "org_years.parquet", paths.processed / "organizations.parquet"]
    frames, hashes = read_inputs(files)
    founding_dir = paths.results("founding")
    founding = {}
    if founding_dir.exists():
        for p in sorted(founding_dir.glob("*.json")):
            founding[p.stem] = json.loads(p.read_text(encoding="utf-8"))
    results = fit_bottleneck(
        frames["population"],
        dataset=dataset,
        density_scale=ds["density_scale"],
        founding_results=founding,
        org_years=frames.get("org_years"),
        organizations=frames.get("organizations"),
        cfg=cfg,
        seed=params["seed"],
        aliases=measure_aliases(ds),
    )
    write_results(
        paths.results("bottleneck"),
        results,
        stage="fit_bottleneck",
        inputs=hashes,
        rules=assessment_rules(params),
        params=cfg,
    )
