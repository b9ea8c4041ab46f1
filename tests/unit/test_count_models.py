"""Unit tests of the count-regression estimator layer (analysis/count_models.py).

Reference agreement with R (glm, MASS::glm.nb, sandwich) is in test_founding.py; here: analytic pieces
against numerical derivatives, the SE conventions against each other, and every hostile input.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from analysis.count_models import (
    collinear_terms,
    fit_count,
    nb2_loglik,
    nb2_score_obs,
    theta_ml_se,
)


def _design(n: int = 80, seed: int = 3) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    z = np.linspace(0, 4, n)
    x = pd.DataFrame({"const": 1.0, "density": z, "density_sq": z**2})
    mu = np.exp(1 + 0.8 * z - 0.2 * z**2)
    y = rng.poisson(rng.gamma(1 / 0.3, 0.3 * mu))
    return y.astype(float), x


def test_nb2_scores_match_numerical_gradient() -> None:
    y, x = _design()
    xa = x.to_numpy()
    par = np.array([1.1, 0.7, -0.15, 0.4])

    def ll(p: np.ndarray) -> float:
        return nb2_loglik(y, np.exp(xa @ p[:3]), p[3])

    num = optimize.approx_fprime(par, ll, 1e-7)
    ana = nb2_score_obs(y, xa, np.exp(xa @ par[:3]), par[3]).sum(axis=0)
    np.testing.assert_allclose(ana, num, rtol=1e-5, atol=1e-4)


def test_nb2_loglik_at_zero_alpha_is_poisson() -> None:
    y, x = _design()
    mu = np.exp(x.to_numpy() @ np.array([1.0, 0.5, -0.1]))
    assert nb2_loglik(y, mu, 0.0) == pytest.approx(nb2_loglik(y, mu, 1e-12), rel=1e-9)
    # and agrees with scipy's textbook form where that is accurate
    from scipy import stats

    ref = stats.nbinom.logpmf(y, 1 / 0.3, 1 / (1 + 0.3 * mu)).sum()
    assert nb2_loglik(y, mu, 0.3) == pytest.approx(ref, rel=1e-12)


def test_nb2_fit_is_a_maximum_and_scores_vanish() -> None:
    y, x = _design()
    fit = fit_count(y, x, family="negative_binomial")
    assert fit.converged and fit.reason is None
    mu = np.exp(x.to_numpy() @ fit.params[:3])
    assert fit.loglik == pytest.approx(nb2_loglik(y, mu, fit.alpha), rel=1e-12)
    score = nb2_score_obs(y, x.to_numpy(), mu, fit.alpha).sum(axis=0)
    np.testing.assert_allclose(score, 0.0, atol=1e-6)
    for d in (-1e-3, 1e-3):
        assert nb2_loglik(y, mu, fit.alpha + d) < fit.loglik
    assert fit.k_params == 4
    assert fit.aic == pytest.approx(-2 * fit.loglik + 8)
    assert fit.bic == pytest.approx(-2 * fit.loglik + 4 * math.log(len(y)))
    assert fit.theta == pytest.approx(1 / fit.alpha)


def test_se_conventions_share_point_estimates_but_differ_in_se() -> None:
    y, x = _design()
    obs = fit_count(y, x, family="negative_binomial", se_type="observed")
    exp = fit_count(y, x, family="negative_binomial", se_type="expected_theta_fixed")
    np.testing.assert_allclose(obs.params, exp.params, rtol=1e-10)
    assert not np.allclose(obs.bse[:3], exp.bse[:3], rtol=1e-4)
    np.testing.assert_allclose(obs.bse[:3], exp.bse[:3], rtol=0.2)  # same order of magnitude
    # glm.nb's theta SE transformed to alpha by the delta method
    assert exp.bse[3] == pytest.approx(exp.theta_se / exp.theta**2)
    assert exp.vcov[0, 3] == 0.0
    assert theta_ml_se(y, exp.mu, exp.theta) == pytest.approx(exp.theta_se)


def test_poisson_observed_equals_expected_information() -> None:
    y, x = _design()
    a = fit_count(y, x, family="poisson", se_type="observed")
    b = fit_count(y, x, family="poisson", se_type="expected_theta_fixed")
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-12)


def test_cluster_se_with_singleton_clusters_is_hc1() -> None:
    y, x = _design()
    n = len(y)
    fit = fit_count(y, x, family="poisson", se_type="cluster", groups=np.arange(n))
    mu = fit.mu
    xa = x.to_numpy()
    bread = np.linalg.inv(xa.T @ (xa * mu[:, None]))
    s = xa * (y - mu)[:, None]
    k = xa.shape[1]  # the project's CR1 rule: G/(G-1) * (n-1)/(n-K), here G = n (HC1)
    v = n / (n - 1) * (n - 1) / (n - k) * bread @ (s.T @ s) @ bread
    np.testing.assert_allclose(fit.vcov, v, rtol=1e-8)
    assert fit.n_groups == n


def test_cluster_needs_groups() -> None:
    y, x = _design()
    with pytest.raises(ValueError, match="groups"):
        fit_count(y, x, se_type="cluster")
    one = fit_count(y, x, se_type="cluster", groups=np.zeros(len(y)))
    assert not one.converged and "two clusters" in one.reason


def test_offset_and_exposure_are_equivalent() -> None:
    y, x = _design()
    expo = np.linspace(1, 3, len(y))
    a = fit_count(y, x, family="negative_binomial", exposure=expo)
    b = fit_count(y, x, family="negative_binomial", offset=np.log(expo))
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9)


def test_collinear_terms_names_the_combination() -> None:
    x = pd.DataFrame({"const": 1.0, "a": np.arange(10.0), "b": np.arange(10.0) ** 2})
    assert collinear_terms(x) == {}
    x["c"] = 3 * x["a"] - 2
    assert collinear_terms(x) == {"c": ["const", "a"]}
    x["z"] = 0.0
    assert collinear_terms(x)["z"] == []


# ------------------------------------------------------------------------------------------ hostile


@pytest.mark.parametrize("family", ["poisson", "negative_binomial"])
def test_all_zero_outcome(family: str) -> None:
    _, x = _design()
    fit = fit_count(np.zeros(len(x)), x, family=family)
    assert not fit.converged and fit.reason.startswith("all outcomes are zero")
    assert np.all(np.isnan(fit.params))


@pytest.mark.parametrize("family", ["poisson", "negative_binomial"])
def test_constant_outcome(family: str) -> None:
    _, x = _design()
    fit = fit_count(np.full(len(x), 4.0), x, family=family)
    assert not fit.converged and fit.reason.startswith("no variation in the outcome")


@pytest.mark.parametrize("family", ["poisson", "negative_binomial"])
def test_too_few_observations(family: str) -> None:
    y, x = _design()
    k = 3 + (family == "negative_binomial")
    fit = fit_count(y[:k], x.iloc[:k], family=family)
    assert not fit.converged and fit.reason == f"too few observations: n={k} for {k} parameters"


def test_collinear_design_is_detected_before_fitting() -> None:
    y, x = _design()
    x = x.assign(dup=2 * x["density"] + 1)
    fit = fit_count(y, x, family="negative_binomial")
    assert not fit.converged
    assert fit.reason == "perfect collinearity in the design: 'dup' ~ 'const' + 'density'"


def test_negative_or_fractional_counts() -> None:
    y, x = _design()
    y[0] = -1
    assert "non-negative integer" in fit_count(y, x).reason
    y[0] = 1.5
    assert "non-negative integer" in fit_count(y, x).reason


def test_missing_values() -> None:
    y, x = _design()
    x.iloc[3, 1] = np.nan
    fit = fit_count(y, x)
    assert not fit.converged and "missing" in fit.reason


def test_underdispersed_counts_put_alpha_on_the_boundary() -> None:
    rng = np.random.default_rng(5)
    z = np.linspace(0, 2, 60)
    x = pd.DataFrame({"const": 1.0, "z": z})
    y = rng.binomial(20, 0.3 + 0.1 * z).astype(float)  # Var < mean
    pois = fit_count(y, x, family="poisson")
    nb = fit_count(y, x, family="negative_binomial")
    assert nb.converged and nb.alpha_at_boundary
    assert nb.alpha == 0.0 and math.isnan(nb.bse[-1])
    np.testing.assert_allclose(nb.params[:2], pois.params, rtol=1e-12)
    np.testing.assert_allclose(nb.bse[:2], pois.bse, rtol=1e-12)
    assert nb.loglik == pois.loglik
    assert nb.k_params == 3


def test_separation_is_reported_not_crashed() -> None:
    z = np.arange(12.0)
    x = pd.DataFrame({"const": 1.0, "late": (z >= 6).astype(float)})
    y = np.zeros(12)
    y[6:] = [3, 5, 2, 4, 6, 3]  # no founding at all before the change: the early rate's MLE is 0
    fit = fit_count(y, x, family="poisson")
    assert not fit.converged
    assert "diverges" in fit.reason or "singular" in fit.reason


def test_nonconvergence_is_recorded() -> None:
    y, x = _design()
    fit = fit_count(y, x, family="negative_binomial", maxiter=1)
    assert not fit.converged and "converge" in fit.reason


def test_bad_arguments_raise() -> None:
    y, x = _design()
    with pytest.raises(ValueError, match="family"):
        fit_count(y, x, family="gaussian")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="se_type"):
        fit_count(y, x, se_type="robust")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lengths"):
        fit_count(y[:-1], x)


def test_random_small_samples_never_crash_and_nb_dominates_poisson() -> None:
    """120 seeded small data sets (8–60 rows, α from 0 to 5, many near-separated): every fit is either
    converged with an NB2 log-likelihood at least the Poisson one, or recorded as failed with a reason."""
    n_conv = 0
    for s in range(120):
        rng = np.random.default_rng(s)
        n = int(rng.integers(8, 60))
        z = rng.uniform(0, 3, n)
        x = pd.DataFrame({"const": 1.0, "z": z, "z2": z**2})
        mu = np.exp(rng.normal(0, 1) + rng.normal(0, 0.5) * z - 0.1 * z**2)
        a = [0, 0.01, 0.1, 1, 5][s % 5]
        y = rng.poisson(rng.gamma(1 / a, a * mu)) if a > 0 else rng.poisson(mu)
        p = fit_count(y, x)
        nb = fit_count(y, x, family="negative_binomial")
        for f in (p, nb):
            assert f.converged == (f.reason is None)
        if p.converged and nb.converged:
            n_conv += 1
            assert nb.loglik >= p.loglik - 1e-9
            assert nb.alpha_at_boundary == (nb.alpha == 0.0)
    assert n_conv > 90


def test_covariate_in_large_raw_units_is_not_called_singular() -> None:
    y, x = _design()
    budget = np.linspace(1, 2, len(y)) * 1e9 + np.random.default_rng(2).normal(0, 1e8, len(y))
    small = fit_count(y, x.assign(budget=budget / 1e9), family="negative_binomial")
    big = fit_count(y, x.assign(budget=budget), family="negative_binomial")
    assert small.converged and big.converged
    assert big.coef("budget") * 1e9 == pytest.approx(small.coef("budget"), rel=1e-6)
    assert big.bse[3] * 1e9 == pytest.approx(small.bse[3], rel=1e-5)


@pytest.mark.parametrize("power", [-12, -9, -6, 3, 6, 12, 15])
def test_nb2_converges_for_a_covariate_in_any_units(power: int) -> None:
    y, x = _design()
    budget = np.linspace(1, 2, len(y)) + np.random.default_rng(2).normal(0, 0.1, len(y))
    ref = fit_count(y, x.assign(budget=budget), family="negative_binomial")
    unit = 10.0**power
    fit = fit_count(y, x.assign(budget=budget * unit), family="negative_binomial")
    assert ref.converged and fit.converged, fit.reason
    assert fit.coef("budget") * unit == pytest.approx(ref.coef("budget"), rel=1e-9)
    assert fit.bse[3] * unit == pytest.approx(ref.bse[3], rel=1e-7)
    assert fit.alpha == pytest.approx(ref.alpha, rel=1e-9)
    assert fit.loglik == pytest.approx(ref.loglik, rel=1e-12)
    pois = fit_count(y, x.assign(budget=budget * unit), family="poisson")
    assert pois.converged, pois.reason


def test_units_differing_by_a_power_of_two_give_bit_identical_fits() -> None:
    # columns are scaled internally by powers of two (exact), so the user's units cannot move a digit
    y, x = _design()
    budget = (np.linspace(1, 2, len(y)) + np.random.default_rng(5).normal(0, 0.1, len(y))) * 3e9
    a = fit_count(y, x.assign(budget=budget), family="negative_binomial")
    b = fit_count(y, x.assign(budget=budget * 2.0**-20), family="negative_binomial")
    assert a.converged and b.converged
    assert a.loglik == b.loglik
    assert a.coef("budget") == b.coef("budget") * 2.0**-20
    assert a.bse[3] == b.bse[3] * 2.0**-20
    np.testing.assert_array_equal(a.params[:3], b.params[:3])


def test_nb2_loglik_of_huge_counts_needs_no_array_as_long_as_the_counts() -> None:
    import tracemalloc

    y = np.array([3.0e9, 2.95e9, 3.1e9])
    mu = np.full(3, 3.0e9)
    tracemalloc.start()
    try:
        got = nb2_loglik(y, mu, 0.5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the old running-sum form allocated 3e9 floats (22 GiB)
    theta = 2.0
    ref = stats.nbinom.logpmf(y, theta, theta / (theta + mu)).sum()
    # each term is ~ y·log(mu) ~ 7e10, so double precision leaves ~1e-5 absolute in either form
    assert got == pytest.approx(ref, abs=1e-15 * float(np.sum(y * np.log(mu))))
    # α → 0: the Poisson limit, with counts far beyond the running-sum table
    assert nb2_loglik(y, mu, 1e-300) == pytest.approx(nb2_loglik(y, mu, 0.0), rel=1e-12)


@pytest.mark.parametrize("theta", [0.5, 3.0, 9.99, 10.0, 100.0, 1e4, 1e8, 1e12, 1e15])
def test_log_rising_factorial_forms_agree_with_the_running_sum(theta: float) -> None:
    # Σ_{j<y} log(1 + j/θ) summed exactly (fsum) against the table (y ≤ 2^16) and log-gamma forms above
    from analysis.nb2_likelihood import _log_rising_over_power

    ys = [0, 1, 5, 2**16, 2**16 + 1, 100_000, 300_001]
    got = _log_rising_over_power(np.array(ys, dtype=float), theta)
    ref = [math.fsum(math.log1p(j / theta) for j in range(y)) for y in ys]
    np.testing.assert_allclose(got, ref, rtol=2e-14, atol=0)


def test_singular_information_gives_reason() -> None:
    from analysis.count_models import _safe_inv

    h = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-15]])
    assert np.isnan(_safe_inv(h)).all()
    assert np.isnan(_safe_inv(np.array([[1.0, 0.0], [0.0, 0.0]]))).all()
    np.testing.assert_allclose(_safe_inv(np.diag([4.0, 1e12])), np.diag([0.25, 1e-12]))
