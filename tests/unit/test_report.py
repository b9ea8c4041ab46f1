"""The PDF report: sections, every figure, Chinese text, truth table, absent sections, stable bytes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pypdf
import pytest

from pipeline.data.read import load_truth
from pipeline.stages.render_report import truth_mapping
from reports.collect import load_report_inputs, load_results
from reports.report import build_bundle, render_report, truth_table

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results_example"
RESULTS = FIX / "results" / "default"
PROCESSED = FIX / "processed" / "default"
CLEAN = FIX / "interim" / "default" / "clean"
PROVENANCE = {
    "commit": "0123456789abcdef0123456789abcdef01234567",
    "inputs": {"data/raw/default/organizations.csv": "ab" * 32},
    "params": {"fit_founding": {"density_scale": 100}},
    "packages": {"numpy": "2.4.0", "statsmodels": "0.15.0"},
    "seeds": {"simulate": 20261126},
}
DISCUSSION = "街道社会工作服务站的发展出现瓶颈。\n\nThe founding rate peaks inside the observed range."


def _truth() -> dict:
    """The simulated data's true parameters, keyed as the render stage keys them."""
    return truth_mapping(load_truth(FIX / "truth.json"))


def _render(out: Path, results_dir: Path = RESULTS, truth: dict | None = None) -> Path:
    return render_report(
        "default",
        load_report_inputs(results_dir, PROCESSED, CLEAN),
        out,
        PROVENANCE,
        truth=truth,
        discussion=DISCUSSION,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    pdf = _render(tmp_path_factory.mktemp("rep") / "default.pdf", truth=_truth())
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    return pdf, text


def test_report_has_every_section(report):
    _, text = report
    for title in (
        "Data and provenance",
        "Cleaning log",
        "Descriptives",
        "Founding",
        "Mortality",
        "Growth",
        "Bottleneck",
        "True versus estimated parameters",
        "Discussion",
    ):
        assert re.search(rf"\d+\.\s*{title}", text), title
    assert PROVENANCE["commit"] in text
    assert "ab" * 32 in text and "20261126" in text and "statsmodels 0.15.0" in text
    assert "1 January" in text and "left truncation" in text  # conventions are stated


def test_report_includes_every_figure(report):
    import pandas as pd

    from reports.figures import build_figures, setup_matplotlib

    setup_matplotlib()
    figs = build_figures(
        load_results(RESULTS),
        population=pd.read_parquet(PROCESSED / "population.parquet"),
        org_years=pd.read_parquet(PROCESSED / "org_years.parquet"),
    )
    _, text = report
    numbers = {int(n) for n in re.findall(r"Figure\s*(\d+)\s*:", text)}
    assert numbers == set(range(1, len(figs) + 1))
    flat = " ".join(text.split())
    for _, _, caption in figs:
        assert " ".join(caption.split())[:40] in flat


def test_chinese_text_extracts(report):
    _, text = report
    assert "街道社会工作服务站的发展出现瓶颈" in text  # discussion
    km = load_results(RESULTS)["survival"]["km_district"]
    districts = [k.removeprefix("km_") for k in km["curves"]]
    assert len(districts) > 1
    for district in districts:
        assert district in text  # Kaplan–Meier table by district


def test_numbers_in_the_pdf_come_from_the_results(report):
    _, text = report
    res = load_results(RESULTS)
    nb = res["founding"]["nb_density2"]
    assert f"{nb['derived']['alpha']['estimate']:.3f}" in text
    (k,) = [t["coef"] for t in res["bottleneck"]["logistic_density"]["terms"] if t["term"] == "K"]
    assert f"{k:.1f}" in text
    failed = res["founding"]["hurdle_nb_density2"]  # a real failed fit: no zero counts in the series
    assert not failed["fit"]["converged"] and failed["fit"]["reason"]
    flat = " ".join(text.split())  # the long model name may break across lines
    assert nb["fit"]["converged"] and "hurdle_nb_density2" in flat and "not estimated" in flat
    assert f"hurdle_nb_density2: not estimated — {failed['fit']['reason']}" in flat


def test_truth_table_coverage():
    results = load_results(RESULTS)
    terms = {t["term"]: t for t in results["founding"]["poisson_density2"]["terms"]}
    (k,) = [t for t in results["bottleneck"]["logistic_density"]["terms"] if t["term"] == "K"]
    truth = {
        "founding/poisson_density2/density": terms["density"]["coef"],  # inside its CI
        "founding/poisson_density2/density_sq": terms["density_sq"]["ci_high"] + 1.0,  # outside
        "bottleneck/logistic_density/K": k["coef"],
        "founding/missing_model/density": 1.0,
    }
    table = truth_table(truth, results)
    covered = [cells[-1].text for _, cells, _ in table.rows]
    assert covered == ["yes", "no", "yes", ""]
    assert table.rows[-1][1][2].text == "not estimated"


def test_truth_of_the_simulated_data_names_models_of_the_fixture():
    truth = _truth()
    results = load_results(RESULTS)
    assert len(truth) > 5
    table = truth_table(truth, results)
    estimated = [cells for _, cells, _ in table.rows if cells[2].text != "not estimated"]
    assert len(estimated) == len(truth)  # every true parameter has its estimate in the fixture
    assert {cells[-1].text for cells in estimated} <= {"yes", "no"}


def test_absent_sections_say_so(tmp_path):
    only = tmp_path / "results"
    for area in ("founding", "bottleneck"):
        shutil.copytree(RESULTS / area, only / area)
    pdf = _render(tmp_path / "pop.pdf", results_dir=only)
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "No mortality models" in " ".join(text.split())
    assert "No growth models" in " ".join(text.split())
    assert "True versus estimated" not in text


def test_two_renders_are_byte_identical(report, tmp_path):
    pdf, _ = report
    again = _render(tmp_path / "again.pdf", truth=_truth())
    assert pdf.read_bytes() == again.read_bytes()
    assert b"/CreationDate" not in again.read_bytes()


def test_bundle_holds_only_strings_from_tables():
    results = load_results(RESULTS)
    bundle = build_bundle("default", {}, [], results, provenance={})
    titles = [s["title"] for s in bundle["sections"]]
    assert titles[:3] == ["Data and provenance", "Cleaning log", "Descriptives"]
    assert not bundle["sections"][1]["present"]


def test_population_series_sections_state_the_recorded_reason(tmp_path):
    china = load_report_inputs(FIX / "results" / "china", tmp_path / "none")
    reasons = china.not_applicable
    assert set(reasons) == {"founding", "survival", "growth"}
    pdf = render_report(
        "china",
        china,
        tmp_path / "china.pdf",
        PROVENANCE,
        title="Registered social organizations in China (社会组织)",
    )
    text = " ".join("\n".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages).split())
    for reason in reasons.values():
        assert " ".join(reason.split())[:50] in text
    assert "社会组织" in text
    assert "Population-series rows used in the logistic fit" in text and "reported secondary" in text


def test_params_go_to_the_appendix_and_small_figures_pair_up():
    results = load_results(RESULTS)
    figures = [
        {"stem": "survival_km_a", "caption": "a", "width": "half"},
        {"stem": "survival_km_b", "caption": "b", "width": "half"},
        {"stem": "survival_km_c", "caption": "c", "width": "half"},
        {"stem": "growth_vs_size", "caption": "g", "width": "full"},
    ]
    bundle = build_bundle("default", {}, figures, results, provenance=PROVENANCE)
    first = bundle["sections"][0]
    assert "code" not in first and all(
        "density_scale" not in i for lst in first["lists"] for i in lst["items"]
    )
    assert bundle["appendix"][0]["code"].strip() == "fit_founding: {density_scale: 100}"
    mortality = next(s for s in bundle["sections"] if s["title"] == "Mortality")
    rows = [[f["caption"] for f in b["row"]] for b in mortality["blocks"] if b["kind"] == "figures"]
    assert rows == [["a", "b"], ["c"]]
    growth = next(s for s in bundle["sections"] if s["title"] == "Growth")
    assert [[f["caption"] for f in b["row"]] for b in growth["blocks"] if b["kind"] == "figures"] == [["g"]]
