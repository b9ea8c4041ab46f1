"""The model registry: every result names a declared kind, and tables dispatch on the declaration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.registry import AREAS, ModelKind, UnknownKindError, kind_of, kinds, undeclared_derived
from analysis.results import ModelResult
from pipeline.stages.code_deps import code_deps, declaring_modules
from pipeline.stages.common import check_kinds
from reports.assemble import build_tables
from reports.presenters import PRESENTERS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "fixtures" / "results_example" / "results"


def _result(kind: str, model: str = "m1", **kw) -> dict:
    return {
        "dataset": "toy",
        "stage": "fit_founding",
        "model": model,
        "family": "poisson",
        "kind": kind,
        "specification": {},
        "sample": {"unit": "population-year", "n": 10},
        "fit": {"converged": True, "reason": None, "loglik": -3.0},
        "derived": {},
        "tests": [],
        "curves": {},
        "terms": [{"term": "x", "coef": 0.5, "se": 0.1, "z": 5.0, "p": 0.0, "ci_low": 0.3, "ci_high": 0.7}],
        **kw,
    }


def test_every_declared_kind_is_well_formed() -> None:
    by_table: dict[str, list[ModelKind]] = {}
    for name, kind in kinds().items():
        assert kind.name == name and kind.area in AREAS
        if kind.presentation == "none":
            continue
        assert kind.presentation in PRESENTERS, f"{name}: no presenter for {kind.presentation!r}"
        assert kind.table and kind.caption, name
        assert all(d.unit and d.meaning for d in kind.derived.values()), name
        by_table.setdefault(kind.table, []).append(kind)
    for table, group in by_table.items():
        assert len({k.presentation for k in group}) == 1, (
            f"kinds sharing table {table} differ in presentation"
        )
        assert len({k.area for k in group}) == 1, table


def test_each_area_has_its_not_applicable_kind() -> None:
    for area in AREAS:
        assert kinds()[f"not_applicable_{area}"].presentation == "none"


def test_every_example_result_names_a_registered_kind() -> None:
    files = sorted(EXAMPLES.glob("*/*/*.json"))
    assert len(files) > 30
    for path in files:
        res = json.loads(path.read_text(encoding="utf-8"))
        assert kind_of(res).name == res["kind"], path


def test_an_unregistered_kind_is_an_error_naming_the_result_not_a_dropped_table() -> None:
    with pytest.raises(UnknownKindError, match=r"toy/m1 has kind 'no_such_kind'"):
        build_tables({"founding": {"m1": _result("no_such_kind")}})
    with pytest.raises(UnknownKindError, match="has kind ''"):
        build_tables({"founding": {"m1": _result("")}})


def test_a_new_kind_is_presented_without_any_edit_in_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind declared only in the registry, with an existing presentation, gets its table: stem, caption
    and column headings from the declaration."""
    new = ModelKind(
        name="toy_hurdle",
        area="founding",
        presentation="regression",
        caption="Toy hurdle founding model",
        table="founding_toy_hurdle",
        order=50,
    )
    monkeypatch.setitem(kinds(), "toy_hurdle", new)
    tables = build_tables({"founding": {"m1": _result("toy_hurdle"), "m2": _result("toy_hurdle", "m2")}})
    assert "founding_toy_hurdle" in tables
    assert tables["founding_toy_hurdle"].caption == "Toy hurdle founding model"
    assert any("m1" in h and "m2" in h for h in tables["founding_toy_hurdle"].header)


def test_the_stage_writer_refuses_unknown_kinds_wrong_areas_and_undeclared_derived_keys() -> None:
    def res(kind: str, derived: dict | None = None) -> ModelResult:
        return ModelResult(
            dataset="toy",
            stage="fit_founding",
            model="m",
            family="poisson",
            method="ML",
            kind=kind,
            derived=derived or {},
        )

    check_kinds([res("founding_count", {"n_star": {"estimate": 1.0}})], "fit_founding")
    with pytest.raises(UnknownKindError):
        check_kinds([res("founding_countt")], "fit_founding")
    with pytest.raises(ValueError, match="of area 'survival', not 'founding'"):
        check_kinds([res("cox")], "fit_founding")
    with pytest.raises(ValueError, match=r"does not declare: \['n_starr'\]"):
        check_kinds([res("founding_count", {"n_starr": 1.0})], "fit_founding")


