#!/usr/bin/env bash
# Set up .venv and run the whole pipeline (every dataset in params.yaml, the bundled default first) with
# Snakemake, producing the tables, figures and PDF reports under reports/out/.
#   CORES=4 bash scripts/run_pipeline.sh          # more parallel jobs (default 2)
#   bash scripts/run_pipeline.sh results/default  # extra arguments go to Snakemake (targets, --forcerun ...)
#   VERBOSE=1 bash scripts/run_pipeline.sh        # Snakemake's own job-by-job output as well
# The console shows one line per stage and dataset (and the warnings); everything else is in
# logs/<stage>/<dataset>.log. dvc.yaml is regenerated from params.yaml first, so datasets you add to
# params.yaml run under `dvc repro` too and the drift test (tests/unit/test_graph.py) stays green.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
CORES="${CORES:-2}"

# dvc.yaml follows params.yaml (no change for the bundled datasets; commit it with params.yaml otherwise)
python -m pipeline dvc-yaml --write

if [[ "${VERBOSE:-0}" == 1 ]]; then
  snakemake --cores "$CORES" "$@"
  exit $?
fi

# count the jobs to run, for the [k/n] on each stage's line
plan="$(snakemake --cores "$CORES" --dry-run "$@" 2>&1)" || {
  echo "$plan" >&2
  exit 1
}
total="$(awk '/^Job stats:/{on=1; next} on && /^total /{exit} on && NF==2 && $2 ~ /^[0-9]+$/ && $1 != "all" {n += $2} END {print n+0}' <<<"$plan")"
if [[ "$total" -eq 0 ]]; then
  echo "==> nothing to do: every output is up to date with its inputs, code and params"
  exit 0
fi
mkdir -p logs
: > logs/.jobs_done
export ORGECOLOGY_JOBS_TOTAL="$total" ORGECOLOGY_JOBS_DONE="$PWD/logs/.jobs_done"
echo "==> running $total jobs on $CORES cores (details: logs/<stage>/<dataset>.log)"
start=$SECONDS
if ! snakemake --cores "$CORES" --quiet=all "$@"; then
  echo "error: the pipeline stopped: the failing stage's message is above; full logs in logs/<stage>/<dataset>.log and .snakemake/log/ (VERBOSE=1 shows Snakemake's own output)" >&2
  exit 1
fi
echo "==> done in $((SECONDS - start)) s: reports in reports/out/<dataset>/ (e.g. reports/out/default/report.pdf)"
python -m pipeline summary
