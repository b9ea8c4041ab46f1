#!/usr/bin/env bash
# Set up .venv and run the whole test suite (unit, reference, recovery, slow and end-to-end tests).
# Fails when a test fails and when no test ran (pytest exit code 5).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit $?
export PATH="$PWD/.venv/bin:$PATH"
python -m pytest "$@"
status=$?
if [[ $status -eq 5 ]]; then
  echo "error: no tests were collected or run" >&2
  exit 1
fi
exit $status
