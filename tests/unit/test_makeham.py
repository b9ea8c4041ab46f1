"""Gompertz–Makeham PH model: analytic derivatives, recovery with delayed entry and a time-varying covariate,
an independent optimiser (R optim on a likelihood written afresh), the Gompertz boundary c = 0, failures,
the fit_survival stage and the report's parametric table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.makeham import fit_makeham, negloglik_parts
from analysis.parametric import fit_gompertz
from analysis.registry import kind_of, undeclared_derived
from analysis.results import validate_result
from pipeline.stages.fit_survival import fit_survival
from reports.assemble import build_tables

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "makeham"
_spec = importlib.util.spec_from_file_location("makeham_inputs", FIX / "make_inputs.py")
sim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)
TRUE_THETA = {
    "log_c": np.log(sim.TRUTH["c"]),
    "log_lambda": np.log(sim.TRUTH["lambda"]),
    "x": sim.TRUTH["x"],
    "g": sim.TRUTH["g"],
    "gamma": sim.TRUTH["gamma"],
}


def _coefs(res) -> tuple[np.ndarray, np.ndarray]:
    return np.array([t.coef for t in res.terms]), np.array([t.se for t in res.terms])


@pytest.mark.parametrize("gamma", [-0.6, -1e-9, 0.0, 1e-5, 0.3])
def test_analytic_gradient_hessian_and_scores(gamma: float) -> None:
    rng = np.random.default_rng(3)
    n = 80
    a = rng.uniform(0, 5, n) * (rng.uniform(size=n) < 0.7)
    b = a + rng.uniform(0.05, 1.0, n)
    d = rng.integers(0, 2, n).astype(float)
    x = rng.normal(size=(n, 2))
    th = np.array([-2.5, -1.5, 0.3, -0.2, gamma])
    _, g, h, s = negloglik_parts(th, x, d, a, b, need=3)
    eps = 1e-6
    num_g, num_h = np.empty(5), np.empty((5, 5))
    for i in range(5):
        e = np.zeros(5)
        e[i] = eps
        num_g[i] = (negloglik_parts(th + e, x, d, a, b, 0)[0] - negloglik_parts(th - e, x, d, a, b, 0)[0]) / (
            2 * eps
        )
        num_h[:, i] = (
            negloglik_parts(th + e, x, d, a, b, 1)[1] - negloglik_parts(th - e, x, d, a, b, 1)[1]
        ) / (2 * eps)
    np.testing.assert_allclose(g, num_g, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(h, num_h, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(-s.sum(axis=0), g, rtol=1e-12, atol=1e-12)


def test_simulator_left_truncates_and_switches_the_covariate_at_age_5() -> None:
    sp = sim.simulate(500, 1)
    first = sp.groupby("org_id")["start"].min()
    assert (first > 0).mean() > 0.6  # most organizations observed only from an entry age > 0
    assert (sp.loc[sp["start"] < sim.SWITCH_AGE - 1e-9, "x"] == 0).all()
    assert sp.loc[sp["start"] >= sim.SWITCH_AGE, "x"].between(0, 1).all()
    assert ((sp["stop"] <= sim.SWITCH_AGE + 1e-9) | (sp["start"] >= sim.SWITCH_AGE - 1e-9)).all()


def test_recovery_with_delayed_entry_and_a_time_varying_covariate() -> None:
    sp = sim.simulate(5000, 3)
    res = fit_makeham(sp, ["x", "g"], se_type="cluster_cr1")
    assert res.fit["converged"], res.fit["reason"]
    assert [t.term for t in res.terms] == list(TRUE_THETA)
    for name, value in TRUE_THETA.items():
        term = res.term(name)
        assert term.ci_low < value < term.ci_high, (name, value, term)
    mk = res.derived["makeham"]
    assert mk["estimate"] == pytest.approx(sim.TRUTH["c"], rel=0.1)
    assert mk["ci_low"] < sim.TRUTH["c"] < mk["ci_high"]
    assert not mk["at_boundary"] and not mk["weakly_identified"]
    assert res.derived["lambda"]["estimate"] == pytest.approx(sim.TRUTH["lambda"], rel=0.15)
    assert res.derived["shape"]["gamma"] == pytest.approx(sim.TRUTH["gamma"], abs=0.05)
    lr = next(t for t in res.tests if t["name"] == "LR vs Gompertz (c = 0)")
    assert lr["p"] < 1e-10  # the Makeham term is clearly there
    assert "CR1" in res.fit["se_type"]
    validate_result(res.to_dict())
    assert undeclared_derived(res.to_dict()) == []


def test_matches_an_independent_r_optim_fit() -> None:
    """makeham.json: R optim (Nelder-Mead → BFGS, finite-difference gradients) → nlm on a log-likelihood
    written afresh in R, SEs from optimHess and a finite-difference CR0 sandwich (make_fixtures.R).
    Observed agreement: coefficients 9e-9 relative, SEs 1.1e-6 (model) and 2.2e-6 (CR0); the tolerances
    (1e-6, 1e-4) leave room for R's numerical Hessian and scores."""
    ref = json.loads((FIX / "makeham.json").read_text())
    sp = pd.read_csv(FIX / "makeham.csv")
    for se_type, key in (("model", "se"), ("cluster_cr0", "se_cluster_cr0")):
        res = fit_makeham(sp, ["x", "g"], se_type=se_type)
        assert res.fit["converged"], res.fit["reason"]
        assert [t.term for t in res.terms] == ref["names"]
        b, se = _coefs(res)
        np.testing.assert_allclose(b, ref["coef"], rtol=1e-6)
        np.testing.assert_allclose(se, ref[key], rtol=1e-4)
        assert res.fit["loglik"] == pytest.approx(ref["loglik"], rel=1e-9)
        assert res.sample["events"] == ref["events"] and res.sample["n_groups"] == ref["n_groups"]


