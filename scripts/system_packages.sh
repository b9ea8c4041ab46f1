#!/usr/bin/env bash
# Debian packages some tests need beyond the Python lock: Chromium (the HTML report is loaded in headless
# Chromium, tests/unit/test_html_report.py) and pdflatex with booktabs (every LaTeX table is compiled,
# tests/unit/test_latex_compile.py). Installs only what is missing; .ci/run calls it under CI=true, where
# those tests fail rather than skip without them.
set -euo pipefail
want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v pdflatex >/dev/null 2>&1 || want+=(texlive-latex-base)
kpsewhich booktabs.sty >/dev/null 2>&1 || want+=(texlive-latex-recommended)
[[ ${#want[@]} -eq 0 ]] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing system packages (${want[*]}) and no apt-get to install them" >&2
  exit 1
fi
sudo=()
[[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
echo "==> installing Debian packages: ${want[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
