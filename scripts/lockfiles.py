"""Files derived from ``uv.lock`` (the one lock of the environment), written or checked.

* ``environment.yml``: the same exact versions for conda users (pip section, markers kept).
* ``scripts/uv-bootstrap.txt``: the hash-pinned uv that ``scripts/setup.sh`` installs with pip before
  ``uv sync --frozen`` installs everything else from the lock.

``python scripts/lockfiles.py write`` regenerates both (``scripts/lock.sh`` calls it after ``uv lock``);
``python scripts/lockfiles.py check`` exits 1 when a committed file differs from what the lock gives (the
test suite runs it, so CI fails on drift).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_YML = ROOT / "environment.yml"
BOOTSTRAP = ROOT / "scripts" / "uv-bootstrap.txt"


def _uv() -> str:
    local = ROOT / ".venv" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("error: uv not found (run bash scripts/setup.sh first)")
    return found


def _export(*args: str) -> list[str]:
    out = subprocess.run(
        [_uv(), "export", "--frozen", "--no-header", "--no-emit-project", "--no-annotate", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in out.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def environment_yml() -> str:
    """A conda environment with exactly the locked packages (installed by pip inside conda)."""
    pins = _export("--all-groups", "--no-hashes")
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


def bootstrap_txt() -> str:
    """uv pinned by version and every wheel hash of the lock (pip --require-hashes)."""
    body = _export("--only-group", "tools")
    head = [
        "# GENERATED from uv.lock by `python scripts/lockfiles.py write`; do not edit.",
        "# scripts/setup.sh: pip install --require-hashes -r scripts/uv-bootstrap.txt, then uv sync --frozen.",
    ]
    return "\n".join(head + body) + "\n"


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "check"
    wanted = {ENV_YML: environment_yml(), BOOTSTRAP: bootstrap_txt()}
    if mode == "write":
        for path, text in wanted.items():
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    if mode != "check":
        raise SystemExit("usage: python scripts/lockfiles.py [write|check]")
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    for path in stale:
        print(
            f"error: {path.relative_to(ROOT)} differs from uv.lock; run bash scripts/lock.sh", file=sys.stderr
        )
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
