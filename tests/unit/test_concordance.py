"""Harrell's C on counting-process data agrees with R survival::concordance() (counts exactly, C and its
infinitesimal-jackknife SE to 1e-10), on a hand-checkable toy and on the committed R fixture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cox import CoxPH
from analysis.inference.concordance import concordance

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "concordance"
DATA = pd.read_csv(FIX / "data.csv")
EXPECTED = json.loads((FIX / "expected.json").read_text(encoding="utf-8"))


def _counts(c) -> dict[str, float]:
    return {
        "concordant": c.concordant,
        "discordant": c.discordant,
        "tied.x": c.tied_x,
        "tied.y": c.tied_y,
        "tied.xy": c.tied_xy,
    }


def test_toy_by_hand() -> None:
    """Deaths at 2 (score 3) and 4 (score 1); a spell censored at 4 (score 2) and one entering at 3.
    Death at 2: at risk 2 others (scores 1, 2), both lower -> 2 concordant. Death at 4: at risk the spell
    censored at 4 (score 2, higher) -> discordant; the spell that entered at 3 (score 1) -> tied in x."""
    start = np.array([0.0, 0.0, 0.0, 3.0])
    stop = np.array([2.0, 4.0, 4.0, 5.0])
    event = np.array([1, 1, 0, 0])
    score = np.array([3.0, 1.0, 2.0, 1.0])
    c = concordance(start, stop, event, score)
    assert (c.concordant, c.discordant, c.tied_x, c.tied_y) == (2.0, 1.0, 1.0, 0.0)
    assert c.estimate == pytest.approx((2 + 0.5) / 4)


def test_deaths_at_the_same_time_are_tied_on_y_not_compared() -> None:
    c = concordance(np.zeros(3), np.array([1.0, 1.0, 2.0]), np.array([1, 1, 0]), np.array([1.0, 2.0, 0.0]))
    assert (c.concordant, c.discordant, c.tied_x, c.tied_y) == (2.0, 0.0, 0.0, 1.0)


@pytest.mark.parametrize("case, score, strata", [("plain", "lp", None), ("strata", "lp_strata", "grp")])
def test_matches_r_on_the_linear_predictor(case: str, score: str, strata: str | None) -> None:
    exp = EXPECTED[case]
    c = concordance(
        DATA["start"],
        DATA["stop"],
        DATA["event"],
        DATA[score],
        strata=None if strata is None else DATA[strata],
    )
    assert _counts(c) == {k: float(v) for k, v in exp["count"].items()}
    assert c.estimate == pytest.approx(exp["concordance"], rel=1e-12)
    assert c.se == pytest.approx(np.sqrt(exp["var"]), rel=1e-10)


def test_the_cox_fitter_reports_rs_concordance() -> None:
    """Our Cox fit (Efron) reproduces R's coefficients, hence R's C, and records it on the fitted model."""
    fit = CoxPH(ties="efron").fit(DATA, start="start", stop="stop", event="event", covariates=["x1", "z"])
    np.testing.assert_allclose(fit.params_.to_numpy(), EXPECTED["plain"]["coef"], rtol=1e-7)
    assert fit.concordance_.estimate == pytest.approx(EXPECTED["plain"]["concordance"], rel=1e-10)
    strat = CoxPH(ties="efron").fit(
        DATA, start="start", stop="stop", event="event", covariates=["x1", "z"], strata=["grp"]
    )
    assert strat.concordance_.estimate == pytest.approx(EXPECTED["strata"]["concordance"], rel=1e-10)


def test_weighted_fits_say_why_they_have_no_concordance() -> None:
    d = DATA.assign(w=1.0)
    fit = CoxPH(ties="efron").fit(
        d, start="start", stop="stop", event="event", covariates=["x1"], weights="w"
    )
    assert fit.concordance_ is None
    assert any("concordance not computed" in n for n in fit.notes_)


def test_bad_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        concordance(np.zeros(2), np.ones(2), np.ones(2), np.array([np.nan, 1.0]))


def _brute(start, stop, event, score):
    """O(n^2) reference: C and the infinitesimal-jackknife SE from every comparable pair."""
    n = len(score)
    num, den = np.zeros(n), np.zeros(n)
    for i in np.flatnonzero(event):
        t = stop[i]
        comp = np.flatnonzero((start < t) & (stop >= t) & ~(event & (stop == t)))
        c = (score[i] > score[comp]) + 0.5 * (score[i] == score[comp])
        num[i] += c.sum()
        den[i] += comp.size
        num[comp] += c
        den[comp] += 1
    est = num.sum() / den.sum()
    return est, np.sqrt(np.sum(((num - est * den) / (den.sum() / 2)) ** 2))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_a_brute_force_count_with_heavy_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    start = rng.integers(0, 5, n).astype(float)
    stop = start + rng.integers(1, 6, n)
    event = rng.random(n) < 0.4
    score = rng.integers(0, 4, n).astype(float)  # many ties in the score
    est, se = _brute(start, stop, event, score)
    c = concordance(start, stop, event, score)
    assert c.estimate == pytest.approx(est, rel=1e-12)
    assert c.se == pytest.approx(se, rel=1e-10)
