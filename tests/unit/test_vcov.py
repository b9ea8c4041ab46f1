"""One sandwich, one vocabulary, one CR1 rule (analysis.inference.vcov) against statsmodels and by hand."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from analysis.inference.vcov import CR1_RULE, sandwich, se_kind, se_label, small_sample_factor


def test_vocabulary_and_legacy_spellings() -> None:
    assert [se_kind(s) for s in ("model", "observed", "cluster_cr0", "CR0", "cluster", "cluster_cr1")] == [
        "model",
        "model",
        "CR0",
        "CR0",
        "CR1",
        "CR1",
    ]
    with pytest.raises(ValueError, match="se_type 'hc3' is not one of model, CR0, CR1"):
        se_kind("hc3")
    assert se_label("CR1", "org_id") == f"cluster-robust CR1 by org_id ({CR1_RULE})"


def test_the_one_cr1_rule_by_hand() -> None:
    assert small_sample_factor("CR1", 10, 100, 4) == pytest.approx(10 / 9 * 99 / 96)
    assert small_sample_factor("CR0", 10, 100, 4) == 1.0
    assert np.isnan(small_sample_factor("CR1", 1, 100, 4))


def test_ols_sandwich_equals_statsmodels_cluster() -> None:
    rng = np.random.default_rng(3)
    n, g = 300, 25
    groups = rng.integers(0, g, n)
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    y = x @ [1.0, 0.5, -0.2] + rng.normal(size=n) + rng.normal(size=g)[groups]
    ref = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups})
    resid = y - x @ ref.params
    bread = np.linalg.inv(x.T @ x)
    v, n_g = sandwich(bread, x * resid[:, None], groups, "CR1")
    assert n_g == g
    np.testing.assert_allclose(v, ref.cov_params(), rtol=1e-10)
    v0, _ = sandwich(bread, x * resid[:, None], groups, "CR0")
    np.testing.assert_allclose(v0 * small_sample_factor("CR1", g, n, 3), v, rtol=1e-12)


def test_glm_sandwich_equals_statsmodels_cluster_and_model_is_the_bread() -> None:
    rng = np.random.default_rng(4)
    n, g = 400, 30
    groups = rng.integers(0, g, n)
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = rng.poisson(np.exp(x @ [0.3, 0.4] + 0.3 * rng.normal(size=g)[groups]))
    ref = sm.GLM(y, x, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, tol=1e-12
    )
    mu = np.exp(x @ ref.params)
    bread = np.linalg.inv(x.T @ (x * mu[:, None]))
    v, _ = sandwich(bread, x * (y - mu)[:, None], groups, "cluster")
    np.testing.assert_allclose(v, ref.cov_params(), rtol=1e-8)
    assert sandwich(bread, x, groups, "model")[0] is not None
    np.testing.assert_array_equal(sandwich(bread, x, groups, "model")[0], bread)


def test_n_params_override_counts_absorbed_effects() -> None:
    rng = np.random.default_rng(5)
    s = rng.normal(size=(50, 2))
    groups = np.repeat(np.arange(10), 5)
    b = np.eye(2)
    v2, _ = sandwich(b, s, groups, "CR1")
    v12, _ = sandwich(b, s, groups, "CR1", n_params=12)
    assert v12[0, 0] / v2[0, 0] == pytest.approx((50 - 2) / (50 - 12))
