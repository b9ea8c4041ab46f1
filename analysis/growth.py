"""Organizational growth: Gibrat regressions and the scaling of growth-rate variance with size.

Gibrat's law of proportionate effect says that an organization's growth rate does not depend on its size.
In the regression

    Δlog S_{i,t+1} = a + (β − 1)·log S_{i,t} + d1·N_t + d2·N_t² + γ·funding_share + age terms
                     + environment + u_i + τ_t + ε_{i,t}

the law is the hypothesis that the coefficient on log size, (β − 1), is zero. Three versions are fitted side
by side: pooled OLS, organization fixed effects (within transformation) and organization + year fixed
effects (two-way, exact: organization effects are absorbed by demeaning, year effects are partialled out by
least squares on the demeaned year dummies — Frisch–Waugh–Lovell, so coefficients, residuals and the
cluster-robust covariance of the slopes equal those of the regression with all dummies).

Standard errors are clustered by organization (CR1). The small-sample factor is
``G/(G−1) · (n−1)/(n−K)`` with G organizations and n organization-years; what counts in K differs between
programs, so it is a declared option (``k_convention``):

* ``"nested"`` (default; fixest's default ``ssc(fixef.K = "nested")`` and Stata's ``xtreg, fe
  vce(cluster)``): fixed effects nested in the cluster variable are not counted, because the cluster
  adjustment already accounts for them. K = slopes + 1 (intercept) + non-redundant year dummies.
* ``"dummies"`` (R ``sandwich::vcovCL(lm(... + factor(org) + factor(year)), cluster = ~org, type = "HC1")``
  and Stata ``areg``): every dummy is counted, K = rank of the full dummy regression. With few years per
  organization this inflates the variance by up to n/(n − G).

Both conventions are tested against R (``tests/fixtures/growth``). Wald tests use the t distribution with
G − 1 degrees of freedom, as fixest does for clustered standard errors.

Growth is observed only for organizations that survive to the next year, so every estimate here is
conditional on survival (the survivors' growth process); a note in each result says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.inference.design import ALIAS_TOL, independent_columns
from analysis.inference.fitstats import fit_statistics
from analysis.inference.vcov import sandwich
from analysis.registry import Derived, ModelKind
from analysis.results import ModelResult, Term
from analysis.scaling import scaled_density
from pipeline.core import columns as C

_EFFECTS_ORDER = {"none": 0, "org": 1, "year": 2, "twoway": 3}

MODEL_KINDS = (
    ModelKind(
        name="gibrat",
        figures=("growth_vs_size",),
        area="growth",
        presentation="regression",
        caption="Growth: Gibrat regressions of \u0394 log size",
        table="growth_gibrat",
        order=10,
        derived={
            "beta": Derived("dimensionless", "Gibrat coefficient on log size (0: growth independent of size)")
        },
        capabilities=frozenset({"cluster", "fixed_effects"}),
        sort=lambda r: (
            _EFFECTS_ORDER.get(str((r.get("specification") or {}).get("effects")), 9),
            r["model"],
        ),
        description="OLS of growth on log size: pooled, organization and two-way fixed effects",
    ),
    ModelKind(
        name="size_variance",
        area="growth",
        presentation="size_variance",
        caption="Growth variance and size",
        table="growth_size_variance",
        order=20,
        derived={"scaling_slope": Derived("dimensionless", "slope of log SD(growth) on log size")},
        description="scaling of the dispersion of growth rates with size",
    ),
)

STAGE = "fit_growth"
SURVIVOR_NOTE = (
    "Growth is observed only for organizations that survive to the next year: estimates describe the "
    "growth of survivors (conditional on survival), not of all organizations at risk."
)
Effects = Literal["none", "org", "twoway"]
KConvention = Literal["nested", "dummies"]

AGE_TERMS = {
    "age": lambda a: a,
    "age_sq": lambda a: a**2,
    "log_age": lambda a: np.log1p(a),
}


def _demean(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Subtract group means column by column (the within transformation)."""
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    out = np.empty_like(values, dtype=float)
    for j in range(values.shape[1]):
        means = np.bincount(codes, weights=values[:, j], minlength=n_groups) / counts
        out[:, j] = values[:, j] - means[codes]
    return out


