"""A user who follows the README's "Adding your own dataset" keeps the suite green: the run script
regenerates dvc.yaml from params.yaml (``python -m pipeline dvc-yaml --write``), so the drift test of
tests/unit/test_graph.py holds for the user's params too; ``verify`` lists the new dataset as having no
reference results instead of failing (tests/unit/test_verify.py)."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.core.params import load_params
from pipeline.stages.graph import dvc_yaml_text

ROOT = Path(__file__).resolve().parents[2]


def _user_project(tmp_path: Path) -> Path:
    """params.yaml and dvc.yaml of the repository plus a dataset ``my_ngos`` added as the README says."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    mine = copy.deepcopy(raw["datasets"]["default"])
    mine.pop("truth", None)
    mine["description"] = "my NGOs"
    for kind in ("organizations", "panel", "environment"):
        name = Path(mine[kind]["path"]).name
        mine[kind]["path"] = f"data/raw/my_ngos/{name}"
        (tmp_path / "data" / "raw" / "my_ngos").mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "data" / "raw" / "default" / name, tmp_path / "data" / "raw" / "my_ngos" / name)
    raw["datasets"]["my_ngos"] = mine
    for name in raw["datasets"]:
        if name != "my_ngos":
            shutil.copytree(ROOT / "data" / "raw" / name, tmp_path / "data" / "raw" / name)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), "utf-8")
    shutil.copy2(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    return tmp_path


def _dvc_yaml_write(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--params", "params.yaml", "dvc-yaml", "--write"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def test_run_script_step_regenerates_dvc_yaml_for_a_user_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _user_project(tmp_path)
    monkeypatch.chdir(root)
    params = load_params("params.yaml")
    assert (root / "dvc.yaml").read_text(encoding="utf-8") != dvc_yaml_text(params)  # stale: test_graph fails
    first = _dvc_yaml_write(root)
    assert "dvc.yaml regenerated" in first.stderr
    text = (root / "dvc.yaml").read_text(encoding="utf-8")
    assert text == dvc_yaml_text(params)  # what test_graph checks
    stages = yaml.safe_load(text)["stages"]
    assert "my_ngos" in stages["fit_founding"]["foreach"] and "default" in stages["fit_founding"]["foreach"]
    second = _dvc_yaml_write(root)
    assert second.stderr == "" and (root / "dvc.yaml").read_text(encoding="utf-8") == text


def test_run_script_calls_the_regeneration_before_snakemake() -> None:
    script = (ROOT / "scripts" / "run_pipeline.sh").read_text(encoding="utf-8")
    assert script.index("python -m pipeline dvc-yaml --write") < script.index("snakemake --cores")


def test_bundled_params_leave_the_committed_dvc_yaml_untouched(tmp_path: Path) -> None:
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "data" / "raw", tmp_path / "data" / "raw")
    before = (tmp_path / "dvc.yaml").read_bytes()
    assert _dvc_yaml_write(tmp_path).stderr == ""
    assert (tmp_path / "dvc.yaml").read_bytes() == before
