"""Cox proportional-hazards regression of organizational mortality on counting-process spells.

``CoxPH`` fits h_i(a) = h_0(a) · exp(x_i(a)'β) on the age clock ``a`` with time-varying covariates
(density N_t, N_t², density at founding, log size, funding share, environment), delayed entry for
organizations founded before the observation window, Efron (default) or Breslow handling of tied ages
of death, optional strata (separate baseline hazards) and case weights. Standard errors clustered by
organization are the robust sandwich of R's ``coxph(..., cluster = org_id)``: dfbeta residuals summed
within organization, V = D'D, no small-sample factor.

It reproduces R ``survival`` 3.x exactly (risk sets ``start < t <= stop``, ``timefix`` merging of
near-tied ages, Newton–Raphson with step halving and the relative log-likelihood convergence rule) and is
vectorized with numpy (see :mod:`analysis.cox_core`), so that millions of organization-years fit in
seconds. Hostile inputs (no deaths, a covariate constant within risk sets, collinear covariates,
monotone likelihood, non-convergence) are recorded in ``converged_`` / ``reason_`` / ``notes_`` rather
than raised.

Example
-------
>>> cph = CoxPH(ties="efron").fit(spells, start="start", stop="stop", event="event",
...                                covariates=["density", "density_sq"], cluster="org_id")  # doctest: +SKIP
>>> cph.params_, cph.robust_se_  # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from analysis import cox_core as core
from analysis.inference.concordance import Concordance, concordance

_TIES = ("efron", "breslow")


def _chi2_test(stat: float, df: int) -> dict[str, Any]:
    stat = float(stat)
    ok = math.isfinite(stat) and df > 0
    return {
        "statistic": stat if ok else None,
        "df": int(df),
        "p": float(stats.chi2.sf(stat, df)) if ok else None,
    }


def _quad_solve(matrix: np.ndarray, vec: np.ndarray) -> float:
    """vec' matrix⁻¹ vec (R's ``coxph.wtest``), NaN when the matrix is singular."""
    if vec.size == 0:
        return math.nan
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            return float(vec @ linalg.solve(matrix, vec, assume_a="sym"))
    except (linalg.LinAlgError, ValueError):
        return math.nan


def _identifiable(info: np.ndarray, x_var: np.ndarray, n_dead_weight: float, tol: float = 1e-9) -> np.ndarray:
    """Columns whose information is not (numerically) zero given the earlier kept columns.

    A covariate constant within every risk set (e.g. a founding-cohort dummy when each stratum is one
    cohort) has zero information; a covariate that is a linear combination of earlier ones has zero
    partial information. Both are dropped (R: coefficient NA).
    """
    p = info.shape[0]
    keep = np.zeros(p, dtype=bool)
    for k in range(p):
        if not (x_var[k] > 0) or info[k, k] <= 1e-12 * n_dead_weight * x_var[k]:
            continue
        s = np.flatnonzero(keep)
        resid = info[k, k]
        if s.size:
            resid -= info[k, s] @ linalg.solve(info[np.ix_(s, s)], info[s, k], assume_a="sym")
        if resid > tol * info[k, k]:
            keep[k] = True
    return keep


class CoxPH:
    """Cox proportional-hazards model for counting-process spells, validated against R's ``coxph``.

    Parameters
    ----------
    ties : {"efron", "breslow"}
        Handling of organizations dying at the same age (yearly data: ties everywhere). Efron is R's
        default and much closer to the exact partial likelihood.
    robust : bool
        Compute the cluster-robust (sandwich) variance when ``cluster`` is given in :meth:`fit`.
    tol : float
        Convergence: relative change in the log partial likelihood (R's ``eps``).
    max_iter : int
        Maximum Newton–Raphson iterations (R's ``iter.max`` default is 20; 50 here).
    timefix : bool
        Merge ages equal up to floating-point noise, as R's ``coxph`` does by default.

    Attributes (after :meth:`fit`)
    ------------------------------
    params_ : pd.Series — log hazard ratios (NaN for dropped covariates)
    variance_ : pd.DataFrame — naive variance, inverse observed information
    robust_variance_ : pd.DataFrame or None — cluster sandwich
    se_, robust_se_ : pd.Series — standard errors from the two variances
    loglik_, loglik_null_ : float — log partial likelihood at the estimate and at β = 0
    n_obs_, n_events_, n_clusters_, n_strata_ : int
    converged_ : bool, reason_ : str or None, iterations_ : int
    lr_test_, wald_test_, score_test_, robust_score_test_ : dict(statistic, df, p)
        Wald uses the robust variance when it is available (as R's ``summary.coxph``).
    notes_ : list[str] — dropped rows/covariates and other recorded decisions
    """

    def __init__(
        self,
        ties: str = "efron",
        robust: bool = True,
        tol: float = 1e-9,
        max_iter: int = 50,
        timefix: bool = True,
    ) -> None:
        if ties not in _TIES:
            raise ValueError(f"ties must be one of {_TIES}, got {ties!r}")
        self.ties = ties
        self.robust = robust
        self.tol = tol
        self.max_iter = max_iter
        self.timefix = timefix

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        df: pd.DataFrame,
        *,
        start: str,
        stop: str,
        event: str,
        covariates: Sequence[str],
        cluster: str | None = None,
        strata: str | Sequence[str] | None = None,
        weights: str | None = None,
    ) -> CoxPH:
        """Fit the model to spells ``(start, stop]`` (ages) with a 0/1 death indicator ``event``.

        Rows with a missing value in any used column are dropped (as R's ``na.omit``) and counted in
        ``notes_``. Malformed spells (stop <= start, event not 0/1, weights <= 0) raise ``ValueError``.
        """
        covariates = list(covariates)
        strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
        used = [start, stop, event, *covariates, *strata_cols]
        used += [c for c in (cluster, weights) if c is not None]
        missing = [c for c in dict.fromkeys(used) if c not in df.columns]
        if missing:
            raise KeyError(f"columns not in data: {missing}")
        self.covariates_ = covariates
        self.notes_: list[str] = []
        #: Harrell's C of the fitted linear predictor (None until fitted, for weighted fits and failures)
        self.concordance_: Concordance | None = None
        complete = np.ones(len(df), dtype=bool)
        for c in dict.fromkeys(used):
            complete &= df[c].notna().to_numpy()
        if not complete.all():
            self.notes_.append(
                f"{int((~complete).sum())} spells with missing values dropped (complete cases)"
            )
        d = df.loc[complete] if not complete.all() else df

        t0 = d[start].to_numpy(dtype=float)
        t1 = d[stop].to_numpy(dtype=float)
        ev_raw = d[event].to_numpy(dtype=float)
        if np.any(t1 <= t0):
            raise ValueError("every spell needs stop > start (counting-process form)")
        if not np.isin(ev_raw, (0.0, 1.0)).all():
            raise ValueError("event must be 0/1")
        ev = ev_raw == 1.0
        w = d[weights].to_numpy(dtype=float) if weights else np.ones(t0.size)
        if np.any(w <= 0):
            raise ValueError("case weights must be > 0 (as R's coxph)")
        if strata_cols:
            st = (
                d[strata_cols].astype(str).agg("\x1f".join, axis=1)
                if len(strata_cols) > 1
                else d[strata_cols[0]]
            )
            st_codes, levels = pd.factorize(st, sort=True)
            #: stratum labels by code (``"a"``; several strata columns joined by ``", "``)
            self.strata_levels_ = [str(v).replace("\x1f", ", ") for v in levels]
        else:
            st_codes = np.zeros(t0.size, dtype=np.int64)
            self.strata_levels_ = [""]
        x = np.empty((t0.size, len(covariates)), order="F")
        for k, c in enumerate(covariates):
            x[:, k] = d[c].to_numpy(dtype=float)
        if self.timefix:
            t0, t1 = core.fix_ties(t0, t1)
        self.n_obs_ = int(t0.size)
        self.n_events_ = int(ev.sum())
        self.n_strata_ = int(st_codes.max() + 1) if t0.size else 0
        cl_codes = pd.factorize(d[cluster])[0] if cluster is not None else None
        self.n_clusters_ = int(cl_codes.max() + 1) if cl_codes is not None and t0.size else None
        self._spells = (t0, t1, ev, w)  # kept for the proportional-hazards test (pooled KM transform)
        self._fit_arrays(t0, t1, ev, x, w, st_codes, cl_codes)
        if self.converged_ and not weights:
            beta = np.nan_to_num(self.params_.to_numpy(dtype=float))
            self.concordance_ = concordance(t0, t1, ev, x @ beta, strata=st_codes)
        elif self.converged_:
            self.notes_.append("concordance not computed: case weights (Harrell's C here is unweighted)")
        return self

    def _init_empty(self, reason: str) -> None:
        p = len(self.covariates_)
        names = self.covariates_
        self.params_ = pd.Series(np.full(p, np.nan), index=names, name="coef")
        self.variance_ = pd.DataFrame(np.full((p, p), np.nan), index=names, columns=names)
        self.robust_variance_ = None
        self.loglik_ = math.nan
        self.loglik_null_ = math.nan
        self.converged_ = False
        self.reason_ = reason
        self.iterations_ = 0
        nan_test = {"statistic": None, "df": 0, "p": None}
        self.lr_test_ = self.wald_test_ = self.score_test_ = dict(nan_test)
        self.robust_score_test_ = None
        self.dropped_: list[str] = []
        self._rs = None
        self._pl = None
        self._keep = np.zeros(p, dtype=bool)

    def _fit_arrays(self, t0, t1, ev, x, w, st_codes, cl_codes) -> None:
        names = self.covariates_
        if self.n_obs_ == 0:
            self._init_empty("no complete spells (every row has a missing value in a used column)")
            return
        if self.n_events_ == 0:
            self._init_empty("no events: no organization dies in the spells")
            return
        rs_full = core.build_risk_sets(t0, t1, ev, x, w, st_codes, efron=self.ties == "efron")
        pl0 = core.evaluate(rs_full, np.zeros(x.shape[1]))
        x_var = (
            np.array([np.dot(rs_full.w, rs_full.x[:, k] ** 2) for k in range(x.shape[1])]) / rs_full.w.sum()
        )
        keep = _identifiable(pl0.info, x_var, float(rs_full.dw.sum()))
        self._init_empty("")
        self._keep = keep
        self.dropped_ = [n for n, k in zip(names, keep, strict=True) if not k]
        if self.dropped_:
            self.notes_.append(
                "dropped (constant within risk sets or collinear with earlier covariates; coefficient NaN): "
                + ", ".join(self.dropped_)
            )
        rs = rs_full
        if not keep.all():
            rs = core.build_risk_sets(t0, t1, ev, x[:, keep], w, st_codes, efron=self.ties == "efron")
            pl0 = core.evaluate(rs, np.zeros(int(keep.sum())))
        del rs_full
        self.loglik_null_ = pl0.loglik
        self._rs = rs
        pk = int(keep.sum())
        if pk == 0:
            self.loglik_ = pl0.loglik
            self.converged_ = False
            self.reason_ = (
                "no covariates" if not names else "no identifiable covariate (all constant within risk sets)"
            )
            return
        self.score_test_ = _chi2_test(_quad_solve(pl0.info, pl0.score), pk)

        beta, pl, converged, it, reason = self._newton(rs, pl0)
        self._pl = pl
        self.iterations_ = it
        self.loglik_ = pl.loglik
        try:
            var = linalg.inv(pl.info)
        except (linalg.LinAlgError, ValueError):
            var = np.full((pk, pk), np.nan)
        if converged and np.all(np.isfinite(var)):
            step = np.abs(pl.score @ var)
            infinite = (step > self.tol) & (step > math.sqrt(self.tol) * np.abs(beta))
            if np.any(infinite):
                kept_names = [n for n, k in zip(names, keep, strict=True) if k]
                converged = False
                reason = (
                    "monotone likelihood: coefficient(s) diverge to infinity ("
                    + ", ".join(kept_names[i] for i in np.flatnonzero(infinite))
                    + ")"
                )
        elif converged:
            converged, reason = False, "singular information matrix at the estimate"
        self.converged_ = converged
        self.reason_ = None if converged else reason

        full_beta = np.full(len(names), np.nan)
        full_beta[keep] = beta
        full_var = np.full((len(names), len(names)), np.nan)
        full_var[np.ix_(keep, keep)] = var
        self.params_ = pd.Series(full_beta, index=names, name="coef")
        self.variance_ = pd.DataFrame(full_var, index=names, columns=names)
        self.lr_test_ = _chi2_test(max(0.0, 2 * (pl.loglik - pl0.loglik)), pk)

        wald_var = var
        if self.robust and cl_codes is not None and np.all(np.isfinite(var)):
            cl = cl_codes[rs.active] if rs.n_active < cl_codes.size else cl_codes
            n_cl = int(cl_codes.max()) + 1
            u = core.cluster_scores(rs, pl, cl, n_cl)
            dfb = u @ var
            rvar = dfb.T @ dfb
            full_r = np.full((len(names), len(names)), np.nan)
            full_r[np.ix_(keep, keep)] = rvar
            self.robust_variance_ = pd.DataFrame(full_r, index=names, columns=names)
            wald_var = rvar
            u0 = core.cluster_scores(rs, pl0, cl, n_cl)
            self.robust_score_test_ = _chi2_test(_quad_solve(u0.T @ u0, u0.sum(axis=0)), pk)
        elif self.robust and cl_codes is None:
            self.notes_.append(
                "no cluster given: robust variance not computed (yearly spells of one organization are not "
                "independent; pass cluster='org_id')"
            )
        self.wald_test_ = _chi2_test(_quad_solve(wald_var, beta), pk)

    def _newton(self, rs: core.RiskSets, pl0: core.PartialLikelihood):
        """Newton–Raphson from β = 0 with step halving, stopping on the relative change in loglik."""
        beta = np.zeros(rs.x.shape[1])
        pl = pl0
        reason = f"did not converge in {self.max_iter} iterations"
        try:
            step = linalg.solve(pl.info, pl.score, assume_a="sym")
        except (linalg.LinAlgError, ValueError):
            return beta, pl, False, 0, "singular information matrix at beta = 0"
        halving = False
        for it in range(1, self.max_iter + 1):
            new = beta + step
            pl_new = core.evaluate(rs, new)
            finite = math.isfinite(pl_new.loglik)
            if finite and not halving and abs(pl_new.loglik - pl.loglik) <= self.tol * abs(pl_new.loglik):
                return new, pl_new, True, it, None  # R's rule: relative change in loglik below tol
            if not finite or pl_new.loglik < pl.loglik:
                step = step / 2  # step halving: the likelihood went down
                halving = True
                continue
            halving = False
            beta, pl = new, pl_new
            try:
                step = linalg.solve(pl.info, pl.score, assume_a="sym")
            except (linalg.LinAlgError, ValueError):
                return beta, pl, False, it, "monotone likelihood: information matrix became singular"
            if not np.all(np.isfinite(step)):
                return beta, pl, False, it, "monotone likelihood: information matrix became singular"
        return beta, pl, False, self.max_iter, reason

    # ------------------------------------------------------------ accessors
    @property
    def se_(self) -> pd.Series:
        """Naive standard errors (inverse observed information)."""
        return pd.Series(np.sqrt(np.diag(self.variance_.to_numpy())), index=self.covariates_, name="se")

    @property
    def robust_se_(self) -> pd.Series | None:
        """Cluster-robust standard errors (None when no cluster was given)."""
        if self.robust_variance_ is None:
            return None
        return pd.Series(
            np.sqrt(np.diag(self.robust_variance_.to_numpy())), index=self.covariates_, name="robust_se"
        )

    def baseline_hazard(self) -> core.BaselineHazard | None:
        """Baseline hazard increments per death age and stratum at the centering covariates (None
        before a converged fit); ``x_mean`` and the ``xbar`` columns are over the kept covariates."""
        if not getattr(self, "converged_", False) or self._rs is None or self._pl is None:
            return None
        return core.baseline_hazard(self._rs, self._pl)

    @property
    def kept_(self) -> list[str]:
        """Covariates with an estimated coefficient (the others were dropped, coefficient NaN)."""
        return [n for n, k in zip(self.covariates_, self._keep, strict=True) if k]

    @property
    def linear_predictor_(self) -> np.ndarray:
        """x'β of the spells at risk for at least one death (centered covariates), used by the PH test."""
        return self._pl.eta if self._pl is not None else np.zeros(0)
