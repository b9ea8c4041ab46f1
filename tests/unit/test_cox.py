"""Cox engine (analysis/cox*.py) against R survival 3.x fixtures, by hand, lifelines and simulation.

Fixtures: tests/fixtures/cox/ (make_inputs.py → spells_*.csv; make_fixtures.R → expected_cox.json).
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cox import CoxPH
from analysis.cox_result import density_minimum, to_model_result
from analysis.cox_zph import cox_zph
from analysis.results import validate_result

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "cox"
EXPECTED = json.loads((FIX / "expected_cox.json").read_text())
SIM_COVS = ["density", "density_sq", "density_at_founding", "log_size", "funding_share", "env"]
STRATA_COVS = ["density", "density_sq", "log_size", "funding_share"]


def _load_sim_module():
    spec = importlib.util.spec_from_file_location("cox_make_inputs", FIX / "make_inputs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return pd.read_csv(FIX / "spells_sim.csv")


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return pd.read_csv(FIX / "spells_small.csv")


def _fit(df, covs, ties, strata=None, **kw):
    return CoxPH(ties=ties, **kw).fit(
        df, start="start", stop="stop", event="event", covariates=covs, cluster="org_id", strata=strata
    )


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


CASES = {
    "sim": ("sim", SIM_COVS, None),
    "small": ("small", ["x", "z"], None),
    "strata": ("sim", STRATA_COVS, "type"),
}


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("case", list(CASES))
def test_agrees_with_r_coxph(case, ties, request):
    data_name, covs, strata = CASES[case]
    df = request.getfixturevalue(data_name)
    exp = EXPECTED[f"{case}_{ties}"]
    m = _fit(df, covs, ties, strata)
    assert m.converged_ and m.reason_ is None
    assert exp["terms"] == covs
    assert m.n_obs_ == exp["n"] and m.n_events_ == exp["nevent"]
    assert m.iterations_ == exp["iter"]  # same Newton–Raphson path and stopping rule as agfit4
    assert _rel(m.params_.to_numpy(), exp["coef"]) < 1e-6
    assert _rel(m.se_.to_numpy(), exp["se"]) < 1e-4
    assert _rel(m.robust_se_.to_numpy(), exp["robust_se"]) < 1e-4
    assert _rel(m.variance_.to_numpy(), exp["naive_var"]) < 1e-4
    assert _rel(m.robust_variance_.to_numpy(), exp["robust_var"]) < 1e-4
    assert _rel([m.loglik_null_, m.loglik_], exp["loglik"]) < 1e-8
    assert _rel(m.score_test_["statistic"], exp["score_test"]) < 1e-4
    assert _rel(m.wald_test_["statistic"], exp["wald_test"]) < 1e-4  # robust Wald, as R with cluster
    assert _rel(m.robust_score_test_["statistic"], exp["robust_score_test"]) < 1e-4
    assert m.lr_test_["statistic"] == pytest.approx(2 * (exp["loglik"][1] - exp["loglik"][0]), rel=1e-6)


@pytest.mark.parametrize("transform", ["km", "identity", "log", "rank"])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("case", list(CASES))
def test_cox_zph_agrees_with_r(case, ties, transform, request):
    data_name, covs, strata = CASES[case]
    m = _fit(request.getfixturevalue(data_name), covs, ties, strata)
    exp = EXPECTED[f"{case}_{ties}"][f"zph_{transform}"]
    table = cox_zph(m, transform=transform)
    assert list(table.index) == exp["terms"]
    assert _rel(table["chisq"], exp["chisq"]) < 1e-4
    assert list(table["df"]) == exp["df"]
    np.testing.assert_allclose(table["p"], exp["p"], rtol=1e-4, atol=1e-12)


def test_small_example_risk_sets_by_hand(small):
    """Risk sets of the 7-spell example under (start, stop]:

    death age 2 (org 3): spells (1,2], (1,2], (0,2], (0.5,3] — the spells (2,3] and (2,4] that START at 2
        are not at risk: 4 at risk.
    death age 3 (orgs 1 and 5, tied): (2,3], (2,4], (0.5,3]: 3 at risk, 2 deaths.
    death age 4 (org 2): (2,4] alone.
    At β = 0 the Efron log partial likelihood is −log 4 − [log 3 + log(3 − ½·2)] − log 1 = −log 24 and
    Breslow's is −log 4 − 2 log 3 = −log 36. Counting spells that start at t as at risk (statsmodels'
    pitfall) would give 6 at risk at age 2 instead of 4.
    """
    efron = _fit(small, ["x", "z"], "efron")
    breslow = _fit(small, ["x", "z"], "breslow")
    assert efron.loglik_null_ == pytest.approx(-math.log(24), rel=1e-14)
    assert breslow.loglik_null_ == pytest.approx(-math.log(36), rel=1e-14)
    assert efron.n_events_ == 4 and efron.n_obs_ == 7 and efron.n_clusters_ == 5


def test_point_estimates_match_lifelines(sim):
    from lifelines import CoxTimeVaryingFitter

    covs = ["density", "log_size", "funding_share", "env"]
    ctv = CoxTimeVaryingFitter()
    ctv.fit(
        sim[["org_id", "start", "stop", "event", *covs]],
        event_col="event",
        id_col="org_id",
        start_col="start",
        stop_col="stop",
        fit_options={"precision": 1e-12},
    )
    ours = _fit(sim, covs, "efron")
    assert _rel(ours.params_.to_numpy(), ctv.params_[covs].to_numpy()) < 1e-6


def test_row_order_and_integer_weights(sim):
    base = _fit(sim, STRATA_COVS, "efron")
    shuffled = _fit(sim.sample(frac=1.0, random_state=3), STRATA_COVS, "efron")
    assert _rel(shuffled.params_.to_numpy(), base.params_.to_numpy()) < 1e-9
    assert _rel(shuffled.robust_se_.to_numpy(), base.robust_se_.to_numpy()) < 1e-9
    # Breslow: case weight 2 on every spell of some organizations == those spells duplicated. (Not under
    # Efron, in R either: duplicating a death adds a tie and changes Efron's fractions.)
    sub = sim[sim.org_id <= 600]
    w = np.where(sub.org_id % 2 == 0, 2.0, 1.0)
    weighted = CoxPH(ties="breslow").fit(
        sub.assign(w=w), start="start", stop="stop", event="event", covariates=STRATA_COVS, weights="w"
    )
    dup = pd.concat([sub, sub[sub.org_id % 2 == 0]])
    duplicated = CoxPH(ties="breslow").fit(
        dup, start="start", stop="stop", event="event", covariates=STRATA_COVS
    )
    assert _rel(weighted.params_.to_numpy(), duplicated.params_.to_numpy()) < 1e-9
    assert weighted.loglik_ == pytest.approx(duplicated.loglik_, rel=1e-12)


def test_recovers_known_parameters():
    mod = _load_sim_module()
    df = mod.simulate(n_orgs=4000, seed=7)
    m = _fit(df, SIM_COVS, "efron")
    assert m.converged_
    assert (df.start > 0).mean() > 0.5  # most spells belong to left-truncated organizations
    for name, true in mod.TRUTH.items():
        lo = m.params_[name] - 2.576 * m.robust_se_[name]
        hi = m.params_[name] + 2.576 * m.robust_se_[name]
        assert lo <= true <= hi, (name, true, lo, hi)
    # the well-identified organization-level effects are also close in absolute terms
    assert abs(m.params_["log_size"] - mod.TRUTH["log_size"]) < 0.1
    assert abs(m.params_["funding_share"] - mod.TRUTH["funding_share"]) < 0.35


# ---------------------------------------------------------------- hostile inputs
def test_no_events_is_recorded(sim):
    m = _fit(sim.assign(event=0), STRATA_COVS, "efron")
    assert not m.converged_ and "no events" in m.reason_
    res = to_model_result(m, dataset="t", model="cox_none")
    d = res.to_dict()
    validate_result(d)
    assert d["fit"]["converged"] is False and d["terms"] == []


def test_single_event_gives_recorded_outcome(small):
    one = small.assign(event=[0, 0, 0, 0, 1, 0, 0])
    m = _fit(one, ["x"], "efron")
    # x of the death (1.5) lies inside the risk set's range (1, 3, 1): finite MLE
    assert m.converged_ and np.isfinite(m.params_["x"])
    validate_result(to_model_result(m, dataset="t", model="cox_one").to_dict())


def test_constant_and_collinear_covariates_dropped(sim):
    df = sim.assign(const=3.0, dens2=2 * sim["density"] - 1.0)
    m = _fit(df, ["density", "const", "log_size", "dens2"], "efron")
    assert m.converged_
    assert m.dropped_ == ["const", "dens2"]
    assert np.isnan(m.params_["const"]) and np.isnan(m.params_["dens2"])
    ref = _fit(sim, ["density", "log_size"], "efron")
    assert _rel(m.params_[["density", "log_size"]].to_numpy(), ref.params_.to_numpy()) < 1e-10
    res = to_model_result(m, dataset="t", model="cox_drop")
    d = res.to_dict()
    validate_result(d)
    assert any("dropped" in n for n in d["notes"])
    assert d["terms"][1]["coef"] is None


def test_monotone_likelihood_flagged(sim):
    # an indicator of the organization's final (fatal) spell perfectly predicts exits
    df = sim.assign(doomed=sim["event"].astype(float))
    m = _fit(df, ["log_size", "doomed"], "efron")
    assert not m.converged_
    assert m.reason_.startswith("monotone likelihood")
    d = to_model_result(m, dataset="t", model="cox_mono").to_dict()
    validate_result(d)
    assert d["fit"]["converged"] is False and "monotone" in d["fit"]["reason"]


def test_ties_everywhere_and_bad_spells(small):
    df = pd.DataFrame(
        {
            "org_id": np.arange(40),
            "start": 0.0,
            "stop": 1.0,
            "event": np.r_[np.ones(20), np.zeros(20)],
            "x": np.tile([0.0, 1.0, 2.0, 0.5], 10),
        }
    )
    m = CoxPH().fit(df, start="start", stop="stop", event="event", covariates=["x"], cluster="org_id")
    assert m.converged_ and np.isfinite(m.se_["x"])
    with pytest.raises(ValueError, match="stop > start"):
        CoxPH().fit(
            small.assign(stop=small["start"]), start="start", stop="stop", event="event", covariates=["x"]
        )


def test_missing_values_dropped_with_note(small):
    m = _fit(small.assign(x=[np.nan, 0, 2, 0.5, 1.5, 3, 1]), ["x"], "efron")
    assert m.n_obs_ == 6 and any("missing" in n for n in m.notes_)


# ---------------------------------------------------------------- results contract
def test_model_result_and_density_minimum(sim):
    m = _fit(sim, SIM_COVS, "efron")
    res = to_model_result(
        m, dataset="default", model="cox_density", density_range=(0.5, 3.0), window=[2000, 2019]
    )
    d = res.to_dict()
    validate_result(d)
    t = res.term("log_size")
    assert t.se == pytest.approx(m.robust_se_["log_size"], rel=1e-12)
    assert d["fit"]["aic"] == pytest.approx(-2 * m.loglik_ + 12)
    assert d["sample"]["n_groups"] == 3000 and d["sample"]["events"] == m.n_events_
    names = [x["name"] for x in d["tests"]]
    assert "PH test (cox.zph, km): GLOBAL" in names and "LR vs null model" in names
    nmin = d["derived"]["density_minimum"]
    g1, g2 = m.params_["density"], m.params_["density_sq"]
    assert nmin["estimate"] == pytest.approx(-g1 / (2 * g2))
    # delta method vs a numerical gradient
    v = m.robust_variance_.loc[["density", "density_sq"], ["density", "density_sq"]].to_numpy()
    f = lambda a, b: -a / (2 * b)  # noqa: E731
    h = 1e-6
    grad = np.array([(f(g1 + h, g2) - f(g1 - h, g2)) / (2 * h), (f(g1, g2 + h) - f(g1, g2 - h)) / (2 * h)])
    assert nmin["se"] == pytest.approx(math.sqrt(grad @ v @ grad), rel=1e-5)
    assert nmin["extremum"] == "maximum" and nmin["shape"] == "inverted U"  # g2 < 0 in this sample
    scaled = density_minimum(m, observed_range=(50, 300), scale=100)
    assert scaled["estimate"] == pytest.approx(100 * nmin["estimate"])
    assert scaled["inside_range"] == (50 <= scaled["estimate"] <= 300)


def test_covariate_constant_within_strata_dropped(sim):
    df = sim.assign(is_a=(sim["type"] == "a").astype(float))
    m = _fit(df, ["density", "is_a", "log_size"], "efron", strata="type")
    assert m.converged_ and m.dropped_ == ["is_a"]
    ref = _fit(sim, ["density", "log_size"], "efron", strata="type")
    assert _rel(m.params_[["density", "log_size"]].to_numpy(), ref.params_.to_numpy()) < 1e-10
    table = cox_zph(m)
    assert list(table.index) == ["density", "log_size", "GLOBAL"]


def test_risk_set_sums_match_brute_force():
    """Bins reproduce R's (start, stop] risk sets exactly, per stratum, against an O(n × times) loop."""
    from analysis import cox_core as core

    rng = np.random.default_rng(11)
    n = 400
    start = rng.integers(0, 8, n).astype(float)
    stop = start + rng.integers(1, 4, n)
    event = rng.random(n) < 0.3
    strata = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 2))
    w = rng.uniform(0.5, 2.0, n)
    rs = core.build_risk_sets(start, stop, event, x, w, strata, efron=True)
    beta = np.array([0.4, -0.7])
    pl = core.evaluate(rs, beta)
    v_all = w * np.exp((x - rs.x_mean) @ beta - pl.shift)
    for j, t in enumerate(rs.bin_time):
        s = strata[rs.active[rs.dead[rs.dead_bin == j][0]]]
        at_risk = (start < t) & (t <= stop) & (strata == s)
        assert at_risk.sum() > 0
        brute = v_all[at_risk].sum()
        mine = pl.den[rs.pair_bin == j][0]  # first pseudo-death: the full risk set
        assert mine == pytest.approx(brute, rel=1e-12)


def test_score_residuals_sum_to_score(sim):
    """Σ_i w_i r_i(β) = U(β): the residuals decompose the score, at β = 0 and at the estimate."""
    from analysis import cox_core as core

    m = _fit(sim, STRATA_COVS, "efron", strata="type")
    rs = m._rs
    for beta in (np.zeros(4), m.params_.to_numpy()):
        pl = core.evaluate(rs, beta)
        total = (core.score_residuals(rs, pl) * rs.w[:, None]).sum(axis=0)
        np.testing.assert_allclose(total, pl.score, atol=1e-8 * np.abs(pl.score).max() + 1e-9)
