"""A safe formula language with organizational-ecology terms (docs/terms.md).

Parse (:mod:`.grammar`) → check names and calls against a closed vocabulary (:mod:`.vocabulary`,
:mod:`.terms`) → evaluate factors on event-history frames (:mod:`.evaluate`) → design matrix through
formulaic (:mod:`.design`); nested model sequences in :mod:`.steps`. No text from params is ever passed to
``eval``.
"""

from analysis.formula.design import Design, build_design
from analysis.formula.errors import FormulaError
from analysis.formula.evaluate import TermContext, lag_within
from analysis.formula.grammar import parse_expression, parse_formula, render_formula
from analysis.formula.steps import expand_steps, expanded_terms, nested_formulas, step_texts
from analysis.formula.terms import BUILTINS, UNITS
from analysis.formula.vocabulary import FUNCTIONS, Scope, check_formula, check_subset, scope_for

__all__ = [
    "BUILTINS",
    "FUNCTIONS",
    "UNITS",
    "Design",
    "FormulaError",
    "Scope",
    "TermContext",
    "build_design",
    "check_formula",
    "check_subset",
    "expand_steps",
    "expanded_terms",
    "lag_within",
    "nested_formulas",
    "parse_expression",
    "parse_formula",
    "render_formula",
    "scope_for",
    "step_texts",
]
