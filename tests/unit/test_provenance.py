"""The report's provenance stamp: the last commit touching the report's inputs, ``+dirty`` only when one of
those inputs is modified."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.core.params import load_params
from pipeline.stages.render_report import git_commit, report_inputs


def _git(root: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(root),
    }
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    (tmp_path / "README.md").write_text("readme\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "inputs")
    return tmp_path


def test_stamp_is_the_last_commit_touching_the_inputs(repo: Path) -> None:
    first = _git(repo, "rev-parse", "HEAD").strip()
    (repo / "README.md").write_text("edited\n")
    _git(repo, "commit", "-qam", "docs only")
    assert _git(repo, "rev-parse", "HEAD").strip() != first
    assert git_commit(repo, ["params.yaml"]) == first
    (repo / "README.md").write_text("edited again, not committed\n")
    assert git_commit(repo, ["params.yaml"]) == first  # a modified non-input is not "+dirty"
    (repo / "params.yaml").write_text("seed: 2\n")
    assert git_commit(repo, ["params.yaml"]) == first + "+dirty"
    _git(repo, "commit", "-qam", "params")
    assert git_commit(repo, ["params.yaml"]) == _git(repo, "rev-parse", "HEAD").strip()


def test_stamp_outside_git_is_unknown(tmp_path: Path) -> None:
    assert git_commit(tmp_path, ["params.yaml"]) == "unknown"


def test_report_inputs_cover_params_raw_files_truth_and_stage_code() -> None:
    params = load_params("params.yaml")
    ds = params["datasets"]["default"]
    inputs = report_inputs("default", ds)
    assert "params.yaml" in inputs and "data/raw/default" in inputs
    assert str(ds["truth"]) in inputs
    assert {"analysis/count_models.py", "pipeline/stages/render_report.py", "reports/report.py"} <= set(
        inputs
    )
    assert "README.md" not in inputs and "dvc.lock" not in inputs
    assert all(Path(p).exists() for p in inputs), [p for p in inputs if not Path(p).exists()]
