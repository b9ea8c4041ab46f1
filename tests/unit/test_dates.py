"""Date parsing into decimal years: every accepted form, placement rules, Excel serials, rejections."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.errors import InputError
from pipeline.data.dates import parse_date_parts, parse_dates, period_bounds


def one(value, rule: str = "midpoint") -> tuple[float, str, object]:
    out = parse_dates(pd.Series([value], dtype=object), rule=rule)
    return float(out["value"].iloc[0]), str(out["precision"].iloc[0]), out["year"].iloc[0]


def decimal(d: dt.date) -> float:
    """Reference implementation of the convention, written independently with the standard library."""
    days = 366 if (d.year % 4 == 0 and d.year % 100 != 0) or d.year % 400 == 0 else 365
    return d.year + (d.timetuple().tm_yday - 1) / days


# ---- day precision, every form ------------------------------------------------------------------

DAY_FORMS = [
    "2015-03-02",
    "2015/3/2",
    "2015.3.2",
    "2015/03/02",
    "20150302",
    " 2015-03-02 ",
    "2015-03-02 10:30:00",
    "2015-03-02T10:30",
    "2015-03-02T23:30:00+08:00",
    "2015-03-02T10:30:00Z",
    "2015年3月2日",
    "2015年03月02日",
    "2015年3月2号",
    "２０１５年３月２日",
    "２０１５－０３－０２",
    pd.Timestamp("2015-03-02"),
    pd.Timestamp("2015-03-02 18:00"),
    dt.datetime(2015, 3, 2, 12, 0),
    dt.date(2015, 3, 2),
    np.datetime64("2015-03-02"),
]


@pytest.mark.parametrize("value", DAY_FORMS, ids=[repr(v) for v in DAY_FORMS])
@pytest.mark.parametrize("rule", ["start", "midpoint", "end"])
def test_day_forms_give_the_day_whatever_the_rule(value, rule):
    t, precision, year = one(value, rule)
    assert precision == "day"
    assert year == 2015
    # 2 March 2015 is day 61 of a common year: 2015 + 60/365
    assert t == pytest.approx(2015 + 60 / 365, abs=1e-12)


def test_leap_year_days():
    assert one("2016-03-01")[0] == pytest.approx(2016 + 60 / 366, abs=1e-12)
    assert one("2016-02-29")[0] == pytest.approx(2016 + 59 / 366, abs=1e-12)
    assert one("2016-12-31")[0] == pytest.approx(2016 + 365 / 366, abs=1e-12)
    assert one("2000-02-29")[1] == "day"  # divisible by 400: leap
    assert one("2015-01-01")[0] == 2015.0  # 1 January 00:00 is year.0


# ---- month and year precision, placement rules ------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2015-03", "2015/3", "2015/03", "2015年3月", "２０１５年３月", "2015 年 3 月"]
)
def test_month_forms_and_rules(value):
    start, p, y = one(value, "start")
    mid, _, _ = one(value, "midpoint")
    end, _, _ = one(value, "end")
    assert p == "month" and y == 2015
    assert start == pytest.approx(2015 + 59 / 365, abs=1e-12)  # 1 March
    assert mid == pytest.approx(2015 + (59 / 365 + 90 / 365) / 2, abs=1e-12)  # middle of [1 Mar, 1 Apr)
    assert end == pytest.approx(2015 + 89 / 365, abs=1e-12)  # 31 March 00:00


def test_month_midpoint_february_leap_and_december():
    assert one("2016-02", "midpoint")[0] == pytest.approx(2016 + (31 / 366 + 60 / 366) / 2, abs=1e-12)
    assert one("2016-02", "end")[0] == pytest.approx(2016 + 59 / 366, abs=1e-12)  # 29 February
    assert one("2015-02", "end")[0] == pytest.approx(2015 + 58 / 365, abs=1e-12)  # 28 February
    assert one("2015-12", "midpoint")[0] == pytest.approx(2015 + (334 / 365 + 1) / 2, abs=1e-12)
    assert one("2015-12", "end")[0] == pytest.approx(2015 + 364 / 365, abs=1e-12)


@pytest.mark.parametrize(
    "value", ["2015", "2015.0", "2015.00", "2015年", "２０１５年", 2015, 2015.0, np.int64(2015)]
)
def test_year_forms_and_rules(value):
    assert one(value, "start")[:2] == (2015.0, "year")
    assert one(value, "midpoint")[:2] == (2015.5, "year")
    assert one(value, "end")[0] == pytest.approx(2015 + 364 / 365, abs=1e-12)  # 31 December 00:00
    assert one(value)[2] == 2015


def test_year_end_rule_leap_year_and_cow_style_floats():
    assert one("2016", "end")[0] == pytest.approx(2016 + 365 / 366, abs=1e-12)
    out = parse_dates(pd.Series(["1984.0", "1950.0", None, "2001.0"]), rule="midpoint")
    assert out["value"].tolist()[:2] == [1984.5, 1950.5]
    assert out["precision"].tolist() == ["year", "year", "unknown", "year"]
    assert out["year"].tolist() == [1984, 1950, pd.NA, 2001]


def test_placement_stays_inside_the_period():
    values = pd.Series(["2015", "2016", "2015-01", "2015-12", "2016-02", "2015-06-30"])
    for rule in ("start", "midpoint", "end"):
        out = parse_dates(values, rule=rule)
        assert (np.floor(out["value"]).astype(int) == out["year"].astype(int)).all()
    parts = parse_date_parts(values)
    low, high = period_bounds(parts)
    for rule in ("start", "midpoint", "end"):
        t = parse_dates(values, rule=rule)["value"].to_numpy()
        assert np.all(low <= t) and np.all(t < high)


# ---- missing values -----------------------------------------------------------------------------


def test_missing_values_are_unknown_not_errors():
    values = pd.Series(["", "  ", None, np.nan, pd.NA, "NA", pd.NaT, "."], dtype=object)
    out = parse_dates(values)
    assert out["precision"].eq("unknown").all()
    assert out["value"].isna().all()
    assert out["year"].isna().all()
    assert str(out["year"].dtype) == "Int64"


def test_all_missing_float_column():
    out = parse_dates(pd.Series([np.nan, np.nan]))
    assert out["precision"].tolist() == ["unknown", "unknown"]


def test_datetime64_column_fast_path_and_nat():
    out = parse_dates(pd.Series(pd.to_datetime(["2015-03-02", None, "2016-12-31"])))
    assert out["precision"].tolist() == ["day", "unknown", "day"]
    assert out["value"].iloc[0] == pytest.approx(2015 + 60 / 365)
    assert out["value"].iloc[2] == pytest.approx(2016 + 365 / 366)


# ---- Excel serial numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [42064, 42064.0, "42064", 42064.75, np.int64(42064)])
def test_excel_serial_42064_is_1_march_2015(value):
    t, p, y = one(value)
    assert p == "day" and y == 2015
    assert t == pytest.approx(decimal(dt.date(2015, 3, 1)), abs=1e-12)


def test_excel_serials_agree_with_openpyxl():
    from openpyxl.utils.datetime import from_excel

    serials = np.arange(10000, 80000, 997)
    out = parse_dates(pd.Series(serials))
    expected = [decimal(from_excel(int(s)).date()) for s in serials]
    np.testing.assert_allclose(out["value"].to_numpy(), expected, rtol=0, atol=1e-12)


def test_four_digit_numbers_are_years_never_serials():
    out = parse_dates(pd.Series([1000, 1999, 2999, 9999.0 + 10000]))
    assert out["precision"].tolist() == ["year", "year", "year", "day"]
    with pytest.raises(InputError, match="Excel serial"):
        parse_dates(pd.Series([5000]))
    with pytest.raises(InputError):
        parse_dates(pd.Series([999]))


# ---- rejections ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "2015-02-30",
        "2015-13",
        "2015-13-01",
        "2015-00-10",
        "2015-04-31",
        "2015-02-29",
        "1900-02-29",
        "2015年2月30日",
        "2015年13月",
        "20151301",
        "soon",
        "15-03-2015",
        "2015.5",
        "2015-3/2",
        "3/2/2015",
        "2015-03-02-01",
        "abc",
        "-2015",
        "3000",
        1984.5,
        3500,
        True,
        "2015.3",
    ],
)
def test_impossible_or_unparseable_dates_are_rejected(bad):
    with pytest.raises(InputError):
        parse_dates(pd.Series([bad], dtype=object))


def test_error_lists_every_bad_value_with_row_and_column():
    values = pd.Series(["2015-03-02", "2015-02-30", "2016", "month 13", "2015-13", None])
    with pytest.raises(InputError) as exc:
        parse_dates(values, file="registry.csv", column="founding_date")
    issues = exc.value.issues
    assert [(i.row, i.value) for i in issues] == [(3, "2015-02-30"), (5, "month 13"), (6, "2015-13")]
    assert {i.column for i in issues} == {"founding_date"}
    assert issues[0].rule == "impossible_date" and issues[1].rule == "unparseable_date"
    text = str(exc.value)
    assert "registry.csv" in text and "3 problems" in text
    assert "row 3" in text and "founding_date" in text and "'2015-02-30'" in text
    assert "YYYY-MM-DD" in text  # the accepted formats are named


def test_row_numbers_follow_the_index_and_offset():
    values = pd.Series(["2015", "bad"], index=[10, 14])
    with pytest.raises(InputError) as exc:
        parse_dates(values, file="x.dta", column="d", row_offset=1)
    assert exc.value.issues[0].row == 15
    assert "record 15" in str(exc.value)


def test_repeated_bad_value_reported_on_every_row():
    with pytest.raises(InputError) as exc:
        parse_dates(pd.Series(["x", "2015", "x"]))
    assert [i.row for i in exc.value.issues] == [2, 4]


def test_unknown_rule():
    with pytest.raises(ValueError, match="rule"):
        parse_dates(pd.Series(["2015"]), rule="middle")


def test_mixed_forms_in_one_column_keep_index():
    values = pd.Series(
        ["2015-03-02", 2015, "2015年3月", dt.date(2015, 3, 2), None, 42064], index=list("abcdef")
    )
    out = parse_dates(values)
    assert list(out.index) == list("abcdef")
    assert out["precision"].tolist() == ["day", "year", "month", "day", "unknown", "day"]


# ---- property test: format random dates in each form, parse back -------------------------------

dates = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(2999, 12, 31))

FORMATTERS = {
    "iso": (lambda d: d.isoformat(), "day"),
    "slash": (lambda d: f"{d.year}/{d.month}/{d.day}", "day"),
    "dot": (lambda d: f"{d.year}.{d.month}.{d.day}", "day"),
    "compact": (lambda d: d.strftime("%Y%m%d") if d.year >= 1000 else d.isoformat(), "day"),
    "zh_day": (lambda d: f"{d.year}年{d.month}月{d.day}日", "day"),
    "fullwidth": (
        lambda d: f"{d.year}年{d.month}月{d.day}日".translate(
            str.maketrans("0123456789", "０１２３４５６７８９")
        ),
        "day",
    ),
    "object": (lambda d: d, "day"),
    "timestamp": (lambda d: pd.Timestamp(d) if 1678 <= d.year <= 2261 else d, "day"),
    "iso_month": (lambda d: f"{d.year}-{d.month:02d}", "month"),
    "slash_month": (lambda d: f"{d.year}/{d.month}", "month"),
    "zh_month": (lambda d: f"{d.year}年{d.month}月", "month"),
    "year": (lambda d: str(d.year), "year"),
    "year_float": (lambda d: f"{d.year}.0", "year"),
    "year_number": (lambda d: float(d.year), "year"),
    "zh_year": (lambda d: f"{d.year}年", "year"),
}


@settings(max_examples=150, deadline=None)
@given(d=dates, form=st.sampled_from(sorted(FORMATTERS)), rule=st.sampled_from(["start", "midpoint", "end"]))
def test_formatted_dates_parse_back(d, form, rule):
    fmt, precision = FORMATTERS[form]
    t, p, y = one(fmt(d), rule)
    assert p == precision and y == d.year
    if precision == "day":
        assert t == pytest.approx(decimal(d), abs=1e-12)
        return
    first = d.replace(day=1) if precision == "month" else d.replace(month=1, day=1)
    if precision == "month":
        nxt = (
            decimal(dt.date(d.year + 1, 1, 1)) if d.month == 12 else decimal(dt.date(d.year, d.month + 1, 1))
        )
    else:
        nxt = float(d.year + 1)
    assert decimal(first) <= t < nxt
    expected = {"start": decimal(first), "midpoint": (decimal(first) + nxt) / 2}.get(rule)
    if expected is None:  # end: the last day of the period at 00:00
        last = (
            dt.date(d.year, d.month + 1, 1)
            if precision == "month" and d.month < 12
            else dt.date(d.year + 1, 1, 1)
        )
        expected = decimal(last - dt.timedelta(days=1))
    assert t == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(d=st.dates(min_value=dt.date(1927, 5, 18), max_value=dt.date(2999, 12, 31)))
def test_excel_serial_roundtrip(d):
    serial = (d - dt.date(1899, 12, 30)).days
    t, p, _ = one(serial)
    assert p == "day" and t == pytest.approx(decimal(d), abs=1e-12)


def test_precision_counts_per_file_column():
    from pipeline.data.dates import register_date_precision

    f = parse_dates(pd.Series(["2015-03-02", "2015-03", "2015", "2016"]))
    e = parse_dates(pd.Series([None, "2019", None, "2020-01-05"]))
    orgs = pd.DataFrame({"founded_precision": f["precision"], "ended_precision": e["precision"]})
    src = {"path": "r.csv", "columns": {"org_id": "id", "founded": "start", "ended": "stop"}}
    assert register_date_precision(orgs, src) == {
        "r.csv": {
            "start": {"day": 1, "month": 1, "year": 2, "unknown": 0},
            "stop": {"day": 1, "month": 0, "year": 1, "unknown": 2},
        }
    }
    assert register_date_precision(None, None) == {}
