"""Weak estimates and intervals that contradict the data are recognised (issue: honest reporting)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.assess import Rules, assess, caveats, is_weak


def term(name: str, coef: float, se: float) -> dict:
    return {
        "term": name,
        "coef": coef,
        "se": se,
        "z": coef / se if se else math.nan,
        "p": 0.01,
        "ci_low": coef - 2 * se,
        "ci_high": coef + 2 * se,
    }


def result(**kw) -> dict:
    base = {
        "model": "nb_density2",
        "stage": "fit_founding",
        "family": "negative_binomial",
        "sample": {"unit": "population-year", "n": 35},
        "fit": {"converged": True, "se_type": "observed information"},
        "terms": [term("const", 1.0, 0.1), term("density", 0.5, 0.1), term("density_sq", -0.1, 0.02)],
        "derived": {},
    }
    base.update(kw)
    return base


def test_a_well_informed_series_model_is_not_weak():
    a = assess(result())
    assert a["weak"] is False and a["reasons"] == [] and a["flags"] == []
    assert a["information"] == {
        "unit": "observations",
        "count": 35,
        "parameters": 3,
        "per_parameter": 35 / 3,
        "required": 5.0,
    }


def test_a_ten_year_series_cannot_carry_five_parameters():
    terms = [term(f"b{i}", 1.0, 0.1) for i in range(5)]
    a = assess(result(sample={"unit": "population-year", "n": 10}, terms=terms))
    assert a["weak"] and a["reasons"] == [
        "10 observations for 5 parameters (2.0 per parameter; at least 5 needed)"
    ]
    assert is_weak({"assessment": a})


def test_hazard_models_count_events_not_rows():
    r = result(
        stage="fit_survival",
        family="cox",
        model="cox_full",
        sample={"unit": "spell", "n": 10_000, "events": 25},
    )
    a = assess(r)
    assert a["information"]["unit"] == "events"
    assert a["reasons"] == ["25 events for 3 parameters (8.3 per parameter; at least 10 needed)"]
    # a stagnation hazard in the bottleneck stage is a hazard model too
    r2 = result(
        stage="fit_bottleneck",
        family="binomial",
        model="stagnation_hazard",
        sample={"unit": "org-year", "n": 10_000, "events": 100},
    )
    assert assess(r2)["information"]["unit"] == "events"


def test_fewer_clusters_than_parameters_is_not_identified():
    r = result(
        sample={"unit": "subpopulation-year", "n": 105, "n_groups": 3},
        fit={"converged": True, "se_type": "cluster-robust sandwich CR1"},
    )
    assert assess(r)["reasons"] == [
        "cluster-robust covariance from 3 clusters for 3 parameters has rank at most 2: "
        "the standard errors are not identified"
    ]
    r["sample"]["n_groups"] = 6
    assert assess(r)["reasons"] == ["only 6 clusters (at least 10 needed for cluster-robust SEs)"]
    r["sample"]["n_groups"] = 40
    assert not assess(r)["weak"]


def test_huge_and_missing_standard_errors_and_singular_covariance():
    r = result(terms=[term("const", 2.0, 1e6), term("density", 0.5, 0.1)])
    assert assess(r)["reasons"] == ["standard errors out of proportion to the estimates: const (SE 1e+06)"]
    r = result(terms=[{**term("const", 2.0, 0.1), "se": None}])
    assert "const (no finite SE)" in assess(r)["reasons"][0]
    v = np.array([[1.0, 1.0 - 1e-14], [1.0 - 1e-14, 1.0]])
    r = result(terms=[term("a", 1, 1), term("b", 1, 1)], vcov={"terms": ["a", "b"], "matrix": v.tolist()})
    assert assess(r)["reasons"][0].startswith("near-singular covariance (condition number")


def test_a_break_test_over_seven_candidate_years_is_weak():
    r = result(
        model="break_density_growth",
        stage="fit_bottleneck",
        family="gaussian",
        derived={"candidate_years": [2001, 2007]},
        terms=[term("const_before", 0.1, 0.01), term("const_after", 0.05, 0.01)],
    )
    assert assess(r)["reasons"][-1].startswith("break searched over only 7 candidate years (2001–2007")
    r["derived"]["candidate_years"] = [1995, 2020]
    assert not assess(r)["weak"]


def test_a_collapsed_sample_is_weak():
    r = result(sample={"unit": "org-year", "n": 25, "n_input": 24_689})
    assert "sample collapsed: 25 of 24689 available rows used (0%)" in assess(r)["reasons"]


def test_intervals_that_contradict_the_data_are_flagged_not_hidden():
    r = result(
        derived={"n_star": {"estimate": 9195.0, "inside_range": False, "observed_range": [4523, 8200]}}
    )
    a = assess(r)
    assert not a["weak"]
    assert a["flags"] == ["turning point N* = 9195 lies outside the observed density range [4523, 8200]"]
    k = {**term("K", 1000.0, 100.0), "ci_low": 642.0, "ci_high": 22_177.0}
    r = result(
        model="logistic_density",
        family="gaussian",
        terms=[k, term("r", 0.1, 0.01)],
        derived={"max_observed": 1442.0},
    )
    assert assess(r)["flags"] == [
        "carrying capacity K = 1000 is below the highest observed density (1442)",
        "the 95% CI of K [642, 2.218e+04] spans more than an order of magnitude",
    ]
    assert caveats({"assessment": assess(r)}) == assess(r)["flags"]


def test_failed_and_nonparametric_results_are_not_assessed_for_information():
    assert assess(result(fit={"converged": False, "reason": "x"}))["weak"] is False
    km = result(stage="fit_survival", family="kaplan_meier", terms=[], sample={"n": 3, "events": 1})
    assert assess(km) == {"weak": False, "reasons": [], "flags": [], "information": None}


def test_rules_come_from_params_and_unknown_keys_are_errors():
    r = result(sample={"unit": "population-year", "n": 16})
    assert not assess(r)["weak"]
    assert assess(r, Rules.from_params({"min_observations_per_parameter": 6}))["weak"]
    with pytest.raises(ValueError, match="unknown key"):
        Rules.from_params({"min_event_per_parameter": 3})


def test_a_complete_case_survival_sample_that_lost_most_spells_is_weak():
    r = result(
        stage="fit_survival",
        family="cox",
        model="cox_full",
        sample={
            "unit": "spell",
            "n": 300,
            "events": 200,
            "complete_case": {"spells_available": 1000, "spells_used": 300},
        },
    )
    assert assess(r)["reasons"] == ["sample collapsed: 300 of 1000 available spells used (30%)"]
