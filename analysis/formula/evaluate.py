"""Evaluation of checked formula factors and subset expressions on event-history frames, without ``eval``.

Every node type has one numpy implementation here; names are looked up only in the data (and the
built-in terms), so a checked tree can do nothing but arithmetic on columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.formula.errors import FormulaError, nearest
from analysis.formula.grammar import Binary, Call, InList, ListLit, Name, Node, Num, Str, Unary, render
from analysis.formula.terms import BUILTINS, ORG_LEVEL, Value, cross_density, group_density
from analysis.formula.vocabulary import FUNCTIONS, Scope, call_literals, literal_value
from analysis.scaling import resolve_scale
from pipeline.core.columns import ORG_ID, YEAR

_NUMERIC = {
    "log": lambda v: np.log(np.where(v > 0, v, np.nan)),
    "log1p": lambda v: np.log1p(np.where(v > -1, v, np.nan)),
    "exp": np.exp,
    "sqrt": lambda v: np.sqrt(np.where(v >= 0, v, np.nan)),
    "abs": np.abs,
    "I": lambda v: v,
}


@dataclass(frozen=True)
class TermContext:
    """Everything the built-in terms need besides the frame itself.

    Parameters
    ----------
    density_scale : s in N/s (the dataset's declared density_scale).
    mass_scale : s_M in M/s_M, or ``"auto"``.
    period_column, period_reference : the column behind the ``period`` term and its reference level.
    population : the yearly population series (for organization-level units: looked up by year).
    groups : the subpopulation series (``population_groups``: group_var, group, year, density, …).
    organizations : the organizations table (for organization-years: looked up by org_id).
    aliases : the user's own names of renamed columns (e.g. ``{"gov_share": "funding_share"}``).
    group_col : subpopulation key of a subpopulation-year panel.
    """

    density_scale: float = 1.0
    mass_scale: float | str = "auto"
    period_column: str | None = None
    period_reference: Any = None
    population: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    organizations: pd.DataFrame | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    group_col: str = "group"


def lag_within(frame: pd.DataFrame, values: pd.Series, k: int, keys: list[str]) -> pd.Series:
    """Value of ``values`` k years earlier in the same unit (``keys`` + year); NaN when that year is absent.

    >>> f = pd.DataFrame({"year": [2000, 2001, 2003]})
    >>> lag_within(f, pd.Series([1.0, 2.0, 3.0]), 1, []).tolist()
    [nan, 1.0, nan]
    """
    left = frame[[*keys, YEAR]].reset_index(drop=True)
    prev = left.copy()
    prev[YEAR] = prev[YEAR] + k
    prev["_value"] = np.asarray(values, dtype=float)
    dup = prev.duplicated([*keys, YEAR])
    if dup.any():
        raise ValueError(
            f"lag: {int(dup.sum())} duplicate ({', '.join([*keys, YEAR])}) rows; lags need one row per unit and year"
        )
    merged = left.merge(prev, on=[*keys, YEAR], how="left", validate="one_to_one")
    return pd.Series(merged["_value"].to_numpy(dtype=float), index=frame.index)


class Env:
    """A frame of one unit of observation with its context: column lookup, lags, scales, notes."""

    def __init__(
        self,
        frame: pd.DataFrame,
        unit: str,
        ctx: TermContext,
        *,
        source: str = "",
        scales: dict[str, float] | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.frame = frame
        self.unit = unit
        self.ctx = ctx
        self.source = source
        self.scales = {} if scales is None else scales
        self.notes = [] if notes is None else notes
        self._node: Node | None = None
        self._pop: Env | None = None
        self.trend_origin: float | None = None

    # -- names
    def scope(self) -> Scope:
        cols = set(map(str, self.frame.columns))
        if self.unit in ORG_LEVEL:
            if self.ctx.population is not None:
                cols |= set(map(str, self.ctx.population.columns))
            if self.ctx.organizations is not None:
                cols |= set(map(str, self.ctx.organizations.columns))
        groups = None
        if self.ctx.groups is not None and "group_var" in self.ctx.groups:
            g = self.ctx.groups
            groups = {
                str(v): tuple(sorted(map(str, g.loc[g["group_var"] == v, "group"].unique())))
                for v in g["group_var"].unique()
            }
        return Scope(self.unit, frozenset(cols), dict(self.ctx.aliases), groups)

    def has_column(self, name: str) -> bool:
        return name in self.frame.columns

    def column(self, name: str) -> pd.Series:
        """A data column aligned to the frame: own column, alias, population series by year, organization."""
        real = self.ctx.aliases.get(name, name) if name not in self.frame.columns else name
        if real in self.frame.columns:
            return self.frame[real]
        if self.unit in ORG_LEVEL:
            pop = self.ctx.population
            if pop is not None and real in pop.columns:
                return self.by_year(pop.set_index(YEAR)[real])
            orgs = self.ctx.organizations
            if orgs is not None and real in orgs.columns:
                look = orgs.drop_duplicates(ORG_ID).set_index(ORG_ID)[real]
                return pd.Series(look.reindex(self.frame[ORG_ID]).to_numpy(), index=self.frame.index)
        raise self.error(f"column {name!r} is not in the {self.unit} data", name=name)

    # -- helpers for terms
    def error(self, reason: str, *, name: str | None = None, node: Node | None = None) -> FormulaError:
        node = node or self._node
        if node is None:
            return FormulaError(reason, name=name)
        return FormulaError(reason, source=self.source, pos=node.pos, length=node.end - node.pos, name=name)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def scale(self, kind: str, values: pd.Series | None = None) -> float:
        """The scale of ``density`` (declared) or ``mass`` (declared or "auto" over the whole frame)."""
        if kind not in self.scales:
            if kind == "density":
                self.scales[kind] = resolve_scale(self.ctx.density_scale, np.array([1.0]))
            else:
                self.scales[kind] = resolve_scale(self.ctx.mass_scale, values if values is not None else [])
        return self.scales[kind]

    def keys(self) -> list[str]:
        if self.unit == "subpopulation":
            return [self.ctx.group_col]
        if self.unit in ORG_LEVEL:
            return [ORG_ID]
        return []

    def lag(self, values: pd.Series, k: int) -> pd.Series:
        try:
            return lag_within(self.frame, values, k, self.keys())
        except ValueError as exc:
            raise self.error(str(exc)) from exc

    def population_env(self) -> Env | None:
        if self.unit not in ORG_LEVEL or self.ctx.population is None:
            return None
        if self._pop is None:
            pop = self.ctx.population.sort_values(YEAR).reset_index(drop=True)
            self._pop = Env(
                pop, "population", self.ctx, source=self.source, scales=self.scales, notes=self.notes
            )
        return self._pop

    def by_year(self, yearly: pd.Series) -> pd.Series:
        """Values of a yearly series (indexed by year) for each row's year."""
        vals = yearly.reindex(self.frame[YEAR].to_numpy()).to_numpy()
        return pd.Series(vals, index=self.frame.index)

    def groups_for(self, var: str) -> pd.DataFrame:
        g = self.ctx.groups
        if g is None or "group_var" not in g:
            raise self.error("subpopulation densities need the subpopulation series (population_groups)")
        sub = g[g["group_var"] == var]
        if sub.empty:
            valid = sorted(map(str, g["group_var"].unique()))
            raise FormulaError(
                f"{var!r} is not a grouping variable of this dataset",
                source=self.source,
                pos=self._node.pos if self._node else None,
                suggestions=nearest(var, valid) or valid,
            )
        return sub


def _is_population_level(node: Node, env: Env) -> bool:
    """True when every name of ``node`` is a yearly population quantity (for org-level lags)."""
    pop = env.ctx.population
    if pop is None:
        return False
    if isinstance(node, Name):
        b = BUILTINS.get(node.id)
        if b is not None:
            return b.population_level or node.id in ("density", "density_sq", "log_density", "trend")
        return env.ctx.aliases.get(node.id, node.id) in pop.columns
    if isinstance(node, Num):
        return True
    if isinstance(node, Call):
        fn = FUNCTIONS[node.func]
        if fn.kind == "ecology":
            return node.func == "cross_density"
        return all(_is_population_level(a, env) for a in node.args[: fn.n_data[1]])
    if isinstance(node, Unary):
        return _is_population_level(node.operand, env)
    if isinstance(node, Binary):
        return _is_population_level(node.left, env) and _is_population_level(node.right, env)
    return False


def _numeric(v: Value, node: Node, env: Env) -> np.ndarray:
    if v.categorical:
        raise env.error(f"{render(node)} is categorical; arithmetic needs a numeric value", node=node)
    vals = pd.to_numeric(v.values, errors="coerce") if v.values.dtype == object else v.values
    return np.asarray(vals, dtype=float)


def evaluate(node: Node, env: Env) -> Value:
    """Value of a checked expression node on the environment's frame."""
    prev, env._node = env._node, node
    try:
        return _evaluate(node, env)
    finally:
        env._node = prev


def _evaluate(node: Node, env: Env) -> Value:
    idx = env.frame.index
    if isinstance(node, Name):
        b = BUILTINS.get(node.id)
        if b is not None and env.unit in b.units:
            if b.population_level and env.unit in ORG_LEVEL:
                # yearly population quantities come from the population series (its scale, its lags)
                pe = env.population_env()
                if pe is not None:
                    v = evaluate(node, pe)
                    return Value(env.by_year(pd.Series(v.values.to_numpy(), index=pe.frame[YEAR].to_numpy())))
            return b.compute(env)
        col = env.column(node.id)
        if pd.api.types.is_bool_dtype(col):
            return Value(col.astype(float))
        if pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype):
            return Value(col.astype(float))
        return Value(col, categorical=True)
    if isinstance(node, Num):
        return Value(pd.Series(float(node.value), index=idx))
    if isinstance(node, Unary) and node.op in ("-", "+"):
        v = _numeric(evaluate(node.operand, env), node.operand, env)
        return Value(pd.Series(-v if node.op == "-" else v, index=idx))
    if isinstance(node, Binary) and node.op in ("+", "-", "*", "/", "**"):
        a = _numeric(evaluate(node.left, env), node.left, env)
        b = _numeric(evaluate(node.right, env), node.right, env)
        with np.errstate(all="ignore"):
            out = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}[node.op](
                a, b
            )
        return Value(pd.Series(out, index=idx))
    if isinstance(node, Call):
        return _call(node, env)
    raise env.error(f"{render(node)} cannot be evaluated as a term", node=node)


