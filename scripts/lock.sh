#!/usr/bin/env bash
# Refresh the one lock of the environment (uv.lock) from pyproject.toml and regenerate the files derived
# from it (environment.yml, scripts/uv-bootstrap.txt). Commit all three together.
#   bash scripts/lock.sh              # re-resolve after editing pyproject.toml (keeps versions where allowed)
#   bash scripts/lock.sh --upgrade    # move every package to the newest allowed version
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-sync
UV_PYTHON_DOWNLOADS=never .venv/bin/uv lock "$@"
.venv/bin/python scripts/lockfiles.py write
echo "==> lock refreshed; run bash scripts/run_tests.sh, then commit uv.lock environment.yml scripts/uv-bootstrap.txt"
