"""Carrying capacity: the logistic growth curve of population density, N_t = K / (1 + exp(−r(t − t0))).

K is the carrying capacity (the density at which the population stops growing), r the intrinsic growth
rate and t0 the inflection year (density K/2, fastest growth). Fitted by nonlinear least squares
(Levenberg–Marquardt, ``scipy.optimize.least_squares``) from data-driven start values (K0 = 1.1·max N,
r0 and t0 from the OLS line of logit(N/K0) on t). Standard errors follow R's ``nls``:
V = σ̂²(J'J)⁻¹ with σ̂² = RSS/(n − 3) and J the Jacobian at the optimum; Wald intervals and p-values use
the t distribution with n − 3 degrees of freedom (as ``summary.nls``; ``confint.default`` would use the
normal). The year the population first reached 90% of K, t90 = t0 + ln 9 / r, gets a delta-method interval.

Yearly series may have gaps (years simply absent). Rows of population-series datasets keep their
``precision``/``status`` flags in ``curves["logistic"]``; rows can be excluded by status and a note is
written when secondary or derived rows are used.

K is identified only when the series bends: a population still growing exponentially pushes K̂ far above
the data (or makes J'J singular). Such fits are recorded as not converged with ``derived.identified =
false`` and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.inference.fitstats import fit_statistics
from analysis.inference.profile import profile_interval
from analysis.registry import Derived, ModelKind
from analysis.results import ModelResult, Term
from pipeline.core import columns as C

MODEL_KINDS = (
    ModelKind(
        name="logistic_capacity",
        section="Carrying capacity and exit rates",
        figures=("logistic",),
        area="bottleneck",
        presentation="capacity",
        caption="Carrying capacity: logistic density curve and equilibrium density",
        table="bottleneck_capacity",
        order=10,
        derived={
            "identified": Derived("yes/no", "whether K is identified by the series (curvature seen)"),
            "reason": Derived("text", "why K is not identified"),
            "K_estimate_unconstrained": Derived("organizations", "K before the plausibility bound"),
            "K_over_max_observed": Derived("ratio", "K / largest observed density"),
            "K_profile": Derived("organizations", "profile-t interval of K"),
            "condition_number": Derived("dimensionless", "condition number of the Jacobian"),
            "last_observed_share_of_K": Derived("share", "last observed density / K"),
            "max_observed": Derived("organizations", "largest observed density"),
            "optimizer_status": Derived("text", "least-squares optimizer status"),
            "t90": Derived("year", "year the curve reaches 90% of K"),
        },
        capabilities=frozenset({"profile_intervals"}),
        options={"role": "curve", "quality_table": "bottleneck_data_quality"},
        description="logistic density curve N_t = K / (1 + exp(-r (t - t0))) by nonlinear least squares",
    ),
)

STAGE = "fit_bottleneck"
LN9 = math.log(9.0)
FLAG_COLUMNS = ("precision", "status")


def logistic_curve(t: np.ndarray, k: float, r: float, t0: float) -> np.ndarray:
    """N(t) = K / (1 + exp(−r (t − t0)))."""
    return k / (1.0 + np.exp(-r * (np.asarray(t, float) - t0)))


def logistic_jacobian(t: np.ndarray, k: float, r: float, t0: float) -> np.ndarray:
    """∂N/∂(K, r, t0) at each t (n × 3)."""
    d = np.asarray(t, float) - t0
    e = np.exp(-r * d)
    q = 1.0 / (1.0 + e)
    return np.column_stack([q, k * d * e * q**2, -k * r * e * q**2])


def start_values(t: np.ndarray, n: np.ndarray) -> tuple[float, float, float]:
    """K0 = 1.1·max N; r0, t0 from OLS of logit(N/K0) on t (only positive counts used)."""
    k0 = 1.1 * float(np.max(n))
    pos = n > 0
    z = np.log(n[pos] / (k0 - n[pos]))
    slope, intercept = np.polyfit(t[pos], z, 1)
    if not math.isfinite(slope) or slope <= 0:
        slope = 4.0 / max(float(np.ptp(t)), 1.0)
        return k0, slope, float(np.median(t))
    return k0, float(slope), float(-intercept / slope)


def fit_logistic(
    population: pd.DataFrame,
    *,
    value_col: str = C.DENSITY,
    year_col: str = C.YEAR,
    exclude_status: Sequence[str] = (),
    min_years: int = 5,
    max_k_ratio: float = 10.0,
    max_condition: float = 1e12,
    secondary_markers: Sequence[str] = ("secondary", "derived"),
    dataset: str = "default",
    model: str = "logistic_density",
    level: float = 0.95,
) -> ModelResult:
    """Fit the logistic carrying-capacity curve to a yearly density series.

    Parameters
    ----------
    population
        One row per year: ``year``, ``density`` (rows with a missing value are dropped — gaps are allowed),
        optionally ``precision`` and ``status`` flags (kept in the curve output).
    exclude_status
        Status values whose rows are left out of the fit (they stay in the curve as ``used = false``).
    min_years
        Fewer usable years than this → recorded failure.
    max_k_ratio
        K̂ above ``max_k_ratio`` × the largest observed density counts as "K not identified" (the series
        shows no saturation; the estimate runs off).
    max_condition
        Condition number of the column-scaled J'J above which the fit counts as not identified.

    Returns
    -------
    ModelResult
        Terms K, r, t0; ``derived`` with ``t90`` (year 90% of K is reached, delta-method CI), ``identified``;
        ``curves["logistic"]`` on a yearly grid: year, fitted, ci_low, ci_high (pointwise delta-method band),
        observed, used, and the flags.

    Examples
    --------
    >>> res = fit_logistic(population)  # doctest: +SKIP
    >>> res.term("K").coef, res.derived["t90"]["estimate"]  # doctest: +SKIP
    """
    spec = {
        "formula": "density ~ K / (1 + exp(-r * (year - t0)))",
        "value": value_col,
        "options": {
            "exclude_status": list(exclude_status),
            "min_years": min_years,
            "max_k_ratio": max_k_ratio,
            "level": level,
        },
    }
    meta: dict[str, Any] = {
        "dataset": dataset,
        "stage": STAGE,
        "model": model,
        "family": "gaussian",
        "kind": "logistic_capacity",
        "method": "nonlinear least squares (Levenberg-Marquardt), SE from the Jacobian as R nls",
        "specification": spec,
    }
    df = population.copy()
    df = df.loc[df[year_col].notna()].sort_values(year_col)
    has_value = df[value_col].notna()
    status = (
        df["status"].astype("string") if "status" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    excluded = status.isin(list(exclude_status)).fillna(False).astype(bool)
    used = has_value & ~excluded
    notes: list[str] = []
    if excluded.any():
        notes.append(
            f"{int((excluded & has_value).sum())} row(s) excluded by status: {sorted(set(exclude_status))}"
        )
    if "status" in df:
        sec = used & status.fillna("").str.contains("|".join(secondary_markers), case=False, regex=True)
        if sec.any():
            yrs = ", ".join(str(int(y)) for y in df.loc[sec, year_col])
            notes.append(
                f"{int(sec.sum())} secondary/derived row(s) used in the fit (years {yrs}); "
                "treat the estimates accordingly."
            )
    t = df.loc[used, year_col].to_numpy(float)
    n_obs = df.loc[used, value_col].to_numpy(float)
    sample = {
        "unit": "population-year",
        "n": int(len(t)),
        "events": None,
        "exposure": None,
        "window": [int(t.min()), int(t.max())] if len(t) else None,
        "years_missing_in_span": int(t.max() - t.min() + 1 - len(t)) if len(t) else None,
    }
    derived: dict[str, Any] = {"identified": False}
    curves = {"logistic": _curve_frame(df, year_col, value_col, used)}

    def fail(reason: str) -> ModelResult:
        derived["reason"] = reason
        res = ModelResult.failed(reason=reason, sample=sample, notes=notes, **meta)
        res.derived = derived
        res.curves = curves
        return res

    if len(t) < min_years:
        return fail(f"too few years with a density value ({len(t)} < {min_years})")
    if np.ptp(n_obs) == 0:
        return fail("constant series: no growth, K = the constant level, r and t0 not identified")
    if np.any(n_obs < 0):
        return fail("negative density values")
    k0, r0, t00 = start_values(t, n_obs)
    x0 = np.array([k0, r0, t00])
    scale = np.array([max(k0, 1.0), max(abs(r0), 1e-3), max(float(np.ptp(t)), 1.0)])
    try:
        sol = optimize.least_squares(
            lambda p: logistic_curve(t, *p) - n_obs,
            x0,
            jac=lambda p: logistic_jacobian(t, *p),
            method="lm",
            x_scale=scale,
            xtol=1e-15,
            ftol=1e-15,
            gtol=1e-15,
            max_nfev=2000,
        )
    except (ValueError, FloatingPointError) as exc:
        return fail(f"optimizer error: {exc}")
    k, r, t0 = (float(v) for v in sol.x)
    derived["optimizer_status"] = int(sol.status)
    derived["K_estimate_unconstrained"] = k
    n_max = float(n_obs.max())
    if np.all(np.isfinite(sol.x)) and k > max_k_ratio * n_max:
        return fail(
            f"K not identified: estimate {k:.4g} is more than {max_k_ratio:g} times the largest "
            f"observed density {n_max:.4g} (population still growing, no saturation in the data)"
        )
    if not sol.success or not np.all(np.isfinite(sol.x)):
        return fail(f"nonlinear least squares did not converge: {sol.message}")
    jac = logistic_jacobian(t, k, r, t0)
    jtj = jac.T @ jac
    dsc = np.sqrt(np.diag(jtj))
    cond = float(np.linalg.cond(jtj / np.outer(dsc, dsc))) if np.all(dsc > 0) else math.inf
    derived["condition_number"] = cond
    if r <= 0:
        return fail(f"K not identified: estimated growth rate r = {r:.3g} is not positive")
    if not math.isfinite(cond) or cond > max_condition:
        return fail(f"K not identified: Jacobian (nearly) singular, condition number {cond:.3g}")
    n = len(t)
    dof = n - 3
    rss = float(np.sum(sol.fun**2))
    if dof <= 0:
        return fail("no residual degrees of freedom")
    sigma2 = rss / dof
    vcov = sigma2 * np.linalg.inv(jtj)
    se = np.sqrt(np.diag(vcov))
    crit = float(stats.t.ppf(0.5 + level / 2, dof))
    terms = []
    for name, b, s in zip(("K", "r", "t0"), (k, r, t0), se, strict=True):
        tv = b / s
        terms.append(
            Term(
                name, b, float(s), float(tv), float(2 * stats.t.sf(abs(tv), dof)), b - crit * s, b + crit * s
            )
        )
    grad = np.array([0.0, -LN9 / r**2, 1.0])
    t90 = t0 + LN9 / r
    t90_se = float(math.sqrt(grad @ vcov @ grad))
    derived.update(
        {
            "identified": True,
            "K_over_max_observed": k / n_max,
            "t90": {
                "estimate": t90,
                "se": t90_se,
                "ci_low": t90 - crit * t90_se,
                "ci_high": t90 + crit * t90_se,
                "method": "delta method, t(n-3)",
            },
            "max_observed": n_max,
            "last_observed_share_of_K": float(n_obs[-1] / k),
        }
    )
    grid = curves["logistic"]["year"]
    g = np.asarray(grid, float)
    fitted = logistic_curve(g, k, r, t0)
    jg = logistic_jacobian(g, k, r, t0)
    band = crit * np.sqrt(np.einsum("ij,jk,ik->i", jg, vcov, jg))
    curves["logistic"].update(
        {"fitted": fitted.tolist(), "ci_low": (fitted - band).tolist(), "ci_high": (fitted + band).tolist()}
    )
    derived["K_profile"] = k_profile(
        t,
        n_obs,
        (k, r, t0),
        rss=rss,
        sigma2=sigma2,
        dof=dof,
        se_k=float(se[0]),
        level=level,
        upper_limit=max_k_ratio * n_max,
    )
    loglik = -0.5 * n * (math.log(2 * math.pi * rss / n) + 1)
    res = ModelResult(**meta, sample=sample, notes=notes, derived=derived, curves=curves)
    res.terms = terms
    res.set_vcov(["K", "r", "t0"], vcov)
    res.fit = fit_statistics(  # k = 4: K, r, t0 and sigma; df_model counts the curve's 3
        loglik,
        4,
        n,
        df_model=3,
        se_type="sigma^2 (J'J)^-1 at the optimum (as R nls); Wald CI with t(n-3)",
    )
    res.fit |= {
        "rss": rss,
        "sigma": math.sqrt(sigma2),
        "df_resid": dof,
        "nfev": int(sol.nfev),
    }
    return res


def k_profile(
    t: np.ndarray,
    n_obs: np.ndarray,
    estimate: tuple[float, float, float],
    *,
    rss: float,
    sigma2: float,
    dof: int,
    se_k: float,
    level: float,
    upper_limit: float,
) -> dict[str, Any]:
    """Profile-t interval of the carrying capacity K (Bates & Watts 1988; R ``confint`` of an ``nls`` fit):
    {K : (RSS(K) − RSS) / σ̂² ≤ t²(n − 3)}, RSS(K) minimised over r and t0 with K fixed. Unlike the Wald
    interval it cannot include K values below the data's own saturation level, and when the series has not
    bent it says so: the upper side is unbounded (no crossing up to ``upper_limit``, the identification
    bound ``max_k_ratio`` × the largest observed density)."""
    k_hat, r_hat, t0_hat = estimate
    scale = np.array([max(abs(r_hat), 1e-3), max(float(np.ptp(t)), 1.0)])

    def deviance(k_fixed: float) -> float:
        if k_fixed <= 0:
            return math.inf
        sol = optimize.least_squares(
            lambda p: logistic_curve(t, k_fixed, *p) - n_obs,
            np.array([r_hat, t0_hat]),
            jac=lambda p: logistic_jacobian(t, k_fixed, *p)[:, 1:],
            method="lm",
            x_scale=scale,
            xtol=1e-15,
            ftol=1e-15,
            gtol=1e-15,
            max_nfev=2000,
        )
        return (float(np.sum(sol.fun**2)) - rss) / sigma2 if sol.success else math.nan

    crit = float(stats.t.ppf(0.5 + level / 2, dof)) ** 2
    out = profile_interval(deviance, k_hat, step=se_k, critical=crit, limits=(1e-9, upper_limit))
    out["method"] = "profile t (RSS with r, t0 re-estimated at fixed K), t(n-3)"
    return out


def _curve_frame(df: pd.DataFrame, year_col: str, value_col: str, used: pd.Series) -> dict[str, list[Any]]:
    """Yearly grid from the first to the last year with observed (None where absent) and flags."""
    years = df[year_col].astype(int)
    if len(years) == 0:
        return {"year": []}
    grid = np.arange(int(years.min()), int(years.max()) + 1)
    by_year = df.assign(_used=used.to_numpy()).drop_duplicates(year_col, keep="last").set_index(years.name)
    by_year.index = by_year.index.astype(int)
    obs = by_year[value_col].reindex(grid)
    out: dict[str, list[Any]] = {
        "year": grid.tolist(),
        "observed": [None if pd.isna(v) else float(v) for v in obs],
        "used": [bool(v) if not pd.isna(v) else False for v in by_year["_used"].reindex(grid)],
    }
    for flag in FLAG_COLUMNS:
        if flag in by_year:
            out[flag] = [None if pd.isna(v) else str(v) for v in by_year[flag].reindex(grid)]
    return out
