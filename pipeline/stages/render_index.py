"""Stage ``render_index``: the index page across datasets (``reports/out/index.html``), one row per dataset
with its report's title, kind, what the report holds and links to its HTML, PDF and Word reports. It reads
only the report folders the ``render_report`` stage wrote, so the index never lists a report that is not
there, and writes nothing else.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Any

from pipeline.core import paths as P
from pipeline.core.io import write_text
from reports.html import index_html

log = logging.getLogger("render_index")

#: Report files linked from the index when the report folder has them, in this order.
REPORT_FILES = (("HTML", "report.html"), ("PDF", "report.pdf"), ("Word", "report.docx"))
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def index_entry(dataset: str, kind: str, folder: Path, index_dir: Path) -> dict[str, Any]:
    """The index row of one dataset from its report folder (title from the HTML report itself)."""
    page = folder / "report.html"
    if not page.is_file():
        raise FileNotFoundError(2, "report missing: run render_report for this dataset first", str(page))
    match = _TITLE.search(page.read_text(encoding="utf-8"))
    title = html.unescape(match.group(1)) if match else dataset
    rel = folder.relative_to(index_dir).as_posix()
    links = {label: f"{rel}/{name}" for label, name in REPORT_FILES if (folder / name).is_file()}
    tables = {p.stem for p in (folder / "tables").glob("*") if p.is_file() and not p.name.startswith(".")}
    figures = {p.stem for p in (folder / "figures").glob("*") if p.is_file() and not p.name.startswith(".")}
    return {
        "dataset": dataset,
        "title": title,
        "kind": kind,
        "links": links,
        "counts": {"tables": len(tables), "figures": len(figures)},
    }


def run(params: dict[str, Any]) -> None:
    """Stage entry point (all datasets at once)."""
    from pipeline.stages.registry import CROSS_STAGES

    stage = next(s for s in CROSS_STAGES if s.name == "render_index")
    out = Path(P.REPORT_INDEX)
    entries = [
        index_entry(d, params["datasets"][d]["kind"], Path(P.REPORT.format(dataset=d)), out.parent)
        for d in stage.datasets(params)
    ]
    write_text(out, index_html(entries))
    log.info("index of %d reports: %s", len(entries), out)
