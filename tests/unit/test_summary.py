"""The end-of-run summary: reports on disk, warnings per stage run with their log, weak and failed
results — from a tiny hand-made tree of outputs."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.stages.summary import collect, summary_text

PARAMS = {"datasets": {"ngos": {"kind": "organizations"}, "banks": {"kind": "population"}}}


def _result(path: Path, *, converged: bool = True, weak: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"fit": {"converged": converged}, "assessment": {"weak": weak}}), encoding="utf-8"
    )


def test_summary_lists_reports_warnings_weak_and_failed(tmp_path):
    out = tmp_path / "reports" / "out" / "ngos"
    out.mkdir(parents=True)
    (out / "report.pdf").write_bytes(b"%PDF")
    (out / "report.html").write_text("<html></html>", encoding="utf-8")
    (tmp_path / "reports" / "out" / "index.html").write_text("<html></html>", encoding="utf-8")
    _result(tmp_path / "results" / "ngos" / "survival" / "cox_full.json", weak=True)
    _result(tmp_path / "results" / "ngos" / "founding" / "nb_fe.json", converged=False)
    _result(tmp_path / "results" / "ngos" / "founding" / "nb_density.json")
    _result(tmp_path / "results" / "ngos" / "founding" / ".nb.123.tmp.json", weak=True)  # a killed run's
    log = tmp_path / "logs" / "fit_founding" / "ngos.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "INFO fit_founding: start\nWARNING fit_founding: 3 rows dropped\n  (detail line)\n"
        "WARNING py.warnings: library chatter\nWARNING fit_founding: alpha at the boundary\n",
        encoding="utf-8",
    )
    facts = collect(PARAMS, tmp_path)
    assert facts["reports"] == {"ngos": ["reports/out/ngos/report.pdf", "reports/out/ngos/report.html"]}
    assert facts["index"] == ["reports/out/index.html"]
    assert facts["warnings"] == [("fit_founding", "ngos", 2, "logs/fit_founding/ngos.log")]
    assert facts["weak"] == ["ngos: survival/cox_full"] and facts["failed"] == ["ngos: founding/nb_fe"]
    text = summary_text(facts)
    assert (
        "warnings: 2 in 1 stage runs" in text and "fit_founding ngos: 2 → logs/fit_founding/ngos.log" in text
    )
    assert "weak results" in text and "could not be estimated" in text


def test_summary_of_an_empty_tree_says_nothing_was_written(tmp_path):
    text = summary_text(collect(PARAMS, tmp_path))
    assert "reports written: none" in text and "warnings: none" in text and "weak" not in text
