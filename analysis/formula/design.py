"""Design matrices from checked formulas: the engine computes every factor (ecology terms, lags, safe
arithmetic), formulaic expands interactions and encodes categoricals as R's ``model.matrix`` does.

formulaic only ever sees a formula written by this module over internal column names (``_f0``, ``_f1``,
…) and whitelisted transforms (``center``, ``scale``, ``bs``, ``poly``) with numeric literal arguments, never
the user's text; columns are renamed back to the user's labels (``density:period[boom]``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from formulaic import Formula as FormulaicFormula
from formulaic import model_matrix

from analysis.formula.errors import FormulaError
from analysis.formula.evaluate import Env, TermContext, evaluate, evaluate_subset
from analysis.formula.grammar import (
    Binary,
    Call,
    Formula,
    Name,
    Node,
    Num,
    Unary,
    parse_expression,
    parse_formula,
    render,
)
from analysis.formula.grammar import render_formula as render_formula
from analysis.formula.terms import BUILTINS, Value
from analysis.formula.vocabulary import (
    FUNCTIONS,
    SPECIALS,
    call_literals,
    check_formula,
    check_subset,
    names_in,
    summands,
)

INTERCEPT = "const"
MAX_COLUMNS = 2000
MAX_CELLS = 400_000_000  # rows × columns of the dense design (3.2 GB of float64)
_INTERNAL = re.compile(r"_f(\d+)")


@dataclass
class Design:
    """Estimation sample and design matrix of one formula on one frame.

    ``x`` has the user's labels as column names (intercept ``const``); ``rows`` are the positions of the
    sample's rows in the input frame; ``dropped`` counts rows of the subset lost to a missing or
    non-finite value, per term label (a row missing several terms counts for each), ``missing`` holds
    the same as boolean masks over the input rows; ``lagged_terms`` are the labels that involve a lag.
    """

    formula: str
    unit: str
    x: pd.DataFrame
    outcome: pd.DataFrame | None
    rows: np.ndarray
    term_labels: list[str]
    column_terms: dict[str, str]
    strata: pd.DataFrame | None = None
    cluster: pd.Series | None = None
    offset: np.ndarray | None = None
    weights: np.ndarray | None = None
    subset: str | None = None
    n_input: int = 0
    n_excluded_subset: int = 0
    n_dropped: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    missing: dict[str, np.ndarray] = field(default_factory=dict)
    lagged_terms: list[str] = field(default_factory=list)
    scales: dict[str, float] = field(default_factory=dict)
    builtins: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.x)

    def specification(self) -> dict[str, Any]:
        """JSON-ready record of the effective specification and sample (for result files)."""
        return {
            "formula": self.formula,
            "unit": self.unit,
            "subset": self.subset,
            "columns": list(self.x.columns),
            "term_labels": list(self.term_labels),
            "builtin_terms": {b: BUILTINS[b].math for b in self.builtins},
            "scales": dict(self.scales),
            "strata": list(self.strata.columns) if self.strata is not None else None,
            "cluster": self.cluster.name if self.cluster is not None else None,
            "offset": self.offset is not None,
            "weights": self.weights is not None,
            "sample": {
                "n_input": self.n_input,
                "excluded_by_subset": self.n_excluded_subset,
                "dropped_missing": self.n_dropped,
                "dropped_by_term": dict(self.dropped),
                "n": self.n,
            },
        }


@dataclass
class _Factor:
    label: str
    internal: str
    emitted: str
    value: Value
    node: Node


class _Builder:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.factors: dict[str, _Factor] = {}
        self.inputs: dict[str, pd.Series] = {}

    def input(self, series: pd.Series) -> str:
        name = f"_f{len(self.inputs)}"
        self.inputs[name] = series
        return name

    def factor(self, node: Node) -> str:
        label = render(node)
        if label in self.factors:
            return self.factors[label].emitted
        if isinstance(node, Call) and FUNCTIONS[node.func].kind == "stateful":
            arg = node.args[0]
            v = evaluate(arg, self.env)
            if v.categorical:
                raise self.env.error(
                    f"{node.func}() needs a numeric argument; {render(arg)} is categorical", node=arg
                )
            internal = self.input(v.values.astype(float))
            lits = call_literals(node)
            kw = "".join(f", {k}={_literal(lits[k])}" for k in ("degree", "df", "knots") if k in lits)
            emitted = f"{node.func}({internal}{kw})"
            value = v
        else:
            value = evaluate(node, self.env)
            internal = self.input(value.values)
            emitted = internal
        self.factors[label] = _Factor(label, internal, emitted, value, node)
        return emitted

    def emit(self, node: Node) -> str:
        if isinstance(node, Binary) and node.formula:
            if node.op == "**":
                return f"({self.emit(node.left)})**{int(node.right.value)}"  # type: ignore[attr-defined]
            return f"({self.emit(node.left)} {node.op} {self.emit(node.right)})"
        if isinstance(node, Num):
            return str(int(node.value))
        if isinstance(node, Unary):
            return self.emit(node.operand)
        return self.factor(node)


def _literal(v: object) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(repr(float(x)) for x in v) + "]"
    return repr(int(v)) if isinstance(v, int) else repr(float(v))  # type: ignore[arg-type]


def _finite(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
        return np.isfinite(s.to_numpy(dtype=float, na_value=np.nan))
    return s.notna().to_numpy()


def _level_key(v: object) -> tuple[int, Any]:
    return (0, float(v)) if isinstance(v, int | float | np.integer | np.floating) else (1, str(v))  # type: ignore[arg-type]


def _encode(f: _Factor, keep: np.ndarray, env: Env, notes: list[str]) -> tuple[pd.Categorical, list[Any]]:
    """Integer-coded categorical over the sample with the reference level first."""
    vals = f.value.values[keep]
    observed = list(pd.unique(vals))
    if f.value.levels is not None:
        extra = [v for v in observed if v not in f.value.levels]
        if extra:
            raise env.error(f"{f.label}: values {extra[:5]} are not among the given levels", node=f.node)
        levels = [lv for lv in f.value.levels if lv in set(observed)]
        unused = [lv for lv in f.value.levels if lv not in set(observed)]
        if unused:
            notes.append(f"{f.label}: level(s) {unused} absent from the estimation sample, dropped")
    else:
        levels = sorted(observed, key=_level_key)
    ref = f.value.reference
    if ref is not None:
        match = [lv for lv in levels if str(lv) == str(ref)]
        if not match:
            raise FormulaError(
                f"{f.label}: reference level {ref!r} does not occur in the estimation sample",
                source=env.source,
                pos=f.node.pos,
                length=f.node.end - f.node.pos,
                suggestions=[str(lv) for lv in levels[:10]],
            )
        levels.remove(match[0])
        levels.insert(0, match[0])
    codes = pd.Categorical(vals, categories=levels).codes
    return pd.Categorical.from_codes(codes, categories=list(range(len(levels)))), levels


def build_design(
    formula: str | Formula,
    frame: pd.DataFrame,
    *,
    unit: str,
    ctx: TermContext | None = None,
    subset: str | None = None,
    intercept: bool = True,
    intercept_name: str = INTERCEPT,
    allowed_specials: Collection[str] | None = None,
    restrict: np.ndarray | None = None,
    where: str | None = None,
) -> Design:
    """Check a formula (and subset) against a frame and build its estimation sample and design matrix.

    Parameters
    ----------
    formula : Wilkinson/R formula text (or a parsed :class:`Formula`).
    frame : event-history frame of ``unit`` (``population``, ``subpopulation``, ``spell``, ``org_year``).
    ctx : scales, period column, population/subpopulation series, organizations, aliases.
    subset : safe condition on columns restricting the rows (organizations) the model is fitted on; terms
        are computed on the whole frame first (lags reach outside the subset; density stays the whole
        population's).
    intercept : ``False`` drops the intercept column after encoding (Cox: contrasts as with an intercept,
        as R's ``coxph`` does).
    allowed_specials : the specials (strata, cluster, offset, exposure, weights) the model family
        accepts; ``None`` accepts all.
    restrict : boolean mask of input rows the caller excludes besides the subset (e.g. subpopulations
        without any founding); counted in ``n_excluded_subset``; the caller states why.
    where : params location named in errors.

    Examples
    --------
    >>> pop = pd.DataFrame({"year": [2000, 2001, 2002], "density": [10.0, 20.0, 30.0], "foundings": [2, 3, 1]})
    >>> d = build_design("foundings ~ density + lag(foundings, 1)", pop, unit="population",
    ...                  ctx=TermContext(density_scale=10))
    >>> d.x.columns.tolist(), d.x["density"].tolist(), d.dropped
    (['const', 'density', 'lag(foundings, 1)'], [2.0, 3.0], {'lag(foundings, 1)': 1})
    """
    try:
        return _build(
            formula,
            frame,
            unit,
            ctx or TermContext(),
            subset,
            intercept,
            intercept_name,
            allowed_specials,
            restrict,
        )
    except FormulaError as exc:
        if where:
            raise exc.located(where) from None
        raise


def _build(
    formula: str | Formula,
    frame: pd.DataFrame,
    unit: str,
    ctx: TermContext,
    subset: str | None,
    intercept: bool,
    intercept_name: str,
    allowed: Collection[str] | None,
    restrict: np.ndarray | None = None,
) -> Design:
    f = parse_formula(formula) if isinstance(formula, str) else formula
    data = frame.reset_index(drop=True)
    env = Env(data, unit, ctx, source=f.source)
    scope = env.scope()
    check_formula(f, scope)
    specials = [(t.func, t) for s, t in summands(f.rhs) if isinstance(t, Call) and t.func in SPECIALS]
    for name, node in specials:
        if allowed is not None and name not in allowed:
            raise FormulaError(
                f"{name}() is not accepted by this model (accepted: {', '.join(sorted(allowed)) or 'none'})",
                source=f.source,
                pos=node.pos,
                length=node.end - node.pos,
            )
    n = len(data)
    mask = np.ones(n, dtype=bool)
    if subset:
        cond = parse_expression(subset)
        check_subset(cond, scope, subset)
        mask = evaluate_subset(cond, Env(data, unit, ctx, source=subset))
    if restrict is not None:
        mask = mask & np.asarray(restrict, dtype=bool)
    rebase = any(BUILTINS[nm].rebase for nm in _all_names(f) if nm in BUILTINS)
    for attempt in (0, 1):
        b = _Builder(env)
        plain = [(s, t) for s, t in summands(f.rhs) if not (isinstance(t, Call) and t.func in SPECIALS)]
        rhs = _join([(s, b.emit(t)) for s, t in plain])
        outcome = _outcome(f.lhs, env)
        extra = _specials(specials, env)
        ok = mask.copy()
        dropped: dict[str, int] = {}
        missing: dict[str, np.ndarray] = {}
        checks = [(fa.label, b.inputs[fa.internal]) for fa in b.factors.values()]
        checks += [(c, outcome[c]) for c in (outcome.columns if outcome is not None else [])]
        checks += [(lab, s) for lab, s in extra["checks"]]
        for label, series in checks:
            bad = mask & ~_finite(series)
            if bad.any():
                dropped[label] = dropped.get(label, 0) + int(bad.sum())
                missing[label] = missing[label] | bad if label in missing else bad
            ok &= ~bad
        if not rebase or attempt == 1:
            break
        years = data["year"].to_numpy(dtype=float)[ok]
        env.trend_origin = float(years.min()) if len(years) else 0.0  # type: ignore[attr-defined]
    keep = np.flatnonzero(ok)
    notes = env.notes
    if subset:
        notes.append(f"subset {subset!r}: {int((~mask).sum())} of {n} row(s) excluded")
    if dropped:
        lost = int(mask.sum() - ok.sum())
        parts = ", ".join(f"{k} {v}" for k, v in dropped.items())
        notes.append(f"{lost} row(s) dropped for missing or non-finite values ({parts})")
    if not len(keep):
        raise FormulaError(f"no rows left to fit {render_formula(f)!r} after the subset and missing values")
    table: dict[str, Any] = {}
    levels: dict[str, list[Any]] = {}
    for fa in b.factors.values():
        if fa.value.categorical:
            table[fa.internal], levels[fa.internal] = _encode(fa, keep, env, notes)
        else:
            table[fa.internal] = b.inputs[fa.internal].to_numpy(dtype=float)[keep]
    _check_width(rhs, b, levels, len(keep), f.source)
    mm = model_matrix(rhs, pd.DataFrame(table), na_action="raise")
    x, term_labels, column_terms = _rename(mm, b, levels, intercept_name)
    if not intercept and intercept_name in x.columns:
        x = x.drop(columns=[intercept_name])
        term_labels = [t for t in term_labels if t != intercept_name]
        column_terms.pop(intercept_name, None)
    if outcome is not None:
        outcome = outcome.iloc[keep].reset_index(drop=True)
    return Design(
        formula=render_formula(f),
        unit=unit,
        x=x,
        outcome=outcome,
        rows=keep,
        term_labels=term_labels,
        column_terms=column_terms,
        strata=extra["strata"].iloc[keep].reset_index(drop=True) if extra["strata"] is not None else None,
        cluster=extra["cluster"].iloc[keep].reset_index(drop=True) if extra["cluster"] is not None else None,
        offset=extra["offset"][keep] if extra["offset"] is not None else None,
        weights=extra["weights"][keep] if extra["weights"] is not None else None,
        subset=subset,
        n_input=n,
        n_excluded_subset=int((~mask).sum()),
        n_dropped=int(mask.sum() - ok.sum()),
        dropped=dropped,
        missing=missing,
        lagged_terms=[fa.label for fa in b.factors.values() if _uses_lag(fa.node)],
        scales=dict(env.scales),
        builtins=[nm for nm in _all_names(f) if nm in BUILTINS and unit in BUILTINS[nm].units],
        notes=list(dict.fromkeys(notes)),
    )


def _uses_lag(node: Node) -> bool:
    """True when a factor involves a lag (lag/diff or a lagged built-in term)."""
    if isinstance(node, Name):
        return node.id in BUILTINS and BUILTINS[node.id].lagged
    if isinstance(node, Call):
        return FUNCTIONS[node.func].kind == "panel" or any(_uses_lag(a) for a in node.args)
    if isinstance(node, Unary):
        return _uses_lag(node.operand)
    if isinstance(node, Binary):
        return _uses_lag(node.left) or _uses_lag(node.right)
    return False


def _check_width(rhs: str, b: _Builder, levels: dict[str, list[Any]], n_rows: int, source: str) -> None:
    """Refuse designs too wide or too large to build (e.g. an interaction with a many-level factor)."""
    by_internal = {fa.internal: fa for fa in b.factors.values()}

    def width(expr: str) -> int:
        m = _INTERNAL.search(expr)
        if not m:
            return 1
        internal = f"_f{m.group(1)}"
        if internal in levels:
            return max(len(levels[internal]), 1)
        node = by_internal[internal].node
        if isinstance(node, Call) and node.func in ("bs", "poly"):
            lits = call_literals(node)
            if node.func == "poly":
                return int(lits.get("degree", 1))  # type: ignore[call-overload]
            if "df" in lits:
                return int(lits["df"])  # type: ignore[call-overload]
            return len(lits.get("knots", [])) + int(lits.get("degree", 3))  # type: ignore[arg-type, call-overload]
        return 1

    total = 0
    for term in FormulaicFormula(rhs):
        w = 1
        for factor in term.factors:
            w *= width(str(factor))
        total += w
    if total > MAX_COLUMNS or total * n_rows > MAX_CELLS:
        raise FormulaError(
            f"the design would have up to {total} columns for {n_rows} rows (limits: {MAX_COLUMNS} columns, "
            f"{MAX_CELLS:,} cells); a factor with many levels belongs in strata() or fixed effects, not in "
            "the design",
            source=source,
            pos=0,
            length=len(source),
        )


def _all_names(f: Formula) -> list[str]:
    out = names_in(f.lhs)
    for _, t in summands(f.rhs):
        out += [n for n in _rhs_names(t) if n not in out]
    return out


def _rhs_names(node: Node) -> list[str]:
    if isinstance(node, Binary) and node.formula:
        return _rhs_names(node.left) + _rhs_names(node.right)
    if isinstance(node, Unary):
        return _rhs_names(node.operand)
    return names_in(node)


def _join(parts: Iterable[tuple[int, str]]) -> str:
    out = ""
    for sign, text in parts:
        if not out:
            out = text if sign > 0 else f"1 - {text}"
        else:
            out += (" + " if sign > 0 else " - ") + text
    return out or "1"


def _outcome(lhs: Node | None, env: Env) -> pd.DataFrame | None:
    if lhs is None:
        return None
    args = lhs.args if isinstance(lhs, Call) and lhs.func == "Surv" else (lhs,)
    cols = {}
    for a in args:
        v = evaluate(a, env)
        if v.categorical:
            raise env.error(f"the outcome {render(a)} must be numeric", node=a)
        cols[render(a)] = v.values.astype(float)
    return pd.DataFrame(cols, index=env.frame.index)


def _specials(specials: list[tuple[str, Call]], env: Env) -> dict[str, Any]:
    out: dict[str, Any] = {"strata": None, "cluster": None, "offset": None, "weights": None, "checks": []}
    for name, node in specials:
        label = render(node)
        if name == "strata":
            cols = {render(a): evaluate(a, env).values for a in node.args}
            frame = pd.DataFrame(cols, index=env.frame.index)
            out["strata"] = frame if out["strata"] is None else pd.concat([out["strata"], frame], axis=1)
            out["checks"] += [(label, frame[c]) for c in frame.columns]
        elif name == "cluster":
            if out["cluster"] is not None:
                raise env.error("cluster() may be given once", node=node)
            s = evaluate(node.args[0], env).values.rename(render(node.args[0]))
            out["cluster"] = s
            out["checks"].append((label, s))
        elif name in ("offset", "exposure"):
            v = np.asarray(pd.to_numeric(evaluate(node.args[0], env).values, errors="coerce"), dtype=float)
            if name == "exposure":
                with np.errstate(divide="ignore", invalid="ignore"):
                    v = np.where(v > 0, np.log(v), np.nan)
            out["offset"] = v if out["offset"] is None else out["offset"] + v
            out["checks"].append((label, pd.Series(v)))
        elif name == "weights":
            if out["weights"] is not None:
                raise env.error("weights() may be given once", node=node)
            v = np.asarray(pd.to_numeric(evaluate(node.args[0], env).values, errors="coerce"), dtype=float)
            if (v < 0).any():
                raise env.error(f"weights(): {int((v < 0).sum())} negative weight(s)", node=node)
            out["weights"] = v
            out["checks"].append((label, pd.Series(v)))
    return out


def _rename(
    mm: pd.DataFrame, b: _Builder, levels: dict[str, list[Any]], intercept_name: str
) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    by_internal = {fa.internal: fa for fa in b.factors.values()}
    names: list[str] = []
    term_labels: list[str] = []
    column_terms: dict[str, str] = {}
    for struct in mm.model_spec.structure:
        factors = list(struct.term.factors)
        if not factors or (len(factors) == 1 and factors[0].expr == "1"):
            names += [intercept_name] * len(struct.columns)
            term_labels.append(intercept_name)
            column_terms[intercept_name] = intercept_name
            continue
        labels = []
        for fac in factors:
            m = _INTERNAL.search(fac.expr)
            labels.append(by_internal[f"_f{m.group(1)}"].label if m else fac.expr)
        term = ":".join(labels)
        term_labels.append(term)
        for col in struct.columns:
            parts = col.split(":")
            if len(parts) != len(factors):
                raise RuntimeError(f"cannot map formulaic column {col!r} to its factors")
            out = []
            for part, fac, label in zip(parts, factors, labels, strict=True):
                suffix = part[len(fac.expr) :] if part.startswith(fac.expr) else ""
                m = _INTERNAL.search(fac.expr)
                internal = f"_f{m.group(1)}" if m else ""
                if suffix and internal in levels:
                    code = int(suffix.strip("[]").removeprefix("T."))
                    out.append(f"{label}[{levels[internal][code]}]")
                else:
                    out.append(label + suffix)
            name = ":".join(out)
            names.append(name)
            column_terms[name] = term
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise FormulaError(f"the design has duplicate columns {dup}; a term is given twice")
    x = pd.DataFrame(np.asarray(mm, dtype=float), columns=names)
    return x, term_labels, column_terms
