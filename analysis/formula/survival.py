"""Mortality models specified as formulas: the nested Cox steps of ``params.yaml: fit_survival.steps``.

A step is a formula of the formula language (docs/terms.md) on counting-process spells, whole
(``Surv(start, stop, event) ~ log_size + funding_share + cluster(org_id)``) or an addition to the previous
step (``+ density + density_sq``); a list of names is the addition of those terms. The largest step also
specifies the piecewise-exponential, discrete cloglog, parametric (Weibull, Gompertz) and cause-specific
models of the stage, which all use its terms.

Conventions, one spelling for every family: observations are clustered with the special ``cluster(x)``
(``cluster(org_id)``: by organization; without it the Cox models report model-based SEs and the other
models need ``se_type: model``); ``strata(x)`` gives Cox models separate baseline hazards (the
piecewise / cloglog / parametric models have no strata: they use the other terms and say so).

The legacy keys ``controls`` / ``environment`` (names) still define the default sequence
controls → +density + density_sq → +density_at_founding + environment, clustered by organization.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.formula.errors import FormulaError
from analysis.formula.grammar import Call, Formula, render, render_formula
from analysis.formula.steps import expand_steps, expanded_terms, quote_name
from analysis.formula.vocabulary import SPECIALS, summands

OUTCOME = "Surv(start, stop, event)"
#: Specials the survival models accept (offsets and exposure are refused with a clear error); strata()
#: and weights() apply to the Cox models (the other models say so in their notes).
SURVIVAL_SPECIALS = ("strata", "cluster", "weights")
DEFAULT_CONTROLS = ("log_size", "funding_share")


def uses_legacy_names(cfg: Mapping[str, Any]) -> bool:
    """True when the sequence comes from ``controls`` / ``environment`` (no ``steps`` given)."""
    return not cfg.get("steps")


def survival_step_texts(cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The formula texts of the nested Cox sequence of a ``fit_survival`` block.

    Examples
    --------
    >>> survival_step_texts({"controls": ["log_size"], "environment": ["budget"]})  # doctest: +NORMALIZE_WHITESPACE
    [('controls', 'Surv(start, stop, event) ~ log_size + cluster(org_id)'),
     ('density', '+ density + density_sq'), ('full', '+ density_at_founding + budget')]
    >>> survival_step_texts({"steps": {"base": "Surv(start, stop, event) ~ density", "sq": ["density_sq"]}})
    [('base', 'Surv(start, stop, event) ~ density'), ('sq', '+ density_sq')]
    """
    if not uses_legacy_names(cfg):
        pairs = list(cfg["steps"].items())
    else:
        controls = cfg.get("controls")
        controls = list(DEFAULT_CONTROLS if controls is None else controls)
        env = list(cfg.get("environment") or [])
        pairs = [
            ("controls", [*controls, "cluster(org_id)"]),
            ("density", ["density", "density_sq"]),
            ("full", ["density_at_founding", *env]),
        ]
    out: list[tuple[str, str]] = []
    for i, (name, step) in enumerate(pairs):
        if isinstance(step, str):
            out.append((str(name), step))
            continue
        names = [t if t.endswith(")") and "(" in t else quote_name(t) for t in map(str, step)]
        if i == 0:
            plain = [t for t in names if not t.startswith(tuple(f"{s}(" for s in SPECIALS))]
            rhs = " + ".join(names if plain else ["1", *names])
            out.append((str(name), f"{OUTCOME} ~ {rhs}"))
        else:
            out.append((str(name), " ".join(f"+ {t}" for t in names) if names else "+ 1"))
    return out


def survival_formulas(cfg: Mapping[str, Any], *, where: str | None = None) -> list[tuple[str, Formula]]:
    """``(step, whole formula)`` of the nested Cox sequence; a step that adds no term is skipped.

    Raises :class:`FormulaError` (located at ``where``) for a formula that does not parse, a step that
    drops a term of the previous one, an outcome that is not ``Surv(start, stop, event)`` or a special the
    survival models do not accept.
    """
    out: list[tuple[str, Formula]] = []
    previous: tuple[set[str], set[str]] | None = None
    for name, formula in expand_steps(survival_step_texts(cfg), where=where):
        place = f"{where}.{name}" if where else name
        lhs = formula.lhs
        if not (isinstance(lhs, Call) and lhs.func == "Surv" and len(lhs.args) == 3):
            raise FormulaError(
                "the outcome of a survival model is Surv(start, stop, event) (counting-process spells)",
                source=formula.source,
                pos=lhs.pos if lhs is not None else 0,
                where=place,
            )
        specials = special_terms(formula)
        for special, node in specials:
            if special not in SURVIVAL_SPECIALS:
                raise FormulaError(
                    f"{special}() is not accepted by the survival models (accepted: "
                    f"{', '.join(SURVIVAL_SPECIALS)})",
                    source=formula.source,
                    pos=node.pos,
                    length=node.end - node.pos,
                    where=place,
                )
        terms = set(expanded_terms(formula))
        labels = {render(n) for _, n in specials}
        if previous is not None and previous == (terms, labels):
            continue
        if previous is not None and not previous[1] <= labels:
            raise FormulaError(
                f"step {name!r} drops {sorted(previous[1] - labels)} of the previous step", where=place
            )
        out.append((name, formula))
        previous = (terms, labels)
    return out


def special_terms(formula: Formula) -> list[tuple[str, Call]]:
    """The specials of a formula (``strata(...)``, ``cluster(...)``, …) with their nodes."""
    return [(t.func, t) for _, t in summands(formula.rhs) if isinstance(t, Call) and t.func in SPECIALS]


def without_strata(formula: Formula) -> str:
    """The formula text without its ``strata()`` and ``weights()`` terms (the models other than Cox,
    which have no stratified baseline and are fitted unweighted)."""
    parts = []
    for sign, term in summands(formula.rhs):
        if isinstance(term, Call) and term.func in ("strata", "weights"):
            continue
        text = render(term)
        parts.append(text if not parts and sign > 0 else (" + " if sign > 0 else " - ") + text)
    rhs = "".join(parts) if parts else "1"
    if parts and parts[0].startswith(" - "):
        rhs = "1" + rhs
    return f"{render(formula.lhs)} ~ {rhs}"


def cluster_of(formula: Formula) -> str | None:
    """The text of the cluster variable of ``cluster(x)`` (``None`` without clustering)."""
    for special, node in special_terms(formula):
        if special == "cluster":
            return render(node.args[0])
    return None


def step_formula_texts(formulas: Sequence[tuple[str, Formula]]) -> dict[str, str]:
    """Step name → whole formula text (as written into each result's ``specification.model_formula``)."""
    return {name: render_formula(f) for name, f in formulas}
