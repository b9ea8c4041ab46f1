"""Gibrat regressions and size-variance scaling: R agreement, recovery, hostile inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.growth import fit_gibrat, fit_gibrat_models, size_variance_scaling
from analysis.results import validate_result

FIX = Path(__file__).parents[1] / "fixtures" / "growth"
TERMS = ["log_size", "density", "density_sq", "funding_share"]


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(FIX / "gibrat_panel.csv")


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((FIX / "expected.json").read_text())["gibrat"]


@pytest.mark.parametrize("effects,key", [("none", "pooled"), ("org", "org"), ("twoway", "twoway")])
@pytest.mark.parametrize("conv", ["nested", "dummies"])
def test_gibrat_matches_r(panel, expected, effects, key, conv):
    res = fit_gibrat(panel, effects=effects, density_scale=100, k_convention=conv)
    ref = expected[key]
    coef = np.array([res.term(t).coef for t in TERMS])
    se = np.array([res.term(t).se for t in TERMS])
    np.testing.assert_allclose(coef, ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(se, ref[f"se_{conv}"], rtol=1e-4)
    assert res.fit["k_small_sample"] == ref[f"k_{conv}"]
    assert res.sample["n"] == ref["n"] and res.sample["n_groups"] == ref["G"]
    validate_result(res.to_dict())


def test_default_convention_is_nested_fixest(panel):
    default = fit_gibrat(panel, effects="twoway", density_scale=100)
    dummies = fit_gibrat(panel, effects="twoway", density_scale=100, k_convention="dummies")
    assert default.specification["k_convention"] == "nested"
    assert default.term("log_size").se < dummies.term("log_size").se


def test_gibrat_test_and_survivor_note(panel):
    res = fit_gibrat(panel, effects="org", density_scale=100)
    test = res.tests[0]
    ls = res.term("log_size")
    assert test["statistic"] == pytest.approx(ls.coef / ls.se)
    assert test["df"] == res.sample["n_groups"] - 1
    assert res.derived["beta"]["estimate"] == pytest.approx(1 + ls.coef)
    assert any("survivors" in n for n in res.notes)
    assert res.specification["density_scale"] == 100


def _simulate(seed: int, n_org: int = 300, n_year: int = 12) -> pd.DataFrame:
    """Pooled Gibrat process without organization heterogeneity; truth: log_size -0.1, density 0.5,
    density_sq -0.2 (density scale 100), funding_share -0.3."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_org):
        ls, share = rng.normal(2, 1), rng.uniform()
        for y in range(n_year):
            n = rng.uniform(50, 250)  # organization-specific density (e.g. its district)
            g = 0.2 - 0.1 * ls + 0.5 * n / 100 - 0.2 * (n / 100) ** 2 - 0.3 * share + rng.normal(0, 0.2)
            rows.append(
                {
                    "org_id": i,
                    "year": 2000 + y,
                    "log_size": ls,
                    "density": n,
                    "funding_share": share,
                    "growth": g,
                }
            )
            ls += g
    return pd.DataFrame(rows)


def test_pooled_recovers_truth():
    res = fit_gibrat(_simulate(3), effects="none", density_scale=100)
    truth = {"log_size": -0.1, "density": 0.5, "density_sq": -0.2, "funding_share": -0.3}
    for name, value in truth.items():
        t = res.term(name)
        assert t.ci_low < value < t.ci_high, name


def test_population_density_absorbed_by_year_effects(panel):
    df = panel.copy()
    df["density"] = df.groupby("year")["density"].transform("mean")  # one density per year
    res = fit_gibrat(df, effects="twoway", density_scale=100)
    names = [t.term for t in res.terms]
    assert "density" not in names and "density_sq" not in names
    assert any("collinear" in n for n in res.notes)
    assert res.fit["converged"]


def test_side_by_side_models(panel):
    out = fit_gibrat_models(panel, density_scale=100)
    assert [r.model for r in out] == ["gibrat_pooled", "gibrat_org_fe", "gibrat_twoway_fe"]


def test_hostile_inputs(panel):
    no_growth = panel.assign(growth=np.nan)
    res = fit_gibrat(no_growth)
    assert not res.fit["converged"] and "no organization-years" in res.fit["reason"]
    const_size = panel.assign(log_size=1.0)
    res = fit_gibrat(const_size, effects="org")
    assert not res.fit["converged"] and "log size" in res.fit["reason"]
    tiny = panel.head(3)
    res = fit_gibrat(tiny, effects="twoway")
    assert not res.fit["converged"]
    validate_result(res.to_dict())


def _scaling_panel(seed: int, slope: float = -0.25) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(400):
        ls = rng.uniform(0, 6)
        sd = 0.3 * np.exp(slope * ls)
        for y in range(10):
            rows.append({"org_id": i, "year": y, "log_size": ls, "growth": rng.normal(0, sd)})
    return pd.DataFrame(rows)


def test_size_variance_scaling_recovers_slope():
    df = _scaling_panel(11)
    res = size_variance_scaling(df)
    t = res.term("log_size")
    assert t.ci_low < -0.25 < t.ci_high
    assert t.ci_high < 0  # detects scaling
    boot = size_variance_scaling(df, method="bins", ci="bootstrap", n_boot=99, seed=5)
    again = size_variance_scaling(df, method="bins", ci="bootstrap", n_boot=99, seed=5)
    assert boot.term("log_size").ci_low == again.term("log_size").ci_low
    assert boot.term("log_size").ci_low < -0.25 < boot.term("log_size").ci_high
    validate_result(boot.to_dict())


def test_size_variance_hostile():
    df = pd.DataFrame(
        {"org_id": [1, 1, 2], "year": [1, 2, 1], "log_size": [1.0, 1.0, 2.0], "growth": [0.1, 0.2, 0.0]}
    )
    res = size_variance_scaling(df)
    assert not res.fit["converged"]


def test_time_constant_covariate_dropped_in_org_fe(panel):
    df = panel.assign(founding_cohort=panel.groupby("org_id")["year"].transform("min") / 7.0)
    res = fit_gibrat(df, effects="org", covariates=("funding_share", "founding_cohort"), density_scale=100)
    assert "founding_cohort" not in [t.term for t in res.terms]
    assert res.fit["converged"]
