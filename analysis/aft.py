"""Accelerated failure-time (AFT) mortality models with delayed entry and time-varying covariates.

An organization's lifetime T satisfies log T = μ + x'β + σW, with W standard logistic (log-logistic T),
standard normal (log-normal T) or standard minimum extreme value (Weibull T): a covariate multiplies the
time scale by exp(β) (the *time ratio*), and the log-logistic and log-normal hazards rise and then fall
with age — a liability of adolescence rather than of newness.

Covariates may change from spell to spell (density every year). Following Cox and Oakes, a covariate path
runs the organization on its own clock τ(t) = ∫₀ᵗ exp(−x(u)'β) du, and S(t | x) = S_W((log τ(t) − μ)/σ);
with constant covariates τ = t·exp(−x'β) and the model is R ``survreg``'s. A left-truncated organization
(first spell starting at age a > 0) is conditioned on surviving to a: its likelihood is divided by S(a), with
τ(a) = a·exp(−x'β) at its covariates when first observed (its earlier path is unknown). Gaps between an
organization's spells add no time on its own clock; they are counted in the notes.

Per organization i with entry clock τa, exit clock τb, death indicator d and last-spell linear predictor η:
ℓᵢ = log S_W(wb) − log S_W(wa) + d·[log h_W(wb) − log σ − log τb − η],  w = (log τ − μ)/σ.
Maximum likelihood (BFGS with the analytic gradient, then Newton steps); the Hessian is the central
difference of the analytic gradient; cluster-robust SEs by organization come from the one sandwich of
``analysis.inference.vcov`` with the per-organization scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from analysis.inference.design import collinear_terms
from analysis.inference.fitstats import fit_statistics
from analysis.inference.turning_point import turning_point
from analysis.inference.vcov import sandwich, se_kind, se_label
from analysis.registry import DENSITY_EXTREMUM, Derived, ModelKind
from analysis.results import ModelResult, Term

MODEL_KINDS = (
    ModelKind(
        name="survival_aft",
        section="Hazard by age",
        area="survival",
        presentation="regression",
        caption="Mortality: accelerated failure-time models, log T = μ + x'β + σW (coefficients are log "
        "time ratios: a positive coefficient lengthens lifetimes)",
        table="survival_aft",
        order=55,
        derived={
            "scale": Derived("dimensionless", "σ of the log lifetime (log-logistic and Weibull shape = 1/σ)"),
            "hazard_peak_age": Derived(
                "years",
                "age at which the hazard peaks for an organization with covariates at their sample means "
                "(liability of adolescence); absent when the hazard is monotone",
            ),
            "density_minimum": DENSITY_EXTREMUM,
        },
        capabilities=frozenset({"cluster", "delayed_entry", "time_varying", "turning_point"}),
        sort=lambda r: r["model"],
        description="log-logistic / log-normal / Weibull AFT models by maximum likelihood (R survreg)",
    ),
)


@dataclass(frozen=True)
class _Error:
    """The standardized error W: log S_W, its derivative, log h_W = log(f_W/S_W) and its derivative."""

    name: str
    log_s: Callable[[np.ndarray], np.ndarray]
    d_log_s: Callable[[np.ndarray], np.ndarray]
    log_h: Callable[[np.ndarray], np.ndarray]
    d_log_h: Callable[[np.ndarray], np.ndarray]


def _mills(w: np.ndarray) -> np.ndarray:
    """φ(w)/Φ(−w), the normal hazard, computed on the log scale (no overflow in either tail)."""
    return np.exp(stats.norm.logpdf(w) - special.log_ndtr(-w))


ERRORS: dict[str, _Error] = {
    "loglogistic": _Error(
        "logistic",
        lambda w: -np.logaddexp(0.0, w),
        lambda w: -special.expit(w),
        lambda w: -np.logaddexp(0.0, -w),
        lambda w: special.expit(-w),
    ),
    "lognormal": _Error(
        "normal",
        lambda w: special.log_ndtr(-w),
        lambda w: -_mills(w),
        lambda w: stats.norm.logpdf(w) - special.log_ndtr(-w),
        lambda w: _mills(w) - w,
    ),
    "weibull": _Error(
        "extreme value",
        lambda w: -np.exp(w),
        lambda w: -np.exp(w),
        lambda w: w,
        lambda w: np.ones_like(w),
    ),
}


@dataclass(frozen=True)
class _Orgs:
    """Spells sorted by organization and start, for the clock sums."""

    first: np.ndarray  # index of each organization's first spell
    last: np.ndarray  # index of its last spell
    dt: np.ndarray  # spell lengths
    lead: np.ndarray  # time before each spell not covered by the previous one (entry age, gaps)
    d: np.ndarray  # death at the last spell's stop (per organization)
    x: np.ndarray  # covariates per spell (n × p)
    groups: np.ndarray  # organization id per organization
    gaps: int  # organizations with a gap between spells
    misplaced: int  # deaths recorded on a spell other than the organization's last
    overlaps: int  # spells starting before the previous spell of the organization ends


def _group_cumsum(v: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``v`` (rows) restarting at each organization's first spell."""
    c = np.cumsum(v, axis=0)
    before = np.r_[np.zeros((1, *v.shape[1:])), c[first[1:] - 1]] if len(first) else c[:0]
    counts = np.diff(np.r_[first, len(v)])
    return c - np.repeat(before, counts, axis=0)


