"""Tests of the founding-model layer (analysis/founding.py): agreement with R fixtures, design building,
derived quantities (N*, Lind–Mehlum, Fieller, multiplier), nested LR tests, panels, hostile inputs and
recovery of known parameters from the seeded simulator.

R fixtures: tests/fixtures/founding/ (make_inputs.py + make_fixtures.R; glm, MASS::glm.nb, sandwich).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.founding import fit_founding_models, fit_founding_panel, simulate_founding_series
from analysis.founding_design import FoundingSpec, build_founding_design
from analysis.inference.turning_point import multiplier_curve
from analysis.results import ModelResult, validate_result
from analysis.scaling import auto_scale

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "founding"
SERIES = ["banks", "igo", "sim", "poisson_sim"]
COEF_RTOL, COEF_ATOL = 1e-6, 1e-8
SE_RTOL = 1e-4


def _expected(name: str) -> dict:
    return json.loads((FIX / f"expected_{name}.json").read_text())


def _vec(v: object) -> np.ndarray:  # jsonlite unboxes length-1 vectors; "NaN" strings for NaN
    arr = np.atleast_1d(np.array(v, dtype=object))
    return np.array([math.nan if a in (None, "NaN", "NA") else float(a) for a in arr])


def _fit(name: str, se_type: str) -> list[ModelResult]:
    df = pd.read_csv(FIX / f"input_{name}.csv")
    if name == "panel":
        return fit_founding_panel(df, se_type=se_type)
    return fit_founding_models(df, se_type=se_type)


def _key(model: str) -> str:
    return model.removeprefix("panel_district_")


def _is_boundary_in_r(e: dict) -> bool:
    return "theta" in e and float(e["theta"]) > 1e6


def _compare(name: str, se_type: str) -> None:
    exp = _expected(name)
    results = _fit(name, se_type)
    assert len(results) == 8
    for r in results:
        validate_result(r.to_dict())
        e = exp["models"][_key(r.model)]
        assert r.fit["converged"], (r.model, r.fit["reason"])
        assert r.sample["n"] == exp["n"] and r.sample["events"] == exp["events"]
        assert r.sample["window"] == list(exp["window"])
        assert r.specification["density_scale"] == exp["density_scale"]
        if r.family == "negative_binomial" and _is_boundary_in_r(e):
            continue  # checked in test_boundary_matches_r_poisson
        assert [t.term for t in r.terms] == [str(n) for n in np.atleast_1d(e["names"])]
        coef = np.array([t.coef for t in r.terms])
        np.testing.assert_allclose(coef, _vec(e["coef"]), rtol=COEF_RTOL, atol=COEF_ATOL, err_msg=r.model)
        assert r.fit["loglik"] == pytest.approx(float(e["loglik"]), rel=COEF_RTOL)
        se = np.array([t.se for t in r.terms])
        if r.family == "poisson":
            ref = _vec(e["se_cluster"] if se_type == "cluster" else e["se"])
            assert r.fit["aic"] == pytest.approx(float(e["aic"]), rel=COEF_RTOL)
            assert r.fit["bic"] == pytest.approx(float(e["bic"]), rel=COEF_RTOL)
        else:
            ref = _vec(
                {
                    "observed": e["se_observed"],
                    "expected_theta_fixed": e["se_expected"],
                    "cluster": e.get("se_cluster"),
                }[se_type]
            )
            alpha = r.derived["alpha"]
            assert alpha["estimate"] == pytest.approx(1 / float(e["theta"]), rel=1e-6)
            assert alpha["theta"] == pytest.approx(float(e["theta"]), rel=1e-6)
            assert r.fit["aic"] == pytest.approx(float(e["aic"]), rel=COEF_RTOL)
            if se_type == "expected_theta_fixed":
                assert alpha["theta_se"] == pytest.approx(float(e["se_theta"]), rel=SE_RTOL)
        defined = np.isfinite(se)
        if se_type == "cluster":  # FE-only model: cluster sandwich degenerate (R gives ~1e-16)
            assert np.all(np.abs(ref[~defined]) < 1e-8)
        else:
            assert defined.all()
        np.testing.assert_allclose(se[defined], ref[defined], rtol=SE_RTOL, err_msg=r.model)


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("se_type", ["observed", "expected_theta_fixed"])
def test_series_agree_with_r(name: str, se_type: str) -> None:
    _compare(name, se_type)


@pytest.mark.parametrize("se_type", ["observed", "expected_theta_fixed", "cluster"])
def test_panel_agrees_with_r(se_type: str) -> None:
    _compare("panel", se_type)


def test_boundary_matches_r_poisson() -> None:
    """Poisson data: alpha -> 0 in the density models (R's glm.nb: theta -> inf, no convergence)."""
    exp = _expected("poisson_sim")["models"]
    res = {r.model: r for r in _fit("poisson_sim", "observed")}
    for step in ("density2", "covariates"):
        assert _is_boundary_in_r(exp[f"nb_{step}"])
        nb, pois = res[f"nb_{step}"], res[f"poisson_{step}"]
        assert nb.fit["converged"] and nb.derived["alpha"]["at_boundary"]
        assert nb.derived["alpha"]["estimate"] == 0.0
        assert nb.to_dict()["derived"]["alpha"]["se"] is None  # undefined on the boundary -> null
        assert nb.fit["loglik"] == pytest.approx(float(exp[f"poisson_{step}"]["loglik"]), rel=1e-9)
        lr = next(t for t in nb.tests if t["name"].startswith("LR alpha=0"))
        assert lr["statistic"] == 0.0 and lr["p"] == 1.0
        np.testing.assert_allclose([nb.term(t.term).coef for t in pois.terms], [t.coef for t in pois.terms])
        validate_result(nb.to_dict())


# --------------------------------------------------------------------------------------- design


def test_auto_scale_rule() -> None:
    assert auto_scale(8452) == 1000 and auto_scale(999) == 100 and auto_scale(1000) == 1000
    assert auto_scale(7.5) == 1 and auto_scale(0.5) == 0.1 and auto_scale(0) == 1


def test_design_lags_na_and_window() -> None:
    pop = pd.DataFrame(
        {
            "year": [2000, 2001, 2002, 2004, 2005, 2006],
            "density": [10.0, 12.0, np.nan, 15.0, 16.0, 18.0],
            "foundings": [3, 4, 2, 5, 1, 2],
            "env": [1.0, 2.0, 3.0, 4.0, np.nan, 6.0],
        }
    )
    spec = FoundingSpec(
        steps=(("baseline", ()), ("d", ("density", "density_sq", "foundings_lag", "env"))),
        density_scale="auto",
    )
    d = build_founding_design(pop, spec)
    # 2000: no lag; 2002: density NA; 2004: 2003 missing -> no lag; 2005: env NA; kept 2001, 2006
    assert d.years.tolist() == [2001, 2006]
    assert d.x["foundings_lag"].tolist() == [3.0, 1.0]
    assert d.density_scale == 10.0
    np.testing.assert_allclose(d.x["density_sq"], (np.array([12.0, 18.0]) / 10) ** 2)
    assert d.n_dropped_lag == 2 and d.n_dropped_missing == 2 and d.window == [2001, 2006]


def test_design_period_trend_mass() -> None:
    pop = simulate_founding_series(seed=3, years=30)
    pop["era"] = np.where(pop["year"] < 1910, "early", np.where(pop["year"] < 1920, "mid", "late"))
    pop["mass"] = pop["density"] * 37.0
    spec = FoundingSpec(steps=(("baseline", ("period", "trend", "mass")),), period_column="era")
    d = build_founding_design(pop, spec)
    assert [c for c in d.x.columns if c.startswith("period[")] == ["period[late]", "period[mid]"]
    assert d.x["trend"].iloc[0] == 0 and d.x["trend"].iloc[-1] == 29
    assert d.mass_scale == auto_scale(pop["mass"].max())
    with pytest.raises(ValueError, match="unknown term"):
        build_founding_design(pop, FoundingSpec(steps=(("b", ("nonsense",)),)))
    with pytest.raises(ValueError, match="period_column"):
        build_founding_design(pop, FoundingSpec(steps=(("b", ("period",)),)))


def test_nested_models_share_sample_and_lr_tests() -> None:
    pop = simulate_founding_series(seed=5)
    res = {r.model: r for r in fit_founding_models(pop)}
    assert len({r.sample["n"] for r in res.values()}) == 1
    a, b = res["nb_density"], res["nb_density2"]
    lr = next(t for t in b.tests if t["name"] == "LR vs nb_density")
    stat = 2 * (b.fit["loglik"] - a.fit["loglik"])
    assert lr["statistic"] == pytest.approx(stat) and lr["df"] == 1
    assert lr["p"] == pytest.approx(stats.chi2.sf(stat, 1))
    bt = next(t for t in b.tests if t["name"].startswith("LR alpha=0"))
    stat = 2 * (b.fit["loglik"] - res["poisson_density2"].fit["loglik"])
    assert bt["p"] == pytest.approx(0.5 * stats.chi2.sf(stat, 1))
    assert bt["critical_value_5pct"] == pytest.approx(2.7055, abs=1e-4)
    assert b.specification["formula"] == "foundings ~ density + density_sq"
    assert b.fit["df_model"] == 4 and b.fit["aic"] == pytest.approx(-2 * b.fit["loglik"] + 8)
    for r in res.values():
        validate_result(r.to_dict())
        assert r.vcov is not None and r.vcov["terms"] == [t.term for t in r.terms]


# ------------------------------------------------------------------------------------- derived


def test_multiplier_curve() -> None:
    v = np.array([[0.01, -0.002], [-0.002, 0.001]])
    c = multiplier_curve([1.2, -0.25], v, scale=100, dmin=0, dmax=400, n_points=100)
    assert len(c["density"]) == 100 and c["density"][0] == 0 and c["density"][-1] == 400
    assert c["multiplier"][0] == 1.0 and c["ci_low"][0] == 1.0  # N = 0: multiplier 1 exactly
    x = 2.0
    i = int(np.argmin(np.abs(np.array(c["density"]) - 200)))
    x = c["density"][i] / 100
    se = math.sqrt(np.array([x, x * x]) @ v @ np.array([x, x * x]))
    eta = 1.2 * x - 0.25 * x * x
    assert c["multiplier"][i] == pytest.approx(math.exp(eta))
    assert c["ci_high"][i] == pytest.approx(math.exp(eta + 1.959963985 * se))


def test_results_carry_curves_and_n_star() -> None:
    res = {r.model: r for r in fit_founding_models(simulate_founding_series(seed=9))}
    assert "n_star" not in res["nb_density"].derived and "multiplier" in res["nb_density"].curves
    d2 = res["nb_density2"]
    assert set(d2.curves["multiplier"]) == {"density", "multiplier", "ci_low", "ci_high"}
    ns = d2.derived["n_star"]
    b1, b2 = d2.term("density").coef, d2.term("density_sq").coef
    assert ns["estimate"] == pytest.approx(-b1 / (2 * b2) * 100)
    assert ns["unit"] == "organizations" and ns["extremum"] in ("maximum", "minimum")
    assert ns["legitimation_competition"] == (b1 > 0 > b2) and "fieller" in ns and "lind_mehlum" in ns
    assert res["nb_baseline"].curves == {}


# --------------------------------------------------------------------------------------- panel


def test_panel_fixed_effects_flagged() -> None:
    df = pd.read_csv(FIX / "input_panel.csv")
    res = fit_founding_panel(df)
    r = res[-1]
    assert r.model == "panel_district_nb_covariates" and r.sample["n_groups"] == 6
    fe = r.specification["fixed_effects"]
    assert fe["terms"] == [f"fe[district={g}]" for g in "BCDEF"] and fe["display"] is False
    assert all(t in [x.term for x in r.terms] for t in fe["terms"])
    assert r.specification["formula"] == "foundings ~ density + density_sq + foundings_lag + fe(district)"
    assert r.sample["unit"] == "subpopulation-year" and r.fit["se_type"].startswith("cluster")
    with pytest.raises(ValueError, match="group_var"):
        fit_founding_panel(pd.concat([df, df.assign(group_var="type")]))


def test_panel_drops_groups_without_foundings() -> None:
    df = pd.read_csv(FIX / "input_panel.csv")
    df.loc[df["group"] == "C", "foundings"] = 0
    r = fit_founding_panel(df, families=("poisson",))[-1]
    assert r.fit["converged"] and r.sample["n_groups"] == 5
    assert any("without foundings" in n for n in r.notes)


# ------------------------------------------------------------------------------------- hostile


def _all_valid(res: list[ModelResult]) -> None:
    for r in res:
        validate_result(r.to_dict())


def test_hostile_all_zero_series() -> None:
    pop = simulate_founding_series(seed=1).assign(foundings=0)
    res = fit_founding_models(pop)
    _all_valid(res)
    assert all(not r.fit["converged"] and r.fit["reason"].startswith("all outcomes are zero") for r in res)
    assert all(r.terms == [] and r.tests == [] for r in res)


def test_hostile_too_few_years() -> None:
    pop = simulate_founding_series(seed=1).head(4)
    res = {r.model: r for r in fit_founding_models(pop)}
    _all_valid(list(res.values()))
    assert res["poisson_baseline"].fit["converged"]
    assert res["nb_density2"].fit["reason"] == "too few observations: n=3 for 4 parameters"


def test_hostile_constant_density_is_collinear() -> None:
    pop = simulate_founding_series(seed=1).assign(density=250.0)
    res = {r.model: r for r in fit_founding_models(pop)}
    _all_valid(list(res.values()))
    assert res["poisson_density"].fit["reason"].startswith("perfect collinearity")
    assert "'density' ~ 'const'" in res["poisson_density"].fit["reason"]


def test_hostile_no_variation() -> None:
    pop = simulate_founding_series(seed=1).assign(foundings=7)
    res = fit_founding_models(pop)
    _all_valid(res)
    assert all("no variation" in r.fit["reason"] for r in res)


# ------------------------------------------------------------------------------------ recovery

TRUTH = {"const": 1.5, "density": 1.2, "density_sq": -0.25, "alpha": 0.15}
RECOVERY_SPEC = FoundingSpec(  # the 200-replica coverage study skips the profile refits (~1 s per replica)
    steps=(("baseline", ()), ("density2", ("density", "density_sq"))),
    density_scale=100.0,
    profile_intervals=False,
)


def test_recovery_one_seeded_draw() -> None:
    pop = simulate_founding_series(seed=20261126)
    spec = dataclasses.replace(RECOVERY_SPEC, profile_intervals=True)
    r = fit_founding_models(pop, spec=spec, families=("negative_binomial",))[-1]
    for name, value in TRUTH.items():
        t = r.term(name)
        assert t.ci_low <= value <= t.ci_high, (name, t)
    ns = r.derived["n_star"]
    assert ns["ci_low"] <= 240 <= ns["ci_high"] and ns["inside_range"]
    assert ns["profile"]["ci_low"] <= 240 <= ns["profile"]["ci_high"]
    assert r.derived["n_star"]["lind_mehlum"]["p"] < 0.001


@pytest.mark.slow
def test_coverage_within_binomial_tolerance() -> None:
    reps = 200
    hits = {"density": 0, "density_sq": 0, "n_star": 0}
    for s in range(reps):
        pop = simulate_founding_series(seed=5000 + s)
        r = fit_founding_models(pop, spec=RECOVERY_SPEC, families=("negative_binomial",))[-1]
        assert r.fit["converged"]
        for name in ("density", "density_sq"):
            t = r.term(name)
            hits[name] += t.ci_low <= TRUTH[name] <= t.ci_high
        ns = r.derived["n_star"]
        hits["n_star"] += ns["ci_low"] <= 240 <= ns["ci_high"]
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps, 0.95)  # 99.9% binomial band around 95%
    for name, h in hits.items():
        assert lo <= h <= hi, (name, h / reps)