def cluster_vcov(
    x: np.ndarray, resid: np.ndarray, clusters: np.ndarray, *, n_params: int
) -> tuple[np.ndarray, int]:
    """CR1 cluster-robust covariance ``G/(G−1)·(n−1)/(n−K)·(X'X)⁻¹ (Σ_g s_g s_g') (X'X)⁻¹``.

    Parameters
    ----------
    x, resid
        (Partialled-out) regressors and residuals of the least-squares fit.
    clusters
        Integer cluster codes 0..G−1 (organizations).
    n_params
        K in the small-sample factor (see the module docstring for the conventions).

    Returns
    -------
    (vcov, G)
    """
    bread = np.linalg.inv(x.T @ x)
    return sandwich(bread, x * resid[:, None], clusters, "CR1", n_params=n_params)


def _gibrat_design(
    df: pd.DataFrame,
    *,
    covariates: Sequence[str],
    age_terms: Sequence[str],
    environment: Sequence[str],
    density_scale: float,
    size_col: str,
) -> pd.DataFrame:
    """Regressors of the Gibrat model in a fixed order: log size, density terms, covariates, age, environment."""
    x = pd.DataFrame(index=df.index)
    x[C.LOG_SIZE] = df[size_col].astype(float)
    if C.DENSITY in df:
        x[C.DENSITY], x[C.DENSITY_SQ] = scaled_density(df[C.DENSITY], density_scale)
    for c in covariates:
        x[c] = df[c].astype(float)
    for a in age_terms:
        if a not in AGE_TERMS:
            raise ValueError(f"unknown age term {a!r}; choose from {sorted(AGE_TERMS)}")
        x[a] = AGE_TERMS[a](df["age"].astype(float))
    for e in environment:
        x[e] = df[e].astype(float)
    return x


