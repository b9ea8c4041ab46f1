"""Mortality models specified as formulas (fit_survival.steps): resolved at load, hostile text refused, the
design and the fits are those of the formula, strata()/cluster() have one spelling."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cox import CoxPH
from analysis.formula.survival import survival_formulas, survival_step_texts
from pipeline.core.params import ParamsError, load_params, stage_params, validate_params
from pipeline.stages.fit_survival import fit_survival
from pipeline.stages.survival_design import survival_design
from tests.unit.params_builders import organization_params, params_problem

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = Path("/tmp/orgecology_survival_formula_pwned")
SURV = "Surv(start, stop, event)"


def _params(**survival) -> dict:
    return organization_params(
        group_columns=["district"], density_scale=100, models={"fit_survival": survival} if survival else None
    )


def _problem(params: dict) -> str:
    return params_problem(params)


def _cfg(steps, **kw) -> dict:
    return {"steps": steps, "controls": None, "environment": None, "se_type": "cluster_cr0", **kw}


# ------------------------------------------------------------------------------------------- params


def test_bundled_survival_params_are_formulas_with_the_previous_sequences() -> None:
    params = load_params(ROOT / "params.yaml")
    seqs = {}
    for d in ("default", "cow_igo"):
        cfg = stage_params(params, "fit_survival", d)
        seqs[d] = [(n, f.source) for n, f in survival_formulas(cfg)]
    full = seqs["default"][-1][1]
    assert full.startswith(f"{SURV} ~ log_size + funding_share + cluster(org_id)")
    assert full.endswith("+ density + density_sq + density_at_founding + procurement_budget")
    assert [n for n, _ in seqs["cow_igo"]] == ["controls", "density", "full"]
    assert seqs["cow_igo"][0][1] == f"{SURV} ~ log_size + cluster(org_id)"


def test_legacy_names_still_mean_the_default_sequence() -> None:
    texts = survival_step_texts({"steps": None, "controls": ["log_size"], "environment": ["budget"]})
    assert texts == [
        ("controls", f"{SURV} ~ log_size + cluster(org_id)"),
        ("density", "+ density + density_sq"),
        ("full", "+ density_at_founding + budget"),
    ]
    params = validate_params(_params(steps=None, environment=["budget"]))
    assert stage_params(params, "fit_survival", "o")["environment"] == ["budget"]


def test_survival_formulas_resolve_at_load_with_user_names_strata_and_factors() -> None:
    steps = {
        "controls": f"{SURV} ~ log(size) + gov + strata(district) + cluster(org_id)",
        "density": "+ density + I(density**2) + log_density",
        "full": "+ density_at_founding + lag(budget, 1) + C(policy) + density:C(policy) + failures_lag",
    }
    params = validate_params(_params(steps=steps))
    assert stage_params(params, "fit_survival", "o")["steps"] == steps


@pytest.mark.parametrize(
    ("survival", "fragments"),
    [
        (
            {"steps": {"controls": f"{SURV} ~ log_size + cluster(org_id)", "density": "+ densty"}},
            ["datasets.o", "fit_survival.steps.density", "'densty'", "did you mean 'density'"],
        ),
        (
            {"steps": {"controls": f"{SURV} ~ log_sise + cluster(org_id)"}},
            ["datasets.o", "fit_survival.steps.controls", "'log_sise'", "'log_size'"],
        ),
        (
            {"steps": {"controls": f"{SURV} ~ log_size + strata(distrct) + cluster(org_id)"}},
            ["fit_survival.steps.controls", "'distrct'", "'district'"],
        ),
        (
            {"steps": {"controls": "event ~ log_size + cluster(org_id)"}},
            ["fit_survival.steps.controls", "Surv(start, stop, event)"],
        ),
        (
            {"steps": {"controls": f"{SURV} ~ log_size + offset(size) + cluster(org_id)"}},
            ["fit_survival.steps.controls", "offset() is not accepted", "strata, cluster, weights"],
        ),
        ({"steps": {"controls": f"{SURV} ~ log_size"}}, ["se_type is cluster_cr0", "cluster(org_id)"]),
        (
            {
                "steps": {
                    "a": f"{SURV} ~ density + cluster(org_id)",
                    "b": f"{SURV} ~ log_size + cluster(org_id)",
                }
            },
            ["fit_survival.steps.b", "drops term"],
        ),
        (
            {"steps": {"controls": f"{SURV} ~ log_size + cluster(org_id)"}, "controls": ["log_size"]},
            ["both steps (formulas) and controls/environment"],
        ),
        ({"steps": {"controls": f"{SURV} ~ period + cluster(org_id)"}}, ["'period'", "C(policy)"]),
    ],
)
def test_survival_formula_problems_fail_at_load(survival: dict, fragments: list[str]) -> None:
    message = _problem(_params(**survival))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


@pytest.mark.parametrize(
    "text",
    [
        f"__import__('os').system('touch {SENTINEL}')",
        "().__class__",
        "open('/etc/passwd')",
        "density.__class__",
        "getattr(density, 'real')",
        "lambda: 1",
    ],
)
def test_hostile_survival_formulas_are_refused_at_load_without_effect(text: str) -> None:
    SENTINEL.unlink(missing_ok=True)
    for steps in (
        {"controls": f"{SURV} ~ {text}"},
        {"controls": f"{SURV} ~ density + cluster(org_id)", "x": f"+ {text}"},
        {"controls": f"{SURV} ~ density + cluster({text})"},
        {"controls": f"Surv(start, stop, {text}) ~ density + cluster(org_id)"},
    ):
        message = _problem(_params(steps=steps))
        assert "datasets.o: fit_survival.steps" in message
    assert not SENTINEL.exists()


# ------------------------------------------------------------------------------------------- design


def _tiny_spells() -> pd.DataFrame:
    """Three organizations, six yearly spells; B's size is missing in 2001."""
    return pd.DataFrame(
        {
            "org_id": ["A", "A", "B", "B", "C", "C"],
            "year": [2000, 2001, 2000, 2001, 2000, 2001],
            "start": [0.0, 1.0, 0.0, 1.0, 2.0, 3.0],
            "stop": [1.0, 2.0, 1.0, 2.0, 3.0, 4.0],
            "event": [0, 1, 0, 0, 0, 1],
            "density": [100.0, 200.0, 100.0, 200.0, 100.0, 200.0],
            "density_sq": [1e4, 4e4, 1e4, 4e4, 1e4, 4e4],
            "density_at_founding": [50.0, 50.0, 100.0, 100.0, 30.0, 30.0],
            "size": [2.0, 4.0, 1.0, np.nan, 3.0, 3.0],
            "log_size": np.log([2.0, 4.0, 1.0, np.nan, 3.0, 3.0]),
            "district": pd.Categorical(["D1", "D1", "D2", "D2", "D1", "D1"]),
        }
    )


