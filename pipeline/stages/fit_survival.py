"""Stage ``fit_survival``: organizational mortality on the counting-process spells of a dataset.

Models (specifications from ``params.yaml: fit_survival``; the nested Cox steps are formulas,
``analysis/formula/survival.py`` and docs/terms.md): Kaplan–Meier / Nelson–Aalen curves by group
with log-rank tests; nested Cox models (controls → +density, density² → +density at founding and
environment) with Efron ties, delayed entry and SEs clustered by organization, with LR tests between
nested models and the Grambsch–Therneau PH test; the piecewise-constant exponential model (age pieces,
Poisson likelihood with log exposure), a discrete-time complementary log-log model, Weibull and
Gompertz (and, when listed, Gompertz–Makeham) baselines with the full covariate set; cause-specific Cox models for each exit kind and
Aalen–Johansen cumulative incidence of competing exits; predicted survival by covariate profile, median
lifetimes and the mortality multiplier of density from the largest Cox model (``fit_survival.predictions``).

All models of a dataset are fitted on one complete-case sample of spells (rows with a missing value of a
term of the largest step are dropped and counted), so nested models are comparable by LR tests. Density terms
are divided by the dataset's density scale (N/s, (N/s)², N_founding/s); derived densities (where mortality
is lowest) are reported back in organizations.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from analysis.aft import fit_aft
from analysis.cox import CoxPH
from analysis.cox_predict import prediction_result
from analysis.cox_result import to_model_result
from analysis.fine_gray import fit_fine_gray
from analysis.fine_gray import to_model_result as fine_gray_result
from analysis.makeham import fit_makeham
from analysis.nonparametric import aalen_johansen, kaplan_meier, logrank_test
from analysis.parametric import fit_gompertz, fit_weibull
from analysis.piecewise import fit_discrete_cloglog, fit_piecewise_exponential, split_episodes
from analysis.results import ModelResult, lr_test
from analysis.scaling import scale_density_columns
from pipeline.core.columns import COMPETING_PREFIX, DEATH
from pipeline.core.dataset_columns import measure_aliases
from pipeline.core.params import stage_params
from pipeline.core.paths import DatasetPaths
from pipeline.stages.applicability import survival_verdict
from pipeline.stages.common import (
    assessment_rules,
    not_applicable,
    read_inputs,
    write_results,
)
from pipeline.stages.survival_design import survival_design

log = logging.getLogger("fit_survival")

DENSITY_TERMS = ("density", "density_sq", "density_at_founding")

#: The fitter of each ``fit_survival.parametric`` entry (the schema's enum); the result is named by the entry.
PARAMETRIC_FITTERS = {"weibull": fit_weibull, "gompertz": fit_gompertz, "makeham": fit_makeham}


def scale_density(spells: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Density terms in units of ``scale`` organizations (density² in units of scale²)."""
    return scale_density_columns(spells, scale, extra=("density_at_founding",))


def cox_se_note(res: ModelResult, cfg: dict[str, Any]) -> str:
    """What a Cox result says about its SEs: always coxph's robust sandwich (clustered by the formula's
    cluster() variable when given), whatever ``fit_survival.se_type`` (which reaches the other models)."""
    return (
        f"SE type: {res.fit.get('se_type')} (robust, as coxph; fit_survival.se_type ({cfg['se_type']}) does not "
        "apply to Cox models, only to the piecewise, cloglog and parametric models)."
    )


def km_group_columns(cfg: dict[str, Any], ds: dict[str, Any]) -> list[str]:
    """Columns of the Kaplan–Meier curves: ``fit_survival.km_groups`` plus the dataset's group columns,
    each once (a group column also named in ``km_groups`` gets one curve, not two)."""
    return list(dict.fromkeys([*cfg["km_groups"], *ds.get("group_columns", [])]))


def km_results(spells: pd.DataFrame, groups: list[str], *, dataset: str) -> list[ModelResult]:
    """Kaplan–Meier/Nelson–Aalen curves overall and by each group column (each once), with log-rank
    tests."""
    out = []
    for group in [None, *dict.fromkeys(groups)]:
        name = "km_all" if group is None else f"km_{group}"
        sp = spells if group is None else spells[spells[group].notna()]
        curves = kaplan_meier(sp, group=group)
        res = ModelResult(
            dataset=dataset,
            stage="fit_survival",
            model=name,
            family="kaplan_meier",
            kind="km",
            method="Kaplan–Meier (Greenwood, log CI) and Nelson–Aalen, age clock, delayed entry",
            specification={"group": group, "clock": "age", "conf_type": "log"},
            sample={
                "unit": "spell",
                "n": int(len(sp)),
                "n_groups": int(sp["org_id"].nunique()),
                "events": int(sp["event"].sum()),
                "exposure": float((sp["stop"] - sp["start"]).sum()),
            },
            curves=curves.to_curves(),
            derived={"summary": curves.summary.to_dict("records")},
        )
        if group is not None and sp[group].nunique() > 1:
            test = logrank_test(sp, group)
            res.tests.append(
                {
                    "name": f"log-rank ({group})",
                    "statistic": test["statistic"],
                    "df": test["df"],
                    "p": test["p"],
                }
            )
        out.append(res)
    return out


