"""Logistic carrying-capacity fits: agreement with R nls, recovery, gaps and flags, hostile series."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.logistic import fit_logistic, logistic_curve
from analysis.results import validate_result

FIX = Path(__file__).parents[1] / "fixtures" / "growth"


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((FIX / "expected.json").read_text())


@pytest.mark.parametrize(
    "key,file", [("logistic_igo", "igo_density.csv"), ("logistic_china", "china_total.csv")]
)
def test_matches_r_nls(expected, key, file):
    res = fit_logistic(pd.read_csv(FIX / file))
    ref = expected[key]
    assert res.fit["converged"]
    np.testing.assert_allclose([t.coef for t in res.terms], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose([t.se for t in res.terms], ref["se"], rtol=1e-4)
    assert res.fit["sigma"] == pytest.approx(ref["sigma"], rel=1e-6)
    validate_result(res.to_dict())


def test_china_flags_kept_and_noted():
    df = pd.read_csv(FIX / "china_total.csv")
    res = fit_logistic(df)
    curve = res.curves["logistic"]
    assert curve["year"][0] == 1988 and curve["year"][-1] == 2022
    i2014 = curve["year"].index(2014)
    assert curve["observed"][i2014] is None and curve["status"][i2014] is None
    assert curve["status"][curve["year"].index(2009)] == "derived"
    assert any("secondary/derived" in n for n in res.notes)
    excl = fit_logistic(df, exclude_status=("derived",))
    assert excl.sample["n"] == res.sample["n"] - 2
    assert excl.curves["logistic"]["used"][curve["year"].index(2009)] is False


def test_recovery_with_gaps():
    rng = np.random.default_rng(42)
    years = np.arange(1965, 2021)
    truth = {"K": 800.0, "r": 0.15, "t0": 1985.0}
    n = logistic_curve(years, truth["K"], truth["r"], truth["t0"]) + rng.normal(0, 10, len(years))
    df = pd.DataFrame({"year": years, "density": n}).drop(index=[5, 6, 30, 31, 32, 50])
    res = fit_logistic(df)
    for name, value in truth.items():
        t = res.term(name)
        assert t.ci_low < value < t.ci_high, name
    t90 = res.derived["t90"]
    true_t90 = truth["t0"] + math.log(9) / truth["r"]
    assert t90["ci_low"] < true_t90 < t90["ci_high"]
    assert res.sample["years_missing_in_span"] == 6
    band = res.curves["logistic"]
    assert all(
        lo <= f <= hi for lo, f, hi in zip(band["ci_low"], band["fitted"], band["ci_high"], strict=True)
    )


def test_exponential_growth_not_identified():
    years = np.arange(1990, 2011)
    df = pd.DataFrame({"year": years, "density": 10 * np.exp(0.12 * (years - 1990))})
    res = fit_logistic(df)
    assert not res.fit["converged"]
    assert res.derived["identified"] is False and "K not identified" in res.derived["reason"]
    validate_result(res.to_dict())


@pytest.mark.parametrize("density,reason", [([5.0, 6.0, 7.0, 8.0], "too few"), ([7.0] * 8, "constant")])
def test_hostile_series(density, reason):
    df = pd.DataFrame({"year": np.arange(2000, 2000 + len(density)), "density": density})
    res = fit_logistic(df)
    assert not res.fit["converged"] and reason in res.fit["reason"]
    validate_result(res.to_dict())
