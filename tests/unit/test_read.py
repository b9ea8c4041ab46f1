"""Reading raw tables in every supported format, and clear errors for bad files."""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from pipeline.core.errors import InputError
from pipeline.data.read import read_table, sniff_delimiter, sniff_kind

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "inputs"
BANKS = Path("/work/shared/data/us_commercial_banks/cb_structure.csv")

FRAME = pd.DataFrame(
    {
        "org_id": ["A001", "0042", "b-3"],
        "founded": ["2012-03-15", "2013-07", "2010"],
        "staff": [3.0, np.nan, 12.5],
    }
)


def _error(path, **kw) -> InputError:
    with pytest.raises(InputError) as exc:
        read_table(path, **kw)
    return exc.value


# ---- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("ext,sep", [(".csv", ","), (".tsv", "\t"), (".txt", ";"), (".txt", "|")])
def test_text_roundtrip_keeps_strings_and_leading_zeros(tmp_path, ext, sep):
    path = tmp_path / f"orgs{ext}"
    FRAME.to_csv(path, sep=sep, index=False)
    out = read_table(path)
    assert list(out.columns) == ["org_id", "founded", "staff"]
    assert out["org_id"].tolist() == ["A001", "0042", "b-3"]
    assert out["founded"].tolist() == ["2012-03-15", "2013-07", "2010"]  # no date guessing
    assert out["staff"].iloc[0] == "3.0" and pd.isna(out["staff"].iloc[1])  # strings, empty → NA
    assert list(out.index) == [0, 1, 2]


def test_xlsx_roundtrip(tmp_path):
    path = tmp_path / "orgs.xlsx"
    FRAME.assign(when=[dt.datetime(2015, 3, 2), None, dt.datetime(2016, 1, 1)]).to_excel(path, index=False)
    out = read_table(path)
    assert out["org_id"].tolist() == ["A001", "0042", "b-3"]
    assert out["staff"].iloc[2] == 12.5
    assert pd.Timestamp(out["when"].iloc[0]) == pd.Timestamp("2015-03-02")  # date cells stay dates
    assert pd.isna(out["when"].iloc[1])


def test_dta_roundtrip(tmp_path):
    path = tmp_path / "orgs.dta"
    FRAME.to_stata(path, write_index=False, version=118)
    out = read_table(path)
    assert out["org_id"].tolist() == ["A001", "0042", "b-3"]
    np.testing.assert_array_equal(out["staff"].to_numpy(), FRAME["staff"].to_numpy())


def test_sav_roundtrip_and_value_labels(tmp_path):
    path = tmp_path / "orgs.sav"
    frame = FRAME.assign(kind=[1.0, 2.0, 1.0])
    pyreadstat.write_sav(
        frame, str(path), variable_value_labels={"kind": {1.0: "station", 2.0: "foundation"}}
    )
    codes = read_table(path)
    assert codes["kind"].tolist() == [1.0, 2.0, 1.0]
    assert codes.attrs["value_labels"]["kind"] == {1.0: "station", 2.0: "foundation"}
    labels = read_table(path, value_labels=True)
    assert labels["kind"].tolist() == ["station", "foundation", "station"]
    assert labels["org_id"].tolist() == ["A001", "0042", "b-3"]


def test_parquet_roundtrip(tmp_path):
    path = tmp_path / "orgs.parquet"
    FRAME.to_parquet(path, index=False)
    out = read_table(path)
    pd.testing.assert_frame_equal(out, FRAME)


@pytest.mark.parametrize(
    "name", ["orgs.csv", "orgs_bom.csv", "orgs.tsv", "orgs_semicolon.txt", "orgs.xlsx", "orgs.parquet"]
)
def test_committed_fixtures_read_alike(name):
    out = read_table(FIX / name)
    assert list(out.columns) == ["org_id", "name", "founded", "ended", "end_reason", "district"]
    assert out["org_id"].tolist() == ["A001", "a002", "B-3", "0042", "C5"]


def test_dta_fixture_dates_are_datetimes():
    out = read_table(FIX / "orgs.dta")
    assert pd.api.types.is_datetime64_any_dtype(out["founded"])
    assert out["founded"].iloc[0] == pd.Timestamp("2012-03-15")


def test_excel_sheet_by_name_and_position():
    assert read_table(FIX / "orgs.xlsx", sheet="notes")["note"].tolist() == ["second sheet"]
    assert read_table(FIX / "orgs.xlsx", sheet=1)["note"].tolist() == ["second sheet"]
    err = _error(FIX / "orgs.xlsx", sheet="Sheet9")
    assert "Sheet9" in str(err) and "register, notes" in str(err)


# ---- encodings ----------------------------------------------------------------------------------


def test_utf8_bom_is_removed_from_first_column_name():
    assert (FIX / "orgs_bom.csv").read_bytes().startswith(codecs.BOM_UTF8)
    assert read_table(FIX / "orgs_bom.csv").columns[0] == "org_id"


