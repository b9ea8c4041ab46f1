"""Stagnation hazard: run-length logic, gaps, look-ahead censoring, competing dissolution, model fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.results import validate_result
from analysis.stagnation import fit_stagnation, stagnation_risk_set


@pytest.fixture()
def tiny():
    # a: low 2001-2003 -> stagnation starts 2001 (k = 3)
    # b: gap in 2003 breaks the 2000-2001 run; censored at 2003 (2003 + 3 > 2006 last year)
    # c: dies in 2004 -> dissolution in its 2004 row; rows up to the death stay at risk
    oy = pd.DataFrame(
        {
            "org_id": ["a"] * 8 + ["b"] * 6 + ["c"] * 5,
            "year": [*range(2000, 2008), 2000, 2001, 2002, 2004, 2005, 2006, *range(2000, 2005)],
            "growth": [
                0.1,
                -0.1,
                -0.2,
                -0.1,
                0.2,
                0.1,
                0.1,
                np.nan,
                -0.1,
                -0.1,
                np.nan,
                -0.1,
                -0.1,
                np.nan,
                0.1,
                -0.1,
                -0.1,
                0.1,
                np.nan,
            ],
        }
    )
    orgs = pd.DataFrame(
        {
            "org_id": ["a", "b", "c"],
            "end_kind": ["censored", "censored", "death"],
            "ended_year": pd.array([pd.NA, pd.NA, 2004], dtype="Int64"),
        }
    )
    return oy, orgs


def test_run_length_gaps_censoring_and_competing_death(tiny):
    oy, orgs = tiny
    ev = stagnation_risk_set(oy, orgs, k=3, threshold=0.0)
    a = ev[ev.org_id == "a"]
    assert a["year"].tolist() == [2000, 2001] and a["event"].tolist() == ["none", "stagnation"]
    b = ev[ev.org_id == "b"]
    assert b["year"].tolist() == [2000, 2001, 2002] and set(b["event"]) == {"none"}
    c = ev[ev.org_id == "c"]
    assert c["year"].tolist() == [2000, 2001, 2002, 2003, 2004]
    assert c["event"].tolist() == ["none"] * 4 + ["dissolution"]
    assert ev["time"].tolist()[:2] == [1, 2]


def test_k_and_threshold_change_the_event(tiny):
    oy, orgs = tiny
    ev = stagnation_risk_set(oy, orgs, k=2, threshold=0.0)
    # b now stagnates in 2000 (2000 and 2001 low), c in 2001 (2001, 2002 low) before dying
    assert ev.loc[ev.event == "stagnation", "org_id"].tolist() == ["a", "b", "c"]
    ev = stagnation_risk_set(oy, orgs, k=3, threshold=-0.15)
    assert (ev.event == "stagnation").sum() == 0
    with pytest.raises(ValueError):
        stagnation_risk_set(oy, orgs, k=0)


def test_death_after_panel_end_attached_to_last_row():
    oy = pd.DataFrame({"org_id": ["d"] * 3, "year": [2000, 2001, 2002], "growth": [0.1, 0.1, np.nan]})
    orgs = pd.DataFrame({"org_id": ["d"], "end_kind": ["death"], "ended_year": [2003]})
    ev = stagnation_risk_set(oy, orgs, k=3)
    assert ev["event"].tolist() == ["none", "none", "dissolution"]


def _sim_panel(seed: int, n_org: int = 600, n_year: int = 15):
    """Stagnation depends on funding share: growth is low (< 0) with probability 0.2 + 0.5 * share."""
    rng = np.random.default_rng(seed)
    rows, orgs = [], []
    for i in range(n_org):
        share = rng.uniform()
        ls = rng.normal(2, 0.5)
        died = None
        for y in range(n_year):
            if rng.uniform() < 0.02:
                died = 2000 + y
                rows.append(
                    {
                        "org_id": i,
                        "year": 2000 + y,
                        "growth": np.nan,
                        "funding_share": share,
                        "density": 100 + 5 * y,
                        "log_size": ls,
                    }
                )
                break
            low = rng.uniform() < 0.2 + 0.5 * share
            g = -abs(rng.normal(0.1, 0.05)) if low else abs(rng.normal(0.1, 0.05))
            rows.append(
                {
                    "org_id": i,
                    "year": 2000 + y,
                    "growth": g if y < n_year - 1 else np.nan,
                    "funding_share": share,
                    "density": 100 + 5 * y + rng.normal(0, 3),
                    "log_size": ls,
                }
            )
            ls += g
        orgs.append({"org_id": i, "end_kind": "death" if died else "censored", "ended_year": died})
    return pd.DataFrame(rows), pd.DataFrame(orgs)


def test_fit_stagnation_models():
    oy, orgs = _sim_panel(5)
    out = fit_stagnation(oy, orgs, k=2, threshold=0.0, density_scale=100)
    assert out.stagnation.fit["converged"] and out.dissolution.fit["converged"]
    assert out.stagnation.term("funding_share").coef > 0 and out.stagnation.term("funding_share").p < 0.001
    assert out.stagnation.sample["events"] == int((out.events.event == "stagnation").sum())
    assert out.stagnation.specification["k"] == 2
    validate_result(out.stagnation.to_dict())
    validate_result(out.dissolution.to_dict())


def test_no_stagnation_events_recorded():
    oy, orgs = _sim_panel(6, n_org=50)
    out = fit_stagnation(oy, orgs, k=3, threshold=-5.0)
    assert not out.stagnation.fit["converged"] and "no stagnation events" in out.stagnation.fit["reason"]
    assert len(out.events) > 0
    validate_result(out.stagnation.to_dict())


def test_cumulative_incidence_hand_checked():
    from analysis.stagnation import cumulative_incidence

    # time 1: 4 at risk, 1 stagnation; time 2: 2 at risk (one censored), 1 dissolution
    ev = pd.DataFrame(
        {"time": [1, 1, 1, 1, 2, 2], "y_stagnation": [1, 0, 0, 0, 0, 0], "y_dissolution": [0, 0, 0, 0, 1, 0]}
    )
    cif = cumulative_incidence(ev).set_index(["cause", "time"])["estimate"]
    assert cif[("stagnation", 1)] == pytest.approx(0.25)
    assert cif[("dissolution", 1)] == pytest.approx(0.0)
    assert cif[("stagnation", 2)] == pytest.approx(0.25)
    assert cif[("dissolution", 2)] == pytest.approx(0.75 * 0.5)


def test_stagnation_cif_with_ci_equals_discrete_time_estimate():
    from analysis.stagnation import cumulative_incidence
    from pipeline.stages.fit_bottleneck import stagnation_cif

    ev = pd.DataFrame(
        {
            "org_id": ["a", "b", "c", "d", "b", "d"],
            "time": [1, 1, 1, 1, 2, 2],
            "event": ["stagnation", "none", "none", "none", "dissolution", "none"],
            "y_stagnation": [1, 0, 0, 0, 0, 0],
            "y_dissolution": [0, 0, 0, 0, 1, 0],
        }
    )
    ref = cumulative_incidence(ev).set_index(["cause", "time"])["estimate"]
    aj = stagnation_cif(ev).set_index(["cause", "time"])
    for key, value in ref.items():
        assert aj.loc[(key[0], float(key[1])), "estimate"] == pytest.approx(value)
    band = aj.dropna(subset=["ci_low", "ci_high"])  # no band where the incidence is still 0
    assert len(band) >= 2
    assert (band["ci_low"] <= band["estimate"] + 1e-12).all() and (
        band["estimate"] <= band["ci_high"] + 1e-12
    ).all()
