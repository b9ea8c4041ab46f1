"""Parse founding and ending dates of organizations, as registries and panels record them, into decimal years.

Registers record dates at different precisions: a full day (``2015-03-02``), a month (``2015-03``) or
only a year (``2015``, ``1984.0`` in COW-style exports). :func:`parse_date_parts` reads every supported form
into year, month, day and a precision (``day``/``month``/``year``/``unknown``); :func:`place_dates` turns
them into calendar time; :func:`parse_dates` does both and reports every unparseable value at once.

Decimal-year convention
-----------------------
Calendar time is a decimal year by day count:

    t = year + (day_of_year − 1) / days_in_year,

so 1 January 00:00 is exactly ``year.0``, 1 July 2015 is 2015 + 181/365 ≈ 2015.496, and 31 December of a
leap year is ``year + 365/366``. A day-precision date is placed at 00:00 of that day.

Dates known only to the month or year are placed inside their period by ``rule``:

* ``start`` — the first day of the period (1 January, or the 1st of the month);
* ``midpoint`` (default) — the middle of the period's interval in decimal years: ``year + 0.5`` for a year;
  ``(t(first of month) + t(first of next month)) / 2`` for a month;
* ``end`` — the last day of the period at 00:00 (31 December, or the month's last day), which stays inside
  the period, so the calendar year of the placed value is always the recorded year.

Accepted forms (surrounding whitespace ignored; full-width digits and ``－／．`` accepted)
---------------------------------------------------------------------------------------------
* day: ``2015-03-02``, ``2015/3/2``, ``2015.3.2`` (one separator throughout), ``20150302``,
  ``2015-03-02 10:30:00`` / ``2015-03-02T10:30+08:00`` (time and offset ignored: the date as written), ``2015年3月2日`` (or ``2号``),
  date/datetime/Timestamp objects (Excel, Stata, SPSS, Parquet cells), numpy ``datetime64``;
* Excel serial day numbers ≥ 10000 (numbers or numeric strings; fractions = time of day, ignored), in the
  1900 date system as pandas/openpyxl read them: for serials ≥ 61, serial 0 ≡ 1899-12-30 (which absorbs
  Excel's fictitious 1900-02-29), so 42064 = 2015-03-01 — or in the 1904 system when the workbook uses
  it; Stata, SPSS and Parquet files have no implicit day numbers: their date columns carry a format, and a
  plain numeric column (other than whole years) needs ``date_epoch`` in params (:data:`EPOCHS`: Stata
  days since 1960, SPSS seconds since 1582-10-14, …), which then reads every number from that origin;
* month: ``2015-03``, ``2015/3``, ``2015年3月``;
* year: ``2015``, ``2015.0``, ``2015年``, integer-valued numbers 1000–2999 (a 4-digit number is always a
  year, never a serial);
* missing: empty, NA/None/NaN, and the tokens in :data:`MISSING_TOKENS` → precision ``unknown``.

Everything else is unparseable, and so are impossible dates (``2015-02-30``, month 13) and years outside
1000–2999; a ``2015.3`` is rejected rather than guessed (month 3 or a decimal year?).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.errors import InputError, Issue

RULES = ("start", "midpoint", "end")
PRECISIONS = ("day", "month", "year", "unknown")

#: Strings read as a missing date or number (R writes ``NA``, Stata ``.``), after stripping whitespace.
MISSING_TOKENS = frozenset({"", "NA", "NaN", "nan", "."})

#: What a date cell may contain, for error messages.
EXPECTED_FORMATS = (
    "a date: YYYY-MM-DD, YYYY/M/D, YYYY.M.D, YYYYMMDD, YYYY-MM, YYYY/M, YYYY, YYYY年M月D日, YYYY年M月, YYYY年 "
    "or an Excel serial >= 10000"
)

MIN_YEAR, MAX_YEAR = 1000, 2999
#: Excel serials accepted: from 10000 (1927-05-18) to the last day of MAX_YEAR.
SERIAL_MIN = 10000
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
SERIAL_MAX = int((np.datetime64(f"{MAX_YEAR}-12-31", "D") - _EXCEL_EPOCH).astype(int))

_FULLWIDTH = str.maketrans(
    {**{chr(0xFF10 + k): str(k) for k in range(10)}, "－": "-", "／": "/", "．": ".", "\u3000": " "}
)

# cumulative days before month m (index m-1) in a common year; index 12 = 365
_CUM = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365], dtype=np.int64)
_MONTH_DAYS = np.diff(_CUM)

_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "day",
        r"^(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$",
    ),
    ("day", r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
    ("day", r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]$"),
    ("month", r"^(?P<y>\d{4})[-/](?P<m>\d{1,2})$"),
    ("month", r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月$"),
    ("year", r"^(?P<y>\d{4})(?:\.0*)?$"),
    ("year", r"^(?P<y>\d{4})\s*年$"),
    ("number", r"^(?P<n>\d+(?:\.\d+)?)$"),
)

_PRECISION_CODE = {"day": 0, "month": 1, "year": 2, "unknown": 3}


def is_leap(year: np.ndarray) -> np.ndarray:
    """Gregorian leap years, vectorized."""
    y = np.asarray(year, dtype=np.int64)
    return ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)


def days_in_year(year: np.ndarray) -> np.ndarray:
    """365 or 366."""
    return 365 + is_leap(year).astype(np.int64)


def _days_before_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Days from 1 January to the first of ``month`` (month 13 = 1 January of the next year)."""
    m = np.asarray(month, dtype=np.int64)
    return _CUM[m - 1] + (is_leap(year) & (m > 2)).astype(np.int64)


