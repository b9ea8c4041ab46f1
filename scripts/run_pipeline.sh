#!/usr/bin/env bash
# Set up .venv and run the whole pipeline (every dataset in params.yaml, the bundled default first) with
# Snakemake, producing the tables, figures and PDF reports under reports/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
CORES="${CORES:-2}"
snakemake --cores "$CORES" "$@"
echo "==> done: reports in reports/out/<dataset>/ (e.g. reports/out/default/report.pdf)"
