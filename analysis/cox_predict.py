"""Predictions from a fitted Cox model: survival by covariate profile, median lifetimes, mortality multiplier.

For a profile x₀ (one organization's covariates, held fixed over its life) the predicted survival on the age
clock is S(t | x₀) = exp(−Λ₀(t)·exp(x₀'β)), with Λ₀ the Breslow (or, with Efron ties, Efron) baseline
cumulative hazard of the fitted counting-process risk sets (delayed entry: ``start < t <= stop``). Its
standard error is R's ``survfit.coxph`` default (Tsiatis 1981; Link 1984), on the cumulative-hazard scale:

    Var Λ(t | x₀) = r² [ Σ_{t_j <= t} Σ_k w̄_j / den_jk²  +  d(t)' V d(t) ],   d(t) = ∫₀ᵗ (x₀ − x̄(s)) dΛ₀(s),

with r = exp(x₀'β) and V the coefficient covariance, which is the **cluster-robust** variance when the fit
is clustered — as R, whose ``survfit.coxph`` uses ``fit$var`` (the robust one under ``cluster =``), while
the first (baseline) term stays model-based. Confidence limits are R's ``conf.type = "log"``:
S·exp(∓z·se), the upper limit capped at 1. A stratified fit gives one curve per stratum and profile (as R).

Median lifetimes and their limits follow ``print.survfit``: the first age at which the curve (the lower /
upper limit) falls to 0.5 or below, averaged with the next drop when the curve sits exactly at 0.5.

The **mortality multiplier of density**, exp(g1·N/s + g2·(N/s)²) over the observed density range with
delta-method pointwise limits (:func:`analysis.inference.turning_point.multiplier_curve`), is the hazard of
an organization at density N relative to one at N = 0, the analogue of the founding multiplier.

Example
-------
>>> cph = CoxPH().fit(spells, start="start", stop="stop", event="event",
...                   covariates=["density", "density_sq"], cluster="org_id")  # doctest: +SKIP
>>> predict_survival(cph, pd.DataFrame({"density": [1.0], "density_sq": [1.0]}))  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.cox import CoxPH
from analysis.inference.turning_point import multiplier_curve
from analysis.registry import DENSITY_EXTREMUM, Derived, ModelKind
from analysis.results import ModelResult

MODEL_KINDS = (
    ModelKind(
        name="survival_prediction",
        section="Cox proportional hazards",
        area="survival",
        presentation="none",
        caption="Mortality: predicted survival by covariate profile (Cox)",
        table="",
        order=25,
        figures=("predicted_survival", "mortality_multiplier"),
        derived={
            "profiles": Derived(
                "model units / organizations",
                "the covariate profiles (design values; density also in organizations)",
            ),
            "median_lifetime": Derived(
                "years", "median lifetime per profile and stratum with the limits from the survival CI"
            ),
            "turning_point": DENSITY_EXTREMUM,
        },
        capabilities=frozenset({"cluster", "strata", "delayed_entry", "time_varying"}),
        description="survival curves S(t|x0) with log CIs (R survfit.coxph), median lifetimes and the "
        "mortality multiplier of density from the headline Cox model",
    ),
)

#: Columns of one predicted curve (long form: one row per profile, stratum and death age).
CURVE_COLUMNS = (
    "profile",
    "stratum",
    "time",
    "survival",
    "std_err",
    "ci_low",
    "ci_high",
    "cumhaz",
    "n_risk",
    "n_event",
)


def _vcov(fitted: CoxPH, names: Sequence[str]) -> tuple[np.ndarray, str]:
    robust = fitted.robust_variance_ is not None
    v = fitted.robust_variance_ if robust else fitted.variance_
    return v.loc[list(names), list(names)].to_numpy(dtype=float), "cluster-robust" if robust else "naive"


def predict_survival(fitted: CoxPH, profiles: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Predicted survival of each profile (row of ``profiles``, named by its index) at the death ages.

    ``profiles`` holds a value for every estimated covariate (dropped ones are ignored). Returns the
    :data:`CURVE_COLUMNS` frame; ``std_err`` is the SE of the cumulative hazard (R's ``std.err``), the
    limits are log-scale (``conf.type = "log"``), ``stratum`` is ``""`` for an unstratified fit.
    """
    base = fitted.baseline_hazard()
    if base is None:
        raise ValueError("predictions need a converged Cox fit")
    kept = fitted.kept_
    missing = [c for c in kept if c not in profiles.columns]
    if missing:
        raise KeyError(f"profiles lack covariates of the model: {missing}")
    beta = fitted.params_[kept].to_numpy(dtype=float)
    vcov, _ = _vcov(fitted, kept)
    z = float(stats.norm.ppf(0.5 + level / 2))
    x0 = profiles[kept].to_numpy(dtype=float) - base.x_mean
    parts = []
    for code, label in enumerate(fitted.strata_levels_):
        idx = np.flatnonzero(base.stratum == code)
        if idx.size == 0:  # a stratum without deaths has no death ages (R: a flat curve at 1)
            continue
        cum_h = np.cumsum(base.hazard[idx])
        cum_v = np.cumsum(base.var_hazard[idx])
        cum_x = np.cumsum(base.xbar[idx], axis=0)
        for name, d in zip(profiles.index, x0, strict=True):
            r = math.exp(float(d @ beta))
            dt = np.outer(cum_h, d) - cum_x
            se = r * np.sqrt(np.maximum(cum_v + np.einsum("ij,jk,ik->i", dt, vcov, dt), 0.0))
            cumhaz = r * cum_h
            surv = np.exp(-cumhaz)
            with np.errstate(divide="ignore", invalid="ignore"):
                pos = np.where(surv > 0, surv, np.nan)
                lo, hi = pos * np.exp(-z * se), np.minimum(pos * np.exp(z * se), 1.0)
            parts.append(
                pd.DataFrame(
                    {
                        "profile": str(name),
                        "stratum": label,
                        "time": base.time[idx],
                        "survival": surv,
                        "std_err": se,
                        "ci_low": lo,
                        "ci_high": hi,
                        "cumhaz": cumhaz,
                        "n_risk": base.n_risk[idx],
                        "n_event": base.n_event[idx],
                    }
                )
            )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(CURVE_COLUMNS))


