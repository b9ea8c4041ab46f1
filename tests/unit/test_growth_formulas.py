"""The Gibrat regression specified as a formula (fit_growth.formula): resolved at load, hostile text refused,
the same models as the legacy lists, cluster(org_id) the one spelling of clustering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.formula.growth import growth_formula, legacy_formula
from pipeline.core.params import ParamsError, load_params, stage_params, validate_params
from pipeline.stages.fit_growth import fit_growth
from tests.unit.params_builders import organization_params, params_problem

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = Path("/tmp/orgecology_growth_formula_pwned")
SCALING = {"method": "organization", "ci": "hc1", "n_boot": 199}


def _params(**growth) -> dict:
    return organization_params(
        group_columns=["district"], density_scale=100, models={"fit_growth": growth} if growth else None
    )


def _problem(params: dict) -> str:
    return params_problem(params)


def test_bundled_growth_params_are_formulas_meaning_the_previous_lists() -> None:
    params = load_params(ROOT / "params.yaml")
    default = stage_params(params, "fit_growth", "default")["formula"]
    assert default == legacy_formula(["funding_share"], [], [])
    assert stage_params(params, "fit_growth", "cow_igo")["formula"] == legacy_formula([], [], [])
    assert growth_formula({"formula": default}).source == default


def test_growth_formula_with_user_names_and_factors_resolves_at_load() -> None:
    text = "growth ~ log_size + density + I(density**2) + gov + log1p(age) + lag(budget, 1) + C(district) + cluster(org_id)"
    params = validate_params(_params(formula=text))
    assert stage_params(params, "fit_growth", "o")["formula"] == text


@pytest.mark.parametrize(
    ("growth", "fragments"),
    [
        (
            {"formula": "growth ~ log_size + fundng_share + cluster(org_id)"},
            ["datasets.o", "fit_growth.formula", "'fundng_share'", "did you mean 'funding_share'"],
        ),
        (
            {"formula": "growth ~ density + cluster(org_id)"},
            ["fit_growth.formula", "needs the term log_size"],
        ),
        ({"formula": "growth ~ log_size"}, ["fit_growth.formula", "cluster(org_id)"]),
        ({"formula": "growth ~ log_size + cluster(district)"}, ["cluster(district) is not accepted"]),
        (
            {"formula": "growth ~ log_size + strata(district) + cluster(org_id)"},
            ["strata(district) is not accepted"],
        ),
        (
            {"formula": "growth ~ log_size + cluster(org_id)", "covariates": ["funding_share"]},
            ["both formula and covariates"],
        ),
        ({"formula": "growth ~ log_size + period + cluster(org_id)"}, ["'period'", "C(policy)"]),
        ({"covariates": ["fundng_share"]}, ["fit_growth.covariates", "did you mean 'funding_share'"]),
    ],
)
def test_growth_formula_problems_fail_at_load(growth: dict, fragments: list[str]) -> None:
    message = _problem(_params(**growth))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


@pytest.mark.parametrize(
    "text",
    [
        f"__import__('os').system('touch {SENTINEL}')",
        "().__class__",
        "open('/etc/passwd')",
        "log_size.__class__",
        "exec('1')",
    ],
)
def test_hostile_growth_formulas_are_refused_at_load_without_effect(text: str) -> None:
    SENTINEL.unlink(missing_ok=True)
    for formula in (
        f"growth ~ log_size + {text} + cluster(org_id)",
        f"{text} ~ log_size + cluster(org_id)",
        f"growth ~ log_size + cluster({text})",
    ):
        assert "datasets.o: fit_growth.formula" in _problem(_params(formula=formula))
    assert not SENTINEL.exists()


def _org_years(n_orgs: int = 30, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_orgs):
        log_s = float(rng.normal(2.0, 0.5))
        for t in range(6):
            year = 2000 + t
            share = float(rng.random())
            growth = 0.3 - 0.1 * log_s + 0.2 * share + float(rng.normal(0, 0.1)) if t < 5 else np.nan
            rows.append(
                {
                    "org_id": f"o{i:02d}",
                    "year": year,
                    "age": float(t + i % 4),
                    "size": float(np.exp(log_s)),
                    "log_size": log_s,
                    "growth": growth,
                    "funding_share": share if (i, t) != (0, 1) else np.nan,
                    "density": 100.0 + 20 * t,
                    "density_sq": (100.0 + 20 * t) ** 2,
                    "district": ["D1", "D2", "D3"][i % 3],
                }
            )
            if t < 5:
                log_s += growth
    return pd.DataFrame(rows)


def _fit(org_years: pd.DataFrame, **kw) -> dict:
    base = {"covariates": [], "age_terms": [], "environment": []}
    res = fit_growth(
        org_years,
        dataset="o",
        density_scale=100,
        k_convention="nested",
        scaling=SCALING,
        seed=1,
        **(base | kw),
    )
    return {r.model: r for r in res}


def test_formula_and_legacy_lists_give_the_same_gibrat_models() -> None:
    oy = _org_years()
    legacy = _fit(oy, covariates=["funding_share"], age_terms=["log_age"])
    formula = _fit(
        oy, formula="growth ~ log_size + density + density_sq + funding_share + log1p(age) + cluster(org_id)"
    )
    for model in ("gibrat_pooled", "gibrat_org_fe", "gibrat_twoway_fe"):
        a, b = legacy[model], formula[model]
        assert a.sample == b.sample, model
        assert [t.coef for t in a.terms] == pytest.approx([t.coef for t in b.terms], rel=1e-12)
        assert [t.se for t in a.terms] == pytest.approx([t.se for t in b.terms], rel=1e-12)
        names = [t.term for t in b.terms]
        assert names == [t.term if t.term != "log_age" else "log1p(age)" for t in a.terms], names
    pooled = formula["gibrat_pooled"]
    assert pooled.specification["model_formula"].endswith("+ log1p(age) + cluster(org_id)")
    assert pooled.specification["cluster"] == "org_id"
    assert pooled.sample["dropped"] == 30 + 1  # the last year of each organization, and one missing share


def test_pooled_gibrat_from_a_formula_equals_ols_by_hand() -> None:
    oy = _org_years()
    res = _fit(oy, formula="growth ~ log_size + funding_share + C(district) + cluster(org_id)")[
        "gibrat_pooled"
    ]
    ok = oy.dropna(subset=["growth", "funding_share"])
    x = np.column_stack(
        [
            np.ones(len(ok)),
            ok["log_size"],
            ok["funding_share"],
            (ok["district"] == "D2").astype(float),
            (ok["district"] == "D3").astype(float),
        ]
    )
    beta = np.linalg.lstsq(x, ok["growth"].to_numpy(), rcond=None)[0]
    assert [t.term for t in res.terms] == [
        "const",
        "log_size",
        "funding_share",
        "C(district)[D2]",
        "C(district)[D3]",
    ]
    assert [t.coef for t in res.terms] == pytest.approx(beta.tolist(), rel=1e-10)


def test_all_missing_column_in_a_growth_formula_is_an_error() -> None:
    oy = _org_years().assign(funding_share=np.nan)
    with pytest.raises(ParamsError, match="'funding_share' has no values"):
        _fit(oy, formula="growth ~ log_size + funding_share + cluster(org_id)")


def test_growth_subset_restricts_the_organizations() -> None:
    oy = _org_years()
    text = "growth ~ log_size + density + funding_share + cluster(org_id)"
    sub = _fit(oy, formula=text, subset="district != 'D3'")
    ref = _fit(oy[oy["district"] != "D3"].reset_index(drop=True), formula=text)
    for model in ("gibrat_pooled", "gibrat_org_fe"):
        assert sub[model].sample["n"] == ref[model].sample["n"]
        assert [t.coef for t in sub[model].terms] == pytest.approx(
            [t.coef for t in ref[model].terms], rel=1e-12
        )
        assert sub[model].sample["excluded_by_subset"] == int((oy["district"] == "D3").sum())
        assert sub[model].specification["subset"] == "district != 'D3'"


@pytest.mark.parametrize("subset", ["distrct == 'D1'", "open('/etc/passwd')", "().__class__"])
def test_growth_subset_is_checked_at_load(subset: str) -> None:
    assert "datasets.o: fit_growth.subset" in _problem(_params(subset=subset))
