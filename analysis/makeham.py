"""Gompertz–Makeham proportional-hazards mortality model with time-varying covariates and delayed entry.

The hazard of an organization at age t is h(t | x) = (c + λ·e^(γt))·exp(x'β): an age-independent
(Makeham) rate c beside a Gompertz term λe^(γt) — with γ < 0 a liability of newness that fades into a
constant background mortality c, with γ > 0 senescence on top of it. There is no intercept in x'β; c and
λ carry the level.

Spells are in counting-process form on the age clock (``(start, stop]``, left-truncated organizations
enter at their age at the window start), so the log-likelihood is

    Σ_spells [event·(log(c + λe^(γ·stop)) + x'β) − (H0(stop) − H0(start))·exp(x'β)],
    H0(b) − H0(a) = c·(b − a) + λ·∫_a^b e^(γt) dt,

with the integral computed stably for γ → 0 (``analysis.parametric``'s Gompertz pieces). Parameters are
θ = (log c, log λ, β, γ), so c and λ stay positive; they are estimated by maximum likelihood (scipy
``trust-exact`` with analytic gradient and Hessian, Newton polish) from several starts, one of them the
Gompertz fit. Standard errors: observed information, or the project's one cluster sandwich
(``analysis.inference.vcov``) on per-spell score contributions.

Identification. c = 0 is the Gompertz model, on the boundary of the parameter space. When the score for c at
the Gompertz maximum is ≤ 0 (the likelihood falls as c leaves 0) or the optimiser drives c to numerical zero,
the maximum *is* the Gompertz fit: the result reports it with c = 0, log c undefined, ``at_boundary`` and a
note — never a spurious tiny c with a huge SE as if it were an estimate. An interior c whose interval spans
more than two orders of magnitude, or that the boundary LR test does not separate from 0 (p ≥ 0.05), is
reported with ``weakly_identified`` and a note. The LR test against
Gompertz uses the 50:50 χ̄² mixture (one parameter on its boundary).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.inference.design import collinear_terms
from analysis.inference.fitstats import fit_statistics
from analysis.inference.turning_point import turning_point
from analysis.inference.vcov import CR1_RULE, sandwich
from analysis.parametric import BASELINES, fit_parametric_ph
from analysis.registry import DENSITY_EXTREMUM, Derived, ModelKind
from analysis.results import ModelResult, Term, lr_test

MODEL_KINDS = (
    ModelKind(
        name="parametric_makeham",
        section="Hazard by age",
        area="survival",
        presentation="regression",
        caption="Mortality: parametric proportional-hazards models",
        table="survival_parametric",  # shown in the same table as the Weibull and Gompertz models
        order=51,
        derived={
            "density_minimum": DENSITY_EXTREMUM,
            "makeham": Derived("per year", "age-independent (Makeham) mortality rate c, with CI"),
            "lambda": Derived("per year", "rate of the Gompertz term at age 0 (lambda), with CI"),
            "shape": Derived("per year", "Gompertz age slope gamma of the log Gompertz term, with CI"),
        },
        capabilities=frozenset({"cluster", "delayed_entry", "time_varying", "turning_point"}),
        sort=lambda r: r["model"],
        description="Gompertz-Makeham proportional-hazards model by maximum likelihood",
    ),
)

NAMES_BASE = ("log_c", "log_lambda")
#: c / (crude death rate) below this is the boundary c = 0.
C_BOUNDARY = 1e-7
#: An interior c is weakly identified when its CI spans more than this factor, or when the boundary LR test
#: against the Gompertz model has p at least WEAK_LR_P (the data do not separate c from 0).
WEAK_CI_RATIO = 100.0
WEAK_LR_P = 0.05
_GOMPERTZ = BASELINES["gompertz"]


def negloglik_parts(
    theta: np.ndarray,
    x: np.ndarray,
    d: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    need: int = 2,
) -> tuple:
    """Negative log-likelihood, gradient, Hessian in θ = (log c, log λ, β, γ); per-spell scores if need = 3.

    With k = c + λe^(γb) the baseline hazard at the spell's end, q = λe^(γb)/k, M = c(b − a) + λg and
    g, g1, g2 = ∫_a^b (1, t, t²) e^(γt) dt: log k is a log-sum-exp of (log c, log λ + γb), so its Hessian in
    (log c, log λ, γ) is q(1 − q)·w wᵀ with w = (1, −1, −b)."""
    u, v, beta, gam = theta[0], theta[1], theta[2:-1], theta[-1]
    eta = x @ beta
    r = np.exp(eta)
    _, _, _, g, g1, g2 = _GOMPERTZ.parts(gam, a, b)
    c, lam = np.exp(u), np.exp(v)
    comp = lam * np.exp(gam * b)
    k = c + comp
    q = comp / k
    dt = b - a
    m = c * dt + lam * g
    ll = float(np.sum(d * (np.log(k) + eta)) - np.sum(r * m))
    if need == 0:
        return (-ll,)
    rc, rl, rg = r * c * dt, r * lam * g, r * lam * g1  # r·∂M/∂(u, v, γ)
    s_base = np.column_stack([d * (1 - q) - rc, d * q - rl, d * b * q - rg])
    s_beta = x * (d - r * m)[:, None]
    grad = np.concatenate([s_base[:, :2].sum(0), s_beta.sum(0), s_base[:, 2:].sum(0)])
    if need == 1:
        return -ll, -grad
    p = len(theta)
    nb = x.shape[1]
    ib = np.r_[0, 1, p - 1]  # positions of (u, v, γ)
    w = np.column_stack([np.ones_like(b), -np.ones_like(b), -b])
    hb = (w * (d * q * (1 - q))[:, None]).T @ w
    hb -= np.array(
        [
            [rc.sum(), 0.0, 0.0],
            [0.0, rl.sum(), rg.sum()],
            [0.0, rg.sum(), np.sum(r * lam * g2)],
        ]
    )
    h = np.empty((p, p))
    h[np.ix_(ib, ib)] = hb
    if nb:
        js = slice(2, 2 + nb)
        h[js, js] = -(x * (r * m)[:, None]).T @ x
        cross = -x.T @ np.column_stack([rc, rl, rg])  # nb × 3
        h[js, ib] = cross
        h[ib, js] = cross.T
    if need == 2:
        return -ll, -grad, -h
    scores = np.column_stack([s_base[:, :2], s_beta, s_base[:, 2:]])
    return -ll, -grad, -h, scores


def _maximise(
    theta0: np.ndarray, args: tuple, gtol: float, max_iter: int
) -> tuple[np.ndarray, float, int, str]:
    """trust-exact from ``theta0`` then Newton steps with halving; (θ, −logL, iterations, message)."""
    fun = lambda th: negloglik_parts(th, *args, need=1)  # noqa: E731
    hess = lambda th: negloglik_parts(th, *args, need=2)[2]  # noqa: E731
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        opt = optimize.minimize(
            fun,
            theta0,
            jac=True,
            hess=hess,
            method="trust-exact",
            options={"gtol": gtol, "maxiter": max_iter},
        )
        theta = opt.x
        nll, grad, h = negloglik_parts(theta, *args, need=2)
        for _ in range(30):
            try:
                step = np.linalg.solve(h, grad)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)):
                break
            for _half in range(30):
                cand = theta - step
                c_nll, c_grad, c_h = negloglik_parts(cand, *args, need=2)
                if np.isfinite(c_nll) and c_nll <= nll + 1e-12 * (1 + abs(nll)):
                    break
                step = step / 2
            else:
                break
            theta, nll, grad, h = cand, c_nll, c_grad, c_h
            if np.max(np.abs(step)) < 1e-13 * (1 + np.max(np.abs(theta))):
                break
    return theta, float(nll), int(opt.nit), str(opt.message)


def _decrement(theta: np.ndarray, args: tuple) -> float:
    """Newton decrement gᵀH⁻¹g at θ (the convergence criterion)."""
    with np.errstate(all="ignore"):
        _, grad, h = negloglik_parts(theta, *args, need=2)
        if not np.isfinite(grad).all():
            return np.inf
        return float(grad @ np.linalg.lstsq(h, grad, rcond=None)[0])


def _ratio_ci(term: Term) -> dict[str, float]:
    return {
        "estimate": float(np.exp(term.coef)),
        "ci_low": float(np.exp(term.ci_low)),
        "ci_high": float(np.exp(term.ci_high)),
    }


def fit_makeham(
    spells: pd.DataFrame,
    covariates: Sequence[str],
    *,
    start: str = "start",
    stop: str = "stop",
    event: str = "event",
    id_col: str = "org_id",
    se_type: str = "model",
    density_terms: tuple[str, str] = ("density", "density_sq"),
    density_scale: float = 1.0,
    conf_level: float = 0.95,
    gtol: float = 1e-9,
    max_iter: int = 300,
    dataset: str = "default",
    model: str | None = None,
    window: tuple[int, int] | None = None,
) -> ModelResult:
    """Gompertz–Makeham proportional-hazards regression for counting-process spells with delayed entry.

    Parameters
    ----------
    spells
        Spells on the age clock, ``(start, stop]``, ``event`` = death at ``stop``; ``start`` > 0 on the first
        spell of a left-truncated organization.
    covariates
        Numeric (possibly time-varying) covariate columns (no intercept: c and λ carry the level).
    se_type
        ``"model"`` (observed information) or ``"cluster_cr1"`` / ``"cluster_cr0"`` (sandwich by ``id_col``).

    Returns
    -------
    ModelResult
        Kind ``parametric_makeham``; terms ``log_c``, ``log_lambda``, covariates, ``gamma``; derived
        ``makeham`` (c per year with CI, ``at_boundary``, ``weakly_identified``), ``lambda``, ``shape`` (γ)
        and ``density_minimum`` when both density terms are present; the test "LR vs Gompertz (c = 0)".
        No events, collinear covariates, non-convergence or non-identified λ / γ / β give a failed result.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> u = rng.exponential(size=3000)  # H(t) = 0.05 t + 0.3 (1 - e^(-0.5 t)) / 0.5, inverted numerically
    >>> t = np.array([optimize.brentq(lambda s: 0.05 * s + 0.6 * -np.expm1(-0.5 * s) - e, 0, 500) for e in u])
    >>> sp = pd.DataFrame({"org_id": range(3000), "start": 0.0, "stop": t, "event": 1})
    >>> res = fit_makeham(sp, [])
    >>> round(res.derived["makeham"]["estimate"], 2), round(res.term("gamma").coef, 1)
    (0.05, -0.5)
    """
    if se_type not in ("model", "cluster_cr0", "cluster_cr1"):
        raise ValueError("se_type must be 'model', 'cluster_cr0' or 'cluster_cr1'")
    covariates = list(covariates)
    names = [*NAMES_BASE, *covariates, "gamma"]
    info = {
        "dataset": dataset,
        "stage": "fit_survival",
        "model": model or "makeham",
        "family": "gompertz-makeham proportional hazards",
        "kind": "parametric_makeham",
        "method": "ML (trust-exact, analytic gradient and Hessian, Newton polish, several starts incl. the "
        "Gompertz fit), counting process with delayed entry",
    }
    spec = {
        "formula": f"h(t|x) = (c + lambda*exp(gamma*t)) * exp({' + '.join(covariates) or '0'})",
        "terms": covariates,
        "options": {"distribution": "makeham", "se_type": se_type, "clock": "age"},
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
    if len(d) <= len(names):
        return ModelResult.failed(
            reason=f"too few observations ({len(d)}) for {len(names)} parameters", **fail
        )
    bad = list(collinear_terms(np.column_stack([np.ones(len(d)), x]), ["(baseline level)", *covariates]))
    if bad:
        return ModelResult.failed(reason=f"collinear or constant terms: {', '.join(bad)}", **fail)
    if n_events < 3:
        return ModelResult.failed(reason=f"{n_events} deaths cannot identify c, lambda and gamma", **fail)
    # the Gompertz fit (c = 0): a start, the boundary solution and the LR test's restricted model
    gomp = fit_parametric_ph(
        spells, covariates, distribution="gompertz", start=start, stop=stop, event=event, id_col=id_col,
        se_type=se_type, conf_level=conf_level, gtol=gtol, max_iter=max_iter,
    )  # fmt: skip
    args = (x, d, a, b)
    crude = n_events / sample["exposure"]
    starts = []
    if gomp.fit.get("converged"):
        tg = np.array([t.coef for t in gomp.terms])  # (log λ, β, γ)
        for share in (0.5, 0.1, 0.01):
            starts.append(np.r_[np.log(share * crude), np.log1p(-share) + tg[0], tg[1:]])
    base0 = np.zeros(len(names))
    for share, gam in ((0.5, -0.2), (0.5, 0.05), (0.9, -1.0)):
        base0[:2] = np.log(share * crude), np.log((1 - share) * crude)
        base0[-1] = gam
        starts.append(base0.copy())
    best = None
    for th0 in starts:
        try:
            cand = _maximise(th0, args, gtol, max_iter)
        except (np.linalg.LinAlgError, ValueError):
            continue
        if np.isfinite(cand[1]) and (best is None or cand[1] < best[1]):
            best = cand
    if best is None:
        return ModelResult.failed(reason="optimisation failed from every start", **fail)
    theta, nll, nit, message = best
    ll_g = float(gomp.fit["loglik"]) if gomp.fit.get("converged") else -np.inf
    # boundary: the likelihood does not rise as c leaves 0 at the Gompertz maximum, or the optimum is c ≈ 0
    score_c0 = np.nan
    if gomp.fit.get("converged"):
        tg = np.array([t.coef for t in gomp.terms])
        k0 = np.exp(tg[0] + tg[-1] * b)
        score_c0 = float(np.sum(d / k0) - np.sum((b - a) * np.exp(x @ tg[1:-1])))
    at_boundary = gomp.fit.get("converged", False) and (
        score_c0 <= 0 or np.exp(theta[0]) < C_BOUNDARY * crude or -nll <= ll_g + 1e-9 * (1 + abs(ll_g))
    )
    if at_boundary:
        return _boundary_result(gomp, info, spec, sample, names, score_c0, spells, (a, b),
                                density_terms, density_scale, conf_level)  # fmt: skip
    dec = _decrement(theta, args)
    if not np.isfinite(nll) or not dec < 1e-10:
        return ModelResult.failed(reason=f"no convergence: {message}", **fail)
    nll, _, nhess, scores = negloglik_parts(theta, *args, need=3)
    try:
        vcov = np.linalg.inv(nhess)
    except np.linalg.LinAlgError:
        return ModelResult.failed(reason="singular observed information", **fail)
    if se_type != "model":
        vcov = sandwich(vcov, scores, spells[id_col].to_numpy(), se_type)[0]
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    suspect = [
        n
        for n, t, s in zip(names, theta, se, strict=True)
        if n != "log_c" and (not np.isfinite(s) or abs(t) > 25 or s > 1e3)
    ]
    if suspect or np.any(np.diag(vcov) <= 0) or not np.isfinite(se[0]):
        return ModelResult.failed(
            reason="non-identified parameters suspected (c + lambda alone is identified when gamma ~ 0): "
            + ", ".join(suspect or names),
            **fail,
        )
    res = ModelResult(**info, specification=spec, sample=sample)
    res.terms = [Term.from_estimate(n, t, s, conf_level) for n, t, s in zip(names, theta, se, strict=True)]
    res.set_vcov(names, vcov)
    res.fit = fit_statistics(-nll, len(theta), len(d), n_bic=n_events, se_type=_se_label(se_type, id_col),
                             iterations=nit)  # fmt: skip
    res.notes.append("BIC uses the number of deaths as the sample size (event-history convention).")
    lc = res.term("log_c")
    ratio = float(np.exp(lc.ci_high - lc.ci_low))
    lr = lr_test("LR vs Gompertz (c = 0)", ll_g, -nll, df=1, boundary=True) if np.isfinite(ll_g) else None
    p_lr = lr["p"] if lr else None
    weak = bool(ratio > WEAK_CI_RATIO or (p_lr is not None and p_lr >= WEAK_LR_P))
    res.derived["makeham"] = {**_ratio_ci(lc), "at_boundary": False, "weakly_identified": weak,
                              "score_at_zero": score_c0}  # fmt: skip
    if weak:
        res.notes.append(
            f"Weakly identified Makeham term: c = {np.exp(lc.coef):.3g} per year, its {conf_level:.0%} CI "
            f"spans a factor {ratio:.3g} and the LR test against the Gompertz model (c = 0) has p = "
            f"{p_lr if p_lr is not None else float('nan'):.3g}; c is not separated from the Gompertz model."
        )
    _finish(res, spells, names, theta, vcov, density_terms, density_scale, conf_level, ll_g, -nll, a, b)
    return res


def _se_label(se_type: str, id_col: str) -> str:
    if se_type == "model":
        return "observed information"
    if se_type == "cluster_cr0":
        return f"cluster-robust CR0 by {id_col}"
    return f"cluster-robust CR1 ({CR1_RULE}) by {id_col}"


def _boundary_result(
    gomp: ModelResult,
    info: dict,
    spec: dict,
    sample: dict,
    names: list[str],
    score_c0: float,
    spells: pd.DataFrame,
    ages: tuple[np.ndarray, np.ndarray],
    density_terms: tuple[str, str],
    density_scale: float,
    conf_level: float,
) -> ModelResult:
    """The maximum on the boundary c = 0: the Gompertz fit, c = 0, log c and its SE undefined."""
    res = ModelResult(**info, specification=spec, sample=sample)
    nan = float("nan")
    res.terms = [Term("log_c", nan, nan, nan, nan, nan, nan), *gomp.terms]
    k = len(names)
    vg = np.asarray(gomp.vcov["matrix"], float)
    vcov = np.full((k, k), nan)
    vcov[1:, 1:] = vg
    res.set_vcov(names, vcov)
    res.fit = {**gomp.fit, "df_model": len(names)}
    res.notes.append("BIC uses the number of deaths as the sample size (event-history convention).")
    res.notes.append(
        "Makeham term on the boundary c = 0 (weakly identified: not separable from the Gompertz model): the "
        "likelihood does not rise as c leaves 0 (score at c = 0: "
        f"{score_c0:.3g}), so the maximum is the Gompertz fit; log c and SE(c) are undefined."
    )
    res.derived["makeham"] = {
        "estimate": 0.0,
        "ci_low": None,
        "ci_high": None,
        "at_boundary": True,
        "weakly_identified": True,
        "score_at_zero": score_c0,
    }
    theta = np.array([t.coef for t in res.terms])
    a, b = ages
    ll = float(gomp.fit["loglik"])
    _finish(res, spells, names, theta, vcov, density_terms, density_scale, conf_level, ll, ll, a, b)
    return res


def _finish(
    res: ModelResult,
    spells: pd.DataFrame,
    names: list[str],
    theta: np.ndarray,
    vcov: np.ndarray,
    density_terms: tuple[str, str],
    density_scale: float,
    conf_level: float,
    ll_gompertz: float,
    ll: float,
    a: np.ndarray,
    b: np.ndarray,
) -> None:
    """λ, γ, the density minimum, the LR test against Gompertz and the baseline-hazard curve."""
    res.derived["lambda"] = _ratio_ci(res.term("log_lambda"))
    g = res.term("gamma")
    res.derived["shape"] = {
        "gamma": g.coef,
        "ci_low": g.ci_low,
        "ci_high": g.ci_high,
        "interpretation": "gamma < 0: the Gompertz term declines with age towards the constant rate c",
    }
    if np.isfinite(ll_gompertz):
        res.tests.append(lr_test("LR vs Gompertz (c = 0)", ll_gompertz, ll, df=1, boundary=True))
    d1, d2 = density_terms
    if d1 in names and d2 in names:
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
    c = 0.0 if not np.isfinite(theta[0]) else float(np.exp(theta[0]))
    haz = c + np.exp(theta[1]) * np.exp(theta[-1] * ages)
    res.curves["baseline_hazard"] = {"age": ages.tolist(), "hazard": haz.tolist()}
