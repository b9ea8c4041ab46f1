"""Design matrices of the formula engine on tiny hand-checkable event-history frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.formula import BUILTINS, FormulaError, TermContext, build_design, expand_steps, render_formula


@pytest.fixture()
def pop() -> pd.DataFrame:
    """Population-years 2000-2004 (N_t, F_t, deaths, all exits, mass, a period and a budget)."""
    return pd.DataFrame(
        {
            "year": [2000, 2001, 2002, 2003, 2004],
            "density": [10.0, 20.0, 30.0, 25.0, 0.0],
            "foundings": [2, 3, 1, 4, 0],
            "exits": [1, 2, 3, 4, 5],
            "exits_death": [0, 1, 1, 2, 2],
            "mass": [150.0, 300.0, 450.0, 500.0, 0.0],
            "policy_period": ["pre", "pre", "boom", "boom", "bust"],
            "budget": [1.0, 2.0, 4.0, 8.0, 16.0],
        }
    )


@pytest.fixture()
def groups() -> pd.DataFrame:
    """Subpopulation densities by district (D1, D2) and type (a, b) for 2000-2004."""
    rows = []
    for var, levels in (("district", ["D1", "D2"]), ("type", ["a", "b"])):
        for k, g in enumerate(levels):
            for t, year in enumerate(range(2000, 2005)):
                rows.append({"group_var": var, "group": g, "year": year, "density": 100.0 * (k + 1) + t})
    return pd.DataFrame(rows)


@pytest.fixture()
def spells() -> pd.DataFrame:
    """Two organizations: A (2001-2003, D1, type a) and B (2002-2003, D2, type b)."""
    return pd.DataFrame(
        {
            "org_id": ["A", "A", "A", "B", "B"],
            "year": [2001, 2002, 2003, 2002, 2003],
            "start": [0.5, 1.0, 2.0, 0.0, 1.0],
            "stop": [1.0, 2.0, 2.7, 1.0, 2.0],
            "event": [0, 0, 1, 0, 0],
            "density": [20.0, 30.0, 25.0, 30.0, 25.0],
            "density_at_founding": [20.0, 20.0, 20.0, 30.0, 30.0],
            "size": [2.0, 4.0, np.nan, 1.0, 3.0],
            "funding_share": [0.1, 0.2, 0.3, 0.9, 0.8],
            "district": pd.Categorical(["D1", "D1", "D1", "D2", "D2"]),
            "type": pd.Categorical(["a", "a", "a", "b", "b"]),
        }
    )


def test_density_terms_lags_and_rate_dependence(pop: pd.DataFrame) -> None:
    ctx = TermContext(density_scale=10)
    d = build_design(
        "foundings ~ density + density_sq + I(density**2) + lag(foundings, 1) + foundings_lag + failures_lag"
        " + failures_lag_sq + lag(budget, 2) + diff(budget)",
        pop,
        unit="population",
        ctx=ctx,
    )
    # rows 2002-2004 survive the 2-year lag
    assert d.rows.tolist() == [2, 3, 4]
    assert d.x["density"].tolist() == [3.0, 2.5, 0.0]
    assert d.x["density_sq"].tolist() == d.x["I(density**2)"].tolist() == [9.0, 6.25, 0.0]
    assert d.x["lag(foundings, 1)"].tolist() == d.x["foundings_lag"].tolist() == [3.0, 1.0, 4.0]
    assert d.x["failures_lag"].tolist() == [1.0, 1.0, 2.0]  # deaths, not all exits
    assert d.x["failures_lag_sq"].tolist() == [1.0, 1.0, 4.0]
    assert d.x["lag(budget, 2)"].tolist() == [1.0, 2.0, 4.0]
    assert d.x["diff(budget)"].tolist() == [2.0, 4.0, 8.0]
    lagged = ["lag(foundings, 1)", "foundings_lag", "failures_lag", "failures_lag_sq", "diff(budget)"]
    assert d.dropped == {**dict.fromkeys(lagged, 1), "lag(budget, 2)": 2} and d.n_dropped == 2
    assert "exits_death" in " ".join(d.notes) and d.outcome["foundings"].tolist() == [1.0, 4.0, 0.0]
    assert d.scales == {"density": 10.0}


def test_log_density_mass_and_trend(pop: pd.DataFrame) -> None:
    d = build_design("foundings ~ log_density + mass + trend", pop, unit="population", subset="year >= 2001")
    # N = 0 in 2004: log density undefined, row dropped and counted
    assert d.rows.tolist() == [1, 2, 3] and d.dropped == {"log_density": 1}
    assert np.allclose(d.x["log_density"], np.log([20.0, 30.0, 25.0]))
    assert d.scales["mass"] == 100.0  # auto over the whole series: max 500 -> 10^2
    assert d.x["mass"].tolist() == [3.0, 4.5, 5.0]
    assert d.x["trend"].tolist() == [0.0, 1.0, 2.0]  # first year of the estimation sample = 0
    assert d.n_excluded_subset == 1 and "subset 'year >= 2001': 1 of 5 row(s) excluded" in d.notes


def test_categorical_reference_interactions_and_labels(pop: pd.DataFrame) -> None:
    ctx = TermContext(density_scale=10, period_column="policy_period", period_reference="pre")
    d = build_design("foundings ~ density + period", pop, unit="population", ctx=ctx)
    assert d.x.columns.tolist() == ["const", "density", "period[boom]", "period[bust]"]
    assert d.x["period[boom]"].tolist() == [0, 0, 1, 1, 0] and d.x["period[bust]"].tolist() == [0, 0, 0, 0, 1]
    d = build_design("foundings ~ density*C(policy_period, ref='boom')", pop, unit="population", ctx=ctx)
    assert d.x.columns.tolist() == [
        "const",
        "density",
        "C(policy_period, ref='boom')[bust]",
        "C(policy_period, ref='boom')[pre]",
        "density:C(policy_period, ref='boom')[bust]",
        "density:C(policy_period, ref='boom')[pre]",
    ]
    assert d.x["density:C(policy_period, ref='boom')[pre]"].tolist() == [1.0, 2.0, 0.0, 0.0, 0.0]
    # interaction without the main effect: one slope per period (full dummies, as R's model.matrix)
    d = build_design("foundings ~ density:policy_period", pop, unit="population", ctx=ctx)
    assert d.x.columns.tolist() == [
        "const",
        "density:policy_period[boom]",
        "density:policy_period[bust]",
        "density:policy_period[pre]",
    ]
    assert d.term_labels == ["const", "density:policy_period"]
    with pytest.raises(FormulaError, match="reference level 'post' does not occur") as e:
        build_design("foundings ~ C(policy_period, ref='post')", pop, unit="population")
    assert e.value.suggestions == ["boom", "bust", "pre"]
    d = build_design(
        "foundings ~ C(policy_period, levels=['pre', 'boom', 'bust', 'after'])", pop, unit="population"
    )
    assert d.x.columns.tolist()[1:] == [
        "C(policy_period, levels=['pre', 'boom', 'bust', 'after'])[boom]",
        "C(policy_period, levels=['pre', 'boom', 'bust', 'after'])[bust]",
    ]
    assert any("'after'" in n and "absent" in n for n in d.notes)


def test_powers_removal_and_intercept(pop: pd.DataFrame) -> None:
    d = build_design("foundings ~ (density + budget + mass)**2 - density:mass - 1", pop, unit="population")
    assert d.x.columns.tolist() == ["density", "budget", "mass", "density:budget", "budget:mass"]
    d = build_design("foundings ~ 0 + density", pop, unit="population")
    assert d.x.columns.tolist() == ["density"]
    d = build_design("foundings ~ density + C(policy_period)", pop, unit="population", intercept=False)
    # contrasts as with an intercept (R's coxph), then the intercept column is dropped
    assert d.x.columns.tolist() == ["density", "C(policy_period)[bust]", "C(policy_period)[pre]"]


def test_stateful_transforms_use_the_estimation_sample(pop: pd.DataFrame) -> None:
    d = build_design("foundings ~ center(budget) + scale(budget) + lag(foundings, 1)", pop, unit="population")
    kept = np.array([2.0, 4.0, 8.0, 16.0])
    assert np.allclose(d.x["center(budget)"], kept - kept.mean())
    assert np.allclose(d.x["scale(budget)"], (kept - kept.mean()) / kept.std(ddof=1))
    d = build_design("foundings ~ bs(budget, df=3) + poly(density, 2)", pop, unit="population")
    assert d.x.columns.tolist() == [
        "const",
        "bs(budget, df=3)[1]",
        "bs(budget, df=3)[2]",
        "bs(budget, df=3)[3]",
        "poly(density, 2)[1]",
        "poly(density, 2)[2]",
    ]


def test_specials_outcome_and_aliases(spells: pd.DataFrame) -> None:
    d = build_design(
        "Surv(start, stop, event) ~ density + log(size) + gov_share + strata(district) + cluster(org_id)"
        " + offset(I(2*funding_share)) + weights(stop)",
        spells,
        unit="spell",
        ctx=TermContext(density_scale=10, aliases={"gov_share": "funding_share"}),
        intercept=False,
    )
    assert d.rows.tolist() == [0, 1, 3, 4] and d.dropped == {"log(size)": 1}
    assert d.outcome.columns.tolist() == ["start", "stop", "event"]
    assert d.x.columns.tolist() == ["density", "log(size)", "gov_share"]
    assert d.x["gov_share"].tolist() == [0.1, 0.2, 0.9, 0.8]
    assert d.strata["district"].astype(str).tolist() == ["D1", "D1", "D2", "D2"]
    assert d.cluster.tolist() == ["A", "A", "B", "B"] and d.cluster.name == "org_id"
    assert np.allclose(d.offset, [0.2, 0.4, 1.8, 1.6]) and d.weights.tolist() == [1.0, 2.0, 1.0, 2.0]
    d = build_design("Surv(start, stop, event) ~ density + exposure(size)", spells, unit="spell")
    assert np.allclose(d.offset, np.log([2.0, 4.0, 1.0, 3.0]))


def test_organization_level_terms(spells: pd.DataFrame, pop: pd.DataFrame, groups: pd.DataFrame) -> None:
    ctx = TermContext(density_scale=10, population=pop, groups=groups)
    d = build_design(
        "Surv(start, stop, event) ~ density + density_at_founding + age + lag(size, 1) + lag(density, 1)"
        " + foundings_lag + mass + group_density('district') + cross_density('type', 'b')",
        spells,
        unit="spell",
        ctx=ctx,
    )
    # lag(size) is the organization's own previous year (missing in each organization's first year);
    # lag(density) is the population's N_(t-1)
    assert d.rows.tolist() == [1, 2, 4] and d.dropped == {"lag(size, 1)": 2}
    assert d.x["lag(size, 1)"].tolist() == [2.0, 4.0, 1.0]
    assert d.x["lag(density, 1)"].tolist() == [2.0, 3.0, 3.0]
    assert d.x["density_at_founding"].tolist() == [2.0, 2.0, 3.0]
    assert d.x["age"].tolist() == [1.0, 2.0, 1.0]
    assert d.x["foundings_lag"].tolist() == [3.0, 1.0, 1.0]  # population F_(t-1) by year
    assert d.x["mass"].tolist() == [4.5, 5.0, 5.0]  # population mass by year, auto scale 100
    # a mass column on the spells (e.g. only some years) does not change the scale: the series decides
    d2 = build_design("Surv(start, stop, event) ~ mass", spells.assign(mass=1.0), unit="spell", ctx=ctx)
    assert d2.x["mass"].tolist() == [3.0, 4.5, 5.0, 4.5, 5.0] and d2.scales["mass"] == 100.0
    # A in D1 (2002, 2003), B in D2 (2003)
    assert np.allclose(d.x["group_density('district')"], [10.2, 10.3, 20.3])
    assert np.allclose(d.x["cross_density('type', 'b')"], [20.2, 20.3, 20.3])
    with pytest.raises(FormulaError, match="'distrct' is not a grouping variable") as e:
        build_design("Surv(start, stop, event) ~ group_density('distrct')", spells, unit="spell", ctx=ctx)
    assert e.value.suggestions == ["district"]
    with pytest.raises(FormulaError, match="type has no level 'c'"):
        build_design("Surv(start, stop, event) ~ cross_density('type', 'c')", spells, unit="spell", ctx=ctx)


def test_pieces_and_subset_keep_whole_population_density(spells: pd.DataFrame) -> None:
    d = build_design(
        "Surv(start, stop, event) ~ density + pieces(age, [0, 1, 2])",
        spells,
        unit="spell",
        ctx=TermContext(density_scale=10),
        subset="type == 'a' or district in ['D9']",
    )
    assert d.rows.tolist() == [0, 1, 2] and d.n_excluded_subset == 2
    assert d.x["density"].tolist() == [2.0, 3.0, 2.5]  # the whole population's density
    assert d.x.columns.tolist() == [
        "const",
        "density",
        "pieces(age, [0, 1, 2])[[1,2)]",
        "pieces(age, [0, 1, 2])[2+]",
    ]
    assert d.x["pieces(age, [0, 1, 2])[2+]"].tolist() == [0.0, 0.0, 1.0]
    d = build_design(
        "Surv(start, stop, event) ~ density", spells, unit="spell", subset="district not in ['D1']"
    )
    assert d.rows.tolist() == [3, 4]


def test_nested_steps(pop: pd.DataFrame) -> None:
    steps = expand_steps(
        {
            "baseline": "foundings ~ 1",
            "density": "+ density",
            "density2": "+ density_sq",
            "period": "+ period",
        }
    )
    assert [render_formula(f) for _, f in steps][-1] == "foundings ~ 1 + density + density_sq + period"
    ctx = TermContext(density_scale=10, period_column="policy_period", period_reference="pre")
    cols = [build_design(f, pop, unit="population", ctx=ctx).x.columns.tolist() for _, f in steps]
    assert cols[1] == ["const", "density"] and cols[3][-2:] == ["period[boom]", "period[bust]"]
    with pytest.raises(FormulaError, match="drops term"):
        expand_steps([("a", "y ~ density*budget"), ("b", "y ~ density + budget")])
    with pytest.raises(FormulaError, match="first step"):
        expand_steps([("a", "+ density")])
    with pytest.raises(FormulaError, match="changes the outcome"):
        expand_steps([("a", "y ~ density"), ("b", "z ~ density + budget")])
    assert [n for n, _ in expand_steps([("a", "y ~ x"), ("b", "y ~ x*z")])] == ["a", "b"]


def test_every_builtin_is_documented_once() -> None:
    for name, b in BUILTINS.items():
        assert b.math and b.doc and b.r and b.units, name


def test_whole_number_codes_as_factors_keep_integer_labels() -> None:
    pop = pd.DataFrame({"year": [2000, 2001, 2002, 2003], "y": [1.0, 2, 3, 4], "code": [1.0, 2.0, None, 1.0]})
    d = build_design("y ~ C(year, ref=2001) + C(code)", pop, unit="population")
    assert d.x.columns.tolist() == [
        "const",
        "C(year, ref=2001)[2000]",
        "C(year, ref=2001)[2003]",
        "C(code)[2]",
    ]
    assert d.dropped == {"C(code)": 1} and d.x["C(code)[2]"].tolist() == [0.0, 1.0, 0.0]
