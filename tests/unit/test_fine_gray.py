"""Fine–Gray subdistribution hazards against R ``survival::finegray`` + weighted ``coxph`` and ``cmprsk::crr``.

Fixture: ``tests/fixtures/fine_gray/make_fixture.R`` (two simulated data sets with two exit kinds: one
time-fixed without delayed entry, one of yearly spells with delayed entry and a time-varying covariate).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.fine_gray import FG_START, FG_STOP, FG_WT, MODEL_KINDS, expand, fit_fine_gray, to_model_result
from analysis.registry import kinds, undeclared_derived
from analysis.results import validate_result

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "fine_gray"
R = json.loads((FIX / "expected.json").read_text(encoding="utf-8"))
DATA = {
    "fixed": dict(stop="age", covariates=["x1", "x2"]),
    "delayed": dict(start="start", stop="stop", covariates=["x", "z"]),
}


def _num(v) -> np.ndarray:
    return np.array([float(x) for x in np.atleast_1d(v)])


def _fit(name: str, k: int, **kw):
    df = pd.read_csv(FIX / f"{name}.csv")
    return fit_fine_gray(df, exit_kind="kind", kind=k, id="org_id", **DATA[name], **kw)


CASES = [(name, k) for name in DATA for k in (1, 2)]


@pytest.mark.parametrize(("name", "k"), CASES)
def test_expansion_matches_finegray(name, k):
    df = pd.read_csv(FIX / f"{name}.csv")
    spec = DATA[name]
    exp = expand(df, stop=spec["stop"], start=spec.get("start"), id="org_id", exit_kind="kind", kind=k)
    ref = R[name][f"k{k}"]
    d = exp.data
    assert len(d) == ref["nrow"]
    assert exp.delayed == (name == "delayed")
    assert d[FG_WT].sum() == pytest.approx(float(ref["sum_wt"]), rel=1e-12)
    assert (d[FG_WT] * d[FG_STOP]).sum() == pytest.approx(float(ref["sum_wt_stop"]), rel=1e-12)
    assert (d[FG_WT] * d[FG_START]).sum() == pytest.approx(float(ref["sum_wt_start"]), rel=1e-12)


@pytest.mark.parametrize(("name", "k"), CASES)
def test_coefficients_and_ses_match_r_coxph(name, k):
    ref = R[name][f"k{k}"]
    covs = DATA[name]["covariates"]
    fit = _fit(name, k, cluster="id").model
    assert fit.converged_
    assert np.max(np.abs(fit.params_[covs].to_numpy() / _num(ref["coef"]) - 1)) < 1e-9
    assert np.max(np.abs(fit.se_[covs].to_numpy() / _num(ref["naive_se"]) - 1)) < 1e-8
    assert np.max(np.abs(fit.robust_se_[covs].to_numpy() / _num(ref["robust_se_org"]) - 1)) < 1e-8
    assert fit.loglik_ == pytest.approx(float(ref["loglik"]), rel=1e-8)
    assert fit.loglik_null_ == pytest.approx(float(ref["loglik_null"]), rel=1e-8)
    rows = _fit(name, k, cluster="row").model
    assert np.max(np.abs(rows.robust_se_[covs].to_numpy() / _num(ref["robust_se_rows"]) - 1)) < 1e-8


@pytest.mark.parametrize("k", [1, 2])
def test_time_fixed_matches_cmprsk_crr(k):
    ref = R["fixed"][f"k{k}"]
    fit = _fit("fixed", k, ties="breslow").model
    coef = fit.params_[["x1", "x2"]].to_numpy()
    assert (
        np.max(np.abs(coef / _num(ref["crr"]["coef"]) - 1)) < 1e-7
    )  # crr converges to ~1e-8 even at gtol 1e-12
    assert np.max(np.abs(coef / _num(ref["breslow"]["coef"]) - 1)) < 1e-9
    # crr's variance also reflects estimating G: close to, not equal to, the organization sandwich
    assert np.max(np.abs(fit.robust_se_[["x1", "x2"]].to_numpy() / _num(ref["crr"]["se"]) - 1)) < 1e-3


def test_model_result_is_a_registered_valid_fine_gray_result():
    res = to_model_result(_fit("delayed", 1), dataset="sim", model="fine_gray_1")
    d = res.to_dict()
    validate_result(d)
    assert d["kind"] == "fine_gray" and kinds()["fine_gray"] is MODEL_KINDS[0]
    assert MODEL_KINDS[0].section == "Competing exits"
    assert not undeclared_derived(d)
    assert any("finegray" in n and "G(t−)" in n for n in d["notes"])
    assert d["derived"]["expansion"]["delayed_entry"] is True


def test_expansion_rejects_exits_before_the_last_spell():
    df = pd.DataFrame({"org_id": [1, 1], "start": [0, 1], "stop": [1, 2], "kind": [2, 0]})
    with pytest.raises(ValueError, match="before its last spell"):
        expand(df, start="start", stop="stop", id="org_id", exit_kind="kind", kind=1)


def test_gaps_are_refused_as_r_does_unless_allowed():
    df = pd.read_csv(FIX / "delayed.csv")
    drop = df.groupby("org_id").cumcount().eq(1) & df.groupby("org_id")["org_id"].transform("size").gt(2)
    gappy = df[~drop.to_numpy()]
    kw = dict(start="start", stop="stop", id="org_id", exit_kind="kind", kind=1)
    with pytest.raises(ValueError, match="gaps"):
        expand(gappy, **kw)
    exp = expand(gappy, allow_gaps=True, **kw)
    assert exp.n_gaps == int(drop.sum()) and exp.delayed
    full = expand(df, **kw)
    assert exp.n_extended == full.n_extended