def test_design_of_the_nested_steps_on_a_tiny_frame() -> None:
    steps = {
        "controls": f"{SURV} ~ log(size) + strata(district) + cluster(org_id)",
        "density": "+ density + I(density**2)",
        "full": "+ density_at_founding",
    }
    d = survival_design(_tiny_spells(), _cfg(steps), dataset="o", density_scale=100, environment=[])
    assert d.rows.tolist() == [0, 1, 2, 4, 5]  # B's 2001 spell has no size
    assert d.steps == [
        ("controls", ["log(size)"]),
        ("density", ["log(size)", "density", "I(density**2)"]),
        ("full", ["log(size)", "density", "I(density**2)", "density_at_founding"]),
    ]
    assert d.x["density"].tolist() == [1.0, 2.0, 1.0, 1.0, 2.0]  # N / 100
    assert d.x["I(density**2)"].tolist() == [1.0, 4.0, 1.0, 1.0, 4.0]
    assert d.x["density_at_founding"].tolist() == [0.5, 0.5, 1.0, 0.3, 0.3]
    assert d.cluster == "org_id" and d.cluster_col == "org_id" and d.strata == ["district"]
    assert d.formulas["full"] == (
        f"{SURV} ~ log(size) + strata(district) + cluster(org_id) + density + I(density**2) + density_at_founding"
    )
    assert d.other_formula == (
        f"{SURV} ~ log(size) + cluster(org_id) + density + I(density**2) + density_at_founding"
    )
    assert "strata(district)" in d.strata_note and "Cox models only" in d.strata_note
    frame = d.frame(_tiny_spells())
    assert frame["_strata0"].tolist() == ["D1", "D1", "D2", "D1", "D1"]


def test_all_missing_column_named_in_a_formula_is_an_error() -> None:
    spells = _tiny_spells().assign(funding_share=np.nan)
    steps = {"controls": f"{SURV} ~ log_size + funding_share + cluster(org_id)"}
    with pytest.raises(ParamsError, match="'funding_share' has no values"):
        survival_design(spells, _cfg(steps), dataset="o", density_scale=100, environment=[])


