"""Density-dependent founding models: nested Poisson / NB2 sequences, N*, multipliers, panel FE models.

The founding rate λ_t of a population is log-linear in density (Hannan & Freeman 1989; Carroll & Hannan
2000): log λ_t = b0 + b1·N_t + b2·N_t² + c1·F_{t−1} + d·M_t + environment + period controls, with F_t the
foundings in year t and N_t the density on 1 January. Legitimation then competition predicts b1 > 0,
b2 < 0, so that the founding rate peaks at N* = −b1/(2·b2).

The specification and estimation sample of a sequence are :mod:`analysis.founding_design` (the terms of the
formula language on population-years); each fitted model becomes a result, with its LR tests, N* and
multiplier curve, in :mod:`analysis.founding_result`. This module fits the sequences: one population-year
series (:func:`fit_founding_models`) or a subpopulation-year panel with fixed effects
(:func:`fit_founding_panel`), and draws seeded series with known parameters to test them on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.founding_design import INTERCEPT, FoundingDesign, FoundingSpec, build_founding_design
from analysis.founding_result import add_sequence_tests, founding_result
from analysis.registry import Derived, ModelKind, count_family
from analysis.results import ModelResult

_N_STAR = Derived(
    "organizations",
    "density at the extreme of the quadratic density effect, -b1/(2 b2): delta-method CI (and a "
    "profile-likelihood CI for NB2), with the observed density range",
)
_ALPHA = Derived(
    "dimensionless", "NB2 dispersion alpha (Var = mu + alpha mu^2): Wald and profile CIs, LR test of 0"
)

#: Founding counts and the population-level exit counts fitted with the same count-model machinery.
MODEL_KINDS = (
    ModelKind(
        name="founding_count",
        figures=("multiplier",),
        area="founding",
        presentation="regression_sequences",
        caption="Founding rate",
        table="founding",
        order=10,
        derived={"n_star": _N_STAR, "alpha": _ALPHA},
        capabilities=frozenset({"cluster", "offset", "fixed_effects", "profile_intervals", "turning_point"}),
        description="Poisson / NB2 founding-rate models of a population or subpopulation panel",
    ),
    ModelKind(
        name="exit_rate",
        section="Carrying capacity and exit rates",
        area="bottleneck",
        presentation="regression",
        caption="Population-level exit-rate models (exits with offset log density)",
        table="bottleneck_exit_rate",
        order=20,
        derived={"n_star": _N_STAR, "alpha": _ALPHA},
        capabilities=frozenset({"offset", "profile_intervals", "turning_point"}),
        options={"n_star_label": "Density at extreme exit rate"},
        description="population-level exits per year, offset log density (exit rate per organization)",
    ),
)


def _columns_for(design: FoundingDesign, step: str) -> list[str]:
    """Design columns of one step: those of its terms (intercept ``const`` for the term ``1``) and the FE."""
    terms = design.step_terms[step]
    wanted = {INTERCEPT if t == "1" else t for t in terms}
    cols = [c for c in design.x.columns if c not in design.fe_terms and design.column_terms.get(c) in wanted]
    return cols + design.fe_terms


def _fit_sequence(
    design: FoundingDesign,
    spec: FoundingSpec,
    *,
    families: Sequence[str],
    se_type: str,
    dataset: str,
    unit: str,
    prefix: str,
    fe_var: str | None,
) -> list[ModelResult]:
    """Fit every registered family × step of ``design`` and add the sequence's tests (family-major order)."""
    results: dict[tuple[str, str], ModelResult] = {}
    models: dict[tuple[str, str], str] = {}
    steps = list(design.step_terms)
    for fam in families:
        declared = count_family(fam)  # the registry (analysis/registry.py): ValueError when unknown
        for step in steps:
            cols = _columns_for(design, step)
            model = re.sub(r"[^A-Za-z0-9_]", "_", f"{prefix}{declared.prefix}_{step}")
            fit = declared.fit(
                design.y,
                design.x[cols],
                offset=design.offset,
                se_type=se_type,
                groups=design.groups if se_type == "cluster" else None,
            )
            models[(fam, step)] = model
            results[(fam, step)] = founding_result(
                fit,
                design,
                model=model,
                step=step,
                cols=cols,
                spec=spec,
                se_type=se_type,
                dataset=dataset,
                unit=unit,
                fe_var=fe_var,
                declared=declared,
            )
    add_sequence_tests(results, steps, families, models)
    return [results[(fam, s)] for fam in families for s in steps]


