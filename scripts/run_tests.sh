#!/usr/bin/env bash
# Set up .venv and run the whole test suite (unit, reference, recovery, slow and end-to-end tests).
# Fails when a test fails and when no test ran (pytest exit code 5).
# The suite runs on every available core with pytest-xdist (`--dist loadfile`: the tests of one file share a
# worker, so a module's expensive fixture, e.g. a full pipeline run, is built once). TEST_WORKERS=1 runs it
# in one process; extra arguments go to pytest (an explicit -n wins).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit $?
export PATH="$PWD/.venv/bin:$PATH"
workers="${TEST_WORKERS:-$(python -c 'import os; print(len(os.sched_getaffinity(0)))')}"
xdist=()
if [[ "$workers" -gt 1 && " $* " != *" -n "* && " $* " != *" -n"[0-9a]* ]]; then
  xdist=(-n "$workers" --dist loadfile)
fi
python -m pytest "${xdist[@]}" "$@"
status=$?
if [[ $status -eq 5 ]]; then
  echo "error: no tests were collected or run" >&2
  exit 1
fi
exit $status
