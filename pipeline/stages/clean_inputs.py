"""Stage ``clean_inputs``: apply the cleaning rules to the validated tables and log every touched row
(``cleaning_log.json`` with a per-rule summary, ``cleaning_log.csv`` with one line per touched row)."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from pipeline.core.io import atomic_dir, write_csv, write_json, write_parquet
from pipeline.core.params import stage_params
from pipeline.core.paths import DatasetPaths
from pipeline.data.clean import CleaningLog, clean_environment, clean_organizations, clean_panel
from pipeline.data.coverage import usable_values
from pipeline.data.dates import register_date_precision

log = logging.getLogger("clean_inputs")

#: Rules that drop records or move dates: logged as warnings (the rest are routine repairs).
LOSSY_RULES = frozenset(
    {"ended_before_founded", "same_period_order", "orphan_panel_rows", "panel_outside_lifetime"}
)


def clean_tables(
    tables: dict[str, pd.DataFrame], ds: dict[str, Any], cfg: dict[str, Any]
) -> tuple[dict[str, pd.DataFrame], CleaningLog]:
    """Clean every table of a dataset in a fixed order: register, panel (against the register), environment."""
    cleaning = CleaningLog()
    out: dict[str, pd.DataFrame] = {}
    if "organizations" in tables:
        out["organizations"], cleaning = clean_organizations(
            tables["organizations"],
            file=ds["organizations"]["path"],
            end_reasons=ds["end_reasons"],
            normalize_ids=cfg["normalize_ids"],
            drop_duplicate_rows=cfg["drop_duplicate_rows"],
            ended_before_founded=cfg["ended_before_founded"],
            log=cleaning,
        )
    if "panel" in tables:
        out["panel"], cleaning = clean_panel(
            tables["panel"],
            out["organizations"],
            file=ds["panel"]["path"],
            normalize_ids=cfg["normalize_ids"],
            drop_duplicate_rows=cfg["drop_duplicate_rows"],
            negative_size=cfg["negative_size"],
            share_out_of_range=cfg["share_out_of_range"],
            orphan_panel_rows=cfg["orphan_panel_rows"],
            register_file=ds["organizations"]["path"],
            log=cleaning,
        )
    if "environment" in tables:
        out["environment"] = clean_environment(tables["environment"])
    if "population" in tables:
        out["population"] = tables["population"].sort_values("year", kind="mergesort").reset_index(drop=True)
    return out, cleaning


def run(dataset: str, params: dict[str, Any]) -> None:
    """Stage entry point."""
    ds = params["datasets"][dataset]
    cfg = stage_params(params, "clean_inputs", dataset)
    paths = DatasetPaths(dataset)
    tables = {p.stem: pd.read_parquet(p) for p in sorted(paths.validated.glob("*.parquet"))}
    cleaned, cleaning = clean_tables(tables, ds, cfg)
    with atomic_dir(paths.clean) as out:
        for name, frame in cleaned.items():
            write_parquet(out / f"{name}.parquet", frame)
            log.info("%s: %d rows after cleaning (%d before)", name, len(frame), len(tables[name]))
        summary = cleaning.summary()
        usable = usable_values(cleaned, ("panel", "environment"))
        write_json(
            out / "cleaning_log.json",
            {
                "dataset": dataset,
                "rules": summary,
                "usable": usable,
                "date_precision": register_date_precision(
                    cleaned.get("organizations"), ds.get("organizations")
                ),
                "rows": cleaning.frame().to_dict("records"),
            },
        )
        write_csv(out / "cleaning_log.csv", cleaning.frame())
    for table, cols in usable.items():
        for col, n in cols.items():
            level = logging.WARNING if n["usable"] < 0.5 * n["rows"] else logging.INFO
            log.log(level, "%s.%s: %d of %d rows have a value", table, col, n["usable"], n["rows"])
    for item in summary:
        level = logging.WARNING if item["rule"] in LOSSY_RULES else logging.INFO
        log.log(
            level,
            "rule %s on %s: %d rows (%s)",
            item["rule"],
            item["table"],
            item["rows"],
            item["description"],
        )
