"""Hand-checkable tiny populations for every convention of the event histories (domain guide)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.data.histories import (
    build_org_years,
    build_organizations,
    build_spells,
    density_series,
    end_kinds,
    population_groups,
    population_series,
)
from pipeline.data.lifetimes import resolve_same_period

WINDOW = (2000, 2004)
REASONS = {"dissolved": "death", "merged": "competing", "moved": "censoring"}


def orgs_frame(rows: list[tuple]) -> pd.DataFrame:
    """(org_id, founded, ended, end_reason, district) rows in decimal years, day precision."""
    df = pd.DataFrame(rows, columns=["org_id", "founded", "ended", "end_reason", "district"])
    df["founded_precision"] = np.where(df["founded"].notna(), "day", "unknown")
    df["founded_year"] = np.floor(df["founded"]).astype("Int64")
    df["ended_precision"] = np.where(df["ended"].notna(), "day", "unknown")
    df["ended_year"] = np.floor(df["ended"]).astype("Int64")
    df["end_reason"] = df["end_reason"].astype("string")
    return df


@pytest.fixture
def tiny() -> pd.DataFrame:
    return orgs_frame(
        [
            ("a", 1995.5, np.nan, None, "east"),  # left-truncated, alive at the end
            ("b", 2000.25, 2002.5, "dissolved", "east"),  # dies inside the window
            ("c", 2001.0, 2003.0, "merged", "west"),  # founded and merged on 1 January
            ("d", 2003.5, 2006.0, "dissolved", "west"),  # ends after the window: censored
            ("e", 1990.2, 1998.0, "dissolved", "west"),  # dead before the window
        ]
    )


def built(tiny: pd.DataFrame, **kw) -> pd.DataFrame:
    return build_organizations(tiny, window=WINDOW, end_reasons=REASONS, group_columns=["district"], **kw)


def test_density_on_first_of_january(tiny):
    orgs = built(tiny)
    pop = population_series(orgs, window=WINDOW)
    assert pop["density"].tolist() == [1, 2, 3, 2, 2]
    assert pop["foundings"].tolist() == [1, 1, 0, 1, 0]
    assert pop["exits"].tolist() == [0, 0, 1, 1, 0]
    assert pop["exits_death"].tolist() == [0, 0, 1, 0, 0]
    assert pop["exits_merged"].tolist() == [0, 0, 0, 1, 0]
    assert pop["density_end"].tolist() == [2, 3, 2, 2, 2]


def test_organizations_table(tiny):
    orgs = built(tiny).set_index("org_id")
    assert orgs.loc["a", "left_truncated"] and not orgs.loc["b", "left_truncated"]
    assert orgs.loc["a", "entry_age"] == pytest.approx(4.5)
    assert orgs.loc["a", "exit_age"] == pytest.approx(9.5)
    assert orgs.loc["d", "exit_age"] == pytest.approx(1.5)  # censored at 2005.0
    assert orgs.loc["b", "end_kind"] == "death"
    assert orgs.loc["c", "end_kind"] == "competing:merged"
    assert orgs.loc["d", "end_kind"] == "death" and orgs.loc["d", "end_kind_window"] == "censored"
    assert orgs.loc["a", "end_kind"] == "censored"
    assert orgs["density_at_founding"].to_dict() == {"a": 1.0, "b": 1.0, "c": 2.0, "d": 2.0, "e": 0.0}
    assert not orgs.loc["e", "in_spells"]
    assert orgs.loc["b", "cohort"] == "2000s"


def test_spells_counting_process(tiny):
    orgs = built(tiny)
    pop = population_series(orgs, window=WINDOW)
    sp = build_spells(orgs, pop, window=WINDOW, group_columns=["district"])
    a = sp[sp.org_id == "a"]
    assert a["year"].tolist() == [2000, 2001, 2002, 2003, 2004]
    assert a["start"].tolist() == pytest.approx([4.5, 5.5, 6.5, 7.5, 8.5])
    assert a["stop"].tolist() == pytest.approx([5.5, 6.5, 7.5, 8.5, 9.5])
    assert a["entry"].tolist() == [True, False, False, False, False]
    assert a["event"].sum() == 0 and a["exit_kind"].tolist()[-1] == "censored"
    b = sp[sp.org_id == "b"]
    assert b["start"].tolist() == pytest.approx([0, 0.75, 1.75])
    assert b["stop"].tolist() == pytest.approx([0.75, 1.75, 2.25])
    assert b["event"].tolist() == [0, 0, 1]
    assert b["exit_kind"].tolist() == ["", "", "death"]
    assert b["density"].tolist() == [1, 2, 3]
    c = sp[sp.org_id == "c"]
    assert c["year"].tolist() == [2001, 2002]  # ended on 1 January 2003: no spell in 2003
    assert c["event"].tolist() == [0, 0] and c["exit_kind"].tolist() == ["", "competing:merged"]
    d = sp[sp.org_id == "d"]
    assert d["stop"].tolist() == pytest.approx([0.5, 1.5])
    assert d["exit_kind"].tolist() == ["", "censored"] and d["event"].sum() == 0
    assert "e" not in set(sp.org_id)
    assert (sp["density_sq"] == sp["density"] ** 2).all()
    exposure = (sp["stop"] - sp["start"]).groupby(sp["org_id"]).sum()
    assert exposure.to_dict() == pytest.approx({"a": 5.0, "b": 2.25, "c": 2.0, "d": 1.5})


def test_end_reason_mapping():
    ended = pd.Series([2001.0, 2001.0, 2001.0, np.nan, 2001.0])
    reason = pd.Series(["Dissolved ", "merged", "moved", None, None], dtype="string")
    kinds = end_kinds(reason, ended, end_reasons=REASONS, missing_end_reason="death")
    assert kinds.tolist() == ["death", "competing:merged", "censored", "censored", "death"]


def test_coarse_end_in_founding_year_is_moved_after_founding():
    df = orgs_frame([("x", 2010.6, 2010.5, "dissolved", "e")])
    df["ended_precision"] = "year"
    out, moved = resolve_same_period(df)
    assert moved["column"].tolist() == ["ended"]
    assert out.loc[0, "ended"] == pytest.approx((2010.6 + 2011.0) / 2)


def test_unknown_founding_imputed_from_panel_and_kept_out_of_spells():
    df = orgs_frame([("x", np.nan, np.nan, None, "e"), ("y", 2000.5, np.nan, None, "e")])
    panel = pd.DataFrame({"org_id": ["x", "x", "y"], "year": [2002, 2003, 2001], "size": [1.0, 2.0, 3.0]})
    orgs = build_organizations(df, window=WINDOW, end_reasons=REASONS, panel=panel).set_index("org_id")
    assert orgs.loc["x", "founded_precision"] == "imputed"
    assert orgs.loc["x", "founded"] == pytest.approx(2002.5)
    assert not orgs.loc["x", "in_spells"] and orgs.loc["y", "in_spells"]
    pop = population_series(orgs.reset_index(), window=WINDOW)
    assert pop["density"].tolist() == [0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    ("rule", "expected_exit", "expected_kind"),
    [("ignore", 5.0, "censored"), ("censor", 2.0, "censored"), ("end", 2.5, "death")],
)
def test_vanished_rule(rule, expected_exit, expected_kind):
    df = orgs_frame([("x", 2000.0, np.nan, None, "e")])
    panel = pd.DataFrame({"org_id": ["x", "x"], "year": [2000, 2001], "size": [1.0, 1.0]})
    orgs = build_organizations(
        df, window=WINDOW, end_reasons=REASONS, panel=panel, vanished_rule=rule, grace_years=1
    )
    assert orgs.loc[0, "exit_age"] == pytest.approx(expected_exit)
    assert orgs.loc[0, "end_kind_window"] == expected_kind


def test_mass_and_panel_covariates(tiny):
    panel = pd.DataFrame(
        {
            "org_id": ["a", "a", "b", "b", "c"],
            "year": [2000, 2001, 2001, 2002, 2002],
            "size": [10.0, 12.0, 5.0, 4.0, 7.0],
            "funding_share": [0.1, 0.2, 0.5, 0.6, 0.9],
        }
    )
    orgs = built(tiny, panel=panel)
    pop = population_series(orgs, window=WINDOW, panel=panel)
    # 2000: only a alive on 1 Jan; 2001: a and b; 2002: b and c (a has no 2002 row)
    assert pop["mass"].tolist()[:3] == [10.0, 17.0, 11.0]
    assert np.isnan(pop["mass"].iloc[3])
    sp = build_spells(orgs, pop, window=WINDOW, panel=panel)
    b = sp[sp.org_id == "b"]
    assert b["size"].tolist()[1:] == [5.0, 4.0] and np.isnan(b["size"].iloc[0])
    assert b["funding_share"].tolist()[1:] == [0.5, 0.6]
    assert b["log_size"].iloc[1] == pytest.approx(np.log(5.0))


def test_org_years_growth_breaks_at_gaps(tiny):
    panel = pd.DataFrame(
        {"org_id": ["a", "a", "a", "a"], "year": [2000, 2001, 2003, 2004], "size": [10.0, 20.0, 5.0, 0.0]}
    )
    orgs = built(tiny, panel=panel)
    pop = population_series(orgs, window=WINDOW, panel=panel)
    oy = build_org_years(orgs, panel, pop, window=WINDOW)
    assert oy["growth"].iloc[0] == pytest.approx(np.log(2.0))
    assert np.isnan(oy["growth"].iloc[1])  # 2002 missing: gap breaks growth
    assert np.isnan(oy["growth"].iloc[2])  # size 0 in 2004: log undefined
    assert oy["age"].tolist() == [5.0, 6.0, 8.0, 9.0]
    assert oy["density"].tolist() == [1.0, 2.0, 2.0, 2.0]


def test_population_groups(tiny):
    orgs = built(tiny)
    groups = population_groups(orgs, window=WINDOW, group_columns=["district"])
    east = groups[groups.group == "east"]
    west = groups[groups.group == "west"]
    assert east["density"].tolist() == [1, 2, 2, 1, 1]
    assert west["density"].tolist() == [0, 0, 1, 1, 1]
    total = population_series(orgs, window=WINDOW)
    assert (east["density"].to_numpy() + west["density"].to_numpy() == total["density"].to_numpy()).all()


def test_density_series_counts_ends_on_january_first_as_alive():
    assert density_series(np.array([1999.5]), np.array([2001.0]), np.array([2000, 2001, 2002])).tolist() == [
        1,
        1,
        0,
    ]


# ---- property tests ------------------------------------------------------------------------------


@st.composite
def populations(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    rows = []
    for i in range(n):
        founded = draw(st.floats(min_value=1990.0, max_value=2010.0, allow_nan=False)).__round__(3)
        life = draw(st.one_of(st.none(), st.floats(min_value=0.001, max_value=20.0)))
        ended = np.nan if life is None else round(founded + life, 3)
        if not np.isnan(ended) and ended <= founded:
            ended = founded + 0.001
        reason = draw(st.sampled_from(["dissolved", "merged", "moved", None]))
        rows.append(
            (f"o{i}", founded, ended, reason if life is not None else None, draw(st.sampled_from("xy")))
        )
    return orgs_frame(rows)


@settings(max_examples=150, deadline=None)
@given(populations(), st.integers(min_value=1992, max_value=2005), st.integers(min_value=0, max_value=10))
def test_population_identity_and_spell_properties(df, start, length):
    window = (start, start + length)
    orgs = build_organizations(df, window=window, end_reasons=REASONS, group_columns=["district"])
    pop = population_series(orgs, window=window)
    # N_{t+1} = N_t + F_t − D_t
    assert (pop["density"] + pop["foundings"] - pop["exits"] == pop["density_end"]).all()
    sp = build_spells(orgs, pop, window=window)
    if sp.empty:
        return
    assert (sp["stop"] > sp["start"]).all()
    # total exposure per organization = time at risk inside the window
    close = window[1] + 1.0
    o = orgs.set_index("org_id")
    at_risk = (np.fmin(o["ended"].fillna(close), close) - np.maximum(o["founded"], window[0])).clip(lower=0)
    exposure = (sp["stop"] - sp["start"]).groupby(sp["org_id"], observed=True).sum()
    np.testing.assert_allclose(exposure.to_numpy(), at_risk[exposure.index].to_numpy(), atol=1e-9)
    # no spell overlaps another of the same organization, and spells stay inside calendar years
    sp = sp.sort_values(["org_id", "start"])
    same = sp["org_id"].eq(sp["org_id"].shift())
    assert (sp.loc[same, "start"].to_numpy() >= sp["stop"].shift()[same].to_numpy() - 1e-12).all()
    assert ((sp["t_start"] >= sp["year"]) & (sp["t_stop"] <= sp["year"] + 1)).all()
    # at most one terminal event per organization, only deaths inside the window
    assert sp.groupby("org_id", observed=True)["event"].sum().max() <= 1


def test_unknown_founding_first_seen_at_panel_start_counts_in_density_not_foundings():
    df = orgs_frame([("x", np.nan, np.nan, None, "e"), ("y", 2001.5, np.nan, None, "e")])
    panel = pd.DataFrame({"org_id": ["x", "y"], "year": [2000, 2002], "size": [1.0, 3.0]})
    orgs = build_organizations(df, window=WINDOW, end_reasons=REASONS, panel=panel).set_index("org_id")
    assert orgs.loc["x", "founded"] == pytest.approx(1999.5)
    pop = population_series(orgs.reset_index(), window=WINDOW)
    assert pop["density"].tolist() == [1, 1, 2, 2, 2]
    assert pop["foundings"].tolist() == [0, 1, 0, 0, 0]


def test_left_truncated_density_at_founding_is_flagged_and_rule_applied(tiny):
    from pipeline.data.histories import TRUNCATED_DENSITY, truncated_density_note

    kept = built(tiny).set_index("org_id")
    assert kept[TRUNCATED_DENSITY].to_dict() == {"a": True, "b": False, "c": False, "d": False, "e": True}
    assert kept.loc["a", "density_at_founding"] == 1.0  # e (1990-1998) was alive on 1 January 1995
    note = truncated_density_note(kept.reset_index(), window_start=2000, rule="keep")
    assert note["organizations"] == 2 and note["in_spells"] == 1 and note["register_exits_before_window"] == 1
    assert "enter the models" in note["statement"]
    dropped = built(tiny, left_truncated_density="exclude").set_index("org_id")
    assert (
        np.isnan(dropped.loc["a", "density_at_founding"]) and dropped.loc["b", "density_at_founding"] == 1.0
    )
    spells = build_spells(
        dropped.reset_index(), population_series(dropped.reset_index(), window=WINDOW), window=WINDOW
    )
    assert spells.groupby("org_id")[TRUNCATED_DENSITY].first().to_dict() == {
        "a": True,
        "b": False,
        "c": False,
        "d": False,
    }
    note = truncated_density_note(dropped.reset_index(), window_start=2000, rule="exclude")
    assert "set missing" in note["statement"]


def test_unknown_founding_without_panel_is_neither_added_nor_subtracted():
    # founded 2000.5 (alive from 2001); the second has no founding date and no panel rows, ended 2003.2
    years = np.arange(2000, 2006)
    assert density_series(np.array([2000.5, np.nan]), np.array([np.nan, 2003.2]), years).tolist() == [
        0,
        1,
        1,
        1,
        1,
        1,
    ]


def test_unknown_founding_without_panel_is_not_an_exit_and_is_stated():
    from pipeline.data.histories import unknown_founding_note

    df = orgs_frame(
        [
            ("x", np.nan, 2002.3, "dissolved", "e"),
            ("y", 2000.5, np.nan, None, "e"),
            ("z", np.nan, np.nan, None, "e"),
            ("w", np.nan, np.nan, None, "e"),
        ]
    )
    panel = pd.DataFrame({"org_id": ["w", "w"], "year": [2001, 2002], "size": [1.0, 1.0]})
    orgs = build_organizations(df, window=WINDOW, end_reasons=REASONS, panel=panel)
    pop = population_series(orgs, window=WINDOW)
    assert pop["density"].tolist() == [0, 2, 2, 2, 2]  # w imputed at 2000.5 (first seen at panel start)
    assert pop["exits"].tolist() == [0] * 5 and pop["exits_death"].tolist() == [0] * 5
    assert (pop["density"] + pop["foundings"] - pop["exits"] == pop["density_end"]).all()
    groups = population_groups(orgs, window=WINDOW, group_columns=["district"])
    assert groups["exits"].sum() == 0
    note = unknown_founding_note(orgs)
    assert note["organizations"] == 2 and note["with_end"] == 1 and note["imputed"] == 1
    assert "x" in note["org_ids"] and "z" in note["org_ids"]
    assert "left out of density" in note["statement"]
    assert unknown_founding_note(orgs[orgs["org_id"] == "y"]).get("statement") is None


def test_the_bundled_comment_of_the_vanished_end_rule_dates_the_death_as_the_code_does():
    from pathlib import Path

    from pipeline.data.histories import apply_vanished_rule

    df = orgs_frame([("x", 2000.0, np.nan, None, "e")])
    panel = pd.DataFrame({"org_id": ["x", "x"], "year": [2000, 2001]})
    out, _ = apply_vanished_rule(df, panel, window_end=2010, rule="end", grace_years=2)
    assert out.loc[0, "ended"] == 2002.5  # last panel year 2001: the middle of the following year
    text = (Path(__file__).resolve().parents[2] / "params.yaml").read_text(encoding="utf-8")
    block = text[text.index("build_histories:") : text.index("vanished: {")]
    assert "in the middle of the year after its last panel year (end)" in " ".join(
        line.strip("# ").strip() for line in block.splitlines()
    )
