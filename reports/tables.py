"""Publication tables rendered only from result files and derived data: LaTeX, HTML, Markdown, CSV.

Layout of a regression table (the field's convention): models side by side in numbered columns; for each
term the coefficient with significance stars and, beneath it, its standard error in parentheses; then
rows for N, events, exposure, log-likelihood, AIC, the likelihood-ratio test against the previous
column, the NB2 dispersion α with the boundary LR test of α = 0, the density at peak founding N* with its
95% CI and whether it lies inside the observed density range; notes give the significance legend and the
standard-error type of every column. Failed models keep their column ("not estimated") and their reason
goes into the notes, so a table never silently drops a specification.

Why the layout is hand-written: ``great_tables`` 1.1.0 (evaluated) renders LaTeX only as a
``table`` float with ``tabular*`` and font-size commands (not an ``\\input``-ready bare ``tabular``), and
like ``maketables`` 0.2.0 it formats from fitted Python model objects or pre-formatted strings; our
inputs are JSON result files, so the stacking of coefficient/SE rows, the stars and the statistics rows
would have to be built here anyway. Without a library the four formats share one intermediate
:class:`Table` (cells plus a long full-precision frame for CSV), which also makes the output byte-stable:
the same results give the same bytes.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.assess import is_weak
from pipeline.core.io import write_csv, write_text
from reports.labels import scale_suffix, term_label

#: Significance thresholds, strictest last; the legend states them.
STAR_LEVELS: tuple[tuple[float, str], ...] = ((0.05, "*"), (0.01, "**"), (0.001, "***"))
STAR_LEGEND = "* p < 0.05, ** p < 0.01, *** p < 0.001 (two-sided)"
FORMATS: tuple[str, ...] = ("tex", "html", "md", "csv")
_CONSTANT_TERMS = ("const", "Intercept", "intercept")


def stars(p: float | None) -> str:
    """Significance stars for a two-sided p-value (empty when p is missing)."""
    out = ""
    if p is None or not math.isfinite(p):
        return out
    for level, mark in STAR_LEVELS:
        if p < level:
            out = mark
    return out


def fmt(value: Any, digits: int = 3) -> str:
    """A number rounded to ``digits`` decimals ("" for missing); never prints "-0.000"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    x = float(value)
    if not math.isfinite(x):
        return ""
    text = f"{x:.{digits}f}"
    if float(text) == 0.0:
        text = text.lstrip("-")
    return text


@dataclass(frozen=True)
class Cell:
    """One table cell: a formatted number (or words), stars, and an optional wrapper "()" or "[]"."""

    text: str = ""
    stars: str = ""
    wrap: str = ""

    def plain(self) -> str:
        body = f"{self.wrap[0]}{self.text}{self.wrap[1]}" if self.wrap and self.text else self.text
        return body + self.stars