def _first_below_half(y: np.ndarray, x: np.ndarray) -> float | None:
    """R ``survmean``'s ``minmin``: the first x with y <= 0.5 (to 1.5e-8), averaged with the next drop
    when y sits at 0.5 exactly; None when y never falls that low."""
    tol = math.sqrt(np.finfo(float).eps)
    keep = ~np.isnan(y) & (y < 0.5 + tol)
    if not keep.any():
        return None
    xk, yk = x[keep], y[keep]
    if abs(yk[0] - 0.5) < tol and np.any(yk < yk[0]):
        return float((xk[0] + xk[np.flatnonzero(yk < yk[0])[0]]) / 2)
    return float(xk[0])


def median_lifetimes(curves: pd.DataFrame) -> list[dict[str, Any]]:
    """Median lifetime of each (profile, stratum) curve with the limits of ``print.survfit``: where the
    lower limit falls to 0.5 (lower bound) and where the upper limit does (upper bound); None = not reached."""
    out = []
    for (profile, stratum), g in curves.groupby(["profile", "stratum"], sort=False):
        g = g.sort_values("time")
        t = g["time"].to_numpy(dtype=float)
        out.append(
            {
                "profile": profile,
                "stratum": stratum,
                "estimate": _first_below_half(g["survival"].to_numpy(dtype=float), t),
                "ci_low": _first_below_half(g["ci_low"].to_numpy(dtype=float), t),
                "ci_high": _first_below_half(g["ci_high"].to_numpy(dtype=float), t),
            }
        )
    return out


