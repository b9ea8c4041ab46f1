"""Equilibrium density from a founding and a mortality model: roots, stability, bootstrap, failures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.equilibrium import equilibrium_density
from analysis.results import ModelResult, Term, validate_result


def _model(names, coef, var, scale=100.0, model="m", stage="fit_founding") -> ModelResult:
    res = ModelResult(
        dataset="t",
        stage=stage,
        model=model,
        family="poisson",
        method="ML",
        specification={"density_scale": scale},
    )
    res.terms = [Term.from_estimate(n, c, math.sqrt(v)) for n, c, v in zip(names, coef, var, strict=True)]
    res.set_vcov(list(names), np.diag(var))
    return res


FOUND = _model(
    ["const", "density", "density_sq", "lag_foundings"],
    [2.0, 1.0, -0.2, 0.01],
    [0.01, 0.004, 0.0004, 1e-6],
    model="nb",
)
MORT = _model(["const", "density"], [-3.5, 0.3], [0.01, 0.002], model="pe", stage="fit_survival")


def test_rate_root_solves_balance():
    res = equilibrium_density(FOUND, MORT, founding_covariates={"lag_foundings": 10}, n_max=3000, n_draws=500)
    n_eq = res.derived["equilibrium"]["estimate"]
    x = n_eq / 100
    assert 2.0 + x - 0.2 * x**2 + 0.1 == pytest.approx(math.log(n_eq) - 3.5 + 0.3 * x, abs=1e-9)
    eq = res.derived["equilibrium"]
    assert eq["ci_low"] < n_eq < eq["ci_high"] and eq["share_with_root"] > 0.95
    assert res.derived["roots"][0]["stable"]
    validate_result(res.to_dict())


def test_cloglog_and_count_offset_kinds():
    cl = equilibrium_density(
        FOUND,
        MORT,
        mortality_kind="cloglog",
        founding_covariates={"lag_foundings": 10},
        n_max=3000,
        n_draws=0,
    )
    n_eq = cl.derived["equilibrium"]["estimate"]
    x = n_eq / 100
    found = math.exp(2.0 + x - 0.2 * x**2 + 0.1)
    exits = n_eq * (1 - math.exp(-math.exp(-3.5 + 0.3 * x)))
    assert found == pytest.approx(exits, rel=1e-9)
    rate = equilibrium_density(
        FOUND,
        MORT,
        mortality_kind="count_offset",
        founding_covariates={"lag_foundings": 10},
        n_max=3000,
        n_draws=0,
    )
    # cloglog exits < rate exits at the same eta, so its equilibrium lies further out
    assert n_eq > rate.derived["equilibrium"]["estimate"]


def test_two_roots_stable_and_unstable():
    # foundings exp(1 + 0.5 x) vs exits exp(0.9 x^2 ... ) via a count model without offset
    found = _model(["const", "density"], [1.0, 2.0], [1e-4, 1e-4])
    mort = _model(["const", "density", "density_sq"], [2.0, -1.0, 1.0], [1e-4, 1e-4, 1e-4])
    res = equilibrium_density(found, mort, mortality_kind="count", n_max=1000, n_draws=200)
    roots = res.derived["roots"]
    # g(x) = 1 + 2x - (2 - x + x^2) = -1 + 3x - x^2: roots (3 ± sqrt 5)/2 in units of 100
    expected = sorted(100 * (3 + s * math.sqrt(5)) / 2 for s in (-1, 1))
    assert [r["density"] for r in roots] == pytest.approx(expected, rel=1e-9)
    assert [r["stable"] for r in roots] == [False, True]
    assert res.derived["equilibrium"]["estimate"] == pytest.approx(expected[1])


def test_no_root_and_missing_covariate():
    found = _model(["const", "density"], [-5.0, 0.0], [1e-4, 1e-4])
    res = equilibrium_density(found, MORT, n_max=10, n_min=1, n_draws=50)
    assert not res.fit["converged"] and "no equilibrium" in res.fit["reason"]
    with pytest.raises(ValueError, match="lag_foundings"):
        equilibrium_density(FOUND, MORT, n_max=100)
    failed = ModelResult.failed(
        reason="x", dataset="t", stage="fit_founding", model="m", family="f", method="m"
    )
    assert not equilibrium_density(failed, MORT, n_max=100).fit["converged"]


def test_bootstrap_deterministic():
    kw = dict(founding_covariates={"lag_foundings": 10}, n_max=3000, n_draws=300, seed=9)
    a = equilibrium_density(FOUND, MORT, **kw).derived["equilibrium"]
    b = equilibrium_density(FOUND.to_dict(), MORT.to_dict(), **kw).derived["equilibrium"]
    assert a["ci_low"] == b["ci_low"] and a["ci_high"] == b["ci_high"]
