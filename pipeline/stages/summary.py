"""The end-of-run summary (``python -m pipeline summary``; ``scripts/run_pipeline.sh`` prints it last):
the reports written, the project's warnings per stage run with the log that holds them, and the results
that are weak or could not be estimated — read from the outputs and logs, so it says what is on disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.assess import is_weak
from pipeline.core import paths as P
from pipeline.stages.registry import CROSS_STAGES, RESULT_AREAS, STAGES, datasets_for

REPORT_FILES = ("report.pdf", "report.html", "report.docx")


def _warnings(log: Path, stage: str) -> int:
    """Warnings of the stage's own logger in its log file (library warnings are counted by the console)."""
    if not log.is_file():
        return 0
    prefix = f"WARNING {stage}"
    return sum(
        1
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.startswith(prefix)
    )


def collect(params: dict[str, Any], root: Path = Path(".")) -> dict[str, Any]:
    """What the summary states, as data: reports, warnings per stage run, weak and failed results."""
    reports: dict[str, list[str]] = {}
    warnings: list[tuple[str, str, int, str]] = []
    weak: list[str] = []
    failed: list[str] = []
    for name in params["datasets"]:
        folder = root / P.REPORT.format(dataset=name)
        found = [f"{P.REPORT.format(dataset=name)}/{f}" for f in REPORT_FILES if (folder / f).is_file()]
        if found:
            reports[name] = found
        for area in RESULT_AREAS:
            for path in sorted((root / P.RESULTS.format(dataset=name, area=area)).glob("*.json")):
                if path.name.startswith("."):
                    continue
                res = json.loads(path.read_text(encoding="utf-8"))
                key = f"{name}: {area}/{path.stem}"
                if not res.get("fit", {}).get("converged", True):
                    failed.append(key)
                elif is_weak(res):
                    weak.append(key)
    for stage in STAGES:
        for name in datasets_for(stage, params):
            log = P.LOG.format(stage=stage.name, dataset=name)
            n = _warnings(root / log, stage.name)
            if n:
                warnings.append((stage.name, name, n, log))
    index = [c.outs[0] for c in CROSS_STAGES if (root / c.outs[0]).is_file()]
    return {"reports": reports, "index": index, "warnings": warnings, "weak": weak, "failed": failed}


def summary_text(facts: dict[str, Any]) -> str:
    """The summary as console lines."""
    lines = ["==> summary"]
    if facts["reports"]:
        lines.append("reports written:")
        lines += [f"  {name}: {', '.join(files)}" for name, files in facts["reports"].items()]
    else:
        lines.append("reports written: none (render_report has not run)")
    lines += [f"  index: {path}" for path in facts["index"]]
    total = sum(n for *_, n, _ in facts["warnings"])
    if total:
        lines.append(f"warnings: {total} in {len(facts['warnings'])} stage runs")
        lines += [f"  {stage} {name}: {n} → {log}" for stage, name, n, log in facts["warnings"]]
    else:
        lines.append("warnings: none")
    if facts["weak"]:
        lines.append(
            f"weak results (no stars, not read as findings; reasons in the table notes): {len(facts['weak'])}"
        )
        lines += [f"  {key}" for key in facts["weak"]]
    if facts["failed"]:
        lines.append(
            f"models that could not be estimated (reasons in the table notes): {len(facts['failed'])}"
        )
        lines += [f"  {key}" for key in facts["failed"]]
    return "\n".join(lines) + "\n"