def cause_model_names(kinds: list[str]) -> dict[str, str]:
    """ASCII result names ``cox_cause_<slug>`` for exit kinds with any Unicode label (e.g. ``合并``): the
    label folded to ASCII letters, digits and underscores, or ``k<position>`` when nothing is left; a name
    that two labels would share gets its position appended. Deterministic: ``kinds`` are sorted."""
    out: dict[str, str] = {}
    for i, kind in enumerate(kinds, start=1):
        label = kind.replace(COMPETING_PREFIX, "")
        ascii_ = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^A-Za-z0-9]+", "_", ascii_).strip("_").lower() or f"k{i}"
        name = f"cox_cause_{slug}"
        if name in out.values():
            name = f"{name}_{i}"
        out[kind] = name
    return out


def fine_gray_results(
    complete: pd.DataFrame,
    kinds: list[str],
    names: dict[str, str],
    *,
    covariates: list[str],
    cox_kw: dict[str, Any],
    ties: str,
    dataset: str,
    window: tuple[int, int],
    spec: dict[str, Any],
    note: str,
) -> list[ModelResult]:
    """One Fine–Gray subdistribution-hazard model per exit kind (``fit_survival.fine_gray``): the other
    kinds compete, exits of no listed kind censor; SEs clustered by organization (or by the formula's
    cluster() variable), strata and case weights as in the Cox models."""
    exits = complete["exit_kind"].astype(str).where(complete["exit_kind"].astype(str).isin(kinds), "")
    data = complete.assign(fg_exit=exits.to_numpy())
    out = []
    for kind in kinds:
        name = names[kind].replace("cox_cause_", "fine_gray_", 1)
        try:
            fitted = fit_fine_gray(
                data,
                start="start",
                stop="stop",
                exit_kind="fg_exit",
                kind=kind,
                censored="",
                id="org_id",
                covariates=covariates,
                strata=cox_kw["strata"],
                weights=cox_kw["weights"],
                cluster=cox_kw["cluster"] or "id",
                ties=ties,
                allow_gaps=True,
            )
        except ValueError as err:  # spells the expansion cannot take (gaps, an exit before the last spell)
            res = ModelResult.failed(
                reason=f"Fine–Gray expansion not possible: {err}",
                dataset=dataset,
                stage="fit_survival",
                model=name,
                family="fine_gray",
                method="Fine–Gray subdistribution hazards (survival::finegray + weighted coxph)",
                kind="fine_gray",
                specification={**spec, "cause": kind},
                sample={"unit": "organization-year spell", "n": int(len(data))},
            )
            out.append(res)
            continue
        res = fine_gray_result(fitted, dataset=dataset, model=name, spec=spec, window=window)
        res.notes.append(
            f"Subdistribution hazard of exit kind '{kind}': organizations that left by another listed kind "
            f"({', '.join(k for k in kinds if k != kind)}) stay in its risk set with censoring weights. {note}"
        )
        if fitted.expansion.n_gaps:
            res.notes.append(
                f"{fitted.expansion.n_gaps} gaps between an organization's spells (incomplete years dropped): "
                "out of the risk sets of the censoring and truncation curves during the gap, re-entry not a "
                "new entry (R's finegray refuses gaps)."
            )
        res.specification["cause_label"] = kind.replace(COMPETING_PREFIX, "")
        out.append(res)
    return out


