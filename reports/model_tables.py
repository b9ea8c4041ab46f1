"""Small quantity tables of the report: carrying capacity, structural breaks, Kaplan–Meier summaries,
size–variance scaling and the data-quality flags of a population series.

Each builder takes result dictionaries (the JSON contract) and returns a format-neutral
:class:`reports.table_model.Table` whose long ``data`` frame keeps every number at full precision for CSV.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from reports.regression import assessment_notes
from reports.selection import series_label
from reports.table_model import Cell, Table, fmt

Result = Mapping[str, Any]


def qfmt(value: Any, digits: int) -> str:
    """:func:`reports.table_model.fmt`, with thousands separators and no decimals from 10,000 up (national
    counts of organizations run into the hundreds of thousands)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return fmt(value, digits)
    if abs(x) >= 10_000 and x == x and abs(x) != float("inf"):
        return f"{x:,.0f}"
    return fmt(value, digits)


def _ci(lo: Any, hi: Any, digits: int) -> Cell:
    if lo is None or hi is None:
        return Cell()
    return Cell(f"{qfmt(lo, digits)}, {qfmt(hi, digits)}", wrap="[]")


def _digits(value: Any) -> int:
    """Decimals that suit a quantity's magnitude (counts of organizations vs. rates)."""
    try:
        x = abs(float(value))
    except (TypeError, ValueError):
        return 3
    return 1 if x >= 100 else 3


