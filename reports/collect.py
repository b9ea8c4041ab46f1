"""Reading what the reports render: result files, derived tables and the cleaning log.

This is the only module of ``reports`` that touches files on the input side; everything downstream
receives plain dictionaries and data frames.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.registry import kind_of
from analysis.results import read_result

#: Model name of the recorded outcome of a stage that does not apply to a dataset.
NOT_APPLICABLE = "not_applicable"

#: Result folders under ``results/{dataset}/`` in report order.
AREAS: tuple[str, ...] = ("founding", "survival", "growth", "bottleneck")


def load_results(results_dir: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """All result files of one dataset, validated: ``{area: {model: result_dict}}``.

    ``results_dir`` is ``results/{dataset}``. Areas without a folder map to an empty dictionary, so a
    report can say "not estimated for this dataset" instead of failing. Models are ordered by file name
    unless a result records ``specification.order`` (an integer), which then decides the order.
    """
    root = Path(results_dir)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for area in AREAS:
        folder = root / area
        found = [read_result(p) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
        # a stage that does not apply to the dataset records a single "not_applicable" outcome
        found = [r for r in found if kind_of(r).name != f"{NOT_APPLICABLE}_{area}"]
        found.sort(key=lambda r: (r.get("specification", {}).get("order", 0), r["model"]))
        out[area] = {r["model"]: r for r in found}
    return out


def not_applicable_reasons(results_dir: str | Path) -> dict[str, str]:
    """``{area: reason}`` for every stage that recorded a single ``not_applicable`` outcome (e.g. no
    organization-level lifetimes in a population-series dataset), so the report can say why a section is
    empty."""
    out: dict[str, str] = {}
    for area in AREAS:
        path = Path(results_dir) / area / f"{NOT_APPLICABLE}.json"
        if path.is_file():
            res = read_result(path)
            out[area] = str(
                (res.get("fit") or {}).get("reason") or "the stage does not apply to this dataset"
            )
    return out


def read_table(path: str | Path) -> pd.DataFrame | None:
    """A derived Parquet table, or ``None`` when the dataset does not have it."""
    p = Path(path)
    return pd.read_parquet(p) if p.is_file() else None


def read_cleaning_log(clean_dir: str | Path) -> pd.DataFrame | None:
    """Rows touched per cleaning rule: columns ``rule``, ``table``, ``rows``, ``description``.

    Accepts ``cleaning_log.json`` holding either the per-rule summary (a list, or a dict with
    ``summary``/``rules``) or the per-row log (dicts with ``rule`` and ``table`` but no ``rows`` count),
    and falls back to ``cleaning_log.csv`` (one row per touched record). ``None`` when neither exists.
    """
    folder = Path(clean_dir)
    js, csv = folder / "cleaning_log.json", folder / "cleaning_log.csv"
    records: list[dict[str, Any]] | None = None
    if js.is_file():
        obj = json.loads(js.read_text(encoding="utf-8"))
        if isinstance(obj, dict):
            obj = obj.get("summary", obj.get("rules", obj.get("rows", [])))
        records = list(obj)
    elif csv.is_file():
        records = pd.read_csv(csv, dtype=str, keep_default_na=False).to_dict("records")
    if records is None:
        return None
    frame = pd.DataFrame(records, columns=None if records else ["rule", "table", "rows", "description"])
    if frame.empty:
        return pd.DataFrame(columns=["rule", "table", "rows", "description"])
    if "rows" not in frame:
        order = list(dict.fromkeys(zip(frame["rule"], frame["table"], strict=True)))
        counts = frame.groupby(["rule", "table"], sort=False).size()
        desc = frame.groupby(["rule", "table"], sort=False)["action"].first() if "action" in frame else None
        frame = pd.DataFrame(
            [
                {
                    "rule": r,
                    "table": t,
                    "rows": int(counts[(r, t)]),
                    "description": "" if desc is None else str(desc[(r, t)]),
                }
                for r, t in order
            ]
        )
    if "description" not in frame:
        frame["description"] = ""
    frame["rows"] = frame["rows"].astype(int)
    return frame[["rule", "table", "rows", "description"]].reset_index(drop=True)


def km_frame(result: dict[str, Any]) -> pd.DataFrame | None:
    """Kaplan–Meier curves of a result in long form (``group``, ``time``, ``survival``, ``ci_low``,
    ``ci_high``), from either ``curves["km"]`` (with a ``group`` column) or one ``curves["km_<group>"]``
    per group; ``None`` when the result has no survival curve."""
    curves = result.get("curves", {})
    if "km" in curves:
        frame = pd.DataFrame(curves["km"])
        if "group" not in frame:
            frame.insert(0, "group", "all")
        return frame
    parts = [pd.DataFrame(c).assign(group=k[3:]) for k, c in curves.items() if k.startswith("km_")]
    return pd.concat(parts, ignore_index=True) if parts else None


def cif_frame(result: dict[str, Any]) -> pd.DataFrame | None:
    """Cumulative incidence curves in long form (``cause``, ``time``, ``estimate``, ``ci_low``,
    ``ci_high``) from ``curves["cif"]``; a ``state`` column (multi-state output) is read as the cause and
    its transient ``alive`` state dropped."""
    curves = result.get("curves", {})
    if "cif" not in curves:
        return None
    frame = pd.DataFrame(curves["cif"])
    if "cause" not in frame and "state" in frame:
        frame = frame[frame["state"] != "alive"].rename(columns={"state": "cause"})
    return frame.reset_index(drop=True)
