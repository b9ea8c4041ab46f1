"""docs/terms.md is generated from the term and function registries and documents every one of them."""

from __future__ import annotations

from pathlib import Path

from analysis.formula import BUILTINS, FUNCTIONS
from analysis.formula.docs import render_terms_md

DOC = Path(__file__).resolve().parents[2] / "docs" / "terms.md"


def test_terms_md_matches_the_registries() -> None:
    assert DOC.read_text(encoding="utf-8") == render_terms_md(), (
        "docs/terms.md is stale: run .venv/bin/python -m analysis.formula.docs > docs/terms.md"
    )


def test_every_term_and_function_has_a_row_with_its_r_equivalent() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, b in BUILTINS.items():
        assert f"| `{name}` |" in text and f"`{b.r}`" in text
    for name, fn in FUNCTIONS.items():
        assert f"| `{name}` |" in text and f"`{fn.r}`" in text