def _clock(th: np.ndarray, o: _Orgs) -> tuple[np.ndarray, ...]:
    """Per spell: the organization's own clock at the spell's start and end, τs and τe, and their
    β-derivative sums Ds, De (∂τ/∂β = −D) at θ = (μ, β, log σ). Time before a spell that no spell
    covers (the entry age, a gap) runs at the covariates of the spell after it."""
    beta = th[1:-1]
    e = np.exp(-(o.x @ beta)) if o.x.shape[1] else np.ones(len(o.dt))
    inc = (o.lead + o.dt) * e
    te = _group_cumsum(inc, o.first)
    ts = te - o.dt * e
    de = _group_cumsum(inc[:, None] * o.x, o.first)
    ds = de - (o.dt * e)[:, None] * o.x
    return ts, te, ds, de


def _loglik(th: np.ndarray, o: _Orgs, err: _Error, scores: bool = False) -> tuple[float, np.ndarray]:
    """Log-likelihood and its gradient (or the per-organization score rows when ``scores``).

    Each spell contributes log S_W(w_end) − log S_W(w_start) (survival through it, conditioned on being
    alive at its start); the organization's last spell adds log h_W(w) − log σ − log τ − η for a death."""
    mu, s = th[0], th[-1]
    sigma = np.exp(s)
    ts, te, ds, de = _clock(th, o)
    on = ts > 0
    we = (np.log(te) - mu) / sigma
    ws = np.where(on, (np.log(np.where(on, ts, 1.0)) - mu) / sigma, 0.0)
    ll = err.log_s(we) - np.where(on, err.log_s(ws), 0.0)
    ce = err.d_log_s(we)
    cs = np.where(on, err.d_log_s(ws), 0.0)
    rows = np.column_stack(
        [
            (cs - ce) / sigma,
            -(ce / (sigma * te))[:, None] * de + (cs / (sigma * np.where(on, ts, 1.0)))[:, None] * ds,
            -ce * we + cs * ws,
        ]
    )
    rows = np.add.reduceat(rows, o.first, axis=0)
    last, dd = o.last, o.d
    xl = o.x[last]
    eta = xl @ th[1:-1] if o.x.shape[1] else np.zeros(len(last))
    wl, tl, dl = we[last], te[last], de[last]
    total = float(ll.sum() + np.sum(dd * (err.log_h(wl) - s - np.log(tl) - eta)))
    hl = dd * err.d_log_h(wl)
    rows += np.column_stack(
        [
            -hl / sigma,
            -(hl / (sigma * tl))[:, None] * dl + dd[:, None] * (dl / tl[:, None] - xl),
            -hl * wl - dd,
        ]
    )
    return total, rows if scores else rows.sum(axis=0)