def test_spec_from_mapping() -> None:
    spec = FoundingSpec.from_mapping(
        {
            "steps": {"baseline": ["trend"], "density": ["density"], "density2": ["density_sq"]},
            "density_scale": 1000,
        }
    )
    assert spec.steps == (("baseline", ("trend",)), ("density", ("density",)), ("density2", ("density_sq",)))
    assert spec.density_scale == 1000
    assert [s for s, _ in spec.cumulative()] == ["baseline", "density", "density2"]
    with pytest.raises(ValueError, match="unknown founding-spec"):
        FoundingSpec.from_mapping({"stepz": {}})


def test_results_round_trip_through_result_files(tmp_path: Path) -> None:
    from analysis.results import read_result, write_result

    res = fit_founding_models(pd.read_csv(FIX / "input_poisson_sim.csv"))
    for r in res:
        write_result(tmp_path / f"{r.model}.json", r)
    back = read_result(tmp_path / "nb_density2.json")
    assert back["derived"]["alpha"]["theta"] is None and back["derived"]["alpha"]["at_boundary"] is True
    assert back["specification"]["density_scale"] == 100.0
    assert len(back["curves"]["multiplier"]["density"]) == 100


def test_panel_cr1_factor_is_stated_as_the_code_applies_it() -> None:
    from analysis.inference.vcov import CR1_RULE

    assert "G/(G−1)·(n−1)/(n−K)" in (fit_founding_panel.__doc__ or "")
    assert CR1_RULE == "G/(G-1)·(n-1)/(n-K)"
    r = fit_founding_panel(pd.read_csv(FIX / "input_panel.csv"), families=("poisson",))[-1]
    assert r.specification["options"]["cluster_correction"] == CR1_RULE
    assert r.fit["se_type"].endswith(CR1_RULE)
