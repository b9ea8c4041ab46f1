"""Built-in organizational-ecology terms: each defined once, with its formula, R equivalent and source.

A term is computed from the project's event-history frames (``pipeline/data/histories.py``) on one of four
units of observation:

* ``population`` — population-years (``population.parquet``: year, density, foundings, exits, mass, …);
* ``subpopulation`` — subpopulation-years (``population_groups.parquet``: group_var, group, year, …), where
  ``density`` is the subpopulation's own;
* ``spell`` — counting-process spells (``spells.parquet``: org_id, year, start, stop, event, density, …);
* ``org_year`` — organization-years of the panel (``org_years.parquet``: org_id, year, age, size, …).

On organization-level units (spells, organization-years), yearly population quantities (prior foundings,
prior failures, mass where the frame lacks it) are taken from the population series of the same year:
density stays the whole population's, whatever subset of organizations a model is fitted on, unless the
formula asks for a subpopulation's density (``group_density``, ``cross_density``).

Density terms are divided by the dataset's declared ``density_scale`` s (N/s, (N/s)²), so coefficients are
per s organizations; ``log_density`` is the log of the raw count (its coefficient α is scale-free).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.scaling import scaled_density
from pipeline.core.columns import DENSITY, DENSITY_AT_FOUNDING, FOUNDINGS, MASS, YEAR

if TYPE_CHECKING:  # pragma: no cover
    from analysis.formula.evaluate import Env

UNITS = ("population", "subpopulation", "spell", "org_year")
ORG_LEVEL = frozenset({"spell", "org_year"})
YEARLY = frozenset({"population", "subpopulation"})
ALL = frozenset(UNITS)


@dataclass
class Value:
    """A computed factor: numeric values, or a categorical with its level order and reference level."""

    values: pd.Series
    categorical: bool = False
    levels: list[Any] | None = None
    reference: Any = None


@dataclass(frozen=True)
class BuiltinTerm:
    """One organizational-ecology term.

    ``population_level``: a yearly population quantity; on organization-level units it is computed on the
    population series and matched by year. ``rebase``: values are re-based on the estimation sample
    (trend starts at 0 in its first year).
    """

    name: str
    units: frozenset[str]
    math: str
    doc: str
    r: str
    source: str
    compute: Callable[[Env], Value]
    population_level: bool = False
    rebase: bool = False
    lagged: bool = False


def _density(env: Env) -> Value:
    return Value(scaled_density(env.column(DENSITY), env.scale("density"))[0])


def _density_sq(env: Env) -> Value:
    return Value(scaled_density(env.column(DENSITY), env.scale("density"))[1])


def _log_density(env: Env) -> Value:
    n = env.column(DENSITY).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return Value(pd.Series(np.where(n > 0, np.log(n), np.nan), index=n.index))


def _density_at_founding(env: Env) -> Value:
    return Value(env.column(DENSITY_AT_FOUNDING).astype(float) / env.scale("density"))


def _mass(env: Env) -> Value:
    m = env.column(MASS).astype(float)
    return Value(m / env.scale("mass", m))


def _failures_column(env: Env) -> str:
    col = "exits_death" if env.has_column("exits_death") else "exits"
    env.note(f"prior failures D_(t-1) are the series' '{col}' counts")
    return col


def _foundings_lag(env: Env) -> Value:
    return Value(env.lag(env.column(FOUNDINGS).astype(float), 1))


def _foundings_lag_sq(env: Env) -> Value:
    return Value(env.lag(env.column(FOUNDINGS).astype(float), 1) ** 2)


def _failures_lag(env: Env) -> Value:
    return Value(env.lag(env.column(_failures_column(env)).astype(float), 1))


def _failures_lag_sq(env: Env) -> Value:
    return Value(env.lag(env.column(_failures_column(env)).astype(float), 1) ** 2)


def _age(env: Env) -> Value:
    return Value(env.column("start" if env.unit == "spell" else "age").astype(float))


def _period(env: Env) -> Value:
    col = env.ctx.period_column or ("period" if env.has_column("period") else None)
    if not col:
        raise env.error("the term 'period' needs the dataset's period column (params: period_column)")
    ref = env.ctx.period_reference
    return Value(env.column(col), categorical=True, reference=ref)


def _trend(env: Env) -> Value:
    year = env.column(YEAR).astype(float)
    origin = env.trend_origin if env.trend_origin is not None else float(year.min())
    return Value(year - origin)


def _t(name: str, units: frozenset[str], math: str, doc: str, r: str, source: str, fn, **kw) -> BuiltinTerm:  # type: ignore[no-untyped-def]
    return BuiltinTerm(name, units, math, doc, r, source, fn, **kw)


_HF = "Hannan & Freeman (1989); Hannan & Carroll (1992)"
BUILTINS: dict[str, BuiltinTerm] = {
    b.name: b
    for b in (
        _t(
            "density",
            ALL,
            "N_t / s",
            "organizations alive on 1 January of year t (on subpopulation panels: the subpopulation's "
            "own), per s organizations (the dataset's density_scale)",
            "density / s",
            _HF,
            _density,
        ),
        _t(
            "density_sq",
            ALL,
            "(N_t / s)^2",
            "squared density (competition)",
            "I((density / s)^2)",
            _HF,
            _density_sq,
        ),
        _t(
            "log_density",
            ALL,
            "log N_t",
            "log of the raw density (legitimation in Hannan's generalized model λ = a·N^α·exp(β·N²)); "
            "years with N_t = 0 are missing",
            "log(density)",
            "Hannan (1986); Hannan & Carroll (1992)",
            _log_density,
        ),
        _t(
            "density_at_founding",
            ORG_LEVEL,
            "N_{founding year} / s",
            "density on 1 January of the organization's founding year (density delay)",
            "density_at_founding / s",
            "Carroll & Hannan (1989)",
            _density_at_founding,
        ),
        _t(
            "mass",
            ALL,
            "M_t / s_M",
            "sum of the size measure over organizations alive on 1 January of t, per s_M (mass_scale; "
            "'auto' = 10^floor(log10(max M)))",
            "mass / s_M",
            "Barnett & Amburgey (1990)",
            _mass,
            population_level=True,
        ),
        _t(
            "foundings_lag",
            ALL,
            "F_{t-1}",
            "foundings in the previous year (rate dependence); missing for the first year",
            "foundings[t - 1]",
            "Delacroix & Carroll (1983)",
            _foundings_lag,
            population_level=True,
            lagged=True,
        ),
        _t(
            "foundings_lag_sq",
            ALL,
            "F_{t-1}^2",
            "squared prior foundings",
            "foundings[t - 1]^2",
            "Delacroix & Carroll (1983)",
            _foundings_lag_sq,
            population_level=True,
            lagged=True,
        ),
        _t(
            "failures_lag",
            ALL,
            "D_{t-1}",
            "failures (exits of kind death; all exits when the series has no kinds) in the previous year",
            "exits_death[t - 1]",
            "Delacroix & Carroll (1983)",
            _failures_lag,
            population_level=True,
            lagged=True,
        ),
        _t(
            "failures_lag_sq",
            ALL,
            "D_{t-1}^2",
            "squared prior failures",
            "exits_death[t - 1]^2",
            "Delacroix & Carroll (1983)",
            _failures_lag_sq,
            population_level=True,
            lagged=True,
        ),
        _t(
            "age",
            ORG_LEVEL,
            "a",
            "organizational age: at the spell's start (spells) or years since the founding year "
            "(organization-years)",
            "start (spells) / year - founded_year",
            "Freeman, Carroll & Hannan (1983)",
            _age,
        ),
        _t(
            "period",
            ALL,
            "1[period_t = p]",
            "treatment dummies of the dataset's period column (params: period_column, reference "
            "period_reference or the first level in sort order)",
            "relevel(factor(period), ref = reference)",
            "—",
            _period,
        ),
        _t(
            "trend",
            ALL,
            "t − t_0",
            "calendar year minus the first year of the estimation sample",
            "year - min(year)",
            "—",
            _trend,
            population_level=False,
            rebase=True,
        ),
    )
}


def group_density(env: Env, var: str) -> Value:
    """N_{g,t}/s: density of each row's own subpopulation ``g`` of grouping ``var`` (niche density)."""
    if env.unit not in ORG_LEVEL:
        raise env.error(
            "group_density() needs organization-level data (spells or organization-years); on a "
            "subpopulation-year panel 'density' is already the subpopulation's own"
        )
    groups = env.groups_for(var)
    own = env.column(var).astype("string")
    key = pd.MultiIndex.from_arrays([groups["group"].astype(str), groups[YEAR].astype(int)])
    series = pd.Series(groups[DENSITY].to_numpy(dtype=float), index=key)
    look = pd.MultiIndex.from_arrays([own.fillna("\x00").astype(str), env.column(YEAR).astype(int)])
    vals = series.reindex(look).to_numpy()
    return Value(pd.Series(vals, index=env.frame.index) / env.scale("density"))


def cross_density(env: Env, var: str, level: object) -> Value:
    """N_{j,t}/s: density of subpopulation ``level`` of grouping ``var`` in the row's year."""
    groups = env.groups_for(var)
    sub = groups[groups["group"].astype(str) == str(level)]
    if sub.empty:
        raise env.error(f"cross_density(): grouping {var!r} has no subpopulation {level!r}")
    series = pd.Series(sub[DENSITY].to_numpy(dtype=float), index=sub[YEAR].astype(int).to_numpy())
    vals = series.reindex(env.column(YEAR).astype(int).to_numpy()).to_numpy()
    return Value(pd.Series(vals, index=env.frame.index) / env.scale("density"))
