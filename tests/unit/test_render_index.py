"""The index page across datasets (stage render_index): one row per report folder, links only to files
that exist, counts of tables and figures, the report's own title; a missing report is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.stages import render_index
from pipeline.stages.cli import main

ROOT = Path(__file__).resolve().parents[2]
PARAMS = {"datasets": {"ngos": {"kind": "organizations"}, "banks": {"kind": "population"}}}


def _report(root: Path, name: str, title: str, files: tuple[str, ...]) -> None:
    folder = root / "reports" / "out" / name
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f).parent.mkdir(parents=True, exist_ok=True)
        (folder / f).write_text("x", encoding="utf-8")
    (folder / "report.html").write_text(f"<html><head><title>{title}</title></head></html>", encoding="utf-8")


def test_index_lists_every_report_with_its_links_and_counts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _report(
        tmp_path,
        "ngos",
        "NGOs &amp; associations",
        ("report.pdf", "tables/a.tex", "tables/a.csv", "tables/b.csv", "figures/f.png", "figures/f.svg"),
    )
    _report(tmp_path, "banks", "Banks", ())
    render_index.run(PARAMS)
    page = (tmp_path / "reports" / "out" / "index.html").read_text(encoding="utf-8")
    assert page.index('id="dataset-ngos"') < page.index('id="dataset-banks"')  # params order
    assert "NGOs &amp; associations" in page and "<td>population</td>" in page
    assert 'href="ngos/report.html"' in page and 'href="ngos/report.pdf"' in page
    assert 'href="banks/report.pdf"' not in page  # no link to a file that is not there
    assert "2 tables, 1 figures" in page and "0 tables, 0 figures" in page
    render_index.run(PARAMS)
    assert (tmp_path / "reports" / "out" / "index.html").read_text(encoding="utf-8") == page  # stable


def test_a_missing_report_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _report(tmp_path, "ngos", "NGOs", ())
    (tmp_path / "reports" / "out" / "banks").mkdir()
    with pytest.raises(FileNotFoundError, match="render_report"):
        render_index.run(PARAMS)
    assert not (tmp_path / "reports" / "out" / "index.html").exists()


def test_cli_runs_index_without_dataset_and_refuses_a_dataset_stage_without_one(
    tmp_path, monkeypatch, capsys
):
    assert main(["--params", str(ROOT / "params.yaml"), "run", "fit_founding"]) == 2
    assert "give --dataset" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert main(["--params", str(ROOT / "params.yaml"), "run", "render_index"]) == 1
    assert "input missing: reports/out/default" in capsys.readouterr().err
