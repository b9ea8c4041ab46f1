"""Files derived from ``uv.lock`` (the one lock of the environment), written or checked.

* ``environment.yml``: the same exact versions for conda users (pip section, markers kept).
* ``scripts/uv-bootstrap.txt``: the hash-pinned uv that ``scripts/setup.sh`` installs with pip before
  ``uv sync --frozen`` installs everything else from the lock.

``python scripts/lockfiles.py write`` regenerates both (``scripts/lock.sh`` calls it after ``uv lock``);
``python scripts/lockfiles.py check`` exits 1 when a committed file differs from what the lock gives;
``python scripts/lockfiles.py lock-check`` exits 1 when ``pyproject.toml`` and ``uv.lock`` disagree
(``uv lock --check``: offline first, then against the registry) and 3 when that cannot be decided
(no uv, registry unreachable). The test suite runs both (``tests/unit/test_lock.py``), so CI fails on drift.
``installed_mismatches()`` lists installed packages whose version differs from the lock (the locked
environment is the one that byte-equality tests of generated files are made for).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_YML = Path("environment.yml")
BOOTSTRAP = Path("scripts") / "uv-bootstrap.txt"
CANNOT_DECIDE = 3


def _uv(root: Path = ROOT) -> str:
    for cand in (root / ".venv" / "bin" / "uv", ROOT / ".venv" / "bin" / "uv"):
        if cand.exists():
            return str(cand)
    found = shutil.which("uv")
    if not found:
        raise SystemExit("error: uv not found (run bash scripts/setup.sh first)")
    return found


def _export(root: Path, *args: str) -> list[str]:
    out = subprocess.run(
        [_uv(root), "export", "--frozen", "--no-header", "--no-emit-project", "--no-annotate", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in out.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def environment_yml(root: Path = ROOT) -> str:
    """A conda environment with exactly the locked packages (installed by pip inside conda)."""
    pins = _export(root, "--all-groups", "--no-hashes")
    lines = [
        "# GENERATED from uv.lock by `python scripts/lockfiles.py write` (scripts/lock.sh); do not edit.",
        "# The same exact versions as `bash scripts/setup.sh` installs into .venv:",
        "#   conda env create -f environment.yml && conda activate orgecology && pip install --no-deps -e .",
        "name: orgecology",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python>=3.11,<3.14",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {pin}" for pin in pins]
    return "\n".join(lines) + "\n"


def bootstrap_txt(root: Path = ROOT) -> str:
    """uv pinned by version and every wheel hash of the lock (pip --require-hashes)."""
    body = _export(root, "--only-group", "tools")
    head = [
        "# GENERATED from uv.lock by `python scripts/lockfiles.py write`; do not edit.",
        "# scripts/setup.sh: pip install --require-hashes -r scripts/uv-bootstrap.txt, then uv sync --frozen.",
    ]
    return "\n".join(head + body) + "\n"


def stale_files(root: Path = ROOT) -> list[Path]:
    """Derived files (relative to ``root``) whose committed text differs from what ``uv.lock`` gives."""
    wanted = {ENV_YML: environment_yml(root), BOOTSTRAP: bootstrap_txt(root)}
    stale = []
    for rel, text in wanted.items():
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(rel)
    return stale


@dataclass(frozen=True)
class LockCheck:
    """Outcome of ``uv lock --check``: ``agrees`` is None when it could not be decided."""

    agrees: bool | None
    detail: str


def lock_check(root: Path = ROOT, timeout: float = 180.0) -> LockCheck:
    """Does ``uv.lock`` satisfy ``pyproject.toml``? Offline (cache only) first, then with the registry."""
    try:
        uv = _uv(root)
    except SystemExit as exc:
        return LockCheck(None, str(exc))
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    detail = ""
    for extra in (["--offline"], []):
        try:
            proc = subprocess.run(
                [uv, "lock", "--check", *extra],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return LockCheck(None, f"uv lock --check timed out after {timeout:.0f} s")
        if proc.returncode == 0:
            return LockCheck(True, "uv.lock agrees with pyproject.toml")
        detail = (proc.stderr or proc.stdout).strip()
        if "needs to be updated" in detail:
            return LockCheck(False, detail)
    return LockCheck(None, detail)


def locked_versions(root: Path = ROOT) -> dict[str, str]:
    """Package name (normalized) -> version, for every registry package in ``uv.lock``."""
    with open(root / "uv.lock", "rb") as fh:
        lock = tomllib.load(fh)
    return {
        _norm(pkg["name"]): pkg["version"]
        for pkg in lock.get("package", [])
        if "registry" in pkg.get("source", {}) and "version" in pkg
    }


def installed_mismatches(root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """Installed packages whose version differs from the lock: name -> (installed, locked)."""
    locked = locked_versions(root)
    out = {}
    for dist in importlib.metadata.distributions():
        name = _norm(dist.metadata["Name"] or "")
        if name in locked and dist.version != locked[name]:
            out[name] = (dist.version, locked[name])
    return dict(sorted(out.items()))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "check"
    if mode == "write":
        wanted = {ENV_YML: environment_yml(), BOOTSTRAP: bootstrap_txt()}
        for rel, text in wanted.items():
            (ROOT / rel).write_text(text, encoding="utf-8")
            print(f"wrote {rel}")
        return 0
    if mode == "check":
        stale = stale_files()
        for rel in stale:
            print(f"error: {rel} differs from uv.lock; run bash scripts/lock.sh", file=sys.stderr)
        return 1 if stale else 0
    if mode == "lock-check":
        result = lock_check()
        print(result.detail, file=sys.stderr if result.agrees is not True else sys.stdout)
        return {True: 0, False: 1, None: CANNOT_DECIDE}[result.agrees]
    raise SystemExit("usage: python scripts/lockfiles.py [write|check|lock-check]")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
