"""Weibull and Gompertz proportional-hazards mortality models with time-varying covariates and delayed entry.

The hazard of an organization at age t is h(t | x) = h0(t)·exp(x'β) with a parametric baseline:

* Weibull: h0(t) = λ·ρ·t^(ρ−1) — monotone in age; ρ < 1 is a liability of newness, ρ > 1 a rising hazard.
* Gompertz: h0(t) = λ·exp(γ·t) — γ < 0 is a hazard that declines exponentially with age (newness).

Spells are in counting-process form on the age clock, so covariates may change every year and
left-truncated organizations contribute only from their entry age: the log-likelihood is
Σ_spells [event·(log h0(stop) + x'β) − (H0(stop) − H0(start))·exp(x'β)].

Parameters are estimated by maximum likelihood (scipy ``trust-exact`` with analytic gradient and Hessian)
on the scale θ = (log λ, β, ψ) with ψ = log ρ (Weibull) or ψ = γ (Gompertz); standard errors come from the
observed information, or a cluster-robust sandwich by organization (``analysis.inference.vcov``: CR0, or
CR1 with the project's one small-sample rule G/(G−1)·(n−1)/(n−K)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.inference.design import collinear_terms
from analysis.inference.fitstats import fit_statistics
from analysis.inference.turning_point import turning_point
from analysis.inference.vcov import CR1_RULE, sandwich
from analysis.registry import DENSITY_EXTREMUM, Derived, ModelKind
from analysis.results import ModelResult, Term

_TP = DENSITY_EXTREMUM

MODEL_KINDS = (
    ModelKind(
        name="parametric",
        section="Hazard by age",
        area="survival",
        presentation="regression",
        caption="Mortality: parametric proportional-hazards models",
        table="survival_parametric",
        order=50,
        derived={
            "density_minimum": _TP,
            "lambda": Derived("per year", "baseline rate of the age distribution"),
            "shape": Derived("dimensionless", "shape of the age dependence (Weibull p, Gompertz gamma)"),
        },
        capabilities=frozenset({"cluster", "delayed_entry", "time_varying", "turning_point"}),
        sort=lambda r: r["model"],
        description="Weibull / Gompertz proportional-hazards models by maximum likelihood",
    ),
)


@dataclass(frozen=True)
class _Baseline:
    """Baseline pieces for the likelihood: log h0 at stop and ΔH0/λ over the spell, with ψ-derivatives."""

    name: str
    shape_term: str
    shape_start: float

    def parts(self, psi: float, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        """Return (log k(b), d log k/dψ, d² log k/dψ², g, g', g'') with h0 = λ·k, H0(b) − H0(a) = λ·g."""
        if self.name == "weibull":
            rho = np.exp(psi)
            lb = np.log(b)
            with np.errstate(divide="ignore", invalid="ignore"):
                la = np.where(a > 0, np.log(np.where(a > 0, a, 1.0)), 0.0)
            ar = np.where(a > 0, np.exp(rho * la), 0.0)
            br = np.exp(rho * lb)
            logk = psi + (rho - 1) * lb
            g = br - ar
            t1 = br * lb - ar * la
            t2 = br * lb**2 - ar * la**2
            return logk, 1 + rho * lb, rho * lb, g, rho * t1, rho * t1 + rho**2 * t2
        # Gompertz: g = ∫_a^b e^{γt} dt and its γ-derivatives ∫ t e^{γt}, ∫ t² e^{γt}, computed stably
        d = b - a
        z = psi * d
        p1, p2, p3 = _phi123(z)
        ea = np.exp(psi * a)
        g = ea * d * p1
        g1 = a * g + ea * d**2 * p2
        g2 = a**2 * g + 2 * a * ea * d**2 * p2 + ea * d**3 * p3
        zeros = np.zeros_like(b)
        return psi * b, b, zeros, g, g1, g2


def _phi123(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """φ_k(z) = ∫_0^1 u^(k−1) e^(zu) du for k = 1, 2, 3 (series near 0, recursion elsewhere)."""
    small = np.abs(z) < 0.1
    zs = np.where(small, z, 0.0)
    term = np.ones_like(z)
    s1, s2, s3 = np.zeros_like(z), np.zeros_like(z), np.zeros_like(z)
    for j in range(16):
        if j > 0:
            term = term * zs / j
        s1 += term / (j + 1)
        s2 += term / (j + 2)
        s3 += term / (j + 3)
    zl = np.where(small, 1.0, z)
    ez = np.exp(zl)
    r1 = np.expm1(zl) / zl
    r2 = (ez - r1) / zl
    r3 = (ez - 2 * r2) / zl
    return np.where(small, s1, r1), np.where(small, s2, r2), np.where(small, s3, r3)


BASELINES = {
    "weibull": _Baseline("weibull", "log_rho", 0.0),
    "gompertz": _Baseline("gompertz", "gamma", 0.0),
}


def _negloglik_parts(
    theta: np.ndarray,
    z: np.ndarray,
    d: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    base: _Baseline,
    need: int = 2,
) -> tuple:
    """Negative log-likelihood, gradient and Hessian in θ = (log λ, β, ψ); per-spell scores if need = 3."""
    lin, psi = theta[:-1], theta[-1]
    eta = z @ lin
    logk, dk, d2k, g, g1, g2 = base.parts(psi, a, b)
    r = np.exp(eta)
    m = r * g
    ll = float(np.sum(d * (logk + eta)) - np.sum(m))
    if need == 0:
        return (-ll,)
    s_lin = d - m
    s_psi = d * dk - r * g1
    grad = np.append(z.T @ s_lin, s_psi.sum())
    if need == 1:
        return -ll, -grad
    p = len(theta)
    h = np.empty((p, p))
    h[:-1, :-1] = -(z * m[:, None]).T @ z
    h[:-1, -1] = h[-1, :-1] = -(z.T @ (r * g1))
    h[-1, -1] = np.sum(d * d2k) - np.sum(r * g2)
    if need == 2:
        return -ll, -grad, -h
    return -ll, -grad, -h, np.column_stack([z * s_lin[:, None], s_psi])


def _newton_polish(
    theta: np.ndarray,
    z: np.ndarray,
    d: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    base: _Baseline,
    max_steps: int = 20,
) -> np.ndarray:
    """Plain Newton steps with step halving from the optimiser's solution, to machine-precision agreement."""
    nll, grad, hess = _negloglik_parts(theta, z, d, a, b, base, 2)
    for _ in range(max_steps):
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        for _half in range(30):
            cand = theta - step
            with np.errstate(all="ignore"):
                c_nll, c_grad, c_hess = _negloglik_parts(cand, z, d, a, b, base, 2)
            if np.isfinite(c_nll) and c_nll <= nll + 1e-12 * (1 + abs(nll)):
                break
            step = step / 2
        else:
            break
        theta, nll, grad, hess = cand, c_nll, c_grad, c_hess
        if np.max(np.abs(step)) < 1e-13 * (1 + np.max(np.abs(theta))):
            break
    return theta


def fit_parametric_ph(
    spells: pd.DataFrame,
    covariates: Sequence[str],
    *,
    distribution: str = "weibull",
    start: str = "start",
    stop: str = "stop",
    event: str = "event",
    id_col: str = "org_id",
    se_type: str = "model",
    density_terms: tuple[str, str] = ("density", "density_sq"),
    density_scale: float = 1.0,
    conf_level: float = 0.95,
    gtol: float = 1e-9,
    max_iter: int = 200,
    dataset: str = "default",
    model: str | None = None,
    window: tuple[int, int] | None = None,
) -> ModelResult:
    """Weibull or Gompertz proportional-hazards regression for counting-process spells with delayed entry.

    Parameters
    ----------
    spells
        Spells on the age clock, ``(start, stop]``, ``event`` = death at ``stop``; ``start`` > 0 on the
        first spell of a left-truncated organization (its age at the window start).
    covariates
        Numeric (possibly time-varying) covariate columns.
    distribution
        ``"weibull"`` (h0 = λρt^(ρ−1); terms ``log_lambda``, covariates, ``log_rho``) or ``"gompertz"``
        (h0 = λe^(γt); terms ``log_lambda``, covariates, ``gamma``).
    se_type
        ``"model"`` (observed information, default) or ``"cluster_cr1"`` / ``"cluster_cr0"``
        (sandwich clustered by ``id_col``, with / without the CR1 factor G/(G−1)·(n−1)/(n−K)).

    Returns
    -------
    ModelResult
        Coefficients on the log-hazard scale; ``derived["shape"]`` gives ρ (with CI by exp of the
        ``log_rho`` CI) or γ, ``derived["density_minimum"]`` when both density terms are present.
        Hostile inputs (no events, collinear covariates, non-convergence, diverging estimates) give a
        failed result with the reason.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> t = rng.weibull(1.5, 400) / 0.2 ** (1 / 1.5)
    >>> sp = pd.DataFrame({"org_id": range(400), "start": 0.0, "stop": t, "event": 1})
    >>> res = fit_parametric_ph(sp, [], distribution="weibull")
    >>> round(float(np.exp(res.term("log_rho").coef)), 1)
    1.5
    """
    if distribution not in BASELINES:
        raise ValueError(f"distribution must be one of {sorted(BASELINES)}")
    if se_type not in ("model", "cluster_cr0", "cluster_cr1"):
        raise ValueError("se_type must be 'model', 'cluster_cr0' or 'cluster_cr1'")
    base = BASELINES[distribution]
    covariates = list(covariates)
    names = ["log_lambda", *covariates, base.shape_term]
    h0 = "lambda*rho*t^(rho-1)" if distribution == "weibull" else "lambda*exp(gamma*t)"
    info = {
        "dataset": dataset,
        "stage": "fit_survival",
        "model": model or f"{distribution}_ph",
        "family": f"{distribution} proportional hazards",
        "kind": "parametric",
        "method": "ML (trust-exact, analytic gradient and Hessian), counting process with delayed entry",
    }
    spec = {
        "formula": f"h(t|x) = {h0} * exp({' + '.join(covariates) or '0'})",
        "terms": covariates,
        "options": {"distribution": distribution, "se_type": se_type, "clock": "age"},
    }
    a = spells[start].to_numpy(float)
    b = spells[stop].to_numpy(float)
    d = spells[event].to_numpy(float)
    n_events = int(d.sum())
    sample = {
        "unit": "spell",
        "n": len(d),
        "n_groups": int(spells[id_col].nunique()) if len(d) else 0,
        "events": n_events,
        "exposure": float(np.sum(b - a)) if len(d) else 0.0,
        "window": list(window) if window is not None else None,
    }
    fail = {**info, "specification": spec, "sample": sample}
    if len(d) == 0:
        return ModelResult.failed(reason="no observations", **fail)
    if n_events == 0:
        return ModelResult.failed(reason="no events: the mortality rate is not estimable", **fail)
    if not (np.all(b > a) and np.all(a >= 0)):
        return ModelResult.failed(reason="spells need 0 <= start < stop", **fail)
    x = spells[covariates].to_numpy(float) if covariates else np.empty((len(d), 0))
    if not np.isfinite(x).all():
        return ModelResult.failed(reason="missing or non-finite covariate values", **fail)
    z = np.column_stack([np.ones(len(d)), x])
    if len(d) <= len(names):
        return ModelResult.failed(
            reason=f"too few observations ({len(d)}) for {len(names)} parameters", **fail
        )
    bad = list(collinear_terms(z, ["log_lambda", *covariates]))
    if bad:
        return ModelResult.failed(reason=f"collinear or constant terms: {', '.join(bad)}", **fail)
    theta0 = np.zeros(len(names))
    theta0[0] = np.log(n_events / sample["exposure"])
    theta0[-1] = base.shape_start
    fun = lambda th: _negloglik_parts(th, z, d, a, b, base, 1)  # noqa: E731
    hess = lambda th: _negloglik_parts(th, z, d, a, b, base, 2)[2]  # noqa: E731
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            opt = optimize.minimize(
                fun,
                theta0,
                jac=True,
                hess=hess,
                method="trust-exact",
                options={"gtol": gtol, "maxiter": max_iter},
            )
    except (np.linalg.LinAlgError, ValueError) as exc:
        return ModelResult.failed(reason=f"optimisation failed: {exc}", **fail)
    theta = _newton_polish(opt.x, z, d, a, b, base)
    nll, ngrad, nhess, scores = _negloglik_parts(theta, z, d, a, b, base, 3)
    # trust-region codes can stop with "bad approximation" at the optimum (rounding in the objective):
    # convergence is judged by the Newton decrement after polishing, not by the optimiser's flag
    with np.errstate(all="ignore"):
        decrement = (
            float(ngrad @ np.linalg.lstsq(nhess, ngrad, rcond=None)[0])
            if np.isfinite(ngrad).all()
            else np.inf
        )
    if not np.isfinite(nll) or not (decrement < 1e-12 or (opt.success and decrement < 1e-8)):
        return ModelResult.failed(reason=f"no convergence: {opt.message}", **fail)
    try:
        vcov = np.linalg.inv(nhess)
    except np.linalg.LinAlgError:
        return ModelResult.failed(reason="singular observed information", **fail)
    if se_type != "model":
        vcov = sandwich(vcov, scores, spells[id_col].to_numpy(), se_type)[0]
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    suspect = [
        n for n, t, s in zip(names, theta, se, strict=True) if not np.isfinite(s) or abs(t) > 25 or s > 1e3
    ]
    if suspect or np.any(np.diag(vcov) <= 0):
        return ModelResult.failed(
            reason="monotone likelihood / non-identified parameters suspected: "
            + ", ".join(suspect or names),
            **fail,
        )
    res = ModelResult(**info, specification=spec, sample=sample)
    res.terms = [Term.from_estimate(n, t, s, conf_level) for n, t, s in zip(names, theta, se, strict=True)]
    res.set_vcov(names, vcov)
    k = len(theta)
    ll = -nll
    res.fit = fit_statistics(
        ll,
        k,
        len(d),
        n_bic=n_events,
        se_type="observed information"
        if se_type == "model"
        else f"cluster-robust CR0 by {id_col}"
        if se_type == "cluster_cr0"
        else f"cluster-robust CR1 ({CR1_RULE}) by {id_col}",
        iterations=int(opt.nit),
    )
    res.notes.append("BIC uses the number of deaths as the sample size (event-history convention).")
    shp = res.term(base.shape_term)
    if distribution == "weibull":
        res.derived["shape"] = {
            "rho": float(np.exp(shp.coef)),
            "ci_low": float(np.exp(shp.ci_low)),
            "ci_high": float(np.exp(shp.ci_high)),
            "interpretation": "rho < 1: hazard declines with age (liability of newness)",
        }
    else:
        res.derived["shape"] = {
            "gamma": shp.coef,
            "ci_low": shp.ci_low,
            "ci_high": shp.ci_high,
            "interpretation": "gamma < 0: hazard declines with age (liability of newness)",
        }
    lam = res.term("log_lambda")
    res.derived["lambda"] = {
        "estimate": float(np.exp(lam.coef)),
        "ci_low": float(np.exp(lam.ci_low)),
        "ci_high": float(np.exp(lam.ci_high)),
    }
    d1, d2 = density_terms
    if d1 in covariates and d2 in covariates:
        i, j = names.index(d1), names.index(d2)
        col = spells[d1].to_numpy(float)
        res.derived["density_minimum"] = turning_point(
            theta[i],
            theta[j],
            vcov[np.ix_([i, j], [i, j])],
            scale=density_scale,
            observed_range=(float(col.min()) * density_scale, float(col.max()) * density_scale),
            level=conf_level,
        )
    ages = np.linspace(max(float(a.min()), 1e-3), float(b.max()), 50)
    psi = theta[-1]
    lam0 = float(np.exp(theta[0]))
    haz = (
        lam0 * np.exp(psi) * ages ** (np.exp(psi) - 1)
        if distribution == "weibull"
        else lam0 * np.exp(psi * ages)
    )
    res.curves["baseline_hazard"] = {"age": ages.tolist(), "hazard": haz.tolist()}
    return res


def fit_weibull(spells: pd.DataFrame, covariates: Sequence[str], **kwargs) -> ModelResult:
    """Weibull PH model; see :func:`fit_parametric_ph`."""
    return fit_parametric_ph(spells, covariates, distribution="weibull", **kwargs)


def fit_gompertz(spells: pd.DataFrame, covariates: Sequence[str], **kwargs) -> ModelResult:
    """Gompertz PH model; see :func:`fit_parametric_ph`."""
    return fit_parametric_ph(spells, covariates, distribution="gompertz", **kwargs)
