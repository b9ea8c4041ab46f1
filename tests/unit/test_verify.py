"""verify: passes on identical results, fails on tampered, missing or extra ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from analysis.results import ModelResult, Term, write_result
from analysis.verify import format_table, unverified_datasets, verify_tree

ROOT = Path(__file__).resolve().parents[2]


def _write(root: Path, coef: float = 0.5) -> None:
    res = ModelResult(
        dataset="d",
        stage="fit_founding",
        model="nb",
        family="negative_binomial",
        method="ML",
        kind="founding_count",
        terms=[Term.from_estimate("density", coef, 0.1)],
        fit={"converged": True, "reason": None, "loglik": -10.0},
        tests=[{"name": "LR", "statistic": 3.0, "df": 1, "p": 0.08}],
    )
    write_result(root / "d" / "founding" / "nb.json", res)


def test_identical_results_pass(tmp_path):
    _write(tmp_path / "ref")
    _write(tmp_path / "new")
    checks = verify_tree(tmp_path / "ref", tmp_path / "new")
    assert checks and all(c.ok for c in checks)
    assert format_table(checks).splitlines()[-1].endswith("0 failed")


def test_tampered_missing_and_extra_results_fail(tmp_path):
    _write(tmp_path / "ref")
    _write(tmp_path / "new", coef=0.50001)
    bad = [c for c in verify_tree(tmp_path / "ref", tmp_path / "new") if not c.ok]
    assert [c.item for c in bad] == ["density.coef"]
    (tmp_path / "new" / "d" / "founding" / "nb.json").rename(
        tmp_path / "new" / "d" / "founding" / "other.json"
    )
    items = {c.item for c in verify_tree(tmp_path / "ref", tmp_path / "new") if not c.ok}
    assert items == {"result file missing", "no reference for this result"}


def test_cli_exit_codes(tmp_path):
    _write(tmp_path / "ref")
    _write(tmp_path / "new")
    cmd = [
        sys.executable,
        "-m",
        "pipeline",
        "--params",
        str(ROOT / "params.yaml"),
        "verify",
        "--reference",
        str(tmp_path / "ref"),
        "--results",
        str(tmp_path / "new"),
    ]
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    path = tmp_path / "new" / "d" / "founding" / "nb.json"
    obj = json.loads(path.read_text())
    obj["terms"][0]["se"] = 0.2
    path.write_text(json.dumps(obj))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1 and "FAIL" in proc.stdout and "density.se" in proc.stdout


def test_a_dataset_without_reference_results_is_listed_not_failed(tmp_path):
    _write(tmp_path / "ref")
    _write(tmp_path / "new")
    _write(tmp_path / "other")
    (tmp_path / "other" / "d").rename(tmp_path / "new" / "my_ngos")  # a user's dataset, never referenced
    checks = verify_tree(tmp_path / "ref", tmp_path / "new")
    assert checks and all(c.ok for c in checks) and {c.dataset for c in checks} == {"d"}
    assert unverified_datasets(tmp_path / "ref", tmp_path / "new") == ["my_ngos"]
    assert unverified_datasets(tmp_path / "ref", tmp_path / "new", ["d", "not_run_yet"]) == [
        "my_ngos",
        "not_run_yet",
    ]
    assert unverified_datasets(tmp_path / "ref", tmp_path / "new", datasets=["d"]) == []
    cmd = [sys.executable, "-m", "pipeline", "--params", str(ROOT / "params.yaml"), "verify"]
    cmd += ["--reference", str(tmp_path / "ref"), "--results", str(tmp_path / "new")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not verified: dataset my_ngos has no reference results" in proc.stdout
    # a referenced dataset whose results are missing still fails
    (tmp_path / "new" / "d" / "founding" / "nb.json").unlink()
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 1
