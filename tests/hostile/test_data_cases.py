"""Hostile data inputs (issue 9): each case breaks one thing in a tiny project and expects a clean error
(or, where params allow it, a stated conversion), never a traceback, a partial output or a touched input."""

from __future__ import annotations

import json

import pytest

from tests.hostile.harness import (
    ORGANIZATIONS_CSV,
    PANEL_CSV,
    Project,
    assert_clean_error,
    assert_ok,
)


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


def test_baseline_tiny_project_builds_histories(project):
    run = project.run_through("build_histories")
    assert_ok(run)
    assert (project.root / "data/processed/t/spells.parquet").exists()


# --- cases that already passed before issue 9 ---------------------------------------------------------
def test_empty_file(project):
    project.write("organizations.csv", "")
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "empty")


def test_header_only(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV.splitlines()[0] + "\n")
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "no data rows")


def test_renamed_binary(project):
    project.write("organizations.csv", b"PK\x03\x04" + bytes(range(256)) * 4)
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "zip")


def test_missing_column(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV.replace("founded,", "started,", 1))
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "founded")


def test_conflicting_duplicates(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV + "A02,Beta,2001-01-01,,,north\n")
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "A02", "row 3", "row 10")


def test_impossible_dates(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV.replace("2002-01-10", "2002-13-45"))
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "2002-13-45", "founded")


# --- item 3: same-year end before founding --------------------------------------------------------------
def _cleaning_log(project):
    return json.loads((project.root / "data/interim/t/clean/cleaning_log.json").read_text(encoding="utf-8"))


def test_same_year_end_before_founding_is_dropped_by_id_and_ambiguous_one_moved(project):
    text = ORGANIZATIONS_CSV.replace("2003-09-01,2009-11-20", "2003-09-01,2003-06-05")  # A05: certain
    text = text.replace("2001-06-30,2008-03-01", "2001-09-30,2001")  # A03: same year, coarse end
    project.write("organizations.csv", text)
    assert_ok(project.run_through("clean_inputs"))
    rows = _cleaning_log(project)["rows"]
    dropped = [(r["org_id"], r["source_row"]) for r in rows if r["rule"] == "ended_before_founded"]
    assert dropped == [("A05", 6)]
    moved = [(r["org_id"], r["column"]) for r in rows if r["rule"] == "same_period_order"]
    assert moved == [("A03", "ended")]
    # the same file under the error rule: a clean error naming the organization and the row
    project.params["clean_inputs"]["ended_before_founded"] = "error"
    run = project.run("clean_inputs")
    assert_clean_error(run, "organizations.csv", "row 6", "2003-06-05", "2003-09-01", "A05")


# --- item 4: identifiers keep the register's spelling -------------------------------------------------
def test_outputs_keep_register_ids_and_log_counts_changed_rows_only(project):
    import pandas as pd

    panel = PANEL_CSV.replace("A02,2001", "a02,2001").replace("A03,2002", " A03,2002")
    project.write("panel.csv", panel)
    assert_ok(project.run_through("build_histories"))
    for name in ("organizations", "spells", "org_years"):
        ids = set(pd.read_parquet(project.root / f"data/processed/t/{name}.parquet")["org_id"])
        assert ids and all(i == i.upper() for i in ids), (name, ids)
    rows = [r for r in _cleaning_log(project)["rows"] if r["rule"] == "normalize_ids"]
    assert [(r["table"], r["old_value"], r["new_value"]) for r in rows] == [
        ("panel", "a02", "A02"),
        ("panel", " A03", "A03"),
    ]


# --- item 5: a panel that does not match the register -------------------------------------------------
@pytest.mark.parametrize(
    ("register", "panel", "named"),
    [
        (
            ORGANIZATIONS_CSV.replace("\nA0", "\n"),
            PANEL_CSV.replace("A0", "0000"),
            ["zero padding", "'00001'"],
        ),
        (ORGANIZATIONS_CSV, PANEL_CSV.replace("A0", "A-0"), ["separators", "panel 'A-01' is register 'A01'"]),
        (ORGANIZATIONS_CSV, PANEL_CSV.replace("A0", "Q"), ["'Q1'", "'A01'"]),
    ],
    ids=["numeric-vs-zero-padded", "separator", "unrelated"],
)
def test_panel_that_does_not_match_the_register(project, register, panel, named):
    project.write("organizations.csv", register)
    project.write("panel.csv", panel)
    run = project.run_through("clean_inputs")
    assert_clean_error(run, "panel.csv", "only 0 of 16 panel rows", "organizations.csv", *named)


# --- item 7: truncated files ----------------------------------------------------------------------------
def test_register_cut_mid_row(project):
    cut = ORGANIZATIONS_CSV[: ORGANIZATIONS_CSV.index("2009-11-20")]  # A05's row loses its end and more
    project.write("organizations.csv", cut)
    run = project.run("validate_inputs")
    assert_clean_error(run, "organizations.csv", "row 6", "ends mid-record", "cut off")


