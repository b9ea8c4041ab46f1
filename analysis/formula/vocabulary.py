"""The closed vocabulary of formulas: the whitelisted functions, and the check that every name and call of
a parsed formula resolves (before any data is touched) with errors that name the term, its position and
the nearest valid names.

Names resolve, in this order, to the built-in organizational-ecology terms of the data's unit
(:mod:`analysis.formula.terms`), then to columns of the dataset's tables (for organization-level data
also the yearly population series, looked up by year, and the organizations table, looked up by
organization), then to the user's own names of renamed columns (``aliases``, e.g. ``gov_share`` for the
contract's ``funding_share``). Nothing else is a name: there are no Python builtins, modules or
attributes to reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from analysis.formula.errors import FormulaError, nearest
from analysis.formula.grammar import (
    Binary,
    Call,
    Formula,
    InList,
    ListLit,
    Name,
    Node,
    Num,
    Str,
    Unary,
    render,
)
from analysis.formula.terms import BUILTINS, UNITS

MAX_LAG = 100
MAX_DF = 30


@dataclass(frozen=True)
class Function:
    """A whitelisted function: how many data arguments, which literal arguments, what it means.

    ``kind``: ``numeric`` (elementwise, computed by the engine), ``categorical`` (a factor), ``panel``
    (lag/diff within organization or subpopulation), ``stateful`` (computed by formulaic on the
    estimation sample), ``ecology`` (density of a subpopulation), ``special`` (strata, cluster, offset,
    exposure, weights: not columns of the design), ``outcome`` (``Surv``).
    ``literals``: positional arguments after the data arguments and keyword arguments, each with the
    kind of literal it takes (``int``, ``number``, ``text``, ``value``, ``numbers``, ``values``).
    """

    name: str
    kind: str
    n_data: tuple[int, int]
    doc: str
    r: str
    literals: tuple[tuple[str, str], ...] = ()
    keywords: Mapping[str, str] = field(default_factory=dict)


def _f(name: str, kind: str, n: tuple[int, int], doc: str, r: str, lit=(), kw=None) -> Function:  # type: ignore[no-untyped-def]
    return Function(name, kind, n, doc, r, tuple(lit), dict(kw or {}))


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        _f("log", "numeric", (1, 1), "natural logarithm (0 or less: missing, row dropped)", "log(x)"),
        _f("log1p", "numeric", (1, 1), "log(1 + x)", "log1p(x)"),
        _f("exp", "numeric", (1, 1), "exponential", "exp(x)"),
        _f("sqrt", "numeric", (1, 1), "square root (negative: missing)", "sqrt(x)"),
        _f("abs", "numeric", (1, 1), "absolute value", "abs(x)"),
        _f("I", "numeric", (1, 1), "arithmetic as written (+ - * / **)", "I(x)"),
        _f(
            "lag",
            "panel",
            (1, 1),
            "value k years earlier for the same organization (organization-level data), the same "
            "subpopulation (subpopulation panels) or the population (yearly series); missing when that "
            "year is not observed (row dropped and counted)",
            "x[t - k] matched on (id, year - k)",
            lit=[("k", "int")],
            kw={"k": "int"},
        ),
        _f(
            "diff",
            "panel",
            (1, 1),
            "x_t − x_{t−k} within the same unit as lag",
            "x - x[t - k]",
            lit=[("k", "int")],
            kw={"k": "int"},
        ),
        _f(
            "C",
            "categorical",
            (1, 1),
            "treatment-coded factor; reference level `ref` (default: first level in sort order)",
            "relevel(factor(x), ref = ref)",
            kw={"ref": "value", "levels": "values"},
        ),
        _f(
            "pieces",
            "categorical",
            (1, 1),
            "factor of the pieces [c0, c1), [c1, c2), …, [ck, ∞) of x (e.g. age pieces); first piece is "
            "the reference; values below c0 are missing",
            "cut(x, c(cuts, Inf), right = FALSE)",
            lit=[("cuts", "numbers")],
            kw={"cuts": "numbers"},
        ),
        _f("center", "stateful", (1, 1), "x − mean(x) over the estimation sample", "scale(x, scale = FALSE)"),
        _f("scale", "stateful", (1, 1), "(x − mean) / sd over the estimation sample", "scale(x)"),
        _f(
            "bs",
            "stateful",
            (1, 1),
            "B-spline basis (degree 3 by default) with `df` columns or interior `knots`",
            "splines::bs(x, df = df, degree = degree)",
            kw={"df": "int", "degree": "int", "knots": "numbers"},
        ),
        _f(
            "poly",
            "stateful",
            (1, 1),
            "orthogonal polynomial of `degree` over the estimation sample",
            "poly(x, degree)",
            lit=[("degree", "int")],
            kw={"degree": "int"},
        ),
        _f(
            "group_density",
            "ecology",
            (0, 0),
            "density N_{g,t}/s of the organization's own subpopulation g of grouping `var` (niche density)",
            "merge on (var, year) of the subpopulation density series",
            lit=[("var", "text")],
            kw={"var": "text"},
        ),
        _f(
            "cross_density",
            "ecology",
            (0, 0),
            "density N_{j,t}/s of subpopulation `level` of grouping `var` (cross-density, community ecology)",
            "merge on year of subpopulation j's density series",
            lit=[("var", "text"), ("level", "value")],
            kw={"var": "text", "level": "value"},
        ),
        _f("strata", "special", (1, 5), "strata of the baseline hazard (Cox)", "strata(x)"),
        _f("cluster", "special", (1, 1), "cluster of the sandwich variance", "cluster(x)"),
        _f("offset", "special", (1, 1), "term with coefficient fixed at 1", "offset(x)"),
        _f("exposure", "special", (1, 1), "exposure: offset log(x) (x ≤ 0: row dropped)", "offset(log(x))"),
        _f("weights", "special", (1, 1), "case weights", "weights = x"),
        _f("Surv", "outcome", (2, 3), "survival outcome (start, stop, event) or (time, event)", "Surv(...)"),
    )
}
SPECIALS = frozenset(f for f, v in FUNCTIONS.items() if v.kind == "special")
ELEMENTWISE = frozenset(f for f, v in FUNCTIONS.items() if v.kind == "numeric")


@dataclass(frozen=True)
class Scope:
    """The names a formula may use on one kind of data.

    ``columns`` are the data columns reachable from rows of this unit (own columns, and for organization
    level the population series and organizations table columns); ``aliases`` map a user's own column
    names to contract names; ``groups`` maps grouping variables to their levels (for ``group_density`` /
    ``cross_density``; ``None`` = unknown before the data are read).
    """

    unit: str
    columns: frozenset[str]
    aliases: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] | None = None

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}; expected one of {sorted(UNITS)}")

    def builtins(self) -> list[str]:
        return [n for n, b in BUILTINS.items() if self.unit in b.units]

    def names(self) -> set[str]:
        return set(self.builtins()) | set(self.columns) | set(self.aliases)

    def has(self, name: str) -> bool:
        if name in BUILTINS and self.unit in BUILTINS[name].units:
            return True
        return name in self.columns or (name in self.aliases and self.aliases[name] in self.columns)


def _error(reason: str, node: Node, source: str, **kw: object) -> FormulaError:
    return FormulaError(reason, source=source, pos=node.pos, length=node.end - node.pos, **kw)  # type: ignore[arg-type]


def _literal_ok(node: Node, kind: str) -> bool:
    def num(n: Node) -> bool:
        return isinstance(n, Num) or (isinstance(n, Unary) and n.op == "-" and isinstance(n.operand, Num))

    if kind == "int":
        return isinstance(node, Num) and isinstance(node.value, int)
    if kind == "number":
        return num(node)
    if kind == "text":
        return isinstance(node, Str)
    if kind == "value":
        return isinstance(node, Str) or num(node)
    if kind == "numbers":
        return isinstance(node, ListLit) and len(node.items) > 0 and all(num(i) for i in node.items)
    if kind == "values":
        return (
            isinstance(node, ListLit)
            and len(node.items) > 0
            and all(_literal_ok(i, "value") for i in node.items)
        )
    raise ValueError(kind)


def literal_value(node: Node) -> object:
    """Python value of a literal node (number, text, or list of them)."""
    if isinstance(node, Num | Str):
        return node.value
    if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Num):
        return -node.operand.value
    if isinstance(node, ListLit):
        return [literal_value(i) for i in node.items]
    raise TypeError(type(node).__name__)


def call_literals(call: Call) -> dict[str, object]:
    """The literal arguments of a call by name (positional ones after the data arguments included)."""
    fn = FUNCTIONS[call.func]
    out: dict[str, object] = {}
    extra = call.args[fn.n_data[1] :]
    for (name, _), node in zip(fn.literals, extra, strict=False):
        out[name] = literal_value(node)
    for key, node in call.kwargs:
        out[key] = literal_value(node)
    return out


def _check_call(call: Call, scope: Scope | None, source: str, *, where: str) -> None:
    fn = FUNCTIONS.get(call.func)
    if fn is None:
        valid = sorted(FUNCTIONS) + (scope.builtins() if scope is not None else sorted(BUILTINS))
        raise _error(
            f"{call.func}() is not an allowed function",
            call,
            source,
            name=call.func,
            suggestions=nearest(call.func, valid),
        )
    if fn.kind == "special" and where != "special":
        raise _error(
            f"{call.func}() may only appear as a term of its own on the right-hand side", call, source
        )
    if fn.kind == "outcome" and where != "lhs":
        raise _error(f"{call.func}() may only appear on the left-hand side", call, source)
    lo, hi = fn.n_data
    n_lit = len(fn.literals)
    n_data = min(len(call.args), hi) if hi else 0
    if len(call.args) < lo or len(call.args) > hi + n_lit:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise _error(
            f"{call.func}() takes {want} data argument(s)"
            + (f" and optional {', '.join(n for n, _ in fn.literals)}" if n_lit else "")
            + f", got {len(call.args)} argument(s)",
            call,
            source,
            name=call.func,
        )
    for (name, kind), node in zip(fn.literals, call.args[n_data:], strict=False):
        if any(k == name for k, _ in call.kwargs):
            raise _error(f"{call.func}(): {name} given twice", node, source)
        if not _literal_ok(node, kind):
            raise _error(
                f"{call.func}(): {name} must be a literal ({kind}), not {render(node)!r}", node, source
            )
    for key, node in call.kwargs:
        if key not in fn.keywords:
            raise _error(
                f"{call.func}() has no argument {key!r}",
                node,
                source,
                name=key,
                suggestions=nearest(key, fn.keywords) or sorted(fn.keywords),
            )
        if not _literal_ok(node, fn.keywords[key]):
            raise _error(
                f"{call.func}(): {key} must be a literal ({fn.keywords[key]}), not {render(node)!r}",
                node,
                source,
            )
    lits = call_literals(call)
    if "k" in lits and not (1 <= int(lits["k"]) <= MAX_LAG):  # type: ignore[call-overload]
        raise _error(f"{call.func}(): k must be between 1 and {MAX_LAG}", call, source)
    for key in ("df", "degree"):
        if key in lits and not (1 <= int(lits[key]) <= MAX_DF):  # type: ignore[call-overload]
            raise _error(f"{call.func}(): {key} must be between 1 and {MAX_DF}", call, source)
    if "cuts" in lits:
        cuts = [float(c) for c in lits["cuts"]]  # type: ignore[union-attr]
        if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
            raise _error("pieces(): cut points must increase", call, source)
    if fn.kind == "ecology":
        var = lits.get("var")
        if var is None or (fn.name == "cross_density" and "level" not in lits):
            raise _error(
                f"{call.func}() needs " + ("var and level" if fn.name == "cross_density" else "var"),
                call,
                source,
            )
        if scope is not None and scope.groups is not None and var not in scope.groups:
            raise _error(
                f"{call.func}(): {var!r} is not a grouping variable of this dataset",
                call,
                source,
                name=str(var),
                suggestions=nearest(str(var), scope.groups) or sorted(scope.groups),
            )
        level = lits.get("level")
        if (
            scope is not None
            and scope.groups is not None
            and level is not None
            and str(level) not in scope.groups[str(var)]
        ):
            raise _error(
                f"cross_density(): {var} has no level {level!r}",
                call,
                source,
                suggestions=nearest(str(level), scope.groups[str(var)]),
            )
    inner = "special-arg" if fn.kind == "special" else "arg"
    for node in call.args[:n_data]:
        check_expression(node, scope, source, where=inner)


def check_expression(node: Node, scope: Scope | None, source: str, *, where: str = "arg") -> None:
    """Every name of an expression resolves and every call is allowed (raises :class:`FormulaError`)."""
    if isinstance(node, Name):
        if scope is not None and not scope.has(node.id):
            hint = ""
            if node.id in BUILTINS:
                units = ", ".join(sorted(BUILTINS[node.id].units))
                hint = f" (the built-in term {node.id!r} is defined on {units} data, not {scope.unit} data)"
            raise _error(
                f"unknown term {node.id!r}: not a built-in term nor a column of the data{hint}",
                node,
                source,
                name=node.id,
                suggestions=nearest(node.id, scope.names()),
            )
    elif isinstance(node, Call):
        _check_call(node, scope, source, where=where)
    elif isinstance(node, Unary):
        check_expression(node.operand, scope, source, where=where)
    elif isinstance(node, Binary):
        check_expression(node.left, scope, source, where=where)
        check_expression(node.right, scope, source, where=where)
    elif isinstance(node, Num | Str | ListLit):
        if where not in ("arg", "lhs", "special-arg"):
            raise _error(f"a literal {render(node)} cannot be a term", node, source)
    else:
        raise _error(f"{type(node).__name__} is not allowed here", node, source)


def summands(node: Node) -> list[tuple[int, Node]]:
    """Top-level terms of a right-hand side with their sign (+1 / −1)."""
    if isinstance(node, Binary) and node.formula and node.op in ("+", "-"):
        left = summands(node.left)
        right = summands(node.right)
        sign = -1 if node.op == "-" else 1
        return left + [(s * sign, n) for s, n in right]
    if isinstance(node, Unary) and node.op in ("+", "-"):
        sign = -1 if node.op == "-" else 1
        return [(s * sign, n) for s, n in summands(node.operand)]
    return [(1, node)]


def _check_rhs(node: Node, scope: Scope | None, source: str) -> None:
    """Names and calls of a term (the structure was checked by the parser)."""
    if isinstance(node, Binary) and node.formula:
        _check_rhs(node.left, scope, source)
        if node.op != "**":
            _check_rhs(node.right, scope, source)
    elif isinstance(node, Unary) and node.op in ("+", "-"):
        _check_rhs(node.operand, scope, source)
    elif isinstance(node, Num):
        return
    elif isinstance(node, Call) and node.func in SPECIALS:
        raise _error(f"{node.func}() must be a term of its own (joined by '+')", node, source)
    else:
        check_expression(node, scope, source, where="term")


def check_formula(formula: Formula, scope: Scope | None) -> None:
    """Check a parsed formula against a scope: names, calls, literal arguments, specials, powers.

    With ``scope=None`` only the calls and their arguments are checked (names are checked once the
    columns are known).

    Raises
    ------
    FormulaError
        At the first problem, naming the term, its position and the nearest valid names.
    """
    src = formula.source
    if formula.lhs is not None:
        check_expression(formula.lhs, scope, src, where="lhs")
    for sign, term in summands(formula.rhs):
        if isinstance(term, Call) and term.func in SPECIALS:
            if sign < 0:
                raise _error(f"{term.func}() cannot be removed with '-'", term, src)
            _check_call(term, scope, src, where="special")
        else:
            _check_rhs(term, scope, src)


def check_subset(node: Node, scope: Scope | None, source: str) -> None:
    """A subset condition uses only columns (never built-in terms), literals, comparisons, ``in``,
    ``and``/``or``/``not`` and elementwise numeric functions."""
    if isinstance(node, Name):
        if (
            scope is not None
            and node.id not in scope.columns
            and scope.aliases.get(node.id) not in scope.columns
        ):
            raise _error(
                f"unknown column {node.id!r} in the subset (subsets use the data's columns)",
                node,
                source,
                name=node.id,
                suggestions=nearest(node.id, set(scope.columns) | set(scope.aliases)),
            )
    elif isinstance(node, Call):
        if node.func not in ELEMENTWISE:
            raise _error(
                f"{node.func}() is not allowed in a subset (allowed: {', '.join(sorted(ELEMENTWISE))})",
                node,
                source,
                name=node.func,
                suggestions=nearest(node.func, ELEMENTWISE),
            )
        if len(node.args) != 1 or node.kwargs:
            raise _error(f"{node.func}() takes one argument", node, source)
        check_subset(node.args[0], scope, source)
    elif isinstance(node, Binary):
        check_subset(node.left, scope, source)
        check_subset(node.right, scope, source)
    elif isinstance(node, Unary):
        check_subset(node.operand, scope, source)
    elif isinstance(node, InList):
        check_subset(node.left, scope, source)
        for item in node.items.items:
            if not _literal_ok(item, "value"):
                raise _error("the list after 'in' must hold literal values", item, source)
    elif not isinstance(node, Num | Str):
        raise _error(f"{render(node)} is not allowed in a subset", node, source)


def names_in(node: Node | None) -> list[str]:
    """Every data name used in an expression tree (in order of appearance, once each)."""
    out: list[str] = []

    def walk(n: Node | None) -> None:
        if n is None:
            return
        if isinstance(n, Name) and n.id not in out:
            out.append(n.id)
        elif isinstance(n, Call):
            fn = FUNCTIONS.get(n.func)
            data_args = n.args if fn is None else n.args[: fn.n_data[1]]
            for a in data_args:
                walk(a)
        elif isinstance(n, Unary):
            walk(n.operand)
        elif isinstance(n, Binary):
            walk(n.left)
            walk(n.right)

    walk(node)
    return out


def scope_for(
    unit: str,
    columns: Iterable[str],
    *,
    aliases: Mapping[str, str] | None = None,
    groups: Mapping[str, Iterable[str]] | None = None,
) -> Scope:
    """Build a :class:`Scope` from plain column names (e.g. those declared in ``params.yaml``)."""
    return Scope(
        unit=unit,
        columns=frozenset(columns),
        aliases=dict(aliases or {}),
        groups=None if groups is None else {k: tuple(str(v) for v in vs) for k, vs in groups.items()},
    )
