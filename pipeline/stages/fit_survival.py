"""Stage ``fit_survival``: organizational mortality on the counting-process spells of a dataset.

Models (specifications from ``params.yaml: fit_survival``): Kaplan–Meier / Nelson–Aalen curves by group
with log-rank tests; nested Cox models (controls → +density, density² → +density at founding and
environment) with Efron ties, delayed entry and SEs clustered by organization, with LR tests between
nested models and the Grambsch–Therneau PH test; the piecewise-constant exponential model (age pieces,
Poisson likelihood with log exposure), a discrete-time complementary log-log model, Weibull and
Gompertz baselines with the full covariate set; cause-specific Cox models for each exit kind and
Aalen–Johansen cumulative incidence of competing exits.

All models of a dataset are fitted on one complete-case sample of spells (rows with a missing covariate
of the full model are dropped and counted), so nested models are comparable by LR tests. Density terms
are divided by the dataset's density scale (N/s, (N/s)², N_founding/s); derived densities (where mortality
is lowest) are reported back in organizations.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from analysis.cox import CoxPH
from analysis.cox_result import to_model_result
from analysis.nonparametric import aalen_johansen, kaplan_meier, logrank_test
from analysis.parametric import fit_parametric_ph
from analysis.piecewise import fit_discrete_cloglog, fit_piecewise_exponential, split_episodes
from analysis.results import ModelResult, lr_test
from analysis.scaling import scale_density_columns
from pipeline.core.columns import COMPETING_PREFIX, DEATH
from pipeline.core.params import ParamsError, stage_params
from pipeline.core.paths import DatasetPaths
from pipeline.stages.common import assessment_rules, not_applicable, read_inputs, usable_terms, write_results

log = logging.getLogger("fit_survival")

DENSITY_TERMS = ("density", "density_sq", "density_at_founding")


def scale_density(spells: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Density terms in units of ``scale`` organizations (density² in units of scale²)."""
    return scale_density_columns(spells, scale, extra=("density_at_founding",))