def test_row_with_fewer_fields_than_the_header(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV.replace("A04,Delta,2002-01-10,,,south", "A04,Delta"))
    run = project.run("validate_inputs")
    assert_clean_error(run, "organizations.csv", "row 5", "6 fields like the header")


def test_huge_single_line(project):
    project.write("panel.csv", "org_id,year,staff,gov_share\n" + "A01,2000,5,0.5;" * 80_000)  # 1.2 MB line
    run = project.run("validate_inputs")
    assert_clean_error(run, "panel.csv", "line 2 is 1,200,000 characters")


# --- item 9: future dates -------------------------------------------------------------------------------
def test_founding_in_2099_is_an_error(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV.replace("2007-08-08", "2099-08-08"))
    run = project.run("validate_inputs")
    assert_clean_error(run, "organizations.csv", "row 9", "2099-08-08", "today")


def test_dates_after_the_extraction_date_in_params(project):
    project.ds["extraction_date"] = "2009-06-30"
    project.write("panel.csv", PANEL_CSV + "A08,2010,5,0.7\n")
    run = project.run("validate_inputs")
    assert_clean_error(run, "organizations.csv", "2009-11-20", "panel.csv", "2010", "2009-06-30")


def test_extraction_date_that_is_not_a_date(project):
    project.ds["extraction_date"] = "2009-13-30"
    assert_clean_error(project.run("validate_inputs"), "extraction_date", "2009-13-30", "YYYY-MM-DD")


# --- item 6: Stata/SPSS/Excel dates in the file's own semantics ----------------------------------------
def test_stata_day_numbers_without_date_format_ask_for_the_epoch(project):
    import pandas as pd
    import pyreadstat

    days = lambda s: float((pd.Timestamp(s) - pd.Timestamp("1960-01-01")).days)  # noqa: E731
    frame = pd.DataFrame(
        {
            "org_id": ["A01", "A02", "A03"],
            "founded": [days("1998-04-01"), days("2000-02-15"), days("2001-06-30")],
            "ended": [days("2006-07-01"), float("nan"), float("nan")],
        }
    )
    project.raw.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_dta(frame, str(project.raw / "organizations.dta"))
    org = project.ds["organizations"]
    org["path"] = "data/raw/t/organizations.dta"
    org["columns"] = {"org_id": "org_id", "founded": "founded", "ended": "ended"}
    org["attributes"] = []
    run = project.run("validate_inputs")
    assert_clean_error(
        run, "organizations.dta", "no date format", "date_epoch", "stata (days since 1960-01-01)"
    )
    org["date_epoch"] = "stata"
    assert_ok(project.run("validate_inputs"))
    got = pd.read_parquet(project.root / "data/interim/t/validated/organizations.parquet")
    assert got["founded_year"].tolist() == [1998, 2000, 2001]  # not 1958-1961 (Excel serials)


# --- item 8: shares in percent --------------------------------------------------------------------------
def _percent_panel():
    lines = PANEL_CSV.strip().split("\n")
    out = [lines[0]]
    for ln in lines[1:]:
        org, year, staff, share = ln.split(",")
        out.append(f"{org},{year},{staff},{float(share) * 100:g}")
    return "\n".join(out) + "\n"


def test_share_column_in_percent_stops_with_a_message(project):
    project.write("panel.csv", _percent_panel())
    run = project.run("validate_inputs")
    assert_clean_error(
        run, "panel.csv", "gov_share", "looks like percentages", "scale: {funding_share: percent}"
    )


def test_share_column_declared_percent_is_converted_and_usable_rows_logged(project):
    import pandas as pd

    project.write("panel.csv", _percent_panel())
    project.ds["panel"]["scale"] = {"funding_share": "percent"}
    assert_ok(project.run_through("clean_inputs"))
    report = json.loads((project.root / "data/interim/t/validated/validation_report.json").read_text())
    assert report["conversions"] == [
        {"measure": "funding_share", "column": "gov_share", "scale": "percent", "converted": 16}
    ]
    panel = pd.read_parquet(project.root / "data/interim/t/clean/panel.parquet")
    assert panel["funding_share"].max() == pytest.approx(0.9)
    usable = _cleaning_log(project)["usable"]["panel"]["funding_share"]
    assert usable["usable"] == usable["rows"] > 0
    assert_ok(project.run("build_histories"))
    meta = json.loads((project.root / "data/processed/t/histories.json").read_text())
    spells = meta["usable"]["spells"]
    assert 0 < spells["funding_share"]["usable"] < spells["funding_share"]["rows"]  # panel years only


