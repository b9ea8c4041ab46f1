"""Writing a table to files, one per format (LaTeX, standalone HTML, Markdown, CSV, Word): the only place
that knows every renderer, so the renderers (``reports.render``, ``reports.word``) stay independent."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.core.io import write_csv, write_text
from reports.render import to_csv_frame, to_html_page, to_latex, to_markdown, to_typst
from reports.table_model import FORMATS, Table
from reports.word import write_table_docx


def write_table(table: Table, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``stem.tex``/``.html``/``.md``/``.csv``/``.docx`` atomically; returns the paths written."""
    stem = Path(stem)
    written = []
    for f in formats:
        path = stem.with_suffix(f".{f}")
        if f == "tex":
            write_text(path, to_latex(table))
        elif f == "html":
            write_text(path, to_html_page(table))
        elif f == "md":
            write_text(path, to_markdown(table))
        elif f == "csv":
            write_csv(path, to_csv_frame(table))
        elif f == "docx":
            write_table_docx(to_typst(table), path)
        else:
            raise ValueError(f"unknown table format {f!r}; use one of {FORMATS}")
        written.append(path)
    return written