def _hessian(th: np.ndarray, o: _Orgs, err: _Error, grad: np.ndarray | None = None) -> np.ndarray:
    """Hessian of the log-likelihood by differences of the analytic gradient, symmetrized: central
    (for the standard errors), or forward from ``grad`` at ``th`` (half the cost, for Newton directions)."""
    k = len(th)
    out = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(th[j]))
        up = th.copy()
        up[j] += h
        if grad is not None:
            out[:, j] = (_loglik(up, o, err)[1] - grad) / h
            continue
        dn = th.copy()
        dn[j] -= h
        out[:, j] = (_loglik(up, o, err)[1] - _loglik(dn, o, err)[1]) / (2 * h)
    return (out + out.T) / 2


def _maximize(theta: np.ndarray, o: _Orgs, err: _Error, max_iter: int = 100) -> tuple[np.ndarray, int, str]:
    """Damped Newton ascent with step halving: the Hessian (forward differences) is shifted towards the
    negative definite until Cholesky succeeds, so steps go uphill far from the optimum too; stops when the
    Newton decrement is below 1e-20. Returns θ, the iterations and a message."""
    ll, grad = _loglik(theta, o, err)
    if not (np.isfinite(ll) and np.isfinite(grad).all()):
        return theta, 0, "the likelihood is not finite at the start"
    for it in range(1, max_iter + 1):
        a = -_hessian(theta, o, err, grad)
        shift = 0.0
        scale = float(np.max(np.abs(np.diag(a)))) or 1.0
        while True:
            try:
                chol = np.linalg.cholesky(a + shift * scale * np.eye(len(theta)))
                break
            except np.linalg.LinAlgError:
                shift = 1e-6 if shift == 0.0 else shift * 10
                if shift > 1e6:
                    return theta, it, "no ascent direction"
        step = np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
        if float(grad @ step) < 1e-20:
            return theta, it, "converged"
        for t in 0.5 ** np.arange(40):
            cand = theta + t * step
            c_ll, c_grad = _loglik(cand, o, err)
            if np.isfinite(c_ll) and np.isfinite(c_grad).all() and c_ll >= ll - 1e-12 * abs(ll):
                break
        else:
            return theta, it, "no step increases the likelihood"
        theta, ll, grad = cand, c_ll, c_grad
    return theta, max_iter, "iteration limit"


def _organizations(
    spells: pd.DataFrame, x: np.ndarray, start: str, stop: str, event: str, id_col: str
) -> _Orgs:
    """Spells sorted by organization and start, with the uncovered time before each spell."""
    codes = pd.factorize(spells[id_col].to_numpy(), sort=True)[0]
    order = np.lexsort((spells[start].to_numpy(float), codes))
    codes = codes[order]
    a = spells[start].to_numpy(float)[order]
    b = spells[stop].to_numpy(float)[order]
    ev = spells[event].to_numpy(float)[order]
    first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    last = np.r_[first[1:] - 1, len(codes) - 1]
    same = np.r_[False, codes[1:] == codes[:-1]]
    lead = np.where(same, a - np.r_[0.0, b[:-1]], a)
    gap = same & (np.abs(lead) > 1e-9)
    return _Orgs(
        first=first,
        last=last,
        dt=b - a,
        lead=np.where(same & ~gap, 0.0, lead),
        d=ev[last],
        x=x[order],
        groups=spells[id_col].to_numpy()[order][first],
        gaps=int(len(np.unique(codes[gap]))),
        misplaced=int(np.add.reduceat(ev, first).sum() - ev[last].sum()),
        overlaps=int(np.sum(same & (lead < -1e-9))),
    )


def hazard_peak(mu: float, sigma: float, distribution: str) -> float | None:
    """Peak of the hazard on the organization's own clock, exp(μ + σw*) with d log h_W/dw (w*) = σ;
    ``None`` when the hazard is monotone (Weibull; log-logistic with σ ≥ 1)."""
    if distribution == "weibull" or (distribution == "loglogistic" and sigma >= 1):
        return None
    if distribution == "loglogistic":
        w = float(np.log((1 - sigma) / sigma))
    else:
        f = lambda v: float(ERRORS["lognormal"].d_log_h(np.array([v]))[0] - sigma)  # noqa: E731
        w = optimize.brentq(f, -40.0, 40.0, xtol=1e-14)
    return float(np.exp(mu + sigma * w))