# --- item 16: date precision counts in the validation report and the cleaning log -----------------------
def test_date_precision_counts_reach_report_and_cleaning_log(project):
    text = ORGANIZATIONS_CSV.replace("2002-01-10", "2002-01").replace("2004-05-01", "2004")
    text = text.replace("2006-07-01", "2006")
    project.write("organizations.csv", text)
    assert_ok(project.run_through("clean_inputs"))
    report = json.loads((project.root / "data/interim/t/validated/validation_report.json").read_text())
    expected = {
        "founded": {"day": 6, "month": 1, "year": 1, "unknown": 0},
        "ended": {"day": 2, "month": 0, "year": 1, "unknown": 5},
    }
    assert report["date_precision"] == {"data/raw/t/organizations.csv": expected}
    assert _cleaning_log(project)["date_precision"] == {"data/raw/t/organizations.csv": expected}


# --- item 15: left-truncated density at founding --------------------------------------------------------
def test_left_truncated_density_at_founding_is_flagged_and_stated(project):
    import pandas as pd

    run = project.run_through("build_histories")
    assert_ok(run)
    meta = json.loads((project.root / "data/processed/t/histories.json").read_text())[
        "left_truncated_density"
    ]
    assert meta["organizations"] == 1 and meta["rule"] == "keep" and meta["register_exits_before_window"] == 0
    assert "likely too low" in meta["statement"] and "founded before 2000" in run.stderr
    orgs = pd.read_parquet(project.root / "data/processed/t/organizations.parquet").set_index("org_id")
    assert (
        orgs["density_at_founding_truncated"].to_dict()["A01"] and orgs.loc["A01", "density_at_founding"] == 0
    )
    project.params["build_histories"]["left_truncated_density"] = "exclude"
    assert_ok(project.run("build_histories"))
    orgs = pd.read_parquet(project.root / "data/processed/t/organizations.parquet").set_index("org_id")
    assert pd.isna(orgs.loc["A01", "density_at_founding"]) and orgs.loc["A02", "density_at_founding"] == 1


# --- item 14: exit kinds from COW-style flags -----------------------------------------------------------
def test_cow_style_flags_succession_before_dead(project):
    import pandas as pd

    project.write(
        "organizations.csv",
        "ioname,sdate,deaddate,dead,integrated,replaced\n"
        "A01,2001,,0,0,0\nA02,2002,2005,1,0,0\nA03,2002,2006,1,1,0\nA04,2003,2008,1,0,1\nA05,2004,2009,0,0,0\n",
    )
    project.write("panel.csv", PANEL_CSV.replace("A06", "A05").replace("A07", "A05").replace("A08", "A01"))
    org = project.ds["organizations"]
    org["columns"] = {"org_id": "ioname", "founded": "sdate", "ended": "deaddate"}
    org["attributes"] = []
    org["end_reason_flags"] = {"integrated": "integrated", "replaced": "replaced", "dead": "dissolved"}
    project.ds["end_reasons"] = {"dissolved": "death", "integrated": "competing", "replaced": "competing"}
    run = project.run_through("build_histories")
    assert_ok(run)
    orgs = pd.read_parquet(project.root / "data/processed/t/organizations.parquet").set_index("org_id")
    assert orgs["end_kind"].to_dict() == {
        "A01": "censored",
        "A02": "death",
        "A03": "competing:integrated",
        "A04": "competing:replaced",
        "A05": "death",  # an end year without a flag: missing_end_reason
    }


# --- item 18 (data part): messages instead of tracebacks ------------------------------------------------
def test_one_year_window(project):
    project.ds["window"] = {"start": 2005, "end": 2005}
    assert_clean_error(
        project.run("validate_inputs"), "window covers the single year 2005", "at least two years"
    )


def test_attribute_column_missing_from_the_file(project):
    project.ds["organizations"]["attributes"] = ["name", "district", "no_such_attr"]
    project.ds["group_columns"] = ["no_such_attr"]
    run = project.run("validate_inputs")
    assert_clean_error(run, "organizations.csv", "no_such_attr", "not in the file", "district")


def test_truth_file_not_json(project):
    project.write("truth.json", "true parameters: founding 0.3\n")
    project.ds["truth"] = "data/raw/t/truth.json"
    run = project.run("validate_inputs")
    assert_clean_error(run, "truth.json", "not valid JSON", "at line 1, column 6")


def test_symlink_to_a_pdf(project):
    (project.raw / "organizations.csv").unlink()
    project.write("scan.pdf", b"%PDF-1.7\n binary scan of the register")
    (project.raw / "organizations.csv").symlink_to("scan.pdf")
    run = project.run("validate_inputs")
    assert_clean_error(run, "organizations.csv", "a symlink to scan.pdf", "PDF document")


def test_utf16_file_without_bom(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV.encode("utf-16-le"))
    run = project.run("validate_inputs")
    assert_clean_error(run, "organizations.csv", "UTF-16 text without a byte-order mark", "UTF-8")
