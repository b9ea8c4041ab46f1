#!/usr/bin/env bash
# Create .venv at the repository root and install exactly the committed lock (uv.lock) into it.
#   1. .venv is created with the first Python 3.11-3.13 found (or $PYTHON);
#   2. uv is bootstrapped into .venv by pip from scripts/uv-bootstrap.txt (version and hashes from uv.lock);
#   3. `uv sync --frozen` installs every locked package (the pipeline, test and tool groups) and removes
#      anything else from .venv. Nothing is resolved at install time; a newer release on the registry
#      changes nothing. A second call takes a fraction of a second: it only checks that .venv still equals the lock.
# `--no-sync` stops after step 2 (used by scripts/lock.sh). ORGECOLOGY_NO_SETUP=1 skips all of it and uses
# the environment on PATH (conda users; the fresh-clone test, which reuses the repository's locked .venv);
# so does a .venv that is a symbolic link (a worktree sharing another checkout's environment).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${ORGECOLOGY_NO_SETUP:-0}" == 1 ]]; then
  # e.g. a conda environment made from environment.yml, or a test reusing the locked .venv of another clone
  echo "==> ORGECOLOGY_NO_SETUP=1: using the Python environment on PATH as it is" >&2
  exit 0
fi
if [[ -L .venv ]]; then
  # a git worktree or clone sharing another checkout's .venv: syncing from here would re-point that
  # checkout's editable install of the project at this folder, so the environment is used as it is
  echo "==> .venv links to $(readlink -f .venv): using it as it is (run setup.sh in that checkout to sync it)" >&2
  exit 0
fi

PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null; then
      PYTHON="$cand"; break
    fi
  done
fi
if [[ -z "$PYTHON" ]] || ! "$PYTHON" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else 1)'; then
  echo "error: Python 3.11, 3.12 or 3.13 is required (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi

if [[ -x .venv/bin/python ]] && ! .venv/bin/python -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null; then
  echo "error: .venv uses an unsupported Python; remove it (rm -rf .venv) and run again" >&2
  exit 2
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi

want_uv="$(sed -n 's/^uv==\([0-9.]*\).*/\1/p' scripts/uv-bootstrap.txt)"
if [[ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$want_uv" ]]; then
  echo "==> bootstrapping uv $want_uv into .venv (hash-checked)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
    -r scripts/uv-bootstrap.txt
fi
[[ "${1:-}" == "--no-sync" ]] && exit 0

export UV_PROJECT_ENVIRONMENT="$PWD/.venv" UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
# --compile-bytecode: every package byte-compiled once at install, so no stage recompiles pandas, scipy,
# matplotlib ... from source at start-up (seconds of CPU per job when PYTHONDONTWRITEBYTECODE is set, as in CI)
.venv/bin/uv sync --frozen --all-groups --compile-bytecode --python .venv/bin/python --quiet
