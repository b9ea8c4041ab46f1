"""One fitted founding (or exit-rate) count model → the results contract, and the tests of its sequence.

Nested sequence and tests
-------------------------
:class:`analysis.founding_design.FoundingSpec.steps` lists the steps (default: baseline → +density →
+density² → +covariates); each must contain the terms of the one before. For each family the models are
fitted in order; each result carries the LR test against the previous step of its family, and each NB2 model
the boundary LR test of α = 0 against the Poisson model of the same step (χ̄² 50:50 mixture of χ²₀ and χ²₁,
p = ½·P(χ²₁ > LR), 5% critical value 2.71). ``specification.model_formula`` records each step's whole
formula.

Derived quantities (models with both density terms)
---------------------------------------------------
``derived["n_star"]``: N* in raw density units with delta-method SE and 95% CI, whether it lies inside the
observed density range, whether the signs are legitimation/competition, the Lind–Mehlum (2010) test of an
inverted U (slopes at the minimum and maximum observed density; statistic = the smaller one-sided z,
p = the larger one-sided p; normal reference because the models are ML) and the Fieller interval for N*.
``curves["multiplier"]``: the founding multiplier exp(b1·N/s + b2·(N/s)²) on 100 points over the observed
density range with pointwise 95% CIs by the delta method on the log scale (also for models with the
linear density term only).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.count_models import ALPHA, SE_LABELS, CountFit
from analysis.founding_derived import alpha_profile, n_star_profile
from analysis.founding_design import DENSITY, INTERCEPT, FoundingDesign, FoundingSpec
from analysis.inference.turning_point import multiplier_curve, turning_point
from analysis.inference.vcov import CR1_RULE
from analysis.registry import CountFamily
from analysis.results import ModelResult, Term, lr_test

STAGE = "fit_founding"
BOUNDARY_CRIT_5PCT = float(stats.chi2.ppf(0.90, 1))  # 2.7055: 5% critical value of the 50:50 chi-bar-squared


def model_formula(outcome: str, cols: list[str], fe: list[str], fe_var: str | None) -> str:
    """The formula of one fitted model in its design columns, the fixed effects written ``fe(<variable>)``."""
    rhs = [c for c in cols if c != INTERCEPT and c not in fe]
    if fe:
        rhs.append(f"fe({fe_var})")
    return f"{outcome} ~ " + (" + ".join(rhs) if rhs else "1")


def founding_result(
    fit: CountFit,
    design: FoundingDesign,
    *,
    model: str,
    step: str,
    cols: list[str],
    spec: FoundingSpec,
    se_type: str,
    dataset: str,
    unit: str,
    fe_var: str | None,
    declared: CountFamily,
) -> ModelResult:
    """The result of one count model of a founding (or exit-rate) sequence: specification, sample, fit,
    terms, the NB2 dispersion α (with its profile interval) and, with density terms, the multiplier curve
    and the density at the extreme N* (delta-method, Lind–Mehlum, Fieller and profile intervals)."""
    family = declared.name
    specification = {
        "formula": model_formula(spec.outcome, cols, design.fe_terms, fe_var),
        "model_formula": design.formulas.get(step),
        **({"subset": spec.subset} if spec.subset else {}),
        "terms": [c for c in cols if c not in design.fe_terms],
        "family": family,
        "density_scale": design.density_scale,
        "mass_scale": design.mass_scale,
        "se_type": se_type,
        "options": {
            "step": step,
            "link": "log",
            "variance": declared.variance,
            "density_scale_rule": "auto: 10^floor(log10(max density))"
            if spec.density_scale == "auto"
            else "given",
            "offset": spec.offset or spec.special_argument("offset"),
            "exposure": spec.exposure or spec.special_argument("exposure"),
            "cluster_correction": CR1_RULE if se_type == "cluster" else None,
            **declared.options,
        },
    }
    if design.fe_terms:
        specification["fixed_effects"] = {
            "variable": fe_var,
            "terms": [eq + t for eq in declared.equations for t in design.fe_terms],
            "reference": "first group in sort order",
            "display": False,
        }
    sample = {
        "unit": unit,
        "n": int(len(design.y)),
        "n_groups": int(len(pd.unique(design.groups))) if design.groups is not None else None,
        "events": int(design.y.sum()),
        "exposure": None,
        "window": design.window,
        "n_input": design.n_input,
        "dropped_missing": design.n_dropped_missing,
        "dropped_lag": design.n_dropped_lag,
        **({"excluded_by_subset": design.n_excluded_subset} if spec.subset else {}),
    }
    base: dict[str, Any] = {
        "dataset": dataset,
        "stage": STAGE,
        "model": model,
        "family": family,
        "kind": declared.kind,
        "method": declared.method,
        "specification": specification,
        "sample": sample,
        "notes": list(design.notes) + list(declared.notes) + list(fit.notes),
    }
    se_label = SE_LABELS["observed"] if family == "poisson" and se_type != "cluster" else SE_LABELS[se_type]
    if family == "poisson" and se_type != "cluster":
        se_label = "observed information (= expected for the canonical log link)"
    if not fit.converged:
        res = ModelResult.failed(reason=fit.reason or "not converged", **base)
        res.fit.update(
            {
                "loglik": None,
                "aic": None,
                "bic": None,
                "df_model": fit.k_params,
                "nobs": fit.nobs,
                "se_type": se_label,
            }
        )
        return res
    res = ModelResult(**base)
    res.fit = {
        "converged": True,
        "reason": None,
        "loglik": fit.loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "df_model": fit.k_params,
        "nobs": fit.nobs,
        "se_type": se_label,
        "df_model_note": "number of estimated parameters incl. intercept, fixed effects and alpha",
        "iterations": fit.iterations,
    }
    res.terms = [
        Term.from_estimate(n, p, s, level=spec.level)
        for n, p, s in zip(fit.names, fit.params, fit.bse, strict=True)
    ]
    res.set_vcov(fit.names, fit.vcov)
    if ALPHA in fit.names:
        t_alpha = res.term(ALPHA)
        res.derived["alpha"] = {
            "estimate": fit.alpha,
            "se": t_alpha.se,
            "ci_low": t_alpha.ci_low,
            "ci_high": t_alpha.ci_high,
            "theta": fit.theta,
            "theta_se": fit.theta_se,
            "at_boundary": fit.alpha_at_boundary,
        }
        profile = spec.profile_intervals and declared.profile_intervals
        if profile and not fit.alpha_at_boundary and t_alpha.se and t_alpha.se > 0:
            res.derived["alpha"]["profile"] = alpha_profile(
                fit, design.y, design.x[cols], offset=design.offset, level=spec.level
            )
    names = fit.names
    d1, d2 = declared.count_prefix + DENSITY, declared.count_prefix + "density_sq"
    if d1 in names and len(design.density_raw):
        dmin, dmax = float(design.density_raw.min()), float(design.density_raw.max())
        dens = [d1] + ([d2] if d2 in names else [])
        idx = [names.index(d) for d in dens]
        b = fit.params[idx]
        v = fit.vcov[np.ix_(idx, idx)]
        res.curves["multiplier"] = multiplier_curve(
            b,
            v,
            scale=design.density_scale,
            dmin=dmin,
            dmax=dmax,
            n_points=spec.grid_points,
            level=spec.level,
        )
        if len(dens) == 2:
            b1, b2 = float(b[0]), float(b[1])
            res.derived["n_star"] = turning_point(
                b1,
                b2,
                v,
                scale=design.density_scale,
                observed_range=(dmin, dmax),
                level=spec.level,
                tests=True,
            ) | {"legitimation_competition": bool(b1 > 0 and b2 < 0)}
            ns = res.derived["n_star"]
            if (
                spec.profile_intervals
                and declared.profile_intervals
                and ns["estimate"] is not None
                and ns["se"]
            ):
                ns["profile"] = n_star_profile(
                    fit,
                    design.y,
                    design.x[cols],
                    offset=design.offset,
                    scale=design.density_scale,
                    level=spec.level,
                )
    return res


def add_sequence_tests(
    results: dict[tuple[str, str], ModelResult],
    order: list[str],
    families: Iterable[str],
    models: dict[tuple[str, str], str],
) -> None:
    """Append to ``results`` (keyed ``(family, step)``) the LR test of each step against the previous step
    of its family and, for NB2, the boundary LR test of α = 0 against the Poisson model of the same step."""
    for fam in families:
        for prev, cur in zip(order, order[1:], strict=False):
            a, b = results[(fam, prev)], results[(fam, cur)]
            if a.fit.get("converged") and b.fit.get("converged"):
                df = int(b.fit["df_model"] - a.fit["df_model"])
                t = lr_test(f"LR vs {models[(fam, prev)]}", a.fit["loglik"], b.fit["loglik"], df)
                t["restricted"] = models[(fam, prev)]
                b.tests.append(t)
    if "poisson" in families and "negative_binomial" in families:
        for step in order:
            p, nb = results[("poisson", step)], results[("negative_binomial", step)]
            if p.fit.get("converged") and nb.fit.get("converged"):
                at_b = bool(nb.derived.get("alpha", {}).get("at_boundary"))
                t = lr_test(
                    f"LR alpha=0 vs {models[('poisson', step)]}",
                    p.fit["loglik"],
                    nb.fit["loglik"] if not at_b else p.fit["loglik"],
                    1,
                    boundary=True,
                )
                t.update(
                    restricted=models[("poisson", step)],
                    critical_value_5pct=BOUNDARY_CRIT_5PCT,
                    note="boundary test of alpha = 0: 50:50 mixture of chi2(0) and chi2(1)",
                )
                nb.tests.append(t)
                nb.derived["alpha"].update(lr_statistic=t["statistic"], lr_p=t["p"])
