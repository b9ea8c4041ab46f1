"""The committed lock is the environment: ``uv.lock`` agrees with ``pyproject.toml`` and the files derived
from it (``environment.yml``, ``scripts/uv-bootstrap.txt``) equal what ``scripts/lockfiles.py`` generates.

``uv lock --check`` needs the package cache or the registry. When neither can decide, the test skips on a
developer machine but fails under ``CI=true``: CI must never pass without checking the lock."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.locked_env import ROOT, lockfiles


def _undecided(detail: str) -> None:
    msg = f"uv lock --check could not decide (no uv, or registry and cache unavailable): {detail[-800:]}"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(msg)
    pytest.skip(msg)


def _copy_lock_project(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "uv.lock", "environment.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "uv-bootstrap.txt", tmp_path / "scripts" / "uv-bootstrap.txt")
    return tmp_path


def test_uv_lock_agrees_with_pyproject() -> None:
    result = lockfiles().lock_check(ROOT)
    if result.agrees is None:
        _undecided(result.detail)
    assert result.agrees, f"uv.lock disagrees with pyproject.toml; run bash scripts/lock.sh\n{result.detail}"


def test_lock_check_sees_a_dependency_added_to_pyproject(tmp_path: Path) -> None:
    root = _copy_lock_project(tmp_path)
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    edited = text.replace('"pandas>=2.2",', '"pandas>=2.2",\n    "tomli-w>=1",', 1)
    assert edited != text
    (root / "pyproject.toml").write_text(edited, encoding="utf-8")
    result = lockfiles().lock_check(root)
    if result.agrees is None:
        _undecided(result.detail)
    assert result.agrees is False
    assert "needs to be updated" in result.detail


def test_environment_yml_and_uv_bootstrap_equal_what_the_lock_gives() -> None:
    stale = lockfiles().stale_files(ROOT)
    assert stale == [], f"{[str(p) for p in stale]} differ from uv.lock; run bash scripts/lock.sh"


def test_a_hand_edited_environment_yml_is_reported(tmp_path: Path) -> None:
    root = _copy_lock_project(tmp_path)
    env = root / "environment.yml"
    env.write_text(env.read_text(encoding="utf-8").replace("numpy==", "numpy>=", 1), encoding="utf-8")
    assert [str(p) for p in lockfiles().stale_files(root)] == ["environment.yml"]


def test_locked_versions_read_from_the_lock() -> None:
    versions = lockfiles().locked_versions(ROOT)
    assert {"numpy", "statsmodels", "pyarrow", "uv"} <= versions.keys()
    assert "orgecology" not in versions  # the project itself is editable, not a registry package
