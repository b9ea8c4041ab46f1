"""Word output: every table as .docx with the same strings as the other formats, the report as .docx
with every section, table and figure, byte-stable files."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from pipeline.data.read import load_truth
from pipeline.stages.render_report import truth_mapping
from reports.assemble import report_tables
from reports.collect import ReportInputs, load_report_inputs
from reports.render import to_typst
from reports.report import render_report
from reports.table_files import write_table
from reports.word import docx_text

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results_example"
RESULTS = FIX / "results" / "default"
PROCESSED = FIX / "processed" / "default"
CLEAN = FIX / "interim" / "default" / "clean"


@pytest.fixture(scope="module")
def inputs() -> ReportInputs:
    return load_report_inputs(RESULTS, PROCESSED, CLEAN)


@pytest.fixture(scope="module")
def tables(inputs) -> dict:
    return report_tables(inputs)


def test_every_table_as_docx_holds_the_same_strings(tables, tmp_path):
    for stem, table in tables.items():
        (path,) = write_table(table, tmp_path / stem, formats=("docx",))
        doc = docx.Document(str(path))
        (grid,) = doc.tables
        t = to_typst(table)
        cells = [[c.text for c in row.cells] for row in grid.rows]
        assert cells == [*t["header"], *t["rows"]], stem
        text = [p.text for p in doc.paragraphs]
        assert text[0] == t["caption"] and all(n in text for n in t["notes"]), stem


def test_table_docx_is_byte_stable(tables, tmp_path):
    table = tables["founding_nb"]
    (a,) = write_table(table, tmp_path / "a", formats=("docx",))
    (b,) = write_table(table, tmp_path / "b", formats=("docx",))
    assert a.read_bytes() == b.read_bytes()
    assert docx.Document(str(a)).core_properties.created.year == 2000  # fixed, not the run date


def test_report_docx_has_every_section_table_and_figure(inputs, tables, tmp_path):
    from reports.figures import render_figures

    records = render_figures(inputs, tmp_path / "figures", formats=("svg", "png"))
    truth = truth_mapping(load_truth(FIX / "truth.json"))
    kw = dict(truth=truth, discussion="街道社会工作服务站的发展出现瓶颈。")
    kw["figures"] = (tmp_path / "figures", records)
    for name in ("a", "b"):
        render_report(
            "default",
            inputs,
            tmp_path / f"{name}.pdf",
            {"commit": "c0ffee"},
            out_docx=tmp_path / f"{name}.docx",
            **kw,
        )
    assert (tmp_path / "a.docx").read_bytes() == (tmp_path / "b.docx").read_bytes()
    doc = docx.Document(str(tmp_path / "a.docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    for n, title in enumerate(
        (
            "Data and provenance",
            "Cleaning log",
            "Descriptives",
            "Founding",
            "Mortality",
            "Growth",
            "Bottleneck",
        ),
        start=1,
    ):
        assert f"{n}. {title}" in headings
    assert "5.1 Survival curves" in headings and "A. Parameters used for this dataset" not in headings
    assert len(doc.inline_shapes) == len(records) > 0
    text = docx_text(tmp_path / "a.docx")
    n_tables = len(doc.tables)
    assert n_tables == len(tables) + 1  # + truth
    assert "街道社会工作服务站的发展出现瓶颈。" in text and "Commit: c0ffee" in text
    assert f"Table {n_tables}: True versus estimated parameters (simulated data)" in text
