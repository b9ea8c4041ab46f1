"""Dates after the data were extracted cannot have been observed: a founding in 2099 is a typo, not data.

The limit is the dataset's ``extraction_date`` in params (``YYYY-MM-DD``), or today when none is given.
A date is in the future when its whole recorded period starts after the limit (``2025`` is fine for data
extracted on 2025-03-01; ``2025-04`` is not). Panel and population years after the limit's year are
refused the same way.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipeline.core.columns import YEAR
from pipeline.core.errors import Issue
from pipeline.data.dates import days_in_year, period_bounds
from pipeline.data.lifetimes import placed_parts, recorded

SOURCE_ROW = "source_row"


def extraction_limit(value: str | None, *, today: dt.date | None = None) -> tuple[dt.date, str]:
    """The date no observation may follow, and where it comes from (``params`` or ``today``).

    Raises ``ValueError`` for a value that is not a real ``YYYY-MM-DD`` date.
    """
    if value is None:
        return (today or dt.datetime.now(dt.UTC).date()), "today"
    try:
        return dt.date.fromisoformat(str(value)), "params"
    except ValueError:
        raise ValueError(f"extraction_date {value!r} is not a date written YYYY-MM-DD") from None


def _decimal(day: dt.date) -> float:
    diy = int(days_in_year(np.array([day.year]))[0])
    return day.year + (day.timetuple().tm_yday - 1) / diy


def _after(limit: dt.date, source: str) -> str:
    given = "the dataset's extraction_date" if source == "params" else "today (set extraction_date in params)"
    return f"a date on or before {limit.isoformat()} ({given}); a later date cannot have been observed"


def future_date_issues(
    orgs: pd.DataFrame, *, file: str, columns: dict[str, str], limit: dt.date, source: str
) -> list[Issue]:
    """Foundings and ends of a validated register whose recorded period starts after ``limit``."""
    first_free = _decimal(limit + dt.timedelta(days=1))
    issues = []
    for role in ("founded", "ended"):
        if role not in orgs or role not in columns:
            continue
        parts = placed_parts(orgs[role].astype(float), orgs[f"{role}_precision"], orgs.get(f"{role}_year"))
        low, _ = period_bounds(parts)
        bad = np.flatnonzero(low >= first_free - 1e-9)
        if not len(bad):
            continue
        sub = orgs.iloc[bad]
        shown = recorded(sub[role].astype(float), sub[f"{role}_precision"], sub.get(f"{role}_year"))
        issues += [
            Issue(file, int(r), columns[role], str(v), _after(limit, source), "error", "future_date")
            for r, v in zip(sub[SOURCE_ROW], shown, strict=True)
        ]
    return issues


def future_year_issues(
    frame: pd.DataFrame, *, file: str, column: str, limit: dt.date, source: str
) -> list[Issue]:
    """Rows of a yearly table (panel, population series) dated after the limit's year."""
    bad = frame[frame[YEAR] > limit.year]
    rows = bad[SOURCE_ROW] if SOURCE_ROW in bad else pd.Series(np.arange(len(bad)) + 2, index=bad.index)
    return [
        Issue(
            file,
            int(r),
            column,
            str(int(y)),
            _after(limit, source).replace("a date", "a year"),
            "error",
            "future_date",
        )
        for r, y in zip(rows, bad[YEAR], strict=True)
    ]
