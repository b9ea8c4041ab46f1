"""The report fixtures written by the real fitters are what the fitters write today.

Reruns ``tests/fixtures/results_example/regenerate.py`` (the pipeline's stage commands on the bundled data,
in a temporary workspace) and compares every file it writes with the committed fixture, byte for byte
(results are bit-reproducible under the project's kernel pinning). A key renamed or a number changed in a
fitter fails here until the fixtures are regenerated (and the report tests then read the new shape)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "results_example"


def _script():
    spec = importlib.util.spec_from_file_location("regenerate_fixtures", FIXTURES / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_copied_model_is_listed_once_and_has_a_target() -> None:
    script = _script()
    for (dataset, _area), models in script.COPIES.items():
        assert dataset in script.RUNS and dataset in script.TARGET
        assert len(set(models)) == len(models)


def test_the_script_is_the_only_producer_of_the_fixture_folder() -> None:
    """Every committed fixture file (but the script and its README) is one that regenerate.py writes, and
    every file it writes is committed: nothing in the folder is hand-built or left over."""
    script = _script()
    committed = {
        p.relative_to(FIXTURES)
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.name not in {"README.md", "regenerate.py"} and "__pycache__" not in p.parts
    }
    expected = {p.relative_to(FIXTURES) for p in script.expected_files(FIXTURES)}
    assert committed == expected, (sorted(committed - expected), sorted(expected - committed))


@pytest.mark.slow
def test_regenerating_the_fixtures_reproduces_the_committed_files(tmp_path: Path) -> None:
    script = _script()
    written = script.regenerate(tmp_path)
    assert sorted(written) == sorted(script.expected_files(tmp_path))
    drift = []
    for path in written:
        rel = path.relative_to(tmp_path)
        committed = FIXTURES / rel
        if not committed.is_file():
            drift.append(f"{rel}: not committed")
        elif committed.read_bytes() != path.read_bytes():
            drift.append(f"{rel}: differs")
    assert not drift, (
        "the fitters no longer write the committed fixtures; regenerate with "
        "`.venv/bin/python tests/fixtures/results_example/regenerate.py` and review the diff:\n"
        + "\n".join(drift)
    )
