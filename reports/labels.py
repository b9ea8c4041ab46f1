"""Human-readable labels for model terms, in the field's vocabulary.

Density terms are rescaled by the models (``specification.density_scale``, e.g. N/100) and the label says
so, because a coefficient per organization and one per hundred organizations differ by that factor.
Labels are plain Unicode; each output format escapes them (see ``reports.render``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SQ = "\u00b2"
_MINUS = "\u2212"

#: Labels that do not depend on the density scale. ``{s}`` is replaced by the scale suffix.
DEFAULT_LABELS: dict[str, str] = {
    "const": "Constant",
    "Intercept": "Constant",
    "intercept": "Constant",
    "density": "Density (N{s})",
    "density_sq": f"Density{_SQ} (N{{s}}){_SQ}",
    "density_at_founding": "Density at founding (N{s})",
    "lag_foundings": f"Prior foundings (F, t{_MINUS}1)",
    "lag_foundings_sq": f"Prior foundings{_SQ}",
    "foundings_lag": f"Prior foundings (F, t{_MINUS}1)",
    "log_lambda": "log \u03bb (baseline scale)",
    "log_rho": "log \u03c1 (Weibull shape)",
    "gamma": "\u03b3 (Gompertz age slope)",
    "log_c": "log c (Makeham age-independent hazard)",
    "(Intercept)": "Constant",
    "log_scale": "log \u03c3 (AFT scale)",
    "const_before": "Mean before the break",
    "const_after": "Mean after the break",
    "mass": "Mass (M)",
    "size": "Size",
    "log_size": "log size",
    "funding_share": "Government funding share",
    "procurement_budget": "Procurement budget",
    "age": "Age",
    "K": "Carrying capacity K",
    "r": "Growth rate r",
    "t0": "Inflection year t0",
}

_AGE = re.compile(r"^age\[(?P<lo>[^\]-]+)(?:-(?P<hi>[^\]]+))?\]$")
_PIECE = re.compile(r"^piece\[(?P<lo>[^,\]]+),(?P<hi>[^)\]]+)[)\]]$")
_PERIOD = re.compile(r"^(?P<var>[A-Za-z_]+)\[(?:T\.)?(?P<level>[^\]]+)\]$")


def scale_suffix(density_scale: float | int | None) -> str:
    """``/100`` for a density scale of 100; empty for no scaling."""
    if density_scale in (None, 0, 1):
        return ""
    value = float(density_scale)  # type: ignore[arg-type]
    return f"/{int(value)}" if value.is_integer() else f"/{value:g}"


def term_label(
    term: str, density_scale: float | int | None = None, mapping: Mapping[str, str] | None = None
) -> str:
    """The label of ``term``: the user's mapping first, then the defaults, then a readable fallback.

    Age pieces ``age[2-5]`` become "Age 2–5", baseline pieces ``piece[2,5)`` "Age 2–5 (log baseline
    rate)" and categorical levels ``policy_period[T.boom]`` become
    "policy period: boom".
    """
    labels = {**DEFAULT_LABELS, **(mapping or {})}
    if term in labels:
        return labels[term].replace("{s}", scale_suffix(density_scale))
    m = _AGE.match(term)
    if m:
        hi = m.group("hi")
        return f"Age {m.group('lo')}\u2013{hi}" if hi else f"Age {m.group('lo')}"
    m = _PIECE.match(term)
    if m:
        hi = m.group("hi")
        span = f"{m.group('lo')}+" if hi in ("inf", "Inf") else f"{m.group('lo')}\u2013{hi}"
        return f"Age {span} (log baseline rate)"
    m = _PERIOD.match(term)
    if m:
        return f"{m.group('var').replace('_', ' ')}: {m.group('level')}"
    return term.replace("_", " ")