@dataclass
class Table:
    """Format-neutral table: header rows, body rows (label + cells + kind), notes, and the long data.

    ``kind`` of a row is ``coef``, ``se``, ``stat`` or ``text``; a ``rule`` row draws a midrule.
    ``data`` holds the same numbers at full precision (one row per model × row × statistic) for CSV.
    """

    caption: str
    header: list[list[str]]
    rows: list[tuple[str, list[Cell], str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: pd.DataFrame = field(default_factory=pd.DataFrame)
    align: str = "c"

    def colspec(self) -> str:
        """One alignment letter per column: ``align`` is either one letter for all value columns (the
        label column is left-aligned) or a full per-column string such as ``"lrrl"``."""
        if len(self.align) == self.ncols and self.ncols > 1:
            return self.align
        return "l" + self.align[:1] * (self.ncols - 1)

    @property
    def ncols(self) -> int:
        return len(self.header[0]) if self.header else 0


# --------------------------------------------------------------------------------------------------------
# Building tables from result dictionaries


def _get(d: Mapping[str, Any] | None, *keys: str) -> Any:
    for k in keys:
        if d is None or not isinstance(d, Mapping):
            return None
        d = d.get(k)
    return d


def _scalar(obj: Any) -> float | None:
    """A number from a derived entry that is either a number or a dict with ``estimate``/``value``."""
    if isinstance(obj, Mapping):
        obj = obj.get("estimate", obj.get("value"))
    if isinstance(obj, bool) or obj is None:
        return None
    try:
        return float(obj)
    except (TypeError, ValueError):
        return None


#: Dispersion parameters shown in the α block, not among the coefficients.
_DISPERSION_TERMS = ("alpha", "ln_alpha", "lnalpha")


def _hidden_terms(res: Mapping[str, Any]) -> set[str]:
    """Terms not shown as coefficient rows: NB dispersion (own block) and fixed effects marked
    ``display: False`` in ``specification.fixed_effects`` (a "Fixed effects" row says they are in)."""
    hidden = {t["term"] for t in res.get("terms", []) if t["term"] in _DISPERSION_TERMS}
    fe = _get(res, "specification", "fixed_effects")
    if isinstance(fe, Mapping) and not fe.get("display", True):
        hidden |= set(fe.get("terms", []))
        hidden |= {t["term"] for t in res.get("terms", []) if t["term"].startswith("fe[")}
    return hidden


def _fixed_effects(res: Mapping[str, Any]) -> str:
    """ "yes" when the model has subpopulation fixed effects (collapsed to one row), else ""."""
    fe = _get(res, "specification", "fixed_effects")
    if isinstance(fe, Mapping) or (isinstance(fe, (list, tuple)) and fe):
        return "yes"
    return ""


#: Fixed-effect rows of panel growth models by ``specification.effects``: (organization FE, year FE).
_PANEL_EFFECTS = {"none": ("no", "no"), "org": ("yes", "no"), "year": ("no", "yes"), "twoway": ("yes", "yes")}


def _ordered_terms(results: Sequence[Mapping[str, Any]]) -> list[str]:
    terms: list[str] = []
    for res in results:
        hidden = _hidden_terms(res)
        for t in res.get("terms", []):
            if t["term"] not in terms and t["term"] not in hidden:
                terms.append(t["term"])
    consts = [t for t in terms if t in _CONSTANT_TERMS]
    return [t for t in terms if t not in _CONSTANT_TERMS] + consts


def _lr_vs_previous(res: Mapping[str, Any], prev: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The recorded LR test of ``res`` against the previous column's model (``"LR vs <model>"``)."""
    if prev is None:
        return None
    for test in res.get("tests", []):
        name = test.get("name", "").strip()
        if not name.startswith("LR vs "):
            continue
        # models of one stage may record the restricted model without the stage prefix
        # ("LR vs nb_density" in exit_rate_nb_density2)
        restricted = name[len("LR vs ") :]
        if restricted == prev["model"] or prev["model"].endswith("_" + restricted):
            return test
    return None


def _alpha(res: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    alpha = _get(res, "derived", "alpha")
    if alpha is None:
        return None, None
    if not isinstance(alpha, Mapping):
        alpha = {"estimate": alpha}
    boundary = alpha.get("boundary_test")
    if boundary is None:
        for test in res.get("tests", []):
            name = test.get("name", "").lower()
            if "alpha" in name or "\u03b1" in name or "chibar" in str(test.get("distribution", "")):
                boundary = test
                break
    return alpha, boundary


def _density_minimum(res: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The density at which the hazard is extreme, ``derived.density_minimum`` (always in organizations:
    every family reports it through ``analysis.inference.turning_point``)."""
    d = _get(res, "derived", "density_minimum")
    return d if isinstance(d, Mapping) and d.get("estimate") is not None else None


def _density_scale(results: Sequence[Mapping[str, Any]]) -> float | None:
    scales = {s for r in results if isinstance(s := _get(r, "specification", "density_scale"), (int, float))}
    return scales.pop() if len(scales) == 1 else None


_FAMILY_RANK = {"poisson": 0, "negative_binomial": 1}


def nesting_order(result: Mapping[str, Any]) -> tuple[Any, ...]:
    """Sort key putting nested specifications in reading order.

    An explicit ``specification.order`` wins; otherwise Poisson before negative binomial, fewer terms
    before more, and failed models last (their column still shows, with the reason in the notes).
    """
    spec = result.get("specification", {})
    failed = not _get(result, "fit", "converged")
    n_terms = len(spec.get("terms") or result.get("terms") or [])
    return (spec.get("order", 0), failed, _FAMILY_RANK.get(result["family"], 2), n_terms, result["model"])


def turning_point_label(nstars: Sequence[Any], default: str = "Density at peak founding N*") -> str:
    """Name the turning point \u2212b1/(2 b2) by its shape: a U-shaped founding curve has a minimum, not a peak."""
    shapes = {str(n.get("shape", "")) for n in nstars if isinstance(n, Mapping) and n.get("shape")}
    if not shapes or "founding" not in default:
        return default
    if shapes == {"U"}:
        return "Density at minimum founding N*"
    if shapes == {"inverted U"}:
        return "Density at peak founding N*"
    return "Density at turning point N* (peak if inverted U, minimum if U)"


def assessment_notes(results: Sequence[Mapping[str, Any]], *, numbered: bool = True) -> list[str]:
    """One note per weak or flagged model: why it is not read as a finding (weak columns carry no stars).

    ``numbered`` prefixes the column number "(i)" (regression tables); quantity tables name the model only."""
    notes = []
    for i, r in enumerate(results):
        a = r.get("assessment") or {}
        tag = f"({i + 1}) {r['model']}" if numbered else str(r["model"])
        if a.get("reasons"):
            notes.append(
                f"{tag}: weak estimate, no significance stars \u2014 " + "; ".join(a["reasons"]) + "."
            )
        if a.get("flags"):
            notes.append(f"{tag}: " + "; ".join(a["flags"]) + ".")
    return notes


def regression_table(
    results: Sequence[Mapping[str, Any]],
    *,
    caption: str = "",
    labels: Mapping[str, str] | None = None,
    digits: int = 3,
    stat_digits: int = 2,
    column_names: Sequence[str] | None = None,
    n_star_label: str = "Density at peak founding N*",
) -> Table:
    """Nested models side by side in the field's layout.

    Parameters
    ----------
    results
        Result dictionaries (the JSON contract), in column order; nested specifications should follow
        each other so that "LR vs previous" reads naturally. Failed models keep their column.
    caption
        Caption text (used by HTML/Markdown and the PDF; the LaTeX file carries it as a comment so that
        the including document owns the float).
    labels
        Extra or overriding term labels; density terms are labelled with the recorded density scale.
    digits, stat_digits
        Decimals for coefficients/SEs and for fit statistics.
    column_names
        Optional names under the column numbers (default: model names).
    n_star_label
        Label of the turning point −b1/(2 b2) row: the founding peak N* for founding models; for
        exit-rate models it is the density at which the exit rate is extreme.

    Returns
    -------
    Table
        Format-neutral table; render with :func:`to_latex`, :func:`to_html`, :func:`to_markdown`,
        :func:`to_csv_frame`.
    """
    results = list(results)
    k = len(results)
    scale = _density_scale(results)
    names = list(column_names) if column_names else [r["model"] for r in results]
    header = [[""] + [f"({i + 1})" for i in range(k)], [""] + names]
    table = Table(caption=caption, header=header)
    long: list[dict[str, Any]] = []
    empty = [Cell() for _ in range(k)]
    weak = {i for i, r in enumerate(results) if is_weak(r)}

    def record(row: str, i: int, stat: str, value: Any, term: str = "") -> None:
        long.append(
            {
                "row": row,
                "term": term,
                "column": i + 1,
                "model": results[i]["model"],
                "statistic": stat,
                "value": value,
            }
        )

    for term in _ordered_terms(results):
        label = term_label(
            term, _get(results[0], "specification", "density_scale") if scale is None else scale, labels
        )
        coef_cells, se_cells = list(empty), list(empty)
        for i, res in enumerate(results):
            for t in res.get("terms", []):
                if t["term"] == term:
                    coef_cells[i] = Cell(fmt(t["coef"], digits), "" if i in weak else stars(t.get("p")))
                    se_cells[i] = Cell(fmt(t["se"], digits), wrap="()")
                    for stat in ("coef", "se", "z", "p", "ci_low", "ci_high"):
                        record(label, i, stat, t.get(stat), term)
        table.rows.append((label, coef_cells, "coef"))
        table.rows.append(("", se_cells, "se"))

    # NB2 dispersion and its boundary test
    alphas = [_alpha(r) for r in results]
    if any(a is not None for a, _ in alphas):
        table.rows.append(("", [], "rule"))
        a_cells, a_se, b_cells, b_p = (list(empty) for _ in range(4))
        for i, (alpha, boundary) in enumerate(alphas):
            if alpha is None:
                continue
            a_cells[i] = Cell(fmt(alpha.get("estimate"), digits))
            a_se[i] = Cell(fmt(alpha.get("se"), digits), wrap="()")
            record("alpha", i, "estimate", alpha.get("estimate"))
            record("alpha", i, "se", alpha.get("se"))
            if boundary is not None:
                b_cells[i] = Cell(fmt(boundary.get("statistic"), stat_digits), stars(boundary.get("p")))
                b_p[i] = Cell(fmt(boundary.get("p"), 3))
                record("alpha boundary LR", i, "statistic", boundary.get("statistic"))
                record("alpha boundary LR", i, "p", boundary.get("p"))
        table.rows += [("\u03b1 (NB2 dispersion)", a_cells, "coef"), ("", a_se, "se")]
        if any(c.text for c in b_cells):
            table.rows += [
                ("LR test \u03b1 = 0 (\u03c7\u0304\u00b2, boundary)", b_cells, "stat"),
                ("  p-value", b_p, "stat"),
            ]

    # N* with CI
    nstars = [_get(r, "derived", "n_star") for r in results]
    if any(n is not None for n in nstars):
        table.rows.append(("", [], "rule"))
        est, ci, inside = list(empty), list(empty), list(empty)
        for i, n in enumerate(nstars):
            if not isinstance(n, Mapping):
                continue
            est[i] = Cell(fmt(n.get("estimate"), 1))
            if n.get("ci_low") is not None and n.get("ci_high") is not None:
                ci[i] = Cell(f"{fmt(n['ci_low'], 1)}, {fmt(n['ci_high'], 1)}", wrap="[]")
            if n.get("inside_range") is not None:
                inside[i] = Cell("yes" if n["inside_range"] else "no")
            for stat in ("estimate", "se", "ci_low", "ci_high", "inside_range"):
                record("N*", i, stat, n.get(stat))
        table.rows += [
            (turning_point_label(nstars, n_star_label), est, "stat"),
            ("  95% CI (delta method)", ci, "stat"),
            ("  inside observed range", inside, "stat"),
        ]

    # density at which mortality is lowest (survival models)
    minima = [_density_minimum(r) for r in results]
    if any(m is not None for m in minima):
        table.rows.append(("", [], "rule"))
        est, ci, inside = list(empty), list(empty), list(empty)
        for i, m in enumerate(minima):
            if m is None:
                continue
            est[i] = Cell(fmt(m.get("estimate"), 1))
            if m.get("ci_low") is not None and m.get("ci_high") is not None:
                ci[i] = Cell(f"{fmt(m['ci_low'], 1)}, {fmt(m['ci_high'], 1)}", wrap="[]")
            if m.get("inside_range") is not None:
                inside[i] = Cell("yes" if m["inside_range"] else "no")
            for stat in ("estimate", "ci_low", "ci_high", "inside_range"):
                record("density at minimum hazard", i, stat, m.get(stat))
        table.rows += [
            ("Density at lowest hazard", est, "stat"),
            ("  95% CI (delta method)", ci, "stat"),
            ("  inside observed range", inside, "stat"),
        ]

    # Gibrat's beta with its test of beta = 1 (growth models)
    betas = [_get(r, "derived", "beta") for r in results]
    if any(isinstance(b, Mapping) for b in betas):
        table.rows.append(("", [], "rule"))
        est, ci, tst = list(empty), list(empty), list(empty)
        for i, b in enumerate(betas):
            if not isinstance(b, Mapping):
                continue
            est[i] = Cell(fmt(b.get("estimate"), digits))
            if b.get("ci_low") is not None and b.get("ci_high") is not None:
                ci[i] = Cell(f"{fmt(b['ci_low'], digits)}, {fmt(b['ci_high'], digits)}", wrap="[]")
            test = next((t for t in results[i].get("tests", []) if "beta = 1" in t.get("name", "")), None)
            if test is not None:
                tst[i] = Cell(fmt(test.get("statistic"), stat_digits), stars(test.get("p")))
                record("test beta = 1", i, "statistic", test.get("statistic"))
                record("test beta = 1", i, "p", test.get("p"))
            for stat in ("estimate", "se", "ci_low", "ci_high"):
                record("beta", i, stat, b.get(stat))
        table.rows += [
            ("\u03b2 (Gibrat: 1 + log-size coefficient)", est, "stat"),
            ("  95% CI", ci, "stat"),
            ("  t test of \u03b2 = 1", tst, "stat"),
        ]

    # Fit and sample statistics
    table.rows.append(("", [], "rule"))
    fes = [_fixed_effects(r) for r in results]
    if any(fes):
        table.rows.append(("Subpopulation fixed effects", [Cell(f or "no") for f in fes], "text"))
    effects = [_PANEL_EFFECTS.get(str(_get(r, "specification", "effects"))) for r in results]
    if any(e is not None for e in effects):
        table.rows.append(("Organization fixed effects", [Cell(e[0] if e else "") for e in effects], "text"))
        table.rows.append(("Year fixed effects", [Cell(e[1] if e else "") for e in effects], "text"))
    stat_rows: list[tuple[str, str, str, int | None]] = [
        ("N", "sample", "n", None),
        ("Groups", "sample", "n_groups", None),
        ("Events", "sample", "events", None),
        ("Exposure (years at risk)", "sample", "exposure", 1),
        ("Log-likelihood", "fit", "loglik", stat_digits),
        ("AIC", "fit", "aic", stat_digits),
    ]
    for label, part, key, dig in stat_rows:
        values = [_get(r, part, key) for r in results]
        if all(v is None for v in values):
            continue
        cells = list(empty)
        for i, v in enumerate(values):
            if v is not None:
                cells[i] = Cell(str(int(v)) if dig is None else fmt(v, dig))
            record(label, i, key, v)
        table.rows.append((label, cells, "stat"))

    lr_cells, lr_df, lr_p = list(empty), list(empty), list(empty)
    any_lr = False
    for i, res in enumerate(results):
        test = _lr_vs_previous(res, results[i - 1] if i > 0 else None)
        if test is None or test.get("statistic") is None:
            continue
        any_lr = True
        lr_cells[i] = Cell(fmt(test["statistic"], stat_digits), stars(test.get("p")))
        lr_df[i] = Cell(fmt(test.get("df"), 0))
        lr_p[i] = Cell(fmt(test.get("p"), 3))
        for stat in ("statistic", "df", "p"):
            record("LR vs previous", i, stat, test.get(stat))
    if any_lr:
        table.rows += [
            ("LR \u03c7\u00b2 vs. previous column", lr_cells, "stat"),
            ("  df", lr_df, "stat"),
            ("  p-value", lr_p, "stat"),
        ]

    failed = [i for i, r in enumerate(results) if not _get(r, "fit", "converged")]
    if failed:
        table.rows.append(("Converged", [Cell("no" if i in failed else "yes") for i in range(k)], "text"))
    if weak:
        table.rows.append(
            ("Weak estimate (see notes)", [Cell("yes" if i in weak else "") for i in range(k)], "text")
        )

    # Notes: legend, SE types grouped by column, scale, failures
    table.notes.append(f"Standard errors in parentheses; {STAR_LEGEND}.")
    by_type: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        if i in failed:
            continue
        se_type = _get(r, "fit", "se_type") or "not recorded"
        by_type.setdefault(se_type, []).append(i + 1)
    if by_type:
        parts = [f"{_colrange(cols)} {se}" for se, cols in by_type.items()]
        table.notes.append("SE type: " + "; ".join(parts) + ".")
    if scale not in (None, 1):
        table.notes.append(
            f"Density terms per {scale_suffix(scale)[1:]} organizations (N{scale_suffix(scale)})."
        )
    if nstars and any(isinstance(n, Mapping) for n in nstars):
        table.notes.append("Turning point \u2212b1/(2 b2) in organizations, 95% CI by the delta method.")
    if any(m is not None for m in minima):
        table.notes.append(
            "Density at lowest hazard \u2212g1/(2 g2) in organizations, 95% CI by the delta method."
        )
    for i in failed:
        reason = _get(results[i], "fit", "reason") or "no reason recorded"
        table.notes.append(f"({i + 1}) {results[i]['model']}: not estimated \u2014 {reason}.")
    table.notes += assessment_notes(results)
    table.data = pd.DataFrame(long, columns=["row", "term", "column", "model", "statistic", "value"])
    return table


def _colrange(cols: list[int]) -> str:
    if len(cols) > 1 and cols == list(range(cols[0], cols[-1] + 1)):
        return f"({cols[0]})\u2013({cols[-1]})"
    return ", ".join(f"({c})" for c in cols)


def model_tests_table(result: Mapping[str, Any], *, caption: str = "", digits: int = 3) -> Table:
    """All recorded tests of one model (e.g. the Grambsch–Therneau PH tests per term and global)."""
    table = Table(caption=caption, header=[["Test", "Statistic", "df", "p"]], align="r")
    long = []
    for test in result.get("tests", []):
        table.rows.append(
            (
                test["name"],
                [
                    Cell(fmt(test.get("statistic"), digits)),
                    Cell(fmt(test.get("df"), 0)),
                    Cell(fmt(test.get("p"), digits)),
                ],
                "stat",
            )
        )
        for stat in ("statistic", "df", "p"):
            long.append({"row": test["name"], "statistic": stat, "value": test.get(stat)})
    table.data = pd.DataFrame(long, columns=["row", "statistic", "value"])
    return table


#: Derived entries that are numerical diagnostics rather than quantities of interest.
_DIAGNOSTIC_KEYS = ("status", "condition", "iteration", "unconstrained", "level", "scale")


def derived_table(results: Sequence[Mapping[str, Any]], *, caption: str = "", digits: int = 3) -> Table:
    """Model-specific quantities (K, r, t0, t90, break year, sup-F, …) with SE and 95% CI where recorded."""
    table = Table(caption=caption, header=[["Model", "Quantity", "Estimate", "SE", "95% CI"]], align="llrrr")
    long = []
    for res in results:
        for key in sorted(res.get("derived", {})):
            val = res["derived"][key]
            est = _scalar(val)
            if est is None or any(word in key for word in _DIAGNOSTIC_KEYS):
                continue
            se = val.get("se") if isinstance(val, Mapping) else None
            lo = val.get("ci_low") if isinstance(val, Mapping) else None
            hi = val.get("ci_high") if isinstance(val, Mapping) else None
            integer = isinstance(val, int) and not isinstance(val, bool)
            ci = (
                Cell(f"{fmt(lo, digits)}, {fmt(hi, digits)}", wrap="[]")
                if lo is not None and hi is not None
                else Cell()
            )
            table.rows.append(
                (
                    res["model"],
                    [Cell(key), Cell(str(val) if integer else fmt(est, digits)), Cell(fmt(se, digits)), ci],
                    "stat",
                )
            )
            for stat, v in (("estimate", est), ("se", se), ("ci_low", lo), ("ci_high", hi)):
                long.append({"row": res["model"], "quantity": key, "statistic": stat, "value": v})
    table.data = pd.DataFrame(long, columns=["row", "quantity", "statistic", "value"])
    return table


def km_table(result: Mapping[str, Any], *, ages: Sequence[float] = (1, 5, 10), caption: str = "") -> Table:
    """Kaplan–Meier survival S(age) by group at selected ages, with 95% CI beneath (step-function read)."""
    from reports.collect import km_frame

    km = km_frame(result)
    table = Table(caption=caption, header=[["Group", *[f"S({a:g})" for a in ages]]])
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
            n = _get(res, "sample", "n")
            if n is None or not _get(res, "fit", "converged"):
                continue
            key = (area, str(_get(res, "sample", "unit") or "unit"), n, _get(res, "sample", "events"))
            samples.setdefault(key, []).append(name)
    for (area, unit, n, events), names in samples.items():
        which = names[0] if len(names) == 1 else f"{len(names)} models"
        rows.append(
            {
                "Step": f"Estimation sample: {_AREA_TITLES.get(area, area).lower()}, unit {unit} ({which})",
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

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_UNICODE = {
    "\u00b2": r"\textsuperscript{2}",
    "\u2212": "$-$",
    "\u2013": "--",
    "\u2014": "---",
    "\u03b1": r"$\alpha$",
    "\u03c7": r"$\chi$",
    "\u03b2": r"$\beta$",
    "\u03bb": r"$\lambda$",
    "\u03c1": r"$\rho$",
    "\u03b3": r"$\gamma$",
    "\u0394": r"$\Delta$",
    "\u2020": r"\dag{}",
    "\u0304": "",
    "\u2264": r"$\leq$",
    "\u2265": r"$\geq$",
    "\u00d7": r"$\times$",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials and map the few Unicode symbols the labels use to LaTeX commands."""
    out = []
    text = text.replace("\u03c7\u0304\u00b2", "\x00")
    for ch in text:
        if ch == "\x00":
            out.append(r"$\bar{\chi}^2$")
            continue
        out.append(_LATEX_SPECIAL.get(ch, _LATEX_UNICODE.get(ch, ch)))
    s = "".join(out)
    return s.replace(r"$\chi$\textsuperscript{2}", r"$\chi^2$")


_NEG = re.compile(r"(?<![\w.])-(?=\d)")


def _latex_number(text: str) -> str:
    """Escape a formatted number; a leading minus sign becomes a math minus ``$-$``."""
    return _NEG.sub("$-$", latex_escape(text))


def _latex_cell(cell: Cell) -> str:
    if not cell.text:
        return ""
    body = _latex_number(cell.text)
    if cell.wrap:
        body = f"{cell.wrap[0]}{body}{cell.wrap[1]}"
    if cell.stars:
        body += f"$^{{{cell.stars}}}$"
    return body


def to_latex(table: Table) -> str:
    """A booktabs ``tabular`` ready for ``\\input`` (needs ``\\usepackage{booktabs}``); notes follow it.

    Labels and notes are escaped; Chinese text (e.g. a district in a failure reason) needs XeLaTeX or
    LuaLaTeX with a CJK font (``xeCJK``/``ctex``) in the including document.
    """
    colspec = table.colspec()
    lines = [
        f"% {latex_escape(table.caption)}" if table.caption else "% table",
        "% generated by reports.tables from result files; do not edit",
        f"\\begin{{tabular}}{{{colspec}}}",
        r"\toprule",
    ]
    for hdr in table.header:
        lines.append(" & ".join(latex_escape(h) for h in hdr) + r" \\")
    lines.append(r"\midrule")
    for label, cells, kind in table.rows:
        if kind == "rule":
            lines.append(r"\midrule")
            continue
        lab = latex_escape(label)
        if label.startswith("  "):
            lab = r"\quad " + latex_escape(label.strip())
        lines.append(" & ".join([lab, *(_latex_cell(c) for c in cells)]) + r" \\")
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    if table.notes:
        lines.append(r"\par\smallskip")
        lines.append(r"{\footnotesize " + r" \\ ".join(latex_escape(n) for n in table.notes) + r"\par}")
    return "\n".join(lines) + "\n"


def to_html(table: Table) -> str:
    """A plain HTML ``<table>`` (escaped) with caption, header, body and notes in the footer."""
    esc = html.escape

    def cell_html(c: Cell) -> str:
        body = esc(f"{c.wrap[0]}{c.text}{c.wrap[1]}" if c.wrap and c.text else c.text)
        return body + (f"<sup>{esc(c.stars)}</sup>" if c.stars else "")

    out = ['<table class="orgecology-table">']
    if table.caption:
        out.append(f"<caption>{esc(table.caption)}</caption>")
    out.append("<thead>")
    for hdr in table.header:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in hdr) + "</tr>")
    out.append("</thead>")
    out.append("<tbody>")
    for label, cells, kind in table.rows:
        if kind == "rule":
            out.append(f'<tr class="rule"><td colspan="{table.ncols}"></td></tr>')
            continue
        out.append(
            f'<tr class="{kind}"><th scope="row">{esc(label.strip())}</th>'
            + "".join(f"<td>{cell_html(c)}</td>" for c in cells)
            + "</tr>"
        )
    out.append("</tbody>")
    if table.notes:
        out.append("<tfoot>")
        for note in table.notes:
            out.append(f'<tr><td colspan="{table.ncols}">{esc(note)}</td></tr>')
        out.append("</tfoot>")
    out.append("</table>")
    return "\n".join(out) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def md_escape(text: str) -> str:
    """User text made inert inside a Markdown pipe table: ``<``, ``>`` and ``&`` as HTML entities, the
    characters that open emphasis, code, links, headings or a new cell backslash-escaped, and line breaks
    as spaces (a newline would end the table row)."""
    text = html.escape(str(text), quote=False)
    text = re.sub(r"[\r\n]+", " ", text)
    return _MD_SPECIAL.sub(r"\\\1", text)


def to_markdown(table: Table) -> str:
    """A pipe table (GitHub/Pandoc) with the SE rows beneath the coefficients and notes below."""
    out = []
    if table.caption:
        out += [f"**{md_escape(table.caption)}**", ""]
    hdr = [" ".join(h[j] for h in table.header if h[j]).strip() for j in range(table.ncols)]
    out.append("| " + " | ".join(md_escape(h) for h in hdr) + " |")
    out.append("|" + "|".join({"l": ":---", "c": ":---:", "r": "---:"}[a] for a in table.colspec()) + "|")
    for label, cells, kind in table.rows:
        if kind == "rule":
            continue
        out.append(
            "| " + " | ".join([md_escape(label.strip()), *(md_escape(c.plain()) for c in cells)]) + " |"
        )
    if table.notes:
        out.append("")
        out += [md_escape(n) + "  " for n in table.notes]
    return "\n".join(out) + "\n"


def to_csv_frame(table: Table) -> pd.DataFrame:
    """The table's numbers at full precision in long form (what the CSV output holds)."""
    return table.data


def to_typst(table: Table) -> dict[str, Any]:
    """JSON-ready form for the Typst template: header rows, rows of plain strings, kinds, notes."""
    rows, kinds, rules = [], [], []
    for label, cells, kind in table.rows:
        if kind == "rule":
            rules.append(len(rows))
            continue
        indent = "\u2003" if label.startswith("  ") else ""
        rows.append([indent + label.strip(), *(c.plain() for c in cells)])
        kinds.append(kind)
    return {
        "caption": table.caption,
        "header": table.header,
        "rows": rows,
        "kinds": kinds,
        "rules": rules,
        "notes": table.notes,
        "align": table.colspec(),
    }


def write_table(table: Table, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``stem.tex``/``.html``/``.md``/``.csv`` atomically; returns the paths written."""
    stem = Path(stem)
    written = []
    for f in formats:
        path = stem.with_suffix(f".{f}")
        if f == "tex":
            write_text(path, to_latex(table))
        elif f == "html":
            write_text(path, to_html(table))
        elif f == "md":
            write_text(path, to_markdown(table))
        elif f == "csv":
            write_csv(path, to_csv_frame(table))
        else:
            raise ValueError(f"unknown table format {f!r}; use one of {FORMATS}")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------------------
# The set of tables of one dataset

_AREA_TITLES = {
    "founding": "Founding rate models",
    "survival": "Mortality models",
    "growth": "Growth models",
    "bottleneck": "Bottleneck models",
}


def _regression_tables(
    stem: str, caption: str, group: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None, **kw: Any
) -> dict[str, Table]:
    """One regression table per block of at most ``MAX_COLUMNS`` models; continuation tables get the
    stems ``<stem>_2``, ``<stem>_3``, … and say "(continued)"."""
    from reports.selection import chunk

    out: dict[str, Table] = {}
    if "column_names" not in kw:
        kw["column_names"] = short_names([r["model"] for r in group])
    blocks = chunk(list(group))
    for b, block in enumerate(blocks):
        if not block:
            continue
        name = stem if b == 0 else f"{stem}_{b + 1}"
        cap = caption if b == 0 else f"{caption} (continued)"
        names = kw["column_names"][b * len(blocks[0]) : b * len(blocks[0]) + len(block)]
        out[name] = regression_table(block, caption=cap, labels=labels, **{**kw, "column_names": names})
    return out


def short_names(models: Sequence[str]) -> list[str]:
    """Column names without the prefix all models of a table share (``panel_district_nb_density2`` →
    ``density2`` beside ``panel_district_nb_baseline``); the caption names what the prefix said."""
    if len(models) < 2:
        return list(models)
    parts = [m.split("_") for m in models]
    k = 0
    while all(len(p) > k + 1 for p in parts) and len({p[k] for p in parts}) == 1:
        k += 1
    return ["_".join(p[k:]) for p in parts]


def _founding_tables(
    models: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None
) -> dict[str, Table]:
    from reports.selection import founding_sequences

    out: dict[str, Table] = {}
    for stem, caption, group in founding_sequences(models):
        out.update(_regression_tables(stem, caption, sorted(group, key=nesting_order), labels))
    return out


def _survival_tables(
    models: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None
) -> dict[str, Table]:
    from reports.model_tables import km_summary_table
    from reports.selection import headline_cox, is_cause_specific

    out: dict[str, Table] = {}
    kms = [r for r in models.values() if any(c == "km" or c.startswith("km_") for c in r.get("curves", {}))]
    if kms:
        out["survival_km"] = km_summary_table(kms, caption="Kaplan\u2013Meier survival by group")
    used = {r["model"] for r in kms}
    cox = [r for r in models.values() if r["family"] == "cox" and not is_cause_specific(r)]
    out.update(
        _regression_tables(
            "survival_cox",
            "Mortality: Cox proportional hazards (age clock, delayed entry)",
            sorted(cox, key=nesting_order),
            labels,
        )
    )
    head = headline_cox(models)
    if head is not None and head.get("tests"):
        out["survival_cox_tests"] = model_tests_table(
            head, caption=f"Tests of the Cox model {head['model']} (incl. Grambsch\u2013Therneau PH tests)"
        )
    cause = [r for r in models.values() if r["family"] == "cox" and is_cause_specific(r)]
    out.update(
        _regression_tables(
            "survival_cause_specific",
            "Mortality: cause-specific Cox hazards of competing exits",
            sorted(cause, key=lambda r: r["model"]),
            labels,
            column_names=[
                str(r["specification"].get("cause") or r["model"])
                for r in sorted(cause, key=lambda r: r["model"])
            ],
        )
    )
    used |= {r["model"] for r in cox + cause}
    pieces = [r for r in models.values() if "hazard_by_age" in r.get("curves", {}) and r.get("terms")]
    out.update(
        _regression_tables(
            "survival_age_pieces",
            "Mortality: piecewise-constant exponential and discrete-time models",
            sorted(pieces, key=lambda r: (r["family"] != "poisson", r["model"])),
            labels,
        )
    )
    used |= {r["model"] for r in pieces}
    param = [
        r
        for r in models.values()
        if r["family"].split()[0] in ("weibull", "gompertz", "exponential", "loglogistic", "lognormal")
    ]
    out.update(
        _regression_tables(
            "survival_parametric",
            "Mortality: parametric proportional-hazards models",
            sorted(param, key=lambda r: r["model"]),
            labels,
        )
    )
    used |= {r["model"] for r in param}
    rest = [r for r in models.values() if r["model"] not in used and r.get("terms")]
    for r in rest:
        out.update(_regression_tables(f"survival_{r['model']}", f"Mortality: {r['model']}", [r], labels))
    return out


def _growth_tables(
    models: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None
) -> dict[str, Table]:
    from reports.model_tables import size_variance_table

    out: dict[str, Table] = {}
    order = {"none": 0, "org": 1, "year": 2, "twoway": 3}
    gibrat = [r for r in models.values() if "beta" in r.get("derived", {}) or r["model"].startswith("gibrat")]
    gibrat.sort(key=lambda r: (order.get(str(_get(r, "specification", "effects")), 9), r["model"]))
    out.update(
        _regression_tables("growth_gibrat", "Growth: Gibrat regressions of \u0394 log size", gibrat, labels)
    )
    scaling = [r for r in models.values() if "scaling_slope" in r.get("derived", {})]
    if scaling:
        out["growth_size_variance"] = size_variance_table(scaling)
    used = {r["model"] for r in gibrat + scaling}
    for r in models.values():
        if r["model"] not in used and r.get("terms"):
            out.update(_regression_tables(f"growth_{r['model']}", f"Growth: {r['model']}", [r], labels))
    return out


def _bottleneck_tables(
    models: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None
) -> dict[str, Table]:
    from reports.model_tables import breaks_table, capacity_table, data_quality_table
    from reports.selection import is_break, is_exit_rate

    out: dict[str, Table] = {}
    logistic = next(
        (
            r
            for r in models.values()
            if "logistic" in r.get("curves", {}) or r["model"].startswith("logistic")
        ),
        None,
    )
    equilibrium = next(
        (
            r
            for r in models.values()
            if "equilibrium" in r.get("derived", {}) or r["model"].startswith("equilibrium")
        ),
        None,
    )
    if logistic is not None or equilibrium is not None:
        out["bottleneck_capacity"] = capacity_table(
            logistic, equilibrium, caption="Carrying capacity: logistic density curve and equilibrium density"
        )
    if logistic is not None:
        quality = data_quality_table(logistic, caption="Population-series rows used in the logistic fit")
        if quality is not None:
            out["bottleneck_data_quality"] = quality
    exits = sorted([r for r in models.values() if is_exit_rate(r)], key=nesting_order)
    out.update(
        _regression_tables(
            "bottleneck_exit_rate",
            "Population-level exit-rate models (exits with offset log density)",
            exits,
            labels,
            n_star_label="Density at extreme exit rate",
        )
    )
    breaks = [r for r in models.values() if is_break(r)]
    if breaks:
        out["bottleneck_breaks"] = breaks_table(breaks, caption="Structural breaks: sup-F tests")
    hazards = [
        r
        for r in models.values()
        if _get(r, "specification", "event") and r.get("terms") and r not in breaks and not is_exit_rate(r)
    ]
    hazards.sort(key=lambda r: (str(_get(r, "specification", "event")) != "stagnation", r["model"]))
    if hazards:
        event_def = _get(hazards[0], "specification", "event_definition")
        tab = _regression_tables(
            "bottleneck_stagnation",
            "Cause-specific hazards of stagnation and dissolution (discrete time, cloglog)",
            hazards,
            labels,
            column_names=[str(_get(r, "specification", "event")).capitalize() for r in hazards],
        )
        if event_def:
            for t in tab.values():
                t.notes.append(f"Stagnation: {event_def}.")
        out.update(tab)
    used = {r["model"] for r in [*exits, *breaks, *hazards, *(x for x in (logistic, equilibrium) if x)]}
    for r in models.values():
        if r["model"] not in used and r.get("terms"):
            out.update(
                _regression_tables(f"bottleneck_{r['model']}", f"Bottleneck: {r['model']}", [r], labels)
            )
    return out


_AREA_BUILDERS = {
    "founding": _founding_tables,
    "survival": _survival_tables,
    "growth": _growth_tables,
    "bottleneck": _bottleneck_tables,
}


def build_tables(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    population: pd.DataFrame | None = None,
    organizations: pd.DataFrame | None = None,
    spells: pd.DataFrame | None = None,
    org_years: pd.DataFrame | None = None,
    cleaning_log: pd.DataFrame | None = None,
    labels: Mapping[str, str] | None = None,
    period: int = 5,
) -> dict[str, Table]:
    """Every table of one dataset, keyed by a stable file stem, in report order.

    Founding: one table per nested sequence (``founding_poisson``, ``founding_nb``,
    ``founding_panel_<var>_poisson``, ``founding_panel_<var>_nb``), at most five model columns each
    (continuations ``<stem>_2``), subpopulation fixed effects collapsed to one row. Mortality:
    ``survival_km`` (all groupings), ``survival_cox`` with ``survival_cox_tests`` (PH tests of the
    headline model), ``survival_cause_specific``, ``survival_age_pieces``, ``survival_parametric``.
    Growth: ``growth_gibrat`` (pooled, organization FE, two-way FE) and ``growth_size_variance``.
    Bottleneck: ``bottleneck_capacity`` (+ ``bottleneck_data_quality`` for flagged series),
    ``bottleneck_exit_rate``, ``bottleneck_breaks``, ``bottleneck_stagnation``. A result none of these
    recognises still gets its own table (``<area>_<model>``), so nothing is dropped silently.
    """
    tables: dict[str, Table] = {}
    if population is not None and len(population) and population["density"].notna().any():
        span = int(population["year"].max() - population["year"].min()) + 1
        while span / period > 20:  # long histories (COW: two centuries) in at most ~20 periods
            period *= 2
        tables["population_by_period"] = frame_table(
            population_summary(population, period=period),
            caption=f"Population by {period}-year period",
            notes=["N is density on 1 January; foundings and exits are counted within the calendar year."],
        )
    if cleaning_log is not None:
        summary = cleaning_summary(cleaning_log)
        if summary.empty:
            summary = pd.DataFrame(
                [
                    {
                        "Rule": "(none)",
                        "Table": "",
                        "Rows touched": 0,
                        "What": "no cleaning rule touched any row",
                    }
                ]
            )
        tables["cleaning_log"] = frame_table(summary, caption="Cleaning log: rows touched per rule")
    sample = sample_construction(organizations, spells, org_years, results)
    if len(sample):
        tables["sample_construction"] = frame_table(sample, caption="Sample construction")
    for area, models in results.items():
        builder = _AREA_BUILDERS.get(area)
        if builder is not None:
            tables.update(builder(models, labels))
        else:
            for r in models.values():
                if r.get("terms"):
                    tables.update(_regression_tables(f"{area}_{r['model']}", r["model"], [r], labels))
    return tables


def build_tables_from_dirs(
    results: Mapping[str, Any],
    processed_dir: str | Path,
    *,
    clean_dir: str | Path | None = None,
    labels: Mapping[str, str] | None = None,
    period: int = 5,
) -> dict[str, Table]:
    """:func:`build_tables` on loaded results and the derived data read from ``processed_dir``.

    Reads the population series, organizations table, spells and organization-years of one dataset
    (and the cleaning log from ``clean_dir`` when given), so the table stage and the report build
    their tables from exactly the same inputs.
    """
    from reports.collect import read_cleaning_log, read_table

    processed = Path(processed_dir)
    return build_tables(
        results,
        population=read_table(processed / "population.parquet"),
        organizations=read_table(processed / "organizations.parquet"),
        spells=read_table(processed / "spells.parquet"),
        org_years=read_table(processed / "org_years.parquet"),
        cleaning_log=read_cleaning_log(clean_dir) if clean_dir is not None else None,
        labels=labels,
        period=period,
    )


def render_tables(
    dataset: str,
    results_dir: str | Path,
    processed_dir: str | Path,
    out_dir: str | Path,
    *,
    clean_dir: str | Path | None = None,
    formats: Sequence[str] = FORMATS,
    labels: Mapping[str, str] | None = None,
    period: int = 5,
) -> dict[str, Table]:
    """Stage adapter: read the results and derived data of ``dataset`` and write every table.

    Writes ``out_dir/<stem>.{tex,html,md,csv}`` atomically and returns the tables (the report reuses
    them so the PDF shows exactly the same strings).
    """
    from reports.collect import load_results

    tables = build_tables_from_dirs(
        load_results(results_dir), processed_dir, clean_dir=clean_dir, labels=labels, period=period
    )
    for stem, table in tables.items():
        write_table(table, Path(out_dir) / stem, formats)
    return tables
