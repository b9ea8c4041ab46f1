"""Date precision, usable covariate rows and history statements reach the report (issue 9 items 8, 15, 16)."""

from __future__ import annotations

import json

from pipeline.stages.render_report import history_notes
from reports.assemble import build_tables
from reports.descriptives import date_precision_frame, usable_rows_frame

PRECISION = {
    "data/raw/d/organizations.csv": {
        "founded": {"day": 7, "month": 2, "year": 1, "unknown": 0},
        "ended": {"day": 3, "unknown": 6},
    }
}
USABLE = {"panel": {"funding_share": {"rows": 100, "usable": 25}}}


def test_date_precision_by_file_and_column() -> None:
    f = date_precision_frame(PRECISION)
    assert f.to_dict("records") == [
        {
            "File: column": "organizations.csv: ended",
            "Day": 3,
            "Month": 0,
            "Year": 0,
            "Unknown": 6,
            "Total": 9,
        },
        {
            "File: column": "organizations.csv: founded",
            "Day": 7,
            "Month": 2,
            "Year": 1,
            "Unknown": 0,
            "Total": 10,
        },
    ]


def test_usable_rows_show_a_collapsed_covariate() -> None:
    f = usable_rows_frame(USABLE)
    assert f.to_dict("records") == [
        {"Table: covariate": "panel: funding_share", "Rows": 100, "Usable": 25, "Share usable": 0.25}
    ]


def test_tables_and_history_statements_for_the_report(tmp_path) -> None:
    tables = build_tables({}, data_quality={"date_precision": PRECISION, "usable": USABLE})
    assert tables["data_date_precision"].caption.startswith("Dates by recorded precision")
    assert [r[0] for r in tables["data_usable_rows"].rows] == ["panel: funding_share"]
    (tmp_path / "histories.json").write_text(
        json.dumps(
            {"dataset": "d", "left_truncated_density": {"statement": "293 organizations ...", "rule": "keep"}}
        ),
        encoding="utf-8",
    )
    assert history_notes(tmp_path) == ["293 organizations ..."]
    assert history_notes(tmp_path / "missing") == []