def test_pure_gompertz_data_put_c_on_the_boundary_with_a_warning() -> None:
    gompertz = {"c": 0.0, "lambda": 0.2, "gamma": -0.15}
    # seed 4: the likelihood falls as c leaves 0 — the maximum is the Gompertz fit
    sp = sim.simulate(3000, 4, gompertz)
    res = fit_makeham(sp, ["x", "g"], se_type="cluster_cr0")
    assert res.fit["converged"]
    mk = res.derived["makeham"]
    assert mk["at_boundary"] and mk["weakly_identified"] and mk["estimate"] == 0.0 and mk["score_at_zero"] < 0
    assert mk["ci_low"] is None and np.isnan(res.term("log_c").coef) and np.isnan(res.term("log_c").se)
    assert any("boundary c = 0" in n and "weakly identified" in n for n in res.notes)
    gomp = fit_gompertz(sp, ["x", "g"], se_type="cluster_cr0")
    np.testing.assert_allclose(_coefs(res)[0][1:], _coefs(gomp)[0], rtol=1e-12)
    np.testing.assert_allclose(_coefs(res)[1][1:], _coefs(gomp)[1], rtol=1e-12)
    lr = res.tests[0]
    assert lr["statistic"] == 0.0 and lr["p"] == 1.0
    out = res.to_dict()
    validate_result(out)
    assert out["terms"][0]["coef"] is None  # log c = -inf is written as null, not as a number
    # seed 1: an interior maximum with a small c that the data do not separate from 0
    res = fit_makeham(sim.simulate(3000, 1, gompertz), ["x", "g"])
    mk = res.derived["makeham"]
    assert not mk["at_boundary"] and mk["weakly_identified"] and mk["estimate"] < 0.01
    assert res.tests[0]["p"] >= 0.05
    assert any("Weakly identified Makeham term" in n for n in res.notes)


def test_failures_are_recorded_with_their_reason() -> None:
    sp = pd.read_csv(FIX / "makeham.csv")
    res = fit_makeham(sp.assign(event=0), ["x"])
    assert not res.fit["converged"] and "no events" in res.fit["reason"]
    validate_result(res.to_dict())
    res = fit_makeham(sp.assign(k=2.0), ["x", "k"])
    assert not res.fit["converged"] and "k" in res.fit["reason"]
    res = fit_makeham(sp.assign(x2=2 * sp["x"]), ["x", "x2"])
    assert not res.fit["converged"] and "x2" in res.fit["reason"]
    assert "too few" in fit_makeham(sp[sp["event"] == 1].iloc[:4], ["x", "g"]).fit["reason"]
    two_deaths = pd.concat([sp[sp["event"] == 1].iloc[:2], sp[sp["event"] == 0].iloc[:50]])
    assert "2 deaths cannot identify" in fit_makeham(two_deaths, ["x"]).fit["reason"]
    bad = sp.copy()
    bad.loc[0, "g"] = np.nan
    assert "non-finite" in fit_makeham(bad, ["g"]).fit["reason"]
    assert "start < stop" in fit_makeham(sp.assign(stop=sp["start"]), ["g"]).fit["reason"]
    assert fit_makeham(sp.iloc[:0], []).fit["reason"] == "no observations"
    with pytest.raises(ValueError):
        fit_makeham(sp, ["x"], se_type="hc3")
    # a constant hazard: c and lambda are not separable (gamma ~ 0); reported on the boundary, never as c
    rng = np.random.default_rng(2)
    t = rng.exponential(5.0, 2000)
    flat = pd.DataFrame({"org_id": range(2000), "start": 0.0, "stop": np.minimum(t, 10), "event": t < 10})
    res = fit_makeham(flat.assign(event=flat["event"].astype(int)), [])
    assert not res.fit["converged"] or res.derived["makeham"]["weakly_identified"]