def fit_gibrat(
    org_years: pd.DataFrame,
    *,
    effects: Effects = "twoway",
    covariates: Sequence[str] = (C.FUNDING_SHARE,),
    age_terms: Sequence[str] = (),
    environment: Sequence[str] = (),
    density_scale: float = 1.0,
    k_convention: KConvention = "nested",
    growth_col: str = "growth",
    size_col: str = C.LOG_SIZE,
    dataset: str = "default",
    model: str | None = None,
    level: float = 0.95,
    regressors: pd.DataFrame | None = None,
    model_formula: str | None = None,
) -> ModelResult:
    """Fit a Gibrat growth regression with organization-clustered standard errors.

    Parameters
    ----------
    org_years
        Organization-years (``org_id``, ``year``, ``log_size``, ``growth`` = log S_{t+1} − log S_t,
        ``density``, covariates). Rows with a missing growth or regressor are dropped (counted in
        ``sample.dropped``); organizations observed once carry no within information but stay in n.
    effects
        ``"none"`` (pooled OLS with intercept), ``"org"`` (organization fixed effects) or ``"twoway"``
        (organization and year fixed effects).
    covariates, age_terms, environment
        Further regressors: column names; age terms from ``age`` (``"age"``, ``"age_sq"``, ``"log_age"``).
        Regressors collinear with the fixed effects (e.g. population density, which varies only by year,
        in the two-way model, or age in a balanced two-way panel) are dropped and listed in the notes.
    density_scale
        Density enters as N/scale and (N/scale)²; the scale is recorded in the specification.
    k_convention
        ``"nested"`` (fixest/xtreg default) or ``"dummies"`` (lm + vcovCL HC1): see the module docstring.
    regressors, model_formula
        The design of a formula (``analysis.formula.growth``; columns with the formula's labels, ``log_size``
        among them, index aligned with ``org_years``, NaN where a row is not in its sample) and its text;
        they replace ``covariates`` / ``age_terms`` / ``environment`` and the built-in density terms.

    Returns
    -------
    ModelResult
        Terms (without the fixed effects), the cluster-robust vcov, the Gibrat test (coefficient on log
        size = 0, i.e. β = 1) in ``tests`` and β itself in ``derived``.

    Examples
    --------
    >>> res = fit_gibrat(org_years, effects="twoway", density_scale=100)  # doctest: +SKIP
    >>> res.tests[0]["name"]  # doctest: +SKIP
    'Gibrat: log_size = 0 (beta = 1)'
    """
    model = model or {"none": "gibrat_pooled", "org": "gibrat_org_fe", "twoway": "gibrat_twoway_fe"}[effects]
    if k_convention not in ("nested", "dummies"):
        raise ValueError("k_convention must be 'nested' or 'dummies'")
    fe = {"none": "", "org": " | org_id", "twoway": " | org_id + year"}[effects]
    if regressors is not None:
        if C.LOG_SIZE not in regressors:
            raise ValueError("the Gibrat regressors need a log_size column")
        extra = [c for c in regressors.columns if c not in (C.LOG_SIZE, C.DENSITY, C.DENSITY_SQ)]
        covariates, age_terms, environment = extra, [], []
        formula = f"growth ~ {' + '.join(regressors.columns)}{fe}"
    else:
        legacy = ["log_size", "density", "density_sq", *covariates, *age_terms, *environment]
        formula = "growth ~ " + " + ".join(legacy) + fe
    spec = {
        "formula": formula,
        "effects": effects,
        "density_scale": density_scale,
        "k_convention": k_convention,
        "options": {
            "covariates": list(covariates),
            "age_terms": list(age_terms),
            "environment": list(environment),
            "level": level,
        },
    }
    if model_formula is not None:
        spec["model_formula"] = model_formula
        spec["cluster"] = "org_id"
    meta: dict[str, Any] = {
        "dataset": dataset,
        "stage": STAGE,
        "model": model,
        "family": "gaussian",
        "kind": "gibrat",
        "method": "OLS "
        + {
            "none": "pooled",
            "org": "within (organization FE)",
            "twoway": "two-way FE (within + year dummies, FWL)",
        }[effects],
        "specification": spec,
    }
    notes = [SURVIVOR_NOTE]
    if effects != "none":
        notes.append(
            "log S_t contains past growth shocks, so with organization fixed effects and few years per "
            "organization the log-size coefficient is biased downward (Nickell 1981); a rejection of "
            "Gibrat's law in the FE versions should be read against the pooled version."
        )
    x_df = (
        regressors
        if regressors is not None
        else _gibrat_design(
            org_years,
            covariates=covariates,
            age_terms=age_terms,
            environment=environment,
            density_scale=density_scale,
            size_col=size_col,
        )
    )
    y_all = org_years[growth_col].astype(float)
    ok = y_all.notna() & x_df.notna().all(axis=1) & org_years[C.ORG_ID].notna()
    if effects == "twoway":
        ok &= org_years[C.YEAR].notna()
    df = org_years.loc[ok]
    x_df = x_df.loc[ok]
    n = len(df)
    sample = {
        "unit": "organization-year",
        "n": int(n),
        "n_groups": None,
        "dropped": int((~ok).sum()),
        "events": None,
        "exposure": None,
        "window": [int(df[C.YEAR].min()), int(df[C.YEAR].max())] if n and C.YEAR in df else None,
    }
    if n == 0:
        return ModelResult.failed(
            reason="no organization-years with observed growth", sample=sample, notes=notes, **meta
        )
    org_codes, orgs = pd.factorize(df[C.ORG_ID])
    g = len(orgs)
    sample["n_groups"] = int(g)
    y = df[growth_col].to_numpy(float)
    x = x_df.to_numpy(float)
    names = list(x_df.columns)
    r_year = 0
    if effects == "none":
        x = np.column_stack([np.ones(n), x])
        names = ["const", *names]
        yt, xt = y, x
    else:
        yt = _demean(y[:, None], org_codes, g)[:, 0]
        xt = _demean(x, org_codes, g)
        xt[:, np.linalg.norm(xt, axis=0) <= ALIAS_TOL * np.linalg.norm(x, axis=0)] = 0.0  # time-constant
        if effects == "twoway":
            year_codes, _years = pd.factorize(df[C.YEAR])
            dummies = np.zeros((n, len(_years)))
            dummies[np.arange(n), year_codes] = 1.0
            dt = _demean(dummies, org_codes, g)
            keep_years = independent_columns(dt)
            dt = dt[:, keep_years]
            r_year = len(keep_years)
            if r_year:
                q, _ = np.linalg.qr(dt)
                yt = yt - q @ (q.T @ yt)
                pre = np.linalg.norm(xt, axis=0)
                xt = xt - q @ (q.T @ xt)
                xt[:, np.linalg.norm(xt, axis=0) <= ALIAS_TOL * pre] = 0.0  # absorbed by year effects
    keep = independent_columns(xt)
    dropped = [names[j] for j in range(len(names)) if j not in keep]
    if dropped:
        notes.append("Dropped as collinear with the fixed effects or other regressors: " + ", ".join(dropped))
    if C.LOG_SIZE in dropped:
        return ModelResult.failed(
            reason="log size has no (within) variation: Gibrat coefficient not identified",
            sample=sample,
            notes=notes,
            **meta,
        )
    xt = xt[:, keep]
    names = [names[j] for j in keep]
    p = len(names)
    n_params = {
        "none": p,
        "org": p + (1 if k_convention == "nested" else g),
        "twoway": p + r_year + (1 if k_convention == "nested" else g),
    }[effects]
    if g < 2 or n <= n_params:
        return ModelResult.failed(
            reason=f"too few observations: n={n}, organizations={g}, parameters={n_params}",
            sample=sample,
            notes=notes,
            **meta,
        )
    beta, *_ = np.linalg.lstsq(xt, yt, rcond=None)
    resid = yt - xt @ beta
    vcov, _ = cluster_vcov(xt, resid, org_codes, n_params=n_params)
    se = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
    df_t = g - 1
    crit = float(stats.t.ppf(0.5 + level / 2, df_t))
    terms = []
    for name, b, s in zip(names, beta, se, strict=True):
        tval = b / s if s > 0 else math.nan
        pval = float(2 * stats.t.sf(abs(tval), df_t)) if s > 0 else math.nan
        terms.append(
            Term(name, float(b), float(s), float(tval), pval, float(b - crit * s), float(b + crit * s))
        )
    rss = float(resid @ resid)
    sigma2 = rss / (n - n_params)
    tss = float(((yt - yt.mean()) ** 2).sum()) if effects == "none" else float(yt @ yt)
    loglik = -0.5 * n * (math.log(2 * math.pi * rss / n) + 1)
    k_ll = p + r_year + (g if effects != "none" else 0) + 1  # mean parameters incl. all FE, plus sigma
    res = ModelResult(**meta, sample=sample, notes=notes)
    res.terms = terms
    res.set_vcov(names, vcov)
    ls = res.term(C.LOG_SIZE)
    t_g = ls.z
    res.fit = fit_statistics(
        loglik,
        k_ll,
        n,
        df_model=p,
        se_type=f"cluster-robust by organization (CR1, K={n_params} [{k_convention}]), t({df_t}) reference",
    )
    res.fit |= {
        "k_small_sample": n_params,
        "df_t": df_t,
        "sigma": math.sqrt(sigma2),
        "r2" if effects == "none" else "r2_within": 1 - rss / tss if tss > 0 else math.nan,
    }
    res.derived = {
        "beta": {
            "estimate": 1 + ls.coef,
            "se": ls.se,
            "ci_low": 1 + ls.ci_low,
            "ci_high": 1 + ls.ci_high,
            "interpretation": "beta < 1: small organizations grow faster (regression to the "
            "mean); beta = 1: Gibrat's law; beta > 1: large organizations grow faster",
        }
    }
    res.tests = [
        {
            "name": "Gibrat: log_size = 0 (beta = 1)",
            "statistic": t_g,
            "df": df_t,
            "p": ls.p,
            "distribution": f"t({df_t})",
            "p_normal": float(2 * stats.norm.sf(abs(t_g))),
            "note": "two-sided Wald t test with organization-clustered SE",
        }
    ]
    return res


