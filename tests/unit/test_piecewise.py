"""Episode splitting, piecewise-exponential and discrete-time cloglog models, against R's glm."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.piecewise import (
    fit_discrete_cloglog,
    fit_piecewise_exponential,
    piece_labels,
    split_episodes,
)
from analysis.results import validate_result

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "survival"
COVS = ["typeB", "typeC", "density", "density_sq", "funding_share"]


@pytest.fixture(scope="module")
def spells() -> pd.DataFrame:
    return pd.read_csv(FIX / "spells.csv", keep_default_na=False)


@pytest.fixture(scope="module")
def episodes(spells: pd.DataFrame) -> pd.DataFrame:
    return split_episodes(spells)


def _coefs(res) -> tuple[np.ndarray, np.ndarray]:
    return np.array([t.coef for t in res.terms]), np.array([t.se for t in res.terms])


def test_piece_labels() -> None:
    assert piece_labels([0, 1, 2, 5, 10]) == ["[0,1)", "[1,2)", "[2,5)", "[5,10)", "[10,inf)"]
    assert piece_labels([0, 0.5]) == ["[0,0.5)", "[0.5,inf)"]


def test_split_matches_r_survsplit(spells: pd.DataFrame, episodes: pd.DataFrame) -> None:
    ref = json.loads((FIX / "pwe.json").read_text())
    assert len(episodes) == ref["n_rows"]
    assert episodes["exposure"].sum() == pytest.approx(ref["exposure"], rel=1e-12)
    assert episodes["event"].sum() == spells["event"].sum()


def test_split_hand_example() -> None:
    sp = pd.DataFrame(
        {
            "org_id": ["a", "b", "c"],
            "start": [0.5, 1.0, 9.0],
            "stop": [2.5, 2.0, 12.0],
            "event": [1, 1, 0],
            "x": [3.0, 4.0, 5.0],
        }
    )
    ep = split_episodes(sp, [0, 1, 2, 5, 10])
    assert ep["org_id"].tolist() == ["a", "a", "a", "b", "c", "c"]
    assert ep["start"].tolist() == [0.5, 1.0, 2.0, 1.0, 9.0, 10.0]
    assert ep["stop"].tolist() == [1.0, 2.0, 2.5, 2.0, 10.0, 12.0]
    assert ep["event"].tolist() == [0, 0, 1, 1, 0, 0]  # stop exactly at a cut stays in the lower piece
    assert ep["piece"].astype(str).tolist() == ["[0,1)", "[1,2)", "[2,5)", "[1,2)", "[5,10)", "[10,inf)"]
    assert ep["x"].tolist() == [3.0, 3.0, 3.0, 4.0, 5.0, 5.0]
    with pytest.raises(ValueError):
        split_episodes(sp, [1, 0])
    with pytest.raises(ValueError):
        split_episodes(sp, [1, 2])  # spells start before the first cut


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 20), st.floats(0.01, 6), st.booleans()), min_size=1, max_size=30))
def test_split_conserves_exposure_and_events(rows) -> None:
    sp = pd.DataFrame(
        {
            "start": [r[0] for r in rows],
            "stop": [r[0] + r[1] for r in rows],
            "event": [int(r[2]) for r in rows],
            "row": range(len(rows)),
        }
    )
    sp = sp[sp["stop"] > sp["start"]]
    cuts = [0.0, 1.0, 2.0, 5.0, 10.0]
    ep = split_episodes(sp, cuts)
    np.testing.assert_allclose(ep.groupby("row")["exposure"].sum(), (sp["stop"] - sp["start"]).to_numpy())
    assert ep.groupby("row")["event"].sum().tolist() == sp["event"].tolist()
    lo = np.array(cuts + [np.inf])[ep["piece"].cat.codes.to_numpy()]
    hi = np.array(cuts[1:] + [np.inf, np.inf])[ep["piece"].cat.codes.to_numpy()]
    assert (ep["start"] >= lo).all() and (ep["stop"] <= hi).all() and (ep["exposure"] > 0).all()


@pytest.mark.parametrize(
    ("se_type", "key"), [("model", "se"), ("cluster_cr1", "se_cr1"), ("cluster_cr0", "se_cr0")]
)
def test_piecewise_exponential_matches_r_glm(episodes: pd.DataFrame, se_type: str, key: str) -> None:
    ref = json.loads((FIX / "pwe.json").read_text())
    res = fit_piecewise_exponential(episodes, COVS, se_type=se_type)
    assert res.fit["converged"], res.fit["reason"]
    b, se = _coefs(res)
    np.testing.assert_allclose(b, ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(se, ref[key], rtol=1e-4)
    assert res.fit["loglik"] == pytest.approx(ref["loglik"], rel=1e-6)
    assert res.sample["events"] == ref["events"] and res.sample["n"] == ref["nobs"]
    assert [t.term for t in res.terms][:5] == [f"piece{lab}" for lab in piece_labels([0, 1, 2, 5, 10])]
    validate_result(res.to_dict())


@pytest.mark.parametrize("engine", ["glum", "newton"])
@pytest.mark.parametrize("gradient_tol", [1e-4, 1e-9])
def test_engines_agree_with_r_whatever_the_tolerance(
    episodes: pd.DataFrame, engine: str, gradient_tol: float
) -> None:
    ref = json.loads((FIX / "pwe.json").read_text())
    res = fit_piecewise_exponential(episodes, COVS, engine=engine, gradient_tol=gradient_tol)
    np.testing.assert_allclose(_coefs(res)[0], ref["coef"], rtol=1e-8)
    oy = pd.read_csv(FIX / "org_years.csv")
    ref2 = json.loads((FIX / "cloglog.json").read_text())["pieces"]
    res2 = fit_discrete_cloglog(oy, COVS, engine=engine, gradient_tol=gradient_tol)
    np.testing.assert_allclose(_coefs(res2)[0], ref2["coef"], rtol=1e-6)
    with pytest.raises(ValueError):
        fit_piecewise_exponential(episodes, COVS, engine="lbfgs")


def test_piecewise_exponential_agrees_with_statsmodels(episodes: pd.DataFrame) -> None:
    res = fit_piecewise_exponential(episodes, COVS)
    x = np.column_stack([pd.get_dummies(episodes["piece"]).to_numpy(float), episodes[COVS].to_numpy(float)])
    sm_fit = sm.GLM(
        episodes["event"].to_numpy(float),
        x,
        family=sm.families.Poisson(),
        offset=np.log(episodes["exposure"].to_numpy()),
    ).fit(tol=1e-13)
    b, se = _coefs(res)
    np.testing.assert_allclose(b, sm_fit.params, rtol=1e-6)
    np.testing.assert_allclose(se, sm_fit.bse, rtol=1e-5)
    assert res.fit["loglik"] == pytest.approx(sm_fit.llf, rel=1e-9)


def test_baseline_hazard_and_density_minimum(episodes: pd.DataFrame) -> None:
    res = fit_piecewise_exponential(episodes, COVS)
    hz = res.curves["hazard_by_age"]
    assert hz["piece"] == piece_labels([0, 1, 2, 5, 10])
    assert hz["hazard"][0] == pytest.approx(np.exp(res.term("piece[0,1)").coef))
    assert hz["ci_low"][0] < hz["hazard"][0] < hz["ci_high"][0]
    dm = res.derived["density_minimum"]
    g1, g2 = res.term("density").coef, res.term("density_sq").coef
    assert dm["estimate"] == pytest.approx(-g1 / (2 * g2))
    assert dm["extremum"] == ("minimum" if g2 > 0 else "maximum") and dm["unit"] == "organizations"
    assert dm["observed_range"] == [episodes["density"].min(), episodes["density"].max()]
    scaled = fit_piecewise_exponential(episodes, COVS, density_scale=100).derived["density_minimum"]
    assert scaled["estimate"] == pytest.approx(100 * dm["estimate"], rel=1e-10)
    assert scaled["observed_range"] == pytest.approx([100 * x for x in dm["observed_range"]])


@pytest.mark.parametrize(("form", "key"), [("pieces", "pieces"), ("log1p", "logage")])
@pytest.mark.parametrize(
    ("se_type", "se_key"), [("model", "se"), ("cluster_cr1", "se_cr1"), ("cluster_cr0", "se_cr0")]
)
def test_discrete_cloglog_matches_r(form: str, key: str, se_type: str, se_key: str) -> None:
    ref = json.loads((FIX / "cloglog.json").read_text())[key]
    oy = pd.read_csv(FIX / "org_years.csv")
    res = fit_discrete_cloglog(oy, COVS, age_form=form, se_type=se_type)
    assert res.fit["converged"], res.fit["reason"]
    b, se = _coefs(res)
    np.testing.assert_allclose(b, ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(se, ref[se_key], rtol=1e-4)
    assert res.fit["loglik"] == pytest.approx(ref["loglik"], rel=1e-6)
    validate_result(res.to_dict())


def test_recovers_known_piecewise_rates() -> None:
    rng = np.random.default_rng(7)
    n = 20000
    rates = np.array([0.3, 0.15, 0.08])
    beta = 0.5
    x = rng.integers(0, 2, n).astype(float)
    entry = rng.uniform(0, 3, n)  # delayed entry
    # exact simulation of a piecewise-constant hazard from the entry age
    cuts = np.array([0.0, 1.0, 3.0, np.inf])
    t = entry.copy()
    remaining = rng.exponential(size=n)
    died = np.zeros(n, bool)
    for j in range(3):
        lo, hi = cuts[j], cuts[j + 1]
        active = ~died & (t < hi)
        seg_start = np.maximum(t, lo)
        h = rates[j] * np.exp(beta * x)
        span = hi - seg_start
        die = active & (remaining < h * span)
        t = np.where(die, seg_start + remaining / h, np.where(active, hi, t))
        remaining = np.where(active & ~die, remaining - h * span, remaining)
        died |= die
    stop = np.minimum(t, entry + 6.0)
    event = died & (t <= entry + 6.0)
    sp = pd.DataFrame(
        {"org_id": np.arange(n), "start": entry, "stop": stop, "event": event.astype(int), "x": x}
    )
    res = fit_piecewise_exponential(
        split_episodes(sp, [0, 1, 3]), ["x"], cuts=[0, 1, 3], se_type="cluster_cr1"
    )
    for lab, rate in zip(piece_labels([0, 1, 3]), rates, strict=True):
        term = res.term(f"piece{lab}")
        assert term.ci_low < np.log(rate) < term.ci_high
    assert res.term("x").ci_low < beta < res.term("x").ci_high


def test_hostile_inputs_are_recorded(episodes: pd.DataFrame) -> None:
    no_events = episodes.assign(event=0)
    res = fit_piecewise_exponential(no_events, COVS)
    assert not res.fit["converged"] and "no events" in res.fit["reason"] and res.terms == []
    validate_result(res.to_dict())

    const = episodes.assign(const=1.0)
    res = fit_piecewise_exponential(const, ["typeB", "const"])
    assert not res.fit["converged"] and "const" in res.fit["reason"]

    zero = episodes.assign(zero=0.0)
    assert "zero" in fit_piecewise_exponential(zero, ["zero"]).fit["reason"]

    nan_cov = episodes.assign(bad=np.where(np.arange(len(episodes)) == 3, np.nan, 1.0))
    assert "non-finite" in fit_piecewise_exponential(nan_cov, ["bad"]).fit["reason"]

    tiny = episodes.iloc[:3]
    assert not fit_piecewise_exponential(tiny, COVS).fit["converged"]

    with pytest.raises(ValueError):
        fit_piecewise_exponential(episodes, COVS, se_type="HC3")
    with pytest.raises(ValueError, match="do not match cuts"):
        fit_piecewise_exponential(episodes, COVS, cuts=[0, 1, 3])


def test_empty_piece_dropped_or_failed(episodes: pd.DataFrame) -> None:
    ep = episodes.copy()
    ep.loc[ep["piece"] == "[10,inf)", "event"] = 0
    res = fit_piecewise_exponential(ep, COVS)
    assert res.fit["converged"]
    assert "piece[10,inf)" not in [t.term for t in res.terms]
    assert res.derived["baseline_hazard"]["pieces"]["[10,inf)"]["rate"] == 0.0
    assert any("[10,inf)" in n for n in res.notes)
    # the limit of the likelihood: identical to fitting without those episodes
    sub = ep[ep["piece"] != "[10,inf)"].copy()
    sub["piece"] = sub["piece"].cat.remove_unused_categories()
    ref = fit_piecewise_exponential(sub, COVS, cuts=[0, 1, 2, 5, 10])
    np.testing.assert_allclose(_coefs(res)[0], _coefs(ref)[0], rtol=1e-10)
    failed = fit_piecewise_exponential(ep, COVS, empty_pieces="fail")
    assert not failed.fit["converged"] and "[10,inf)" in failed.fit["reason"]


def test_separation_is_recorded() -> None:
    oy = pd.read_csv(FIX / "org_years.csv")
    # a dummy that is 1 only on a handful of organization-years that all died: perfect prediction
    died = np.flatnonzero(oy["event"].to_numpy() == 1)[:5]
    oy["perfect"] = 0.0
    oy.loc[died, "perfect"] = 1.0
    res = fit_discrete_cloglog(oy, ["typeB", "perfect"])
    assert not res.fit["converged"]
    assert "perfect" in res.fit["reason"]
    all_events = oy.assign(event=1)
    assert "perfect prediction" in fit_discrete_cloglog(all_events, ["typeB"]).fit["reason"]
    one_event = oy.assign(event=0)
    one_event.loc[0, "event"] = 1
    res1 = fit_discrete_cloglog(one_event, ["typeB"], empty_pieces="fail")
    assert not res1.fit["converged"] and "without deaths" in res1.fit["reason"]
    validate_result(res1.to_dict())
    res2 = fit_discrete_cloglog(one_event, ["typeB"])  # empty pieces dropped: one death left for two terms
    assert [t.term for t in res2.terms] in ([], ["piece[0,1)", "typeB"])
    assert any("dropped" in n for n in res2.notes)
    validate_result(res2.to_dict())


def test_cloglog_empty_piece_is_the_likelihood_limit() -> None:
    oy = pd.read_csv(FIX / "org_years.csv")
    oy.loc[oy["age"] >= 10, "event"] = 0
    res = fit_discrete_cloglog(oy, COVS)
    assert res.fit["converged"] and "piece[10,inf)" not in [t.term for t in res.terms]
    ref = fit_discrete_cloglog(oy[oy["age"] < 10], COVS)
    np.testing.assert_allclose(_coefs(res)[0], _coefs(ref)[0], rtol=1e-10)
    assert res.derived["baseline_hazard"]["pieces"]["[10,inf)"]["rate"] == 0.0
