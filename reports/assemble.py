"""Assembly of every table of a dataset's report from its loaded results and derived tables, per area, and
their writing to files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from reports.collect import ReportInputs
from reports.descriptives import (
    cleaning_summary,
    date_precision_frame,
    frame_table,
    population_summary,
    sample_construction,
    usable_rows_frame,
)
from reports.presenters import area_tables
from reports.table_files import write_table
from reports.table_model import FORMATS, Table


def build_tables(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    population: pd.DataFrame | None = None,
    organizations: pd.DataFrame | None = None,
    spells: pd.DataFrame | None = None,
    org_years: pd.DataFrame | None = None,
    cleaning_log: pd.DataFrame | None = None,
    data_quality: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    period: int = 5,
) -> dict[str, Table]:
    """Every table of one dataset, keyed by a stable file stem, in report order.

    ``data_quality`` is the cleaning log's JSON summary (``date_precision``, ``usable``): it gives the tables
    ``data_date_precision`` and ``data_usable_rows``.

    Founding: one table per nested sequence (``founding_poisson``, ``founding_nb``,
    ``founding_panel_<var>_poisson``, ``founding_panel_<var>_nb``), at most five model columns each
    (continuations ``<stem>_2``), subpopulation fixed effects collapsed to one row. Mortality:
    ``survival_km`` (all groupings), ``survival_cox`` with ``survival_cox_tests`` (PH tests of the
    headline model), ``survival_cause_specific``, ``survival_age_pieces``, ``survival_parametric``.
    Growth: ``growth_gibrat`` (pooled, organization FE, two-way FE) and ``growth_size_variance``.
    Bottleneck: ``bottleneck_capacity`` (+ ``bottleneck_data_quality`` for flagged series),
    ``bottleneck_exit_rate``, ``bottleneck_breaks``, ``bottleneck_stagnation``. Which result goes into which
    table is declared by its kind (``analysis/registry.py``, dispatched in ``reports/presenters.py``); a
    result of an unregistered kind is an error, never a dropped table.
    """
    tables: dict[str, Table] = {}
    if population is not None and len(population) and population["density"].notna().any():
        span = int(population["year"].max() - population["year"].min()) + 1
        while span / period > 20:  # long histories (COW: two centuries) in at most ~20 periods
            period *= 2
        tables["population_by_period"] = frame_table(
            population_summary(population, period=period),
            caption=f"Population by {period}-year period",
            notes=["N is density on 1 January; foundings and exits are counted within the calendar year."],
        )
    if cleaning_log is not None:
        summary = cleaning_summary(cleaning_log)
        if summary.empty:
            summary = pd.DataFrame(
                [
                    {
                        "Rule": "(none)",
                        "Table": "",
                        "Rows touched": 0,
                        "What": "no cleaning rule touched any row",
                    }
                ]
            )
        tables["cleaning_log"] = frame_table(summary, caption="Cleaning log: rows touched per rule")
    dq = data_quality or {}
    if dq.get("date_precision"):
        tables["data_date_precision"] = frame_table(
            date_precision_frame(dq["date_precision"]),
            caption="Dates by recorded precision (after cleaning)",
            notes=[
                "Dates known only to the month or year are placed inside their period by the date precision "
                "rule; unknown dates keep the organization out of age-dependent models."
            ],
        )
    if dq.get("usable"):
        tables["data_usable_rows"] = frame_table(
            usable_rows_frame(dq["usable"]),
            caption="Rows with a usable value per covariate",
            digits=3,
        )
    sample = sample_construction(organizations, spells, org_years, results)
    if len(sample):
        tables["sample_construction"] = frame_table(sample, caption="Sample construction")
    for models in results.values():
        tables.update(area_tables(models, labels))
    return tables


def report_tables(
    inputs: ReportInputs, *, labels: Mapping[str, str] | None = None, period: int = 5
) -> dict[str, Table]:
    """:func:`build_tables` on a dataset's loaded report inputs (results, derived tables, cleaning log), so
    the table files and the report show exactly the same tables, built once."""
    return build_tables(
        inputs.results,
        population=inputs.population,
        organizations=inputs.organizations,
        spells=inputs.spells,
        org_years=inputs.org_years,
        cleaning_log=inputs.cleaning_log,
        data_quality=inputs.data_quality,
        labels=labels,
        period=period,
    )


def write_tables(
    tables: Mapping[str, Table],
    out_dir: str | Path,
    *,
    formats: Sequence[str] = FORMATS,
    language: str = "en",
) -> None:
    """Write every table to ``out_dir/<stem>.{tex,html,md,csv,docx}`` (each atomically) in the report's
    ``language`` (captions, labels and notes; the CSV's long data keep their English column names). The
    tables themselves stay untranslated: the report translates the same tables, so the PDF shows exactly
    the same strings."""
    from reports.i18n import Translator

    tr = Translator(language)
    for stem, table in tables.items():
        write_table(tr.table(table), Path(out_dir) / stem, formats)
