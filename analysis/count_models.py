"""Count regressions with a log link for founding rates: Poisson and NB2 with α estimated.

The founding rate of a population (or subpopulation) is modelled as F_t ~ Poisson(λ_t) or negative
binomial NB2 with Var(F_t) = λ_t + α·λ_t², log λ_t = x_t'β (+ offset). This module is the estimator
layer only: it takes an outcome vector and a named design matrix, checks that the model is estimable, fits
it by maximum likelihood and returns a :class:`CountFit`. The organizational-ecology layer builds the
designs (:mod:`analysis.founding_design`), fits the sequences (:mod:`analysis.founding`) and turns fits into
results (:mod:`analysis.founding_result`).

Estimation
----------
* Poisson: statsmodels ``GLM`` (IRLS, deviance tolerance 1e-13 + 1e-14 relative). Observed and expected information
  coincide for the canonical log link.
* NB2: statsmodels discrete ``NegativeBinomial(loglike_method="nb2")`` by Newton's method with tight
  tolerances, started from the Poisson estimates and a moment estimate of α (then α = 0.1 and 1; if Newton
  fails from every start, BFGS in (β, log α) followed by Newton polishing). GLM's negative binomial family
  holds α fixed and is not used for estimation. The reported log-likelihood is recomputed by
  :func:`nb2_loglik` (:mod:`analysis.nb2_likelihood`), which stays finite when fitted means underflow,
  accurate as α → 0 and O(n) in memory for any counts.
* Units: every design column is divided by a power of two near its largest absolute value before fitting
  and the estimates, SEs and covariance are reported back in the user's units. The scaling is exact in
  floating point, so covariates in any units (budgets in yuan, 1e-9 shares) converge alike, and units
  differing by a power of two give bit-identical results.
  If the score of the profile log-likelihood in α at α = 0, ½·Σ[(y − μ̂)² − y], is not positive, the
  maximum lies on the boundary α = 0: the NB2 model reduces to the Poisson model, which is reported with
  ``alpha_at_boundary=True`` (α̂ = 0, its standard error undefined, LR statistic against Poisson 0, p = 1).
  The same boundary outcome is recorded when Newton's method drives α to (numerically) zero.

Standard errors (``se_type``)
-----------------------------
* ``"observed"`` (default): inverse observed information of (β, α), as Stata ``nbreg`` and statsmodels.
* ``"expected_theta_fixed"``: as R ``MASS::glm.nb`` — the expected information of β with θ = 1/α held
  fixed, (X'WX)⁻¹ with W = μ/(1 + αμ), and θ's own standard error from ``MASS::theta.ml`` (observed
  information of θ with μ fixed); SE(α) = SE(θ)/θ² by the delta method; Cov(β, α) = 0.
* ``"cluster"``: cluster-robust sandwich V = c·B·M·B with B the inverse observed information of (β, α),
  M = Σ_g s_g s_g' the outer product of the per-cluster score sums, and the project's one CR1 small-sample
  rule c = G/(G − 1)·(n − 1)/(n − K), K counting every estimated parameter incl. fixed effects and α
  (``analysis.inference.vcov``; R ``sandwich::vcovCL`` default ``type = "HC1", cadjust = TRUE``).

Hostile inputs never raise inside :func:`fit_count`: they return a ``CountFit`` with ``converged=False``
and a specific ``reason`` (too few observations, all-zero or constant outcome, negative or non-integer
counts, missing values, perfect collinearity — checked before fitting and naming the collinear terms —,
non-convergence, singular information matrix — judged on the correlation-scaled matrix, so covariates in
large raw units are not flagged). A linear predictor that diverges (|η| > 50; IRLS stalls with |η| > 20)
is reported as likely separation. Fits run with single-threaded BLAS when ``threadpoolctl`` is installed
(the designs are small; oversubscribed BLAS threads were 10–70× slower on a loaded 2-core machine).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial

from analysis.inference.design import collinear_terms
from analysis.inference.fitstats import information_criteria
from analysis.inference.vcov import sandwich
from analysis.nb2_likelihood import nb2_loglik, nb2_score_obs, theta_ml_se

Family = Literal["poisson", "negative_binomial"]
SeType = Literal["observed", "expected_theta_fixed", "cluster"]
FAMILIES: tuple[str, ...] = ("poisson", "negative_binomial")
SE_TYPES: tuple[str, ...] = ("observed", "expected_theta_fixed", "cluster")
SE_LABELS = {
    "observed": "observed information (incl. alpha)",
    "expected_theta_fixed": "expected information of beta with theta fixed (glm.nb)",
    "cluster": "cluster-robust sandwich CR1, G/(G-1)·(n-1)/(n-K)",
}
ALPHA = "alpha"

try:  # single-threaded BLAS for these small designs: oversubscribed threads were 10-70x slower on 2 cores
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover - optional
    _threadpool_limits = None


def _blas_single_thread() -> contextlib.AbstractContextManager[Any]:
    return _threadpool_limits(limits=1, user_api="blas") if _threadpool_limits else contextlib.nullcontext()


#: α̂ below this is treated as the boundary α = 0.
ALPHA_BOUNDARY = 1e-8


@dataclass
class CountFit:
    """A fitted (or failed) count regression.

    Attributes
    ----------
    family : "poisson" or "negative_binomial".
    names : parameter names; for NB2 the last one is ``"alpha"``.
    params, bse, vcov : estimates, standard errors and covariance (NaN when not fitted).
    loglik : full log-likelihood (including −log y!), as R's ``logLik``.
    k_params : number of estimated parameters (incl. intercept and α) — the AIC/BIC penalty count.
    nobs : observations used.
    converged : False when the model could not be fitted or its covariance is not usable.
    reason : why not (None when converged).
    se_type : the standard-error convention used.
    alpha_at_boundary : NB2 only — α̂ on the boundary 0 (the fit is the Poisson fit).
    theta, theta_se : θ = 1/α and its glm.nb-style standard error (NB2 only).
    n_groups : clusters (``se_type="cluster"``).
    mu : fitted means.
    """

    family: str
    names: list[str]
    params: np.ndarray
    bse: np.ndarray
    vcov: np.ndarray
    loglik: float
    k_params: int
    nobs: int
    converged: bool
    reason: str | None
    se_type: str
    alpha_at_boundary: bool = False
    theta: float = math.nan
    theta_se: float = math.nan
    n_groups: int | None = None
    iterations: int | None = None
    mu: np.ndarray = field(default_factory=lambda: np.empty(0))
    notes: list[str] = field(default_factory=list)
    se_undefined: list[str] = field(default_factory=list)

    @property
    def aic(self) -> float:
        """Akaike information criterion, −2·logL + 2k (``analysis.inference.fitstats``)."""
        return information_criteria(self.loglik, self.k_params, self.nobs)[0]

    @property
    def bic(self) -> float:
        """Bayesian information criterion, −2·logL + k·log(n)."""
        return information_criteria(self.loglik, self.k_params, self.nobs)[1]

    @property
    def alpha(self) -> float:
        """NB2 dispersion α (NaN for Poisson)."""
        return float(self.params[self.names.index(ALPHA)]) if ALPHA in self.names else math.nan

    def coef(self, name: str) -> float:
        """Estimate of parameter ``name``."""
        return float(self.params[self.names.index(name)])


def _failed(family: str, names: list[str], nobs: int, reason: str, se_type: str, **kw: Any) -> CountFit:
    k = len(names)
    nan = np.full(k, np.nan)
    return CountFit(
        family,
        names,
        nan,
        nan.copy(),
        np.full((k, k), np.nan),
        math.nan,
        k,
        nobs,
        False,
        reason,
        se_type,
        **kw,
    )


def _check_inputs(
    y: np.ndarray, x: pd.DataFrame, offset: np.ndarray, groups: np.ndarray | None, k: int
) -> str | None:
    """The reason a model cannot be estimated on these data, or None."""
    n = len(y)
    if not (
        np.all(np.isfinite(y))
        and np.all(np.isfinite(x.to_numpy(dtype=float)))
        and np.all(np.isfinite(offset))
    ):
        return "missing or non-finite values in the outcome, design or offset"
    if np.any(y < 0) or np.any(y != np.round(y)):
        return "outcome must be non-negative integer counts"
    if n == 0:
        return "no observations"
    if n <= k:
        return f"too few observations: n={n} for {k} parameters"
    if np.all(y == 0):
        return "all outcomes are zero: no events (foundings) to model"
    if np.all(y == y[0]):
        return f"no variation in the outcome (every count equals {int(y[0])})"
    coll = collinear_terms(x)
    if coll:
        parts = [
            f"{name!r} ~ {' + '.join(repr(c) for c in kept) or 'constant zero'}"
            for name, kept in coll.items()
        ]
        return "perfect collinearity in the design: " + "; ".join(parts)
    if groups is not None and len(pd.unique(groups)) < 2:
        return "cluster-robust standard errors need at least two clusters"
    return None


def _degenerate_cluster_se(fit: CountFit, model_based: np.ndarray) -> CountFit:
    """Blank cluster-robust SEs that are numerically zero (e.g. a model whose only regressors are fixed
    effects of the clustering variable: every cluster's score sum is zero, so the sandwich is 0)."""
    ref = np.sqrt(np.abs(np.diag(model_based)))
    bad = [i for i in range(len(fit.names)) if np.isfinite(ref[i]) and fit.bse[i] < 1e-6 * ref[i]]
    if bad:
        names = [fit.names[i] for i in bad]
        fit.bse = fit.bse.copy()
        fit.bse[bad] = np.nan
        fit.vcov = fit.vcov.copy()
        fit.vcov[bad, :] = np.nan
        fit.vcov[:, bad] = np.nan
        fit.se_undefined = names
        fit.notes.append(
            "cluster-robust SE not defined (score sums vanish within every cluster) for: " + ", ".join(names)
        )
    return fit


def _finish(fit: CountFit) -> CountFit:
    """Mark fits with unusable covariance matrices as not converged."""
    if fit.converged:
        skip = set(fit.se_undefined) | ({ALPHA} if fit.alpha_at_boundary else set())
        check = np.array([s for n, s in zip(fit.names, fit.bse, strict=True) if n not in skip])
        if not np.all(np.isfinite(check)) or np.any(check <= 0):
            fit.converged = False
            fit.reason = "singular or non-positive-definite information matrix: standard errors not defined"
        elif not np.all(np.isfinite(fit.params)):
            fit.converged = False
            fit.reason = "non-finite estimates"
    return fit


def _safe_inv(h: np.ndarray, max_cond: float = 1e13) -> np.ndarray:
    """Inverse of an information matrix, or all-NaN when it is singular.

    Singularity is judged on the correlation-scaled matrix D^(-1/2) H D^(-1/2) (D = diag H), so covariates
    in large raw units (budgets in yuan, mass in members) do not count as ill-conditioned.
    """
    d = np.diag(h)
    if not (np.all(np.isfinite(h)) and np.all(d > 0)):
        return np.full_like(h, np.nan)
    s = 1.0 / np.sqrt(d)
    hs = h * s[:, None] * s[None, :]
    try:
        if np.linalg.cond(hs) > max_cond:
            return np.full_like(h, np.nan)
        inv = np.linalg.inv(hs)
    except np.linalg.LinAlgError:
        return np.full_like(h, np.nan)
    return inv * s[:, None] * s[None, :]


def _fit_poisson(
    y: np.ndarray, x: pd.DataFrame, offset: np.ndarray, se_type: str, groups: np.ndarray | None, maxiter: int
) -> CountFit:
    names = [str(c) for c in x.columns]
    xa = x.to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # deviance change <= 1e-13 + 1e-14·|deviance|: an absolute 1e-13 alone is below one ulp of a
            # deviance in the hundreds, so whether it triggers depended on the CPU's last-digit rounding
            res = sm.GLM(y, xa, family=sm.families.Poisson(), offset=offset).fit(
                method="IRLS", tol=1e-13, rtol=1e-14, maxiter=maxiter
            )
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            return _failed("poisson", names, len(y), f"Poisson fit failed: {exc}", se_type)
    params = np.asarray(res.params, float)
    mu = np.asarray(res.fittedvalues, float)
    info = xa.T @ (xa * mu[:, None])
    bread = _safe_inv(info)
    n_groups = None
    if se_type == "cluster":
        assert groups is not None
        vc, n_groups = sandwich(bread, xa * (y - mu)[:, None], groups, "CR1")
    else:  # observed = expected information for the canonical link
        vc = bread
    converged = bool(res.converged)
    if not converged and np.all(np.isfinite(bread)):
        # statsmodels' IRLS deviance criterion at tol=1e-13 can fail on large counts in floating point
        # although the estimates sit at the optimum: accept when the remaining Newton step is negligible.
        step = bread @ (xa.T @ (y - mu))
        converged = bool(np.max(np.abs(step)) < 1e-9 * max(1.0, float(np.max(np.abs(params)))))
    if not converged and np.max(np.abs(xa @ params + offset)) > 20:
        return _failed(
            "poisson",
            names,
            len(y),
            "IRLS did not converge: linear predictor diverges (likely separation / a rate estimated as zero)",
            se_type,
        )
    fit = CountFit(
        "poisson",
        names,
        params,
        np.sqrt(np.diag(vc)),
        vc,
        float(res.llf),
        len(names),
        len(y),
        converged,
        None if converged else "IRLS did not converge",
        se_type,
        n_groups=n_groups,
        iterations=int(getattr(res, "fit_history", {}).get("iteration", 0) or 0),
        mu=mu,
    )
    if fit.converged and np.max(np.abs(xa @ params + offset)) > 50:
        fit.converged = False
        fit.reason = "linear predictor diverges (|eta| > 50): likely separation / a rate estimated as zero"
    if se_type == "cluster":
        fit = _degenerate_cluster_se(fit, bread)
    return _finish(fit)


@dataclass
class _NBRun:
    params: np.ndarray
    llf: float
    converged: bool
    iterations: int
    hessian: np.ndarray


def _nb_newton(
    y: np.ndarray, xa: np.ndarray, offset: np.ndarray, start: np.ndarray, maxiter: int
) -> _NBRun | None:
    """Newton's method on the NB2 log-likelihood in (β, α); if it fails from ``start``, BFGS in (β, log α)
    (statsmodels' transformed parametrisation) followed by Newton polishing. None when both fail."""
    model = NegativeBinomial(y, xa, loglike_method="nb2", offset=offset)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for method in ("newton", "bfgs"):
            try:
                st = start
                if method == "bfgs":
                    st = np.asarray(model.fit(start_params=start, method="bfgs", maxiter=5000, disp=0).params)
                    if not (np.all(np.isfinite(st)) and st[-1] > 0):
                        continue
                res = model.fit(start_params=st, method="newton", maxiter=maxiter, tol=1e-12, disp=0)
                p = np.asarray(res.params, float)
                # the log-likelihood is recomputed in a form that stays finite when some mu underflow
                llf = nb2_loglik(y, np.exp(xa @ p[:-1] + offset), float(p[-1])) if p[-1] > 0 else math.nan
                run = _NBRun(
                    p,
                    llf,
                    bool(res.mle_retvals.get("converged", False)),
                    int(res.mle_retvals.get("iterations", 0)),
                    np.asarray(model.hessian(p), float),
                )
            except (np.linalg.LinAlgError, ValueError, FloatingPointError, OverflowError):
                continue
            if (
                np.all(np.isfinite(run.params))
                and run.params[-1] > 0
                and np.isfinite(run.llf)
                and run.converged
            ):
                return run
    return None


def _fit_nb2(
    y: np.ndarray, x: pd.DataFrame, offset: np.ndarray, se_type: str, groups: np.ndarray | None, maxiter: int
) -> tuple[CountFit, CountFit]:
    """NB2 fit and the Poisson fit it started from."""
    names = [str(c) for c in x.columns] + [ALPHA]
    xa = x.to_numpy(dtype=float)
    pois = _fit_poisson(y, x, offset, "observed" if se_type != "cluster" else se_type, groups, maxiter)
    if not pois.converged:
        return _failed(
            "negative_binomial", names, len(y), f"Poisson start values failed: {pois.reason}", se_type
        ), pois
    mu0 = pois.mu
    score0 = 0.5 * float(np.sum((y - mu0) ** 2 - y))
    res = None
    if score0 > 0:
        a0 = max(float(np.sum((y - mu0) ** 2 - y) / np.sum(mu0**2)), 1e-3)
        starts = [a0, 0.1, 1.0]
        for a_start in starts:
            res = _nb_newton(y, xa, offset, np.r_[pois.params, a_start], maxiter)
            if res is not None:
                break
    if res is None or float(res.params[-1]) < ALPHA_BOUNDARY or float(res.llf) <= pois.loglik + 1e-10:
        if score0 <= 0 or res is not None or _profile_decreasing(y, mu0):
            return _boundary_fit(pois, names, se_type), pois
        return _failed(
            "negative_binomial",
            names,
            len(y),
            "NB2 maximum likelihood did not converge (Newton and BFGS; alpha away from the boundary)",
            se_type,
        ), pois
    params = np.asarray(res.params, float)
    alpha = float(params[-1])
    mu = np.exp(xa @ params[:-1] + offset)
    theta = 1.0 / alpha
    th_se = theta_ml_se(y, mu, theta)
    bread = _safe_inv(-res.hessian)
    n_groups = None
    if se_type == "observed":
        vc = bread
    elif se_type == "expected_theta_fixed":
        w = mu / (1.0 + alpha * mu)
        k = xa.shape[1]
        vc = np.zeros((k + 1, k + 1))
        vc[:k, :k] = _safe_inv(xa.T @ (xa * w[:, None]))
        vc[k, k] = (th_se / theta**2) ** 2
    else:
        assert groups is not None
        vc, n_groups = sandwich(bread, nb2_score_obs(y, xa, mu, alpha), groups, "CR1")
    conv = res.converged
    fit = CountFit(
        "negative_binomial",
        names,
        params,
        np.sqrt(np.diag(vc)),
        vc,
        float(res.llf),
        len(names),
        len(y),
        conv,
        None if conv else "NB2 Newton iterations did not converge",
        se_type,
        theta=theta,
        theta_se=th_se,
        n_groups=n_groups,
        iterations=res.iterations,
        mu=mu,
    )
    if se_type == "cluster":
        fit = _degenerate_cluster_se(fit, bread)
    return _finish(fit), pois


def _profile_decreasing(y: np.ndarray, mu: np.ndarray) -> bool:
    """Whether the NB2 log-likelihood at the Poisson means falls as α moves off 0 (boundary evidence)."""
    base = nb2_loglik(y, mu, 0.0)
    return all(nb2_loglik(y, mu, a) <= base for a in (1e-6, 1e-4, 1e-2))


def _boundary_fit(pois: CountFit, names: list[str], se_type: str) -> CountFit:
    k = len(names)
    params = np.r_[pois.params, 0.0]
    vc = np.full((k, k), np.nan)
    vc[: k - 1, : k - 1] = pois.vcov
    fit = CountFit(
        "negative_binomial",
        names,
        params,
        np.sqrt(np.diag(vc)),
        vc,
        pois.loglik,
        k,
        pois.nobs,
        True,
        None,
        se_type,
        alpha_at_boundary=True,
        theta=math.inf,
        n_groups=pois.n_groups,
        mu=pois.mu,
        notes=["alpha on the boundary (0): the NB2 maximum is the Poisson fit; SE(alpha) undefined"],
    )
    return _finish(fit)


def fit_count(
    y: np.ndarray | pd.Series,
    x: pd.DataFrame,
    *,
    family: Family = "poisson",
    offset: np.ndarray | pd.Series | None = None,
    exposure: np.ndarray | pd.Series | None = None,
    se_type: SeType = "observed",
    groups: np.ndarray | pd.Series | None = None,
    maxiter: int = 300,
) -> CountFit:
    """Fit a Poisson or NB2 count regression with log link by maximum likelihood.

    Parameters
    ----------
    y : counts (e.g. foundings F_t).
    x : design matrix with named columns, including the intercept column if wanted (``const``).
    family : ``"poisson"`` or ``"negative_binomial"`` (NB2, α estimated).
    offset, exposure : log-scale offset and/or exposure (log(exposure) is added to the offset).
    se_type : ``"observed"`` | ``"expected_theta_fixed"`` | ``"cluster"`` (see module docstring).
    groups : cluster labels (required for ``se_type="cluster"``).
    maxiter : iteration limit of IRLS / Newton.

    Returns
    -------
    CountFit
        With ``converged=False`` and a ``reason`` when the model cannot be estimated; never raises for
        data problems.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> n = rng.uniform(0, 3, 60)
    >>> x = pd.DataFrame({"const": 1.0, "density": n})
    >>> y = rng.poisson(np.exp(1 + 0.3 * n))
    >>> fit_count(y, x, family="poisson").converged
    True
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if se_type not in SE_TYPES:
        raise ValueError(f"se_type must be one of {SE_TYPES}, got {se_type!r}")
    yv = np.asarray(y, dtype=float)
    if len(yv) != len(x):
        raise ValueError("y and x have different lengths")
    off = np.zeros(len(yv)) if offset is None else np.asarray(offset, dtype=float).copy()
    if exposure is not None:
        expo = np.asarray(exposure, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            off = off + np.log(expo)
    gv = None if groups is None else np.asarray(groups)
    names = [str(c) for c in x.columns] + ([ALPHA] if family == "negative_binomial" else [])
    if se_type == "cluster" and gv is None:
        raise ValueError("se_type='cluster' needs groups")
    with _blas_single_thread():
        reason = _check_inputs(yv, x, off, gv, len(names))
    if reason is not None:
        return _failed(family, names, len(yv), reason, se_type)
    xs, scale = _unit_scaled(x)
    with _blas_single_thread():
        if family == "poisson":
            fit = _fit_poisson(yv, xs, off, se_type if se_type == "cluster" else "observed", gv, maxiter)
        else:
            fit = _fit_nb2(yv, xs, off, se_type, gv, maxiter)[0]
    return _in_user_units(fit, scale)


def _unit_scaled(x: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The design with each column divided by a power of two near its largest absolute value.

    Powers of two make the scaling exact in floating point, so a covariate in yuan and the same covariate in
    units of 2¹⁰ yuan give bit-identical fits (after rescaling), and Newton's method and the IRLS
    convergence and singularity checks see columns of order one whatever the user's units.
    """
    arr = x.to_numpy(dtype=float)
    top = np.max(np.abs(arr), axis=0) if len(arr) else np.ones(arr.shape[1])
    with np.errstate(divide="ignore"):
        scale = np.where(top > 0, np.exp2(np.round(np.log2(np.where(top > 0, top, 1.0)))), 1.0)
    return pd.DataFrame(arr / scale, columns=x.columns, index=x.index), scale


def _in_user_units(fit: CountFit, scale: np.ndarray) -> CountFit:
    """Estimates, SEs and covariance of a fit on :func:`_unit_scaled` columns, in the user's units."""
    s = np.r_[scale, np.ones(len(fit.names) - len(scale))]  # α is not scaled
    if np.all(s == 1.0):
        return fit
    fit.params = fit.params / s
    fit.bse = fit.bse / s
    fit.vcov = fit.vcov / np.outer(s, s)
    return fit


def nb2_loglik_fixed_alpha(
    y: np.ndarray, x: pd.DataFrame, alpha: float, *, offset: np.ndarray | None = None
) -> float:
    """Maximised NB2 log-likelihood over β with the dispersion α held fixed (α = 0: Poisson), for profile
    intervals of α. IRLS of the NB2 GLM with known α (statsmodels), then the full NB2 log-likelihood."""
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, float)
    xs, _ = _unit_scaled(x)
    fam = sm.families.Poisson() if alpha <= 0 else sm.families.NegativeBinomial(alpha=float(alpha))
    with warnings.catch_warnings(), _blas_single_thread():
        warnings.simplefilter("ignore")
        res = sm.GLM(np.asarray(y, float), xs.to_numpy(float), family=fam, offset=off).fit(
            tol=1e-13, rtol=1e-14, maxiter=300
        )
    mu = np.asarray(res.fittedvalues, float)
    if alpha <= 0:
        return float(np.sum(stats.poisson.logpmf(np.asarray(y), mu)))
    return float(nb2_loglik(np.asarray(y, float), mu, float(alpha)))


def fit_count_pair(y: np.ndarray | pd.Series, x: pd.DataFrame, **kwargs: Any) -> tuple[CountFit, CountFit]:
    """Fit Poisson and NB2 on the same data (the Poisson fit also provides NB2's start values)."""
    return fit_count(y, x, family="poisson", **kwargs), fit_count(y, x, family="negative_binomial", **kwargs)
