"""One fit-statistics builder: AIC/BIC by hand, events as the BIC sample size for hazard models."""

from __future__ import annotations

import math

import pytest

from analysis.inference.fitstats import fit_statistics, information_criteria


def test_information_criteria_by_hand() -> None:
    assert information_criteria(-100.0, 3, 50) == (206.0, pytest.approx(200 + 3 * math.log(50)))
    assert math.isnan(information_criteria(-1.0, 1, 0)[1])


def test_fit_block_counts_events_for_hazard_models_and_keeps_extras() -> None:
    fit = fit_statistics(-50.0, 4, 1000, n_bic=40, se_type="CR0", df_model=3, iterations=7)
    assert fit == {
        "converged": True,
        "reason": None,
        "loglik": -50.0,
        "aic": 108.0,
        "bic": pytest.approx(100 + 4 * math.log(40)),
        "df_model": 3,
        "nobs": 1000,
        "se_type": "CR0",
        "iterations": 7,
    }
