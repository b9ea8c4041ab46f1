"""Every LaTeX table compiles in a minimal booktabs document, fits the text width and prints ``p < 0.05``.

Needs ``pdflatex`` with booktabs (Debian: texlive-latex-base + texlive-latex-recommended; ``.ci/run``
installs them). Without it the test is skipped on a developer's machine and fails under ``CI=true``.
Chinese characters (any a table carries, e.g. the district names of a dataset that spells them in
Chinese) are set as 1 em boxes here, since pdflatex has no CJK font; the including document of a real
paper uses XeLaTeX with ``xeCJK``/``ctex``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

from reports.assemble import report_tables
from reports.collect import load_report_inputs
from reports.render import to_latex

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results_example"
PDFLATEX = shutil.which("pdflatex")

if PDFLATEX is None and os.environ.get("CI") == "true":
    pytest.fail("pdflatex is required under CI=true (.ci/run installs texlive)", pytrace=False)
pytestmark = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed")

PREAMBLE = r"""\documentclass[a4paper]{article}
\usepackage{booktabs,graphicx,tabularx}
"""


def _document(tables: dict[str, str]) -> str:
    body = "\n".join(rf"\section*{{{stem.replace('_', ' ')}}}" + "\n" + tex for stem, tex in tables.items())
    cjk = sorted({ch for tex in tables.values() for ch in tex if ord(ch) >= 0x2E80})
    declare = "".join(
        rf"\DeclareUnicodeCharacter{{{ord(c):04X}}}{{\rule{{1em}}{{0.8em}}}}" + "\n" for c in cjk
    )
    return PREAMBLE + declare + "\\begin{document}\n" + body + "\n\\end{document}\n"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[str, str, dict[str, str]]:
    tables = report_tables(
        load_report_inputs(
            FIX / "results" / "default", FIX / "processed" / "default", FIX / "interim" / "default" / "clean"
        )
    )
    texs = {stem: to_latex(t) for stem, t in tables.items()}
    root = tmp_path_factory.mktemp("tex")
    (root / "tables.tex").write_text(_document(texs), encoding="utf-8")
    run = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = (root / "tables.log").read_text(encoding="utf-8", errors="replace")
    assert run.returncode == 0, log[-3000:]
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(root / "tables.pdf").pages)
    return log, text, texs


def test_every_table_compiles_without_missing_characters(compiled):
    log, _, texs = compiled
    assert "cleaning_log" in texs and "founding_nb" in texs  # the fixture has the wide and the usual kind
    assert "Missing character" not in log
    assert "Undefined control sequence" not in log


def test_no_table_is_wider_than_the_text(compiled):
    log, _, _ = compiled
    overfull = [line for line in log.splitlines() if line.startswith("Overfull \\hbox")]
    assert overfull == []


def test_notes_print_less_than_not_inverted_exclamation(compiled):
    _, text, _ = compiled
    assert "p < 0.05" in " ".join(text.split())
    assert "\u00a1" not in text and "\u00bf" not in text
