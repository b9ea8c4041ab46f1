"""Predictions from the Cox model against R ``survfit(coxph_fit, newdata = profiles)`` and on hand data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cox import CoxPH
from analysis.cox_predict import (
    density_profiles,
    median_lifetimes,
    mortality_multiplier,
    predict_survival,
    thin_curves,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures"
R = json.loads((FIX / "cox_predict" / "expected.json").read_text(encoding="utf-8"))
COVS = ["density", "density_sq", "log_size", "funding_share"]
CASES = ["efron_cluster", "breslow_cluster", "efron_naive", "efron_strata_cluster", "breslow_strata_weighted"]


def _num(v):
    return np.nan if v is None else float(v)


def _matrix(ref: dict, key: str) -> np.ndarray:
    return np.array([[_num(v) for v in row] for row in ref[key]])


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    d = pd.read_csv(FIX / "cox" / "spells_sim.csv")
    d["w"] = 0.5 + (d["org_id"] % 7) / 4
    return d


@pytest.fixture(scope="module")
def profiles() -> pd.DataFrame:
    return pd.DataFrame({c: [float(v) for v in R["profiles"][c]] for c in COVS}, index=["1", "2", "3"])


def _fit(sim: pd.DataFrame, ref: dict) -> CoxPH:
    return CoxPH(ties=ref["ties"]).fit(
        sim,
        start="start",
        stop="stop",
        event="event",
        covariates=COVS,
        cluster="org_id" if ref["cluster"] else None,
        strata="type" if "strata" in ref.get("case", "") else None,
        weights="w" if ref["weights"] else None,
    )


@pytest.mark.parametrize("case", CASES)
def test_predicted_survival_matches_r_survfit(sim, profiles, case) -> None:
    ref = R[case] | {"case": case}
    fit = _fit(sim, ref)
    assert np.allclose(fit.params_[COVS].to_numpy(), [float(v) for v in ref["coef"]], rtol=1e-8)
    cur = predict_survival(fit, profiles)
    times = np.array([float(t) for t in ref["time"]])
    for j, name in enumerate(profiles.index):
        g = cur[cur["profile"] == name]
        assert list(g["stratum"]) == list(ref["strata"] if "strata" in case else [""] * len(times))
        assert np.array_equal(g["time"].to_numpy(), times)
        for ours, theirs, tol in (
            ("survival", "surv", 1e-6),
            ("cumhaz", "cumhaz", 1e-6),
            ("std_err", "std_err", 1e-4),
            ("ci_low", "lower", 1e-4),
            ("ci_high", "upper", 1e-4),
        ):
            rel = np.abs(g[ours].to_numpy() / _matrix(ref, theirs)[:, j] - 1)
            assert np.nanmax(rel) < tol, (case, ours, np.nanmax(rel))
        assert np.allclose(g["n_risk"], [float(v) for v in ref["n_risk"]], rtol=1e-12)
        assert np.allclose(g["n_event"], [float(v) for v in ref["n_event"]], rtol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_median_lifetimes_match_print_survfit(sim, profiles, case) -> None:
    ref = R[case] | {"case": case}
    med = median_lifetimes(predict_survival(_fit(sim, ref), profiles))
    ours = {(m["stratum"], m["profile"]): (m["estimate"], m["ci_low"], m["ci_high"]) for m in med}
    for row, est, lo, hi in zip(
        ref["median_rows"], ref["median"], ref["median_lcl"], ref["median_ucl"], strict=True
    ):
        stratum, profile = row.split(", ") if ", " in row else ("", row)
        expect = tuple(None if v is None else float(v) for v in (est, lo, hi))
        assert ours[(stratum, profile)] == expect


def test_robust_variance_enters_the_coefficient_term(sim, profiles) -> None:
    """R's survfit.coxph uses fit$var — the cluster sandwich under cluster= — so clustered SEs differ
    from naive ones while the curve itself does not."""
    ref = R["efron_cluster"] | {"case": ""}
    robust = predict_survival(_fit(sim, ref), profiles)
    naive = predict_survival(_fit(sim, ref | {"cluster": False}), profiles)
    assert np.allclose(robust["survival"], naive["survival"], rtol=1e-12)
    assert not np.allclose(robust["std_err"], naive["std_err"], rtol=1e-3)


def test_one_death_hand_computation() -> None:
    """Breslow increments at x = 0 by hand: dΛ0(t) = 1 / Σ_{at risk} exp(β x), risk sets start < t <= stop."""
    df = pd.DataFrame(
        {"start": [0.0, 1.0, 0.0], "stop": [2.0, 3.0, 1.5], "event": [1, 0, 1], "x": [0.0, 1.0, 2.0]}
    )
    fit = CoxPH(ties="breslow").fit(df, start="start", stop="stop", event="event", covariates=["x"])
    b = float(fit.params_["x"])
    cur = predict_survival(fit, pd.DataFrame({"x": [0.0]}, index=["zero"]))
    # death at 1.5: all three spells at risk (spell 1 entered at 1); at 2: spells 0 and 1
    h = [1 / (1 + math.exp(b) + math.exp(2 * b)), 1 / (1 + math.exp(b))]
    assert cur["time"].tolist() == [1.5, 2.0]
    assert np.allclose(cur["cumhaz"], np.cumsum(h), rtol=1e-12)
    assert np.allclose(cur["n_risk"], [3, 2])


def test_median_rule_averages_a_flat_half() -> None:
    cur = pd.DataFrame(
        {
            "profile": "p",
            "stratum": "",
            "time": [1.0, 2.0, 3.0, 4.0],
            "survival": [0.8, 0.5, 0.5, 0.3],
            "ci_low": [0.7, 0.4, 0.4, 0.2],
            "ci_high": [0.9, 0.6, 0.6, 0.6],
        }
    )
    (m,) = median_lifetimes(cur)
    assert m["estimate"] == 3.0  # (2 + 4) / 2, as R's survmean
    assert m["ci_low"] == 2.0 and m["ci_high"] is None


def test_thinning_keeps_first_and_last_and_bounds_points() -> None:
    cur = pd.DataFrame({"profile": "p", "stratum": "", "time": np.arange(500.0)})
    out = thin_curves(cur, 50)
    assert len(out) == 50 and out["time"].iloc[0] == 0 and out["time"].iloc[-1] == 499
    assert len(thin_curves(cur.head(10), 50)) == 10


def test_profiles_and_multiplier(sim) -> None:
    prof, described = density_profiles(sim, COVS, quantiles=[0.1, 0.5, 0.9], scale=100)
    assert list(prof.index) == ["mean", "density_p10", "density_p50", "density_p90"]
    assert np.allclose(prof["density_sq"], prof["density"] ** 2)
    assert prof.loc["density_p50", "density"] == pytest.approx(float(np.median(sim["density"])))
    assert described[1]["density"] == pytest.approx(100 * float(np.quantile(sim["density"], 0.1)))
    assert prof.loc["density_p90", "log_size"] == pytest.approx(sim["log_size"].mean())
    fit = CoxPH().fit(sim, start="start", stop="stop", event="event", covariates=COVS, cluster="org_id")
    cur = mortality_multiplier(fit, observed_range=(80.0, 300.0), scale=100, n_points=23)
    b1, b2 = fit.params_["density"], fit.params_["density_sq"]
    n = np.array(cur["density"]) / 100
    assert len(n) == 23 and cur["density"][0] == 80.0 and cur["density"][-1] == 300.0
    assert np.allclose(cur["multiplier"], np.exp(b1 * n + b2 * n**2))
    v = fit.robust_variance_.loc[["density", "density_sq"], ["density", "density_sq"]].to_numpy()
    g = np.array([n[5], n[5] ** 2])
    se = math.sqrt(g @ v @ g)
    assert cur["ci_high"][5] == pytest.approx(cur["multiplier"][5] * math.exp(1.959963984540054 * se))
    assert (
        mortality_multiplier(
            CoxPH().fit(sim, start="start", stop="stop", event="event", covariates=["log_size"]),
            observed_range=(80.0, 300.0),
        )
        is None
    )


# ------------------------------------------------------------------------------ stage and report


def _stage_spells() -> pd.DataFrame:
    sp = pd.read_csv(FIX / "cox" / "spells_sim.csv")
    sp["density"] = 100 * sp["density"]  # organizations; the stage divides by density_scale = 100
    sp["density_sq"] = sp["density"] ** 2
    last = ~sp["org_id"].duplicated(keep="last")
    sp["exit_kind"] = pd.Categorical(np.where(sp["event"] == 1, "death", np.where(last, "censored", "")))
    sp["org_id"] = "o" + sp["org_id"].astype(str)
    return sp


def _stage_cfg(**kw) -> dict:
    return {
        "steps": {
            "controls": "Surv(start, stop, event) ~ log_size + funding_share + cluster(org_id)",
            "density": "+ density + density_sq",
        },
        "controls": None,
        "environment": None,
        "se_type": "cluster_cr0",
        "cox": {"ties": "efron"},
        "age_pieces": [0, 5, 10],
        "parametric": [],
        "aft": [],
        "km_groups": [],
        "predictions": {"density_quantiles": [0.1, 0.5, 0.9], "max_points": 30},
    } | kw


def _run_stage(cfg: dict) -> dict:
    from pipeline.stages.fit_survival import fit_survival

    out = fit_survival(
        _stage_spells(),
        dataset="o",
        window=(2000, 2010),
        density_scale=100,
        cfg=cfg,
        environment=[],
        groups=[],
    )
    return {r.model: r for r in out}


def test_the_stage_predicts_from_the_largest_cox_model_and_the_report_draws_it() -> None:
    from analysis.assess import assess
    from analysis.registry import kind_of, undeclared_derived
    from analysis.results import validate_result
    from reports.figure_plan import plan_figures
    from reports.figures import build_figures

    results = _run_stage(_stage_cfg())
    pred = results["cox_density_prediction"]
    obj = pred.to_dict()
    validate_result(obj)
    assert kind_of(obj).name == "survival_prediction" and undeclared_derived(obj) == []
    assert pred.specification["source_model"] == "cox_density" and assess(obj)["reasons"] == []
    cur = pd.DataFrame(pred.curves["predicted_survival"])
    assert list(dict.fromkeys(cur["profile"])) == ["mean", "density_p10", "density_p50", "density_p90"]
    assert cur.groupby("profile").size().max() <= 30
    # the stored curve is R's survfit of the same model at the thinned ages
    sp = _stage_spells().assign(density=lambda d: d["density"] / 100, density_sq=lambda d: d["density"] ** 2)
    covs = ["log_size", "funding_share", "density", "density_sq"]
    fit = CoxPH().fit(sp, start="start", stop="stop", event="event", covariates=covs, cluster="org_id")
    prof, described = density_profiles(sp, covs, quantiles=[0.1, 0.5, 0.9], scale=100)
    full = predict_survival(fit, prof)
    merged = cur.merge(full, on=["profile", "stratum", "time"], suffixes=("", "_direct"))
    assert len(merged) == len(cur)
    assert np.allclose(merged["survival"], merged["survival_direct"], rtol=1e-10)
    assert np.allclose(merged["std_err"], merged["std_err_direct"], rtol=1e-8)
    assert pred.derived["profiles"] == described
    assert pred.derived["median_lifetime"] == median_lifetimes(full)
    mult = pred.curves["mortality_multiplier"]
    assert mult["density"][0] == pytest.approx(sp["density"].min() * 100)
    assert mult["density"][-1] == pytest.approx(sp["density"].max() * 100)
    assert pred.derived["turning_point"] == results["cox_density"].derived["density_minimum"]
    # the report plans and draws both figures from the kind's declaration
    plans = plan_figures({"survival": {m: r.to_dict() for m, r in results.items()}})
    stems = [p.stem for p in plans]
    assert "survival_predicted_cox_density_prediction" in stems
    assert "survival_mortality_multiplier_cox_density_prediction" in stems
    figs = {s: f for s, f, _ in build_figures({"survival": {pred.model: obj}}, language="zh")}
    ax = figs["survival_predicted_cox_density_prediction"].axes[0]
    assert len(ax.get_legend().get_texts()) == 4
    assert (
        figs["survival_mortality_multiplier_cox_density_prediction"].axes[0].get_title().startswith("死亡率")
    )


def test_stratified_stage_predictions_and_disabling() -> None:
    from reports.figures import predicted_survival_figure

    steps = {
        "controls": "Surv(start, stop, event) ~ log_size + funding_share + strata(type) + cluster(org_id)",
        "density": "+ density + density_sq",
    }
    pred = _run_stage(_stage_cfg(steps=steps))["cox_density_prediction"]
    cur = pd.DataFrame(pred.curves["predicted_survival"])
    assert sorted(set(cur["stratum"])) == ["a", "b", "c"] and pred.specification["strata"] == "type"
    assert len(pred.derived["median_lifetime"]) == 4 * 3
    assert len(predicted_survival_figure(pred.to_dict()).axes[0].get_lines()) == 12
    off = _run_stage(_stage_cfg(predictions={"density_quantiles": [], "max_points": 30}))
    assert not any(r.kind == "survival_prediction" for r in off.values())