def capacity_table(
    logistic: Result | None, equilibrium: Result | None, *, caption: str = "Carrying capacity"
) -> Table:
    """Logistic carrying capacity (K, r, t0 and the year 90% of K is reached, with SE and 95% CI) and
    the equilibrium density where expected foundings equal expected exits (with its CI and all roots)."""
    table = Table(
        caption=caption,
        header=[["Quantity", "Estimate", "SE", "95% CI"]],
        align="lrrr",
        sources=[str(r["model"]) for r in (logistic, equilibrium) if r is not None],
    )
    long: list[dict[str, Any]] = []

    def add(label: str, est: Any, se: Any = None, lo: Any = None, hi: Any = None, digits: int | None = None):
        d = _digits(est) if digits is None else digits
        table.rows.append((label, [Cell(qfmt(est, d)), Cell(qfmt(se, d)), _ci(lo, hi, d)], "stat"))
        for stat, v in (("estimate", est), ("se", se), ("ci_low", lo), ("ci_high", hi)):
            long.append({"row": label, "statistic": stat, "value": v})

    if logistic is not None:
        if (logistic.get("fit") or {}).get("converged", True) and logistic.get("terms"):
            labels = {"K": "Carrying capacity K", "r": "Growth rate r", "t0": "Inflection year t0"}
            for t in logistic["terms"]:
                digits = 4 if t["term"] == "r" else (1 if t["term"] == "t0" else None)
                add(
                    labels.get(t["term"], t["term"]),
                    t.get("coef"),
                    t.get("se"),
                    t.get("ci_low"),
                    t.get("ci_high"),
                    digits,
                )
            prof = (logistic.get("derived") or {}).get("K_profile")
            if isinstance(prof, Mapping):
                lo = (
                    "\u2212\u221e"
                    if prof.get("ci_low") is None
                    else qfmt(prof["ci_low"], _digits(prof["ci_low"]))
                )
                hi = (
                    "\u221e"
                    if prof.get("ci_high") is None
                    else qfmt(prof["ci_high"], _digits(prof["ci_high"]))
                )
                table.rows.append(
                    ("  K: 95% CI (profile t)", [Cell(), Cell(), Cell(f"{lo}, {hi}", wrap="[]")], "stat")
                )
                for stat in ("ci_low", "ci_high"):
                    long.append({"row": "K profile", "statistic": stat, "value": prof.get(stat)})
                if prof.get("ci_high") is None:
                    table.notes.append(
                        "The profile interval of K is unbounded above: the series has not bent enough to "
                        "identify a carrying capacity."
                    )
            t90 = (logistic.get("derived") or {}).get("t90")
            if isinstance(t90, Mapping):
                add(
                    "Year 90% of K is reached",
                    t90.get("estimate"),
                    t90.get("se"),
                    t90.get("ci_low"),
                    t90.get("ci_high"),
                    1,
                )
            derived = logistic.get("derived") or {}
            for key, label in (
                ("max_observed", "Largest observed density"),
                ("K_over_max_observed", "K / largest observed density"),
                ("last_observed_share_of_K", "Last observed density / K"),
            ):
                if isinstance(derived.get(key), (int, float)) and not isinstance(derived.get(key), bool):
                    add(label, derived[key], digits=1 if key == "max_observed" else 3)
            table.notes.append(
                f"Logistic curve N_t = K / (1 + exp(\u2212r (t \u2212 t0))) fitted to density "
                f"({logistic.get('sample', {}).get('n', '?')} years); SE: "
                f"{(logistic.get('fit') or {}).get('se_type', 'not recorded')}."
            )
        else:
            reason = (logistic.get("fit") or {}).get("reason") or (logistic.get("derived") or {}).get(
                "reason"
            )
            table.rows.append(("Logistic curve", [Cell("not estimated"), Cell(), Cell()], "text"))
            table.notes.append(f"Logistic curve not estimated: {reason or 'no reason recorded'}.")
    if equilibrium is not None:
        table.rows.append(("", [], "rule"))
        eq = (equilibrium.get("derived") or {}).get("equilibrium")
        if (equilibrium.get("fit") or {}).get("converged", True) and isinstance(eq, Mapping):
            add(
                "Equilibrium density (foundings = exits)",
                eq.get("estimate"),
                eq.get("se"),
                eq.get("ci_low"),
                eq.get("ci_high"),
                1,
            )
            roots = (equilibrium.get("derived") or {}).get("roots") or []
            text = "; ".join(
                f"{fmt(r.get('density'), 1)} ({'stable' if r.get('stable') else 'unstable'})" for r in roots
            )
            table.rows.append(
                ("  Roots in the search interval", [Cell(text or "none"), Cell(), Cell()], "text")
            )
            for r in roots:
                long.append(
                    {
                        "row": "root",
                        "statistic": "stable" if r.get("stable") else "unstable",
                        "value": r.get("density"),
                    }
                )
            spec = equilibrium.get("specification") or {}
            if eq.get("inside_range") is not None:
                table.rows.append(
                    (
                        "  Inside observed density range",
                        [Cell("yes" if eq["inside_range"] else "no"), Cell(), Cell()],
                        "text",
                    )
                )
            table.notes.append(
                f"Equilibrium from founding model {spec.get('founding_model', '?')} and exit model "
                f"{spec.get('mortality_model', '?')}; CI: {eq.get('method', 'not recorded')}."
            )
        else:
            reason = (equilibrium.get("fit") or {}).get("reason") or "no stable root"
            table.rows.append(("Equilibrium density", [Cell("not estimated"), Cell(), Cell()], "text"))
            table.notes.append(f"Equilibrium density not estimated: {reason}.")
    table.notes += assessment_notes([r for r in (logistic, equilibrium) if r is not None], numbered=False)
    table.data = pd.DataFrame(long, columns=["row", "statistic", "value"])
    return table


