"""Case weights in the Cox engine against R ``coxph(weights =)`` (non-integer weights, strata, clusters)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cox import CoxPH

FIX = Path(__file__).resolve().parents[1] / "fixtures"
R = json.loads((FIX / "cox_weights" / "expected.json").read_text(encoding="utf-8"))
COVS = ["density", "density_sq", "log_size", "funding_share"]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_weighted_stratified_clustered_cox_matches_r(ties):
    sim = pd.read_csv(FIX / "cox" / "spells_sim.csv")
    sim["w"] = 0.5 + (sim["org_id"] % 7) / 4
    fit = CoxPH(ties=ties).fit(
        sim,
        start="start",
        stop="stop",
        event="event",
        covariates=COVS,
        strata="type",
        cluster="org_id",
        weights="w",
    )
    ref = {k: np.array([float(v) for v in np.atleast_1d(R[ties][k])]) for k in ("coef", "robust_se")}
    assert np.max(np.abs(fit.params_[COVS].to_numpy() / ref["coef"] - 1)) < 1e-8
    assert np.max(np.abs(fit.robust_se_[COVS].to_numpy() / ref["robust_se"] - 1)) < 1e-6
    assert fit.loglik_ == pytest.approx(float(R[ties]["loglik"]), rel=1e-10)
