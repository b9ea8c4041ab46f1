"""Two-part founding models for counts with excess zeros: zero-inflated NB2 (ZINB) and hurdle NB2.

Years without any founding can be more frequent than an NB2 founding process allows (a population whose
entry is blocked in some years, a register that records no foundings in quiet years). Both models add a
second equation for the zeros; the count equation keeps the founding-rate form of :mod:`analysis.founding`,
log μ_t = x_t'β (+ offset), so its ``density`` / ``density_sq`` terms give the turning point N*.

* **ZINB** (``zinb``; R ``pscl::zeroinfl(dist = "negbin")``): with probability π_t a structural zero,
  otherwise F_t ~ NB2(μ_t, α); logit π_t = z_t'γ. P(0) = π + (1 − π)·f(0), P(y) = (1 − π)·f(y) for y > 0.
* **Hurdle NB** (``hurdle_nb``; R ``pscl::hurdle(dist = "negbin", zero.dist = "binomial")``): a logit hurdle
  for any founding, logit P(F_t > 0) = z_t'γ, and a zero-truncated NB2 for the positive counts,
  P(y) = P(y > 0)·f(y)/(1 − f(0)).

Here f is the NB2 probability function, Var = μ + α·μ² (θ = 1/α). The zero equation uses the same
regressors as the count equation (pscl's default for a formula without ``|``); an offset or exposure
enters the count equation only. Parameters are named by equation — ``count:<term>``, ``zero:<term>`` — and
``alpha``.

Estimation: maximum likelihood in (β, γ, log α) with the analytic gradient (scipy BFGS, then Newton steps
on the Hessian obtained by central differences of the analytic gradient until the step is below 1e-10
relative). Starts: NB2 (:func:`analysis.count_models.fit_count`) for the count equation, a logit of the
zero indicator for the zero equation (ZINB also from a small inflation, the better optimum kept). SEs:
``observed`` — inverse observed information, α's by the delta method from log α (as pscl's
``SE.logtheta``); ``cluster`` — the project's one CR1 sandwich (:mod:`analysis.inference.vcov`) with
per-observation scores. Data problems never raise: the fit is returned with ``converged=False`` and a
reason (no zeros or only zeros, α at the boundary 0, a diverging zero equation, singular information).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from analysis.count_models import CountFit, _check_inputs, _failed, _finish, _safe_inv, fit_count
from analysis.inference.vcov import sandwich
from analysis.registry import CountFamily, Derived, Equation, ModelKind

COUNT, ZERO, ALPHA = "count:", "zero:", "alpha"
SE_TYPES = ("observed", "cluster")
#: |linear predictor| of the zero equation beyond which it is judged to diverge (π or P(y>0) at 0 or 1).
MAX_ZERO_ETA = 30.0
ALPHA_BOUNDARY = 1e-8

Objective = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


# ----------------------------------------------------------------------------------------- likelihoods


def _nb_parts(y: np.ndarray, eta: np.ndarray, lam: float) -> dict[str, np.ndarray]:
    """NB2 log f(y), log f(0) and their derivatives in η = log μ and λ = log α, per observation."""
    alpha = math.exp(lam)
    theta = 1.0 / alpha
    mu = np.exp(eta)
    am = alpha * mu
    log1p_am = np.log1p(am)
    logf0 = -theta * log1p_am
    logf = (
        special.gammaln(y + theta)
        - special.gammaln(theta)
        - special.gammaln(y + 1.0)
        + logf0
        + y * (np.log(am) - log1p_am)
    )
    # d/dθ then d/dλ = −θ d/dθ
    dlogf_dtheta = special.digamma(y + theta) - special.digamma(theta) - log1p_am + (mu - y) / (theta + mu)
    dlogf0_dtheta = -log1p_am + mu / (theta + mu)
    return {
        "logf": logf,
        "logf0": logf0,
        "dlogf_eta": (y - mu) / (1.0 + am),
        "dlogf0_eta": -mu / (1.0 + am),
        "dlogf_lam": -theta * dlogf_dtheta,
        "dlogf0_lam": -theta * dlogf0_dtheta,
        "mu": mu,
    }


def _log_expit(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -z)


def zinb_loglik_obs(
    params: np.ndarray, y: np.ndarray, x: np.ndarray, z: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ZINB log-likelihood contributions and scores (n × K) in (β, γ, log α)."""
    k, m = x.shape[1], z.shape[1]
    beta, gamma, lam = params[:k], params[k : k + m], float(params[-1])
    nb = _nb_parts(y, x @ beta + offset, lam)
    zeta = z @ gamma
    log_pi, log_1mpi = _log_expit(zeta), _log_expit(-zeta)
    zero = y == 0
    log_p0 = np.logaddexp(log_pi, log_1mpi + nb["logf0"])
    ll = np.where(zero, log_p0, log_1mpi + nb["logf"])
    pi = np.exp(log_pi)
    w_count = np.exp(log_1mpi + nb["logf0"] - log_p0)  # share of a zero that is an NB zero
    d_zeta = np.where(zero, (1.0 - w_count) - pi, -pi)  # d log P0 / dζ = π(1−π)(1−f0)/P0 = (1 − w) − π
    d_eta = np.where(zero, w_count * nb["dlogf0_eta"], nb["dlogf_eta"])
    d_lam = np.where(zero, w_count * nb["dlogf0_lam"], nb["dlogf_lam"])
    scores = np.column_stack([x * d_eta[:, None], z * d_zeta[:, None], d_lam])
    return ll, scores


