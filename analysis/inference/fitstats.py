"""One builder of the ``fit`` block of a result: log-likelihood, AIC, BIC, parameters and sample size.

AIC = −2 logL + 2k and BIC = −2 logL + k·log(n_BIC), with k every estimated parameter (incl. intercepts,
fixed effects, dispersion and scale parameters) and n_BIC the number of observations — or the number of
events for hazard models (Volinsky & Raftery 2000; R's ``BIC`` for ``coxph``), which the family states.
"""

from __future__ import annotations

import math
from typing import Any


def information_criteria(loglik: float, n_params: int, n_bic: int | float) -> tuple[float, float]:
    """(AIC, BIC) of a fitted likelihood; BIC is NaN without a positive sample size."""
    aic = -2.0 * loglik + 2.0 * n_params
    bic = -2.0 * loglik + n_params * math.log(n_bic) if n_bic and n_bic > 0 else math.nan
    return aic, bic


def fit_statistics(
    loglik: float,
    n_params: int,
    nobs: int,
    *,
    se_type: str,
    n_bic: int | float | None = None,
    df_model: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The ``fit`` block of a converged model (``extra`` adds family-specific entries, e.g. iterations)."""
    aic, bic = information_criteria(loglik, n_params, nobs if n_bic is None else n_bic)
    return {
        "converged": True,
        "reason": None,
        "loglik": loglik,
        "aic": aic,
        "bic": bic,
        "df_model": n_params if df_model is None else df_model,
        "nobs": int(nobs),
        "se_type": se_type,
        **extra,
    }
