"""Profile-likelihood interval of the founding turning point N* against R (glm / MASS::glm.nb refitted with
b1 = -2 b2 s*, uniroot; tests/fixtures/profile/make_fixtures.R), and the generic bound finder by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.count_models import fit_count
from analysis.founding_derived import n_star_profile
from analysis.inference.profile import profile_interval

FIX = Path(__file__).resolve().parents[1] / "fixtures"
EXPECTED = json.loads((FIX / "profile" / "expected.json").read_text(encoding="utf-8"))
CASES = [k for k in EXPECTED if k != "versions"]


def test_profile_of_a_quadratic_log_likelihood_is_the_wald_interval() -> None:
    # deviance (theta - 2)^2 / 0.5^2: bounds 2 -/+ 1.959964 * 0.5
    out = profile_interval(lambda t: ((t - 2.0) / 0.5) ** 2, 2.0, step=0.1)
    assert out["ci_low"] == pytest.approx(2 - 1.959963985 * 0.5, rel=1e-9)
    assert out["ci_high"] == pytest.approx(2 + 1.959963985 * 0.5, rel=1e-9)
    flat = profile_interval(lambda t: min((t - 2.0) ** 2, 1.0), 2.0, step=0.1, max_doublings=10)
    assert flat["ci_low"] is None and flat["upper"] == "unbounded"


@pytest.mark.parametrize("case", CASES)
def test_n_star_profile_interval_matches_r(case: str) -> None:
    exp = EXPECTED[case]
    d = pd.read_csv(FIX / "founding" / f"input_{exp['input']}.csv").dropna()
    s = exp["scale"]
    x = pd.DataFrame({"const": 1.0, "density": d["density"] / s, "density_sq": (d["density"] / s) ** 2})
    y = d["foundings"].to_numpy()
    fit = fit_count(y, x, family=exp["family"])
    assert fit.loglik == pytest.approx(exp["loglik"], rel=1e-8)
    b1, b2 = fit.params[1], fit.params[2]
    assert -b1 / (2 * b2) * s == pytest.approx(exp["estimate"], rel=1e-6)
    out = n_star_profile(fit, y, x, offset=None, scale=s)
    for key in ("ci_low", "ci_high"):
        assert out[key] == pytest.approx(exp[key], rel=1e-6, abs=1e-6 * s), key
    assert out["unit"] == "organizations" and math.isclose(out["critical_value"], 3.841458820694124)


def test_founding_results_carry_the_profile_interval() -> None:
    from analysis.founding import fit_founding_models, simulate_founding_series

    res = {r.model: r for r in fit_founding_models(simulate_founding_series(seed=9))}
    ns = res["nb_density2"].derived["n_star"]
    prof = ns["profile"]
    assert prof["ci_low"] < ns["estimate"] < prof["ci_high"]
    assert np.isclose(prof["ci_high"] - prof["ci_low"], ns["ci_high"] - ns["ci_low"], rtol=0.5)


LOGISTIC = json.loads((FIX / "profile" / "expected_logistic.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["cow_igo", "china_social_organizations"])
def test_carrying_capacity_profile_t_interval_matches_r(name: str) -> None:
    from analysis.logistic import fit_logistic

    exp = LOGISTIC[name]
    res = fit_logistic(pd.read_csv(FIX / "bundled" / exp["file"]))
    assert res.term("K").coef == pytest.approx(exp["K"], rel=1e-6)
    prof = res.derived["K_profile"]
    assert prof["ci_low"] == pytest.approx(exp["ci_low"], rel=1e-7)
    assert prof["ci_high"] == pytest.approx(exp["ci_high"], rel=1e-7)
    assert prof["lower"] == prof["upper"] == "bounded"


def test_a_series_that_has_not_bent_has_an_unbounded_carrying_capacity() -> None:
    from analysis.logistic import fit_logistic

    years = np.arange(1990, 2011)
    rng = np.random.default_rng(3)
    # true K = 2000, inflection in 2014: the observed series (max ~400) has not bent yet
    dens = 2000 / (1 + np.exp(-0.35 * (years - 2014))) * np.exp(rng.normal(0, 0.3, len(years)))
    res = fit_logistic(pd.DataFrame({"year": years, "density": dens.round()}), max_k_ratio=10)
    assert res.fit["converged"]
    k, prof = res.term("K"), res.derived["K_profile"]
    assert k.ci_high < 2000  # the Wald interval misses the truth and looks bounded
    assert prof["ci_high"] is None and prof["upper"] == "unbounded (no crossing up to 3990)"
    assert prof["ci_low"] > k.ci_low


@pytest.mark.parametrize("case", [c for c in CASES if EXPECTED[c]["family"] == "negative_binomial"])
def test_nb2_dispersion_profile_interval_matches_r(case: str) -> None:
    from analysis.founding_derived import alpha_profile

    exp = EXPECTED[case]
    d = pd.read_csv(FIX / "founding" / f"input_{exp['input']}.csv").dropna()
    s = exp["scale"]
    x = pd.DataFrame({"const": 1.0, "density": d["density"] / s, "density_sq": (d["density"] / s) ** 2})
    y = d["foundings"].to_numpy()
    fit = fit_count(y, x, family="negative_binomial")
    assert fit.alpha == pytest.approx(exp["alpha"], rel=1e-6)
    out = alpha_profile(fit, y, x, offset=None)
    assert out["ci_low"] == pytest.approx(exp["alpha_ci_low"], rel=1e-6)
    assert out["ci_high"] == pytest.approx(exp["alpha_ci_high"], rel=1e-6)


def test_alpha_profile_reaches_the_poisson_boundary_on_poisson_data() -> None:
    from analysis.founding_derived import alpha_profile

    rng = np.random.default_rng(11)
    x = pd.DataFrame({"const": 1.0, "z": rng.normal(size=60)})
    y = rng.poisson(np.exp(1.5 + 0.3 * x["z"]))
    fit = fit_count(y, x, family="negative_binomial")
    assert not fit.alpha_at_boundary  # this seed gives a small interior estimate
    out = alpha_profile(fit, y, x, offset=None)
    assert out["ci_low"] == 0.0 and out["lower"].startswith("boundary")
