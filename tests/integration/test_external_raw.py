"""Raw files outside ``data/raw/<d>/`` (``datasets.<d>.raw_root``): both runners read them and notice when
they change, exactly as for the bundled folder — on a temporary copy of the repository whose default
dataset's files are moved to a folder outside it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.test_runners import _copy, _run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Path]:
    """A repository copy (default dataset only) whose raw files live in a folder outside it."""
    tmp = tmp_path_factory.mktemp("external_raw")
    dst = _copy(tmp, "repo")
    outside = tmp / "registry extract"  # a space in the path, as on shared drives
    shutil.move(dst / "data/raw/default", outside)
    params = yaml.safe_load((dst / "params.yaml").read_text(encoding="utf-8"))
    params["datasets"] = {"default": params["datasets"]["default"]}
    params["render_report"]["titles"] = {}
    ds = params["datasets"]["default"]
    ds["raw_root"] = str(outside)
    for kind in ("organizations", "panel", "environment"):
        ds[kind]["path"] = str(outside / Path(ds[kind]["path"]).name)
    ds["truth"] = str(outside / "truth.json")
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True), "utf-8")
    (dst / "dvc.yaml").write_text(_run([sys.executable, "-m", "pipeline", "dvc-yaml"], dst).stdout, "utf-8")
    return dst, outside


def test_dvc_hashes_the_declared_folder_and_sees_a_change(project):
    dst, outside = project
    stage = yaml.safe_load((dst / "dvc.yaml").read_text(encoding="utf-8"))["stages"]["validate_inputs"]
    assert stage["foreach"] == {"default": {"raw": str(outside)}}
    _run([sys.executable, "-m", "dvc", "repro", "validate_inputs@default"], dst)
    assert (dst / "data/interim/default/validated/organizations.parquet").is_file()
    lock = yaml.safe_load((dst / "dvc.lock").read_text(encoding="utf-8"))
    deps = {d["path"] for d in lock["stages"]["validate_inputs@default"]["deps"]}
    assert str(outside) in deps
    assert (
        "up to date" in _run([sys.executable, "-m", "dvc", "status", "validate_inputs@default"], dst).stdout
    )
    env = outside / "environment.csv"
    original = env.read_bytes()
    try:
        env.write_bytes(original + b"\n")  # same table, new bytes
        status = _run([sys.executable, "-m", "dvc", "status", "validate_inputs@default"], dst).stdout
        assert "validate_inputs@default" in status and "modified" in status and str(outside) in status
    finally:
        env.write_bytes(original)


def test_snakemake_reads_the_files_and_reruns_when_one_changes(project):
    dst, outside = project
    target = "data/interim/default/validated"
    _run([sys.executable, "-m", "snakemake", "--cores", "1", "--forceall", target], dst)
    assert (
        "Nothing to be done"
        in _run([sys.executable, "-m", "snakemake", "--cores", "1", "-n", target], dst).stdout
        + _run([sys.executable, "-m", "snakemake", "--cores", "1", "-n", target], dst).stderr
    )
    env = outside / "environment.csv"
    original = env.read_bytes()
    try:
        env.write_bytes(original + b"\n")
        plan = _run([sys.executable, "-m", "snakemake", "--cores", "1", "-n", target], dst)
        assert "validate_inputs" in plan.stdout + plan.stderr
    finally:
        env.write_bytes(original)


def test_a_file_outside_the_declared_folder_is_refused_before_anything_runs(project, tmp_path):
    dst, outside = project
    text = (dst / "params.yaml").read_text(encoding="utf-8")
    stray = tmp_path / "elsewhere.csv"
    shutil.copy(outside / "environment.csv", stray)
    bad = dst.parent / "bad"
    shutil.copytree(dst, bad, ignore=shutil.ignore_patterns("data", "logs", ".dvc", ".snakemake"))
    (bad / "params.yaml").write_text(text.replace(str(outside / "environment.csv"), str(stray)), "utf-8")
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "validate_inputs", "--dataset", "default"],
        cwd=bad,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "outside datasets.default.raw_root" in proc.stderr and str(stray) in proc.stderr
    assert not (bad / "data/interim").exists()
