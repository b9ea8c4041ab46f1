"""Equilibrium density: where expected foundings equal expected exits.

Given a fitted founding model with a log-linear rate in density, λ_F(N) = exp(x_F(N)'β_F), and a fitted
mortality model, the population is in equilibrium at densities N where λ_F(N) = E[D](N). The mortality
side can be

* ``"rate"`` — a per-organization annual hazard/rate h(N) = exp(x_D(N)'β_D) (Poisson/exponential,
  piecewise-exponential): E[D] = N·h(N);
* ``"cloglog"`` — a discrete-time complementary log-log model: E[D] = N·(1 − exp(−exp(η)));
* ``"logit"`` — a discrete-time logit model: E[D] = N·expit(η);
* ``"count_offset"`` — a population-level exit-count model with offset log N: E[D] = exp(η + log N);
* ``"count"`` — a population-level exit-count model without offset: E[D] = exp(η).

The function works only from the two result dictionaries (terms, vcov, specification.density_scale) and
declared covariate values, so any model family that supplies a log-linear predictor can be used. Density
terms are ``density`` = N/scale and ``density_sq`` = (N/scale)²; an intercept (``const``, ``Intercept`` or
``(Intercept)``) is set to 1; every other term needs a value in ``covariates`` (e.g. last year's lagged
foundings or environment values).

Roots of g(N) = log λ_F(N) − log E[D](N) are searched on (n_min, n_max] by a grid scan plus Brent's method
and all are reported. A root where g changes from + to − is stable (foundings exceed exits below it and fall
short above it) — a carrying capacity; a − to + root is unstable. Uncertainty: parametric bootstrap — the
coefficients of both models are drawn independently from MVN(β̂, V̂) (``n_draws``, ``seed``), the roots are
recomputed, and the equilibrium of a draw is its stable root nearest the point estimate. The percentile CI
is over draws with a stable root; the share of draws with one is reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from scipy import optimize

from analysis.registry import Derived, ModelKind
from analysis.results import ModelResult

MODEL_KINDS = (
    ModelKind(
        name="equilibrium",
        section="Carrying capacity and exit rates",
        area="bottleneck",
        presentation="capacity",
        caption="Carrying capacity: logistic density curve and equilibrium density",
        table="bottleneck_capacity",
        order=11,
        derived={
            "equilibrium": Derived(
                "organizations", "density N* where expected foundings equal expected exits"
            ),
            "n_roots": Derived("count", "number of crossings in the searched density range"),
            "roots": Derived("organizations", "every crossing with its stability"),
        },
        capabilities=frozenset({"bootstrap"}),
        options={"role": "equilibrium"},
        description="equilibrium density from the founding and exit-rate models (parametric bootstrap CI)",
    ),
)

STAGE = "fit_bottleneck"
INTERCEPTS = ("const", "Intercept", "(Intercept)", "intercept")
MortalityKind = Literal["rate", "cloglog", "logit", "count_offset", "count"]
IGNORE_TERMS = ("alpha", "ln_alpha", "lnalpha", "theta")


def _as_dict(model: ModelResult | Mapping[str, Any]) -> dict[str, Any]:
    return model.to_dict() if isinstance(model, ModelResult) else dict(model)


def _linear_predictor_parts(
    res: dict[str, Any],
    covariates: Mapping[str, float],
    density_term: str,
    density_sq_term: str,
    ignore: tuple[str, ...],
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, float]:
    """Term names, coefficients, vcov, the constant part of each design row and the density scale."""
    names = [t["term"] for t in res["terms"] if t["term"] not in ignore]
    if not names:
        raise ValueError(f"model {res.get('model')!r} has no terms (not fitted?)")
    coef = np.array([t["coef"] for t in res["terms"] if t["term"] not in ignore], float)
    vc_block = res.get("vcov")
    if vc_block and vc_block.get("terms"):
        order = [vc_block["terms"].index(n) for n in names]
        vc = np.asarray(vc_block["matrix"], float)[np.ix_(order, order)]
    else:
        vc = np.diag([float(t["se"]) ** 2 for t in res["terms"] if t["term"] not in ignore])
    base = np.zeros(len(names))
    for j, nm in enumerate(names):
        if nm in (density_term, density_sq_term):
            continue
        if nm in INTERCEPTS:
            base[j] = 1.0
        elif nm in covariates:
            base[j] = float(covariates[nm])
        else:
            raise ValueError(f"no value given for term {nm!r} of model {res.get('model')!r}")
    scale = float((res.get("specification") or {}).get("density_scale") or 1.0)
    return names, coef, vc, base, scale


def _design(
    names: list[str], base: np.ndarray, scale: float, grid: np.ndarray, dt: str, dst: str
) -> np.ndarray:
    x = np.tile(base, (len(grid), 1))
    for j, nm in enumerate(names):
        if nm == dt:
            x[:, j] = grid / scale
        elif nm == dst:
            x[:, j] = (grid / scale) ** 2
    return x


def _log_exits(eta: np.ndarray, n: np.ndarray, kind: MortalityKind) -> np.ndarray:
    logn = np.log(n)[:, None] if eta.ndim == 2 else np.log(n)
    if kind in ("rate", "count_offset"):
        return logn + eta
    if kind == "count":
        return eta
    if kind == "cloglog":
        return logn + np.log(-np.expm1(-np.exp(eta)))
    if kind == "logit":
        return logn - np.logaddexp(0.0, -eta)
    raise ValueError(f"unknown mortality kind {kind!r}")


def _roots_on_grid(grid: np.ndarray, g: np.ndarray) -> list[tuple[float, bool]]:
    """Linear-interpolated sign changes of g along the grid: (root, stable)."""
    s = np.sign(g)
    out = []
    for i in np.nonzero(s[:-1] * s[1:] < 0)[0]:
        w = g[i] / (g[i] - g[i + 1])
        out.append((float(grid[i] + w * (grid[i + 1] - grid[i])), bool(g[i] > 0)))
    return out


def equilibrium_density(
    founding: ModelResult | Mapping[str, Any],
    mortality: ModelResult | Mapping[str, Any],
    *,
    mortality_kind: MortalityKind = "rate",
    founding_covariates: Mapping[str, float] | None = None,
    mortality_covariates: Mapping[str, float] | None = None,
    n_max: float,
    n_min: float = 1e-6,
    n_grid: int = 4000,
    n_draws: int = 2000,
    seed: int = 20240607,
    density_term: str = "density",
    density_sq_term: str = "density_sq",
    ignore_terms: tuple[str, ...] = IGNORE_TERMS,
    observed_range: tuple[float, float] | None = None,
    dataset: str = "default",
    model: str = "equilibrium_density",
    level: float = 0.95,
) -> ModelResult:
    """Equilibrium density N_eq solving λ_F(N) = E[D](N), with a parametric-bootstrap CI.

    Parameters
    ----------
    founding, mortality
        Fitted models (ModelResult or its dict) with log-linear predictors in density.
    mortality_kind
        How the mortality predictor maps to expected exits (see module docstring).
    founding_covariates, mortality_covariates
        Values at which all non-density, non-intercept terms are held (declared, e.g. last year's).
    n_max, n_min
        Search interval for N (raw density units).
    n_draws, seed
        Parametric bootstrap draws (0 = no bootstrap).

    Returns
    -------
    ModelResult
        ``derived["equilibrium"]`` (estimate, CI, share of draws with a stable root, all roots with their
        stability), ``curves["balance"]`` with expected foundings and exits over the grid.
    """
    fd, md = _as_dict(founding), _as_dict(mortality)
    spec = {
        "founding_model": fd.get("model"),
        "mortality_model": md.get("model"),
        "mortality_kind": mortality_kind,
        "founding_covariates": dict(founding_covariates or {}),
        "mortality_covariates": dict(mortality_covariates or {}),
        "search": [n_min, n_max],
        "n_draws": n_draws,
        "seed": seed,
    }
    meta: dict[str, Any] = {
        "dataset": dataset,
        "stage": STAGE,
        "model": model,
        "family": "derived",
        "kind": "equilibrium",
        "method": "root of expected foundings = expected exits; parametric bootstrap CI",
        "specification": spec,
    }
    sample = {"unit": "derived", "n": None}
    for label, r in (("founding", fd), ("mortality", md)):
        if not (r.get("fit") or {}).get("converged", False) or not r.get("terms"):
            return ModelResult.failed(reason=f"{label} model not fitted", sample=sample, **meta)
    fn, fc, fv, fb, fs = _linear_predictor_parts(
        fd, founding_covariates or {}, density_term, density_sq_term, ignore_terms
    )
    mn, mc, mv, mb, ms = _linear_predictor_parts(
        md, mortality_covariates or {}, density_term, density_sq_term, ignore_terms
    )
    spec["density_scale"] = {"founding": fs, "mortality": ms}
    grid = np.geomspace(n_min, n_max, n_grid) if n_min > 0 else np.linspace(n_min, n_max, n_grid)
    xf = _design(fn, fb, fs, grid, density_term, density_sq_term)
    xm = _design(mn, mb, ms, grid, density_term, density_sq_term)

    def gap(n: float | np.ndarray, bf: np.ndarray = fc, bm: np.ndarray = mc) -> np.ndarray:
        n_arr = np.atleast_1d(np.asarray(n, float))
        ef = _design(fn, fb, fs, n_arr, density_term, density_sq_term) @ bf
        em = _design(mn, mb, ms, n_arr, density_term, density_sq_term) @ bm
        return ef - _log_exits(em, n_arr, mortality_kind)

    g = gap(grid)
    roots = []
    for approx, stable in _roots_on_grid(grid, g):
        i = int(np.searchsorted(grid, approx))
        lo, hi = grid[max(i - 1, 0)], grid[min(i, len(grid) - 1)]
        root = (
            optimize.brentq(lambda v: float(gap(v)[0]), lo, hi, xtol=1e-12)
            if gap(lo)[0] * gap(hi)[0] < 0
            else approx
        )
        roots.append({"density": float(root), "stable": stable})
    stable_roots = [r["density"] for r in roots if r["stable"]]
    point = stable_roots[0] if stable_roots else math.nan
    derived: dict[str, Any] = {"roots": roots, "n_roots": len(roots)}
    notes = [
        "Equilibrium = first stable root (foundings exceed exits below it, fall short above it) in the "
        "search interval; all roots are listed in derived.roots."
    ]
    boot: dict[str, Any] = {}
    if n_draws > 0:
        rng = np.random.default_rng(seed)
        bf = rng.multivariate_normal(fc, fv, size=n_draws, method="svd")
        bm = rng.multivariate_normal(mc, mv, size=n_draws, method="svd")
        gd = (xf @ bf.T) - _log_exits(xm @ bm.T, grid, mortality_kind)
        eq = np.full(n_draws, np.nan)
        for d in range(n_draws):
            st = [r for r, s in _roots_on_grid(grid, gd[:, d]) if s]
            if st:
                target = point if math.isfinite(point) else st[0]
                eq[d] = min(st, key=lambda v: abs(v - target))
        ok = np.isfinite(eq)
        share = float(ok.mean())
        boot = {"share_with_root": share, "n_draws": n_draws, "seed": seed}
        if ok.sum() >= 10:
            lo_q, hi_q = np.percentile(eq[ok], [50 * (1 - level), 50 * (1 + level)])
            boot.update(
                {
                    "ci_low": float(lo_q),
                    "ci_high": float(hi_q),
                    "se": float(eq[ok].std(ddof=1)),
                    "method": "percentile over draws with a stable root",
                }
            )
        if share < 0.9:
            notes.append(
                f"Only {share:.0%} of bootstrap draws have a stable equilibrium in the search interval: "
                "the CI is conditional on its existence."
            )
    inside = None
    if observed_range is not None and math.isfinite(point):
        inside = bool(observed_range[0] <= point <= observed_range[1])
    derived["equilibrium"] = {
        "estimate": point,
        **boot,
        "inside_range": inside,
        "observed_range": list(observed_range) if observed_range else None,
    }
    res = ModelResult(**meta, sample=sample, derived=derived, notes=notes)
    res.curves = {
        "balance": {
            "density": grid.tolist(),
            "expected_foundings": np.exp(xf @ fc).tolist(),
            "expected_exits": np.exp(_log_exits(xm @ mc, grid, mortality_kind)).tolist(),
        }
    }
    if not roots:
        res.fit = {
            "converged": False,
            "reason": "no equilibrium: expected foundings never equal expected exits "
            f"on ({n_min:g}, {n_max:g}]",
        }
    elif not stable_roots:
        res.fit = {"converged": False, "reason": "only unstable equilibria in the search interval"}
    else:
        res.fit = {"converged": True, "reason": None, "se_type": "parametric bootstrap"}
    return res
