"""Grambsch–Therneau test of proportional hazards, as R ``survival`` 3.x ``cox.zph``.

The question in organizational ecology: does the effect of density (or funding dependence) on mortality
change with organizational age? Survival 3.x no longer correlates scaled Schoenfeld residuals with time;
it computes a *score test* at the fitted Cox model for the added terms x·g(t), with g the transformed
death age centered at its mean over deaths: one step of the Newton–Raphson of the expanded model
β x + γ x g(t) from (β̂, 0). For term k the statistic is u' I⁻¹ u over the block of all β plus γ_k, with
u = (0, U_γ); the global test uses all γ jointly. Transforms: ``"km"`` (g = 1 − S(t−), the pooled
Kaplan–Meier with delayed entry; R's default), ``"identity"`` (g = age), ``"log"`` and ``"rank"``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import linalg, stats

from analysis import cox_core as core
from analysis.cox import CoxPH


def _km_left(t0: np.ndarray, t1: np.ndarray, ev: np.ndarray, w: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Pooled Kaplan–Meier S(t−) with risk sets start < t <= stop (all strata together, as R)."""
    times = np.unique(t1[ev])
    lo = np.searchsorted(times, t0, side="right")
    hi = np.searchsorted(times, t1, side="right")
    k = times.size + 1
    n_risk = np.cumsum(np.bincount(lo, weights=w, minlength=k) - np.bincount(hi, weights=w, minlength=k))[:-1]
    deaths = np.bincount(np.searchsorted(times, t1[ev]), weights=w[ev], minlength=times.size)
    surv = np.cumprod(1.0 - deaths / n_risk)
    left = np.concatenate([[1.0], surv])
    return left[np.searchsorted(times, at, side="left")]


def cox_zph(fitted: CoxPH, transform: str = "km", global_test: bool = True) -> pd.DataFrame:
    """Per-covariate and global proportional-hazards tests of a fitted :class:`CoxPH`.

    Parameters
    ----------
    fitted
        A fitted model (its estimate must exist; dropped covariates are left out, as R's NA terms).
    transform
        ``"km"`` (default), ``"identity"``, ``"log"`` or ``"rank"`` — the function of age in the test.
    global_test
        Add the joint test of all covariates (row ``GLOBAL``).

    Returns
    -------
    pd.DataFrame
        Index: covariate names (+ ``GLOBAL``); columns ``chisq``, ``df``, ``p``. A small p says the
        hazard ratio of that covariate drifts with age.
    """
    rs: core.RiskSets | None = fitted._rs
    pl: core.PartialLikelihood | None = fitted._pl
    if rs is None or pl is None or not np.any(fitted._keep):
        raise ValueError("cox_zph needs a fitted model with at least one estimated coefficient")
    names = [n for n, k in zip(fitted.covariates_, fitted._keep, strict=True) if k]
    p = len(names)
    t0, t1, ev, w = fitted._spells
    bt = rs.bin_time
    if transform == "km":
        tt = 1.0 - _km_left(t0, t1, ev, w, bt)
    elif transform == "identity":
        tt = bt.copy()
    elif transform == "log":
        tt = np.log(bt)
    elif transform == "rank":
        # R ranks all spell stop times (average ranks); only the deaths' values matter
        all_rank = stats.rankdata(t1)
        order = np.argsort(t1, kind="stable")
        tt = all_rank[order][np.searchsorted(t1[order], bt)]
    else:
        raise ValueError(f"unknown transform {transform!r}")
    g = tt - np.sum(rs.d * tt) / np.sum(rs.d)

    u2 = (rs.w_dead * g[rs.dead_bin]) @ rs.x_dead - (pl.wt * g[rs.pair_bin]) @ pl.mu
    i11 = core.weighted_information(rs, pl, np.ones(rs.n_bins))
    i12 = core.weighted_information(rs, pl, g)
    i22 = core.weighted_information(rs, pl, g * g)
    imat = np.block([[i11, i12], [i12.T, i22]])
    u = np.concatenate([np.zeros(p), u2])
    rows = []
    for k in range(p):
        kk = np.r_[np.arange(p), p + k]
        rows.append((names[k], _score(imat[np.ix_(kk, kk)], u[kk]), 1))
    if global_test:
        rows.append(("GLOBAL", _score(imat, u), p))
    out = pd.DataFrame(rows, columns=["term", "chisq", "df"]).set_index("term")
    out["p"] = stats.chi2.sf(out["chisq"], out["df"])
    return out


def _score(imat: np.ndarray, u: np.ndarray) -> float:
    try:
        return float(u @ linalg.solve(imat, u, assume_a="sym"))
    except (linalg.LinAlgError, ValueError):
        return math.nan


def zph_tests(fitted: CoxPH, transforms: tuple[str, ...] = ("km", "identity")) -> list[dict]:
    """The PH tests as entries of ``ModelResult.tests`` (one per term and transform, plus GLOBAL)."""
    out = []
    for tr in transforms:
        try:
            table = cox_zph(fitted, transform=tr)
        except ValueError:
            continue
        for term, r in table.iterrows():
            out.append(
                {
                    "name": f"PH test (cox.zph, {tr}): {term}",
                    "statistic": float(r["chisq"]),
                    "df": int(r["df"]),
                    "p": float(r["p"]),
                    "distribution": f"chi2({int(r['df'])})",
                    "note": "Grambsch–Therneau score test as R survival 3.x cox.zph",
                }
            )
    return out