def fit_gibrat_models(org_years: pd.DataFrame, **kwargs: Any) -> list[ModelResult]:
    """The three Gibrat versions side by side: pooled OLS, organization FE, organization + year FE.

    Keyword arguments are passed to :func:`fit_gibrat` (``effects`` is set here).
    """
    kwargs.pop("effects", None)
    return [fit_gibrat(org_years, effects=e, **kwargs) for e in ("none", "org", "twoway")]


def _scaling_points(
    df: pd.DataFrame, method: Literal["organization", "bins"], n_bins: int, min_obs: int, growth_col: str
) -> pd.DataFrame:
    """(mean log size, log SD of growth, n) per organization or per log-size quantile bin."""
    if method == "organization":
        grp = df.groupby(C.ORG_ID, sort=False)
        pts = pd.DataFrame(
            {
                "log_size": grp[C.LOG_SIZE].mean(),
                "sd": grp[growth_col].std(ddof=1),
                "n": grp[growth_col].size(),
            }
        )
    else:
        bins = pd.qcut(df[C.LOG_SIZE], q=n_bins, labels=False, duplicates="drop")
        grp = df.groupby(bins)
        pts = pd.DataFrame(
            {
                "log_size": grp[C.LOG_SIZE].mean(),
                "sd": grp[growth_col].std(ddof=1),
                "n": grp[growth_col].size(),
            }
        )
    pts = pts[(pts["n"] >= min_obs) & (pts["sd"] > 0)]
    pts["log_sd"] = np.log(pts["sd"])
    return pts.reset_index(drop=True)


