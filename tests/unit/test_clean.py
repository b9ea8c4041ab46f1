"""Cleaning rules: each one on a tiny hand-made table, its log rows, and idempotency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.errors import InputError
from pipeline.data.clean import clean_organizations, clean_panel

REASONS = {"dissolved": "death", "merged": "competing"}


def register(rows):
    df = pd.DataFrame(rows, columns=["org_id", "founded", "ended", "end_reason"])
    df["org_id"] = df["org_id"].astype("string")
    df["end_reason"] = df["end_reason"].astype("string")
    df["founded_precision"] = "day"
    df["founded_year"] = np.floor(df["founded"]).astype("Int64")
    df["ended_precision"] = np.where(df["ended"].notna(), "day", "unknown")
    df["ended_year"] = np.floor(df["ended"]).astype("Int64")
    df["source_row"] = np.arange(2, len(df) + 2)
    return df


def test_ids_are_stripped_and_case_folded_and_duplicates_dropped():
    orgs = register(
        [(" A1 ", 2000.5, np.nan, None), ("a1", 2000.5, np.nan, None), ("b2", 2001.5, 2003.2, "Dissolved ")]
    )
    out, log = clean_organizations(orgs, file="reg.csv", end_reasons=REASONS)
    assert out["org_id"].tolist() == ["A1", "b2"]  # the register's spelling, whitespace removed
    assert out["end_reason"].tolist()[1] == "dissolved"
    rules = {r["rule"]: r["rows"] for r in log.summary()}
    assert rules["normalize_ids"] == 1
    assert rules["drop_duplicate_rows"] == 1
    assert rules["normalize_end_reason"] == 1
    logged = log.frame()
    assert logged.loc[logged.rule == "normalize_ids", "old_value"].tolist() == [" A1 "]
    assert logged.loc[logged.rule == "drop_duplicate_rows", "source_row"].tolist() == [3]


def test_conflicting_duplicate_ids_are_fatal_and_name_both_rows():
    orgs = register([("a1", 2000.5, np.nan, None), ("A1", 2002.5, np.nan, None)])
    with pytest.raises(InputError) as exc:
        clean_organizations(orgs, file="reg.csv", end_reasons=REASONS)
    msg = str(exc.value)
    assert "reg.csv" in msg and "a1" in msg and "2" in msg and "3" in msg


def test_ended_before_founded_dropped_or_error():
    orgs = register([("a", 2005.5, 2001.5, "dissolved"), ("b", 2001.5, np.nan, None)])
    out, log = clean_organizations(orgs, file="reg.csv", end_reasons=REASONS)
    assert out["org_id"].tolist() == ["b"]
    assert log.summary()[-1]["rule"] == "ended_before_founded"
    with pytest.raises(InputError, match="ended"):
        clean_organizations(orgs, file="reg.csv", end_reasons=REASONS, ended_before_founded="error")


def test_panel_rules():
    orgs, _ = clean_organizations(
        register([("a", 2000.5, 2003.5, "dissolved")]), file="r", end_reasons=REASONS
    )
    panel = pd.DataFrame(
        {
            "org_id": pd.array(["A ", "a", "a", "a", "zz", "a"], dtype="string"),
            "year": [2000, 2001, 2001, 2002, 2001, 2005],
            "size": [3.0, -1.0, -1.0, 4.0, 1.0, 2.0],
            "funding_share": [0.5, 1.5, 1.5, 0.2, 0.1, 0.3],
            "source_row": [2, 3, 4, 5, 6, 7],
        }
    )
    out, log = clean_panel(panel, orgs, file="p.csv")
    assert out["year"].tolist() == [2000, 2001, 2002]
    assert np.isnan(out["size"].iloc[1]) and np.isnan(out["funding_share"].iloc[1])
    rules = {r["rule"]: r["rows"] for r in log.summary()}
    assert rules == {
        "normalize_ids": 1,
        "drop_duplicate_rows": 1,
        "negative_size": 1,
        "share_out_of_range": 1,
        "orphan_panel_rows": 1,
        "panel_outside_lifetime": 1,
    }
    with pytest.raises(InputError, match="non-negative"):
        clean_panel(panel, orgs, file="p.csv", negative_size="error")


def test_panel_gaps_are_logged_not_filled():
    orgs, _ = clean_organizations(register([("a", 2000.5, np.nan, None)]), file="r", end_reasons=REASONS)
    panel = pd.DataFrame(
        {
            "org_id": pd.array(["a", "a"], dtype="string"),
            "year": [2000, 2003],
            "size": [1.0, 2.0],
            "source_row": [2, 3],
        }
    )
    out, log = clean_panel(panel, orgs, file="p.csv")
    assert len(out) == 2
    gaps = log.frame()
    assert gaps.loc[gaps.rule == "panel_gaps", "old_value"].tolist() == ["2001", "2002"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", " A", "b", "B ", "c"]),
            st.sampled_from([2000.5, 2001.5]),
            st.sampled_from([np.nan, 2004.5, 1999.5]),
            st.sampled_from([None, "dissolved", " Merged"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_cleaning_is_idempotent(rows):
    orgs = register(rows)
    try:
        once, _ = clean_organizations(orgs, file="r", end_reasons=REASONS)
    except InputError:
        return  # conflicting duplicates: fatal, nothing to clean
    twice, log2 = clean_organizations(once, file="r", end_reasons=REASONS)
    pd.testing.assert_frame_equal(once, twice)
    assert log2.summary() == []


def dated(rows):
    """(org_id, founded, ended) rows as raw date strings, parsed and placed like validation does."""
    from pipeline.data.dates import parse_dates

    df = pd.DataFrame(rows, columns=["org_id", "f", "e"])
    f, e = parse_dates(df["f"]), parse_dates(df["e"])
    return pd.DataFrame(
        {
            "org_id": pd.array(df["org_id"], dtype="string"),
            "founded": f["value"],
            "founded_precision": f["precision"],
            "founded_year": f["year"],
            "ended": e["value"],
            "ended_precision": e["precision"],
            "ended_year": e["year"],
            "end_reason": pd.array(["dissolved"] * len(df), dtype="string"),
            "source_row": np.arange(2, len(df) + 2),
        }
    )


def test_same_year_end_before_founding_is_compared_at_recorded_precision():
    orgs = dated(
        [
            ("a", "2006-09-04", "2006-06-05"),  # certain: days, same year
            ("b", "2006-09-04", "2006"),  # ambiguous: the end (year) moves
            ("c", "2006", "2006-03-15"),  # ambiguous: the founding (year) moves
            ("d", "2006-03", "2006-03"),  # ambiguous, same month: the end moves
            ("e", "2005", "2006-02"),  # fine
        ]
    )
    out, log = clean_organizations(orgs, file="reg.csv", end_reasons=REASONS)
    assert out["org_id"].tolist() == ["b", "c", "d", "e"]
    frame = log.frame()
    dropped = frame[frame.rule == "ended_before_founded"]
    assert dropped["org_id"].tolist() == ["a"] and dropped["source_row"].tolist() == [2]
    moved = frame[frame.rule == "same_period_order"]
    assert sorted(zip(moved["org_id"], moved["column"], strict=True)) == [
        ("b", "ended"),
        ("c", "founded"),
        ("d", "ended"),
    ]
    o = out.set_index("org_id")
    sep4 = 2006 + 246 / 365
    assert o.loc["b", "ended"] == pytest.approx((sep4 + 2007.0) / 2)  # midway founding .. end of 2006
    mar15 = 2006 + 73 / 365
    assert o.loc["c", "founded"] == pytest.approx((2006.0 + mar15) / 2)  # midway 1 Jan .. the end
    assert (o["ended"] > o["founded"]).all()
    assert (np.floor(o["ended"]) == 2006).all() and (
        np.floor(o.loc[["b", "c", "d"], "founded"]) == 2006
    ).all()
    with pytest.raises(InputError, match="2006-06-05") as exc:
        clean_organizations(orgs, file="reg.csv", end_reasons=REASONS, ended_before_founded="error")
    assert "row 2" in str(exc.value) and "founding (2006-09-04) of a" in str(exc.value)
    assert "1 problem" in str(exc.value)
    again, log2 = clean_organizations(out, file="reg.csv", end_reasons=REASONS)
    assert not (log2.frame().rule == "same_period_order").any()  # idempotent
    pd.testing.assert_frame_equal(again, out)


def test_outputs_keep_register_ids_and_log_only_changed_matches():
    orgs = register(
        [
            ("ORG00001", 2000.5, np.nan, None),
            (" ORG00002", 2000.5, np.nan, None),
            ("Org3", 2001.5, np.nan, None),
        ]
    )
    out, log = clean_organizations(orgs, file="reg.csv", end_reasons=REASONS)
    assert out["org_id"].tolist() == ["ORG00001", "ORG00002", "Org3"]
    panel = pd.DataFrame(
        {
            "org_id": pd.array(
                ["ORG00001", "ORG00001", "org00002", "ORG00002 ", "ORG3", "Org3"], dtype="string"
            ),
            "year": [2001, 2002, 2001, 2002, 2002, 2003],
            "source_row": [2, 3, 4, 5, 6, 7],
        }
    )
    p, log = clean_panel(panel, out, file="p.csv", log=log)
    assert p["org_id"].tolist() == ["ORG00001", "ORG00001", "ORG00002", "ORG00002", "Org3", "Org3"]
    changed = log.frame().query("rule == 'normalize_ids'")
    assert list(zip(changed["table"], changed["old_value"], changed["new_value"], strict=True)) == [
        ("organizations", " ORG00002", "ORG00002"),
        ("panel", "org00002", "ORG00002"),
        ("panel", "ORG00002 ", "ORG00002"),
        ("panel", "ORG3", "Org3"),
    ]
    exact, log2 = clean_panel(panel.iloc[[0, 1, 5]], out, file="p.csv")
    assert log2.frame().empty  # ids spelt as in the register: nothing to report


def _panel(ids):
    return pd.DataFrame(
        {
            "org_id": pd.array(ids, dtype="string"),
            "year": np.arange(2001, 2001 + len(ids)),
            "source_row": np.arange(2, len(ids) + 2),
        }
    )


@pytest.mark.parametrize(
    ("register_ids", "panel_ids", "variant", "pair"),
    [
        (["1", "2", "3"], ["00001", "00002", "00003", "00003"], "zero padding", ("00001", "1")),
        (["sw00005", "sw00006"], ["sw-00005", "sw-00006", "sw-00006"], "separators", ("sw-00005", "sw00005")),
        (["a", "b"], ["x1", "x2", "a"], None, None),
    ],
)
def test_panel_that_does_not_match_the_register_is_an_error_naming_examples(
    register_ids, panel_ids, variant, pair
):
    orgs, _ = clean_organizations(
        register([(i, 2000.5, np.nan, None) for i in register_ids]), file="r.csv", end_reasons=REASONS
    )
    with pytest.raises(InputError) as exc:
        clean_panel(_panel(panel_ids), orgs, file="p.csv", register_file="r.csv")
    msg = str(exc.value)
    n_match = sum(i in register_ids for i in panel_ids)
    assert f"only {n_match} of {len(panel_ids)} panel rows" in msg and "r.csv" in msg and "p.csv" in msg
    assert repr(panel_ids[0]) in msg and repr(register_ids[0]) in msg or repr(register_ids[1]) in msg
    if variant is None:
        assert "differ by" not in msg
    else:
        assert variant in msg and f"panel {pair[0]!r} is register {pair[1]!r}" in msg


def test_panel_mostly_matching_drops_orphans_and_logs_them():
    orgs, _ = clean_organizations(
        register([("a", 2000.5, np.nan, None), ("b", 2000.5, np.nan, None)]), file="r", end_reasons=REASONS
    )
    out, log = clean_panel(_panel(["a", "b", "zz"]), orgs, file="p.csv")  # 2 of 3 rows match
    assert out["org_id"].tolist() == ["a", "b"]
    assert log.frame().query("rule == 'orphan_panel_rows'")["org_id"].tolist() == ["zz"]
