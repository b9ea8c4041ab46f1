"""Stage ``validate_inputs``: read each raw file of a dataset, check it against its schema and write
typed, standardized tables (contract column names) plus a validation report.

Fatal problems (missing columns, unparseable dates, conflicting duplicate ids, wrong types, empty or
mislabelled files) raise :class:`~pipeline.core.errors.InputError` listing file, row, column, value and what was
expected; the stage then exits non-zero and leaves no output folder behind.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.errors import InputError, Issue, issues_frame
from pipeline.core.io import atomic_dir, sha256_file, write_json, write_parquet
from pipeline.core.params import ParamsError
from pipeline.core.paths import DatasetPaths
from pipeline.data.dates import Numbers, register_date_precision
from pipeline.data.future import extraction_limit, future_date_issues, future_year_issues
from pipeline.data.read import load_truth, read_table
from pipeline.data.validate import (
    validate_environment,
    validate_organizations,
    validate_panel,
    validate_population,
)

log = logging.getLogger("validate_inputs")

END_REASON_FROM_FLAGS = "__end_reason_from_flags"


def end_reason_from_flags(raw: pd.DataFrame, flags: dict[str, str], *, file: str) -> pd.Series:
    """One end-reason column from 0/1 flag columns (e.g. COW's dead/integrated/replaced): the first flag
    set, in the order declared in params, names the reason; none set → missing."""
    missing = [c for c in flags if c not in raw.columns]
    if missing:
        raise InputError(
            [
                Issue(
                    file,
                    1,
                    c,
                    "",
                    f"a 0/1 end-reason flag column (columns present: {', '.join(map(str, raw.columns))})",
                    "error",
                    "missing_column",
                )
                for c in missing
            ]
        )
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")
    n_set = pd.Series(0, index=raw.index)
    for col, label in reversed(list(flags.items())):
        value = pd.to_numeric(raw[col], errors="coerce")
        reason = reason.mask(value.fillna(0) > 0, label)
        n_set += (value.fillna(0) > 0).astype(int)
    several = n_set > 1
    if several.any():
        counts = reason[several].value_counts().sort_index()
        log.info(
            "%s: %d rows have several end-reason flags set; the first in params order (%s) names the reason: %s",
            file,
            int(several.sum()),
            ", ".join(flags),
            ", ".join(f"{k} {v}" for k, v in counts.items()),
        )
    return reason


def date_numbers(raw: pd.DataFrame, epoch: str | None) -> Numbers:
    """How plain numbers in the register's date columns are read: the epoch declared in params, else
    the file's own day-number system (Excel 1900/1904 for text and workbooks; none for Stata, SPSS and
    Parquet, whose dates carry formats)."""
    return Numbers(
        serial=raw.attrs.get("serial_dates", "excel"), epoch=epoch, kind=raw.attrs.get("file_kind", "data")
    )


def validate_dataset(
    ds: dict[str, Any], *, today: dt.date | None = None
) -> tuple[dict[str, pd.DataFrame], list[Issue]]:
    """Read and validate every source of a dataset; return standardized tables and warnings.

    Dates after the dataset's ``extraction_date`` (or ``today``, by default the current date) are fatal.
    """
    columns_of_register: dict[str, str] = {}
    tables: dict[str, pd.DataFrame] = {}
    warnings: list[Issue] = []
    if "organizations" in ds:
        src = ds["organizations"]
        raw = read_table(src["path"], sheet=src["sheet"])
        columns = dict(src["columns"])
        if src.get("end_reason_flags"):
            raw[END_REASON_FROM_FLAGS] = end_reason_from_flags(raw, src["end_reason_flags"], file=src["path"])
            columns["end_reason"] = END_REASON_FROM_FLAGS
        columns_of_register = columns
        frame, issues = validate_organizations(
            raw,
            file=src["path"],
            columns=columns,
            attributes=src["attributes"],
            date_rule=ds["date_rule"],
            strict=ds["strict"],
            numbers=date_numbers(raw, src.get("date_epoch")),
        )
        tables["organizations"], warnings = frame, warnings + issues
    if "panel" in ds:
        src = ds["panel"]
        raw = read_table(src["path"], sheet=src["sheet"])
        frame, issues = validate_panel(
            raw,
            file=src["path"],
            columns=src["columns"],
            measures=src["measures"],
            strict=ds["strict"],
            scales=src.get("scale", {}),
        )
        tables["panel"], warnings = frame, warnings + issues
    if "environment" in ds:
        src = ds["environment"]
        raw = read_table(src["path"], sheet=src["sheet"])
        tables["environment"] = validate_environment(
            raw,
            file=src["path"],
            columns=src["columns"],
            covariates=src["covariates"],
            categorical=src["categorical"],
        )
    if "population" in ds:
        src = ds["population"]
        raw = read_table(src["path"], sheet=src["sheet"])
        columns = dict(src["columns"])
        for kind, col in src["exits"].items():
            columns[f"exits_{kind}"] = col
        tables["population"] = validate_population(raw, file=src["path"], columns=columns, keep=src["keep"])
    if ds.get("truth"):
        load_truth(ds["truth"])  # checked here, before anything is fitted, though only the report reads it
    limit, source = extraction_limit(ds.get("extraction_date"), today=today)
    future: list[Issue] = []
    if "organizations" in tables:
        src = ds["organizations"]
        future += future_date_issues(
            tables["organizations"], file=src["path"], columns=columns_of_register, limit=limit, source=source
        )
    for kind in ("panel", "population"):
        if kind in tables:
            src = ds[kind]
            future += future_year_issues(
                tables[kind], file=src["path"], column=src["columns"]["year"], limit=limit, source=source
            )
    if future:
        raise InputError(future)
    return tables, warnings


def run(dataset: str, params: dict[str, Any]) -> None:
    """Stage entry point: validate the raw files of ``dataset`` into ``data/interim/<d>/validated``."""
    ds = params["datasets"][dataset]
    paths = DatasetPaths(dataset)
    try:
        extraction_limit(ds.get("extraction_date"))
    except ValueError as exc:
        raise ParamsError(f"params.yaml: datasets.{dataset}.{exc}") from None
    if "panel" in ds:
        unknown = sorted(set(ds["panel"].get("scale", {})) - set(ds["panel"]["measures"]))
        if unknown:
            raise ParamsError(
                f"params.yaml: datasets.{dataset}.panel.scale names {', '.join(map(repr, unknown))}, which "
                f"is not a panel measure (measures: {', '.join(ds['panel']['measures']) or '(none)'})"
            )
    tables, warnings = validate_dataset(ds)
    inputs = {
        ds[k]["path"]: sha256_file(ds[k]["path"])
        for k in ("organizations", "panel", "environment", "population")
        if k in ds
    }
    with atomic_dir(paths.validated) as out:
        for name, frame in tables.items():
            write_parquet(out / f"{name}.parquet", frame)
            log.info("%s: %d rows validated", name, len(frame))
        limit, source = extraction_limit(ds.get("extraction_date"))
        report = {
            "dataset": dataset,
            # dates were checked against this limit (the run date is not written: results carry no timestamps)
            "extraction_date": {"date": limit.isoformat() if source == "params" else None, "source": source},
            "inputs": inputs,
            "tables": {
                name: {"rows": int(len(f)), "columns": list(map(str, f.columns))}
                for name, f in tables.items()
            },
            "conversions": [n for f in tables.values() for n in f.attrs.get("scale_notes", [])],
            "date_precision": register_date_precision(tables.get("organizations"), ds.get("organizations")),
            "warnings": issues_frame(warnings).replace({np.nan: None}).to_dict("records"),
        }
        write_json(out / "validation_report.json", report)
    for note in report["conversions"]:
        log.warning(
            "%s (column %s) declared in %s: %d values divided by 100",
            note["measure"],
            note["column"],
            note["scale"],
            note["converted"],
        )
    for w in warnings[:10]:
        log.warning("%s row %s column %s: %r — expected %s", w.file, w.row, w.column, w.value, w.expected)
    if len(warnings) > 10:
        log.warning("... %d warnings in all (see validation_report.json)", len(warnings))