def _parts_frame(n: int) -> dict[str, np.ndarray]:
    return {
        "y": np.zeros(n, dtype=np.int64),
        "m": np.zeros(n, dtype=np.int64),
        "d": np.zeros(n, dtype=np.int64),
        "p": np.full(n, _PRECISION_CODE["unknown"], dtype=np.int8),
        "bad": np.full(n, None, dtype=object),  # None = fine, else what was expected instead
    }


def _check_calendar(parts: dict[str, np.ndarray], idx: np.ndarray) -> None:
    """Mark impossible dates (month 13, 30 February) and years outside MIN_YEAR–MAX_YEAR as bad."""
    y, m, d, p = parts["y"][idx], parts["m"][idx], parts["d"][idx], parts["p"][idx]
    bad_year = (y < MIN_YEAR) | (y > MAX_YEAR)
    has_month = p <= _PRECISION_CODE["month"]
    bad_month = has_month & ((m < 1) | (m > 12))
    mm = np.clip(m, 1, 12)
    dim = _MONTH_DAYS[mm - 1] + (is_leap(y) & (mm == 2)).astype(np.int64)
    bad_day = (p == _PRECISION_CODE["day"]) & ~bad_month & ((d < 1) | (d > dim))
    msg = np.full(len(idx), None, dtype=object)
    msg[bad_day] = "a real calendar date (that day does not exist in that month)"
    msg[bad_month] = "a real calendar date (month must be 1-12)"
    msg[bad_year] = f"a year between {MIN_YEAR} and {MAX_YEAR}"
    parts["bad"][idx] = np.where(msg == None, parts["bad"][idx], msg)  # noqa: E711 (elementwise)


#: Day or time counts with a known origin: name -> (origin, seconds per unit). ``excel`` is the 1900 date
#: system as pandas/openpyxl read it (serial 0 = 1899-12-30), ``excel1904`` the Mac 1904 system.
EPOCHS: dict[str, tuple[str, float]] = {
    "excel": ("1899-12-30", 86400.0),
    "excel1904": ("1904-01-01", 86400.0),
    "stata": ("1960-01-01", 86400.0),  # %td: days since 1 January 1960
    "stata_ms": ("1960-01-01", 0.001),  # %tc: milliseconds since 1 January 1960
    "spss": ("1582-10-14", 1.0),  # seconds since 14 October 1582
    "unix": ("1970-01-01", 1.0),
    "unix_days": ("1970-01-01", 86400.0),
}

#: Start of the message for plain numbers in a file with no implicit day-number system.
NO_EPOCH = "a date, but the cell holds a plain number"


def epoch_help(kind: str) -> str:
    """The message asking for the epoch of an unformatted numeric date column of a ``kind`` file."""
    names = ", ".join(
        f"{k} ({'days' if u == 86400.0 else 'milliseconds' if u == 0.001 else 'seconds'} since {o})"
        for k, (o, u) in EPOCHS.items()
    )
    return (
        f"{NO_EPOCH} and the {kind} file gives this column no date format, so what it counts is unknown; "
        f"say it in params as date_epoch under the source (one of: {names}), or store the column with a "
        "date format"
    )


