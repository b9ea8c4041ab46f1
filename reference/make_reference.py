"""Refresh reference/results from results/ (after a full pipeline run): every result file without its
``curves`` (plotting data, not compared by ``verify``), so the committed baseline stays small.

    python reference/make_reference.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline.core.io import write_json

SRC, DST = Path("results"), Path("reference/results")


def main() -> None:
    if DST.exists():
        shutil.rmtree(DST)
    for path in sorted(SRC.rglob("*.json")):
        obj = json.loads(path.read_text(encoding="utf-8"))
        obj["curves"] = {}
        write_json(DST / path.relative_to(SRC), obj)


if __name__ == "__main__":
    main()