def _call(node: Call, env: Env) -> Value:
    idx = env.frame.index
    fn = FUNCTIONS[node.func]
    lits = call_literals(node)
    if fn.kind == "numeric":
        v = _numeric(evaluate(node.args[0], env), node.args[0], env)
        with np.errstate(all="ignore"):
            return Value(pd.Series(_NUMERIC[node.func](v), index=idx))
    if fn.kind == "panel":
        k = int(lits.get("k", 1))  # type: ignore[call-overload]
        arg = node.args[0]
        pe = env.population_env()
        if pe is not None and _is_population_level(arg, env):
            inner = pd.Series(_numeric(evaluate(arg, pe), arg, pe), index=pe.frame.index)
            lagged = pe.lag(inner, k)
            out = inner - lagged if node.func == "diff" else lagged
            return Value(env.by_year(pd.Series(out.to_numpy(), index=pe.frame[YEAR].to_numpy())))
        inner = pd.Series(_numeric(evaluate(arg, env), arg, env), index=idx)
        lagged = env.lag(inner, k)
        return Value(inner - lagged if node.func == "diff" else lagged)
    if node.func == "C":
        v = evaluate(node.args[0], env)
        if not v.categorical:
            vals = pd.to_numeric(v.values, errors="coerce")
            finite = vals[np.isfinite(vals)]
            if len(finite) and bool((finite % 1 == 0).all()):  # whole numbers (years, codes): integer levels
                v = Value(vals.round().astype("Int64").astype(object).where(vals.notna(), None))
        levels = lits.get("levels")
        return Value(
            v.values,
            categorical=True,
            levels=list(levels) if levels else None,
            reference=lits.get("ref", v.reference),
        )
    if node.func == "pieces":
        x = _numeric(evaluate(node.args[0], env), node.args[0], env)
        cuts = [float(c) for c in lits["cuts"]]  # type: ignore[union-attr]
        edges = [*cuts, np.inf]
        labels = [
            f"[{_fmt(a)},{_fmt(b)})" if np.isfinite(b) else f"{_fmt(a)}+"
            for a, b in zip(edges, edges[1:], strict=False)
        ]
        pos = np.searchsorted(np.asarray(cuts), x, side="right") - 1
        ok = np.isfinite(x) & (pos >= 0)
        vals = pd.Series(
            np.where(ok, np.asarray(labels, dtype=object)[np.clip(pos, 0, None)], None),
            index=idx,
            dtype=object,
        )
        return Value(vals, categorical=True, levels=labels, reference=labels[0])
    if node.func == "group_density":
        return group_density(env, str(lits["var"]))
    if node.func == "cross_density":
        return cross_density(env, str(lits["var"]), lits["level"])
    raise env.error(f"{node.func}() cannot be evaluated here", node=node)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# -------------------------------------------------------------------------------------------- subset


