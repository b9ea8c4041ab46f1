"""Scales of density-like terms: N/s with s declared or chosen by the "auto" rule, and the one place where
density enters a model in those units (N/s and (N/s)²). Quantities derived from the coefficients are
converted back to organizations by ``analysis.inference.turning_point`` (the other end of the same rule)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def auto_scale(max_value: float) -> float:
    """Power of ten that puts ``max_value`` in [1, 10) (1 when the maximum is not positive)."""
    if not (math.isfinite(max_value) and max_value > 0):
        return 1.0
    return float(10.0 ** math.floor(math.log10(max_value)))


def resolve_scale(scale: float | str, values: pd.Series | np.ndarray) -> float:
    """A declared positive scale, or ``"auto"``: :func:`auto_scale` of the largest observed value."""
    if isinstance(scale, str):
        if scale != "auto":
            raise ValueError(f"scale must be a positive number or 'auto', got {scale!r}")
        v = pd.Series(np.asarray(values, dtype=float))
        return auto_scale(float(v.max(skipna=True)) if v.notna().any() else math.nan)
    if not (float(scale) > 0):
        raise ValueError(f"scale must be positive, got {scale!r}")
    return float(scale)


def scaled_density(values: pd.Series | np.ndarray, scale: float) -> tuple[pd.Series | np.ndarray, ...]:
    """Density in units of ``scale`` organizations and its square: (N/s, (N/s)²)."""
    z = (values.astype(float) if isinstance(values, pd.Series) else np.asarray(values, dtype=float)) / scale
    return z, z**2


def scale_density_columns(
    frame: pd.DataFrame, scale: float, extra: tuple[str, ...] = ("density_at_founding",)
) -> pd.DataFrame:
    """A copy of ``frame`` with ``density``/``density_sq`` in units of ``scale`` (and ``extra`` density-like
    columns such as density at founding divided by the same scale)."""
    out = frame.copy()
    out["density"], out["density_sq"] = scaled_density(frame["density"], scale)
    for col in extra:
        if col in frame:
            out[col] = frame[col].astype(float) / scale
    return out