def _simulated_spells(n_orgs: int = 60, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_orgs):
        district = ["D1", "D2", "D3"][i % 3]
        size = float(rng.integers(1, 20))
        founded = 2000 + i % 5
        for age in range(8):
            year = founded + age
            dens = 50.0 + 10 * (year - 2000) - 0.8 * (year - 2000) ** 2
            dead = rng.random() < 0.06 + 0.03 * (i % 3) + 0.002 * size
            rows.append(
                {
                    "org_id": f"o{i:02d}",
                    "year": year,
                    "start": float(age),
                    "stop": float(age + 1),
                    "event": int(dead),
                    "exit_kind": "death" if dead else ("censored" if age == 7 else ""),
                    "density": dens,
                    "density_sq": dens**2,
                    "density_at_founding": 50.0 + 10 * (founded - 2000),
                    "size": size,
                    "log_size": np.log(size),
                    "funding_share": float(rng.random()),
                    "district": district,
                }
            )
            if dead:
                break
    out = pd.DataFrame(rows)
    out["exit_kind"] = pd.Categorical(out["exit_kind"])
    out["district"] = pd.Categorical(out["district"])
    return out


def test_stratified_cox_steps_and_the_other_models_from_formulas() -> None:
    spells = _simulated_spells()
    steps = {
        "controls": f"{SURV} ~ log_size + strata(district) + cluster(org_id)",
        "density": "+ density + density_sq",
    }
    cfg = {
        **_cfg(steps),
        "cox": {"ties": "efron"},
        "age_pieces": [0, 2, 5],
        "parametric": ["weibull"],
        "aft": ["loglogistic"],
        "km_groups": [],
    }
    results = {
        r.model: r
        for r in fit_survival(
            spells, dataset="o", window=(2000, 2007), density_scale=100, cfg=cfg, environment=[], groups=[]
        )
    }
    cox = results["cox_density"]
    assert cox.specification["model_formula"] == (
        f"{SURV} ~ log_size + strata(district) + cluster(org_id) + density + density_sq"
    )
    assert cox.specification["strata"] == ["district"] and cox.specification["cluster"] == "org_id"
    # the same model fitted directly on hand-scaled columns
    frame = spells.assign(density=spells["density"] / 100, density_sq=(spells["density"] / 100) ** 2)
    direct = CoxPH(ties="efron").fit(
        frame,
        start="start",
        stop="stop",
        event="event",
        covariates=["log_size", "density", "density_sq"],
        cluster="org_id",
        strata="district",
    )
    got = {t.term: t for t in cox.terms}
    for name in ("log_size", "density", "density_sq"):
        assert got[name].coef == pytest.approx(float(direct.params_[name]), rel=1e-10)
        assert got[name].se == pytest.approx(float(direct.robust_se_[name]), rel=1e-10)
    unstratified = CoxPH(ties="efron").fit(
        frame, start="start", stop="stop", event="event", covariates=["log_size"], cluster="org_id"
    )
    ctrl = results["cox_controls"].terms[0]
    assert ctrl.coef != pytest.approx(
        float(unstratified.params_["log_size"]), rel=1e-6
    )  # strata did change the fit
    lr = [t for t in cox.tests if t["name"] == "LR vs cox_controls"]
    assert lr and lr[0]["df"] == 2
    pwe = results["piecewise_exponential"]
    assert pwe.specification["model_formula"] == f"{SURV} ~ log_size + cluster(org_id) + density + density_sq"
    assert pwe.specification["strata"] is None
    assert any("applies to the Cox models only" in n for n in pwe.notes)
    assert "weibull" in results and results["weibull"].specification["cluster"] == "org_id"
    aft = results["aft_loglogistic"]  # the AFT model on the same terms, stratification noted as for PWE
    assert aft.kind == "survival_aft" and aft.specification["cluster"] == "org_id"
    assert [t.term for t in aft.terms] == ["(Intercept)", "log_size", "density", "density_sq", "log_scale"]
    assert any("applies to the Cox models only" in n for n in aft.notes)


def test_without_cluster_cox_reports_model_based_errors_and_other_models_need_se_type_model() -> None:
    spells = _simulated_spells()
    cfg = {
        **_cfg({"controls": f"{SURV} ~ log_size + density"}, se_type="model"),
        "cox": {"ties": "efron"},
        "age_pieces": [0, 2, 5],
        "parametric": [],
        "aft": [],
        "km_groups": [],
    }
    results = fit_survival(
        spells, dataset="o", window=(2000, 2007), density_scale=100, cfg=cfg, environment=[], groups=[]
    )
    cox = next(r for r in results if r.model == "cox_controls")
    assert cox.specification["cluster"] is None
    with pytest.raises(ParamsError, match="no cluster"):
        fit_survival(
            spells,
            dataset="o",
            window=(2000, 2007),
            density_scale=100,
            cfg={**cfg, "se_type": "cluster_cr1"},
            environment=[],
            groups=[],
        )