@pytest.mark.skipif(not BANKS.exists(), reason="shared FDIC data not present")
def test_real_fdic_file_with_bom():
    out = read_table(BANKS)
    assert out.columns[0] == "BRANCHES" and "YEAR" in out.columns
    assert out["YEAR"].iloc[0] == "1999"


def test_gbk_chinese_csv_by_fallback():
    raw = (FIX / "orgs_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    out = read_table(FIX / "orgs_gbk.csv")
    assert list(out.columns) == ["机构编号", "机构名称", "成立日期", "注销日期"]
    assert out["机构名称"].iloc[0] == "深圳市福田区社工服务中心"
    assert out["成立日期"].tolist() == ["2012年3月15日", "２０１３年７月", "2010年"]


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "id,名称\n1,社工站\n".encode("utf-16-le"))
    out = read_table(path)
    assert out.columns.tolist() == ["id", "名称"] and out["名称"].iloc[0] == "社工站"


def test_unreadable_encoding_and_explicit_encoding():
    err = _error(FIX / "latin1.csv")
    text = str(err)
    assert "latin1.csv" in text and "UTF-8" in text and "line 2" in text and "encoding" in text
    assert err.issues[0].rule == "unreadable_encoding"
    out = read_table(FIX / "latin1.csv", encoding="latin-1")
    assert out["name"].tolist() == ["Café", "Crèche"]


# ---- bad files ----------------------------------------------------------------------------------


def test_missing_file():
    err = _error(FIX / "no_such_file.csv")
    assert "no_such_file.csv" in str(err) and "not found" in str(err)
    assert "orgs.csv" in str(err)  # lists the data files that are there


def test_empty_file_says_zero_bytes():
    err = _error(FIX / "empty.csv")
    assert "empty.csv" in str(err) and "0 bytes" in str(err)
    assert err.issues[0].rule == "empty_file"


