"""The specification and estimation sample of a nested sequence of founding models.

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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from analysis.formula import TermContext, build_design, expanded_terms, nested_formulas, render_formula
from analysis.formula.grammar import Call, Formula, render
from analysis.formula.steps import quote_name
from analysis.formula.vocabulary import summands
from analysis.scaling import resolve_scale

#: Specials the count models use (strata, cluster and weights are refused rather than ignored; the panel
#: SEs are clustered by subpopulation through fit_founding.panel_se_type).
COUNT_SPECIALS = ("offset", "exposure")
INTERCEPT = "const"
YEAR, DENSITY, FOUNDINGS, MASS = "year", "density", "foundings", "mass"
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
