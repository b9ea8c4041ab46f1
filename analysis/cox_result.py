"""Cox model → results contract, and the density at which organizational mortality is lowest.

Density dependence in mortality (Hannan & Carroll): competition raises the death rate at high density
and legitimation lowers it at low density, so log h = … + g1·N + g2·N² with g1 < 0 < g2 is U-shaped in
N with its minimum at N_min = −g1 / (2·g2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.cox import CoxPH
from analysis.cox_zph import zph_tests
from analysis.inference.fitstats import fit_statistics
from analysis.inference.turning_point import turning_point
from analysis.registry import DENSITY_EXTREMUM, Derived, ModelKind
from analysis.results import ModelResult, Term

_TP = DENSITY_EXTREMUM
_COX_DERIVED = {
    "density_minimum": _TP,
    "n_min": _TP,
    "hazard_ratio": Derived("ratio", "exp(coef) with its CI per term"),
    "naive_se": Derived("coefficient units", "model-based SEs beside the cluster-robust ones"),
    "concordance": Derived(
        "probability",
        "Harrell's C of the linear predictor over (start, stop] risk sets, with the pair counts and its "
        "infinitesimal-jackknife SE (R survival::concordance)",
    ),
}
_COX_CAPABILITIES = frozenset({"cluster", "strata", "delayed_entry", "time_varying", "turning_point"})

MODEL_KINDS = (
    ModelKind(
        name="cox",
        section="Cox proportional hazards",
        area="survival",
        presentation="regression",
        caption="Mortality: Cox proportional hazards (age clock, delayed entry)",
        table="survival_cox",
        order=20,
        derived=_COX_DERIVED,
        capabilities=_COX_CAPABILITIES,
        options={"tests_table": "survival_cox_tests"},
        description="all-cause Cox partial likelihood (Efron ties), nested sequence",
    ),
    ModelKind(
        name="cox_cause",
        section="Competing exits",
        area="survival",
        presentation="regression",
        caption="Mortality: cause-specific Cox hazards of competing exits",
        table="survival_cause_specific",
        order=30,
        derived=_COX_DERIVED,
        capabilities=_COX_CAPABILITIES | {"competing_risks"},
        columns="cause",
        sort=lambda r: r["model"],
        description="cause-specific Cox hazard of one exit kind (the other exits censor)",
    ),
)


def density_minimum(
    fitted: CoxPH,
    linear: str = "density",
    squared: str = "density_sq",
    *,
    observed_range: tuple[float, float] | None = None,
    scale: float = 1.0,
    level: float = 0.95,
) -> dict[str, Any]:
    """The density −g1/(2·g2) at which the hazard is extreme (``analysis.inference.turning_point``).

    Uses the cluster-robust variance when available, else the naive one; ``scale`` is the s of N/s, and
    the estimate, SE, CI and ``observed_range`` are in organizations. For mortality the usual
    legitimation/competition pattern is a minimum (U shape, g2 > 0)."""
    g1, g2 = float(fitted.params_[linear]), float(fitted.params_[squared])
    vcov = fitted.robust_variance_ if fitted.robust_variance_ is not None else fitted.variance_
    v = vcov.loc[[linear, squared], [linear, squared]].to_numpy()
    out = turning_point(g1, g2, v, scale=scale, observed_range=observed_range, level=level)
    return out | {
        "g1": g1,
        "g2": g2,
        "se_type": "cluster-robust" if fitted.robust_variance_ is not None else "naive",
    }


def _test(name: str, t: dict[str, Any] | None, note: str) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "name": name,
        "statistic": t["statistic"],
        "df": t["df"],
        "p": t["p"],
        "distribution": f"chi2({t['df']})",
        "note": note,
    }


def to_model_result(
    fitted: CoxPH,
    *,
    dataset: str,
    model: str,
    spec: dict[str, Any] | None = None,
    stage: str = "fit_survival",
    inputs: dict[str, str] | None = None,
    window: Sequence[int] | None = None,
    density_terms: tuple[str, str] | None = ("density", "density_sq"),
    density_range: tuple[float, float] | None = None,
    density_scale: float = 1.0,
    zph_transforms: tuple[str, ...] = ("km", "identity"),
    level: float = 0.95,
) -> ModelResult:
    """A :class:`ModelResult` for a fitted :class:`CoxPH` (terms with cluster-robust SEs when clustered).

    Failed fits (no deaths, monotone likelihood, non-convergence) give ``fit.converged = False`` with the
    reason and no terms, as the results contract requires.
    """
    robust = fitted.robust_variance_ is not None
    method = f"Cox partial likelihood ({fitted.ties.capitalize()} ties), Newton–Raphson; " + (
        "SEs clustered by organization (R coxph cluster sandwich)" if robust else "naive SEs"
    )
    t0, t1, ev, w = fitted._spells
    sample = {
        "unit": "organization-year spell",
        "n": fitted.n_obs_,
        "n_groups": fitted.n_clusters_,
        "events": fitted.n_events_,
        "exposure": float(np.sum(w * (t1 - t0))),
        "window": list(window) if window is not None else None,
    }
    common = dict(
        dataset=dataset,
        stage=stage,
        model=model,
        family="cox",
        method=method,
        kind="cox_cause" if (spec or {}).get("cause") else "cox",
        specification=dict(spec or {"covariates": fitted.covariates_, "ties": fitted.ties}),
        sample=sample,
        inputs=dict(inputs or {}),
    )
    notes = list(fitted.notes_)
    if not fitted.converged_:
        res = ModelResult.failed(reason=fitted.reason_ or "not converged", **common)
        est = {k: (None if not math.isfinite(v) else v) for k, v in fitted.params_.items()}
        notes.append(f"estimates at the last iteration (not reported as terms): {est}")
        res.notes = notes
        res.fit.update(
            {"loglik": fitted.loglik_, "loglik_null": fitted.loglik_null_, "iterations": fitted.iterations_}
        )
        return res
    se = fitted.robust_se_ if robust else fitted.se_
    terms = [Term.from_estimate(n, fitted.params_[n], se[n], level) for n in fitted.covariates_]
    k = int(np.sum(fitted._keep))
    ll = fitted.loglik_
    fit = fit_statistics(
        ll,
        k,
        fitted.n_obs_,
        n_bic=fitted.n_events_,
        se_type="cluster-robust (org)" if robust else "observed information",
        loglik_null=fitted.loglik_null_,
        iterations=fitted.iterations_,
        ties=fitted.ties,
    )
    derived: dict[str, Any] = {
        "naive_se": {n: float(v) for n, v in fitted.se_.items()},
        "hazard_ratio": {
            t.term: {
                "estimate": math.exp(t.coef) if math.isfinite(t.coef) else None,
                "ci_low": math.exp(t.ci_low) if math.isfinite(t.ci_low) else None,
                "ci_high": math.exp(t.ci_high) if math.isfinite(t.ci_high) else None,
            }
            for t in terms
        },
    }
    if fitted.concordance_ is not None and fitted.concordance_.estimate is not None:
        derived["concordance"] = fitted.concordance_.to_dict()
        fit["concordance"] = fitted.concordance_.estimate
        fit["concordance_se"] = fitted.concordance_.se
    if density_terms and all(c in fitted.covariates_ for c in density_terms):
        derived["density_minimum"] = density_minimum(
            fitted, *density_terms, observed_range=density_range, scale=density_scale, level=level
        )
    wald_note = "robust variance" if robust else "naive variance"
    tests = [
        _test("LR vs null model", fitted.lr_test_, "2 (loglik − loglik at beta = 0)"),
        _test("Wald", fitted.wald_test_, wald_note),
        _test("score (log-rank)", fitted.score_test_, "naive, at beta = 0"),
        _test("robust score", fitted.robust_score_test_, "cluster-robust, at beta = 0"),
    ]
    tests = [t for t in tests if t is not None] + zph_tests(fitted, zph_transforms)
    res = ModelResult(**common, fit=fit, terms=terms, derived=derived, tests=tests, notes=notes)
    vc = fitted.robust_variance_ if robust else fitted.variance_
    res.set_vcov(list(fitted.covariates_), vc.to_numpy())
    return res