def _slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    xm = x - x.mean()
    b = float(xm @ (y - y.mean()) / (xm @ xm))
    a = float(y.mean() - b * x.mean())
    return a, b, xm, y - a - b * x


def size_variance_scaling(
    org_years: pd.DataFrame,
    *,
    method: Literal["organization", "bins"] = "organization",
    n_bins: int = 10,
    min_obs: int = 3,
    ci: Literal["hc1", "bootstrap"] = "hc1",
    n_boot: int = 999,
    seed: int = 20240601,
    growth_col: str = "growth",
    dataset: str = "default",
    level: float = 0.95,
) -> ModelResult:
    """Scaling of the dispersion of growth rates with size: log SD(growth) = a + b·log size.

    b = 0 means growth volatility does not fall with size (Gibrat); b = −0.5 is what an organization made of
    independent sub-units would show (the SD of a sum of m independent shocks falls as m^−1/2); empirical
    populations of firms typically give b ≈ −0.2.

    Parameters
    ----------
    method
        ``"organization"``: one point per organization — the SD of its yearly growth rates (organizations
        with at least ``min_obs`` growth observations) against its mean log size. ``"bins"``: organization-
        years grouped into ``n_bins`` quantile bins of log size; the SD of growth within each bin against the
        bin's mean log size.
    ci
        ``"hc1"``: heteroskedasticity-robust (HC1) standard error of the OLS slope, normal CI (organization
        points are independent). ``"bootstrap"``: organizations are resampled with replacement ``n_boot``
        times (seed ``seed``) and the whole computation (SDs, bins, slope) is redone; percentile CI and the
        bootstrap SD as the standard error. Use the bootstrap with ``method="bins"``, whose bins mix years of
        the same organization.

    Returns
    -------
    ModelResult
        Terms ``const`` and ``log_size`` (the scaling slope), ``curves["scaling"]`` with the points.
    """
    meta: dict[str, Any] = {
        "dataset": dataset,
        "stage": STAGE,
        "model": f"size_variance_{method}",
        "family": "gaussian",
        "kind": "size_variance",
        "method": f"OLS of log SD(growth) on log size ({method})",
        "specification": {
            "formula": "log sd(growth) ~ log_size",
            "method": method,
            "n_bins": n_bins,
            "min_obs": min_obs,
            "ci": ci,
            "n_boot": n_boot if ci == "bootstrap" else None,
            "seed": seed if ci == "bootstrap" else None,
        },
    }
    notes = [SURVIVOR_NOTE, "Slope 0: volatility independent of size; -0.5: independent sub-units."]
    df = org_years.loc[
        org_years[growth_col].notna() & org_years[C.LOG_SIZE].notna(), [C.ORG_ID, C.LOG_SIZE, growth_col]
    ]
    pts = _scaling_points(df, method, n_bins, min_obs, growth_col) if len(df) else pd.DataFrame()
    sample = {
        "unit": "organization" if method == "organization" else "size bin",
        "n": int(len(pts)),
        "n_groups": int(df[C.ORG_ID].nunique()),
        "organization_years": int(len(df)),
    }
    if len(pts) < 3 or pts["log_size"].std() == 0:
        return ModelResult.failed(
            reason=f"too few points with growth variation to estimate a slope ({len(pts)})",
            sample=sample,
            notes=notes,
            **meta,
        )
    xv, yv = pts["log_size"].to_numpy(), pts["log_sd"].to_numpy()
    a, b, xm, e = _slope(xv, yv)
    m = len(xv)
    xmat = np.column_stack([np.ones(m), xv])
    bread = np.linalg.inv(xmat.T @ xmat)
    vc = bread @ (xmat.T * e**2) @ xmat @ bread * m / (m - 2)
    res = ModelResult(**meta, sample=sample, notes=notes)
    if ci == "hc1":
        res.terms = [
            Term.from_estimate("const", a, math.sqrt(vc[0, 0]), level),
            Term.from_estimate(C.LOG_SIZE, b, math.sqrt(vc[1, 1]), level),
        ]
        res.set_vcov(["const", C.LOG_SIZE], vc)
        se_type = "HC1"
    else:
        rng = np.random.default_rng(seed)
        codes, orgs = pd.factorize(df[C.ORG_ID])
        rows_by_org = pd.Series(np.arange(len(df))).groupby(codes).apply(np.asarray).to_list()
        draws = np.full((n_boot, 2), np.nan)
        for r in range(n_boot):
            pick = rng.integers(0, len(orgs), len(orgs))
            idx = np.concatenate([rows_by_org[i] for i in pick])
            boot = df.iloc[idx].copy()
            boot[C.ORG_ID] = np.repeat(np.arange(len(pick)), [len(rows_by_org[i]) for i in pick])
            bp = _scaling_points(boot, method, n_bins, min_obs, growth_col)
            if len(bp) >= 3 and bp["log_size"].std() > 0:
                ab, bb, _, _ = _slope(bp["log_size"].to_numpy(), bp["log_sd"].to_numpy())
                draws[r] = (ab, bb)
        ok = np.isfinite(draws[:, 1])
        lo, hi = np.percentile(draws[ok], [50 * (1 - level), 50 * (1 + level)], axis=0)
        sd = draws[ok].std(axis=0, ddof=1)
        res.terms = []
        for j, (name, est) in enumerate([("const", a), (C.LOG_SIZE, b)]):
            t = Term.from_estimate(name, est, sd[j], level)
            t.ci_low, t.ci_high = float(lo[j]), float(hi[j])
            res.terms.append(t)
        res.set_vcov(["const", C.LOG_SIZE], np.cov(draws[ok].T))
        se_type = (
            f"cluster bootstrap over organizations ({int(ok.sum())} valid of {n_boot} draws, percentile CI)"
        )
    res.fit = {"converged": True, "reason": None, "nobs": m, "se_type": se_type, "df_model": 1}
    res.derived = {
        "scaling_slope": {
            "estimate": b,
            "se": res.term(C.LOG_SIZE).se,
            "ci_low": res.term(C.LOG_SIZE).ci_low,
            "ci_high": res.term(C.LOG_SIZE).ci_high,
        }
    }
    res.curves = {
        "scaling": {
            "log_size": xv.tolist(),
            "log_sd": yv.tolist(),
            "n": pts["n"].astype(int).tolist(),
            "fitted": (a + b * xv).tolist(),
        }
    }
    return res
