"""Stagnation / dissolution hazards specified as a one-sided formula (fit_bottleneck.stagnation.formula):
resolved at load, hostile text refused, the same fits as the legacy list, cluster(org_id) required."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from analysis.formula.stagnation import legacy_formula, stagnation_formula
from analysis.results import validate_result
from analysis.stagnation import fit_stagnation
from pipeline.core.params import load_params, stage_params, validate_params
from tests.unit.params_builders import organization_params, params_problem

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = Path("/tmp/orgecology_stagnation_formula_pwned")
_spec = importlib.util.spec_from_file_location("_stag", ROOT / "tests" / "unit" / "test_stagnation.py")
_stag = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_stag)  # type: ignore[union-attr]
sim_panel = _stag._sim_panel


def _params(stagnation: dict) -> dict:
    return organization_params(
        environment=False,
        group_columns=["district"],
        density_scale=100,
        models={"fit_bottleneck": {"stagnation": {"k": 3, "threshold": 0.0, **stagnation}}},
    )


def _problem(params: dict) -> str:
    return params_problem(params)


def test_bundled_stagnation_params_are_formulas_meaning_the_previous_lists() -> None:
    params = load_params(ROOT / "params.yaml")
    st = stage_params(params, "fit_bottleneck", "default")["stagnation"]
    assert st["formula"] == legacy_formula(["funding_share", "density", "density_sq", "log_size"])
    cow = stage_params(params, "fit_bottleneck", "cow_igo")["stagnation"]
    assert cow["formula"] == legacy_formula(["density", "density_sq", "log_size"])


def test_stagnation_formula_with_user_names_resolves() -> None:
    text = "~ gov + log_density + I(density**2) + log(size) + C(district) + cluster(org_id)"
    params = validate_params(_params({"formula": text}))
    assert stage_params(params, "fit_bottleneck", "o")["stagnation"]["formula"] == text


@pytest.mark.parametrize(
    ("stagnation", "fragments"),
    [
        (
            {"formula": "~ density + log_sz + cluster(org_id)"},
            ["datasets.o", "fit_bottleneck.stagnation.formula", "'log_sz'", "did you mean 'log_size'"],
        ),
        ({"formula": "growth ~ density + cluster(org_id)"}, ["one-sided"]),
        ({"formula": "~ density"}, ["cluster(org_id)"]),
        ({"formula": "~ density + strata(district) + cluster(org_id)"}, ["strata(district) is not accepted"]),
        (
            {"formula": "~ density + cluster(org_id)", "covariates": ["density"]},
            ["both formula and covariates"],
        ),
        ({"covariates": ["densty"]}, ["fit_bottleneck.stagnation.covariates", "did you mean 'density'"]),
    ],
)
def test_stagnation_formula_problems_fail_at_load(stagnation: dict, fragments: list[str]) -> None:
    message = _problem(_params(stagnation))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


@pytest.mark.parametrize(
    "text",
    [f"__import__('os').system('touch {SENTINEL}')", "().__class__", "open('/etc/passwd')", "density.real"],
)
def test_hostile_stagnation_formulas_are_refused_without_effect(text: str) -> None:
    SENTINEL.unlink(missing_ok=True)
    for formula in (f"~ density + {text} + cluster(org_id)", f"~ density + cluster({text})"):
        assert "fit_bottleneck.stagnation.formula" in _problem(_params({"formula": formula}))
    assert not SENTINEL.exists()


def test_formula_and_legacy_list_give_the_same_hazards() -> None:
    oy, orgs = sim_panel(5, n_org=300)
    legacy = fit_stagnation(
        oy, orgs, k=2, threshold=0.0, covariates=["funding_share", "density"], density_scale=100
    )
    text = stagnation_formula({"formula": "~ funding_share + density + cluster(org_id)"}).source
    formula = fit_stagnation(oy, orgs, k=2, threshold=0.0, density_scale=100, formula=text)
    for a, b in ((legacy.stagnation, formula.stagnation), (legacy.dissolution, formula.dissolution)):
        assert a.sample == b.sample
        assert [t.term for t in a.terms] == [t.term for t in b.terms] == ["const", "funding_share", "density"]
        assert [t.coef for t in a.terms] == pytest.approx([t.coef for t in b.terms], rel=1e-12)
        assert b.specification["model_formula"] == text and b.specification["cluster"] == "org_id"
        validate_result(b.to_dict())
    # arithmetic on the scaled term: density is N/100, so I(density/100) is N/10^4 (coefficient x 100)
    scaled = fit_stagnation(
        oy, orgs, k=2, threshold=0.0, density_scale=100, formula="~ I(density/100) + cluster(org_id)"
    )
    plain = fit_stagnation(
        oy, orgs, k=2, threshold=0.0, density_scale=100, formula="~ density + cluster(org_id)"
    )
    assert scaled.stagnation.terms[1].coef == pytest.approx(plain.stagnation.terms[1].coef * 100, rel=1e-8)


def test_empty_risk_set_with_a_formula_is_recorded_not_raised() -> None:
    oy, orgs = sim_panel(5, n_org=5, n_year=2)
    out = fit_stagnation(
        oy, orgs, k=5, threshold=0.0, density_scale=100, formula="~ density + cluster(org_id)"
    )
    assert not out.stagnation.fit.get("converged") and np.isfinite(out.stagnation.sample["n"])


def test_stagnation_subset_restricts_the_risk_set() -> None:
    import pandas as pd

    from pipeline.stages.fit_bottleneck import fit_bottleneck

    oy, orgs = sim_panel(5, n_org=300)
    oy["district"] = np.where(oy["org_id"] % 2 == 0, "even", "odd")
    years = np.arange(2000, 2015)
    population = pd.DataFrame({"year": years, "density": 300.0 - years + 2000})
    cfg = {
        "logistic": {"exclude_status": [], "max_k_ratio": 10},
        "breaks": {"trim": 0.15, "response": "log1p", "with_density": False},
        "equilibrium": {
            "family": "negative_binomial",
            "founding_step": "density2",
            "n_draws": 100,
            "n_max_factor": 3,
        },
        "exit_rate": {"steps": {"baseline": "exits ~ 1 + offset(log_density)"}},
        "stagnation": {
            "k": 2,
            "threshold": 0.0,
            "formula": "~ funding_share + cluster(org_id)",
            "subset": "district == 'even'",
        },
    }
    kw = {"dataset": "o", "density_scale": 100, "founding_results": {}, "organizations": orgs, "seed": 1}
    got = {r.model: r for r in fit_bottleneck(population, org_years=oy, cfg=cfg, **kw)}
    even = oy[oy["district"] == "even"].reset_index(drop=True)
    ref = fit_stagnation(
        even, orgs, k=2, threshold=0.0, density_scale=100, formula="~ funding_share + cluster(org_id)"
    )
    stag = got["stagnation_hazard"]
    assert stag.sample["n"] == ref.stagnation.sample["n"]
    assert [t.coef for t in stag.terms] == pytest.approx([t.coef for t in ref.stagnation.terms], rel=1e-12)
    assert stag.sample["excluded_by_subset"] == int((oy["district"] == "odd").sum())
    assert any("Subset \"district == 'even'\"" in n for n in stag.notes)


@pytest.mark.parametrize("subset", ["distrct == 'D1'", f"__import__('os').system('touch {SENTINEL}')"])
def test_stagnation_subset_is_checked_at_load(subset: str) -> None:
    SENTINEL.unlink(missing_ok=True)
    message = _problem(_params({"formula": "~ density + cluster(org_id)", "subset": subset}))
    assert "datasets.o: fit_bottleneck.stagnation.subset" in message
    assert not SENTINEL.exists()
