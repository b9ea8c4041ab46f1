"""Reading what the reports render: result files, derived tables and the cleaning log.

This is the only module of ``reports`` that touches files on the input side; everything downstream
receives plain dictionaries and data frames. A report job reads each of its files once, through
:func:`load_report_inputs`, and hands the one :class:`ReportInputs` to every builder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.registry import kind_of
from analysis.results import read_result

#: Model name of the recorded outcome of a stage that does not apply to a dataset.
NOT_APPLICABLE = "not_applicable"

#: Result folders under ``results/{dataset}/`` in report order.
AREAS: tuple[str, ...] = ("founding", "survival", "growth", "bottleneck")

#: The derived tables (``data/processed/{dataset}/<name>.parquet``) the report builders use.
DERIVED_TABLES: tuple[str, ...] = ("population", "organizations", "spells", "org_years")

Results = dict[str, dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class ReportInputs:
    """Everything one dataset's report is made from, each file read once (:func:`load_report_inputs`).

    ``results`` is ``{area: {model: result}}`` without the not-applicable outcomes, which give
    ``not_applicable`` (``{area: reason}``); ``seeds`` are the random seeds the models recorded
    (``specification.seed``, keyed ``area/model``); the data frames are the derived tables (``None`` when
    the dataset does not have one), ``cleaning_log`` the rows touched per cleaning rule and
    ``data_quality`` the cleaning log's JSON as written (its ``date_precision`` and ``usable`` summaries).
    """

    results: Results = field(default_factory=dict)
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    seeds: Mapping[str, Any] = field(default_factory=dict)
    population: pd.DataFrame | None = None
    organizations: pd.DataFrame | None = None
    spells: pd.DataFrame | None = None
    org_years: pd.DataFrame | None = None
    cleaning_log: pd.DataFrame | None = None
    data_quality: Any = None


def result_paths(results_dir: str | Path) -> list[Path]:
    """The result files of one dataset (``results/{dataset}/<area>/*.json``) in area order, then by file
    name; never hidden ones (a temporary folder or file left by a killed stage is not a result)."""
    root = Path(results_dir)
    return [
        path
        for area in AREAS
        for path in sorted((root / area).glob("*.json"))
        if not path.name.startswith(".")
    ]


def read_result_files(results_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Every result file of one dataset, read and validated once: ``{"area/stem": result}`` in the order of
    :func:`result_paths`."""
    return {f"{path.parent.name}/{path.stem}": read_result(path) for path in result_paths(results_dir)}


def _is_not_applicable(area: str, result: Mapping[str, Any]) -> bool:
    return kind_of(result).name == f"{NOT_APPLICABLE}_{area}"


def models_by_area(files: Mapping[str, Mapping[str, Any]]) -> Results:
    """``{area: {model: result}}`` of read result files (:func:`read_result_files`), without the
    not-applicable outcomes; every area is present (empty when it has no result), so a report can say "not
    estimated for this dataset" instead of failing. Models are ordered by file name unless a result records
    ``specification.order`` (an integer), which then decides the order."""
    out: Results = {}
    for area in AREAS:
        found = [
            r for key, r in files.items() if key.split("/")[0] == area and not _is_not_applicable(area, r)
        ]
        found.sort(key=lambda r: (r.get("specification", {}).get("order", 0), r["model"]))
        out[area] = {r["model"]: r for r in found}
    return out


def reasons_by_area(files: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``{area: reason}`` for every stage that recorded a single ``not_applicable`` outcome (e.g. no
    organization-level lifetimes in a population-series dataset), so the report can say why a section is
    empty."""
    out: dict[str, str] = {}
    for key, res in files.items():
        area = key.split("/")[0]
        if _is_not_applicable(area, res):
            out[area] = str(
                (res.get("fit") or {}).get("reason") or "the stage does not apply to this dataset"
            )
    return out


def recorded_seeds(files: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Random seeds recorded by the models themselves (``specification.seed``: bootstrap draws, simulated
    p-values), keyed ``area/model`` in file order."""
    out: dict[str, Any] = {}
    for key, res in files.items():
        spec = res.get("specification") or {}
        if spec.get("seed") is not None:
            out[key] = spec["seed"]
    return out


def load_results(results_dir: str | Path) -> Results:
    """All result files of one dataset, validated: ``{area: {model: result_dict}}`` (:func:`models_by_area`).

    ``results_dir`` is ``results/{dataset}``."""
    return models_by_area(read_result_files(results_dir))


def not_applicable_reasons(results_dir: str | Path) -> dict[str, str]:
    """``{area: reason}`` of one dataset's not-applicable outcomes (:func:`reasons_by_area`)."""
    return reasons_by_area(read_result_files(results_dir))


def load_report_inputs(
    results_dir: str | Path, processed_dir: str | Path, clean_dir: str | Path | None = None
) -> ReportInputs:
    """Read everything one report is made from, each file once: the result files of ``results_dir``
    (``results/{d}``), the derived tables of ``processed_dir`` (``data/processed/{d}``) and, when
    ``clean_dir`` is given (``data/interim/{d}/clean``), the cleaning log."""
    files = read_result_files(results_dir)
    tables = {name: read_table(Path(processed_dir) / f"{name}.parquet") for name in DERIVED_TABLES}
    quality, cleaning_log = read_cleaning_files(clean_dir) if clean_dir is not None else (None, None)
    return ReportInputs(
        results=models_by_area(files),
        not_applicable=reasons_by_area(files),
        seeds=recorded_seeds(files),
        cleaning_log=cleaning_log,
        data_quality=quality,
        **tables,
    )


def read_table(path: str | Path) -> pd.DataFrame | None:
    """A derived Parquet table, or ``None`` when the dataset does not have it."""
    p = Path(path)
    return pd.read_parquet(p) if p.is_file() else None


def read_cleaning_files(clean_dir: str | Path) -> tuple[Any, pd.DataFrame | None]:
    """The cleaning log of ``clean_dir``, each file read once: ``(data_quality, rows per rule)``.

    ``data_quality`` is ``cleaning_log.json`` as written (``None`` without it); the rows per rule are
    :func:`cleaning_log_frame` of its records, or of ``cleaning_log.csv`` (one row per touched record) when
    there is no JSON log, and ``None`` when neither exists.
    """
    folder = Path(clean_dir)
    js, csv = folder / "cleaning_log.json", folder / "cleaning_log.csv"
    if js.is_file():
        obj = json.loads(js.read_text(encoding="utf-8"))
        records = obj.get("summary", obj.get("rules", obj.get("rows", []))) if isinstance(obj, dict) else obj
        return obj, cleaning_log_frame(list(records))
    if csv.is_file():
        return None, cleaning_log_frame(pd.read_csv(csv, dtype=str, keep_default_na=False).to_dict("records"))
    return None, None


def read_cleaning_log(clean_dir: str | Path) -> pd.DataFrame | None:
    """Rows touched per cleaning rule of ``clean_dir`` (:func:`read_cleaning_files`), ``None`` without a log."""
    return read_cleaning_files(clean_dir)[1]


def cleaning_log_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows touched per cleaning rule: columns ``rule``, ``table``, ``rows``, ``description``.

    Accepts the records of either the per-rule summary (with a ``rows`` count) or the per-row log (dicts
    with ``rule`` and ``table`` but no ``rows`` count, counted here).
    """
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
