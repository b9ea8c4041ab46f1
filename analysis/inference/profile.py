"""Profile-likelihood intervals for one scalar quantity of a fitted model.

A Wald (delta-method) interval for a ratio such as the turning point N* = −b1/(2·b2) is symmetric and can
undercover badly in the short yearly series of organizational ecology; the profile-likelihood interval
{θ : 2·(logL̂ − max logL | θ) ≤ χ²₁(level)} follows the likelihood's own shape and is invariant to
reparameterization (Venzon & Moolgavkar 1988). The caller supplies the constrained fit as a function of θ;
this module only finds where the profile deviance crosses the χ² critical value, on each side of the
estimate, by an expanding bracket and Brent's method. A side that never crosses within ``max_doublings``
is reported as unbounded (None), never clipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from scipy import optimize, stats


def _bound(
    deviance: Callable[[float], float],
    estimate: float,
    direction: int,
    crit: float,
    step: float,
    max_doublings: int,
    limit: float | None,
) -> tuple[float | None, str]:
    inner, width = estimate, step * crit**0.5  # first try the Wald bound: the profile is often near it
    for _ in range(max_doublings):
        outer = estimate + direction * width
        if limit is not None and (outer - limit) * direction > 0:
            outer = limit
        d = deviance(outer)
        if not math.isfinite(d):
            return None, "constrained fit failed"
        if d > crit:
            lo, hi = sorted((inner, outer))
            root = optimize.brentq(lambda t: deviance(t) - crit, lo, hi, xtol=1e-8 * max(1.0, abs(estimate)))
            return float(root), "bounded"
        if outer == limit:
            return None, f"unbounded (no crossing up to {limit:.6g})"
        inner, width = outer, width * 2.0
    return None, "unbounded"


def profile_interval(
    deviance: Callable[[float], float],
    estimate: float,
    *,
    step: float,
    level: float = 0.95,
    critical: float | None = None,
    limits: tuple[float | None, float | None] = (None, None),
    max_doublings: int = 40,
) -> dict[str, Any]:
    """Profile-likelihood interval of a scalar θ.

    ``deviance(θ)`` = 2·(logL̂ − logL of the best fit with θ held fixed) (0 at the estimate); ``step`` is the
    standard error of the estimate (the first bracket is the Wald bound, widened by doubling until the
    deviance crosses). ``critical`` replaces χ²₁(level) (e.g. t²(level, df) for the profile-t intervals of
    nonlinear least squares, as R's ``confint.nls``); ``limits`` bound the search (a side that does not
    cross inside is unbounded). Returns ``ci_low``, ``ci_high`` (None when unbounded on that side), the
    critical value and the method."""
    crit = float(stats.chi2.ppf(level, 1)) if critical is None else float(critical)
    lo, lo_kind = _bound(deviance, estimate, -1, crit, step, max_doublings, limits[0])
    hi, hi_kind = _bound(deviance, estimate, +1, crit, step, max_doublings, limits[1])
    return {
        "ci_low": lo,
        "ci_high": hi,
        "level": level,
        "critical_value": crit,
        "lower": lo_kind,
        "upper": hi_kind,
        "method": "profile likelihood (chi2(1) deviance)"
        if critical is None
        else "profile (given critical value)",
    }
