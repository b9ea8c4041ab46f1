"""Descriptive tables: Kaplan–Meier summaries, data frames as tables, population by period, the cleaning
log summary and the sample construction (rows in, rows dropped and why)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reports.table_model import AREA_TITLES, Cell, Table, dig, fmt


def km_table(result: Mapping[str, Any], *, ages: Sequence[float] = (1, 5, 10), caption: str = "") -> Table:
    """Kaplan–Meier survival S(age) by group at selected ages, with 95% CI beneath (step-function read)."""
    from reports.collect import km_frame

    km = km_frame(result)
    table = Table(
        caption=caption, header=[["Group", *[f"S({a:g})" for a in ages]]], sources=[str(result["model"])]
    )
    long = []
    for group, g in km.groupby("group", sort=False):
        g = g.sort_values("time")
        est, ci = [], []
        for a in ages:
            before = g[g["time"] <= a]
            row = before.iloc[-1] if len(before) else None
            s = 1.0 if row is None else float(row["survival"])
            lo = 1.0 if row is None else row["ci_low"]
            hi = 1.0 if row is None else row["ci_high"]
            est.append(Cell(fmt(s, 3)))
            ci.append(Cell(f"{fmt(lo, 3)}, {fmt(hi, 3)}", wrap="[]"))
            for stat, v in (("survival", s), ("ci_low", lo), ("ci_high", hi)):
                long.append({"row": str(group), "age": a, "statistic": stat, "value": v})
        table.rows.append((str(group), est, "coef"))
        table.rows.append(("", ci, "se"))
    table.notes.append("Kaplan\u2013Meier estimates by age; 95% confidence intervals in brackets.")
    table.data = pd.DataFrame(long, columns=["row", "age", "statistic", "value"])
    return table


def frame_table(
    frame: pd.DataFrame, *, caption: str = "", digits: int = 1, notes: Sequence[str] = ()
) -> Table:
    """A descriptive data frame as a table (integers as integers, floats with ``digits`` decimals)."""
    align = "l" + "".join("r" if pd.api.types.is_numeric_dtype(frame[c]) else "l" for c in frame.columns[1:])
    table = Table(caption=caption, header=[[str(c) for c in frame.columns]], align=align, notes=list(notes))
    for row in frame.itertuples(index=False):
        cells = []
        for v in row[1:]:
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                cells.append(Cell(str(int(v))))
            elif isinstance(v, (float, np.floating)):
                cells.append(Cell(fmt(v, digits)))
            else:
                cells.append(Cell("" if v is None or v is pd.NA else str(v)))
        table.rows.append((str(row[0]), cells, "stat"))
    table.data = frame.reset_index(drop=True)
    return table


# --------------------------------------------------------------------------------------------------------
# Descriptive tables


def population_summary(population: pd.DataFrame, *, period: int = 5) -> pd.DataFrame:
    """Population by period: density on 1 January at the start and end, mean density, foundings, exits.

    Periods are consecutive blocks of ``period`` calendar years starting at the first year of the
    window; the last block may be shorter.
    """
    pop = population.sort_values("year").reset_index(drop=True)
    first = int(pop["year"].iloc[0])
    block = (pop["year"] - first) // period
    rows = []
    for _, g in pop.groupby(block, sort=True):
        y0, y1 = int(g["year"].iloc[0]), int(g["year"].iloc[-1])
        row: dict[str, Any] = {
            "Period": f"{y0}\u2013{y1}" if y1 > y0 else str(y0),
            "N (1 Jan, first year)": g["density"].iloc[0],
            "N (1 Jan, last year)": g["density"].iloc[-1],
            "Mean N": float(g["density"].mean()),
        }
        for col, name in (("foundings", "Foundings"), ("exits", "Exits"), ("exits_death", "Deaths")):
            if col in g and g[col].notna().any():
                row[name] = int(g[col].sum())
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("N (1 Jan, first year)", "N (1 Jan, last year)"):
        if out[col].notna().all() and (out[col] % 1 == 0).all():
            out[col] = out[col].astype(int)
    return out


def cleaning_summary(log: pd.DataFrame) -> pd.DataFrame:
    """Cleaning rules with the rows each touched, in the order the rules ran."""
    out = log.rename(
        columns={"rule": "Rule", "table": "Table", "rows": "Rows touched", "description": "What"}
    )
    return out[["Rule", "Table", "Rows touched", "What"]]


def sample_construction(
    organizations: pd.DataFrame | None,
    spells: pd.DataFrame | None,
    org_years: pd.DataFrame | None,
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> pd.DataFrame:
    """From organizations to spells to each model's estimation sample (n and events)."""
    rows: list[dict[str, Any]] = []
    if organizations is not None:
        rows.append({"Step": "Organizations in the register", "n": len(organizations), "Events": None})
        if "left_truncated" in organizations:
            rows.append(
                {
                    "Step": "  of which left-truncated (founded before the window)",
                    "n": int(organizations["left_truncated"].sum()),
                    "Events": None,
                }
            )
        if "founded_precision" in organizations:
            rows.append(
                {
                    "Step": "  of which founding date unknown",
                    "n": int((organizations["founded_precision"] == "unknown").sum()),
                    "Events": None,
                }
            )
        if "end_kind" in organizations:
            rows.append(
                {
                    "Step": "  of which ended by death",
                    "n": int((organizations["end_kind"] == "death").sum()),
                    "Events": None,
                }
            )
    if spells is not None:
        rows.append(
            {
                "Step": "Spells (organization-years at risk)",
                "n": len(spells),
                "Events": int(spells["event"].sum()) if "event" in spells else None,
            }
        )
    if org_years is not None:
        rows.append({"Step": "Organization-years in the panel", "n": len(org_years), "Events": None})
        if "growth" in org_years:
            rows.append(
                {
                    "Step": "  with observed growth (survivors)",
                    "n": int(org_years["growth"].notna().sum()),
                    "Events": None,
                }
            )
    # one row per distinct estimation sample (area, unit, n, events), naming how many models share it
    samples: dict[tuple[str, str, Any, Any], list[str]] = {}
    for area, models in results.items():
        for name, res in models.items():
            n = dig(res, "sample", "n")
            if n is None or not dig(res, "fit", "converged"):
                continue
            key = (area, str(dig(res, "sample", "unit") or "unit"), n, dig(res, "sample", "events"))
            samples.setdefault(key, []).append(name)
    for (area, unit, n, events), names in samples.items():
        which = names[0] if len(names) == 1 else f"{len(names)} models"
        rows.append(
            {
                "Step": f"Estimation sample: {AREA_TITLES.get(area, area).lower()}, unit {unit} ({which})",
                "n": n,
                "Events": events,
            }
        )
    out = pd.DataFrame(rows, columns=["Step", "n", "Events"])
    out["Events"] = out["Events"].astype("Int64")
    out["n"] = out["n"].astype("Int64")
    return out