def breaks_table(results: Sequence[Result], *, caption: str = "Structural breaks (sup-F test)") -> Table:
    """One row per tested series: break year (first year of the new regime), sup-F, simulated p-value,
    5% critical value and the candidate years."""
    table = Table(
        caption=caption,
        header=[["Series", "Break year", "sup-F", "p-value", "5% critical value", "Candidate years"]],
        align="lrrrrr",
        sources=[str(r["model"]) for r in results],
    )
    long = []
    for res in results:
        d = res.get("derived") or {}
        label = series_label(res)
        if not (res.get("fit") or {}).get("converged", True):
            table.rows.append((label, [Cell("not estimated"), Cell(), Cell(), Cell(), Cell()], "text"))
            table.notes.append(f"{label}: {(res.get('fit') or {}).get('reason') or 'no reason recorded'}.")
            continue
        crit = (d.get("critical_values") or {}).get("0.05", d.get("critical_value_5pct"))
        cand = d.get("candidate_years") or []
        brk = d.get("break_year")
        table.rows.append(
            (
                label,
                [
                    Cell("" if brk is None else str(int(brk))),
                    Cell(fmt(d.get("sup_f"), 2)),
                    Cell(fmt(d.get("p", d.get("p_value")), 4)),
                    Cell(fmt(crit, 2)),
                    Cell(f"{cand[0]}\u2013{cand[-1]}" if len(cand) >= 2 else ""),
                ],
                "stat",
            )
        )
        for stat, v in (
            ("break_year", brk),
            ("sup_f", d.get("sup_f")),
            ("p", d.get("p", d.get("p_value"))),
            ("critical_value_5pct", crit),
        ):
            long.append({"row": res["model"], "statistic": stat, "value": v})
    conv = next((r["derived"].get("break_year_convention") for r in results if r.get("derived")), None)
    method = next((r["specification"].get("p_value_method") for r in results if r.get("specification")), None)
    if conv:
        table.notes.append(f"Break year: {conv}.")
    if method:
        table.notes.append(f"p-values: {method}.")
    table.notes += assessment_notes(results, numbered=False)
    table.data = pd.DataFrame(long, columns=["row", "statistic", "value"])
    return table


def _step_at(frame: pd.DataFrame, age: float, col: str) -> float:
    before = frame[frame["time"] <= age]
    return 1.0 if before.empty else float(before[col].iloc[-1])


def km_summary_table(
    results: Sequence[Result], *, ages: Sequence[float] = (5, 10), caption: str = "Kaplan\u2013Meier survival"
) -> Table:
    """Kaplan–Meier survival by group for every grouping in one table: organizations, deaths, median
    lifetime with its CI, and S(age) at selected ages; the log-rank test of each grouping in the notes."""
    from reports.collect import km_frame

    header = ["Group", "Organizations", "Deaths", "Median age", *[f"S({a:g})" for a in ages]]
    table = Table(
        caption=caption,
        header=[header],
        align="l" + "r" * (len(header) - 1),
        sources=[str(r["model"]) for r in results],
    )
    long = []
    for res in results:
        km = km_frame(res)
        if km is None:
            continue
        var = str((res.get("specification") or {}).get("group") or "")
        summary = {str(s.get("group")): s for s in (res.get("derived") or {}).get("summary") or []}
        if len(table.rows):
            table.rows.append(("", [], "rule"))
        for group, g in km.groupby("group", sort=False):
            g = g.sort_values("time")
            s = summary.get(str(group), {})
            median = s.get("median")
            med_text = fmt(median, 1) if median is not None else "not reached"
            if median is not None and s.get("median_ci_low") is not None:
                hi = s.get("median_ci_high")
                upper = fmt(hi, 1) if hi is not None else "\u2013"
                med_text += f" [{fmt(s['median_ci_low'], 1)}, {upper}]"
            label = f"{var}: {group}" if var and str(group) != "all" else "All organizations"
            cells = [
                Cell(str(s["n_orgs"]) if s.get("n_orgs") is not None else ""),
                Cell(str(s["events"]) if s.get("events") is not None else ""),
                Cell(med_text),
            ]
            for a in ages:
                cells.append(Cell(fmt(_step_at(g, a, "survival"), 3)))
                long.append({"row": label, "statistic": f"S({a:g})", "value": _step_at(g, a, "survival")})
            for k in ("n_orgs", "events", "median", "median_ci_low", "median_ci_high"):
                long.append({"row": label, "statistic": k, "value": s.get(k)})
            table.rows.append((label, cells, "stat"))
        for test in res.get("tests") or []:
            table.notes.append(
                f"{test['name']}: \u03c7\u00b2 = {fmt(test.get('statistic'), 2)}, df = {fmt(test.get('df'), 0)}, "
                f"p = {fmt(test.get('p'), 3)}."
            )
    table.notes.insert(0, "Ages in years since founding; median lifetime with its 95% CI in brackets.")
    table.data = pd.DataFrame(long, columns=["row", "statistic", "value"])
    return table


