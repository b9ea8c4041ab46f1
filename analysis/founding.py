"""Density-dependent founding models: nested Poisson / NB2 sequences, N*, multipliers, panel FE models.

The founding rate λ_t of a population is log-linear in density (Hannan & Freeman 1989; Carroll & Hannan
2000): log λ_t = b0 + b1·N_t + b2·N_t² + c1·F_{t−1} + d·M_t + environment + period controls, with F_t the
foundings in year t and N_t the density on 1 January. Legitimation then competition predicts b1 > 0,
b2 < 0, so that the founding rate peaks at N* = −b1/(2·b2).

Design terms (the formula language, docs/terms.md)
--------------------------------------------------
Each step of a sequence is a formula of :mod:`analysis.formula` on population-years (or subpopulation-years),
e.g. ``foundings ~ 1``, ``+ density``, ``+ density_sq``, ``+ foundings_lag`` — or a tuple of the terms it
adds. ``density`` = N_t / s and ``density_sq`` = (N_t / s)², with the density scale s recorded in every result
(``specification.density_scale``); ``density_scale="auto"`` picks the power of ten that puts the largest
observed density in [1, 10): s = 10^floor(log10(max N)). ``foundings_lag`` = F_{t−1} (only when year t−1 is
in the frame; the first year is dropped), ``mass`` = M_t / s_M (same "auto" rule, own scale), ``trend`` =
t − first year of the estimation sample, ``period`` = treatment dummies of the period column
(``period[level]``), plus every other term and transform of the formula language (log density, prior
failures, ``lag(x, k)``, ``C(x, ref=…)``, interactions, …). Every model of a nested sequence is fitted on the
same rows: rows with a missing value in any term used by any step are dropped first and counted.

Nested sequence and tests
-------------------------
:class:`FoundingSpec.steps` lists the steps (default: baseline → +density → +density² → +covariates); each
must contain the terms of the one before. For each family the models are fitted in order; each result
carries the LR test against the previous step of its family, and each NB2 model the boundary LR test of
α = 0 against the Poisson model of the same step (χ̄² 50:50 mixture of χ²₀ and χ²₁, p = ½·P(χ²₁ > LR), 5%
critical value 2.71). ``specification.model_formula`` records each step's whole formula.

Derived quantities (models with both density terms)
---------------------------------------------------
``derived["n_star"]``: N* in raw density units with delta-method SE and 95% CI, whether it lies inside the
observed density range, whether the signs are legitimation/competition, the Lind–Mehlum (2010) test of an
inverted U (slopes at the minimum and maximum observed density; statistic = the smaller one-sided z,
p = the larger one-sided p; normal reference because the models are ML) and the Fieller interval for N*.
``curves["multiplier"]``: the founding multiplier exp(b1·N/s + b2·(N/s)²) on 100 points over the observed
density range with pointwise 95% CIs by the delta method on the log scale (also for models with the
linear density term only).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.count_models import ALPHA, SE_LABELS, CountFit
from analysis.formula import TermContext, build_design, expanded_terms, nested_formulas, render_formula
from analysis.formula.grammar import Call, Formula, render
from analysis.formula.steps import quote_name
from analysis.formula.vocabulary import summands
from analysis.founding_derived import alpha_profile, n_star_profile
from analysis.inference.turning_point import multiplier_curve, turning_point
from analysis.registry import CountFamily, Derived, ModelKind, count_family
from analysis.results import ModelResult, Term, lr_test
from analysis.scaling import auto_scale as auto_scale  # re-exported
from analysis.scaling import resolve_scale

_N_STAR = Derived(
    "organizations",
    "density at the extreme of the quadratic density effect, -b1/(2 b2): delta-method CI (and a "
    "profile-likelihood CI for NB2), with the observed density range",
)
_ALPHA = Derived(
    "dimensionless", "NB2 dispersion alpha (Var = mu + alpha mu^2): Wald and profile CIs, LR test of 0"
)

#: Founding counts and the population-level exit counts fitted with the same count-model machinery.
MODEL_KINDS = (
    ModelKind(
        name="founding_count",
        figures=("multiplier",),
        area="founding",
        presentation="regression_sequences",
        caption="Founding rate",
        table="founding",
        order=10,
        derived={"n_star": _N_STAR, "alpha": _ALPHA},
        capabilities=frozenset({"cluster", "offset", "fixed_effects", "profile_intervals", "turning_point"}),
        description="Poisson / NB2 founding-rate models of a population or subpopulation panel",
    ),
    ModelKind(
        name="exit_rate",
        area="bottleneck",
        presentation="regression",
        caption="Population-level exit-rate models (exits with offset log density)",
        table="bottleneck_exit_rate",
        order=20,
        derived={"n_star": _N_STAR, "alpha": _ALPHA},
        capabilities=frozenset({"offset", "profile_intervals", "turning_point"}),
        options={"n_star_label": "Density at extreme exit rate"},
        description="population-level exits per year, offset log density (exit rate per organization)",
    ),
)

STAGE = "fit_founding"
#: Specials the count models use (strata, cluster and weights are refused rather than ignored; the panel
#: SEs are clustered by subpopulation through fit_founding.panel_se_type).
COUNT_SPECIALS = ("offset", "exposure")
INTERCEPT = "const"
YEAR, DENSITY, FOUNDINGS, MASS = "year", "density", "foundings", "mass"
BOUNDARY_CRIT_5PCT = float(stats.chi2.ppf(0.90, 1))  # 2.7055: 5% critical value of the 50:50 chi-bar-squared
DEFAULT_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("baseline", ()),
    ("density", ("density",)),
    ("density2", ("density_sq",)),
    ("covariates", ("foundings_lag",)),
)


@dataclass(frozen=True)
class FoundingSpec:
    """Declarative specification of a nested sequence of founding models.

    Parameters
    ----------
    steps : ``(name, step)`` pairs. A step is a formula of the formula language (docs/terms.md) — a whole
        formula (``"foundings ~ density"``) or an addition to the previous step (``"+ density_sq"``) — or,
        equivalently, a tuple of the terms it adds. The first step is the baseline (intercept plus its
        terms); a later step that adds no term is skipped.
    density_scale, mass_scale : a positive number, or ``"auto"`` (power of ten putting the maximum in
        [1, 10)).
    period_column : categorical column for the ``period`` term.
    period_reference : reference level of the period dummies (default: the first level in sort order).
    subset : condition restricting the years (rows) the models are fitted on (safe subset grammar,
        docs/terms.md); terms are computed on the whole series first, excluded rows are counted.
    outcome : count column (foundings) of steps given as term tuples.
    offset, exposure : optional column names (log-scale offset; exposure enters as log(exposure)).
    grid_points : points of the multiplier curve.
    level : confidence level of intervals.
    profile_intervals : also give N* its profile-likelihood interval (refits the model ~20 times per
        turning point; off for large simulation studies).
    """

    steps: tuple[tuple[str, tuple[str, ...] | str], ...] = DEFAULT_STEPS
    density_scale: float | str = "auto"
    mass_scale: float | str = "auto"
    period_column: str | None = None
    period_reference: str | None = None
    subset: str | None = None
    outcome: str = FOUNDINGS
    offset: str | None = None
    exposure: str | None = None
    grid_points: int = 100
    level: float = 0.95
    profile_intervals: bool = True

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> FoundingSpec:
        """Build a spec from plain data (e.g. a validated ``params.yaml`` block).

        ``steps`` may be a mapping ``{step: formula or [terms added]}`` (order kept) or a list of
        ``[step, formula or [terms]]`` pairs; every other key is passed on as a keyword argument.

        Examples
        --------
        >>> FoundingSpec.from_mapping({"steps": {"baseline": "foundings ~ 1", "density": "+ density + density_sq"},
        ...                            "density_scale": 100}).all_terms
        ['density', 'density_sq']
        """
        kw = dict(cfg)
        steps = kw.pop("steps", None)
        if steps is not None:
            pairs = steps.items() if isinstance(steps, Mapping) else steps
            kw["steps"] = tuple(
                (str(name), terms if isinstance(terms, str) else tuple(str(t) for t in (terms or ())))
                for name, terms in pairs
            )
        unknown = set(kw) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown founding-spec key(s): {sorted(unknown)}")
        return cls(**kw)

    def formulas(self) -> list[tuple[str, Formula]]:
        """``(step name, whole formula)`` for the steps that add terms (formula language, nested)."""
        return nested_formulas(self.steps, outcome=self.outcome)

    def specials_text(self) -> str:
        """The offset / exposure terms every step carries (``" + offset(log_density)"``), or ``""``."""
        text = f" + offset({quote_name(self.offset)})" if self.offset else ""
        return text + (f" + exposure({quote_name(self.exposure)})" if self.exposure else "")

    def special_argument(self, func: str) -> str | None:
        """The argument of a special (``offset``, ``exposure``) written in the formulas, e.g. ``log_density``."""
        for _, term in summands(self.formulas()[-1][1].rhs):
            if isinstance(term, Call) and term.func == func:
                return render(term.args[0])
        return None

    def model_formulas(self) -> dict[str, str]:
        """Step name → the whole formula fitted at that step, offset / exposure included (as results record)."""
        return {name: render_formula(f) + self.specials_text() for name, f in self.formulas()}

    @property
    def all_terms(self) -> list[str]:
        """Every term of the largest model (expanded, without the intercept), in order of entry."""
        return self.cumulative()[-1][1]

    def cumulative(self) -> list[tuple[str, list[str]]]:
        """``(step name, all terms of that step's model)`` for the steps that add terms."""
        return [(name, [t for t in expanded_terms(f) if t != "1"]) for name, f in self.formulas()]


@dataclass
class FoundingDesign:
    """Estimation sample of a founding model: outcome, design (with intercept), and what was dropped."""

    y: np.ndarray
    x: pd.DataFrame
    years: np.ndarray
    groups: np.ndarray | None
    offset: np.ndarray | None
    density_raw: np.ndarray
    density_scale: float
    mass_scale: float | None
    n_input: int
    n_dropped_missing: int
    n_dropped_lag: int
    fe_terms: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_excluded_subset: int = 0
    column_terms: dict[str, str] = field(default_factory=dict)
    step_terms: dict[str, set[str]] = field(default_factory=dict)
    formulas: dict[str, str] = field(default_factory=dict)

    @property
    def window(self) -> list[int] | None:
        """First and last year of the estimation sample."""
        return [int(self.years.min()), int(self.years.max())] if len(self.years) else None


def build_founding_design(
    frame: pd.DataFrame,
    spec: FoundingSpec,
    *,
    group_col: str | None = None,
    fixed_effects: bool = False,
    fe_label: str | None = None,
) -> FoundingDesign:
    """Build the common estimation sample and full design matrix of a nested founding sequence.

    The terms are those of the formula language (:mod:`analysis.formula`, docs/terms.md) on population-years
    (or, with ``group_col``, subpopulation-years: lags within subpopulation, ``density`` the subpopulation's
    own); the design is that of the largest step, whose rows every step uses.

    Parameters
    ----------
    frame : population-year frame (``year``, ``density``, ``foundings``, …) or, with ``group_col``, a
        subpopulation-year panel.
    spec : the model specification.
    group_col : subpopulation column (lags are taken within subpopulation).
    fixed_effects : add subpopulation dummies ``fe[<fe_label>=<group>]`` (first group is the reference);
        subpopulations without any founding in the sample are dropped (their fixed effect would be −∞).

    Returns
    -------
    FoundingDesign
        ``x`` holds ``const``, every column of the largest step (``period`` expanded to dummies) and the
        fixed-effect dummies; models of the sequence use column subsets of it (``step_columns``).
    """
    missing = [c for c in (YEAR,) if c not in frame.columns]
    if missing:
        raise ValueError(f"population frame lacks column(s) {missing}")
    df = frame.sort_values([*([group_col] if group_col else []), YEAR]).reset_index(drop=True)
    n_input = len(df)
    steps = spec.formulas()
    largest = steps[-1][1]
    text = render_formula(largest) + spec.specials_text()
    d_scale = resolve_scale(spec.density_scale, df[DENSITY]) if DENSITY in df else 1.0
    ctx = TermContext(
        density_scale=d_scale,
        mass_scale=spec.mass_scale,
        period_column=spec.period_column,
        period_reference=spec.period_reference,
        group_col=group_col or "group",
    )
    unit = "subpopulation" if group_col else "population"
    design = build_design(text, df, unit=unit, ctx=ctx, subset=spec.subset, allowed_specials=COUNT_SPECIALS)
    n_excluded = design.n_excluded_subset
    # rows lost to lags and to other missing values, counted before subpopulations are dropped
    y_known = np.ones(n_input, dtype=bool)
    lhs = design.outcome.columns[0]
    if lhs in df:
        y_known = np.isfinite(pd.to_numeric(df[lhs], errors="coerce").to_numpy(dtype=float))
    lag_rows = np.zeros(n_input, dtype=bool)
    lagged = [t for t in design.lagged_terms if t in design.missing]
    for label in lagged:
        lag_rows |= design.missing[label]
    n_lag = int((lag_rows & y_known).sum())
    n_missing = design.n_dropped - n_lag
    notes: list[str] = []
    if n_lag:
        what = (
            "foundings"
            if all(t.startswith("foundings_lag") for t in lagged)
            else f"value of a lagged term ({', '.join(lagged)})"
        )
        notes.append(f"{n_lag} row(s) without the previous year's {what} dropped (lagged term)")
    if n_missing > 0:
        notes.append(f"{n_missing} row(s) with missing values in the outcome or a used term dropped")
    if fixed_effects and group_col:
        y_ok = design.outcome.iloc[:, 0]
        tot = y_ok.groupby(df[group_col].to_numpy()[design.rows]).sum()
        zero = sorted(tot.index[tot == 0].astype(str))
        if zero:
            keep = ~df[group_col].astype(str).isin(zero).to_numpy()
            design = build_design(
                text,
                df,
                unit=unit,
                ctx=ctx,
                subset=spec.subset,
                restrict=keep,
                allowed_specials=COUNT_SPECIALS,
            )
            notes.append(
                f"{len(zero)} subpopulation(s) without foundings in the sample dropped: {', '.join(zero)}"
            )
    outcome = design.outcome.iloc[:, 0]
    notes += [n for n in design.notes if "dropped for missing" not in n]
    rows = design.rows
    x = design.x
    fe_terms: list[str] = []
    if fixed_effects and group_col:
        label = fe_label or group_col
        g = df[group_col].to_numpy()[rows]
        groups_sorted = sorted(pd.unique(g).tolist(), key=str)
        fe = {f"fe[{label}={v}]": (g == v).astype(float) for v in groups_sorted[1:]}
        x = pd.concat([x, pd.DataFrame(fe, index=x.index)], axis=1)
        fe_terms = list(fe)
    sub = df.iloc[rows]
    return FoundingDesign(
        y=outcome.to_numpy(dtype=float),
        x=x,
        years=sub[YEAR].to_numpy(dtype=int),
        groups=sub[group_col].to_numpy() if group_col else None,
        offset=design.offset,
        density_raw=sub[DENSITY].to_numpy(dtype=float) if DENSITY in df else np.empty(0),
        density_scale=d_scale,
        mass_scale=design.scales.get("mass"),
        n_input=n_input,
        n_dropped_missing=max(n_missing, 0),
        n_dropped_lag=n_lag,
        n_excluded_subset=n_excluded,
        fe_terms=fe_terms,
        notes=notes,
        column_terms=dict(design.column_terms),
        step_terms={s: set(expanded_terms(f)) for s, f in steps},
        formulas={s: render_formula(f) + spec.specials_text() for s, f in steps},
    )


def _columns_for(design: FoundingDesign, step: str) -> list[str]:
    """Design columns of one step: those of its terms (intercept ``const`` for the term ``1``) and the FE."""
    terms = design.step_terms[step]
    wanted = {INTERCEPT if t == "1" else t for t in terms}
    cols = [c for c in design.x.columns if c not in design.fe_terms and design.column_terms.get(c) in wanted]
    return cols + design.fe_terms


def _formula(outcome: str, cols: list[str], fe: list[str], fe_var: str | None) -> str:
    rhs = [c for c in cols if c != INTERCEPT and c not in fe]
    if fe:
        rhs.append(f"fe({fe_var})")
    return f"{outcome} ~ " + (" + ".join(rhs) if rhs else "1")


def _result_from_fit(
    fit: CountFit,
    design: FoundingDesign,
    *,
    model: str,
    step: str,
    cols: list[str],
    spec: FoundingSpec,
    se_type: str,
    dataset: str,
    unit: str,
    fe_var: str | None,
    declared: CountFamily,
) -> ModelResult:
    family = declared.name
    specification = {
        "formula": _formula(spec.outcome, cols, design.fe_terms, fe_var),
        "model_formula": design.formulas.get(step),
        **({"subset": spec.subset} if spec.subset else {}),
        "terms": [c for c in cols if c not in design.fe_terms],
        "family": family,
        "density_scale": design.density_scale,
        "mass_scale": design.mass_scale,
        "se_type": se_type,
        "options": {
            "step": step,
            "link": "log",
            "variance": declared.variance,
            "density_scale_rule": "auto: 10^floor(log10(max density))"
            if spec.density_scale == "auto"
            else "given",
            "offset": spec.offset or spec.special_argument("offset"),
            "exposure": spec.exposure or spec.special_argument("exposure"),
            "cluster_correction": "G/(G-1)" if se_type == "cluster" else None,
            **declared.options,
        },
    }
    if design.fe_terms:
        specification["fixed_effects"] = {
            "variable": fe_var,
            "terms": [eq + t for eq in declared.equations for t in design.fe_terms],
            "reference": "first group in sort order",
            "display": False,
        }
    sample = {
        "unit": unit,
        "n": int(len(design.y)),
        "n_groups": int(len(pd.unique(design.groups))) if design.groups is not None else None,
        "events": int(design.y.sum()),
        "exposure": None,
        "window": design.window,
        "n_input": design.n_input,
        "dropped_missing": design.n_dropped_missing,
        "dropped_lag": design.n_dropped_lag,
        **({"excluded_by_subset": design.n_excluded_subset} if spec.subset else {}),
    }
    base: dict[str, Any] = {
        "dataset": dataset,
        "stage": STAGE,
        "model": model,
        "family": family,
        "kind": declared.kind,
        "method": declared.method,
        "specification": specification,
        "sample": sample,
        "notes": list(design.notes) + list(declared.notes) + list(fit.notes),
    }
    se_label = SE_LABELS["observed"] if family == "poisson" and se_type != "cluster" else SE_LABELS[se_type]
    if family == "poisson" and se_type != "cluster":
        se_label = "observed information (= expected for the canonical log link)"
    if not fit.converged:
        res = ModelResult.failed(reason=fit.reason or "not converged", **base)
        res.fit.update(
            {
                "loglik": None,
                "aic": None,
                "bic": None,
                "df_model": fit.k_params,
                "nobs": fit.nobs,
                "se_type": se_label,
            }
        )
        return res
    res = ModelResult(**base)
    res.fit = {
        "converged": True,
        "reason": None,
        "loglik": fit.loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "df_model": fit.k_params,
        "nobs": fit.nobs,
        "se_type": se_label,
        "df_model_note": "number of estimated parameters incl. intercept, fixed effects and alpha",
        "iterations": fit.iterations,
    }
    res.terms = [
        Term.from_estimate(n, p, s, level=spec.level)
        for n, p, s in zip(fit.names, fit.params, fit.bse, strict=True)
    ]
    res.set_vcov(fit.names, fit.vcov)
    if ALPHA in fit.names:
        t_alpha = res.term(ALPHA)
        res.derived["alpha"] = {
            "estimate": fit.alpha,
            "se": t_alpha.se,
            "ci_low": t_alpha.ci_low,
            "ci_high": t_alpha.ci_high,
            "theta": fit.theta,
            "theta_se": fit.theta_se,
            "at_boundary": fit.alpha_at_boundary,
        }
        profile = spec.profile_intervals and declared.profile_intervals
        if profile and not fit.alpha_at_boundary and t_alpha.se and t_alpha.se > 0:
            res.derived["alpha"]["profile"] = alpha_profile(
                fit, design.y, design.x[cols], offset=design.offset, level=spec.level
            )
    names = fit.names
    d1, d2 = declared.count_prefix + DENSITY, declared.count_prefix + "density_sq"
    if d1 in names and len(design.density_raw):
        dmin, dmax = float(design.density_raw.min()), float(design.density_raw.max())
        dens = [d1] + ([d2] if d2 in names else [])
        idx = [names.index(d) for d in dens]
        b = fit.params[idx]
        v = fit.vcov[np.ix_(idx, idx)]
        res.curves["multiplier"] = multiplier_curve(
            b,
            v,
            scale=design.density_scale,
            dmin=dmin,
            dmax=dmax,
            n_points=spec.grid_points,
            level=spec.level,
        )
        if len(dens) == 2:
            b1, b2 = float(b[0]), float(b[1])
            res.derived["n_star"] = turning_point(
                b1,
                b2,
                v,
                scale=design.density_scale,
                observed_range=(dmin, dmax),
                level=spec.level,
                tests=True,
            ) | {"legitimation_competition": bool(b1 > 0 and b2 < 0)}
            ns = res.derived["n_star"]
            if (
                spec.profile_intervals
                and declared.profile_intervals
                and ns["estimate"] is not None
                and ns["se"]
            ):
                ns["profile"] = n_star_profile(
                    fit,
                    design.y,
                    design.x[cols],
                    offset=design.offset,
                    scale=design.density_scale,
                    level=spec.level,
                )
    return res


def _add_tests(
    results: dict[tuple[str, str], ModelResult],
    order: list[str],
    families: Iterable[str],
    models: dict[tuple[str, str], str],
) -> None:
    for fam in families:
        for prev, cur in zip(order, order[1:], strict=False):
            a, b = results[(fam, prev)], results[(fam, cur)]
            if a.fit.get("converged") and b.fit.get("converged"):
                df = int(b.fit["df_model"] - a.fit["df_model"])
                t = lr_test(f"LR vs {models[(fam, prev)]}", a.fit["loglik"], b.fit["loglik"], df)
                t["restricted"] = models[(fam, prev)]
                b.tests.append(t)
    if "poisson" in families and "negative_binomial" in families:
        for step in order:
            p, nb = results[("poisson", step)], results[("negative_binomial", step)]
            if p.fit.get("converged") and nb.fit.get("converged"):
                at_b = bool(nb.derived.get("alpha", {}).get("at_boundary"))
                t = lr_test(
                    f"LR alpha=0 vs {models[('poisson', step)]}",
                    p.fit["loglik"],
                    nb.fit["loglik"] if not at_b else p.fit["loglik"],
                    1,
                    boundary=True,
                )
                t.update(
                    restricted=models[("poisson", step)],
                    critical_value_5pct=BOUNDARY_CRIT_5PCT,
                    note="boundary test of alpha = 0: 50:50 mixture of chi2(0) and chi2(1)",
                )
                nb.tests.append(t)
                nb.derived["alpha"].update(lr_statistic=t["statistic"], lr_p=t["p"])


def _fit_sequence(
    design: FoundingDesign,
    spec: FoundingSpec,
    *,
    families: Sequence[str],
    se_type: str,
    dataset: str,
    unit: str,
    prefix: str,
    fe_var: str | None,
) -> list[ModelResult]:
    results: dict[tuple[str, str], ModelResult] = {}
    models: dict[tuple[str, str], str] = {}
    steps = list(design.step_terms)
    for fam in families:
        declared = count_family(fam)  # the registry (analysis/registry.py): ValueError when unknown
        for step in steps:
            cols = _columns_for(design, step)
            model = re.sub(r"[^A-Za-z0-9_]", "_", f"{prefix}{declared.prefix}_{step}")
            fit = declared.fit(
                design.y,
                design.x[cols],
                offset=design.offset,
                se_type=se_type,
                groups=design.groups if se_type == "cluster" else None,
            )
            models[(fam, step)] = model
            results[(fam, step)] = _result_from_fit(
                fit,
                design,
                model=model,
                step=step,
                cols=cols,
                spec=spec,
                se_type=se_type,
                dataset=dataset,
                unit=unit,
                fe_var=fe_var,
                declared=declared,
            )
    _add_tests(results, steps, families, models)
    return [results[(fam, s)] for fam in families for s in steps]


def fit_founding_models(
    population: pd.DataFrame,
    *,
    spec: FoundingSpec | None = None,
    families: Sequence[str] = ("poisson", "negative_binomial"),
    se_type: str = "observed",
    dataset: str = "default",
) -> list[ModelResult]:
    """Fit the nested founding-rate models of one population-year series.

    Parameters
    ----------
    population : population-year frame (docs/contracts.md: ``year``, ``density``, ``foundings``, …).
    spec : :class:`FoundingSpec` (default: baseline → +density → +density² → +F_{t−1}, auto density scale).
    families : registered count families (:func:`analysis.registry.count_families`): ``"poisson"``,
        ``"negative_binomial"`` (NB2 with α estimated) and those declared by other modules.
    se_type : ``"observed"`` (default) or ``"expected_theta_fixed"`` (glm.nb's convention).
    dataset : dataset name recorded in the results.

    Returns
    -------
    list[ModelResult]
        One result per family × step (family-major order), models named ``poisson_<step>`` and
        ``nb_<step>``; a model that cannot be estimated is returned with ``fit.converged = False``.

    Examples
    --------
    >>> pop = simulate_founding_series(seed=1)
    >>> [r.model for r in fit_founding_models(pop, families=("poisson",))]
    ['poisson_baseline', 'poisson_density', 'poisson_density2', 'poisson_covariates']
    """
    spec = spec or FoundingSpec()
    if se_type == "cluster":
        raise ValueError("clustered SEs need subpopulations: use fit_founding_panel")
    design = build_founding_design(population, spec)
    return _fit_sequence(
        design,
        spec,
        families=families,
        se_type=se_type,
        dataset=dataset,
        unit="population-year",
        prefix="",
        fe_var=None,
    )


def fit_founding_panel(
    groups: pd.DataFrame,
    *,
    spec: FoundingSpec | None = None,
    families: Sequence[str] = ("poisson", "negative_binomial"),
    se_type: str = "cluster",
    group_var: str | None = None,
    dataset: str = "default",
) -> list[ModelResult]:
    """Fit the nested founding models on a subpopulation-year panel with subpopulation fixed effects.

    Parameters
    ----------
    groups : long panel in the ``population_groups`` contract (``group_var``, ``group``, ``year``,
        ``density``, ``foundings``, …); density is the subpopulation's own density.
    spec : as in :func:`fit_founding_models`; lags are taken within subpopulation.
    se_type : ``"cluster"`` (default; CR1 sandwich clustered by subpopulation, G/(G−1)), ``"observed"`` or
        ``"expected_theta_fixed"``.
    group_var : which grouping to use when the panel holds several (``group_var`` column).

    Returns
    -------
    list[ModelResult]
        Models named ``panel_<group_var>_<family>_<step>``; fixed-effect dummies are kept in ``terms`` and
        ``vcov`` as ``fe[<group_var>=<group>]`` and listed in ``specification.fixed_effects`` (not for
        display); ``sample.n_groups`` counts subpopulations.
    """
    spec = spec or FoundingSpec()
    frame = groups
    if "group_var" in frame.columns:
        present = sorted(pd.unique(frame["group_var"]).tolist(), key=str)
        if group_var is None:
            if len(present) != 1:
                raise ValueError(f"panel holds several group variables {present}: pass group_var")
            group_var = str(present[0])
        frame = frame[frame["group_var"] == group_var]
    group_var = group_var or "group"
    design = build_founding_design(frame, spec, group_col="group", fixed_effects=True, fe_label=group_var)
    return _fit_sequence(
        design,
        spec,
        families=families,
        se_type=se_type,
        dataset=dataset,
        unit="subpopulation-year",
        prefix=f"panel_{group_var}_",
        fe_var=group_var,
    )


# ------------------------------------------------------------------------------------------ simulator


def simulate_founding_series(
    *,
    seed: int = 20261126,
    years: int = 120,
    start_year: int = 1900,
    b0: float = 1.5,
    b1: float = 1.2,
    b2: float = -0.25,
    alpha: float = 0.15,
    capacity: float = 450.0,
    scale: float = 100.0,
) -> pd.DataFrame:
    """Seeded NB2 founding series with known parameters on a realistic (logistic) density path.

    Density follows N_t = 5 + K/(1 + exp(−0.08·(t − t_mid))) with multiplicative noise, rounded (test and
    benchmark helper, not a pipeline stage). Foundings F_t ~ NB2 with log λ_t = b0 + b1·N_t/s + b2·(N_t/s)²
    and Var = λ + α·λ², so the truth is N* = −b1/(2·b2)·s (240 for the defaults, inside the range).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(years)
    path = 5 + capacity / (1 + np.exp(-0.08 * (t - years / 2.5)))
    dens = np.round(path * np.exp(rng.normal(0, 0.03, years)))
    x = dens / scale
    mu = np.exp(b0 + b1 * x + b2 * x**2)
    f = rng.poisson(rng.gamma(1 / alpha, alpha * mu)) if alpha > 0 else rng.poisson(mu)
    return pd.DataFrame({"year": start_year + t, "density": dens.astype(float), "foundings": f.astype(int)})
