"""One render_report job reads each of its input files exactly once: every result file, every derived table
and the cleaning log are loaded at the stage edge (:func:`reports.collect.load_report_inputs`) and the
tables, figures, reports, plot data and metrics are all built from that one object."""

from __future__ import annotations

import builtins
import io
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from pipeline.core.params import load_params
from pipeline.stages import render_report as stage
from reports.collect import ReportInputs, load_report_inputs

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "results_example"
READ_ONLY = frozenset("rbt")


def _project(root: Path) -> None:
    """A project folder holding the fixture results, derived tables and cleaning log of ``default``, laid
    out where the stage reads them (paths relative to the folder, as in the repository)."""
    shutil.copytree(FIX / "results" / "default", root / "results" / "default")
    shutil.copytree(FIX / "processed" / "default", root / "data" / "processed" / "default")
    shutil.copytree(FIX / "interim" / "default" / "clean", root / "data" / "interim" / "default" / "clean")
    validated = root / "data" / "interim" / "default" / "validated"
    validated.mkdir(parents=True)
    (validated / "validation_report.json").write_text(json.dumps({"inputs": {}}), encoding="utf-8")
    (root / "data" / "raw" / "default").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "raw" / "default" / "truth.json", root / "data" / "raw" / "default")


def _inputs(root: Path) -> list[Path]:
    """The files a render of ``default`` is made from: result files, derived tables, cleaning log."""
    return sorted(
        [
            *(root / "results" / "default").rglob("*.json"),
            *(root / "data" / "processed" / "default").glob("*.parquet"),
            root / "data" / "interim" / "default" / "clean" / "cleaning_log.json",
        ]
    )


@pytest.fixture()
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[Path]:
    """Every file opened for reading while the test runs (``open``, ``Path.read_text``, pandas' Parquet
    reader all go through :func:`io.open`), resolved."""
    seen: Counter[Path] = Counter()
    real = io.open

    def counting(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, os.PathLike)) and set(mode) <= READ_ONLY:
            seen[Path(file).resolve()] += 1
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting)
    monkeypatch.setattr(builtins, "open", counting)
    return seen


def test_one_render_report_job_reads_each_input_file_once(tmp_path, monkeypatch, reads):
    params = load_params(ROOT / "params.yaml")
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    stage.run("default", params)
    assert (tmp_path / "reports" / "out" / "default" / "report.pdf").is_file()
    assert (tmp_path / "metrics" / "default.json").is_file()
    root = tmp_path.resolve()
    expected = [str(p.relative_to(root)) for p in _inputs(root)]
    assert len(expected) > 30  # the fixture's result files, three derived tables, the cleaning log
    watched = [root / d for d in ("results", "data/processed", "data/interim/default/clean")]
    counted = {
        str(p.relative_to(root)): n for p, n in reads.items() if any(p.is_relative_to(w) for w in watched)
    }
    not_once = {p: counted.get(p, 0) for p in sorted({*expected, *counted}) if counted.get(p, 0) != 1}
    assert not_once == {}, f"input files not read exactly once (path: times read): {not_once}"
    assert sorted(counted) == expected


def test_report_inputs_hold_results_reasons_seeds_and_tables(tmp_path):
    china = load_report_inputs(FIX / "results" / "china", tmp_path / "none")
    assert isinstance(china, ReportInputs)
    assert set(china.not_applicable) == {"founding", "survival", "growth"}
    assert china.results["founding"] == {} and set(china.results["bottleneck"]) == {
        "break_density_growth",
        "logistic_density",
    }
    assert china.population is None and china.cleaning_log is None and china.data_quality is None
    default = load_report_inputs(
        FIX / "results" / "default", FIX / "processed" / "default", FIX / "interim" / "default" / "clean"
    )
    assert default.not_applicable == {}
    assert list(default.results) == ["founding", "survival", "growth", "bottleneck"]
    assert default.population is not None and default.org_years is not None and default.spells is not None
    assert default.cleaning_log is not None and isinstance(default.data_quality, dict)
    recorded = {
        f"{p.parent.name}/{p.stem}": spec["seed"]
        for p in sorted((FIX / "results" / "default").rglob("*.json"))
        if (spec := json.loads(p.read_text(encoding="utf-8")).get("specification") or {}).get("seed")
        is not None
    }
    assert dict(default.seeds) == recorded