@dataclass(frozen=True)
class Numbers:
    """How numeric date cells are read.

    ``serial``: the implicit day-number system of the file (``excel``/``excel1904`` for text and Excel
    files, ``None`` for Stata/SPSS/Parquet, whose dates carry formats): whole numbers 1000–2999 are years,
    numbers >= ``SERIAL_MIN`` serial days, and with ``None`` any non-year number is refused (``kind``
    names the file type in that message). ``epoch`` (from params): every number counts units from that
    origin; years are not guessed.
    """

    serial: str | None = "excel"
    epoch: str | None = None
    kind: str = "data"


EXCEL = Numbers()


def _from_epoch(x: np.ndarray, epoch: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    origin, unit = EPOCHS[epoch]
    days = np.floor(x * unit / 86400.0).astype(np.int64)
    date = np.datetime64(origin, "D") + days.astype("timedelta64[D]")
    return _split_datetime64(date)


def _split_datetime64(date: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    date = date.astype("datetime64[D]")
    years = date.astype("datetime64[Y]")
    months = date.astype("datetime64[M]")
    y = years.astype(np.int64) + 1970
    m = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    d = (date - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, d


def _parse_numbers(
    x: np.ndarray, parts: dict[str, np.ndarray], idx: np.ndarray, numbers: Numbers = EXCEL
) -> None:
    """Numbers (see :class:`Numbers`): with an epoch every number is a count from it; otherwise
    integer-valued 1000–2999 → year and, with a serial system, SERIAL_MIN–SERIAL_MAX → serial day; else bad."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    if numbers.epoch is not None:
        ok = idx[finite]
        parts["y"][ok], parts["m"][ok], parts["d"][ok] = _from_epoch(x[finite], numbers.epoch)
        parts["p"][ok] = _PRECISION_CODE["day"]
        parts["bad"][idx[~finite]] = f"a number of {numbers.epoch} date units"
        _check_calendar(parts, ok)
        return
    is_year = finite & (x == np.round(x)) & (x >= MIN_YEAR) & (x <= MAX_YEAR)
    is_serial = finite & (x >= SERIAL_MIN) & (x < SERIAL_MAX + 1) & (numbers.serial is not None)
    yi = idx[is_year]
    parts["y"][yi] = x[is_year].astype(np.int64)
    parts["p"][yi] = _PRECISION_CODE["year"]
    si = idx[is_serial]
    if len(si):
        parts["y"][si], parts["m"][si], parts["d"][si] = _from_epoch(np.floor(x[is_serial]), numbers.serial)
        parts["p"][si] = _PRECISION_CODE["day"]
    other = ~(is_year | is_serial)
    if numbers.serial is None:
        parts["bad"][idx[other]] = epoch_help(numbers.kind)
        return
    system = "Excel 1904-system" if numbers.serial == "excel1904" else "Excel"
    parts["bad"][idx[other]] = (
        f"a whole year {MIN_YEAR}-{MAX_YEAR} or an {system} serial day number >= {SERIAL_MIN} (or another form "
        "of " + EXPECTED_FORMATS + ")"
    )


def _parse_strings(
    s: pd.Series, parts: dict[str, np.ndarray], idx: np.ndarray, numbers: Numbers = EXCEL
) -> None:
    """Strings, vectorized: one ``str.extract`` per pattern over the values still unmatched."""
    text = s.str.strip().str.translate(_FULLWIDTH)
    missing = text.isin(MISSING_TOKENS).to_numpy()
    todo = ~missing
    for precision, pattern in _PATTERNS:
        if not todo.any():
            break
        sub = text[todo]
        found = sub.str.extract(pattern)
        hit = found.iloc[:, 0].notna().to_numpy()
        if not hit.any():
            continue
        where = np.flatnonzero(todo)[hit]
        target = idx[where]
        got = found[hit]
        if precision == "number":
            _parse_numbers(got["n"].astype(float).to_numpy(), parts, target, numbers)
        else:
            parts["y"][target] = got["y"].astype(np.int64).to_numpy()
            if precision in ("day", "month"):
                parts["m"][target] = got["m"].astype(np.int64).to_numpy()
            if precision == "day":
                parts["d"][target] = got["d"].astype(np.int64).to_numpy()
            parts["p"][target] = _PRECISION_CODE[precision]
            _check_calendar(parts, target)
        todo[where] = False
    parts["bad"][idx[todo]] = EXPECTED_FORMATS


def _parse_unique(uniques: np.ndarray, numbers: Numbers = EXCEL) -> dict[str, np.ndarray]:
    """Parse an array of distinct non-missing values of any type."""
    n = len(uniques)
    parts = _parts_frame(n)
    kinds = np.array(
        [
            "s"
            if isinstance(v, str)
            else "b"
            if isinstance(v, (bool, np.bool_))
            else "n"
            if isinstance(v, (int, float, np.integer, np.floating))
            else "t"
            if isinstance(v, (_dt.date, np.datetime64))
            else "o"
            for v in uniques
        ],
        dtype="<U1",
    )
    idx = np.flatnonzero(kinds == "s")
    if len(idx):
        _parse_strings(pd.Series(uniques[idx], dtype=object).astype(str), parts, idx, numbers)
    idx = np.flatnonzero(kinds == "n")
    if len(idx):
        values = np.array([float(v) for v in uniques[idx]], dtype=np.float64)
        nan = np.isnan(values)
        _parse_numbers(values[~nan], parts, idx[~nan], numbers)
    idx = np.flatnonzero(kinds == "t")
    if len(idx):
        stamps = [pd.Timestamp(v) if isinstance(v, np.datetime64) else v for v in uniques[idx]]
        nat = np.array([pd.isna(v) for v in stamps])
        ok = idx[~nat]
        parts["y"][ok] = [v.year for v, bad in zip(stamps, nat, strict=True) if not bad]
        parts["m"][ok] = [v.month for v, bad in zip(stamps, nat, strict=True) if not bad]
        parts["d"][ok] = [v.day for v, bad in zip(stamps, nat, strict=True) if not bad]
        parts["p"][ok] = _PRECISION_CODE["day"]
        _check_calendar(parts, ok)
    idx = np.flatnonzero((kinds == "b") | (kinds == "o"))
    parts["bad"][idx] = EXPECTED_FORMATS
    return parts


def _row_numbers(index: pd.Index, row_offset: int) -> np.ndarray:
    if pd.api.types.is_integer_dtype(index.dtype):
        return index.to_numpy(dtype=np.int64) + row_offset
    return np.arange(len(index), dtype=np.int64) + row_offset


def _parse(
    values: pd.Series, *, file: str | None, column: str | None, row_offset: int, numbers: Numbers = EXCEL
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Parse ``values`` into compact parts: ``codes`` (row → entry, −1 = missing) and per-entry arrays.

    Distinct values are parsed once; a datetime64 column is parsed row by row (codes = arange). Raises
    InputError listing every bad row.
    """
    n = len(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        arr = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
        arr = arr.to_numpy(dtype="datetime64[ns]")
        nat = np.isnat(arr)
        parts = _parts_frame(n)
        ok = np.flatnonzero(~nat)
        parts["y"][ok], parts["m"][ok], parts["d"][ok] = _split_datetime64(arr[ok])
        parts["p"][ok] = _PRECISION_CODE["day"]
        _check_calendar(parts, ok)
        codes = np.where(nat, -1, np.arange(n))
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        parts = _parts_frame(len(uniques))
        _parse_numbers(np.asarray(uniques, dtype=np.float64), parts, np.arange(len(uniques)), numbers)
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        parts = _parse_unique(np.asarray(uniques, dtype=object), numbers)
    bad_entries = np.not_equal(parts["bad"], None).astype(bool)
    if bad_entries.any():
        bad = (codes >= 0) & bad_entries[np.maximum(codes, 0)]
        row_no = _row_numbers(values.index, row_offset)
        raw = values.to_numpy(dtype=object)
        no_epoch = [i for i in np.flatnonzero(bad) if str(parts["bad"][codes[i]]).startswith(NO_EPOCH)]
        if no_epoch:
            # one message for the column: its numbers need an origin, not a fix row by row
            i = no_epoch[0]
            where = f"{len(no_epoch)} cells, first at row/record {int(row_no[i])}"
            raise InputError(
                [
                    Issue(
                        str(file) if file is not None else "(data)",
                        None,
                        str(column) if column is not None else "",
                        f"{raw[i]} ({where})",
                        str(parts["bad"][codes[i]]),
                        "error",
                        "date_epoch_unknown",
                    )
                ]
            )
        issues = []
        for i in np.flatnonzero(bad):
            expected = str(parts["bad"][codes[i]])
            rule = "impossible_date" if expected.startswith("a real calendar") else "unparseable_date"
            issues.append(
                Issue(
                    str(file) if file is not None else "(data)",
                    int(row_no[i]),
                    str(column) if column is not None else "",
                    str(raw[i]),
                    expected,
                    "error",
                    rule,
                )
            )
        raise InputError(issues)
    return codes, parts


def _expand(codes: np.ndarray, entry: np.ndarray, fill: object) -> np.ndarray:
    """Per-row values from per-entry values (``fill`` where the row is missing)."""
    if len(entry) == 0:
        return np.full(len(codes), fill, dtype=np.result_type(entry.dtype, np.asarray(fill).dtype))
    out = entry[np.maximum(codes, 0)]
    if (codes < 0).any():
        out = out.astype(np.result_type(out.dtype, np.asarray(fill).dtype), copy=True)
        out[codes < 0] = fill
    return out


def _masked_int(codes: np.ndarray, entry: np.ndarray, known: np.ndarray) -> pd.arrays.IntegerArray:
    values = _expand(codes, entry, 0).astype(np.int64)
    mask = ~_expand(codes, known, False).astype(bool)
    return pd.arrays.IntegerArray(np.where(mask, 0, values), mask)


def parse_date_parts(
    values: pd.Series,
    *,
    file: str | None = None,
    column: str | None = None,
    row_offset: int = 2,
    numbers: Numbers = EXCEL,
) -> pd.DataFrame:
    """Year, month, day and precision of every date in ``values``; unparseable values raise InputError.

    Parameters
    ----------
    values : pandas.Series
        Raw date cells of one column (strings, numbers, date objects or a datetime64 column).
    file, column : str, optional
        Used in error messages.
    row_offset : int, default 2
        Added to the integer index label (or the position, for other indexes) to give the row reported in
        messages: 2 for text/Excel files read by :func:`pipeline.data.read.read_table` (header = row 1), 1 for
        record formats.
    numbers : Numbers, default Excel serials
        How numeric cells are read: the file's implicit day-number system, or an epoch from params.

    Returns
    -------
    pandas.DataFrame
        Same index as ``values``; ``year``, ``month``, ``day`` (Int64, missing below the precision) and
        ``precision`` (``day``/``month``/``year``/``unknown``).

    Raises
    ------
    InputError
        Listing every unparseable or impossible value with its row, the column, the value and the
        accepted formats.
    """
    codes, parts = _parse(values, file=file, column=column, row_offset=row_offset, numbers=numbers)
    p = parts["p"]
    out = pd.DataFrame(index=values.index)
    out["year"] = _masked_int(codes, parts["y"], p <= _PRECISION_CODE["year"])
    out["month"] = _masked_int(codes, parts["m"], p <= _PRECISION_CODE["month"])
    out["day"] = _masked_int(codes, parts["d"], p == _PRECISION_CODE["day"])
    out["precision"] = _precision_labels(codes, p)
    return out


def _precision_labels(codes: np.ndarray, p: np.ndarray) -> np.ndarray:
    labels = np.array(PRECISIONS, dtype=object)
    return labels[_expand(codes, p.astype(np.int64), _PRECISION_CODE["unknown"])]


def _place(p: np.ndarray, y: np.ndarray, m: np.ndarray, d: np.ndarray, rule: str) -> np.ndarray:
    """Decimal years from integer parts (p: precision codes; unknown → NaN)."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    known = p < _PRECISION_CODE["unknown"]
    y = np.where(known, y, 2001)
    m = np.where(p <= _PRECISION_CODE["month"], m, 1)
    d = np.where(p == _PRECISION_CODE["day"], d, 1)
    diy = days_in_year(y).astype(np.float64)
    yf = y.astype(np.float64)
    first_of_month = yf + _days_before_month(y, m) / diy
    next_month = yf + _days_before_month(y, m + 1) / diy
    day = first_of_month + (d - 1) / diy
    if rule == "start":
        month_t, year_t = first_of_month, yf
    elif rule == "midpoint":
        month_t, year_t = (first_of_month + next_month) / 2.0, yf + 0.5
    else:
        month_t, year_t = next_month - 1.0 / diy, yf + (diy - 1.0) / diy
    return np.select([p == 0, p == 1, p == 2], [day, month_t, year_t], default=np.nan).astype(np.float64)


def _arrays(parts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    prec = pd.Series(parts["precision"]).map(_PRECISION_CODE).to_numpy(dtype=np.int64)
    y = parts["year"].fillna(2001).to_numpy(dtype=np.int64)
    m = parts["month"].fillna(1).to_numpy(dtype=np.int64)
    d = parts["day"].fillna(1).to_numpy(dtype=np.int64)
    return prec, y, m, d


def place_dates(parts: pd.DataFrame, *, rule: str = "midpoint") -> np.ndarray:
    """Decimal years of parsed dates (see the module docstring for the convention and the rules).

    Parameters
    ----------
    parts : pandas.DataFrame
        Output of :func:`parse_date_parts`.
    rule : {"start", "midpoint", "end"}
        Where a month- or year-precision date is placed inside its period.

    Returns
    -------
    numpy.ndarray
        float64, NaN for unknown dates.
    """
    return _place(*_arrays(parts), rule)


def period_bounds(parts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest possible calendar time of each parsed date: ``[low, high)`` in decimal years.

    A day covers ``[t, t + 1/days_in_year)``, a month its interval, a year ``[year, year + 1)``; unknown
    dates give NaN. Used to decide whether an end *certainly* precedes a founding.
    """
    prec, y, m, d = _arrays(parts)
    diy = days_in_year(y).astype(np.float64)
    low = _place(prec, y, m, d, "start")
    high = np.select(
        [prec == 0, prec == 1, prec == 2],
        [low + 1.0 / diy, y + _days_before_month(y, m + 1) / diy, y + 1.0],
        default=np.nan,
    )
    return low, high


def parse_dates(
    values: pd.Series,
    *,
    rule: str = "midpoint",
    file: str | None = None,
    column: str | None = None,
    row_offset: int = 2,
    numbers: Numbers = EXCEL,
) -> pd.DataFrame:
    """Parse raw date cells into decimal years with their precision.

    Parameters
    ----------
    values : pandas.Series
        Raw cells of a date column, in any accepted form (see the module docstring); forms may be mixed.
    rule : {"start", "midpoint", "end"}, default "midpoint"
        Placement of month- and year-precision dates inside their period.
    file, column : str, optional
        Named in error messages.
    row_offset : int, default 2
        Added to the integer index label (or position) to give the reported row; 2 for text/Excel files
        (header = row 1), 1 for dta/sav/parquet records.
    numbers : Numbers, default Excel serials
        How numeric cells are read (see :class:`Numbers`).

    Returns
    -------
    pandas.DataFrame
        Same index as ``values``: ``value`` (decimal year, float, NaN when unknown), ``precision``
        (``day``/``month``/``year``/``unknown``) and ``year`` (Int64, the calendar year recorded).

    Raises
    ------
    InputError
        Every unparseable or impossible value (row, column, value, accepted formats), all at once.

    Examples
    --------
    >>> parse_dates(pd.Series(["2015-03-02", "2015-03", "2015", None]))["value"].round(4).tolist()
    [2015.1644, 2015.2041, 2015.5, nan]
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    codes, parts = _parse(values, file=file, column=column, row_offset=row_offset, numbers=numbers)
    p = parts["p"].astype(np.int64)
    out = pd.DataFrame(index=values.index)
    out["value"] = _expand(codes, _place(p, parts["y"], parts["m"], parts["d"], rule), np.nan)
    out["precision"] = _precision_labels(codes, p)
    out["year"] = _masked_int(codes, parts["y"], p <= _PRECISION_CODE["year"])
    return out


def precision_counts(frame: pd.DataFrame, columns: dict[str, str]) -> dict[str, dict[str, int]]:
    """How many dates of each role were recorded to the day, month or year, or are unknown.

    ``columns`` maps a role (``founded``, ``ended``) to its column in the file; ``frame`` holds the role's
    ``<role>_precision`` column (validated or cleaned register). Returns ``{file column: {precision: n}}``
    with every precision of :data:`PRECISIONS` (and ``imputed`` when present), in that order.
    """
    out: dict[str, dict[str, int]] = {}
    for role, column in columns.items():
        col = f"{role}_precision"
        if col not in frame:
            continue
        counts = frame[col].astype(object).value_counts()
        labels = [*PRECISIONS, *sorted(set(counts.index) - set(PRECISIONS))]
        out[column] = {p: int(counts.get(p, 0)) for p in labels}
    return out


def register_date_precision(
    orgs: pd.DataFrame | None, source: dict[str, Any] | None
) -> dict[str, dict[str, dict[str, int]]]:
    """``{file: {column: {day, month, year, unknown: n}}}`` for a register's founding and end dates
    (``source`` is the dataset's ``organizations`` entry in params); empty without a register."""
    if orgs is None or source is None:
        return {}
    roles = {r: c for r, c in source["columns"].items() if r in ("founded", "ended")}
    return {source["path"]: precision_counts(orgs, roles)}
