"""sup-F structural-break tests: strucchange agreement, Andrews' critical values, recovery, size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.breaks import (
    break_in_density_growth,
    break_in_founding,
    density_growth,
    sup_f_critical_values,
    sup_f_pvalue,
    sup_f_test,
)
from analysis.results import validate_result

FIX = Path(__file__).parents[1] / "fixtures" / "growth"


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((FIX / "expected.json").read_text())


@pytest.fixture(scope="module")
def igo() -> pd.DataFrame:
    return pd.read_csv(FIX / "igo_density.csv")


def _check(res, ref):
    np.testing.assert_allclose(res.curves["f_stat"]["F"], ref["f"], rtol=1e-8)
    assert res.derived["last_year_first_regime"] == ref["break_year_last_of_first_regime"]
    assert res.derived["sup_f"] == pytest.approx(ref["sup_f"], rel=1e-8)
    assert abs(res.derived["p"] - ref["p"]) < 0.015
    validate_result(res.to_dict())


def test_founding_break_matches_strucchange(igo, expected):
    _check(break_in_founding(igo), expected["break_igo_foundings"])


def test_density_growth_break_matches_strucchange(igo, expected):
    _check(break_in_density_growth(igo), expected["break_igo_density_growth"])


def test_break_with_density_regressor_matches_strucchange(expected):
    sim = pd.read_csv(FIX / "break_sim.csv")
    res = break_in_founding(sim, with_density=True, density_scale=100)
    _check(res, expected["break_sim_density"])
    assert res.derived["break_year"] == 1960  # planted break: new regime from 1960


def test_critical_values_match_andrews_table():
    cv = sup_f_critical_values(1, 0.15, 0.85)
    assert cv["0.1"] == pytest.approx(7.17, abs=0.15)
    assert cv["0.05"] == pytest.approx(8.68, abs=0.2)
    assert cv["0.01"] == pytest.approx(12.16, abs=0.4)


@pytest.mark.parametrize("k", [1, 2])
def test_pvalues_match_hansen_approximation(expected, k):
    ref = expected["hansen_p"]
    ours = [sup_f_pvalue(x, k, 0.15, 0.85) for x in ref["x"]]
    np.testing.assert_allclose(ours, ref[f"k{k}"], atol=0.015)


def test_planted_break_found():
    rng = np.random.default_rng(1)
    y = np.r_[rng.normal(0, 1, 40), rng.normal(1.5, 1, 40)]
    out = sup_f_test(y, np.ones((80, 1)))
    assert abs(out.break_index - 39) <= 2 and out.p < 0.01


def test_density_growth_skips_gaps():
    pop = pd.DataFrame({"year": [2000, 2001, 2002, 2004, 2005], "density": [10, 11, 12, 14, 15]})
    g = density_growth(pop)
    assert g["year"].tolist() == [2000, 2001, 2004]
    assert g["growth"].tolist() == pytest.approx([0.1, 1 / 11, 1 / 14])


def test_hostile_series():
    short = pd.DataFrame({"year": [2000, 2001, 2002], "density": [1, 2, 3], "foundings": [1, 0, 2]})
    res = break_in_founding(short)
    assert not res.fit["converged"]
    flat = pd.DataFrame({"year": np.arange(1990, 2020), "density": 5, "foundings": 3})
    res = break_in_founding(flat)
    assert not res.fit["converged"] and "no variation" in res.fit["reason"]
    validate_result(res.to_dict())


@pytest.mark.slow
def test_size_under_no_break():
    """Rejection rate at 5% without a break (n = 100, iid normal) within binomial tolerance of 0.05."""
    rng = np.random.default_rng(2024)
    reps = 400
    rejections = sum(sup_f_test(rng.normal(size=100), np.ones((100, 1))).p < 0.05 for _ in range(reps))
    rate = rejections / reps
    tol = 3 * np.sqrt(0.05 * 0.95 / reps)
    assert abs(rate - 0.05) < tol, rate