def fit_aft(
    spells: pd.DataFrame,
    covariates: Sequence[str],
    *,
    distribution: str = "loglogistic",
    start: str = "start",
    stop: str = "stop",
    event: str = "event",
    id_col: str = "org_id",
    se_type: str = "model",
    density_terms: tuple[str, str] = ("density", "density_sq"),
    density_scale: float = 1.0,
    conf_level: float = 0.95,
    dataset: str = "default",
    model: str | None = None,
    window: tuple[int, int] | None = None,
) -> ModelResult:
    """AFT regression of organizational lifetimes on (time-varying) covariates with delayed entry.

    ``spells`` are counting-process spells on the age clock, ``(start, stop]``, ``event`` = death at the
    organization's last ``stop``; ``distribution`` is ``loglogistic``, ``lognormal`` or ``weibull``;
    ``se_type`` ``model`` (observed information) or ``cluster_cr0`` / ``cluster_cr1`` (by organization).
    Terms are ``(Intercept)``, the covariates (log time ratios) and ``log_scale`` (log σ), as R
    ``survreg`` names them. Hostile input gives a failed result with the reason, never a raise.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> t = np.exp(2.0 + 0.5 * rng.logistic(size=2000))
    >>> sp = pd.DataFrame({"org_id": range(2000), "start": 0.0, "stop": t, "event": 1})
    >>> res = fit_aft(sp, [], distribution="loglogistic")
    >>> round(res.term("(Intercept)").coef, 1), round(float(np.exp(res.term("log_scale").coef)), 1)
    (2.0, 0.5)
    """
    if distribution not in ERRORS:
        raise ValueError(f"distribution must be one of {sorted(ERRORS)}")
    kind = se_kind(se_type)
    err = ERRORS[distribution]
    covariates = list(covariates)
    names = ["(Intercept)", *covariates, "log_scale"]
    info = {
        "dataset": dataset,
        "stage": "fit_survival",
        "model": model or f"aft_{distribution}",
        "family": f"{distribution} accelerated failure time",
        "kind": "survival_aft",
        "method": "ML (damped Newton, analytic gradient, Hessian by differences of the gradient: central "
        "for the SEs); covariate paths on the organization's own clock (Cox-Oakes), delayed entry conditioned",
    }
    spec = {
        "formula": f"log T = mu + {' + '.join(covariates) or '0'} + sigma*W, W ~ {err.name}",
        "terms": covariates,
        "options": {"distribution": distribution, "se_type": se_type, "clock": "age"},
    }
    a = spells[start].to_numpy(float)
    b = spells[stop].to_numpy(float)
    sample = {
        "unit": "organization",
        "n": int(spells[id_col].nunique()) if len(spells) else 0,
        "n_spells": len(spells),
        "events": int(spells[event].sum()) if len(spells) else 0,
        "exposure": float(np.sum(b - a)) if len(spells) else 0.0,
        "window": list(window) if window is not None else None,
    }
    fail = {**info, "specification": spec, "sample": sample}
    if len(spells) == 0:
        return ModelResult.failed(reason="no observations", **fail)
    if sample["events"] == 0:
        return ModelResult.failed(reason="no deaths: lifetimes are not estimable", **fail)
    if not (np.all(b > a) and np.all(a >= 0)):
        return ModelResult.failed(reason="spells need 0 <= start < stop", **fail)
    x = spells[covariates].to_numpy(float) if covariates else np.empty((len(spells), 0))
    if not np.isfinite(x).all():
        return ModelResult.failed(reason="missing or non-finite covariate values", **fail)
    bad = list(collinear_terms(np.column_stack([np.ones(len(a)), x]), ["(Intercept)", *covariates]))
    if bad:
        return ModelResult.failed(reason=f"collinear or constant terms: {', '.join(bad)}", **fail)
    orgs = _organizations(spells, x, start, stop, event, id_col)
    if orgs.overlaps:
        return ModelResult.failed(
            reason=f"{orgs.overlaps} spells overlap the previous spell of their organization", **fail
        )
    if orgs.misplaced:
        return ModelResult.failed(
            reason="a death is recorded on a spell that is not the organization's last (one death per "
            "organization, at its last spell)",
            **fail,
        )
    if len(orgs.first) <= len(names):
        return ModelResult.failed(
            reason=f"too few organizations ({len(orgs.first)}) for {len(names)} parameters", **fail
        )
    theta0 = np.zeros(len(names))
    theta0[0] = float(np.log(np.median(spells.groupby(id_col, sort=False)[stop].max())))

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        theta, iterations, message = _maximize(theta0, orgs, err)
        ll, grad = _loglik(theta, orgs, err)
        hess = _hessian(theta, orgs, err)
    try:
        bread = np.linalg.inv(-hess)
        decrement = float(grad @ bread @ grad)
    except np.linalg.LinAlgError:
        return ModelResult.failed(reason="singular observed information", **fail)
    if not np.isfinite(ll) or not decrement < 1e-10:
        return ModelResult.failed(reason=f"no convergence: {message}", **fail)
    vcov = bread
    if kind != "model":
        vcov = sandwich(bread, _loglik(theta, orgs, err, scores=True)[1], orgs.groups, kind)[0]
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    suspect = [n for n, t, s in zip(names, theta, se, strict=True) if not np.isfinite(s) or abs(t) > 25]
    if suspect or np.any(np.diag(vcov) <= 0):
        return ModelResult.failed(
            reason="non-identified parameters suspected: " + ", ".join(suspect or names), **fail
        )
    res = ModelResult(**info, specification=spec, sample=sample)
    res.terms = [Term.from_estimate(n, t, s, conf_level) for n, t, s in zip(names, theta, se, strict=True)]
    res.set_vcov(names, vcov)
    res.fit = fit_statistics(
        ll,
        len(theta),
        len(orgs.first),
        n_bic=sample["events"],
        se_type=se_label(kind, id_col),
        iterations=iterations,
    )
    res.notes.append("BIC uses the number of deaths as the sample size (event-history convention).")
    res.notes.append(
        "Coefficients are log time ratios: exp(b) multiplies lifetimes; the hazard effect has the opposite sign."
    )
    late = int((orgs.lead[orgs.first] > 0).sum())
    if late:
        res.notes.append(
            f"{late} organizations enter late (left truncation): each is conditioned on "
            "surviving to its entry age, its clock there taken at its covariates when first observed."
        )
    if orgs.gaps:
        res.notes.append(
            f"{orgs.gaps} organizations have gaps between spells (e.g. spells left out for a missing "
            "covariate): their clock runs through a gap at the covariates of the spell after it, and "
            "survival through the gap is conditioned on, as for late entry."
        )
    ls = res.term("log_scale")
    sigma = float(np.exp(theta[-1]))
    res.derived["scale"] = {
        "sigma": sigma,
        "ci_low": float(np.exp(ls.ci_low)),
        "ci_high": float(np.exp(ls.ci_high)),
        "shape": 1 / sigma,
    }
    xbar = x.mean(axis=0) if covariates else np.empty(0)
    peak = hazard_peak(float(theta[0] + xbar @ theta[1:-1]), sigma, distribution)
    if peak is not None:
        res.derived["hazard_peak_age"] = {
            "age": peak,
            "covariates_at": "sample means over spells",
            "within_observed_ages": bool(peak <= float(b.max())),
            "interpretation": "the hazard rises to this age, then falls (liability of adolescence)",
        }
        res.notes.append(
            f"The hazard rises to age {peak:.3g}, then falls (covariates at their sample means)"
            + (
                "."
                if peak <= float(b.max())
                else ", beyond the oldest observed age: within the data it rises."
            )
        )
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
        res.notes.append(
            "density_minimum is the density at the extreme of the log lifetime: the longest expected "
            "lifetime (lowest mortality) when the squared term is negative."
        )
    return res