def fit_survival(
    spells: pd.DataFrame,
    *,
    dataset: str,
    window: tuple[int, int],
    density_scale: float,
    cfg: dict[str, Any],
    environment: list[str],
    groups: list[str],
    population: pd.DataFrame | None = None,
    population_groups: pd.DataFrame | None = None,
    aliases: dict[str, str] | None = None,
) -> list[ModelResult]:
    """All mortality models of one dataset in a stable order."""
    verdict = survival_verdict(spells)
    if not verdict.applies:
        return [not_applicable(dataset=dataset, stage="fit_survival", unit="spell", reason=verdict.reason)]
    sp = scale_density(spells, density_scale)
    design = survival_design(
        spells,
        cfg,
        dataset=dataset,
        density_scale=density_scale,
        environment=environment,
        population=population,
        population_groups=population_groups,
        aliases=aliases,
    )
    complete = design.frame(sp)
    full = design.full
    if design.in_subset is not None:
        excluded = int((~design.in_subset).sum())
        sp = sp.iloc[np.flatnonzero(design.in_subset)]
        log.info(
            "fit_survival.subset %r: %d of %d spells excluded", design.subset, excluded, excluded + len(sp)
        )
    dropped = len(sp) - len(complete)
    note = (
        f"Complete-case sample: {dropped} of {len(sp)} spells dropped for a missing covariate "
        f"({', '.join(full)}); density terms per {density_scale:g} organizations."
    )
    if design.in_subset is not None:
        note = (
            f"Subset {design.subset!r}: {excluded} spells of organizations outside it excluded before the "
            f"models (density stays the whole population's). {note}"
        )
    if design.left_out:
        note = f"{note} {' '.join(design.left_out)}"
    for extra in design.notes:
        note = f"{note} {extra}"
    cc = {"spells_available": int(len(sp)), "spells_used": int(len(complete))}
    if design.in_subset is not None:
        cc["excluded_by_subset"] = excluded

    def complete_case(res: ModelResult, text: str) -> None:
        """Say which complete-case sample a model used (note + ``sample.complete_case`` for the assessment)."""
        res.notes.append(text)
        res.sample["complete_case"] = dict(cc)

    results: list[ModelResult] = km_results(sp, [g for g in groups if g in sp], dataset=dataset)
    # observed density range in organizations (the models use N/density_scale)
    observed = (
        float(complete["density"].min()) * density_scale,
        float(complete["density"].max()) * density_scale,
    )
    spec_common = {"density_scale": density_scale, "clock": "age", "delayed_entry": True}
    previous = None
    cox_kw = {
        "cluster": design.cluster_col,
        "strata": design.strata_cols or None,
        "weights": design.weights_col,
    }
    cox_note = note
    largest: tuple[CoxPH, ModelResult] | None = None
    if design.weights is not None:
        cox_note += (
            f" Case weights weights({design.weights}) in every Cox model (robust SEs, as R's coxph); the LR "
            "tests treat the weighted partial likelihood as a likelihood — with sampling weights read the "
            "Wald tests."
        )
    for name, cols in design.steps:
        if not cols:
            continue
        model = CoxPH(ties=cfg["cox"]["ties"], robust=True).fit(
            complete, start="start", stop="stop", event="event", covariates=cols, **cox_kw
        )
        res = to_model_result(
            model,
            dataset=dataset,
            model=f"cox_{name}",
            spec={
                **spec_common,
                "terms": list(cols),
                "ties": cfg["cox"]["ties"],
                "model_formula": design.formulas[name],
                **design.conventions(),
            },
            window=window,
            density_range=observed,
            density_scale=density_scale,
        )
        complete_case(res, cox_note)
        res.notes.append(cox_se_note(res, cfg))
        if previous is not None and res.fit.get("converged") and previous.fit.get("converged"):
            res.tests.append(
                lr_test(
                    f"LR vs {previous.model}",
                    previous.fit["loglik"],
                    res.fit["loglik"],
                    df=len(cols) - len(previous.specification["terms"]),
                )
            )
        results.append(res)
        previous = res
        if res.fit.get("converged") and (largest is None or len(res.terms) > len(largest[1].terms)):
            largest = (model, res)  # the headline Cox model, whose predictions are reported
    # the params loader fills fit_survival.predictions from the schema; a hand-built cfg without it predicts nothing
    predictions = cfg.get("predictions") or {}
    quantiles = list(predictions.get("density_quantiles", ()))
    if largest is not None and quantiles:
        pred = prediction_result(
            *largest,
            complete,
            quantiles=quantiles,
            density_scale=density_scale,
            observed_range=observed,
            max_points=int(predictions.get("max_points", 100)),
            strata_label=", ".join(design.strata) or None,
        )
        complete_case(pred, cox_note)
        results.append(pred)
    others = {"model_formula": design.other_formula, **design.conventions(strata=False)}
    other_note = " ".join(n for n in (note, design.strata_note, design.weights_note) if n)
    id_col = design.cluster_col or "org_id"
    cuts = list(cfg["age_pieces"])
    episodes = split_episodes(complete, cuts)
    pwe = fit_piecewise_exponential(
        episodes,
        full,
        cuts=cuts,
        id_col=id_col,
        se_type=cfg["se_type"],
        dataset=dataset,
        window=window,
        density_scale=density_scale,
    )
    pwe.specification.update(others)
    complete_case(pwe, other_note)
    results.append(pwe)
    org_years = complete.assign(age=complete["start"])
    cll = fit_discrete_cloglog(
        org_years,
        full,
        cuts=cuts,
        id_col=id_col,
        se_type=cfg["se_type"],
        dataset=dataset,
        window=window,
        density_scale=density_scale,
    )
    cll.specification.update(others)
    complete_case(
        cll, other_note + " Organization-years are the yearly spells; age = age at the spell's start."
    )
    results.append(cll)
    for dist in cfg["parametric"]:
        res = PARAMETRIC_FITTERS[dist](
            complete,
            full,
            id_col=id_col,
            density_scale=density_scale,
            se_type=cfg["se_type"],
            dataset=dataset,
            model=dist,
            window=window,
        )
        res.specification.update(others)
        complete_case(res, other_note)
        results.append(res)
    for dist in cfg["aft"]:
        res = fit_aft(
            complete,
            full,
            distribution=dist,
            id_col=id_col,
            density_scale=density_scale,
            se_type=cfg["se_type"],
            dataset=dataset,
            model=f"aft_{dist}",
            window=window,
        )
        res.specification.update(others)
        complete_case(res, other_note)
        results.append(res)
    kinds = sorted(
        k for k in complete["exit_kind"].astype(str).unique() if k == DEATH or k.startswith(COMPETING_PREFIX)
    )
    if len(kinds) > 1:
        names = cause_model_names(kinds)
        for kind in kinds:
            label = kind.replace(COMPETING_PREFIX, "")
            data = complete.assign(event_k=(complete["exit_kind"].astype(str) == kind).astype(int))
            model = CoxPH(ties=cfg["cox"]["ties"], robust=True).fit(
                data, start="start", stop="stop", event="event_k", covariates=full, **cox_kw
            )
            res = to_model_result(
                model,
                dataset=dataset,
                model=names[kind],
                spec={
                    **spec_common,
                    "terms": full,
                    "cause": kind,
                    "model_formula": design.formulas[design.steps[-1][0]],
                    **design.conventions(),
                },
                window=window,
                density_range=observed,
                density_scale=density_scale,
                zph_transforms=(),
            )
            complete_case(
                res, f"Cause-specific hazard of exit kind '{kind}'; other exits are censored. {cox_note}"
            )
            res.notes.append(cox_se_note(res, cfg))
            res.specification["cause_label"] = label
            if names[kind] != f"cox_cause_{label}":
                res.notes.append(
                    f"Result name {names[kind]} stands for the exit kind '{label}' (result names are ASCII; "
                    "the label is kept for display)."
                )
            results.append(res)
        if cfg.get("fine_gray"):
            results += fine_gray_results(
                complete,
                kinds,
                names,
                covariates=full,
                cox_kw=cox_kw,
                ties=cfg["cox"]["ties"],
                dataset=dataset,
                window=window,
                spec={**spec_common, "terms": full, "model_formula": design.formulas[design.steps[-1][0]]},
                note=cox_note,
            )
        cif = aalen_johansen(sp, causes=tuple(kinds))
        results.append(
            ModelResult(
                dataset=dataset,
                stage="fit_survival",
                model="aalen_johansen",
                family="aalen_johansen",
                kind="aalen_johansen",
                method="Aalen–Johansen cumulative incidence of competing exits, age clock, delayed entry",
                specification={"causes": kinds, "clock": "age"},
                sample={
                    "unit": "spell",
                    "n": int(len(sp)),
                    "n_groups": int(sp["org_id"].nunique()),
                    "events": int(sp["exit_kind"].astype(str).isin(kinds).sum()),
                },
                curves={"cif": {c: cif[c].tolist() for c in cif.columns}},
            )
        )
    for res in results:
        res.specification.setdefault("density_scale", density_scale)
    return results


def run(dataset: str, params: dict[str, Any]) -> None:
    """Stage entry point."""
    ds = params["datasets"][dataset]
    cfg = stage_params(params, "fit_survival", dataset)
    paths = DatasetPaths(dataset)
    files = [
        paths.processed / f for f in ("spells.parquet", "population.parquet", "population_groups.parquet")
    ]
    frames, hashes = read_inputs(files)
    env = ds.get("environment", {}).get("covariates", []) if ds["kind"] == "organizations" else []
    results = fit_survival(
        frames.get("spells"),
        dataset=dataset,
        window=(ds["window"]["start"], ds["window"]["end"]),
        density_scale=ds["density_scale"],
        cfg=cfg,
        environment=env,
        groups=km_group_columns(cfg, ds),
        population=frames.get("population"),
        population_groups=frames.get("population_groups"),
        aliases=measure_aliases(ds),
    )
    write_results(
        paths.results("survival"),
        results,
        stage="fit_survival",
        inputs=hashes,
        rules=assessment_rules(params),
        params=cfg,
    )