def fit_founding_models(
    population: pd.DataFrame,
    *,
    spec: FoundingSpec | None = None,
    families: Sequence[str] = ("poisson", "negative_binomial"),
    se_type: str = "observed",
    dataset: str = "default",
) -> list[ModelResult]:
    """Fit the nested founding-rate models of one population-year series.

    Parameters
    ----------
    population : population-year frame (docs/contracts.md: ``year``, ``density``, ``foundings``, …).
    spec : :class:`FoundingSpec` (default: baseline → +density → +density² → +F_{t−1}, auto density scale).
    families : registered count families (:func:`analysis.registry.count_families`): ``"poisson"``,
        ``"negative_binomial"`` (NB2 with α estimated) and those declared by other modules.
    se_type : ``"observed"`` (default) or ``"expected_theta_fixed"`` (glm.nb's convention).
    dataset : dataset name recorded in the results.

    Returns
    -------
    list[ModelResult]
        One result per family × step (family-major order), models named ``poisson_<step>`` and
        ``nb_<step>``; a model that cannot be estimated is returned with ``fit.converged = False``.

    Examples
    --------
    >>> pop = simulate_founding_series(seed=1)
    >>> [r.model for r in fit_founding_models(pop, families=("poisson",))]
    ['poisson_baseline', 'poisson_density', 'poisson_density2', 'poisson_covariates']
    """
    spec = spec or FoundingSpec()
    if se_type == "cluster":
        raise ValueError("clustered SEs need subpopulations: use fit_founding_panel")
    design = build_founding_design(population, spec)
    return _fit_sequence(
        design,
        spec,
        families=families,
        se_type=se_type,
        dataset=dataset,
        unit="population-year",
        prefix="",
        fe_var=None,
    )


def fit_founding_panel(
    groups: pd.DataFrame,
    *,
    spec: FoundingSpec | None = None,
    families: Sequence[str] = ("poisson", "negative_binomial"),
    se_type: str = "cluster",
    group_var: str | None = None,
    dataset: str = "default",
) -> list[ModelResult]:
    """Fit the nested founding models on a subpopulation-year panel with subpopulation fixed effects.

    Parameters
    ----------
    groups : long panel in the ``population_groups`` contract (``group_var``, ``group``, ``year``,
        ``density``, ``foundings``, …); density is the subpopulation's own density.
    spec : as in :func:`fit_founding_models`; lags are taken within subpopulation.
    se_type : ``"cluster"`` (default; CR1 sandwich clustered by subpopulation, small-sample factor
        G/(G−1)·(n−1)/(n−K) as ``analysis.inference.vcov.CR1_RULE``), ``"observed"`` or
        ``"expected_theta_fixed"``.
    group_var : which grouping to use when the panel holds several (``group_var`` column).

    Returns
    -------
    list[ModelResult]
        Models named ``panel_<group_var>_<family>_<step>``; fixed-effect dummies are kept in ``terms`` and
        ``vcov`` as ``fe[<group_var>=<group>]`` and listed in ``specification.fixed_effects`` (not for
        display); ``sample.n_groups`` counts subpopulations.
    """
    spec = spec or FoundingSpec()
    frame = groups
    if "group_var" in frame.columns:
        present = sorted(pd.unique(frame["group_var"]).tolist(), key=str)
        if group_var is None:
            if len(present) != 1:
                raise ValueError(f"panel holds several group variables {present}: pass group_var")
            group_var = str(present[0])
        frame = frame[frame["group_var"] == group_var]
    group_var = group_var or "group"
    design = build_founding_design(frame, spec, group_col="group", fixed_effects=True, fe_label=group_var)
    return _fit_sequence(
        design,
        spec,
        families=families,
        se_type=se_type,
        dataset=dataset,
        unit="subpopulation-year",
        prefix=f"panel_{group_var}_",
        fe_var=group_var,
    )


# ------------------------------------------------------------------------------------------ simulator


def simulate_founding_series(
    *,
    seed: int = 20261126,
    years: int = 120,
    start_year: int = 1900,
    b0: float = 1.5,
    b1: float = 1.2,
    b2: float = -0.25,
    alpha: float = 0.15,
    capacity: float = 450.0,
    scale: float = 100.0,
) -> pd.DataFrame:
    """Seeded NB2 founding series with known parameters on a realistic (logistic) density path.

    Density follows N_t = 5 + K/(1 + exp(−0.08·(t − t_mid))) with multiplicative noise, rounded (test and
    benchmark helper, not a pipeline stage). Foundings F_t ~ NB2 with log λ_t = b0 + b1·N_t/s + b2·(N_t/s)²
    and Var = λ + α·λ², so the truth is N* = −b1/(2·b2)·s (240 for the defaults, inside the range).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(years)
    path = 5 + capacity / (1 + np.exp(-0.08 * (t - years / 2.5)))
    dens = np.round(path * np.exp(rng.normal(0, 0.03, years)))
    x = dens / scale
    mu = np.exp(b0 + b1 * x + b2 * x**2)
    f = rng.poisson(rng.gamma(1 / alpha, alpha * mu)) if alpha > 0 else rng.poisson(mu)
    return pd.DataFrame({"year": start_year + t, "density": dens.astype(float), "foundings": f.astype(int)})
