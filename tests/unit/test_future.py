"""Dates after the extraction date: refused at the precision recorded, panel years too."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipeline.data.dates import parse_dates
from pipeline.data.future import extraction_limit, future_date_issues, future_year_issues


def register(founded, ended):
    f, e = parse_dates(pd.Series(founded)), parse_dates(pd.Series(ended))
    return pd.DataFrame(
        {
            "founded": f["value"],
            "founded_precision": f["precision"],
            "founded_year": f["year"],
            "ended": e["value"],
            "ended_precision": e["precision"],
            "ended_year": e["year"],
            "source_row": range(2, len(founded) + 2),
        }
    )


def test_dates_whose_period_starts_after_the_extraction_date_are_errors():
    orgs = register(
        ["2025-03-01", "2025-03-02", "2025", "2025-04", "2099", "2001"],
        [None, None, None, None, None, "2026"],
    )
    limit = dt.date(2025, 3, 1)
    issues = future_date_issues(
        orgs, file="r.csv", columns={"founded": "start", "ended": "stop"}, limit=limit, source="params"
    )
    assert [(i.row, i.column, i.value) for i in issues] == [
        (3, "start", "2025-03-02"),
        (5, "start", "2025-04"),
        (6, "start", "2099"),
        (7, "stop", "2026"),
    ]
    assert "2025-03-01" in issues[0].expected and "extraction_date" in issues[0].expected


def test_panel_years_after_the_limit_year():
    panel = pd.DataFrame({"year": [2024, 2025, 2026], "source_row": [2, 3, 4]})
    issues = future_year_issues(panel, file="p.csv", column="yr", limit=dt.date(2025, 1, 1), source="today")
    assert [(i.row, i.value) for i in issues] == [(4, "2026")]
    assert "set extraction_date" in issues[0].expected


def test_extraction_limit_default_and_bad_value():
    assert extraction_limit(None, today=dt.date(2020, 5, 5)) == (dt.date(2020, 5, 5), "today")
    assert extraction_limit("2014-12-31") == (dt.date(2014, 12, 31), "params")
    with pytest.raises(ValueError, match="2014-13-01"):
        extraction_limit("2014-13-01")