def test_blank_lines_only(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n\n  \n")
    assert "empty" in str(_error(path))


def test_header_only_file_says_header():
    err = _error(FIX / "header_only.csv")
    text = str(err)
    assert "header_only.csv" in text and "header row" in text and "no data rows" in text
    assert "org_id, founded, ended" in text
    assert err.issues[0].rule == "header_only"


@pytest.mark.parametrize(
    "name,ext",
    [("csv_renamed.xlsx", ".xlsx"), ("text_renamed.parquet", ".parquet"), ("text_renamed.dta", ".dta")],
)
def test_file_not_what_its_extension_says(name, ext):
    err = _error(FIX / name)
    text = str(err)
    assert f"has extension {ext} but its content looks like text/CSV" in text
    assert name in text
    assert err.issues[0].rule == "wrong_format"


def test_binary_file_with_text_extension(tmp_path):
    path = tmp_path / "book.csv"
    path.write_bytes((FIX / "orgs.xlsx").read_bytes())
    assert "has extension .csv but its content looks like a ZIP archive" in str(_error(path))
    path = tmp_path / "data.sav"
    path.write_bytes((FIX / "orgs.parquet").read_bytes())
    assert "looks like a Parquet file" in str(_error(path))


def test_unsupported_extension(tmp_path):
    path = tmp_path / "data.json"
    path.write_text("{}")
    assert "unsupported extension '.json'" in str(_error(path))


def test_header_only_excel_and_parquet(tmp_path):
    xl = tmp_path / "h.xlsx"
    pd.DataFrame(columns=["org_id", "founded"]).to_excel(xl, index=False)
    assert "no data rows" in str(_error(xl))
    pq = tmp_path / "h.parquet"
    pd.DataFrame({"org_id": pd.Series([], dtype=str)}).to_parquet(pq)
    assert "no records" in str(_error(pq))


# ---- row positions ------------------------------------------------------------------------------


def test_blank_lines_are_dropped_but_counted(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("org_id,founded\nA,2015\n\nB,2016\n,\nC,2017\n")
    out = read_table(path)
    assert out["org_id"].tolist() == ["A", "B", "C"]
    # index + 2 = the line in the file (header = line 1)
    assert (out.index + 2).tolist() == [2, 4, 6]


def test_quoted_delimiters_and_na_strings_kept(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('org_id,name,staff\n1,"Smith, Jones & Co",n/a\n2,"NA",NA\n')
    out = read_table(path)
    assert out["name"].tolist() == ["Smith, Jones & Co", "NA"]
    assert out["staff"].tolist() == ["n/a", "NA"]  # validation decides what these mean


# ---- sniffers -----------------------------------------------------------------------------------


def test_sniff_delimiter():
    assert sniff_delimiter("a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter("a\tb\n1\t2,5\n") == "\t"
    assert sniff_delimiter('a,b\n"x;y",2\n') == ","
    assert sniff_delimiter("single\nvalue\n") == ","


def test_sniff_kind_magic_bytes():
    assert sniff_kind(b"PK\x03\x04rest") == "zip"
    assert sniff_kind(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") == "ole2"
    assert sniff_kind(b"PAR1....") == "parquet"
    assert sniff_kind(b"$FL2@(#) SPSS") == "spss"
    assert sniff_kind(b"<stata_dta><header>") == "stata"
    assert sniff_kind(bytes([114, 2, 1, 0])) == "stata"
    assert sniff_kind(b"org_id,founded\n") == "text"
    assert sniff_kind(b"\x00\x01\x02") == "binary"
    assert sniff_kind((FIX / "orgs.sav").read_bytes()[:64]) == "spss"
    assert sniff_kind((FIX / "orgs.dta").read_bytes()[:64]) == "stata"


def test_duplicate_column_names_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("org_id,founded,founded\nA,2015,2016\n")
    err = _error(path)
    assert "duplicate column names" in str(err) and "'founded' (columns 2 and 3)" in str(err)
    xl = tmp_path / "dup.xlsx"
    pd.DataFrame([["A", 2015, 2016]], columns=["org_id", "x", "y"]).rename(columns={"y": "x"}).to_excel(
        xl, index=False
    )
    assert "'x' (columns 2 and 3)" in str(_error(xl))


def test_ragged_row_is_reported_with_its_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("org_id,founded\nA,2015\nB,2016,extra\n")
    text = str(_error(path))
    assert "ragged.csv" in text and "line 3" in text


def test_zip_that_is_not_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "report.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", "<x/>")
    err = _error(path)
    assert "report.xlsx" in str(err) and "cannot be read as an Excel workbook" in str(err)


def test_excel_blank_rows_dropped_but_counted(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (
        ["org_id", "founded"],
        ["A", "2015"],
        [None, None],
        ["B", "2016"],
        ["  ", None],
        ["C", 42064],
    ):
        ws.append(row)
    path = tmp_path / "gaps.xlsx"
    wb.save(path)
    out = read_table(path)
    assert out["org_id"].tolist() == ["A", "B", "C"]
    assert (out.index + 2).tolist() == [2, 4, 6]
    assert out["founded"].tolist() == ["2015", "2016", 42064]  # numbers stay numbers


def test_short_row_is_an_error_naming_the_row(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text("org_id,founded,ended\nA,2015,\nB,2016\nC,2017,2019\n")  # row 3 lost a field
    err = _error(path)
    assert [(i.row, i.rule) for i in err.issues] == [(3, "truncated_record")]
    assert "cut off" not in str(err)


def test_file_cut_mid_record_says_so(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text("org_id,founded,ended\nA,2015,2018\nB,2016,2019\nC,20")
    err = _error(path)
    assert [(i.row, i.rule) for i in err.issues] == [(4, "truncated_record")]
    assert "ends mid-record" in str(err) and "cut off" in str(err)


def test_file_cut_inside_a_quoted_field(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text('org_id,name,founded\nA,"Sunrise, Inc.",2015\nB,"Harmo')
    err = _error(path)
    assert err.issues[0].rule == "unterminated_quote" and "quoted field" in str(err)


def test_quoted_line_breaks_are_one_record(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text('org_id,name,founded\nA,"two\nlines",2015\nB,plain,2016\n')
    assert read_table(path)["name"].tolist() == ["two\nlines", "plain"]


def test_huge_single_line_is_an_error(tmp_path, monkeypatch):
    from pipeline.data import records

    monkeypatch.setattr(records, "MAX_LINE_CHARS", 1000)
    path = tmp_path / "reg.csv"
    path.write_text("org_id,founded\n" + "A,2015;" * 500)
    err = _error(path)
    assert err.issues[0].rule == "huge_line" and "line 2 is 3,500 characters" in str(err)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_named_as_such(tmp_path, codec):
    path = tmp_path / "reg.csv"
    path.write_bytes("org_id,founded\nA,2015\nB,2016\n".encode(codec))
    text = str(_error(path))
    assert "UTF-16 text without a byte-order mark" in text and "save it again as UTF-8" in text


def test_symlink_to_another_kind_of_file_says_what_it_is(tmp_path):
    target = tmp_path / "scan.pdf"
    target.write_bytes(b"%PDF-1.7 not a table")
    link = tmp_path / "reg.csv"
    link.symlink_to(target)
    text = str(_error(link))
    assert f"a symlink to {target}" in text and "a PDF document" in text


def test_truth_file_must_be_a_json_object(tmp_path):
    from pipeline.data.read import load_truth

    path = tmp_path / "truth.json"
    path.write_text('{"founding": {"a": 1},\n "mortality": }')
    with pytest.raises(InputError, match="not valid JSON: Expecting value at line 2, column 15"):
        load_truth(path)
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match="JSON object"):
        load_truth(path)
    path.write_bytes(b"PK\x03\x04zip")
    with pytest.raises(InputError, match="ZIP archive"):
        load_truth(path)
    path.write_text('{"founding": {}}')
    assert load_truth(path) == {"founding": {}}