# --------------------------------------------------------------------------------------------------------
# Renderers


PRECISION_LEVELS = ("day", "month", "year", "unknown")


def date_precision_frame(precision: Mapping[str, Mapping[str, Mapping[str, int]]]) -> pd.DataFrame:
    """Dates by recorded precision, one row per file and date column (the cleaning log's ``date_precision``):
    how many dates are known to the day, only to the month or year (placed by the date precision rule), or
    missing."""
    rows = []
    for path, columns in sorted(precision.items()):
        for col, counts in sorted(columns.items()):
            row = {"File: column": f"{Path(path).name}: {col}"}
            row |= {lvl.capitalize(): int(counts.get(lvl, 0)) for lvl in PRECISION_LEVELS}
            row["Total"] = sum(row[lvl.capitalize()] for lvl in PRECISION_LEVELS)
            rows.append(row)
    return pd.DataFrame(
        rows, columns=["File: column", *(lvl.capitalize() for lvl in PRECISION_LEVELS), "Total"]
    )


def usable_rows_frame(usable: Mapping[str, Mapping[str, Mapping[str, int]]]) -> pd.DataFrame:
    """Rows with a usable value per covariate (the cleaning log's ``usable``), so a covariate that lost most of
    its rows (e.g. shares recorded in percent and set missing) is visible before any model uses it."""
    rows = []
    for table, columns in sorted(usable.items()):
        for col, c in sorted(columns.items()):
            n, ok = int(c.get("rows", 0)), int(c.get("usable", 0))
            rows.append(
                {
                    "Table: covariate": f"{table}: {col}",
                    "Rows": n,
                    "Usable": ok,
                    "Share usable": ok / n if n else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=["Table: covariate", "Rows", "Usable", "Share usable"])