def hurdle_loglik_obs(
    params: np.ndarray, y: np.ndarray, x: np.ndarray, z: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hurdle NB2 log-likelihood contributions and scores (n × K) in (β, γ, log α)."""
    k, m = x.shape[1], z.shape[1]
    beta, gamma, lam = params[:k], params[k : k + m], float(params[-1])
    nb = _nb_parts(y, x @ beta + offset, lam)
    zeta = z @ gamma
    pos = y > 0
    log_p, log_1mp = _log_expit(zeta), _log_expit(-zeta)
    log_1mf0 = np.log(-np.expm1(nb["logf0"]))
    ll = np.where(pos, log_p + nb["logf"] - log_1mf0, log_1mp)
    r = np.exp(nb["logf0"] - log_1mf0)  # f0 / (1 − f0)
    d_zeta = pos - np.exp(log_p)
    d_eta = np.where(pos, nb["dlogf_eta"] + r * nb["dlogf0_eta"], 0.0)
    d_lam = np.where(pos, nb["dlogf_lam"] + r * nb["dlogf0_lam"], 0.0)
    scores = np.column_stack([x * d_eta[:, None], z * d_zeta[:, None], d_lam])
    return ll, scores


# ------------------------------------------------------------------------------------------ estimation


def numerical_hessian(grad: Callable[[np.ndarray], np.ndarray], p: np.ndarray) -> np.ndarray:
    """Hessian by central differences of the analytic gradient (step 1e-5·max(1, |p_j|)), symmetrized."""
    h = np.empty((len(p), len(p)))
    for j in range(len(p)):
        step = 1e-5 * max(1.0, abs(p[j]))
        up, down = p.copy(), p.copy()
        up[j] += step
        down[j] -= step
        h[:, j] = (grad(up) - grad(down)) / (2.0 * step)
    return 0.5 * (h + h.T)


def _maximize(obj: Objective, start: np.ndarray, maxiter: int = 5000) -> tuple[np.ndarray, float, bool, int]:
    """Maximize Σ ll by BFGS, then Newton steps; (estimates, loglik, converged, iterations)."""

    def negative(p: np.ndarray) -> tuple[float, np.ndarray]:
        ll, s = obj(p)
        total = float(ll.sum())
        if not np.isfinite(total):
            return 1e300, np.zeros_like(p)
        return -total, -s.sum(axis=0)

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        res = optimize.minimize(
            negative, start, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": maxiter}
        )
        p, f = np.asarray(res.x, float), float(res.fun)
        iterations = int(res.nit)
        converged = False
        for _ in range(50):  # Newton polishing on the numerical Hessian of the analytic gradient
            g = -negative(p)[1]
            hess = numerical_hessian(lambda q: -negative(q)[1], p)
            try:
                step = np.linalg.solve(-hess, g)
            except np.linalg.LinAlgError:
                break
            t = 1.0
            while t > 1e-6:
                f_new = negative(p + t * step)[0]
                if f_new <= f + 1e-12 * abs(f):
                    break
                t /= 2
            else:
                break
            p, f = p + t * step, min(f, f_new)
            iterations += 1
            if np.max(np.abs(t * step) / (1.0 + np.abs(p))) < 1e-10:
                converged = True
                break
    return p, -f, converged and np.isfinite(f), iterations


def _logit_start(d: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Logit estimates of P(d = 1) by Newton (bounded steps), the zero equation's start."""
    g = np.zeros(z.shape[1])
    g[0] = math.log(max(d.mean(), 1e-3) / max(1 - d.mean(), 1e-3))
    for _ in range(50):
        p = special.expit(z @ g)
        info = z.T @ (z * (p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(info + 1e-10 * np.eye(len(g)), z.T @ (d - p))
        except np.linalg.LinAlgError:
            break
        g = g + np.clip(step, -5, 5)
        if np.max(np.abs(step)) < 1e-10:
            break
    return g


def _count_start(y: np.ndarray, x: pd.DataFrame, offset: np.ndarray) -> tuple[np.ndarray, float]:
    nb = fit_count(y, x, family="negative_binomial", offset=offset)
    if nb.converged and not nb.alpha_at_boundary:
        return np.asarray(nb.params[:-1], float), math.log(nb.alpha)
    pois = fit_count(y, x, family="poisson", offset=offset)
    beta = pois.params if pois.converged else np.r_[math.log(max(y.mean(), 0.1)), np.zeros(x.shape[1] - 1)]
    return np.asarray(beta, float), math.log(0.1)


def _pow2_scale(x: np.ndarray) -> np.ndarray:
    """Powers of two near each column's largest |value| (exact rescaling of the design)."""
    m = np.max(np.abs(x), axis=0)
    return np.where(m > 0, 2.0 ** np.round(np.log2(np.where(m > 0, m, 1.0))), 1.0)


def fit_two_part(
    y: np.ndarray | pd.Series,
    x: pd.DataFrame,
    *,
    model: str,
    offset: np.ndarray | pd.Series | None = None,
    se_type: str = "observed",
    groups: np.ndarray | pd.Series | None = None,
) -> CountFit:
    """Fit a ZINB (``model="zinb"``) or hurdle NB2 (``"hurdle_nb"``) model; both equations use ``x``.

    Returns a :class:`CountFit` with parameters ``count:<col>``, ``zero:<col>``, ``alpha`` (estimates, SEs
    and covariance in α), the full log-likelihood (as R's ``logLik``), k = 2·cols + 1, fitted count means
    ``mu``; ``converged=False`` with a reason when the model cannot be estimated (never raises for data).
    """
    if model not in ("zinb", "hurdle_nb"):
        raise ValueError(f"model must be 'zinb' or 'hurdle_nb', got {model!r}")
    cols = [str(c) for c in x.columns]
    names = [COUNT + c for c in cols] + [ZERO + c for c in cols] + [ALPHA]
    yv = np.asarray(y, dtype=float)
    off = np.zeros(len(yv)) if offset is None else np.asarray(offset, dtype=float)
    gv = None if groups is None else np.asarray(groups)
    if se_type not in SE_TYPES:
        return _failed(model, names, len(yv), f"se_type {se_type!r} is not available for {model}", se_type)
    if se_type == "cluster" and gv is None:
        raise ValueError("se_type='cluster' needs groups")
    reason = _check_inputs(yv, x, off, gv, len(names))
    if reason is None and not np.any(yv == 0):
        reason = "no zero counts: the zero equation is not identified"
    if reason is not None:
        return _failed(model, names, len(yv), reason, se_type)
    xa = x.to_numpy(dtype=float)
    scale = _pow2_scale(xa)
    xs = xa / scale
    k = xs.shape[1]
    loglik_obs = zinb_loglik_obs if model == "zinb" else hurdle_loglik_obs

    def obj(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return loglik_obs(p, yv, xs, xs, off)

    pos = yv > 0
    beta0, lam0 = _count_start(
        yv[pos] if model == "hurdle_nb" else yv,
        x[pos] if model == "hurdle_nb" else x,
        off[pos] if model == "hurdle_nb" else off,
    )
    beta0 = beta0 * scale
    if model == "hurdle_nb":
        starts = [np.r_[beta0, _logit_start(pos.astype(float), xs), lam0]]
    else:
        small = np.r_[-2.0, np.zeros(k - 1)]
        starts = [np.r_[beta0, _logit_start((~pos).astype(float), xs), lam0], np.r_[beta0, small, lam0]]
    best: tuple[np.ndarray, float, bool, int] | None = None
    for start in starts:
        run = _maximize(obj, start)
        if best is None or (run[2], run[1]) > (best[2], best[1]):
            best = run
    assert best is not None
    p, ll, converged, iterations = best
    n_zero = int(np.sum(~pos))
    if np.max(np.abs(xs @ p[k : 2 * k])) > MAX_ZERO_ETA:
        return _failed(
            model,
            names,
            len(yv),
            f"zero equation diverges (|linear predictor| > {MAX_ZERO_ETA:g}): a zero probability of 0 or 1 "
            f"(separation: {n_zero} zero count(s) in {len(yv)} rows, predicted perfectly by a regressor or "
            "fixed effect; or, for ZINB, no excess zeros)",
            se_type,
        )
    if not converged or not np.isfinite(ll):
        return _failed(model, names, len(yv), "maximum likelihood did not converge", se_type)
    if math.exp(p[-1]) < ALPHA_BOUNDARY:
        return _failed(
            model, names, len(yv), "NB2 dispersion alpha at the boundary 0 (no overdispersion)", se_type
        )
    hess = numerical_hessian(lambda q: obj(q)[1].sum(axis=0), p)
    bread = _safe_inv(-hess)
    n_groups = None
    if se_type == "cluster":
        assert gv is not None
        vc, n_groups = sandwich(bread, obj(p)[1], gv, "CR1")
    else:
        vc = bread
    # back to the user's units and from log α to α (delta method)
    alpha = math.exp(p[-1])
    jac = np.r_[1.0 / scale, 1.0 / scale, alpha]
    params = np.r_[p[:k] / scale, p[k : 2 * k] / scale, alpha]
    vc = vc * jac[:, None] * jac[None, :]
    mu = np.exp(xa @ params[:k] + off)
    fit = CountFit(
        model,
        names,
        params,
        np.sqrt(np.diag(vc)),
        vc,
        ll,
        len(names),
        len(yv),
        True,
        None,
        se_type,
        theta=1.0 / alpha,
        theta_se=float(np.sqrt(vc[-1, -1])) / alpha**2,
        n_groups=n_groups,
        iterations=iterations,
        mu=mu,
    )
    return _finish(fit)


# -------------------------------------------------------------------------------------------- registry

_ZERO_PART = "zero equation: the same regressors as the count equation (pscl's default without '|')"
_N_STAR_COUNT = Derived(
    "organizations",
    "density at the extreme of the count equation's quadratic density effect, -b1/(2 b2): delta-method and "
    "Fieller CIs, Lind-Mehlum test, with the observed density range",
)
_ALPHA_COUNT = Derived(
    "dimensionless",
    "NB2 dispersion alpha of the count equation (Var = mu + alpha mu^2): Wald CI, SE by the delta method "
    "from log alpha",
)
_CAPS = frozenset({"cluster", "offset", "fixed_effects", "turning_point"})


def column_order(result: Mapping[str, Any]) -> tuple[Any, ...]:
    """Table columns: the population-level sequence first, then each subpopulation panel; within a level
    the nested steps in order of size (so "LR vs previous column" reads along the sequence)."""
    spec = result.get("specification") or {}
    fe = spec.get("fixed_effects") or {}
    level = str(fe.get("variable") or "") if isinstance(fe, Mapping) else ""
    return (level != "", level, len(spec.get("terms") or []), str(result.get("model")))


MODEL_KINDS = (
    ModelKind(
        name="founding_zero_inflated",
        area="founding",
        presentation="regression",
        caption="Founding rate, zero-inflated NB2 (ZINB): count equation (count:, log link) and zero-"
        "inflation equation (zero:, logit of a structural zero)",
        table="founding_zinb",
        order=20,
        derived={"n_star": _N_STAR_COUNT, "alpha": _ALPHA_COUNT},
        capabilities=_CAPS,
        sort=column_order,
        equations=(
            Equation(COUNT, "Count equation (NB2, log link)"),
            Equation(ZERO, "Zero-inflation equation (logit of a structural zero)"),
        ),
        description="zero-inflated NB2 founding model (pscl::zeroinfl, dist = negbin)",
    ),
    ModelKind(
        name="founding_hurdle",
        area="founding",
        presentation="regression",
        caption="Founding rate, hurdle NB2: count equation (count:, zero-truncated NB2, log link) and zero "
        "equation (zero:, logit of any founding)",
        table="founding_hurdle_nb",
        order=21,
        derived={"n_star": _N_STAR_COUNT, "alpha": _ALPHA_COUNT},
        capabilities=_CAPS,
        sort=column_order,
        equations=(
            Equation(COUNT, "Count equation (zero-truncated NB2, log link)"),
            Equation(ZERO, "Zero hurdle equation (logit of any founding)"),
        ),
        description="hurdle NB2 founding model (pscl::hurdle, dist = negbin, zero.dist = binomial)",
    ),
)


def _fitter(model: str) -> Callable[..., CountFit]:
    def fit(y: Any, x: pd.DataFrame, **kw: Any) -> CountFit:
        return fit_two_part(y, x, model=model, **kw)

    fit.__name__ = f"fit_{model}"
    return fit


COUNT_FAMILIES = (
    CountFamily(
        name="zinb",
        prefix="zinb",
        kind="founding_zero_inflated",
        fit=_fitter("zinb"),
        method="ML (BFGS + Newton), zero-inflated NB2: log link (count), logit (inflation)",
        variance="mu + alpha*mu^2 (NB2) in the count equation",
        count_prefix=COUNT,
        equations=(COUNT, ZERO),
        se_types=SE_TYPES,
        options={"zero_part": _ZERO_PART, "zero_link": "logit (probability of a structural zero)"},
        notes=(_ZERO_PART + "; an offset enters the count equation only.",),
        description="zero-inflated NB2 (R pscl::zeroinfl(dist = 'negbin'))",
    ),
    CountFamily(
        name="hurdle_nb",
        prefix="hurdle_nb",
        kind="founding_hurdle",
        fit=_fitter("hurdle_nb"),
        method="ML (BFGS + Newton), hurdle NB2: logit (zero hurdle), zero-truncated NB2 with log link (count)",
        variance="mu + alpha*mu^2 (NB2, before truncation) in the count equation",
        count_prefix=COUNT,
        equations=(COUNT, ZERO),
        se_types=SE_TYPES,
        options={"zero_part": _ZERO_PART, "zero_link": "logit (probability of any founding)"},
        notes=(_ZERO_PART + "; an offset enters the count equation only.",),
        description="hurdle NB2 (R pscl::hurdle(dist = 'negbin', zero.dist = 'binomial'))",
    ),
)
