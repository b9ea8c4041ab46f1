"""The console of a stage run: one line per stage and dataset, project warnings that stand out, library
INFO chatter (fontTools' "pruned ...") and library warnings only in the stage's log file; fonts built once
even when parallel jobs ask for them at the same time."""

from __future__ import annotations

import io
import logging
import threading
import time
import warnings
from pathlib import Path

import pytest

from pipeline.core.console import StageConsole, _LiveStatus
from reports import fonts


def _run_stage(tmp_path: Path, body, **env: str) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    log_path = tmp_path / "logs" / "fit_founding" / "tiny.log"
    with StageConsole("fit_founding", "tiny", log_path, stream=out) as console:
        body()
        line = console.finished(ok=True)
    return out.getvalue(), log_path.read_text(encoding="utf-8"), line


def test_library_chatter_goes_only_to_the_log_file(tmp_path: Path) -> None:
    def body() -> None:
        for i in range(50):
            logging.getLogger("fontTools.subset").info("pruned %d glyphs", i)
        logging.getLogger("fit_founding").info("nb_covariates: converged")
        logging.getLogger("pipeline.stages.common").warning("nb_covariates: weak estimate: few events")
        warnings.warn("a library's deprecation", FutureWarning, stacklevel=1)

    console, log, line = _run_stage(tmp_path, body)
    assert "pruned" not in console and "converged" not in console and "deprecation" not in console
    assert log.count("pruned") == 50 and "nb_covariates: converged" in log and "deprecation" in log
    lines = console.splitlines()
    assert lines[0] == "⚠ warning pipeline.stages.common: nb_covariates: weak estimate: few events"
    assert len(lines) == 2 and lines[1] == line
    assert line.startswith("✓ fit_founding") and " tiny " in line
    assert "1 warning, 1 library warning →" in line and line.endswith("logs/fit_founding/tiny.log")


def test_a_stage_with_many_warnings_shows_the_first_few_and_counts_all(tmp_path: Path) -> None:
    from pipeline.core.console import MAX_CONSOLE_WARNINGS

    def body() -> None:
        for i in range(MAX_CONSOLE_WARNINGS + 5):
            logging.getLogger("fit_founding").warning("model_%d: weak estimate", i)

    console, log, line = _run_stage(tmp_path, body)
    assert console.count("weak estimate") == MAX_CONSOLE_WARNINGS
    assert log.count("weak estimate") == MAX_CONSOLE_WARNINGS + 5
    assert f"{MAX_CONSOLE_WARNINGS + 5} warnings (5 not shown) →" in line


def test_errors_are_printed_once_and_the_line_says_failed(tmp_path: Path) -> None:
    out = io.StringIO()
    log_path = tmp_path / "logs" / "validate_inputs" / "tiny.log"
    with StageConsole("validate_inputs", "tiny", log_path, stream=out) as console:
        logging.getLogger("validate_inputs").error("organizations.csv row 3 [founded]: 'x' is not a date")
        console.finished(ok=False)
    text = out.getvalue()
    assert text.count("organizations.csv row 3 [founded]: 'x' is not a date") == 1  # no markup eaten
    assert text.splitlines()[-1].startswith("✗ validate_inputs") and "failed →" in text


def test_finished_jobs_are_counted_across_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = tmp_path / "jobs_done"
    counter.write_text("4\n")
    monkeypatch.setenv("ORGECOLOGY_JOBS_DONE", str(counter))
    monkeypatch.setenv("ORGECOLOGY_JOBS_TOTAL", "32")
    _, _, line = _run_stage(tmp_path, lambda: None)
    assert "[5/32]" in line and counter.read_text() == "5\n"


def test_only_one_process_draws_the_live_status(tmp_path: Path) -> None:
    lock = tmp_path / ".console.lock"
    first = _LiveStatus(None, "a", lock)  # type: ignore[arg-type]
    second = _LiveStatus(None, "b", lock)  # type: ignore[arg-type]
    assert first._try_lock() and not second._try_lock()
    first.stop()  # releases the lock
    assert second._try_lock()
    second.stop()


def test_the_font_is_built_once_when_jobs_ask_at_the_same_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def slow_build(source: Path, target: Path, weight: float = 400.0) -> Path:
        calls.append(target)
        time.sleep(0.3)
        target.write_bytes(b"font")
        return target

    monkeypatch.setattr(fonts, "_variable_source", lambda: tmp_path / "variable.ttf")
    monkeypatch.setattr(fonts, "build_static_instance", slow_build)
    cache = tmp_path / "cache"
    got: list[Path] = []
    jobs = [
        threading.Thread(target=lambda: got.append(fonts.cjk_font_path.__wrapped__(str(cache))))
        for _ in range(3)
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    assert len(calls) == 1 and len(got) == 3 and all(p == cache / fonts._STATIC_NAME for p in got)
