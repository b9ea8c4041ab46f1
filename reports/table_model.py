"""The format-neutral table of the reports: cells (number, stars, wrapper) and rows, plus a long
full-precision frame for CSV, and the number formatting and significance stars every table shares.

Why the layout is hand-written: ``great_tables`` 1.1.0 (evaluated) renders LaTeX only as a
``table`` float with ``tabular*`` and font-size commands (not an ``\\input``-ready bare ``tabular``), and
like ``maketables`` 0.2.0 it formats from fitted Python model objects or pre-formatted strings; our
inputs are JSON result files, so the stacking of coefficient/SE rows, the stars and the statistics rows
would have to be built here anyway. Without a library the formats share one intermediate
:class:`Table`, which also makes the output byte-stable: the same results give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: Significance thresholds, strictest last; the legend states them.
STAR_LEVELS: tuple[tuple[float, str], ...] = ((0.05, "*"), (0.01, "**"), (0.001, "***"))
STAR_LEGEND = "* p < 0.05, ** p < 0.01, *** p < 0.001 (two-sided)"
FORMATS: tuple[str, ...] = ("tex", "html", "md", "csv", "docx")
CONSTANT_TERMS = ("const", "Intercept", "intercept")


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

    ``kind`` of a row is ``coef``, ``se``, ``stat`` or ``text``; a ``rule`` row draws a midrule; a
    ``panel`` row (no cells) heads one equation of a multi-equation model with its label.
    ``data`` holds the same numbers at full precision (one row per model × row × statistic) for CSV;
    ``sources`` names the results it was built from.
    """

    caption: str
    header: list[list[str]]
    rows: list[tuple[str, list[Cell], str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: pd.DataFrame = field(default_factory=pd.DataFrame)
    align: str = "c"
    #: Models (result ``model`` names) whose numbers the table shows: its provenance.
    sources: list[str] = field(default_factory=list)
    #: The report section it stands in: its kind's ``section`` (``analysis.registry.SECTIONS``).
    section: str | None = None

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


def dig(d: Mapping[str, Any] | None, *keys: str) -> Any:
    for k in keys:
        if d is None or not isinstance(d, Mapping):
            return None
        d = d.get(k)
    return d


def scalar(obj: Any) -> float | None:
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


#: Titles of the result areas (report sections, sample-construction rows).
AREA_TITLES = {
    "founding": "Founding rate models",
    "survival": "Mortality models",
    "growth": "Growth models",
    "bottleneck": "Bottleneck models",
}