def test_params_copy_is_not_mutated() -> None:
    cfg = _cfg({"controls": f"{SURV} ~ log_size + cluster(org_id)"})
    before = copy.deepcopy(cfg)
    survival_design(_tiny_spells(), cfg, dataset="o", density_scale=100, environment=[])
    assert cfg == before


# ------------------------------------------------------------------------------ the stage against R coxph

FORMULA_FIXTURES = ROOT / "tests" / "fixtures" / "formula"


@pytest.mark.parametrize("case", ["cox_strata", "cox_district_dummies"])
def test_stage_cox_from_params_formula_matches_coxph(case: str) -> None:
    """The fit_survival stage with a params formula (strata(district) / C(district, ref='D2'), clustered by
    organization) gives R coxph's coefficients, robust SEs and log partial likelihood on the same formula
    (tests/fixtures/formula/make_fixtures.R)."""
    import json

    expected = {c["name"]: c for c in json.loads((FORMULA_FIXTURES / "expected.json").read_text())["spells"]}[
        case
    ]
    spells = pd.read_csv(FORMULA_FIXTURES / "spells.csv")
    spells["exit_kind"] = pd.Categorical(np.where(spells["event"] == 1, "death", ""))
    spells["district"] = pd.Categorical(spells["district"])
    cfg = {
        **_cfg({"only": expected["engine"]}),
        "cox": {"ties": "efron"},
        "age_pieces": [0, 5],
        "parametric": [],
        "aft": [],
        "km_groups": [],
    }
    results = fit_survival(
        spells, dataset="o", window=(1960, 2020), density_scale=100, cfg=cfg, environment=[], groups=[]
    )
    cox = next(r for r in results if r.model == "cox_only")
    assert cox.specification["model_formula"] == expected["engine"]
    assert cox.sample["n"] == expected["fit"]["n"] and cox.sample["events"] == expected["fit"]["nevent"]
    assert [t.coef for t in cox.terms] == pytest.approx(expected["fit"]["coef"], rel=1e-8)
    assert [t.se for t in cox.terms] == pytest.approx(expected["fit"]["robust_se"], rel=1e-8)
    assert cox.fit["loglik"] == pytest.approx(expected["fit"]["loglik"], rel=1e-8)


def test_survival_subset_restricts_the_organizations_of_every_model() -> None:
    spells = _simulated_spells()
    steps = {"controls": f"{SURV} ~ log_size + density + cluster(org_id)"}
    base = {
        **_cfg(steps),
        "cox": {"ties": "efron"},
        "age_pieces": [0, 2, 5],
        "parametric": ["weibull"],
        "aft": [],
        "km_groups": [],
    }
    kw = {"dataset": "o", "window": (2000, 2007), "density_scale": 100, "environment": [], "groups": []}
    sub = {r.model: r for r in fit_survival(spells, cfg={**base, "subset": "district in ['D1', 'D2']"}, **kw)}
    inside = spells[spells["district"].isin(["D1", "D2"])].reset_index(drop=True)
    ref = {r.model: r for r in fit_survival(inside, cfg=base, **kw)}
    excluded = int((~spells["district"].isin(["D1", "D2"])).sum())
    for model in ("km_all", "cox_controls", "piecewise_exponential", "weibull"):
        assert sub[model].sample["n"] == ref[model].sample["n"] == len(inside), model
    for model in ("cox_controls", "piecewise_exponential", "weibull"):
        assert [t.coef for t in sub[model].terms] == pytest.approx(
            [t.coef for t in ref[model].terms], rel=1e-12
        )
        assert sub[model].sample["complete_case"]["excluded_by_subset"] == excluded
        assert any(f"{excluded} spells of organizations outside it excluded" in n for n in sub[model].notes)


@pytest.mark.parametrize(
    ("subset", "fragment"),
    [
        ("distrct == 'D1'", "unknown column 'distrct'"),
        (f"__import__('os').system('touch {SENTINEL}')", "not allowed"),
        ("().__class__", "fit_survival.subset"),
        ("open('/etc/passwd')", "fit_survival.subset"),
    ],
)
def test_survival_subset_is_checked_at_load(subset: str, fragment: str) -> None:
    SENTINEL.unlink(missing_ok=True)
    message = _problem(_params(subset=subset))
    assert "datasets.o: fit_survival.subset" in message and fragment in message
    assert not SENTINEL.exists()


