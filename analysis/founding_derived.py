"""Derived quantities of a fitted founding (or exit-rate) count model: the profile-likelihood intervals of the
turning point N* and of the NB2 dispersion α (``analysis.inference.profile``). The turning point itself and the
multiplier curve over the observed density range are ``analysis.inference.turning_point``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from analysis.count_models import ALPHA, CountFit, fit_count, nb2_loglik_fixed_alpha
from analysis.inference.profile import profile_interval
from pipeline.core.columns import DENSITY

# ------------------------------------------------------------------------------------------- results


def alpha_profile(
    fit: CountFit, y: np.ndarray, x: pd.DataFrame, *, offset: np.ndarray | None, level: float = 0.95
) -> dict[str, Any]:
    """Profile-likelihood interval of the NB2 dispersion α (β re-estimated at each fixed α). When the
    deviance at α = 0 (the Poisson model) stays below the critical value the interval reaches the boundary:
    ``ci_low`` = 0 and ``lower`` = "boundary"."""
    ll_hat = fit.loglik
    i = fit.names.index(ALPHA)
    a_hat, se = float(fit.params[i]), float(fit.bse[i])

    def deviance(a: float) -> float:
        return 2.0 * (ll_hat - nb2_loglik_fixed_alpha(y, x, max(a, 0.0), offset=offset))

    out = profile_interval(deviance, a_hat, step=se, level=level, limits=(0.0, None))
    if out["ci_low"] is None and out["lower"].startswith("unbounded"):
        out["ci_low"], out["lower"] = 0.0, "boundary (alpha = 0, the Poisson model, inside the interval)"
    return out


def n_star_profile(
    fit: CountFit,
    y: np.ndarray,
    x: pd.DataFrame,
    *,
    offset: np.ndarray | None,
    scale: float,
    level: float = 0.95,
) -> dict[str, Any]:
    """Profile-likelihood interval of N* (in organizations) of a count model with ``density`` = N/s and
    ``density_sq`` = (N/s)² among the columns of ``x``: for each candidate s* the model is refitted with
    b1 = −2·b2·s*, i.e. one column (N/s)² − 2·s*·(N/s) in place of the two density terms (other terms,
    dispersion α and fixed effects profiled out)."""
    others = [c for c in x.columns if c not in (DENSITY, "density_sq")]
    z1, z2 = x[DENSITY].to_numpy(float), x["density_sq"].to_numpy(float)
    ll_hat = fit.loglik

    def deviance(s_star: float) -> float:
        xp = x[others].assign(density_turning_point=z2 - 2.0 * s_star * z1)
        f = fit_count(y, xp, family=fit.family, offset=offset, se_type="observed")
        return 2.0 * (ll_hat - f.loglik) if f.converged else math.nan

    i1, i2 = fit.names.index(DENSITY), fit.names.index("density_sq")
    b1, b2 = float(fit.params[i1]), float(fit.params[i2])
    s_hat = -b1 / (2.0 * b2)
    g = np.array([-1 / (2 * b2), b1 / (2 * b2**2)])
    se = float(np.sqrt(max(g @ fit.vcov[np.ix_([i1, i2], [i1, i2])] @ g, 0.0))) or abs(s_hat) * 0.1 or 1.0
    out = profile_interval(deviance, s_hat, step=se, level=level)
    for key in ("ci_low", "ci_high"):
        if out[key] is not None:
            out[key] *= scale
    out["unit"] = "organizations"
    out["note"] = "model-based likelihood; cluster-robust SEs do not enter the profile"
    return out