def km_results(spells: pd.DataFrame, groups: list[str], *, dataset: str) -> list[ModelResult]:
    """Kaplan–Meier/Nelson–Aalen curves overall and by each group column, with log-rank tests."""
    out = []
    for group in [None, *groups]:
        name = "km_all" if group is None else f"km_{group}"
        sp = spells if group is None else spells[spells[group].notna()]
        curves = kaplan_meier(sp, group=group)
        res = ModelResult(
            dataset=dataset,
            stage="fit_survival",
            model=name,
            family="kaplan_meier",
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


def fit_survival(
    spells: pd.DataFrame,
    *,
    dataset: str,
    window: tuple[int, int],
    density_scale: float,
    cfg: dict[str, Any],
    environment: list[str],
    groups: list[str],
) -> list[ModelResult]:
    """All mortality models of one dataset in a stable order."""
    if spells is None or spells.empty or spells["event"].sum() == 0:
        return [
            not_applicable(
                dataset=dataset,
                stage="fit_survival",
                unit="spell",
                reason="no organization-level lifetimes with deaths: mortality models do not apply",
            )
        ]
    sp = scale_density(spells, density_scale)
    controls, left_out = usable_terms(sp, cfg["controls"], what="fit_survival.controls")
    env, left_env = usable_terms(sp, cfg["environment"], what="fit_survival.environment")
    left_out += left_env
    not_numeric = [c for c in env if not pd.api.types.is_numeric_dtype(sp[c])]
    if not_numeric or any(c not in environment for c in env):
        raise ParamsError(
            f"datasets.{dataset}: fit_survival.environment names {', '.join(env)}; only numeric covariates "
            f"declared in environment.covariates ({', '.join(environment) or 'none'}) enter the models"
        )
    steps = [
        ("controls", controls),
        ("density", ["density", "density_sq"]),
        ("full", ["density_at_founding", *env]),
    ]
    full = [t for _, terms in steps for t in terms]
    complete = sp.dropna(subset=full)
    dropped = len(sp) - len(complete)
    note = (
        f"Complete-case sample: {dropped} of {len(sp)} spells dropped for a missing covariate "
        f"({', '.join(full)}); density terms per {density_scale:g} organizations."
    )
    if left_out:
        note = f"{note} {' '.join(left_out)}"
    cc = {"spells_available": int(len(sp)), "spells_used": int(len(complete))}

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
    acc: list[str] = []
    for name, terms in steps:
        acc = acc + [t for t in terms if t not in acc]
        if not acc:
            continue
        model = CoxPH(ties=cfg["cox"]["ties"], robust=True).fit(
            complete, start="start", stop="stop", event="event", covariates=acc, cluster="org_id"
        )
        res = to_model_result(
            model,
            dataset=dataset,
            model=f"cox_{name}",
            spec={**spec_common, "terms": list(acc), "ties": cfg["cox"]["ties"]},
            window=window,
            density_range=observed,
            density_scale=density_scale,
        )
        complete_case(res, note)
        if previous is not None and res.fit.get("converged") and previous.fit.get("converged"):
            res.tests.append(
                lr_test(
                    f"LR vs {previous.model}",
                    previous.fit["loglik"],
                    res.fit["loglik"],
                    df=len(acc) - len(previous.specification["terms"]),
                )
            )
        results.append(res)
        previous = res
    cuts = list(cfg["age_pieces"])
    episodes = split_episodes(complete, cuts)
    pwe = fit_piecewise_exponential(
        episodes,
        full,
        cuts=cuts,
        se_type=cfg["se_type"],
        dataset=dataset,
        window=window,
        density_scale=density_scale,
    )
    complete_case(pwe, note)
    results.append(pwe)
    org_years = complete.assign(age=complete["start"])
    cll = fit_discrete_cloglog(
        org_years,
        full,
        cuts=cuts,
        se_type=cfg["se_type"],
        dataset=dataset,
        window=window,
        density_scale=density_scale,
    )
    complete_case(cll, note + " Organization-years are the yearly spells; age = age at the spell's start.")
    results.append(cll)
    for dist in cfg["parametric"]:
        res = fit_parametric_ph(
            complete,
            full,
            distribution=dist,
            density_scale=density_scale,
            se_type=cfg["se_type"],
            dataset=dataset,
            model=dist,
            window=window,
        )
        complete_case(res, note)
        results.append(res)
    kinds = sorted(
        k for k in complete["exit_kind"].astype(str).unique() if k == DEATH or k.startswith(COMPETING_PREFIX)
    )
    if len(kinds) > 1:
        for kind in kinds:
            label = kind.replace(COMPETING_PREFIX, "")
            data = complete.assign(event_k=(complete["exit_kind"].astype(str) == kind).astype(int))
            model = CoxPH(ties=cfg["cox"]["ties"], robust=True).fit(
                data, start="start", stop="stop", event="event_k", covariates=full, cluster="org_id"
            )
            res = to_model_result(
                model,
                dataset=dataset,
                model=f"cox_cause_{label}",
                spec={**spec_common, "terms": full, "cause": kind},
                window=window,
                density_range=observed,
                density_scale=density_scale,
                zph_transforms=(),
            )
            complete_case(
                res, f"Cause-specific hazard of exit kind '{kind}'; other exits are censored. {note}"
            )
            results.append(res)
        cif = aalen_johansen(sp, causes=tuple(kinds))
        results.append(
            ModelResult(
                dataset=dataset,
                stage="fit_survival",
                model="aalen_johansen",
                family="aalen_johansen",
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
    frames, hashes = read_inputs([paths.processed / "spells.parquet"])
    env = ds.get("environment", {}).get("covariates", []) if ds["kind"] == "organizations" else []
    results = fit_survival(
        frames.get("spells"),
        dataset=dataset,
        window=(ds["window"]["start"], ds["window"]["end"]),
        density_scale=ds["density_scale"],
        cfg=cfg,
        environment=env,
        groups=[*cfg["km_groups"], *ds["group_columns"]],
    )
    write_results(
        paths.results("survival"),
        results,
        stage="fit_survival",
        inputs=hashes,
        rules=assessment_rules(params),
        params=cfg,
    )
