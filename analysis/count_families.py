"""The one-equation count families of the founding sequences: Poisson and NB2 (:mod:`analysis.count_models`).

Declared here as ``COUNT_FAMILIES`` like every other count family (two-part models declare theirs beside
their fitter), so ``fit_founding.families`` accepts exactly the registered names
(:func:`analysis.registry.count_families`).
"""

from __future__ import annotations

from functools import partial

from analysis.count_models import SE_TYPES, fit_count
from analysis.registry import CountFamily

COUNT_FAMILIES = (
    CountFamily(
        name="poisson",
        prefix="poisson",
        kind="founding_count",
        fit=partial(fit_count, family="poisson"),
        method="ML (IRLS), Poisson, log link",
        variance="mu",
        se_types=SE_TYPES,
        profile_intervals=True,
        description="Poisson regression, log link",
    ),
    CountFamily(
        name="negative_binomial",
        prefix="nb",
        kind="founding_count",
        fit=partial(fit_count, family="negative_binomial"),
        method="ML (Newton), NB2, log link",
        variance="mu + alpha*mu^2 (NB2)",
        se_types=SE_TYPES,
        profile_intervals=True,
        description="negative binomial NB2 regression (alpha estimated), log link",
    ),
)
