"""Word (.docx) output: every table as its own document, and the whole report, with python-docx.

Tables are laid out from the same format-neutral form the PDF uses (:func:`reports.render.to_typst`), so
a Word table shows exactly the strings of the LaTeX/HTML/PDF tables: a three-rule (booktabs) table,
standard errors beneath the coefficients, stars attached, notes in small type below. Figures enter the
report as PNG. Files are byte-stable: the document properties carry a fixed date, and the zip entries a
fixed time stamp (python-docx would stamp the current time on both).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from pipeline.core.io import atomic_path

#: The fixed date written into the document properties (Word requires one; a run date would make two
#: renders of the same results differ).
FIXED_DATE = datetime(2000, 1, 1)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_ALIGN = {"l": WD_ALIGN_PARAGRAPH.LEFT, "c": WD_ALIGN_PARAGRAPH.CENTER, "r": WD_ALIGN_PARAGRAPH.RIGHT}
#: East Asian font of every run, so Chinese labels and text render in Word and WPS.
CJK_FONT = "SimSun"


def new_document(language: str = "en") -> Any:
    """An empty A4 document with the report's fonts (Times New Roman, Chinese text in SimSun)."""
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Inches(8.27), Inches(11.69)
    sec.left_margin = sec.right_margin = Inches(0.9)
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(10.5)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), CJK_FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "zh-CN" if language == "zh" else "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    return doc


def _border(cell: Any, edge: str, size: int) -> None:
    """A horizontal rule on one edge of a cell (``size`` in eighths of a point)."""
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    el = OxmlElement(f"w:{edge}")
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(size))
    el.set(qn("w:space"), "0")
    el.set(qn("w:color"), "000000")
    borders.append(el)


def _cell_text(
    cell: Any, text: str, align: str, *, bold: bool = False, italic: bool = False, size: float = 9
) -> None:
    par = cell.paragraphs[0]
    par.alignment = _ALIGN[align]
    par.paragraph_format.space_after = Pt(0)
    run = par.add_run(text)
    run.bold = bold
    if italic:
        run.italic = True
    run.font.size = Pt(size)


def add_table(doc: Any, table: Mapping[str, Any], number: str = "", colon: str = ": ") -> None:
    """Append one table (the :func:`reports.render.to_typst` form) with its caption above and notes below."""
    cap = doc.add_paragraph()
    cap.paragraph_format.keep_with_next = True
    if number:
        cap.add_run(f"{number}{colon}").bold = True
    cap.add_run(table["caption"]).bold = True
    header, rows, align = table["header"], table["rows"], table["align"]
    ncol = len(header[0]) if header else len(rows[0]) if rows else 1
    grid = doc.add_table(rows=len(header) + len(rows), cols=ncol)
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, hdr in enumerate(header):
        for j, text in enumerate(hdr):
            cell = grid.cell(i, j)
            _cell_text(cell, text, "l" if j == 0 else align[j], bold=True)
            if i == 0:
                _border(cell, "top", 12)
            if i == len(header) - 1:
                _border(cell, "bottom", 6)
    rules = set(table.get("rules", []))
    kinds = table.get("kinds", [])
    for k, row in enumerate(rows):
        panel = k < len(kinds) and kinds[k] == "panel"  # an equation's heading: merged, in italics
        if panel:
            grid.cell(len(header) + k, 0).merge(grid.cell(len(header) + k, ncol - 1))
        for j, text in enumerate(row[:1] if panel else row):
            cell = grid.cell(len(header) + k, j)
            _cell_text(cell, text, "l" if j == 0 else align[j], italic=panel)
            if k in rules and k > 0:
                _border(cell, "top", 4)
            if k == len(rows) - 1:
                _border(cell, "bottom", 12)
    for note in table.get("notes", []):
        par = doc.add_paragraph()
        par.paragraph_format.space_after = Pt(0)
        run = par.add_run(note)
        run.font.size = Pt(8)
    doc.add_paragraph()


