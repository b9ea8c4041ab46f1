"""Validation of raw tables into typed contract tables, with row-level errors and warnings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from pipeline.core.errors import InputError, Issue, issues_frame
from pipeline.data.read import read_table
from pipeline.data.validate import (
    validate_environment,
    validate_organizations,
    validate_panel,
    validate_population,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "inputs"
ORG_COLS = {"org_id": "org_id", "founded": "founded", "ended": "ended", "end_reason": "end_reason"}


def orgs(name: str = "orgs.csv", **kw):
    path = str(FIX / name)
    kw.setdefault("columns", ORG_COLS)
    kw.setdefault("attributes", ["district"])
    kw.setdefault("date_rule", "midpoint")
    return validate_organizations(read_table(path), file=path, **kw)


def raw_orgs(rows: list[list[str | None]], file: str = "reg.csv") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["org_id", "founded", "ended"], dtype=object)


def fail(fn, *args, **kw) -> InputError:
    with pytest.raises(InputError) as exc:
        fn(*args, **kw)
    return exc.value


# ---- organizations: the good path ---------------------------------------------------------------


def test_organizations_standard_columns_and_types():
    out, warnings = orgs()
    assert list(out.columns) == [
        "org_id",
        "founded",
        "founded_precision",
        "founded_year",
        "ended",
        "ended_precision",
        "ended_year",
        "end_reason",
        "district",
        "source_row",
    ]
    assert out["org_id"].tolist() == ["A001", "a002", "B-3", "0042", "C5"]  # as given: no case folding
    assert out["founded_precision"].tolist() == ["day", "month", "year", "day", "year"]
    assert out["founded_year"].tolist() == [2012, 2013, 2010, 2015, 2016]
    assert out["founded"].iloc[2] == 2010.5 and out["founded"].iloc[4] == 2016.5
    assert out["founded"].iloc[1] == pytest.approx(2013 + (181 / 365 + 212 / 365) / 2)  # July midpoint
    assert out["ended_precision"].tolist() == ["day", "unknown", "year", "unknown", "month"]
    assert out["ended"].isna().tolist() == [False, True, False, True, False]
    assert out["end_reason"].tolist()[:3] == ["dissolved", pd.NA, "merged"]
    assert out["source_row"].tolist() == [2, 3, 4, 5, 6]
    assert str(out["founded_year"].dtype) == "Int64" and out["founded"].dtype == np.float64
    assert warnings == []


@pytest.mark.parametrize(
    "name", ["orgs.tsv", "orgs_bom.csv", "orgs.xlsx", "orgs.parquet", "orgs_semicolon.txt"]
)
def test_organizations_same_result_from_every_format(name):
    ref, _ = orgs()
    out, _ = orgs(name)
    pd.testing.assert_frame_equal(out.drop(columns="source_row"), ref.drop(columns="source_row"))


def test_rule_start_and_end():
    start, _ = orgs(date_rule="start")
    end, _ = orgs(date_rule="end")
    assert start["founded"].iloc[2] == 2010.0 and end["founded"].iloc[2] == pytest.approx(2010 + 364 / 365)
    assert start["founded"].iloc[0] == end["founded"].iloc[0]  # day precision is not moved


def test_organizations_from_dta_use_record_numbers():
    path = str(FIX / "orgs.dta")
    out, _ = validate_organizations(
        read_table(path),
        file=path,
        columns={"org_id": "org_id", "founded": "founded"},
        attributes=["size"],
        date_rule="midpoint",
    )
    assert out["source_row"].tolist() == [1, 2, 3, 4, 5]
    assert out["founded_precision"].eq("day").all()  # Stata date cells
    assert out["ended_precision"].eq("unknown").all() and out["end_reason"].isna().all()
    # attributes kept as strings; integral numbers stored as floats by Stata read without ".0"
    assert out["size"].tolist() == ["3", "5", pd.NA, "2", "7"]


def test_gbk_register_with_chinese_dates():
    path = str(FIX / "orgs_gbk.csv")
    out, _ = validate_organizations(
        read_table(path),
        file=path,
        columns={"org_id": "机构编号", "founded": "成立日期", "ended": "注销日期"},
        attributes=["机构名称"],
        date_rule="midpoint",
    )
    assert out["founded_precision"].tolist() == ["day", "month", "year"]
    assert out["founded_year"].tolist() == [2012, 2013, 2010]
    assert out["ended_precision"].tolist() == ["day", "unknown", "unknown"]


# ---- organizations: fatal problems -------------------------------------------------------------


def test_missing_required_column_names_it_and_lists_the_others():
    err = fail(orgs, columns={**ORG_COLS, "founded": "date_founded"})
    text = str(err)
    assert "orgs.csv" in text and "date_founded" in text
    assert "org_id, name, founded, ended, end_reason, district" in text
    assert err.issues[0].rule == "missing_column" and err.issues[0].column == "date_founded"


def test_missing_column_hint_for_spaces_and_case():
    raw = pd.DataFrame({"Org_ID": ["A"], "founded ": ["2015"]})
    err = fail(validate_organizations, raw, file="r.csv", columns={"org_id": "org_id", "founded": "founded"})
    text = str(err)
    assert "did you mean 'Org_ID'" in text and "did you mean 'founded '" in text
    assert len(err.issues) == 2


def test_missing_attribute_column():
    err = fail(orgs, attributes=["district", "legal_form"])
    assert "legal_form" in str(err)


def test_unparseable_dates_all_reported_with_rows_and_columns():
    err = fail(orgs, "orgs_bad_dates.csv")
    got = [(i.row, i.column, i.value) for i in err.issues]
    assert got == [(3, "founded", "2015-02-30"), (5, "founded", "2015-13"), (6, "ended", "soon")]
    text = str(err)
    assert "orgs_bad_dates.csv" in text and "3 problems" in text and "row 3" in text and "row 6" in text


def test_conflicting_duplicate_ids_list_both_rows():
    err = fail(orgs, "orgs_conflicting_ids.csv")
    assert [(i.row, i.value, i.rule) for i in err.issues] == [
        (2, "A001", "conflicting_duplicate_ids"),
        (7, " a001 ", "conflicting_duplicate_ids"),
    ]
    text = str(err)
    assert "row 2" in text and "row 7" in text and "org_id" in text and "orgs_conflicting_ids.csv" in text


def test_conflicting_duplicates_fatal_even_when_not_strict():
    raw = raw_orgs([["X", "2015", None], ["x", "2015", "2018"]])
    err = fail(
        validate_organizations,
        raw,
        file="reg.csv",
        columns={"org_id": "org_id", "founded": "founded", "ended": "ended"},
    )
    assert {i.row for i in err.issues} == {2, 3}


def test_agreeing_duplicates_are_a_warning():
    raw = raw_orgs([["X", "2015-03", None], [" x", "2015/3", None], ["Y", "2016", None]])
    cols = {"org_id": "org_id", "founded": "founded", "ended": "ended"}
    out, warnings = validate_organizations(raw, file="reg.csv", columns=cols)
    assert [(w.row, w.rule, w.severity) for w in warnings] == [
        (2, "duplicate_id", "warning"),
        (3, "duplicate_id", "warning"),
    ]
    assert out["org_id"].tolist() == ["X", " x", "Y"]
    err = fail(validate_organizations, raw, file="reg.csv", columns=cols, strict=True)
    assert all(i.severity == "error" for i in err.issues)


def test_empty_identifier_and_empty_table():
    raw = raw_orgs([["X", "2015", None], ["  ", "2016", None]])
    err = fail(
        validate_organizations, raw, file="reg.csv", columns={"org_id": "org_id", "founded": "founded"}
    )
    assert (err.issues[0].row, err.issues[0].rule) == (3, "missing_id")
    err = fail(
        validate_organizations,
        raw.iloc[:0],
        file="reg.csv",
        columns={"org_id": "org_id", "founded": "founded"},
    )
    assert err.issues[0].rule == "empty_table" and "reg.csv" in str(err)


def test_mapping_without_required_roles_is_a_programming_error():
    with pytest.raises(ValueError, match="founded"):
        validate_organizations(raw_orgs([["X", "2015", None]]), file="r.csv", columns={"org_id": "org_id"})


# ---- organizations: warnings -------------------------------------------------------------------


def test_ended_before_founded_warning_and_strict_error():
    out, warnings = orgs("orgs_ended_before_founded.csv")
    assert [(w.row, w.column, w.value, w.rule) for w in warnings] == [
        (4, "ended", "2008-05-01", "ended_before_founded")
    ]
    assert len(out) == 5  # kept: cleaning decides
    err = fail(orgs, "orgs_ended_before_founded.csv", strict=True)
    text = str(err)
    assert (
        "row 4" in text
        and "ended" in text
        and "2008-05-01" in text
        and "orgs_ended_before_founded.csv" in text
    )


def test_same_period_coarse_dates_are_not_ended_before_founded():
    # founded 2015 (midpoint 2015.5) and ended March 2015: possible, not certainly before
    raw = raw_orgs([["X", "2015", "2015-03"], ["Y", "2015-06-01", "2015-05"]])
    _, warnings = validate_organizations(
        raw, file="r.csv", columns={"org_id": "org_id", "founded": "founded", "ended": "ended"}
    )
    assert [(w.row, w.rule) for w in warnings] == [(3, "ended_before_founded")]


def test_unknown_founding_date_is_a_warning():
    raw = raw_orgs([["X", None, None], ["Y", "2015", None]])
    out, warnings = validate_organizations(
        raw, file="r.csv", columns={"org_id": "org_id", "founded": "founded"}
    )
    assert [(w.row, w.rule) for w in warnings] == [(2, "unknown_founding")]
    assert out["founded_precision"].tolist() == ["unknown", "year"]
    with pytest.raises(InputError, match="founding date"):
        validate_organizations(
            raw, file="r.csv", columns={"org_id": "org_id", "founded": "founded"}, strict=True
        )


# ---- panel --------------------------------------------------------------------------------------

PANEL_COLS = {"org_id": "org_id", "year": "year"}
MEASURES = {"size": "staff", "funding_share": "gov_share"}


def test_panel_good_path():
    path = str(FIX / "panel.csv")
    out, warnings = validate_panel(read_table(path), file=path, columns=PANEL_COLS, measures=MEASURES)
    assert list(out.columns) == ["org_id", "year", "size", "funding_share", "source_row"]
    assert out["year"].dtype == np.int64 and out["size"].dtype == np.float64
    assert out["size"].tolist() == [3, 5, 8, 2, 2] and out["funding_share"].iloc[0] == 0.9
    assert out["source_row"].tolist() == [2, 3, 4, 5, 6] and warnings == []


def test_panel_wrong_types_are_fatal_with_row_column_value():
    path = str(FIX / "panel_bad_types.csv")
    err = fail(validate_panel, read_table(path), file=path, columns=PANEL_COLS, measures=MEASURES)
    got = [(i.row, i.column, i.value, i.rule) for i in err.issues]
    assert got == [
        (3, "staff", "n/a", "not_a_number"),
        (4, "staff", "12 staff", "not_a_number"),
        (5, "year", "2015.5", "bad_year"),
    ]
    text = str(err)
    assert (
        "panel_bad_types.csv" in text and "expected" in text and "a number" in text and "'12 staff'" in text
    )


def test_panel_text_year_and_missing_year():
    raw = pd.DataFrame(
        {"org_id": ["A", "A", "B"], "year": ["2015", "two thousand", None], "staff": ["1", "2", "3"]}
    )
    err = fail(validate_panel, raw, file="p.csv", columns=PANEL_COLS, measures={"size": "staff"})
    assert [(i.row, i.value) for i in err.issues] == [(3, "two thousand"), (4, "")]


def test_panel_missing_measure_tokens_are_missing_not_errors():
    raw = pd.DataFrame(
        {"org_id": ["A", "A", "A"], "year": ["2015", "2016.0", "2017"], "staff": ["", "NA", " 4 "]}
    )
    out, _ = validate_panel(raw, file="p.csv", columns=PANEL_COLS, measures={"size": "staff"})
    assert out["year"].tolist() == [2015, 2016, 2017]
    assert out["size"].isna().tolist() == [True, True, False] and out["size"].iloc[2] == 4.0


def test_panel_numbers_parsed_exactly_and_odd_cells_rejected():
    raw = pd.DataFrame(
        {
            "org_id": ["A"] * 6,
            "year": [2010, 2011, 2012, 2013, 2014, 2015],
            "staff": ["0.30000000000000004", "123456789.123456789", 7, 2.5, "1_000", True],
        },
        dtype=object,
    )
    err = fail(validate_panel, raw, file="p.xlsx", columns=PANEL_COLS, measures={"size": "staff"})
    assert [(i.row, i.value) for i in err.issues] == [(6, "1_000"), (7, "True")]
    out, _ = validate_panel(raw.iloc[:4], file="p.xlsx", columns=PANEL_COLS, measures={"size": "staff"})
    assert out["size"].tolist() == [0.30000000000000004, 123456789.123456789, 7.0, 2.5]  # bit-exact


def test_numeric_ids_from_binary_formats_read_like_text_ids(tmp_path):
    path = tmp_path / "p.dta"
    pd.DataFrame({"ionum": [10.0, 20.0, 10.0], "year": [1990.0, 1990.0, 1991.0]}).to_stata(
        path, write_index=False
    )
    out, _ = validate_panel(
        read_table(path), file=str(path), columns={"org_id": "ionum", "year": "year"}, measures={}
    )
    assert out["org_id"].tolist() == ["10", "20", "10"] and out["year"].tolist() == [1990, 1990, 1991]
    assert out["source_row"].tolist() == [1, 2, 3]


def test_panel_range_warnings_and_strict():
    raw = pd.DataFrame(
        {
            "org_id": ["A", "A", "B"],
            "year": [2015, 2016, 2015],
            "staff": [3, -1, 2],
            "gov_share": [0.5, 1.2, -0.1],
            "revenue": [1.0, 2.0, -5.0],
        }
    )
    out, warnings = validate_panel(
        raw, file="p.xlsx", columns=PANEL_COLS, measures={**MEASURES, "revenue": "revenue"}
    )
    assert [(w.row, w.column, w.rule) for w in warnings] == [
        (3, "gov_share", "out_of_range"),
        (3, "staff", "out_of_range"),
        (4, "gov_share", "out_of_range"),
    ]
    assert "revenue" in out.columns and out["size"].iloc[1] == -1  # not repaired here
    err = fail(validate_panel, raw, file="p.xlsx", columns=PANEL_COLS, measures=MEASURES, strict=True)
    assert len(err.issues) == 3 and "non-negative size" in str(err)


def test_panel_missing_column():
    raw = pd.DataFrame({"org_id": ["A"], "yr": ["2015"]})
    err = fail(validate_panel, raw, file="p.csv", columns=PANEL_COLS, measures={})
    assert "'year'" in str(err) and "org_id, yr" in str(err)


# ---- environment --------------------------------------------------------------------------------


def test_environment_types_and_duplicate_years():
    raw = pd.DataFrame(
        {"yr": ["2000", "2001", "2002"], "budget": ["1.5", "2", ""], "period": ["a", "b", "b"]}
    )
    out = validate_environment(
        raw, file="env.csv", columns={"year": "yr"}, covariates=["budget"], categorical=["period"]
    )
    assert list(out.columns) == ["year", "budget", "period"]
    assert (
        out["year"].tolist() == [2000, 2001, 2002]
        and out["budget"].iloc[1] == 2.0
        and np.isnan(out["budget"].iloc[2])
    )
    assert out["period"].tolist() == ["a", "b", "b"]
    dup = raw.assign(yr=["2000", "2001", "2001"])
    err = fail(
        validate_environment,
        dup,
        file="env.csv",
        columns={"year": "yr"},
        covariates=["budget"],
        categorical=[],
    )
    assert [(i.row, i.column, i.rule) for i in err.issues] == [
        (3, "yr", "duplicate_year"),
        (4, "yr", "duplicate_year"),
    ]
    assert "rows 3, 4" in str(err)


def test_environment_non_numeric_covariate():
    raw = pd.DataFrame({"year": [2000, 2001], "budget": ["1.5", "big"]})
    err = fail(
        validate_environment,
        raw,
        file="env.csv",
        columns={"year": "year"},
        covariates=["budget"],
        categorical=[],
    )
    assert (err.issues[0].row, err.issues[0].value) == (3, "big")


# ---- population ---------------------------------------------------------------------------------


def test_population_counts_with_gaps_and_kept_columns():
    raw = pd.DataFrame(
        {
            "year": ["1999", "2000", "2001"],
            "total": ["100", "", "130"],
            "new": ["5", "7", ""],
            "precision": ["exact", None, "rounded"],
        }
    )
    out = validate_population(
        raw,
        file="pop.csv",
        columns={"year": "year", "density": "total", "foundings": "new"},
        keep=["precision"],
    )
    assert list(out.columns) == ["year", "density", "foundings", "precision", "source_row"]
    assert out["density"].isna().tolist() == [False, True, False]
    assert out["precision"].tolist() == ["exact", pd.NA, "rounded"]


def test_population_negative_and_text_counts_and_duplicate_year():
    raw = pd.DataFrame({"year": ["1999", "2000"], "total": ["100", "-3"], "ex": ["1", "x"]})
    err = fail(
        validate_population,
        raw,
        file="pop.csv",
        columns={"year": "year", "density": "total", "exits_failures": "ex"},
        keep=[],
    )
    assert [(i.row, i.column, i.value) for i in err.issues] == [(3, "ex", "x")]
    raw = raw.assign(ex=["1", "2"])
    err = fail(
        validate_population, raw, file="pop.csv", columns={"year": "year", "density": "total"}, keep=[]
    )
    assert [(i.row, i.column, i.value, i.rule) for i in err.issues] == [(3, "total", "-3", "negative_count")]
    raw = raw.assign(year=["2000", "2000"], total=["1", "2"])
    err = fail(
        validate_population, raw, file="pop.csv", columns={"year": "year", "density": "total"}, keep=[]
    )
    assert {i.rule for i in err.issues} == {"duplicate_year"}


@pytest.mark.skipif(
    not Path("/work/shared/data/us_commercial_banks/cb_structure.csv").exists(), reason="no data"
)
def test_population_real_fdic_file():
    path = "/work/shared/data/us_commercial_banks/cb_structure.csv"
    out = validate_population(
        read_table(path),
        file=path,
        columns={"year": "YEAR", "density": "TOTAL", "foundings": "New_Char"},
        keep=["STNAME"],
    )
    assert out["year"].is_unique and out["density"].iloc[0] == 8452.0


# ---- errors module ------------------------------------------------------------------------------


def test_input_error_message_table_and_frame():
    issues = [
        Issue("data/raw/x.csv", r, "founded", f"bad{r}", "a date", "error", "unparseable_date")
        for r in range(2, 30)
    ]
    err = InputError(issues)
    text = str(err)
    assert text.startswith("data/raw/x.csv: 28 problems")
    assert "row 21" in text and "row 22" not in text and "8 more" in text  # first 20 shown
    frame = issues_frame(err.issues)
    assert list(frame.columns) == ["file", "row", "column", "value", "expected", "severity", "rule"]
    assert frame["row"].dtype == "Int64" and len(frame) == 28
    assert str(InputError([Issue("a.parquet", 4, "c", "v", "x")])).count("record 4") == 1


def test_excel_register_with_serial_and_date_cells_and_row_numbers(tmp_path):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (
        ["org_id", "founded", "ended"],
        [1001, 42064, None],
        [None, None, None],
        [1002, dt.datetime(2015, 3, 2), "2016年"],
        [1003, 2010, "2009-02-30"],
    ):
        ws.append(row)
    path = tmp_path / "reg.xlsx"
    wb.save(path)
    cols = {"org_id": "org_id", "founded": "founded", "ended": "ended"}
    err = fail(validate_organizations, read_table(path), file=str(path), columns=cols)
    assert [(i.row, i.column, i.value) for i in err.issues] == [(5, "ended", "2009-02-30")]
    ws.cell(row=5, column=3).value = None
    wb.save(path)
    out, _ = validate_organizations(read_table(path), file=str(path), columns=cols)
    assert out["org_id"].tolist() == ["1001", "1002", "1003"] and out["source_row"].tolist() == [2, 4, 5]
    assert out["founded_precision"].tolist() == ["day", "day", "year"]
    assert out["founded"].iloc[0] == pytest.approx(2015 + 59 / 365)  # serial 42064 = 1 March 2015
    assert out["founded"].iloc[1] == pytest.approx(2015 + 60 / 365)


def test_input_error_survives_pickling():
    import pickle

    err = InputError([Issue("a.csv", 3, "founded", "x", "a date", "error", "unparseable_date")])
    back = pickle.loads(pickle.dumps(err))
    assert back.issues == err.issues and str(back) == str(err)


def _register_frame():
    return pd.DataFrame({"org_id": ["a", "b"], "founded": [16071.0, 20000.0], "ended": [np.nan, 21000.0]})


def test_stata_day_numbers_without_a_date_format_are_refused_then_read_with_the_epoch(tmp_path):
    from pipeline.data.dates import EPOCHS
    from pipeline.stages.validate_inputs import date_numbers

    path = tmp_path / "reg.dta"
    pyreadstat.write_dta(_register_frame(), str(path))
    raw = read_table(path)
    cols = {"org_id": "org_id", "founded": "founded", "ended": "ended"}
    with pytest.raises(InputError) as exc:
        validate_organizations(raw, file=str(path), columns=cols, numbers=date_numbers(raw, None))
    text = str(exc.value)
    assert "Stata file gives this column no date format" in text and "date_epoch" in text
    assert "stata (days since 1960-01-01)" in text and "16071" in text
    assert [i.rule for i in exc.value.issues] == ["date_epoch_unknown"]  # one message settles both columns
    out, _ = validate_organizations(raw, file=str(path), columns=cols, numbers=date_numbers(raw, "stata"))
    # 16071 days after 1960-01-01 = 2004-01-01; 20000 = 2014-10-04 (day 277); 21000 = 2017-06-30 (day 181)
    assert out["founded"].tolist() == pytest.approx([2004.0, 2014 + 276 / 365])
    assert out["ended"].iloc[1] == pytest.approx(2017 + 180 / 365)
    schema = json.loads((Path(__file__).parents[2] / "pipeline/core/params.schema.json").read_text())
    assert set(schema["$defs"]["organizations"]["properties"]["date_epoch"]["enum"]) == {*EPOCHS, None}


def test_stata_year_columns_stay_years(tmp_path):
    from pipeline.stages.validate_inputs import date_numbers

    path = tmp_path / "reg.dta"
    pyreadstat.write_dta(pd.DataFrame({"org_id": ["a"], "founded": [1984.0]}), str(path))
    raw = read_table(path)
    out, _ = validate_organizations(
        raw,
        file=str(path),
        columns={"org_id": "org_id", "founded": "founded"},
        numbers=date_numbers(raw, None),
    )
    assert out["founded_precision"].tolist() == ["year"] and out["founded"].tolist() == [1984.5]


def test_spss_seconds_with_the_spss_epoch(tmp_path):
    from pipeline.stages.validate_inputs import date_numbers

    path = tmp_path / "reg.sav"
    seconds = (pd.Timestamp("2015-03-02") - pd.Timestamp("1582-10-14")).days * 86400.0
    pyreadstat.write_sav(pd.DataFrame({"org_id": ["a"], "founded": [seconds]}), str(path))
    raw = read_table(path)
    cols = {"org_id": "org_id", "founded": "founded"}
    with pytest.raises(InputError, match="SPSS file gives this column no date format"):
        validate_organizations(raw, file=str(path), columns=cols, numbers=date_numbers(raw, None))
    out, _ = validate_organizations(raw, file=str(path), columns=cols, numbers=date_numbers(raw, "spss"))
    assert out["founded"].tolist() == pytest.approx([2015 + 60 / 365])


def test_excel_1904_workbook_serials_use_the_workbook_system(tmp_path):
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    from pipeline.stages.validate_inputs import date_numbers

    path = tmp_path / "reg.xlsx"
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append(["org_id", "founded"])
    ws.append(["a", 40000])  # plain number: 1904 system -> 2013-07-07 (1900 system: 2009-07-06)
    wb.save(path)
    raw = read_table(path)
    assert raw.attrs["serial_dates"] == "excel1904"
    out, _ = validate_organizations(
        raw,
        file=str(path),
        columns={"org_id": "org_id", "founded": "founded"},
        numbers=date_numbers(raw, None),
    )
    assert out["founded"].tolist() == pytest.approx([2013 + 187 / 365])


def _share_panel(shares):
    return pd.DataFrame(
        {"org_id": ["a"] * len(shares), "year": [str(2000 + k) for k in range(len(shares))], "gs": shares}
    )


def test_share_column_in_percent_is_refused_with_the_params_fix():
    raw = _share_panel(["45", "12.5", "0.5", "80", ""])
    with pytest.raises(InputError) as exc:
        validate_panel(
            raw, file="p.csv", columns={"org_id": "org_id", "year": "year"}, measures={"funding_share": "gs"}
        )
    text = str(exc.value)
    assert "looks like percentages" in text and "3 of 4 values are above 1" in text
    assert "scale: {funding_share: percent}" in text and exc.value.issues[0].column == "gs"


def test_share_column_declared_percent_is_converted_and_noted():
    raw = _share_panel(["45", "12.5", "0.5", "101", ""])
    out, warnings = validate_panel(
        raw,
        file="p.csv",
        columns={"org_id": "org_id", "year": "year"},
        measures={"funding_share": "gs"},
        scales={"funding_share": "percent"},
    )
    assert out["funding_share"].tolist()[:4] == pytest.approx([0.45, 0.125, 0.005, 1.01])
    assert out.attrs["scale_notes"] == [
        {"measure": "funding_share", "column": "gs", "scale": "percent", "converted": 4}
    ]
    assert [(w.row, w.rule) for w in warnings] == [(5, "out_of_range")]  # 101 % is still out of range


def test_fraction_shares_with_a_few_bad_values_are_not_taken_for_percent():
    raw = _share_panel(["0.4", "0.5", "3", "0.2"])
    out, warnings = validate_panel(
        raw, file="p.csv", columns={"org_id": "org_id", "year": "year"}, measures={"funding_share": "gs"}
    )
    assert [w.row for w in warnings] == [4]