def test_density_minimum_from_the_quadratic_density_terms() -> None:
    sp = sim.simulate(1500, 9)
    rng = np.random.default_rng(0)
    sp["density"] = rng.uniform(0.5, 1.5, len(sp))
    sp["density_sq"] = sp["density"] ** 2
    res = fit_makeham(sp, ["x", "density", "density_sq"], density_scale=100)
    dm = res.derived["density_minimum"]
    assert dm["estimate"] == pytest.approx(
        -100 * res.term("density").coef / (2 * res.term("density_sq").coef)
    )
    assert dm["se"] > 0


def _stage_spells(n: int = 1500, seed: int = 5) -> pd.DataFrame:
    sp = sim.simulate(n, seed)
    founded = 1990 + sp["org_id"] % 10
    sp["year"] = (founded + np.floor(sp["start"])).astype(int)
    sp["density"] = 50.0 + 4 * (sp["year"] - 1990) - 0.2 * (sp["year"] - 1990) ** 2
    sp["density_sq"] = sp["density"] ** 2
    last = ~sp["org_id"].duplicated(keep="last")
    sp["exit_kind"] = pd.Categorical(np.where(sp["event"] == 1, "death", np.where(last, "censored", "")))
    sp["org_id"] = "o" + sp["org_id"].astype(str)
    return sp


def test_the_stage_fits_makeham_when_listed() -> None:
    cfg = {
        "steps": {
            "controls": "Surv(start, stop, event) ~ x + g + cluster(org_id)",
            "density": "+ density + density_sq",
        },
        "controls": None,
        "environment": None,
        "se_type": "cluster_cr0",
        "cox": {"ties": "efron"},
        "age_pieces": [0, 2, 5],
        "parametric": ["gompertz", "makeham"],
        "aft": [],
        "km_groups": [],
    }
    sp = _stage_spells()
    results = {
        r.model: r
        for r in fit_survival(
            sp, dataset="o", window=(1990, 2020), density_scale=100, cfg=cfg, environment=[], groups=[]
        )
    }
    mk = results["makeham"]
    assert mk.kind == "parametric_makeham" and mk.fit["converged"], mk.fit.get("reason")
    assert [t.term for t in mk.terms] == ["log_c", "log_lambda", "x", "g", "density", "density_sq", "gamma"]
    assert "CR0" in mk.fit["se_type"] and mk.sample["complete_case"]["spells_used"] == len(sp)
    assert "density_minimum" in mk.derived
    direct = fit_makeham(
        sp.assign(density=sp["density"] / 100, density_sq=(sp["density"] / 100) ** 2),
        ["x", "g", "density", "density_sq"],
        se_type="cluster_cr0",
        density_scale=100,
    )
    np.testing.assert_allclose(_coefs(mk)[0], _coefs(direct)[0], rtol=1e-10)
    np.testing.assert_allclose(_coefs(mk)[1], _coefs(direct)[1], rtol=1e-8)
    validate_result(mk.to_dict())
    assert "weibull" not in results  # only the listed distributions


def test_the_report_puts_makeham_in_the_parametric_table() -> None:
    """Dispatch on the registry: the kind parametric_makeham shares the parametric table's stem."""
    sp = pd.read_csv(FIX / "makeham.csv")
    mk = fit_makeham(sp, ["x", "g"], dataset="toy", model="makeham").to_dict()
    gp = fit_gompertz(sp, ["x", "g"], dataset="toy", model="gompertz").to_dict()
    assert kind_of(mk).table == kind_of(gp).table == "survival_parametric"
    tables = build_tables({"survival": {"gompertz": gp, "makeham": mk}})
    table = tables["survival_parametric"]
    assert ["", "gompertz", "makeham"] in [list(h) for h in table.header]
    rows = {label: cells for label, cells, what in table.rows if what == "coef"}
    LOG_C = "log c (Makeham age-independent hazard)"
    assert rows[LOG_C][0].text == "" and rows[LOG_C][1].text == f"{mk['terms'][0]['coef']:.3f}"
    assert len(rows["x"]) == 2 and rows["x"][1].text == f"{mk['terms'][2]['coef']:.3f}"