def test_undeclared_derived_lists_renamed_keys() -> None:
    assert undeclared_derived(_result("founding_count", derived={"n_star": {}, "alpha": {}})) == []
    assert undeclared_derived(_result("founding_count", derived={"nstar": {}})) == ["nstar"]


def test_code_deps_of_the_report_include_every_module_that_declares_kinds() -> None:
    """The registry imports its declarations by discovery: a changed caption reruns render_report."""
    declaring = declaring_modules("analysis", "MODEL_KINDS")
    assert {"analysis.founding", "analysis.cox_result", "analysis.stagnation"} <= declaring
    deps = set(code_deps("pipeline.stages.render_report"))
    for module in declaring:
        assert module.replace(".", "/") + ".py" in deps, module


def test_every_declared_figure_has_a_planner() -> None:
    from reports.figure_plan import FIGURES

    for kind in kinds().values():
        assert set(kind.figures) <= set(FIGURES), kind.name


def test_a_kind_declaring_a_figure_gets_it_without_an_edit_in_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Figures are planned from the kind's declaration: a new survival kind drawn as hazard by age."""
    from reports.figure_plan import plan_figures

    new = ModelKind(
        name="toy_frailty_pieces",
        area="survival",
        presentation="regression",
        caption="Toy frailty pieces",
        table="survival_toy",
        order=45,
        figures=("hazard_by_age",),
        section="Hazard by age",
    )
    monkeypatch.setitem(kinds(), "toy_frailty_pieces", new)
    curve = {"piece": ["0-5", "5+"], "hazard": [0.1, 0.05], "ci_low": [0.05, 0.02], "ci_high": [0.2, 0.1]}
    res = _result("toy_frailty_pieces", "frailty_pwe", stage="fit_survival", curves={"hazard_by_age": curve})
    plans = plan_figures({"survival": {"frailty_pwe": res}})
    assert [p.stem for p in plans] == ["survival_hazard_frailty_pwe"]
    assert [p.section for p in plans] == ["Hazard by age"]
    from reports.report import build_bundle
    from reports.table_model import Table

    tables = {
        "survival_toy": Table(caption="Toy frailty pieces", header=[["", "x"]], section="Hazard by age")
    }
    figures = [{"stem": "survival_hazard_frailty_pwe", "caption": "toy", "width": "full"}]
    bundle = build_bundle("d", tables, figures, {"survival": {"frailty_pwe": res}}, provenance={})
    mortality = next(s for s in bundle["sections"] if s["title"] == "Mortality")
    kinds_of_blocks = [(b["kind"], b.get("text") or b.get("caption") or "") for b in mortality["blocks"]]
    assert kinds_of_blocks[0] == ("heading", "Hazard by age") and "Other models" not in str(kinds_of_blocks)
    with pytest.raises(ValueError, match="name the one its tables and figures stand in"):
        ModelKind(
            name="y", area="survival", presentation="regression", caption="", table="survival_y", order=1
        )
    with pytest.raises(ValueError, match="is not one of"):
        ModelKind(
            name="z", area="survival", presentation="none", caption="", table="", order=1, section="Misc"
        )
    with pytest.raises(ValueError, match="unknown figures"):
        ModelKind(
            name="x", area="survival", presentation="none", caption="", table="", order=1, figures=("pie",)
        )


def test_count_families_are_registered_statically_and_by_import_alike() -> None:
    """``fit_founding.families`` accepts what the declarations name; the static read agrees with the import."""
    from analysis.registry import count_families, count_family_names

    fams = count_families()
    assert count_family_names() == list(fams)
    assert {"poisson", "negative_binomial"} <= set(fams)
    assert (fams["poisson"].prefix, fams["negative_binomial"].prefix) == ("poisson", "nb")
    for fam in fams.values():
        assert kinds()[fam.kind].area == "founding", fam.name
    declaring = declaring_modules("analysis", "COUNT_FAMILIES")
    assert "analysis.count_families" in declaring
    deps = set(code_deps("pipeline.stages.fit_founding"))
    for module in declaring:
        assert module.replace(".", "/") + ".py" in deps, module


def test_an_unregistered_count_family_is_an_error_naming_the_registered_ones() -> None:
    from analysis.founding import fit_founding_models, simulate_founding_series

    with pytest.raises(ValueError, match="unknown family 'ols'.*negative_binomial"):
        fit_founding_models(simulate_founding_series(seed=3), families=("ols",))