def evaluate_subset(node: Node, env: Env) -> np.ndarray:
    """Boolean mask of a checked subset expression; comparisons with missing values are False."""
    prev, env._node = env._node, node
    try:
        return _subset(node, env)
    finally:
        env._node = prev


def _operand(node: Node, env: Env) -> np.ndarray:
    if isinstance(node, Str):
        return np.full(len(env.frame), node.value, dtype=object)
    if isinstance(node, Num):
        return np.full(len(env.frame), float(node.value))
    if isinstance(node, Name):
        col = env.column(node.id)
        if pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype):
            return col.to_numpy(dtype=float, na_value=np.nan)
        return col.astype(object).where(col.notna(), None).to_numpy()
    return _numeric(evaluate(node, env), node, env)


def _compare(op: str, a: np.ndarray, b: np.ndarray, node: Node, env: Env) -> np.ndarray:
    a_num, b_num = a.dtype != object, b.dtype != object
    if a_num != b_num:
        raise env.error(
            f"{render(node)}: compares a text value with a number; quote the value or drop the quotes",
            node=node,
        )
    missing = pd.isna(a) | pd.isna(b)
    with np.errstate(invalid="ignore"):
        if a_num:
            res = {
                "==": np.equal,
                "!=": np.not_equal,
                "<": np.less,
                "<=": np.less_equal,
                ">": np.greater,
                ">=": np.greater_equal,
            }[op](a, b)
        else:
            if op not in ("==", "!="):
                raise env.error(f"{render(node)}: text values can only be compared with == or !=", node=node)
            res = (
                pd.Series(a, dtype=object).astype(str).to_numpy()
                == pd.Series(b, dtype=object).astype(str).to_numpy()
            )
            res = res if op == "==" else ~res
    return np.asarray(res, dtype=bool) & ~missing