def save(doc: Any, path: str | Path) -> Path:
    """Save ``doc`` atomically with fixed document dates and zip time stamps (byte-stable output)."""
    props = doc.core_properties
    props.created = props.modified = props.last_printed = FIXED_DATE
    props.author = props.last_modified_by = "orgecology"
    props.revision = 1
    raw = io.BytesIO()
    doc.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, src.read(info.filename))
    with atomic_path(path) as tmp:
        tmp.write_bytes(out.getvalue())
    return Path(path)


def write_table_docx(table: Mapping[str, Any], path: str | Path) -> Path:
    """One table (the :func:`reports.render.to_typst` form) as its own Word document (``tables/<stem>.docx``)."""
    doc = new_document()
    add_table(doc, table)
    return save(doc, path)


def _figure(doc: Any, png: str | Path, caption: str, number: str, half: bool, colon: str = ": ") -> None:
    par = doc.add_paragraph()
    par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    par.paragraph_format.keep_with_next = True
    par.add_run().add_picture(str(png), width=Inches(3.4 if half else 5.6))
    cap = doc.add_paragraph()
    cap.add_run(f"{number}{colon}").bold = True
    cap.add_run(caption)


def report_docx(
    bundle: Mapping[str, Any],
    figure_png: Mapping[str, str | Path],
    out: str | Path,
    labels: Mapping[str, str],
) -> Path:
    """The report of one dataset as a Word document: the PDF's sections, tables, figures and appendix.

    ``figure_png`` maps each figure path of the bundle to its PNG file; ``labels`` holds the words the
    layout adds (``dataset``, ``table``, ``figure``) in the report's language.
    """
    doc = new_document(bundle.get("language", "en"))
    doc.add_heading(bundle["title"], level=0)
    colon = labels.get("colon", ": ")
    doc.add_paragraph(f"{labels['dataset']}{colon}{bundle['dataset']}")
    for p in bundle.get("intro", []):
        doc.add_paragraph(p)
    n_table = n_figure = 0
    for i, sec in enumerate(bundle["sections"], start=1):
        doc.add_heading(f"{i}. {sec['title']}", level=1)
        for p in sec["text"]:
            doc.add_paragraph(p)
        for lst in sec.get("lists", []):
            doc.add_paragraph().add_run(lst["title"]).bold = True
            for item in lst["items"]:
                doc.add_paragraph(item, style="List Bullet")
        if not sec["present"]:
            doc.add_paragraph().add_run(sec["absent_text"]).italic = True
        k = 0
        for b in sec["blocks"]:
            if b["kind"] == "heading":
                k += 1
                doc.add_heading(f"{i}.{k} {b['text']}", level=2)
            elif b["kind"] == "table":
                n_table += 1
                add_table(doc, b["table"], f"{labels['table']} {n_table}", colon)
            else:
                for f in b["row"]:
                    n_figure += 1
                    _figure(
                        doc,
                        figure_png[f["path"]],
                        f["caption"],
                        f"{labels['figure']} {n_figure}",
                        f.get("width") == "half",
                        colon,
                    )
    for j, app in enumerate(bundle.get("appendix", [])):
        doc.add_page_break()
        doc.add_heading(f"{chr(ord('A') + j)}. {app['title']}", level=1)
        for p in app["text"]:
            doc.add_paragraph(p)
        for line in app["code"].splitlines():
            par = doc.add_paragraph()
            par.paragraph_format.space_after = Pt(0)
            run = par.add_run(line)
            run.font.name = "Courier New"
            run.font.size = Pt(7)
    return save(doc, out)


def docx_text(path: str | Path) -> Sequence[str]:
    """Every paragraph and table-cell text of a .docx, in order (for tests and checks)."""
    doc = Document(str(path))
    out = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        out += [c.text for row in t.rows for c in row.cells]
    return out