def test_weighted_cox_from_the_formula_matches_the_engine_and_other_models_say_they_are_unweighted() -> None:
    spells = _simulated_spells()
    steps = {
        "controls": f"{SURV} ~ log_size + weights(size) + cluster(org_id)",
        "density": "+ density + density_sq",
    }
    cfg = {
        **_cfg(steps),
        "cox": {"ties": "efron"},
        "age_pieces": [0, 2, 5],
        "parametric": [],
        "aft": [],
        "km_groups": [],
    }
    results = {
        r.model: r
        for r in fit_survival(
            spells, dataset="o", window=(2000, 2007), density_scale=100, cfg=cfg, environment=[], groups=[]
        )
    }
    cox = results["cox_density"]
    assert cox.specification["weights"] == "size"
    frame = spells.assign(density=spells["density"] / 100, density_sq=(spells["density"] / 100) ** 2)
    direct = CoxPH(ties="efron").fit(
        frame,
        start="start",
        stop="stop",
        event="event",
        covariates=["log_size", "density", "density_sq"],
        cluster="org_id",
        weights="size",
    )
    unweighted = CoxPH(ties="efron").fit(
        frame,
        start="start",
        stop="stop",
        event="event",
        covariates=["log_size", "density", "density_sq"],
        cluster="org_id",
    )
    got = {t.term: t for t in cox.terms}
    for name in ("log_size", "density", "density_sq"):
        assert got[name].coef == pytest.approx(float(direct.params_[name]), rel=1e-10)
        assert got[name].se == pytest.approx(float(direct.robust_se_[name]), rel=1e-10)
    assert got["log_size"].coef != pytest.approx(float(unweighted.params_["log_size"]), rel=1e-4)
    assert any("Case weights weights(size)" in n for n in cox.notes)
    pwe = results["piecewise_exponential"]
    assert "weights" not in pwe.specification["model_formula"] and pwe.specification["weights"] is None
    assert any("weights(size) of the Cox formula applies to the Cox models only" in n for n in pwe.notes)


def test_a_zero_case_weight_is_a_params_error_naming_the_count() -> None:
    spells = _simulated_spells().assign(w=lambda d: np.where(d.index % 50 == 0, 0.0, 1.0))
    steps = {"controls": f"{SURV} ~ log_size + weights(w) + cluster(org_id)"}
    cfg = {
        **_cfg(steps),
        "cox": {"ties": "efron"},
        "age_pieces": [0, 2, 5],
        "parametric": [],
        "aft": [],
        "km_groups": [],
    }
    with pytest.raises(ParamsError, match=r"weights\(w\) has \d+ spell\(s\) with a weight of 0 or less"):
        fit_survival(
            spells, dataset="o", window=(2000, 2007), density_scale=100, cfg=cfg, environment=[], groups=[]
        )


def test_km_group_named_in_km_groups_and_group_columns_is_fitted_once() -> None:
    from pipeline.stages.fit_survival import km_group_columns, km_results

    cfg = {"km_groups": ["cohort", "district"]}
    assert km_group_columns(cfg, {"group_columns": ["district", "type"]}) == ["cohort", "district", "type"]
    names = [r.model for r in km_results(_simulated_spells(), ["district", "district"], dataset="o")]
    assert names == ["km_all", "km_district"]


def test_cox_results_say_fit_survival_se_type_does_not_reach_them() -> None:
    steps = {"controls": f"{SURV} ~ log_size + cluster(org_id)", "density": "+ density + density_sq"}
    cfg = {
        **_cfg(steps),
        "cox": {"ties": "efron"},
        "age_pieces": [0, 2, 5],
        "parametric": [],
        "aft": [],
        "km_groups": [],
    }
    cfg["se_type"] = "cluster_cr1"
    results = fit_survival(
        _simulated_spells(),
        dataset="o",
        window=(2000, 2007),
        density_scale=100,
        cfg=cfg,
        environment=[],
        groups=[],
    )
    cox = [r for r in results if r.model.startswith("cox_")]
    assert cox and all("fit_survival.se_type (cluster_cr1)" in " ".join(r.notes) for r in cox)
    pw = next(r for r in results if r.model == "piecewise_exponential")
    assert "fit_survival.se_type (cluster_cr1) does not" not in " ".join(pw.notes)
