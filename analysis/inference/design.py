"""One collinearity check for every design matrix (count models, piecewise/cloglog, parametric PH, growth,
stagnation).

R's convention: columns are taken left to right and a column (almost) in the span of the columns already
kept is *aliased* — its relative residual ‖x_j − P x_j‖ / ‖x_j‖ is at most ``tol`` (1e-7, the tolerance of
R's ``lm``); all-zero columns are aliased with nothing. The residuals are computed from the triangular factor
R of a chunked QR of X (X = QR, so inner products of X's columns equal those of R's), which is backward
stable and needs O(k²) memory whatever the number of rows. The Cox model's own check (a covariate constant
within every risk set) is a different question and stays in ``analysis.cox``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

ALIAS_TOL = 1e-7
_CHUNK = 1_000_000


def triangular_factor(x: np.ndarray) -> np.ndarray:
    """R of X = QR (k × k), by QR of row chunks stacked and factored again (tall-skinny QR)."""
    x = np.asarray(x, dtype=float)
    if x.shape[0] <= _CHUNK:
        return np.linalg.qr(x, mode="r")
    parts = [np.linalg.qr(x[i : i + _CHUNK], mode="r") for i in range(0, x.shape[0], _CHUNK)]
    return np.linalg.qr(np.vstack(parts), mode="r")


def _aliasing(x: np.ndarray, tol: float) -> tuple[list[int], dict[int, list[int]]]:
    r = triangular_factor(x)
    k = r.shape[1]
    norms = np.linalg.norm(r, axis=0)
    kept: list[int] = []
    basis = np.zeros((r.shape[0], 0))
    aliased: dict[int, list[int]] = {}
    for j in range(k):
        col = r[:, j]
        if norms[j] == 0.0:
            aliased[j] = []
            continue
        resid = col - basis @ (basis.T @ col) if basis.shape[1] else col
        resid = resid - basis @ (basis.T @ resid) if basis.shape[1] else resid  # re-orthogonalize
        rn = float(np.linalg.norm(resid))
        if rn > tol * norms[j]:
            kept.append(j)
            basis = np.column_stack([basis, resid / rn])
        else:
            coef = np.linalg.lstsq(r[:, kept], col, rcond=None)[0]
            scale = norms[kept] / norms[j]
            aliased[j] = [kept[i] for i in range(len(kept)) if abs(coef[i] * scale[i]) > 1e-6]
    return kept, aliased


def independent_columns(x: np.ndarray, tol: float = ALIAS_TOL) -> list[int]:
    """Indices of the columns kept (left to right, aliased ones dropped)."""
    return _aliasing(np.asarray(x, dtype=float), tol)[0]


def collinear_terms(
    x: pd.DataFrame | np.ndarray, names: Sequence[str] | None = None, tol: float = ALIAS_TOL
) -> dict[str, list[str]]:
    """``{aliased column: [kept columns it is a linear combination of]}`` (empty for full column rank; an
    all-zero column maps to [])."""
    if isinstance(x, pd.DataFrame):
        names = [str(c) for c in x.columns] if names is None else list(names)
        arr = x.to_numpy(dtype=float)
    else:
        arr = np.asarray(x, dtype=float)
        names = [f"x{j}" for j in range(arr.shape[1])] if names is None else list(names)
    _, aliased = _aliasing(arr, tol)
    return {names[j]: [names[i] for i in parts] for j, parts in aliased.items()}
