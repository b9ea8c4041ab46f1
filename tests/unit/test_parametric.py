"""Weibull and Gompertz PH models: R survreg agreement, analytic derivatives, recovery with delayed entry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from analysis.parametric import BASELINES, _negloglik_parts, fit_gompertz, fit_parametric_ph, fit_weibull
from analysis.results import validate_result

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "survival"


@pytest.fixture(scope="module")
def weibull_data() -> pd.DataFrame:
    w = pd.read_csv(FIX / "weibull.csv").rename(columns={"time": "stop"})
    w["start"] = 0.0
    return w


def _coefs(res) -> tuple[np.ndarray, np.ndarray]:
    return np.array([t.coef for t in res.terms]), np.array([t.se for t in res.terms])


def test_weibull_matches_r_survreg(weibull_data: pd.DataFrame) -> None:
    ref = json.loads((FIX / "weibull.json").read_text())
    res = fit_weibull(weibull_data, ["x1", "x2"])
    assert res.fit["converged"], res.fit["reason"]
    assert [t.term for t in res.terms] == ref["names"]
    b, se = _coefs(res)
    np.testing.assert_allclose(b, ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(se, ref["se"], rtol=1e-4)
    assert res.fit["loglik"] == pytest.approx(ref["loglik"], rel=1e-6)
    assert res.derived["shape"]["rho"] == pytest.approx(1 / ref["scale"], rel=1e-6)
    validate_result(res.to_dict())


def test_likelihood_is_invariant_to_yearly_splitting(weibull_data: pd.DataFrame) -> None:
    """Counting-process form: splitting each lifetime at integer ages must not change the fit."""
    from analysis.piecewise import split_episodes

    split = split_episodes(weibull_data, cuts=list(range(0, 13)))
    for fit in (fit_weibull, fit_gompertz):
        whole, pieces = fit(weibull_data, ["x1", "x2"]), fit(split, ["x1", "x2"])
        np.testing.assert_allclose(_coefs(whole)[0], _coefs(pieces)[0], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(_coefs(whole)[1], _coefs(pieces)[1], rtol=1e-6)
        assert whole.fit["loglik"] == pytest.approx(pieces.fit["loglik"], rel=1e-10)
    # clustering by organization on split data equals the plain sandwich on unsplit data
    a = fit_weibull(weibull_data, ["x1", "x2"], se_type="cluster_cr0")
    b = fit_weibull(split, ["x1", "x2"], se_type="cluster_cr0")
    np.testing.assert_allclose(_coefs(a)[1], _coefs(b)[1], rtol=1e-6)


@pytest.mark.parametrize("dist", ["weibull", "gompertz"])
@pytest.mark.parametrize("psi", [-0.6, -1e-9, 0.0, 1e-5, 0.05, 0.4])
def test_analytic_gradient_and_hessian(dist: str, psi: float) -> None:
    rng = np.random.default_rng(3)
    n = 60
    a = rng.uniform(0, 5, n) * (rng.uniform(size=n) < 0.7)
    b = a + rng.uniform(0.05, 1.0, n)
    d = rng.integers(0, 2, n).astype(float)
    z = np.column_stack([np.ones(n), rng.normal(size=n)])
    th = np.array([-1.5, 0.3, psi])
    base = BASELINES[dist]
    _, g, h = _negloglik_parts(th, z, d, a, b, base, 2)
    eps = 1e-6
    num_g = np.empty(3)
    num_h = np.empty((3, 3))
    for i in range(3):
        e = np.zeros(3)
        e[i] = eps
        num_g[i] = (
            _negloglik_parts(th + e, z, d, a, b, base, 0)[0]
            - _negloglik_parts(th - e, z, d, a, b, base, 0)[0]
        ) / (2 * eps)
        num_h[:, i] = (
            _negloglik_parts(th + e, z, d, a, b, base, 1)[1]
            - _negloglik_parts(th - e, z, d, a, b, base, 1)[1]
        ) / (2 * eps)
    np.testing.assert_allclose(g, num_g, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(h, num_h, rtol=1e-6, atol=1e-6)


def _simulate(dist: str, n: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """Yearly spells with a time-varying covariate and delayed entry, simulated exactly by inverting the
    cumulative hazard year by year."""
    rng = np.random.default_rng(seed)
    truth = {
        "weibull": {"log_lambda": np.log(0.08), "x": 0.5, "g": -0.4, "log_rho": np.log(0.7)},
        "gompertz": {"log_lambda": np.log(0.15), "x": 0.5, "g": -0.4, "gamma": -0.12},
    }[dist]
    lam = np.exp(truth["log_lambda"])

    def cum(t: np.ndarray) -> np.ndarray:
        if dist == "weibull":
            return lam * t ** np.exp(truth["log_rho"])
        return lam * np.expm1(truth["gamma"] * t) / truth["gamma"]

    def inv(hv: np.ndarray) -> np.ndarray:
        if dist == "weibull":
            return (hv / lam) ** (1 / np.exp(truth["log_rho"]))
        return np.log1p(hv * truth["gamma"] / lam) / truth["gamma"]

    entry = np.where(rng.uniform(size=n) < 0.5, rng.uniform(0, 10, n), 0.0)  # half left-truncated
    g = rng.integers(0, 2, n).astype(float)
    remaining = rng.exponential(size=n)
    alive = np.ones(n, bool)
    t = entry.copy()
    rows = []
    for _year in range(12):
        x = rng.normal(size=n)  # time-varying covariate, new value every year
        end = t + 1.0
        rate = np.exp(truth["x"] * x + truth["g"] * g)
        dh = (cum(end) - cum(t)) * rate
        die = alive & (remaining <= dh)
        with np.errstate(invalid="ignore"):
            t_death = inv(cum(t) + remaining / rate)
        stop = np.where(die, t_death, end)
        idx = np.flatnonzero(alive)
        rows.append(
            pd.DataFrame(
                {
                    "org_id": idx,
                    "start": t[idx],
                    "stop": stop[idx],
                    "event": die[idx].astype(int),
                    "x": x[idx],
                    "g": g[idx],
                }
            )
        )
        remaining = np.where(alive & ~die, remaining - dh, remaining)
        alive &= ~die
        t = end
    return pd.concat(rows, ignore_index=True), truth


@pytest.mark.parametrize("dist", ["weibull", "gompertz"])
def test_recovery_with_delayed_entry_and_time_varying_covariates(dist: str) -> None:
    sp, truth = _simulate(dist, n=4000, seed=11 if dist == "weibull" else 12)
    res = fit_parametric_ph(sp, ["x", "g"], distribution=dist, se_type="cluster_cr1")
    assert res.fit["converged"], res.fit["reason"]
    for name, value in truth.items():
        term = res.term(name)
        assert term.ci_low < value < term.ci_high, (name, value, term)


def test_gompertz_matches_direct_numerical_optimisation() -> None:
    sp, _ = _simulate("gompertz", n=1500, seed=5)
    res = fit_gompertz(sp, ["x", "g"])
    a, b, d = sp["start"].to_numpy(), sp["stop"].to_numpy(), sp["event"].to_numpy()
    x = sp[["x", "g"]].to_numpy()

    def negll(th: np.ndarray) -> float:  # written independently: H(t) = lambda (e^{gamma t} - 1) / gamma
        lam, beta, gam = np.exp(th[0]), th[1:3], th[3]
        eta = x @ beta
        dh = lam * (np.exp(gam * b) - np.exp(gam * a)) / gam
        return -float(np.sum(d * (th[0] + gam * b + eta)) - np.sum(dh * np.exp(eta)))

    direct = optimize.minimize(
        negll,
        np.array([-2.0, 0.0, 0.0, -0.05]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000},
    )
    direct = optimize.minimize(negll, direct.x, method="BFGS", options={"gtol": 1e-8})
    np.testing.assert_allclose(_coefs(res)[0], direct.x, rtol=1e-4, atol=1e-6)
    assert res.fit["loglik"] == pytest.approx(-direct.fun, rel=1e-9)
    hess = optimize.approx_fprime(direct.x, lambda th: optimize.approx_fprime(th, negll, 1e-6), 1e-4)
    np.testing.assert_allclose(_coefs(res)[1], np.sqrt(np.diag(np.linalg.inv(hess))), rtol=1e-2)


def test_gompertz_with_gamma_zero_is_exponential() -> None:
    rng = np.random.default_rng(2)
    t = rng.exponential(1 / 0.2, 3000)
    sp = pd.DataFrame({"org_id": np.arange(3000), "start": 0.0, "stop": t, "event": 1})
    res = fit_gompertz(sp, [])
    assert res.term("gamma").ci_low < 0 < res.term("gamma").ci_high
    assert np.exp(res.term("log_lambda").coef) == pytest.approx(0.2, rel=0.1)


def test_hostile_inputs_are_recorded(weibull_data: pd.DataFrame) -> None:
    res = fit_weibull(weibull_data.assign(event=0), ["x1"])
    assert not res.fit["converged"] and "no events" in res.fit["reason"]
    validate_result(res.to_dict())
    res = fit_gompertz(weibull_data.assign(c=2.0), ["x1", "c"])
    assert not res.fit["converged"] and "c" in res.fit["reason"]
    res = fit_weibull(weibull_data.assign(x3=weibull_data["x1"] * 2), ["x1", "x3"])
    assert "x3" in res.fit["reason"]
    res = fit_weibull(weibull_data.iloc[:3], ["x1", "x2"])
    assert not res.fit["converged"] and "too few" in res.fit["reason"]
    bad = weibull_data.copy()
    bad.loc[0, "x1"] = np.nan
    assert "non-finite" in fit_weibull(bad, ["x1"]).fit["reason"]
    # perfect prediction: a dummy equal to 1 only on a few organizations that all die immediately
    sep = weibull_data.copy()
    sep["flag"] = 0.0
    sep.loc[sep.index[:3], ["flag", "event"]] = [1.0, 1]
    sep.loc[sep.index[:3], "stop"] = 1e-4
    res = fit_weibull(sep, ["flag"])
    assert not res.fit["converged"] or res.term("flag").coef > 5
    with pytest.raises(ValueError):
        fit_parametric_ph(weibull_data, ["x1"], distribution="lognormal")


def test_density_minimum_reported() -> None:
    sp, _ = _simulate("weibull", n=1500, seed=9)
    rng = np.random.default_rng(0)
    sp["density"] = rng.uniform(0.5, 1.5, len(sp))
    sp["density_sq"] = sp["density"] ** 2
    res = fit_weibull(sp, ["x", "density", "density_sq"])
    dm = res.derived["density_minimum"]
    assert dm["estimate"] == pytest.approx(-res.term("density").coef / (2 * res.term("density_sq").coef))
    assert dm["se"] > 0
