"""Formula grammar and safety: nothing in a formula or subset executes code; errors say where and what."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis.formula.design
import analysis.formula.evaluate
import analysis.formula.grammar
import analysis.formula.steps
from analysis.formula import (
    FormulaError,
    TermContext,
    build_design,
    check_formula,
    expand_steps,
    parse_expression,
    parse_formula,
    render_formula,
    scope_for,
)
from analysis.formula.grammar import MAX_CHARS

SENTINEL = Path("/tmp/orgecology_formula_pwned")

HOSTILE = [
    f"__import__('os').system('touch {SENTINEL}')",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd')",
    "open('/etc/passwd').read()",
    "eval('1')",
    f'exec(\'open("{SENTINEL}", "w")\')',
    "lambda: 0",
    "[c for c in ()]",
    "density.__class__",
    "getattr(density, 'real')",
    "globals()",
    "vars()",
    "os.environ['HOME']",
    "__builtins__",
    "C(period, ref=__import__('os'))",
    "I(__import__('os'))",
    "log(density); import os",
    "density + {1: 2}",
    "f'{density}'",
    "density @ density",
    "density if 1 else 2",
    "bs(density, df=__import__('os'))",
    "lag(density, k=density)",
    "lag(density, k=open('/etc/passwd'))",
    "`__class__`",
    "compile('1', 'x', 'eval')",
    "breakpoint()",
    "np.log(density)",
]


@pytest.fixture()
def pop() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year": [2000, 2001, 2002, 2003],
            "density": [10.0, 20.0, 30.0, 25.0],
            "foundings": [2, 3, 1, 4],
            "period": ["pre", "pre", "boom", "boom"],
        }
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_rejected_everywhere_without_effect(text: str, pop: pd.DataFrame) -> None:
    SENTINEL.unlink(missing_ok=True)
    ctx = TermContext(density_scale=10)
    for formula, subset in (
        (f"foundings ~ {text}", None),
        (f"foundings ~ density + {text}", None),
        (f"{text} ~ density", None),
        ("foundings ~ density", text),
        ("foundings ~ density", f"density > 1 and {text}"),
    ):
        with pytest.raises(FormulaError):
            build_design(formula, pop, unit="population", ctx=ctx, subset=subset)
    with pytest.raises(FormulaError):
        expand_steps({"a": "foundings ~ 1", "b": f"+ {text}"})
    with pytest.raises(FormulaError):
        check_formula(parse_formula(f"foundings ~ {text}"), scope_for("population", pop.columns))
    assert not SENTINEL.exists()


def test_errors_name_term_position_and_nearest_names(pop: pd.DataFrame) -> None:
    with pytest.raises(FormulaError) as e:
        build_design(
            "foundings ~ density + densty", pop, unit="population", where="datasets.x.fit_founding.m1"
        )
    err = e.value
    assert err.name == "densty" and err.pos == len("foundings ~ density + ")
    assert "density" in err.suggestions
    text = str(err)
    assert text.startswith("datasets.x.fit_founding.m1: unknown term 'densty'") and "^^^^^^" in text
    assert "column 23" in text
    with pytest.raises(FormulaError) as e:
        build_design("foundings ~ lg(density)", pop, unit="population")
    assert e.value.suggestions[0] == "log" and e.value.pos == 12
    with pytest.raises(FormulaError) as e:
        build_design("foundings ~ C(period, reff='pre')", pop, unit="population")
    assert e.value.suggestions == ["ref"]
    with pytest.raises(FormulaError) as e:
        build_design("foundings ~ density_at_founding", pop, unit="population")
    assert "defined on org_year, spell data" in str(e.value)


def test_formula_power_of_a_single_term_is_refused_not_silently_ignored(pop: pd.DataFrame) -> None:
    with pytest.raises(FormulaError, match=r"I\(density\*\*2\)"):
        build_design("foundings ~ density**2", pop, unit="population")
    with pytest.raises(FormulaError, match=r"I\(density\*\*2\)"):
        build_design("foundings ~ density^2", pop, unit="population")
    with pytest.raises(FormulaError, match="only be 0 or 1"):
        build_design("foundings ~ 2 + density", pop, unit="population")


def test_size_limits() -> None:
    with pytest.raises(FormulaError, match="limit"):
        parse_formula("y ~ " + " + ".join(["density"] * (MAX_CHARS // 8)))
    with pytest.raises(FormulaError, match="nested"):
        parse_formula("y ~ " + "I(" * 60 + "x" + ")" * 60)
    scope = scope_for("population", ["y", "x"])
    with pytest.raises(FormulaError, match="k must be between"):
        check_formula(parse_formula("y ~ lag(x, 1000)"), scope)
    with pytest.raises(FormulaError, match="powers must be between"):
        check_formula(parse_formula("y ~ (x + density)**5"), scope)
    with pytest.raises(FormulaError, match="expands to up to"):
        parse_formula("y ~ (" + " + ".join(f"x{i}" for i in range(40)) + ")**4")
    with pytest.raises(FormulaError, match="string longer"):
        parse_expression("x == '" + "a" * 300 + "'")


def test_design_width_limit(pop: pd.DataFrame) -> None:
    wide = pd.DataFrame({"year": range(3000), "y": 1.0, "id": [f"o{i}" for i in range(3000)]})
    with pytest.raises(FormulaError, match="up to 3001 columns"):
        build_design("y ~ C(id)", wide, unit="population")
    with pytest.raises(FormulaError, match="columns"):
        build_design("y ~ year:C(id)", wide, unit="population")


def test_parse_and_render_canonical() -> None:
    f = parse_formula(
        "foundings~density+I( density ** 2 )+lag(foundings,1)+C(period,ref='pre')+density:C(period)"
    )
    assert render_formula(f) == (
        "foundings ~ density + I(density**2) + lag(foundings, 1) + C(period, ref='pre') + density:C(period)"
    )
    f = parse_formula("Surv(start, stop, event) ~ density + strata(district) + cluster(org_id)")
    assert render_formula(f) == "Surv(start, stop, event) ~ density + strata(district) + cluster(org_id)"
    f = parse_formula("y ~ (a + b)^2 - a:b + `成立 年份` - 1")
    assert render_formula(f) == "y ~ (a + b)**2 - a:b + `成立 年份` - 1"
    node = parse_expression("district in ['D01', 'D02'] and not (type == 'x' or size >= 2.5)")
    assert (
        analysis.formula.grammar.render(node)
        == "district in ['D01', 'D02'] and not (type == 'x' or size >= 2.5)"
    )


def test_specials_and_outcome_are_placed_where_they_mean_something(pop: pd.DataFrame) -> None:
    scope = scope_for("population", pop.columns)
    with pytest.raises(FormulaError, match="term of its own"):
        check_formula(parse_formula("foundings ~ density:offset(density)"), scope)
    with pytest.raises(FormulaError, match="left-hand side"):
        check_formula(parse_formula("foundings ~ Surv(year, foundings)"), scope)
    with pytest.raises(FormulaError, match="not accepted by this model"):
        build_design(
            "foundings ~ density + strata(period)", pop, unit="population", allowed_specials={"offset"}
        )


def test_subset_grammar_errors(pop: pd.DataFrame) -> None:
    with pytest.raises(FormulaError, match="unknown column 'perod'") as e:
        build_design("foundings ~ density", pop, unit="population", subset="perod == 'pre'")
    assert e.value.suggestions == ["period"]
    with pytest.raises(FormulaError, match="compares a text value with a number"):
        build_design("foundings ~ density", pop, unit="population", subset="period == 1")
    with pytest.raises(FormulaError, match="not a condition"):
        build_design("foundings ~ density", pop, unit="population", subset="period")
    with pytest.raises(FormulaError, match="chained"):
        parse_expression("1 < year < 3")
    d = build_design(
        "foundings ~ density", pop, unit="population", subset="not (period != 'pre') or year >= 2003"
    )
    assert d.rows.tolist() == [0, 1, 3] and d.n_excluded_subset == 1


def test_docstring_examples() -> None:
    for mod in (
        analysis.formula.grammar,
        analysis.formula.design,
        analysis.formula.evaluate,
        analysis.formula.steps,
    ):
        result = doctest.testmod(mod, extraglobs={"pd": pd, "np": np})
        assert result.failed == 0 and result.attempted > 0, mod.__name__
