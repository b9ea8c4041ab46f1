"""Founding formulas in params.yaml: resolved when params are loaded, hostile text refused, same models."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from analysis.founding_design import FoundingSpec
from pipeline.core.params import load_params, stage_params, validate_params
from tests.unit.params_builders import organization_params, params_problem

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = Path("/tmp/orgecology_formula_params_pwned")


def _params() -> dict:
    return organization_params(group_columns=["district"], density_scale=100)


def _with_steps(steps: dict, **spec) -> dict:
    p = _params()
    p["datasets"]["o"]["models"] = {"fit_founding": {"spec": {"steps": steps, **spec}}}
    return p


def _problem(params: dict) -> str:
    return params_problem(params)


def test_formula_steps_resolve_at_load() -> None:
    steps = {
        "baseline": "foundings ~ 1",
        "density": "+ log_density + density_sq",
        "density2": "+ foundings_lag + failures_lag + lag(budget, 1)",
        "period": "+ C(policy, ref='pre') + density:C(policy, ref='pre') + mass",
    }
    p = _with_steps(steps)
    # the equilibrium pairs a step with only density terms (checked at load)
    p["datasets"]["o"]["models"]["fit_bottleneck"] = {"equilibrium": {"founding_step": "baseline"}}
    params = validate_params(p)
    spec = FoundingSpec.from_mapping(stage_params(params, "fit_founding", "o")["spec"])
    assert [n for n, _ in spec.formulas()] == ["baseline", "density", "density2", "period"]
    assert spec.all_terms[-1] == "density:C(policy, ref='pre')"


@pytest.mark.parametrize(
    ("steps", "fragments"),
    [
        (
            {"baseline": "foundings ~ 1", "d": "+ densty"},
            ["datasets.o", "fit_founding.spec.steps.d", "'densty'", "'density'"],
        ),
        ({"baseline": "foundings ~ 1", "d": "+ lag(budgte, 1)"}, ["steps.d", "'budgte'", "'budget'"]),
        (
            {"baseline": "foundings ~ 1", "d": "+ lg(density)"},
            ["steps.d", "lg() is not an allowed function", "log"],
        ),
        ({"baseline": "foundings ~ density", "d": "foundings ~ budget"}, ["steps.d", "drops term"]),
        ({"baseline": "+ density"}, ["steps.baseline", "first step"]),
        ({"baseline": "foundings ~ density**2"}, ["steps.baseline", "I(density**2)"]),
        ({"baseline": "foundings ~ period"}, ["period_column is not set", "policy"]),
    ],
)
def test_unresolved_formula_names_fail_at_load(steps: dict, fragments: list[str]) -> None:
    message = _problem(_with_steps(steps))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


@pytest.mark.parametrize(
    "text",
    [
        f"__import__('os').system('touch {SENTINEL}')",
        "().__class__",
        "open('/etc/passwd')",
        "density.__class__",
        "eval('1')",
        "lambda: 1",
    ],
)
def test_hostile_formula_steps_are_refused_at_load_without_effect(text: str) -> None:
    SENTINEL.unlink(missing_ok=True)
    for steps in ({"baseline": f"foundings ~ {text}"}, {"baseline": "foundings ~ 1", "x": f"+ {text}"}):
        message = _problem(_with_steps(steps))
        assert "fit_founding.spec.steps" in message
    assert not SENTINEL.exists()


def test_bundled_params_are_formulas_and_give_the_same_sequences() -> None:
    params = load_params(ROOT / "params.yaml")
    for name in params["datasets"]:
        steps = stage_params(params, "fit_founding", name)["spec"]["steps"]
        assert all(isinstance(s, str) for s in steps.values()), name
    default = FoundingSpec.from_mapping(stage_params(params, "fit_founding", "default")["spec"])
    legacy = FoundingSpec.from_mapping(
        {
            **stage_params(params, "fit_founding", "default")["spec"],
            "steps": {
                "baseline": [],
                "density": ["density"],
                "density2": ["density_sq"],
                "covariates": ["period"],
            },
        }
    )
    assert (
        default.cumulative()
        == legacy.cumulative()
        == [
            ("baseline", []),
            ("density", ["density"]),
            ("density2", ["density", "density_sq"]),
            ("covariates", ["density", "density_sq", "period"]),
        ]
    )
    assert copy.deepcopy(default) == default


def test_readme_dataset_example_with_formulas_resolves() -> None:
    import re

    import yaml

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(  my_ngos:\n.*?)```", readme, flags=re.S)
    assert block, "README example block not found"
    example = yaml.safe_load(block.group(1))
    params = load_params(ROOT / "params.yaml")
    raw = {k: v for k, v in params.items() if k != "datasets"}
    raw["datasets"] = {"my_ngos": example["my_ngos"]}
    raw["render_report"] = {**raw["render_report"], "titles": {}, "literature": {}}
    validated = validate_params(raw)
    spec = FoundingSpec.from_mapping(stage_params(validated, "fit_founding", "my_ngos")["spec"])
    assert spec.all_terms[-3:] == ["lag(budget, 1)", "failures_lag", "C(policy_period, ref='pre')"]
    from pipeline.stages.specification import effective_specification

    eff = effective_specification(validated)["my_ngos"]
    assert eff["fit_survival"]["models"]["cox_full"].endswith("+ density_at_founding + budget")
    assert "strata(district)" not in eff["fit_survival"]["models"]["weibull"]
    assert eff["fit_growth"]["models"]["gibrat_pooled"].endswith("+ gov_share + cluster(org_id)")
    assert eff["fit_bottleneck"]["models"]["stagnation_hazard"].startswith("~ gov_share + density")


def test_founding_subset_restricts_years_and_lags_reach_outside() -> None:
    from analysis.founding import fit_founding_models, simulate_founding_series
    from analysis.founding_design import build_founding_design

    pop = simulate_founding_series(seed=2, years=40)
    spec = FoundingSpec(
        steps=(("b", "foundings ~ density + foundings_lag"),), subset="year >= 1910", density_scale=100
    )
    d = build_founding_design(pop, spec)
    assert d.years.min() == 1910 and len(d.y) == 30 and d.n_excluded_subset == 10
    assert d.n_dropped_lag == 0  # 1910's lag is 1909's foundings, outside the subset
    assert d.x["foundings_lag"].iloc[0] == pop.loc[pop["year"] == 1909, "foundings"].item()
    res = fit_founding_models(pop, spec=spec, families=("poisson",))[0]
    assert res.specification["subset"] == "year >= 1910" and res.sample["excluded_by_subset"] == 10
    assert any("subset 'year >= 1910': 10 of 40 row(s) excluded" in n for n in res.notes)


@pytest.mark.parametrize(
    ("subset", "fragment"),
    [
        ("yaer >= 1950", "'yaer'"),
        ("policy == 1", None),
        ("__import__('os').system('x')", "'__'"),
        ("open('/etc/passwd')", "open() is not allowed in a subset"),
        ("budget.real > 1", "attribute access"),
    ],
)
def test_founding_subset_is_checked_at_load(subset: str, fragment: str | None) -> None:
    p = _with_steps(
        {"baseline": "foundings ~ 1", "density": "+ density", "density2": "+ density_sq"}, subset=subset
    )
    if fragment is None:
        validate_params(p)  # well-formed; a type mismatch shows when the data are known
        return
    message = _problem(p)
    assert "fit_founding.spec.subset" in message and fragment in message, message
