"""Shares given in percent: recognised, refused unless params declare the scale, then converted.

A share column written as percentages (45.0 for 45 %) would otherwise fail the [0, 1] range check value
by value: almost every value set missing, the few at or below 1 kept as shares, and a model fitted on
what is left. A share column is taken for percentages when all its values lie within 0–100 and more
than half of them exceed 1. Then, unless ``panel.scale`` in params names it ``percent`` (values divided
by 100, recorded in the validation report) or ``fraction`` (keep as is), validation stops with a message.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pipeline.core.columns import FUNDING_SHARE
from pipeline.core.errors import Issue

SCALES = ("fraction", "percent")


def is_share(name: str) -> bool:
    """Measures that are shares in [0, 1]: ``funding_share`` and any ``*_share``."""
    return name == FUNDING_SHARE or name.endswith("_share")


def looks_like_percent(values: np.ndarray) -> bool:
    """All values within 0–100 and more than half above 1."""
    v = values[np.isfinite(values)]
    return bool(len(v)) and bool((v >= 0).all() and (v <= 100).all() and (v > 1).mean() > 0.5)


def apply_share_scales(
    values: dict[str, np.ndarray],
    measures: Mapping[str, str],
    scales: Mapping[str, str],
    *,
    file: str,
) -> tuple[dict[str, np.ndarray], list[dict[str, object]], list[Issue]]:
    """Convert share measures declared ``percent``; refuse undeclared percent-looking ones.

    Returns the values, notes for the validation report (one per converted measure) and fatal issues.
    """
    out = dict(values)
    notes: list[dict[str, object]] = []
    fatal: list[Issue] = []
    for name, column in measures.items():
        if name not in values:
            continue
        scale = scales.get(name)
        v = values[name]
        if scale == "percent":
            out[name] = v / 100.0
            notes.append(
                {
                    "measure": name,
                    "column": column,
                    "scale": "percent",
                    "converted": int(np.isfinite(v).sum()),
                }
            )
        elif scale is None and is_share(name) and looks_like_percent(v):
            finite = v[np.isfinite(v)]
            above = int((finite > 1).sum())
            examples = ", ".join(f"{x:g}" for x in finite[finite > 1][:3])
            fatal.append(
                Issue(
                    file,
                    None,
                    column,
                    examples,
                    f"a share in [0, 1] for {name}, but the column looks like percentages ({above} of "
                    f"{len(finite)} values are above 1, all within 0-100); divide it by 100, or declare it "
                    f"in params under the panel source: scale: {{{name}: percent}}",
                    "error",
                    "share_in_percent",
                )
            )
    return out, notes, fatal