def thin_curves(curves: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most ``max_points`` death ages per curve, evenly spaced in rank, always the first and the last."""
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    keep = []
    for _, g in curves.groupby(["profile", "stratum"], sort=False):
        idx = g.index.to_numpy()
        if idx.size > max_points:
            idx = idx[np.unique(np.round(np.linspace(0, idx.size - 1, max_points)).astype(int))]
        keep.append(idx)
    return curves.loc[np.concatenate(keep)] if keep else curves


def density_profiles(
    frame: pd.DataFrame,
    covariates: Sequence[str],
    *,
    quantiles: Sequence[float],
    density: str = "density",
    density_sq: str = "density_sq",
    scale: float = 1.0,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Profiles: every covariate at its mean over the spells (``mean``), and density at each quantile of the
    spells' density with the others at their means (``density_p10``, …).

    ``density_sq`` follows ``density`` (its square), also in the ``mean`` profile, so each profile is one
    attainable organization. Returns the design values (rows: profiles) and their description with density
    in organizations (``scale`` is the s of N/s)."""
    means = frame[list(covariates)].mean()
    rows: dict[str, pd.Series] = {}
    if density in covariates:
        dens = frame[density].to_numpy(dtype=float)
        levels = [("mean", float(np.mean(dens)))] + [
            (f"density_p{round(100 * q)}", float(np.quantile(dens, q))) for q in quantiles
        ]
    else:
        levels = [("mean", None)]
    described = []
    for name, n in levels:
        row = means.copy()
        if n is not None:
            row[density] = n
            if density_sq in covariates:
                row[density_sq] = n * n
        rows[name] = row
        described.append(
            {
                "profile": name,
                "density": None if n is None else n * scale,
                "quantile": None if name == "mean" else float(name.removeprefix("density_p")) / 100,
                "values": {c: float(row[c]) for c in covariates},
            }
        )
    return pd.DataFrame(rows).T, described


def mortality_multiplier(
    fitted: CoxPH,
    *,
    observed_range: tuple[float, float],
    scale: float = 1.0,
    density: str = "density",
    density_sq: str = "density_sq",
    n_points: int = 100,
    level: float = 0.95,
) -> dict[str, list[float]] | None:
    """exp(g1·N/s + g2·(N/s)²) over the observed range (organizations) with delta-method limits, from the
    robust variance when clustered; None without an estimated density term."""
    terms = [t for t in (density, density_sq) if t in fitted.kept_]
    if not terms or terms[0] != density:
        return None
    v, _ = _vcov(fitted, terms)
    coefs = fitted.params_[terms].to_numpy(dtype=float)
    return multiplier_curve(
        coefs, v, scale=scale, dmin=observed_range[0], dmax=observed_range[1], n_points=n_points, level=level
    )


def prediction_result(
    fitted: CoxPH,
    source: ModelResult,
    frame: pd.DataFrame,
    *,
    quantiles: Sequence[float],
    density_scale: float,
    observed_range: tuple[float, float],
    max_points: int = 100,
    level: float = 0.95,
    strata_label: str | None = None,
) -> ModelResult:
    """The ``survival_prediction`` result of the Cox model ``source`` (fitted as ``fitted`` on ``frame``):
    curves ``predicted_survival`` (thinned to ``max_points`` death ages per curve) and
    ``mortality_multiplier``, derived ``profiles``, ``median_lifetime`` (from the full curves) and the
    source's ``density_minimum`` as ``turning_point``."""
    _, se_type = _vcov(fitted, fitted.kept_)
    meta: dict[str, Any] = {
        "dataset": source.dataset,
        "stage": source.stage,
        "model": f"{source.model}_prediction",
        "family": "derived",
        "kind": "survival_prediction",
        "method": (
            "survfit.coxph: S(t|x0) = exp(-Lambda0(t) exp(x0'b)), "
            f"{fitted.ties.capitalize()} baseline hazard, Tsiatis/Link variance with the {se_type} "
            "coefficient variance, log-scale CIs"
        ),
        "specification": {
            "source_model": source.model,
            "model_formula": source.specification.get("model_formula"),
            "terms": list(fitted.covariates_),
            "ties": fitted.ties,
            "density_quantiles": [float(q) for q in quantiles],
            "density_scale": density_scale,
            "conf_type": "log",
            "level": level,
            "coefficient_variance": se_type,
            "max_points": max_points,
            "strata": strata_label,
            "clock": "age",
        },
        "sample": dict(source.sample),
    }
    if not fitted.converged_:
        return ModelResult.failed(reason=f"{source.model} did not converge", **meta)
    profiles, described = density_profiles(frame, fitted.kept_, quantiles=quantiles, scale=density_scale)
    curves = predict_survival(fitted, profiles, level=level)
    res = ModelResult(**meta)
    res.derived["profiles"] = described
    res.derived["median_lifetime"] = median_lifetimes(curves)
    tp = source.derived.get("density_minimum")
    if tp is not None:
        res.derived["turning_point"] = tp
    thinned = thin_curves(curves, max_points)
    res.curves["predicted_survival"] = {c: thinned[c].tolist() for c in CURVE_COLUMNS}
    mult = mortality_multiplier(fitted, observed_range=observed_range, scale=density_scale, level=level)
    if mult is not None:
        res.curves["mortality_multiplier"] = mult
    else:
        res.notes.append("no density term in the model: no mortality multiplier")
    res.notes.append(
        "Profiles over the model's complete-case spells (organization-years at risk): 'mean' sets every "
        "covariate to its mean, density_pQ sets density to its Q-th percentile, the others at their means; "
        "density_sq is always the square of density (the 'mean' profile too, unlike R's default curve), "
        "other transforms of density stay at their means. Covariates are held fixed over the lifetime."
    )
    if len(fitted.strata_levels_) > 1:
        res.notes.append("Stratified fit: one curve per stratum and profile (separate baseline hazards).")
    return res
