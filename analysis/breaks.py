"""Structural break at an unknown year: the Andrews (1993) sup-F test.

A bottleneck shows up as a change in regime of the founding rate or of density growth. For each candidate
break year τ in the trimmed range, the linear regression y_t = x_t'β + u_t is refitted with separate
coefficients before and after τ, and the Wald/Chow statistic
``F(τ) = (RSS_0 − RSS_1(τ) − RSS_2(τ)) / ((RSS_1(τ) + RSS_2(τ)) / (n − 2k))`` is computed (the form of R's
``strucchange::Fstats``, i.e. k times the textbook Chow F). The test statistic is sup_τ F(τ); the break year
is its argmax. Candidate breaks are observations h..n−h with h = floor(trim·n) (default trim 15% at each end),
where "break at observation i" means the first regime ends with observation i; ``break_year`` reports the
first year of the new regime.

The responses are kept linear so that the classic asymptotic theory applies: the founding series is
log(1 + F_t) or the founding rate F_t/N_t on a constant (and optionally density N_t/scale); density growth is
ΔN_t/N_t = (N_{t+1} − N_t)/N_t on a constant. Errors are assumed homoskedastic and serially uncorrelated;
autocorrelated series make the test over-reject.

p-values. Under no break, sup F converges to sup_{λ∈[λ1,λ2]} ‖W(λ) − λW(1)‖² / (λ(1 − λ)) for a k-dimensional
standard Brownian motion W (Andrews 1993), with [λ1, λ2] the trimmed fractions of the sample. Hansen's (1997)
response-surface approximation of this law needs his published coefficient tables, which this package does
not ship; instead the law is simulated directly: ``n_sim`` Brownian paths on a grid of ``n_grid`` steps with a
fixed seed (deterministic; cached per k and trimming). With the defaults (20,000 paths, 2,000 steps) the
simulated 10/5/1% critical values for k = 1, trim 0.15 are within Monte Carlo error of Andrews' table
(7.17, 8.68, 12.16), and the p-values agree with strucchange's Hansen approximation to about ±0.01
(tests/unit/test_breaks.py). The discrete grid makes the simulated sup slightly smaller than the
continuous one (conservative by a hair).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis.registry import Derived, ModelKind
from analysis.results import ModelResult, Term
from analysis.scaling import scaled_density
from pipeline.core import columns as C

MODEL_KINDS = (
    ModelKind(
        name="structural_break",
        section="Structural breaks",
        figures=("supf",),
        area="bottleneck",
        presentation="breaks",
        caption="Structural breaks: sup-F tests",
        table="bottleneck_breaks",
        order=30,
        derived={
            "break_year": Derived("year", "estimated break year (first year of the second regime)"),
            "break_year_convention": Derived("text", "which year the break year names"),
            "candidate_years": Derived("years", "the trimmed range of candidate break years"),
            "critical_values": Derived("F", "simulated critical values of sup-F"),
            "k": Derived("count", "number of regressors whose coefficients may break"),
            "lambda_range": Derived("share", "trimming fractions"),
            "last_year_first_regime": Derived("year", "last year before the break"),
            "p": Derived("probability", "p-value of sup-F (Hansen 1997 approximation)"),
            "sup_f": Derived("F", "sup-F statistic"),
        },
        description="Andrews (1993) sup-F test for one structural break at an unknown year",
    ),
)

STAGE = "fit_bottleneck"
N_SIM = 20_000
N_GRID = 2_000
SIM_SEED = 19930701


@lru_cache(maxsize=32)
def _sup_f_null(k: int, lam1: float, lam2: float, n_sim: int, n_grid: int, seed: int) -> np.ndarray:
    """Sorted draws of sup_λ ‖W(λ) − λW(1)‖²/(λ(1−λ)) over λ ∈ [λ1, λ2] (k-dimensional Brownian motion)."""
    rng = np.random.default_rng(seed)
    grid = np.arange(1, n_grid + 1) / n_grid
    window = (grid >= lam1 - 1e-12) & (grid <= lam2 + 1e-12)
    lam = grid[window]
    denom = lam * (1 - lam)
    out = np.empty(n_sim)
    chunk = max(1, 4_000_000 // (n_grid * k))
    for start in range(0, n_sim, chunk):
        m = min(chunk, n_sim - start)
        q = np.zeros((m, int(window.sum())))
        for _ in range(k):
            w = np.cumsum(rng.standard_normal((m, n_grid)), axis=1) / math.sqrt(n_grid)
            bridge = w[:, window] - lam[None, :] * w[:, -1:]
            q += bridge**2
        out[start : start + m] = (q / denom).max(axis=1)
    return np.sort(out)


def sup_f_pvalue(
    stat: float,
    k: int,
    lam1: float,
    lam2: float,
    *,
    n_sim: int = N_SIM,
    n_grid: int = N_GRID,
    seed: int = SIM_SEED,
) -> float:
    """Asymptotic p-value of a sup-F statistic by simulation of its Brownian-bridge limit (see module doc)."""
    draws = _sup_f_null(k, round(lam1, 10), round(lam2, 10), n_sim, n_grid, seed)
    return float((draws.size - np.searchsorted(draws, stat, side="left")) / draws.size)


def sup_f_critical_values(
    k: int,
    lam1: float,
    lam2: float,
    levels: tuple[float, ...] = (0.10, 0.05, 0.01),
    *,
    n_sim: int = N_SIM,
    n_grid: int = N_GRID,
    seed: int = SIM_SEED,
) -> dict[str, float]:
    """Simulated asymptotic critical values of sup F (keys like ``"0.05"``)."""
    draws = _sup_f_null(k, round(lam1, 10), round(lam2, 10), n_sim, n_grid, seed)
    return {f"{a:g}": float(np.quantile(draws, 1 - a)) for a in levels}


@dataclass(frozen=True)
class SupF:
    """The F sequence over candidate breaks and the sup-F test."""

    f: np.ndarray  # F(τ) for each candidate
    candidates: np.ndarray  # 0-based index of the last observation of the first regime
    break_index: int
    sup_f: float
    p: float
    lam: tuple[float, float]
    k: int
    n: int
    critical_values: dict[str, float]


def sup_f_test(
    y: np.ndarray,
    x: np.ndarray,
    *,
    trim: float = 0.15,
    n_sim: int = N_SIM,
    n_grid: int = N_GRID,
    seed: int = SIM_SEED,
) -> SupF:
    """Andrews' sup-F test of a single break in all coefficients of y = Xβ + u at an unknown point.

    Raises ``ValueError`` if the sample is too short for the trimming or y has no variation.
    """
    y = np.asarray(y, float)
    x = np.asarray(x, float).reshape(len(y), -1)
    n, k = x.shape
    h = int(math.floor(trim * n))
    lo, hi = max(h, k + 1), min(n - h, n - k - 1)
    if lo > hi:
        raise ValueError(f"too few observations ({n}) for trimming {trim} with {k} regressor(s)")
    rss0 = _rss(x, y)
    if rss0 <= 1e-14 * max(1.0, float(y @ y)):
        raise ValueError("the response has no variation around the regression: F undefined")
    cand = np.arange(lo, hi + 1)  # first regime = observations 1..i (1-based)
    f = np.empty(len(cand))
    for j, i in enumerate(cand):
        rss_u = _rss(x[:i], y[:i]) + _rss(x[i:], y[i:])
        f[j] = (rss0 - rss_u) / (rss_u / (n - 2 * k))
    j = int(np.argmax(f))
    lam = (lo / n, hi / n)
    p = sup_f_pvalue(float(f[j]), k, *lam, n_sim=n_sim, n_grid=n_grid, seed=seed)
    cv = sup_f_critical_values(k, *lam, n_sim=n_sim, n_grid=n_grid, seed=seed)
    return SupF(f, cand - 1, int(cand[j] - 1), float(f[j]), p, lam, k, n, cv)


def _rss(x: np.ndarray, y: np.ndarray) -> float:
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ beta
    return float(e @ e)


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ beta
    dof = max(len(y) - x.shape[1], 1)
    vc = (e @ e) / dof * np.linalg.pinv(x.T @ x)
    return beta, np.sqrt(np.diag(vc))


def break_result(
    years: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    names: list[str],
    *,
    model: str,
    response: str,
    dataset: str,
    trim: float,
    spec_extra: dict[str, Any] | None = None,
    notes: list[str] | None = None,
    n_sim: int = N_SIM,
    seed: int = SIM_SEED,
) -> ModelResult:
    """Run the sup-F test on a prepared regression and package it as a ModelResult."""
    spec = {
        "formula": f"{response} ~ " + " + ".join(names),
        "response": response,
        "trim": trim,
        "p_value_method": f"simulated Brownian-bridge limit ({n_sim} paths, {N_GRID} steps, seed {seed})",
        **(spec_extra or {}),
    }
    meta: dict[str, Any] = {
        "dataset": dataset,
        "stage": STAGE,
        "model": model,
        "family": "gaussian",
        "kind": "structural_break",
        "method": "Andrews (1993) sup-F (sup-Wald) test for one break at an unknown year",
        "specification": spec,
    }
    notes = list(notes or [])
    sample = {
        "unit": "population-year",
        "n": int(len(y)),
        "window": [int(years.min()), int(years.max())] if len(years) else None,
    }
    gaps = int(years.max() - years.min() + 1 - len(years)) if len(years) else 0
    if gaps:
        notes.append(
            f"{gaps} year(s) missing inside the window: the break search runs over the observed years "
            "in time order."
        )
    try:
        res_f = sup_f_test(y, x, trim=trim, n_sim=n_sim, seed=seed)
    except ValueError as exc:
        return ModelResult.failed(reason=str(exc), sample=sample, notes=notes, **meta)
    i = res_f.break_index
    first, second = slice(0, i + 1), slice(i + 1, None)
    terms = []
    for label, sl in (("before", first), ("after", second)):
        b, s = _ols(x[sl], y[sl])
        terms += [Term.from_estimate(f"{nm}_{label}", bb, ss) for nm, bb, ss in zip(names, b, s, strict=True)]
    res = ModelResult(**meta, sample=sample, notes=notes)
    res.terms = terms
    cand_years = years[res_f.candidates + 1]  # first year of the new regime for each candidate
    res.curves = {"f_stat": {"year": [int(v) for v in cand_years], "F": res_f.f.tolist()}}
    res.derived = {
        "break_year": int(years[i + 1]),
        "last_year_first_regime": int(years[i]),
        "sup_f": res_f.sup_f,
        "p": res_f.p,
        "critical_values": res_f.critical_values,
        "k": res_f.k,
        "candidate_years": [int(cand_years[0]), int(cand_years[-1])],
        "lambda_range": list(res_f.lam),
        "break_year_convention": "first year of the new regime",
    }
    res.tests = [
        {
            "name": "sup-F: no structural break",
            "statistic": res_f.sup_f,
            "df": res_f.k,
            "p": res_f.p,
            "distribution": "sup of squared Brownian bridge / (lambda(1-lambda)), simulated",
            "critical_values": res_f.critical_values,
        }
    ]
    res.fit = {
        "converged": True,
        "reason": None,
        "nobs": int(len(y)),
        "df_model": 2 * res_f.k,
        "se_type": "OLS (homoskedastic) within each regime",
    }
    return res


def break_in_founding(
    population: pd.DataFrame,
    *,
    response: Literal["log1p", "rate"] = "log1p",
    with_density: bool = False,
    density_scale: float = 1.0,
    trim: float = 0.15,
    dataset: str = "default",
    n_sim: int = N_SIM,
    seed: int = SIM_SEED,
) -> ModelResult:
    """sup-F test for a break in the founding series.

    ``response="log1p"`` regresses log(1 + F_t); ``"rate"`` the founding rate F_t/N_t (years with N_t > 0).
    With ``with_density`` the regression also has N_t/density_scale (a break then means a change in the
    intercept and the density slope together).
    """
    df = population.loc[population[C.FOUNDINGS].notna(), [C.YEAR, C.FOUNDINGS, C.DENSITY]].sort_values(C.YEAR)
    if response == "rate":
        df = df.loc[df[C.DENSITY] > 0]
        y = (df[C.FOUNDINGS] / df[C.DENSITY]).to_numpy(float)
    else:
        y = np.log1p(df[C.FOUNDINGS].to_numpy(float))
    names = ["const"]
    cols = [np.ones(len(df))]
    if with_density:
        df_ok = df[C.DENSITY].notna().to_numpy()
        df, y = df.loc[df_ok], y[df_ok]
        cols = [np.ones(len(df)), scaled_density(df[C.DENSITY].to_numpy(float), density_scale)[0]]
        names.append(C.DENSITY)
    x = np.column_stack(cols)
    return break_result(
        df[C.YEAR].to_numpy(int),
        y,
        x,
        names,
        model=f"break_founding_{response}",
        response="log(1+F_t)" if response == "log1p" else "F_t/N_t",
        dataset=dataset,
        trim=trim,
        spec_extra={"density_scale": density_scale if with_density else None},
        n_sim=n_sim,
        seed=seed,
    )


def density_growth(population: pd.DataFrame) -> pd.DataFrame:
    """ΔN_t/N_t = (N_{t+1} − N_t)/N_t for years with N_t > 0 and a known N_{t+1} (the next year's row, or
    ``density_end`` where the next year is missing)."""
    df = population[[c for c in (C.YEAR, C.DENSITY, "density_end") if c in population]].dropna(
        subset=[C.DENSITY]
    )
    df = df.sort_values(C.YEAR)
    nxt = df.set_index(C.YEAR)[C.DENSITY].reindex(df[C.YEAR] + 1).to_numpy()
    if "density_end" in df:
        nxt = np.where(np.isnan(nxt), df["density_end"].to_numpy(float), nxt)
    out = pd.DataFrame(
        {C.YEAR: df[C.YEAR].to_numpy(), "growth": (nxt - df[C.DENSITY].to_numpy()) / df[C.DENSITY].to_numpy()}
    )
    ok = np.isfinite(out["growth"]) & (df[C.DENSITY].to_numpy() > 0)
    return out.loc[ok].reset_index(drop=True)


def break_in_density_growth(
    population: pd.DataFrame,
    *,
    trim: float = 0.15,
    dataset: str = "default",
    n_sim: int = N_SIM,
    seed: int = SIM_SEED,
) -> ModelResult:
    """sup-F test for a break in the mean of density growth ΔN_t/N_t."""
    g = density_growth(population)
    return break_result(
        g[C.YEAR].to_numpy(int),
        g["growth"].to_numpy(float),
        np.ones((len(g), 1)),
        ["const"],
        model="break_density_growth",
        response="(N_{t+1}-N_t)/N_t",
        dataset=dataset,
        trim=trim,
        n_sim=n_sim,
        seed=seed,
    )
