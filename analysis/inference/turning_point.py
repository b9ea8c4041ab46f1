"""The turning point N* = −b1/(2·b2) of a quadratic in density, once for every model family.

Founding rates (N* = density at peak or minimum founding), hazards (density of lowest mortality) and exit
rates all carry the same quantity: the extremum of b1·N/s + b2·(N/s)², where the model used density divided
by a scale s. Every result reports it the same way, in organizations (the user's units), with:

* a delta-method standard error and Wald interval;
* ``extremum`` (``maximum`` when b2 < 0, ``minimum`` when b2 > 0) and ``shape`` (``inverted U`` / ``U``);
* the observed density range and whether N* lies inside it;
* optionally (``tests=True``) the Fieller interval, which stays valid when b2 is weakly identified, and the
  Lind & Mehlum (2010) test of an inverted U over the observed range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

METHOD = "delta method, N* = -b1/(2*b2)"


def _fieller(b1: float, b2: float, v: np.ndarray, z: float, scale: float) -> dict[str, Any]:
    """Fieller set {x : (b1 + 2 b2 x)² ≤ z² Var(b1 + 2 b2 x)}, in organizations."""
    v11, v12, v22 = float(v[0, 0]), float(v[0, 1]), float(v[1, 1])
    qa = 4 * b2**2 - 4 * z**2 * v22
    qb = 4 * b1 * b2 - 4 * z**2 * v12
    qc = b1**2 - z**2 * v11
    disc = qb**2 - 4 * qa * qc
    if qa > 0 and disc > 0:
        r = sorted([(-qb - math.sqrt(disc)) / (2 * qa), (-qb + math.sqrt(disc)) / (2 * qa)])
        return {"ci_low": r[0] * scale, "ci_high": r[1] * scale, "kind": "bounded"}
    if qa < 0 and disc > 0:
        r = sorted([(-qb - math.sqrt(disc)) / (2 * qa), (-qb + math.sqrt(disc)) / (2 * qa)])
        return {
            "ci_low": None,
            "ci_high": None,
            "kind": "union of two unbounded intervals",
            "excluded_low": r[0] * scale,
            "excluded_high": r[1] * scale,
        }
    return {"ci_low": None, "ci_high": None, "kind": "whole line"}


def _lind_mehlum(b1: float, b2: float, v: np.ndarray, lo: float, hi: float, scale: float) -> dict[str, Any]:
    """Lind–Mehlum test of an inverted U: slope b1 + 2 b2 x positive at the low end, negative at the high end
    of the observed range (``lo``, ``hi`` in scaled units; slopes reported per organization)."""
    v11, v12, v22 = float(v[0, 0]), float(v[0, 1]), float(v[1, 1])

    def slope(xv: float) -> tuple[float, float]:
        return b1 + 2 * b2 * xv, math.sqrt(max(v11 + 4 * xv * v12 + 4 * xv**2 * v22, 0.0))

    s_lo, se_lo = slope(lo)
    s_hi, se_hi = slope(hi)
    t_lo = s_lo / se_lo if se_lo > 0 else math.nan
    t_hi = -s_hi / se_hi if se_hi > 0 else math.nan
    return {
        "slope_min": s_lo / scale,
        "se_slope_min": se_lo / scale,
        "slope_max": s_hi / scale,
        "se_slope_max": se_hi / scale,
        "z_min": t_lo,
        "z_max": t_hi,
        "statistic": min(t_lo, t_hi),
        "p": max(float(stats.norm.sf(t_lo)), float(stats.norm.sf(t_hi))),
        "reference": "normal",
        "note": "slopes per raw density unit; H1: inverted U",
    }


def turning_point(
    b1: float,
    b2: float,
    vcov: np.ndarray | Sequence[Sequence[float]],
    *,
    scale: float = 1.0,
    observed_range: tuple[float, float] | None = None,
    level: float = 0.95,
    tests: bool = False,
) -> dict[str, Any]:
    """N* = −b1/(2·b2) in organizations, for coefficients of N/scale and (N/scale)².

    ``vcov`` is the 2×2 covariance of (b1, b2); ``observed_range`` is the observed density range in
    organizations. A zero or non-finite b2 gives no turning point (estimate None), never an error.
    """
    b1, b2, scale = float(b1), float(b2), float(scale)
    v = np.asarray(vcov, dtype=float).reshape(2, 2)
    rng = [float(observed_range[0]), float(observed_range[1])] if observed_range is not None else None
    out: dict[str, Any] = {"unit": "organizations", "scale": scale, "level": level, "method": METHOD}
    out["observed_range"] = rng
    if b2 == 0 or not all(map(math.isfinite, (b1, b2, *v.ravel()))):
        return out | {
            "estimate": None,
            "se": None,
            "ci_low": None,
            "ci_high": None,
            "inside_range": None,
            "extremum": None,
            "shape": None,
        }
    z = float(stats.norm.ppf(0.5 + level / 2))
    grad = np.array([-1 / (2 * b2), b1 / (2 * b2**2)])
    se = float(math.sqrt(max(grad @ v @ grad, 0.0))) * scale
    est = -b1 / (2 * b2) * scale
    out |= {
        "estimate": est,
        "se": se,
        "ci_low": est - z * se,
        "ci_high": est + z * se,
        "inside_range": bool(rng[0] <= est <= rng[1]) if rng is not None else None,
        "extremum": "maximum" if b2 < 0 else "minimum",
        "shape": "inverted U" if b2 < 0 else "U",
    }
    if tests:
        out["fieller"] = _fieller(b1, b2, v, z, scale)
        if rng is not None:
            out["lind_mehlum"] = _lind_mehlum(b1, b2, v, rng[0] / scale, rng[1] / scale, scale)
    return out


def multiplier_curve(
    coefs: Sequence[float],
    vcov: np.ndarray,
    *,
    scale: float,
    dmin: float,
    dmax: float,
    n_points: int = 100,
    level: float = 0.95,
) -> dict[str, list[float]]:
    """Rate multiplier exp(b1·N/s [+ b2·(N/s)²]) over [dmin, dmax] (organizations) with pointwise CIs (delta
    method on the log scale): the founding multiplier of a count model, the mortality multiplier of a hazard
    model. ``coefs``/``vcov`` hold the density coefficient(s) in the order (b1[, b2])."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    grid = np.linspace(dmin, dmax, n_points)
    xs = grid / scale
    g = np.column_stack([xs, xs**2][: len(coefs)])
    eta = g @ np.asarray(coefs, float)
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", g, np.asarray(vcov, float), g), 0.0))
    return {
        "density": grid.tolist(),
        "multiplier": np.exp(eta).tolist(),
        "ci_low": np.exp(eta - z * se).tolist(),
        "ci_high": np.exp(eta + z * se).tolist(),
    }
