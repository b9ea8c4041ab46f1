"""Scales of density-like terms: N/s with s declared or chosen by the "auto" rule (one place for both)."""

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