def _subset(node: Node, env: Env) -> np.ndarray:
    if isinstance(node, Binary) and node.op in ("and", "or"):
        a, b = evaluate_subset(node.left, env), evaluate_subset(node.right, env)
        return (a & b) if node.op == "and" else (a | b)
    if isinstance(node, Unary) and node.op == "not":
        return ~evaluate_subset(node.operand, env)
    if isinstance(node, Binary) and node.op in ("==", "!=", "<", "<=", ">", ">="):
        return _compare(node.op, _operand(node.left, env), _operand(node.right, env), node, env)
    if isinstance(node, InList):
        a = _operand(node.left, env)
        values = literal_value(node.items)
        if a.dtype == object:
            if any(not isinstance(v, str) for v in values):  # type: ignore[union-attr]
                raise env.error(f"{render(node)}: the values of a text column must be quoted", node=node)
            res = pd.Series(a).astype(str).isin([str(v) for v in values]).to_numpy() & ~pd.isna(a)  # type: ignore[union-attr]
        else:
            if any(isinstance(v, str) for v in values):  # type: ignore[union-attr]
                raise env.error(f"{render(node)}: a numeric column is compared with text values", node=node)
            res = np.isin(a, np.asarray(values, dtype=float)) & ~np.isnan(a)
        return ~res & ~pd.isna(a) if node.negate else res
    if isinstance(node, Name | ListLit | Str):
        raise env.error(f"{render(node)} is not a condition (write a comparison such as x == 'a')", node=node)
    raise env.error(f"{render(node)} is not a condition", node=node)
