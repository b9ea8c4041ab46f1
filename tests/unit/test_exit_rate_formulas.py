"""Population-level exit-rate models as formulas (fit_bottleneck.exit_rate.steps) and the equilibrium's
pairing: resolved at load, hostile text refused, hand-checked fits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.core.params import ParamsError, load_params, stage_params, validate_params
from pipeline.stages.fit_bottleneck import (
    DEFAULT_EXIT_STEPS,
    exit_rate_kind,
    exit_rate_models,
    exit_rate_spec,
)

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = Path("/tmp/orgecology_exit_rate_formula_pwned")


def _params(exit_steps: dict | None = None, **equilibrium) -> dict:
    p = {
        "datasets": {
            "x": {
                "kind": "population",
                "window": {"start": 2000, "end": 2010},
                "population": {
                    "path": "data/raw/x/a.csv",
                    "columns": {"year": "y", "density": "n", "foundings": "f"},
                    "exits": {"failed": "d"},
                    "keep": ["gdp"],
                },
            }
        }
    }
    block: dict = {}
    if exit_steps is not None:
        block["exit_rate"] = {"steps": exit_steps}
    if equilibrium:
        block["equilibrium"] = equilibrium
    if block:
        p["datasets"]["x"]["models"] = {"fit_bottleneck": block}
    return p


def _problem(params: dict) -> str:
    with pytest.raises(ParamsError) as info:
        validate_params(params)
    return str(info.value)


def _pop() -> pd.DataFrame:
    years = np.arange(2000, 2012)
    density = np.array([10, 14, 19, 25, 30, 36, 40, 43, 45, 46, 46, 45], dtype=float)
    exits = np.array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6], dtype=float)
    return pd.DataFrame({"year": years, "density": density, "exits": exits, "foundings": exits + 3})


def test_bundled_exit_rate_steps_are_the_default_formulas() -> None:
    params = load_params(ROOT / "params.yaml")
    for d in params["datasets"]:
        assert stage_params(params, "fit_bottleneck", d)["exit_rate"]["steps"] == DEFAULT_EXIT_STEPS
    assert exit_rate_kind(exit_rate_spec(100)) == "count_offset"


def test_exit_rate_baselines_by_hand() -> None:
    pop = _pop()
    with_offset = {
        r.model: r for r in exit_rate_models(pop, density_scale=10, families=["poisson"], dataset="x")
    }
    const = with_offset["exit_rate_poisson_baseline"].terms[0]
    assert const.term == "const"
    assert const.coef == pytest.approx(math.log(pop["exits"].sum() / pop["density"].sum()), rel=1e-8)
    assert with_offset["exit_rate_poisson_density2"].specification["model_formula"] == (
        "exits ~ 1 + offset(log_density) + density + density_sq"
    )
    steps = {"baseline": "exits ~ 1", "density": "+ density"}
    counts = {
        r.model: r
        for r in exit_rate_models(pop, density_scale=10, families=["poisson"], dataset="x", steps=steps)
    }
    assert counts["exit_rate_poisson_baseline"].terms[0].coef == pytest.approx(
        math.log(pop["exits"].mean()), rel=1e-8
    )
    assert exit_rate_kind(exit_rate_spec(10, steps)) == "count"
    assert any("no offset" in n for n in counts["exit_rate_poisson_density"].notes)


def test_exit_rate_formulas_resolve_at_load() -> None:
    steps = {"baseline": "exits_failed ~ 1 + offset(log_density)", "density": "+ density + log(gdp)"}
    params = validate_params(_params(steps, founding_step="baseline"))
    assert stage_params(params, "fit_bottleneck", "x")["exit_rate"]["steps"] == steps


@pytest.mark.parametrize(
    ("steps", "eq", "fragments"),
    [
        (
            {"baseline": "exits ~ 1 + offset(log_density)", "density": "+ densty"},
            {"founding_step": "baseline"},
            ["datasets.x", "fit_bottleneck.exit_rate.steps.density", "'densty'", "did you mean 'density'"],
        ),
        (
            {"baseline": "exits ~ 1 + offset(log(density))"},
            {"founding_step": "baseline"},
            ["offset(log(density)) is not accepted", "offset(log_density)"],
        ),
        (
            {"baseline": "exits ~ 1 + offset(log_density)", "density2": "+ density + density_sq + gdp"},
            {},
            ["equilibrium.founding_step 'density2'", "exit_rate.steps.density2", "it has gdp"],
        ),
        (
            {"baseline": "exits ~ 1 + offset(log_density)"},
            {},
            ["fit_bottleneck.equilibrium.founding_step", "'density2'", "exit-rate counterpart"],
        ),
    ],
)
def test_exit_rate_problems_fail_at_load(steps: dict, eq: dict, fragments: list[str]) -> None:
    message = _problem(_params(steps, **eq))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


@pytest.mark.parametrize(
    "text", [f"__import__('os').system('touch {SENTINEL}')", "().__class__", "open('/etc/passwd')"]
)
def test_hostile_exit_rate_formulas_are_refused_without_effect(text: str) -> None:
    SENTINEL.unlink(missing_ok=True)
    for steps in ({"baseline": f"exits ~ {text}"}, {"baseline": "exits ~ 1", "density": f"+ {text}"}):
        assert "fit_bottleneck.exit_rate.steps" in _problem(_params(steps, founding_step="baseline"))
    assert not SENTINEL.exists()


@pytest.mark.parametrize("step", ["+ weights(density)", "+ density + cluster(year)", "+ strata(gdp)"])
def test_count_models_refuse_specials_they_would_ignore(step: str) -> None:
    """Founding and exit-rate count models use offset / exposure only; any other special is an error at load
    (also in a step that adds nothing else, which the nested sequence would skip) and in the design."""
    from analysis.formula import FormulaError
    from analysis.founding_design import FoundingSpec, build_founding_design

    p = _params(founding_step="baseline")
    p["datasets"]["x"]["models"]["fit_founding"] = {
        "spec": {"steps": {"baseline": "foundings ~ 1", "d": step}}
    }
    special = step.split("+ ")[-1].split("(")[0]
    assert f"fit_founding.spec.steps.d: {special}() is not accepted by the founding count models" in _problem(
        p
    )
    exit_steps = {"baseline": "exits ~ 1 + offset(log_density)", "d": step}
    assert f"exit_rate.steps.d: {special}() is not accepted" in _problem(
        _params(exit_steps, founding_step="baseline")
    )
    spec = FoundingSpec(steps=(("b", "foundings ~ 1 " + step),), density_scale=10)
    with pytest.raises(FormulaError, match="not accepted by this model"):
        build_founding_design(_pop().assign(gdp=1.0), spec)


def test_exit_rate_results_say_the_founding_se_and_interval_settings_do_not_reach_them() -> None:
    for r in exit_rate_models(
        _pop(), density_scale=10, families=["poisson", "negative_binomial"], dataset="x"
    ):
        text = " ".join(r.notes)
        assert f"SE type: {r.fit['se_type']}" in text, r.model
        assert "fit_founding.se_type" in text and "founding models only" in text
        assert "level 0.95" in text and "fit_founding.spec" in text