def size_variance_table(
    results: Sequence[Result], *, caption: str = "Size\u2013variance scaling of growth"
) -> Table:
    """The slope of log sd(growth) on log size (0: volatility independent of size; −0.5: independent
    sub-units) with SE, 95% CI and the number of units."""
    table = Table(
        caption=caption,
        header=[["Model", "Slope", "SE", "95% CI", "Units"]],
        align="lrrrr",
        sources=[str(r["model"]) for r in results],
    )
    long = []
    for res in results:
        s = (res.get("derived") or {}).get("scaling_slope")
        if not isinstance(s, Mapping):
            continue
        n = (res.get("sample") or {}).get("n")
        table.rows.append(
            (
                res["model"],
                [
                    Cell(fmt(s.get("estimate"), 3)),
                    Cell(fmt(s.get("se"), 3)),
                    _ci(s.get("ci_low"), s.get("ci_high"), 3),
                    Cell("" if n is None else str(n)),
                ],
                "stat",
            )
        )
        for stat in ("estimate", "se", "ci_low", "ci_high"):
            long.append({"row": res["model"], "statistic": stat, "value": s.get(stat)})
        method = (res.get("specification") or {}).get("method")
        table.notes.append(
            f"{res['model']}: log sd(growth) on log size across {method or 'units'}s; SE "
            f"{(res.get('fit') or {}).get('se_type', 'not recorded')}."
        )
    table.notes.append("Slope 0: volatility independent of size; \u22120.5: independent sub-units.")
    table.notes += assessment_notes(results, numbered=False)
    table.data = pd.DataFrame(long, columns=["row", "statistic", "value"])
    return table


#: Status words marking a secondary or derived count; the same markers as the logistic fit's default
#: (``analysis.logistic``), so the table marks exactly the rows its note counts.
SECONDARY = ("secondary", "derived")


def is_secondary(status: Any) -> bool:
    text = str(status or "").lower()
    return any(word in text for word in SECONDARY)


def data_quality_table(logistic: Result, *, caption: str = "Rows used in the logistic fit") -> Table | None:
    """Year, count, precision and status of every population-series row used in the logistic fit, the
    secondary or derived rows marked; ``None`` when the result records no such flags."""
    curve = (logistic.get("curves") or {}).get("logistic")
    if not isinstance(curve, Mapping) or not {"precision", "status"} <= set(curve):
        return None
    frame = pd.DataFrame(curve)
    if "used" in frame:
        frame = frame[frame["used"].astype(bool)]
    table = Table(
        caption=caption,
        header=[["Year", "Density", "Precision", "Status", "Secondary/derived"]],
        align="lrllc",
        sources=[str(logistic["model"])],
    )
    long = []
    for row in frame.itertuples(index=False):
        sec = is_secondary(row.status)
        table.rows.append(
            (
                str(int(row.year)),
                [
                    Cell(qfmt(row.observed, 0)),
                    Cell(str(row.precision or "not recorded").replace("_", " ")),
                    Cell(str(row.status or "not recorded").replace("_", " ")),
                    Cell("\u2020" if sec else ""),
                ],
                "stat",
            )
        )
        long.append(
            {
                "year": int(row.year),
                "density": row.observed,
                "precision": row.precision,
                "status": row.status,
                "secondary": sec,
            }
        )
    table.notes.append(
        '\u2020 secondary or derived count (status contains "secondary" or "derived"); estimates that rest '
        "on them should be read with that in mind."
    )
    table.notes += [str(n) for n in logistic.get("notes") or []]
    table.data = pd.DataFrame(long, columns=["year", "density", "precision", "status", "secondary"])
    return table
