"""AFT mortality models (analysis/aft.py) against R and by recovery of known parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.aft import ERRORS, fit_aft, hazard_peak

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "aft"
R = json.loads((FIX / "r_results.json").read_text(encoding="utf-8"))
NAMES = ["(Intercept)", "x1", "x2", "log_scale"]


def _rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-8)))


@pytest.fixture(scope="module")
def survreg_data() -> pd.DataFrame:
    return pd.read_csv(FIX / "survreg.csv")


@pytest.mark.parametrize("dist", ["loglogistic", "lognormal", "weibull"])
def test_matches_r_survreg(survreg_data, dist):
    res = fit_aft(survreg_data, ["x1", "x2"], distribution=dist)
    assert res.fit["converged"], res.fit
    assert [t.term for t in res.terms] == NAMES
    assert _rel([t.coef for t in res.terms], R[dist]["coef"]) < 1e-6
    assert _rel([t.se for t in res.terms], R[dist]["se"]) < 1e-4
    assert res.fit["loglik"] == pytest.approx(R[dist]["loglik"], rel=1e-9)
    robust = fit_aft(survreg_data, ["x1", "x2"], distribution=dist, se_type="cluster_cr0")
    assert _rel([t.se for t in robust.terms], R[dist]["se_robust"]) < 1e-4
    assert "CR0" in robust.fit["se_type"]


@pytest.fixture(scope="module")
def delayed() -> pd.DataFrame:
    return pd.read_csv(FIX / "delayed.csv")


@pytest.mark.parametrize("dist", ["loglogistic", "lognormal"])
def test_delayed_entry_and_time_varying_covariates_match_an_independent_r_likelihood(delayed, dist):
    """R's own plogis/pnorm likelihood on the organization's clock, maximised by optim."""
    res = fit_aft(delayed, ["z", "w"], distribution=dist)
    ref = R[f"delayed_{dist}"]
    assert _rel([t.coef for t in res.terms], ref["coef"]) < 1e-6
    assert _rel([t.se for t in res.terms], ref["se"]) < 1e-4
    assert res.fit["loglik"] == pytest.approx(ref["loglik"], rel=1e-10)
    assert any("left truncation" in n for n in res.notes)


def test_recovers_the_simulated_parameters_with_delayed_entry(delayed):
    """The R script simulated log-logistic lifetimes with a covariate changing at age 4 and late entry."""
    res = fit_aft(delayed, ["z", "w"], distribution="loglogistic")
    truth = R["delayed_loglogistic"]["truth"]
    for term, true in zip(res.terms, truth, strict=True):
        assert term.ci_low < true < term.ci_high, (term.term, term.coef, true)


def test_ignoring_the_time_varying_path_or_the_truncation_is_biased(delayed):
    """The clock matters: with the covariate frozen at entry, or late entrants treated as observed from
    age 0, the estimates move away from the truth the right likelihood recovers."""
    right = fit_aft(delayed, ["z", "w"]).term("(Intercept)")
    at_entry = delayed.assign(z=delayed.groupby("org_id")["z"].transform("first"))
    assert abs(fit_aft(at_entry, ["z", "w"]).term("(Intercept)").coef - right.coef) > 2 * right.se
    first = delayed.groupby("org_id").cumcount() == 0
    no_trunc = fit_aft(delayed.assign(start=np.where(first, 0.0, delayed["start"])), ["z", "w"])
    true = R["delayed_loglogistic"]["truth"][0]
    assert not no_trunc.term("(Intercept)").ci_low < true < no_trunc.term("(Intercept)").ci_high


@pytest.mark.parametrize("dist,sigma", [("loglogistic", 0.5), ("lognormal", 0.5), ("lognormal", 1.4)])
def test_hazard_peak_is_the_maximum_of_the_hazard(dist, sigma):
    mu = 2.0
    t = np.exp(np.linspace(mu - 6, mu + 6, 200001))
    w = (np.log(t) - mu) / sigma
    logh = ERRORS[dist].log_h(w) - np.log(sigma * t)
    assert hazard_peak(mu, sigma, dist) == pytest.approx(t[np.argmax(logh)], rel=1e-3)


def test_monotone_hazards_have_no_peak():
    assert hazard_peak(2.0, 0.5, "weibull") is None
    assert hazard_peak(2.0, 1.2, "loglogistic") is None


def test_derived_scale_and_peak(survreg_data):
    res = fit_aft(survreg_data, ["x1", "x2"])
    sc = res.derived["scale"]
    assert sc["ci_low"] < sc["sigma"] < sc["ci_high"] and sc["shape"] == pytest.approx(1 / sc["sigma"])
    assert res.derived["hazard_peak_age"]["age"] > 0


def test_failures_are_results_with_reasons(survreg_data):
    none = fit_aft(survreg_data.assign(event=0), ["x1"])
    assert not none.fit["converged"] and "no deaths" in none.fit["reason"]
    coll = fit_aft(survreg_data.assign(x3=2 * survreg_data["x1"]), ["x1", "x3"])
    assert "collinear" in coll.fit["reason"]
    two = pd.DataFrame(
        {
            "org_id": ["a", "a", "b", "c", "d", "e", "f"],
            "start": [0, 1, 0, 0, 0, 0, 0],
            "stop": [1, 2, 3, 4, 5, 6, 7],
            "event": [1, 0, 1, 0, 1, 1, 0],
            "x": [0, 1, 2, 3, 1, 0, 2],
        }
    )
    assert "not the organization's last" in fit_aft(two, ["x"]).fit["reason"]
    over = two.assign(start=[0, 0.5, 0, 0, 0, 0, 0], event=[0, 1, 1, 0, 1, 1, 0])
    assert "overlap" in fit_aft(over, ["x"]).fit["reason"]


def test_a_gap_between_spells_is_conditioned_on_like_late_entry(survreg_data):
    """Splitting each lifetime at half its length changes nothing; cutting a piece out is late re-entry."""
    d = survreg_data
    half = d["stop"] / 2
    split = pd.concat([d.assign(stop=half, event=0), d.assign(start=half)], ignore_index=True)
    whole, parts = fit_aft(d, ["x1", "x2"]), fit_aft(split, ["x1", "x2"])
    assert _rel([t.coef for t in parts.terms], [t.coef for t in whole.terms]) < 1e-7
    gapped = pd.concat([d.assign(stop=half * 0.9, event=0), d.assign(start=half)], ignore_index=True)
    res = fit_aft(gapped, ["x1", "x2"])
    assert res.fit["converged"] and any("gaps between spells" in n for n in res.notes)
