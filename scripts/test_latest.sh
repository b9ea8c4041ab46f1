#!/usr/bin/env bash
# Run the test suite against the NEWEST versions pyproject.toml allows, not the committed lock, so that
# drift (a new numpy, statsmodels, pyarrow ...) is seen before users see it. Not part of CI; run it now and
# then (e.g. before refreshing the lock with `bash scripts/lock.sh --upgrade`).
#   bash scripts/test_latest.sh                       # the whole suite
#   bash scripts/test_latest.sh tests/unit -x -q      # extra arguments go to pytest
# The working tree (tracked and untracked, not ignored files) is copied to a temporary folder, resolved there
# with `uv lock --upgrade` into a temporary venv, and the suite runs in that copy against the COMMITTED
# uv.lock (put back after installing), so the lock-drift tests still check the committed files and the
# byte-equality tests of generated files (valid only in the locked environment) know to step aside.
# Nothing in the repository or in .venv is changed. KEEP=1 keeps the temporary folder.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-sync || exit $?
repo="$PWD"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/orgecology-latest.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$tmp"' EXIT; else echo "==> keeping $tmp"; fi

echo "==> copying the working tree to $tmp/repo"
mkdir -p "$tmp/repo"
git ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 cp --parents -t "$tmp/repo" 2>/dev/null)
cd "$tmp/repo" || exit 1
export UV_PROJECT_ENVIRONMENT="$tmp/venv" UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
uv="$repo/.venv/bin/uv"
python="$(readlink -f "$repo/.venv/bin/python")"

echo "==> resolving the newest allowed versions"
"$uv" lock --upgrade --quiet || exit $?
"$uv" venv --quiet --python "$python" "$tmp/venv" || exit $?
"$uv" sync --frozen --all-groups --quiet --python "$tmp/venv/bin/python" || exit $?
echo "==> packages newer (or older) than the committed uv.lock:"
"$tmp/venv/bin/python" - "$repo/uv.lock" uv.lock <<'PY'
import sys, tomllib
old, new = ({p["name"]: p.get("version") for p in tomllib.load(open(f, "rb"))["package"]} for f in sys.argv[1:])
changed = [f"    {n}: {old.get(n)} -> {new.get(n)}" for n in sorted(old.keys() | new.keys()) if old.get(n) != new.get(n)]
print("\n".join(changed) if changed else "    none: the lock is already at the newest allowed versions")
PY
cp "$repo/uv.lock" uv.lock

export PATH="$tmp/venv/bin:$PATH"
python -m pytest -p no:cacheprovider "$@"
status=$?
[[ $status -eq 5 ]] && { echo "error: no tests were collected or run" >&2; exit 1; }
exit $status
