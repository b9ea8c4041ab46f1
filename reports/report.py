"""The per-dataset PDF report: a JSON bundle of formatted strings laid out by a Typst template.

Every number in the report comes from a result file or derived table through ``reports.tables`` (the same
strings as the LaTeX/HTML/Markdown tables) and every figure from ``reports.figures``; the Typst template
(``templates/report.typ``) only lays the bundle out. Provenance (commit, input hashes, params, package
versions, seeds) is passed in by the caller, never looked up here. The PDF carries no creation date
(``#set document(date: none)``), so two renders of the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.io import atomic_path, to_json_text
from reports import fonts
from reports.tables import Cell, Table, build_tables, fmt, to_typst

TEMPLATE = Path(__file__).with_name("templates") / "report.typ"

#: Report sections in order: (id, title, result area or None, text when the area has no results).
SECTIONS: tuple[tuple[str, str, str | None, str], ...] = (
    ("founding", "Founding", "founding", "No founding-rate models were estimated for this dataset."),
    (
        "mortality",
        "Mortality",
        "survival",
        "No mortality models: this dataset has no organization-level lifetimes (population series only).",
    ),
    ("growth", "Growth", "growth", "No growth models: this dataset has no organization-level size measure."),
    ("bottleneck", "Bottleneck", "bottleneck", "No bottleneck models were estimated for this dataset."),
)

CONVENTIONS: tuple[str, ...] = (
    "Time unit: the calendar year. Density N_t counts organizations alive on 1 January of year t, so the "
    "founding rate in year t depends on the density at the start of the year (the usual one-year lag).",
    "Foundings F_t and exits D_t are counted within calendar year t; mass M_t sums the size measure over "
    "organizations alive on 1 January.",
    "Spells are in counting-process form, split at every 1 January with age as the clock; organizations "
    "founded before the window enter at their true age (left truncation) and are right-censored at the "
    "window end or last observation.",
    "Standard errors: the SE type of each model is stated under its table (observed information, or "
    "robust clustered by organization). Significance: * p < 0.05, ** p < 0.01, *** p < 0.001.",
    "Growth is observed only for surviving organizations.",
)

_TABLE_AREAS = {
    "founding": "founding",
    "survival": "survival",
    "growth": "growth",
    "bottleneck": "bottleneck",
}


def _truth_items(truth: Mapping[str, Any]) -> list[tuple[str, str, str, float]]:
    """Flatten a truth dictionary to (area, model, quantity, value).

    Accepted shapes: ``{"area/model/quantity": value}`` or ``{area: {"model": m, "terms": {q: value}}}``
    (optionally ``"derived": {q: value}``).
    """
    items = []
    for key, val in truth.items():
        if isinstance(val, Mapping):
            model = val.get("model", "")
            for q, v in {**val.get("terms", {}), **val.get("derived", {})}.items():
                items.append((key, model, q, float(v)))
        else:
            area, model, q = str(key).split("/", 2)
            items.append((area, model, q, float(val)))
    return items


def truth_table(truth: Mapping[str, Any], results: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Table:
    """True versus estimated parameters of the simulated dataset: estimate, 95% CI, covered yes/no."""
    table = Table(
        caption="True versus estimated parameters (simulated data)",
        header=[["Model", "Parameter", "True", "Estimate", "95% CI", "Covered"]],
        align="r",
    )
    long = []
    for area, model, q, value in _truth_items(truth):
        res = results.get(area, {}).get(model)
        row = None
        if res is not None:
            row = next((t for t in res.get("terms", []) if t["term"] == q), None)
            if row is None and isinstance(res.get("derived", {}).get(q), Mapping):
                row = res["derived"][q]
        est = None if row is None else row.get("coef", row.get("estimate"))
        lo = None if row is None else row.get("ci_low")
        hi = None if row is None else row.get("ci_high")
        covered = None if lo is None or hi is None else bool(lo <= value <= hi)
        table.rows.append(
            (
                f"{area}/{model}",
                [
                    Cell(q),
                    Cell(fmt(value, 3)),
                    Cell(fmt(est, 3) if est is not None else "not estimated"),
                    Cell(f"{fmt(lo, 3)}, {fmt(hi, 3)}", wrap="[]") if covered is not None else Cell(),
                    Cell("" if covered is None else ("yes" if covered else "no")),
                ],
                "stat",
            )
        )
        long.append(
            {
                "model": f"{area}/{model}",
                "parameter": q,
                "true": value,
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "covered": covered,
            }
        )
    table.data = pd.DataFrame(long)
    return table


def _paragraphs(text: str | None) -> list[str]:
    if not text:
        return []
    return [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]


def build_bundle(
    dataset: str,
    tables: Mapping[str, Table],
    figures: Sequence[Mapping[str, str]],
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    provenance: Mapping[str, Any],
    truth: Mapping[str, Any] | None = None,
    discussion: str | None = None,
    title: str | None = None,
    figure_format: str = "svg",
    date_rule: str = "midpoint",
) -> dict[str, Any]:
    """The JSON bundle the template lays out (figure paths relative to the compile root)."""

    def tabs(prefix: str) -> list[dict[str, Any]]:
        return [to_typst(t) for stem, t in tables.items() if stem == prefix or stem.startswith(prefix + "_")]

    def figs(prefix: str) -> list[dict[str, str]]:
        return [
            {"path": f"figures/{f['stem']}.{figure_format}", "caption": f["caption"]}
            for f in figures
            if f["stem"].startswith(prefix)
        ]

    prov = dict(provenance)
    prov_list = [f"Commit: {prov.get('commit', 'not recorded')}"]
    for path, sha in sorted((prov.get("inputs") or {}).items()):
        prov_list.append(f"Input {path}: SHA-256 {sha}")
    for name, ver in sorted((prov.get("packages") or {}).items()):
        prov_list.append(f"Package {name} {ver}")
    for name, seed in sorted((prov.get("seeds") or {}).items()):
        prov_list.append(f"Random seed {name}: {seed}")
    params = prov.get("params")
    params_text = None
    if params is not None:
        prov_list.append("Params used for this dataset:")
        params_text = (
            params
            if isinstance(params, str)
            else json.dumps(params, sort_keys=True, indent=1, ensure_ascii=False)
        )
    sections: list[dict[str, Any]] = [
        {
            "title": "Data and provenance",
            "present": True,
            "absent_text": "",
            "tables": [],
            "figures": [],
            "text": _paragraphs(prov.get("description")),
            "lists": [
                {
                    "title": "Conventions",
                    "items": [
                        *CONVENTIONS,
                        f"Dates known only to the year or month are placed at the {date_rule} of that period "
                        "(date precision rule); organizations with unknown founding dates stay out of "
                        "age-dependent models.",
                    ],
                },
                {"title": "Provenance", "items": prov_list},
            ],
            "code": params_text,
        },
        {
            "title": "Cleaning log",
            "present": "cleaning_log" in tables,
            "absent_text": "No cleaning log was recorded for this dataset.",
            "tables": tabs("cleaning_log"),
            "figures": [],
            "text": [],
        },
        {
            "title": "Descriptives",
            "present": "population_by_period" in tables or "sample_construction" in tables,
            "absent_text": "No population series is available.",
            "tables": tabs("population_by_period") + tabs("sample_construction"),
            "figures": figs("population"),
            "text": [],
        },
    ]
    for _sid, sec_title, area, absent in SECTIONS:
        present = bool(results.get(area))
        text = (
            ["Growth is observed only for organizations that survive to the next year."]
            if (area == "growth" and present)
            else []
        )
        failed = [m for m, r in results.get(area, {}).items() if not r.get("fit", {}).get("converged", True)]
        if failed:
            text.append(
                "Models that could not be estimated (reason in the table notes): " + ", ".join(failed) + "."
            )
        sections.append(
            {
                "title": sec_title,
                "present": present,
                "absent_text": absent,
                "tables": tabs(area),
                "figures": figs(area + "_"),
                "text": text,
            }
        )
    if truth:
        sections.append(
            {
                "title": "True versus estimated parameters",
                "present": True,
                "absent_text": "",
                "tables": [to_typst(truth_table(truth, results))],
                "figures": [],
                "text": [
                    "The default dataset is simulated with known parameters; a parameter is covered "
                    "when its true value lies inside the 95% confidence interval."
                ],
            }
        )
    if discussion:
        sections.append(
            {
                "title": "Discussion",
                "present": True,
                "absent_text": "",
                "tables": [],
                "figures": [],
                "text": _paragraphs(discussion),
            }
        )
    return {
        "dataset": dataset,
        "title": title or f"Organizational ecology report: {dataset}",
        "intro": [
            "All numbers in this report are read from the pipeline's result files and derived data; "
            "tables and figures are regenerated from them on every run."
        ],
        "sections": sections,
    }


def compile_pdf(
    bundle: Mapping[str, Any],
    figure_dir: Path | None,
    out_pdf: str | Path,
    *,
    font_cache_dir: str | None = None,
) -> Path:
    """Compile ``bundle`` with the Typst template into ``out_pdf`` (atomic), in a temporary root folder."""
    import typst

    with tempfile.TemporaryDirectory(prefix="orgecology-report-") as tmp:
        root = Path(tmp)
        shutil.copy(TEMPLATE, root / "report.typ")
        (root / "bundle.json").write_text(to_json_text(bundle), encoding="utf-8")
        if figure_dir is not None:
            shutil.copytree(figure_dir, root / "figures")
        pdf = typst.compile(
            str(root / "report.typ"),
            root=str(root),
            font_paths=fonts.font_dirs(font_cache_dir),
            sys_inputs={"bundle": "bundle.json"},
        )
        with atomic_path(out_pdf) as out:
            out.write_bytes(pdf)
    return Path(out_pdf)


def render_report(
    dataset: str,
    results_dir: str | Path,
    processed_dir: str | Path,
    out_pdf: str | Path,
    provenance: Mapping[str, Any],
    truth: Mapping[str, Any] | None = None,
    discussion: str | None = None,
    *,
    clean_dir: str | Path | None = None,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    date_rule: str = "midpoint",
    font_cache_dir: str | None = None,
) -> Path:
    """Render the PDF report of ``dataset`` from its result files and derived data.

    Parameters
    ----------
    dataset
        Dataset name (as in ``params.yaml``).
    results_dir, processed_dir, clean_dir
        ``results/{d}``, ``data/processed/{d}`` and ``data/interim/{d}/clean`` (for the cleaning log).
    out_pdf
        Where to write the PDF (atomically); tables and figures are rendered afresh for it.
    provenance
        ``commit`` (str), ``inputs`` ({path: sha256}), ``params`` (dict or str), ``packages``
        ({name: version}), ``seeds`` ({name: seed}), optional ``description``.
    truth
        True parameters of a simulated dataset (see :func:`truth_table`); adds the true-vs-estimated
        section.
    discussion
        Dataset-specific discussion (plain text, paragraphs separated by blank lines).
    date_rule
        The date precision rule used by the histories (``params.yaml: datasets.{d}.date_rule``), stated
        among the conventions.

    Returns
    -------
    Path
        ``out_pdf``.
    """
    from reports.collect import load_results, read_cleaning_log, read_table
    from reports.figures import render_figures

    results = load_results(results_dir)
    processed = Path(processed_dir)
    tables = build_tables(
        results,
        population=read_table(processed / "population.parquet"),
        organizations=read_table(processed / "organizations.parquet"),
        spells=read_table(processed / "spells.parquet"),
        org_years=read_table(processed / "org_years.parquet"),
        cleaning_log=read_cleaning_log(clean_dir) if clean_dir is not None else None,
        labels=labels,
    )
    with tempfile.TemporaryDirectory(prefix="orgecology-figs-") as tmp:
        figdir = Path(tmp) / "figures"
        records = render_figures(
            dataset, results_dir, processed_dir, figdir, formats=("svg",), font_cache_dir=font_cache_dir
        )
        bundle = build_bundle(
            dataset,
            tables,
            records,
            results,
            provenance=provenance,
            truth=truth,
            discussion=discussion,
            title=title,
            date_rule=date_rule,
        )
        return compile_pdf(bundle, figdir, out_pdf, font_cache_dir=font_cache_dir)
