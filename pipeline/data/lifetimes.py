"""Order of founding and end at the precision each date was recorded.

A register records a founding and an end at a day, month or year; the pipeline places them in calendar
time (:mod:`pipeline.data.dates`). Whether an organization "ended before it was founded" depends on what
was recorded, not on where coarse dates were placed:

* **certain** — the end's period closes on or before the founding's period opens (founded 2006-09-04,
  ended 2006-06-05; founded 2006, ended 2005-12): the record is impossible.
* **ambiguous** — the two periods overlap and the placed end is on or before the placed founding only
  because a date is coarse (founded 2006-09-04, ended ``2006``; founded ``2006``, ended 2006-03-15). The
  record is possible. Stated rule: the *coarser* date is moved inside its own period to the midpoint of
  the part compatible with the other date — an end to midway between the founding and the close of the
  end's period, a founding to midway between the opening of its period and the end (equal precision:
  the end moves; an end on the very instant the founding's period opens puts the founding there and the
  end :data:`MIN_LIFETIME` later). A moved founding or end stays inside the period that was recorded, and the lifetime
  is at least :data:`MIN_LIFETIME`.

Precisions other than day and month (``year``, ``imputed``) are taken as the calendar year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.data.dates import days_in_year, period_bounds

#: Shortest lifetime kept when the rule would place the end on the founding instant (half a day).
MIN_LIFETIME = 0.5 / 365.25

_RANK = {"day": 0, "month": 1, "year": 2, "imputed": 2}
_CUM = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365])


def placed_parts(value: pd.Series, precision: pd.Series, year: pd.Series | None = None) -> pd.DataFrame:
    """Year, month, day and precision of dates already placed as decimal years (the inverse of
    :func:`pipeline.data.dates.place_dates` for every rule: a placed month- or year-precision date lies
    inside its period). ``precision`` ``imputed`` counts as ``year``; NaN values are ``unknown``."""
    v = value.to_numpy(dtype=float)
    known = np.isfinite(v)
    y = np.floor(np.where(known, v, 2001.0)).astype(np.int64)
    if year is not None:
        yr = pd.to_numeric(year, errors="coerce").to_numpy(dtype=float)
        y = np.where(np.isfinite(yr), yr, y).astype(np.int64)
    diy = days_in_year(y)
    day_index = np.clip(np.floor((np.where(known, v, 2001.0) - y) * diy + 1e-6).astype(np.int64), 0, diy - 1)
    leap = (diy == 366).astype(np.int64)
    cum = _CUM[None, :] + np.where(np.arange(13)[None, :] >= 2, leap[:, None], 0)
    month = (day_index[:, None] >= cum[:, :12]).sum(axis=1)
    day = day_index - cum[np.arange(len(v)), month - 1] + 1
    prec = precision.astype(object).to_numpy()
    label = np.where(
        ~known, "unknown", np.where(prec == "day", "day", np.where(prec == "month", "month", "year"))
    )
    out = pd.DataFrame(index=value.index)
    out["year"] = pd.array(np.where(known, y, 0), dtype="Int64")
    out.loc[~known, "year"] = pd.NA
    out["month"] = pd.array(month, dtype="Int64")
    out["day"] = pd.array(day, dtype="Int64")
    out["precision"] = label
    return out


def recorded(value: pd.Series, precision: pd.Series, year: pd.Series | None = None) -> pd.Series:
    """Placed dates written back at their recorded precision (``2006-06-05``, ``2006-03``, ``2006``;
    ``unknown`` for NaN), for messages and logs."""
    parts = placed_parts(value, precision, year)
    out = []
    for y, m, d, p in parts[["year", "month", "day", "precision"]].itertuples(index=False):
        if p == "unknown":
            out.append("unknown")
        elif p == "day":
            out.append(f"{y:04d}-{m:02d}-{d:02d}")
        elif p == "month":
            out.append(f"{y:04d}-{m:02d}")
        else:
            out.append(f"{y:04d}")
    return pd.Series(out, index=value.index, dtype=object)


def lifetime_order(orgs: pd.DataFrame) -> pd.Series:
    """``"certain"`` / ``"ambiguous"`` / ``"ok"`` per organization (see the module docstring); ``"ok"``
    also when either date is unknown."""
    f = orgs["founded"].astype(float)
    e = orgs["ended"].astype(float)
    f_low, _ = period_bounds(placed_parts(f, orgs["founded_precision"], orgs.get("founded_year")))
    _, e_high = period_bounds(placed_parts(e, orgs["ended_precision"], orgs.get("ended_year")))
    both = f.notna().to_numpy() & e.notna().to_numpy()
    certain = both & (e_high <= f_low)
    ambiguous = both & ~certain & (e.to_numpy() <= f.to_numpy())
    return pd.Series(np.select([certain, ambiguous], ["certain", "ambiguous"], "ok"), index=orgs.index)


def resolve_same_period(orgs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the stated rule to every ambiguous organization (certain ones are left to the caller).

    Returns the frame and the changes, one row per moved date: ``index`` (label in ``orgs``), ``column``
    (``founded`` or ``ended``), ``old``, ``new``.
    """
    out = orgs.copy()
    amb = (lifetime_order(orgs) == "ambiguous").to_numpy()
    changes = pd.DataFrame(columns=["index", "column", "old", "new"])
    if not amb.any():
        return out, changes
    sub = orgs[amb]
    f, e = sub["founded"].astype(float), sub["ended"].astype(float)
    f_low, _ = period_bounds(placed_parts(f, sub["founded_precision"], sub.get("founded_year")))
    _, e_high = period_bounds(placed_parts(e, sub["ended_precision"], sub.get("ended_year")))
    f_rank = sub["founded_precision"].astype(object).map(_RANK).fillna(2).to_numpy()
    e_rank = sub["ended_precision"].astype(object).map(_RANK).fillna(2).to_numpy()
    move_founding = f_rank > e_rank
    new_f = (f_low + e.to_numpy()) / 2.0
    # an end on the opening instant of the founding's period: founding there, end MIN_LIFETIME later
    at_opening = move_founding & (new_f >= e.to_numpy())
    new_f = np.where(at_opening, f_low, new_f)
    new_e = np.where(
        at_opening,
        f_low + MIN_LIFETIME,
        np.maximum((f.to_numpy() + e_high) / 2.0, f.to_numpy() + MIN_LIFETIME),
    )
    recs = []
    for k, label in enumerate(sub.index):
        if move_founding[k]:
            out.loc[label, "founded"] = new_f[k]
            recs.append((label, "founded", f.iloc[k], new_f[k]))
        if not move_founding[k] or at_opening[k]:
            out.loc[label, "ended"] = new_e[k]
            recs.append((label, "ended", e.iloc[k], new_e[k]))
    changes = pd.DataFrame(recs, columns=["index", "column", "old", "new"])
    return out, changes
