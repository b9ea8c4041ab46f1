"""Nested model sequences: a list of formulas, or additions to the previous step (compared by LR tests).

A step is either a whole formula (``foundings ~ density``) or a change to the previous step's formula
written as ``+ term`` / ``- term`` (R's ``update(f, . ~ . + term)``). Every step must contain the terms of
the step before it (checked on the expanded terms, e.g. ``a*b`` contains ``a``), so LR tests between
consecutive steps are tests of nested models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from formulaic import Formula as FormulaicFormula

from analysis.formula.errors import FormulaError
from analysis.formula.grammar import (
    Binary,
    Call,
    Formula,
    Node,
    Num,
    Unary,
    parse_formula,
    render,
    render_formula,
)
from analysis.formula.vocabulary import SPECIALS, check_formula, summands


def _placeholders(node: Node, names: dict[str, str]) -> str:
    """The formula structure over placeholder names (one per distinct factor label) for term expansion."""
    if isinstance(node, Binary) and node.formula:
        if node.op == "**":
            return f"({_placeholders(node.left, names)})**{int(node.right.value)}"  # type: ignore[attr-defined]
        return f"({_placeholders(node.left, names)} {node.op} {_placeholders(node.right, names)})"
    if isinstance(node, Num):
        return str(int(node.value))
    if isinstance(node, Unary):
        return _placeholders(node.operand, names)
    label = render(node)
    return names.setdefault(label, f"_f{len(names)}")


def expanded_terms(formula: Formula) -> list[str]:
    """The model terms of a formula after expanding ``*``, ``/`` and powers (intercept as ``1``).

    >>> expanded_terms(parse_formula("y ~ density*C(period)"))
    ['1', 'density', 'C(period)', 'density:C(period)']
    """
    names: dict[str, str] = {}
    parts = []
    for sign, term in summands(formula.rhs):
        if isinstance(term, Call) and term.func in SPECIALS:
            continue
        text = _placeholders(term, names)
        parts.append(text if not parts and sign > 0 else (" + " if sign > 0 else " - ") + text)
    spec = "".join(parts) if parts else "1"
    if parts and parts[0].startswith(" - "):
        spec = "1" + spec
    back = {v: k for k, v in names.items()}
    out = []
    try:
        expanded = list(FormulaicFormula(spec))
    except Exception as exc:  # formulaic's own syntax errors on a structure the parser accepted
        raise FormulaError(f"cannot expand the terms of {render_formula(formula)!r}: {exc}") from None
    for term in expanded:
        factors = [back.get(str(f), str(f)) for f in term.factors]
        out.append(":".join(factors))
    return out


def expand_steps(
    steps: Mapping[str, str] | Sequence[tuple[str, str]], *, where: str | None = None
) -> list[tuple[str, Formula]]:
    """Resolve a nested sequence into whole formulas, checking that each step nests the previous one.

    Examples
    --------
    >>> [render_formula(f) for _, f in expand_steps({"baseline": "foundings ~ 1", "density": "+ density"})]
    ['foundings ~ 1', 'foundings ~ 1 + density']
    """
    pairs = list(steps.items()) if isinstance(steps, Mapping) else list(steps)
    if not pairs:
        raise FormulaError("a model sequence needs at least one step", where=where)
    out: list[tuple[str, Formula]] = []
    previous: Formula | None = None
    for name, text in pairs:
        place = f"{where}.{name}" if where else str(name)
        if not isinstance(text, str):
            raise FormulaError(
                f"step {name!r} must be a formula text, got {type(text).__name__}", where=place
            )
        stripped = text.strip()
        try:
            if stripped.startswith(("+", "-")) and "~" not in stripped:
                if previous is None:
                    raise FormulaError(
                        "the first step must be a whole formula ('outcome ~ terms')", source=text, pos=0
                    )
                formula = parse_formula(render_formula(previous) + " " + stripped)
            else:
                formula = parse_formula(text)
            check_formula(formula, None)
            if previous is not None:
                before = set(expanded_terms(previous))
                now = set(expanded_terms(formula))
                lost = sorted(before - now)
                if lost:
                    raise FormulaError(
                        f"step {name!r} drops term(s) {lost} of the previous step; nested steps must only add terms",
                        source=text,
                        pos=0,
                    )
                lhs_before = render(previous.lhs) if previous.lhs is not None else None
                lhs_now = render(formula.lhs) if formula.lhs is not None else None
                if lhs_before != lhs_now:
                    raise FormulaError(
                        f"step {name!r} changes the outcome of the sequence", source=text, pos=0
                    )
        except FormulaError as exc:
            raise exc.located(place) from None
        out.append((str(name), formula))
        previous = formula
    return out


def quote_name(name: str) -> str:
    """A column name as a formula name (backticks unless it is an identifier)."""
    return name if name.isidentifier() else f"`{name}`"


def step_texts(steps: Sequence[tuple[str, str | Sequence[str]]], *, outcome: str) -> list[tuple[str, str]]:
    """Formula texts of a nested sequence whose steps are formulas or lists of the terms they add.

    >>> step_texts([("baseline", []), ("density", ["density", "density_sq"]), ("p", "+ period")], outcome="foundings")
    [('baseline', 'foundings ~ 1'), ('density', '+ density + density_sq'), ('p', '+ period')]
    """
    out: list[tuple[str, str]] = []
    for i, (name, step) in enumerate(steps):
        if isinstance(step, str):
            out.append((str(name), step))
        elif i == 0:
            out.append((str(name), f"{quote_name(outcome)} ~ " + " + ".join(["1", *map(quote_name, step)])))
        else:
            out.append((str(name), " ".join(f"+ {quote_name(t)}" for t in step) if step else "+ 1"))
    return out


def nested_formulas(
    steps: Sequence[tuple[str, str | Sequence[str]]], *, outcome: str, where: str | None = None
) -> list[tuple[str, Formula]]:
    """:func:`expand_steps` of :func:`step_texts`, skipping a step that adds no term to the previous one."""
    out: list[tuple[str, Formula]] = []
    previous: set[str] | None = None
    for name, formula in expand_steps(step_texts(steps, outcome=outcome), where=where):
        terms = set(expanded_terms(formula))
        if previous is not None and terms == previous:
            continue
        out.append((name, formula))
        previous = terms
    return out
