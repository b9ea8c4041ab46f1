"""Assembly of every table of a dataset's report from its result folders and processed tables, per area, and
their rendering to files."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from reports.descriptives import (
    cleaning_summary,
    date_precision_frame,
    frame_table,
    population_summary,
    sample_construction,
    usable_rows_frame,
)
from reports.regression import model_tests_table, nesting_order, regression_table
from reports.table_files import write_table
from reports.table_model import FORMATS, Table, dig


def _regression_tables(
    stem: str, caption: str, group: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None, **kw: Any
) -> dict[str, Table]:
    """One regression table per block of at most ``MAX_COLUMNS`` models; continuation tables get the
    stems ``<stem>_2``, ``<stem>_3``, … and say "(continued)"."""
    from reports.selection import chunk

    out: dict[str, Table] = {}
    if "column_names" not in kw:
        kw["column_names"] = short_names([r["model"] for r in group])
    blocks = chunk(list(group))
    for b, block in enumerate(blocks):
        if not block:
            continue
        name = stem if b == 0 else f"{stem}_{b + 1}"
        cap = caption if b == 0 else f"{caption} (continued)"
        names = kw["column_names"][b * len(blocks[0]) : b * len(blocks[0]) + len(block)]
        out[name] = regression_table(block, caption=cap, labels=labels, **{**kw, "column_names": names})
    return out


def short_names(models: Sequence[str]) -> list[str]:
    """Column names without the prefix all models of a table share (``panel_district_nb_density2`` →
    ``density2`` beside ``panel_district_nb_baseline``); the caption names what the prefix said."""
    if len(models) < 2:
        return list(models)
    parts = [m.split("_") for m in models]
    k = 0
    while all(len(p) > k + 1 for p in parts) and len({p[k] for p in parts}) == 1:
        k += 1
    return ["_".join(p[k:]) for p in parts]


def _founding_tables(
    models: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None
) -> dict[str, Table]:
    from reports.selection import founding_sequences

    out: dict[str, Table] = {}
    for stem, caption, group in founding_sequences(models):
        out.update(_regression_tables(stem, caption, sorted(group, key=nesting_order), labels))
    return out


def _survival_tables(
    models: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None
) -> dict[str, Table]:
    from reports.model_tables import km_summary_table
    from reports.selection import headline_cox, is_cause_specific

    out: dict[str, Table] = {}
    kms = [r for r in models.values() if any(c == "km" or c.startswith("km_") for c in r.get("curves", {}))]
    if kms:
        out["survival_km"] = km_summary_table(kms, caption="Kaplan\u2013Meier survival by group")
    used = {r["model"] for r in kms}
    cox = [r for r in models.values() if r["family"] == "cox" and not is_cause_specific(r)]
    out.update(
        _regression_tables(
            "survival_cox",
            "Mortality: Cox proportional hazards (age clock, delayed entry)",
            sorted(cox, key=nesting_order),
            labels,
        )
    )
    head = headline_cox(models)
    if head is not None and head.get("tests"):
        out["survival_cox_tests"] = model_tests_table(
            head, caption=f"Tests of the Cox model {head['model']} (incl. Grambsch\u2013Therneau PH tests)"
        )
    cause = [r for r in models.values() if r["family"] == "cox" and is_cause_specific(r)]
    out.update(
        _regression_tables(
            "survival_cause_specific",
            "Mortality: cause-specific Cox hazards of competing exits",
            sorted(cause, key=lambda r: r["model"]),
            labels,
            column_names=[
                str(r["specification"].get("cause") or r["model"])
                for r in sorted(cause, key=lambda r: r["model"])
            ],
        )
    )
    used |= {r["model"] for r in cox + cause}
    pieces = [r for r in models.values() if "hazard_by_age" in r.get("curves", {}) and r.get("terms")]
    out.update(
        _regression_tables(
            "survival_age_pieces",
            "Mortality: piecewise-constant exponential and discrete-time models",
            sorted(pieces, key=lambda r: (r["family"] != "poisson", r["model"])),
            labels,
        )
    )
    used |= {r["model"] for r in pieces}
    param = [
        r
        for r in models.values()
        if r["family"].split()[0] in ("weibull", "gompertz", "exponential", "loglogistic", "lognormal")
    ]
    out.update(
        _regression_tables(
            "survival_parametric",
            "Mortality: parametric proportional-hazards models",
            sorted(param, key=lambda r: r["model"]),
            labels,
        )
    )
    used |= {r["model"] for r in param}
    rest = [r for r in models.values() if r["model"] not in used and r.get("terms")]
    for r in rest:
        out.update(_regression_tables(f"survival_{r['model']}", f"Mortality: {r['model']}", [r], labels))
    return out


def _growth_tables(
    models: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None
) -> dict[str, Table]:
    from reports.model_tables import size_variance_table

    out: dict[str, Table] = {}
    order = {"none": 0, "org": 1, "year": 2, "twoway": 3}
    gibrat = [r for r in models.values() if "beta" in r.get("derived", {}) or r["model"].startswith("gibrat")]
    gibrat.sort(key=lambda r: (order.get(str(dig(r, "specification", "effects")), 9), r["model"]))
    out.update(
        _regression_tables("growth_gibrat", "Growth: Gibrat regressions of \u0394 log size", gibrat, labels)
    )
    scaling = [r for r in models.values() if "scaling_slope" in r.get("derived", {})]
    if scaling:
        out["growth_size_variance"] = size_variance_table(scaling)
    used = {r["model"] for r in gibrat + scaling}
    for r in models.values():
        if r["model"] not in used and r.get("terms"):
            out.update(_regression_tables(f"growth_{r['model']}", f"Growth: {r['model']}", [r], labels))
    return out


def _bottleneck_tables(
    models: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None
) -> dict[str, Table]:
    from reports.model_tables import breaks_table, capacity_table, data_quality_table
    from reports.selection import is_break, is_exit_rate

    out: dict[str, Table] = {}
    logistic = next(
        (
            r
            for r in models.values()
            if "logistic" in r.get("curves", {}) or r["model"].startswith("logistic")
        ),
        None,
    )
    equilibrium = next(
        (
            r
            for r in models.values()
            if "equilibrium" in r.get("derived", {}) or r["model"].startswith("equilibrium")
        ),
        None,
    )
    if logistic is not None or equilibrium is not None:
        out["bottleneck_capacity"] = capacity_table(
            logistic, equilibrium, caption="Carrying capacity: logistic density curve and equilibrium density"
        )
    if logistic is not None:
        quality = data_quality_table(logistic, caption="Population-series rows used in the logistic fit")
        if quality is not None:
            out["bottleneck_data_quality"] = quality
    exits = sorted([r for r in models.values() if is_exit_rate(r)], key=nesting_order)
    out.update(
        _regression_tables(
            "bottleneck_exit_rate",
            "Population-level exit-rate models (exits with offset log density)",
            exits,
            labels,
            n_star_label="Density at extreme exit rate",
        )
    )
    breaks = [r for r in models.values() if is_break(r)]
    if breaks:
        out["bottleneck_breaks"] = breaks_table(breaks, caption="Structural breaks: sup-F tests")
    hazards = [
        r
        for r in models.values()
        if dig(r, "specification", "event") and r.get("terms") and r not in breaks and not is_exit_rate(r)
    ]
    hazards.sort(key=lambda r: (str(dig(r, "specification", "event")) != "stagnation", r["model"]))
    if hazards:
        event_def = dig(hazards[0], "specification", "event_definition")
        tab = _regression_tables(
            "bottleneck_stagnation",
            "Cause-specific hazards of stagnation and dissolution (discrete time, cloglog)",
            hazards,
            labels,
            column_names=[str(dig(r, "specification", "event")).capitalize() for r in hazards],
        )
        if event_def:
            for t in tab.values():
                t.notes.append(f"Stagnation: {event_def}.")
        out.update(tab)
    used = {r["model"] for r in [*exits, *breaks, *hazards, *(x for x in (logistic, equilibrium) if x)]}
    for r in models.values():
        if r["model"] not in used and r.get("terms"):
            out.update(
                _regression_tables(f"bottleneck_{r['model']}", f"Bottleneck: {r['model']}", [r], labels)
            )
    return out


_AREA_BUILDERS = {
    "founding": _founding_tables,
    "survival": _survival_tables,
    "growth": _growth_tables,
    "bottleneck": _bottleneck_tables,
}


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
    ``bottleneck_exit_rate``, ``bottleneck_breaks``, ``bottleneck_stagnation``. A result none of these
    recognises still gets its own table (``<area>_<model>``), so nothing is dropped silently.
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
    for area, models in results.items():
        builder = _AREA_BUILDERS.get(area)
        if builder is not None:
            tables.update(builder(models, labels))
        else:
            for r in models.values():
                if r.get("terms"):
                    tables.update(_regression_tables(f"{area}_{r['model']}", r["model"], [r], labels))
    return tables


def build_tables_from_dirs(
    results: Mapping[str, Any],
    processed_dir: str | Path,
    *,
    clean_dir: str | Path | None = None,
    labels: Mapping[str, str] | None = None,
    period: int = 5,
) -> dict[str, Table]:
    """:func:`build_tables` on loaded results and the derived data read from ``processed_dir``.

    Reads the population series, organizations table, spells and organization-years of one dataset
    (and the cleaning log from ``clean_dir`` when given), so the table stage and the report build
    their tables from exactly the same inputs.
    """
    from reports.collect import read_cleaning_log, read_table

    processed = Path(processed_dir)
    quality_file = Path(clean_dir) / "cleaning_log.json" if clean_dir is not None else None
    quality = (
        json.loads(quality_file.read_text(encoding="utf-8"))
        if quality_file is not None and quality_file.exists()
        else None
    )
    return build_tables(
        results,
        population=read_table(processed / "population.parquet"),
        organizations=read_table(processed / "organizations.parquet"),
        spells=read_table(processed / "spells.parquet"),
        org_years=read_table(processed / "org_years.parquet"),
        cleaning_log=read_cleaning_log(clean_dir) if clean_dir is not None else None,
        data_quality=quality,
        labels=labels,
        period=period,
    )


def render_tables(
    dataset: str,
    results_dir: str | Path,
    processed_dir: str | Path,
    out_dir: str | Path,
    *,
    clean_dir: str | Path | None = None,
    formats: Sequence[str] = FORMATS,
    labels: Mapping[str, str] | None = None,
    period: int = 5,
    language: str = "en",
) -> dict[str, Table]:
    """Stage adapter: read the results and derived data of ``dataset`` and write every table.

    Writes ``out_dir/<stem>.{tex,html,md,csv,docx}`` atomically, in the report's ``language`` (captions,
    labels and notes; the CSV's long data keep their English column names), and returns the tables
    untranslated (the report translates the same tables, so the PDF shows exactly the same strings).
    """
    from reports.collect import load_results
    from reports.i18n import Translator

    tr = Translator(language)

    tables = build_tables_from_dirs(
        load_results(results_dir), processed_dir, clean_dir=clean_dir, labels=labels, period=period
    )
    for stem, table in tables.items():
        write_table(tr.table(table), Path(out_dir) / stem, formats)
    return tables
