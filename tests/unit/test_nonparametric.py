"""Kaplan–Meier, Nelson–Aalen, log-rank and Aalen–Johansen with delayed entry, against R's survival."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.nonparametric import aalen_johansen, kaplan_meier, logrank_test

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "survival"


@pytest.fixture(scope="module")
def spells() -> pd.DataFrame:
    return pd.read_csv(FIX / "spells.csv", keep_default_na=False)


def _arr(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _close(a, b, tol: float = 1e-8) -> None:
    a, b = np.asarray(a, float), _arr(list(b))
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=0, atol=tol)


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_kaplan_meier_matches_r_by_group(spells: pd.DataFrame, conf_type: str) -> None:
    ref = json.loads((FIX / "km.json").read_text())[conf_type]
    res = kaplan_meier(spells, group="type", conf_type=conf_type)
    for g in ["A", "B", "C"]:
        r = ref[g]
        t = res.table[res.table["group"] == g]
        for mine, theirs in [
            ("time", "time"),
            ("n_risk", "n_risk"),
            ("n_event", "n_event"),
            ("n_censor", "n_censor"),
            ("survival", "surv"),
            ("std_err_log", "std_err_log"),
            ("ci_low", "lower"),
            ("ci_high", "upper"),
            ("cumhaz", "cumhaz"),
            ("cumhaz_se", "std_chaz"),
        ]:
            _close(t[mine], r[theirs])
        s = res.summary.set_index("group").loc[g]
        for mine, theirs in [
            ("median", "median"),
            ("median_ci_low", "median_lower"),
            ("median_ci_high", "median_upper"),
        ]:
            _close([s[mine]], [r[theirs]])
        np.testing.assert_allclose(t["std_err"], t["survival"] * t["std_err_log"])


def test_kaplan_meier_pooled_matches_r(spells: pd.DataFrame) -> None:
    r = json.loads((FIX / "km.json").read_text())["log"]["_all"]
    res = kaplan_meier(spells)
    _close(res.table["survival"], r["surv"])
    _close(res.table["n_risk"], r["n_risk"])
    assert res.summary["events"].iloc[0] == int(spells["event"].sum())
    curves = res.to_curves()
    assert list(curves) == ["km_all"] and len(curves["km_all"]["time"]) == len(r["time"])


def test_hand_computed_delayed_entry() -> None:
    # b enters at age 2 (left-truncated): at the death at age 1 only a and c are at risk.
    sp = pd.DataFrame(
        {
            "org_id": ["a", "b", "c", "c"],
            "start": [0.0, 2.0, 0.0, 1.5],
            "stop": [1.0, 4.0, 1.5, 3.0],
            "event": [1, 1, 0, 1],
        }
    )
    t = kaplan_meier(sp).table.set_index("time")
    assert t.loc[1.0, "n_risk"] == 2 and t.loc[1.0, "survival"] == pytest.approx(0.5)
    assert t.loc[1.5, "n_censor"] == 0  # an intermediate yearly spell is not a censoring
    assert t.loc[3.0, "n_risk"] == 2 and t.loc[3.0, "survival"] == pytest.approx(0.25)
    assert t.loc[4.0, "survival"] == 0.0
    assert t.loc[3.0, "cumhaz"] == pytest.approx(0.5 + 0.5)
    # Greenwood: sum d/(n(n-d)) = 1/2 + 1/2
    assert t.loc[3.0, "std_err_log"] == pytest.approx(1.0)


def test_splitting_does_not_change_the_curve(spells: pd.DataFrame) -> None:
    whole = spells.groupby("org_id").agg(start=("start", "min"), stop=("stop", "max"), event=("event", "max"))
    a = kaplan_meier(spells).table.set_index("time")
    b = kaplan_meier(whole.reset_index()).table.set_index("time")
    common = b.index
    np.testing.assert_allclose(a.loc[common, "survival"], b["survival"], atol=1e-12)
    np.testing.assert_allclose(a.loc[common, "n_censor"], b["n_censor"])


def test_kaplan_meier_rejects_bad_spells() -> None:
    with pytest.raises(ValueError):
        kaplan_meier(pd.DataFrame({"org_id": [1], "start": [1.0], "stop": [1.0], "event": [0]}))
    with pytest.raises(ValueError):
        kaplan_meier(pd.DataFrame({"org_id": [], "start": [], "stop": [], "event": []}))
    with pytest.raises(ValueError):
        kaplan_meier(
            pd.DataFrame({"org_id": [1], "start": [0.0], "stop": [1.0], "event": [1]}), conf_type="x"
        )


def test_no_events_gives_flat_curve_and_no_median() -> None:
    sp = pd.DataFrame({"org_id": [1, 2], "start": [0.0, 0.5], "stop": [2.0, 3.0], "event": [0, 0]})
    res = kaplan_meier(sp)
    assert (res.table["survival"] == 1).all()
    assert np.isnan(res.summary["median"].iloc[0])


@pytest.mark.parametrize("group", ["type", "district"])
def test_logrank_equals_r_cox_score_test(spells: pd.DataFrame, group: str) -> None:
    ref = json.loads((FIX / "logrank.json").read_text())[group]
    out = logrank_test(spells, group)
    assert out["statistic"] == pytest.approx(ref["chisq"], rel=1e-8)
    assert out["df"] == ref["df"]
    assert 0 <= out["p"] <= 1
    assert sum(out["observed"].values()) == pytest.approx(sum(out["expected"].values()))


def test_logrank_degenerate_cases() -> None:
    sp = pd.DataFrame(
        {"org_id": [1, 2], "start": [0.0, 0.0], "stop": [1.0, 2.0], "event": [0, 0], "g": ["a", "b"]}
    )
    assert logrank_test(sp, "g")["statistic"] is None
    sp["event"] = [1, 1]
    sp["g"] = "a"
    assert logrank_test(sp, "g")["statistic"] is None


def test_aalen_johansen_matches_r_multistate(spells: pd.DataFrame) -> None:
    ref = json.loads((FIX / "aj.json").read_text())
    aj = aalen_johansen(spells, cause_col="exit_kind", causes=["death", "competing:merged"])
    rt = np.array(ref["time"])
    p, se, lo = (
        np.array(ref["pstate"]),
        np.array(ref["std_err"]),
        _arr([v for row in ref["lower"] for v in row]),
    )
    lo = lo.reshape(p.shape)
    for k, state in enumerate(["alive", "death", "competing:merged"]):
        a = aj[aj["state"] == state]
        idx = np.searchsorted(a["time"].to_numpy(), rt, side="right") - 1
        np.testing.assert_allclose(a["estimate"].to_numpy()[idx], p[:, k], atol=1e-8)
        np.testing.assert_allclose(a["std_err"].to_numpy()[idx], se[:, k], atol=1e-8)
        _close(a["ci_low"].to_numpy()[idx], lo[:, k])
    total = aj.groupby("time")["estimate"].sum()
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_aalen_johansen_single_cause_is_one_minus_km(spells: pd.DataFrame) -> None:
    aj = aalen_johansen(spells, causes=["death"])
    # with mergers treated as censoring, the death CIF is 1 - KM of death
    km = kaplan_meier(spells).table
    np.testing.assert_allclose(
        aj.loc[aj["state"] == "death", "estimate"].to_numpy(), 1 - km["survival"], atol=1e-12
    )
