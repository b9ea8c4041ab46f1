"""The per-dataset PDF report: a JSON bundle of formatted strings laid out by a Typst template.

Every number in the report comes from a result file or derived table through ``reports.assemble`` (the same
strings as the LaTeX/HTML/Markdown tables) and every figure from ``reports.figures``; the Typst template
(``templates/report.typ``) only lays the bundle out. Provenance (commit, input hashes, params, package
versions, seeds) is passed in by the caller, never looked up here. The PDF carries no creation date
(``#set document(date: none)``), so two renders of the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.assess import is_weak
from analysis.registry import SECTIONS as KIND_SECTIONS
from pipeline.core.io import atomic_path, to_json_text, write_text
from reports import fonts
from reports.assemble import report_tables
from reports.collect import ReportInputs
from reports.figure_plan import figure_sections
from reports.html import report_html
from reports.i18n import Translator
from reports.render import to_html, to_typst
from reports.table_model import Cell, Table, fmt
from reports.word import report_docx

TEMPLATE = Path(__file__).with_name("templates") / "report.typ"

#: The provenance line that lists strings kept in English in a translated report.
UNTRANSLATED = {"zh": "以下文字尚无中文译文，保留英文", "en": "Untranslated"}

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
        align="llrrrc",
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


#: What each model section says before its tables.
SECTION_TEXT: dict[str, tuple[str, ...]] = {
    "founding": (
        "Counts of foundings per year (and per subpopulation-year) with the density on 1 January; one table "
        "per nested sequence, the likelihood-ratio test of each column against the previous one beneath it.",
    ),
    "survival": (
        "Mortality of organizations from counting-process spells with age as the clock; organizations "
        "founded before the window enter late (left truncation).",
    ),
    "growth": ("Growth is observed only for organizations that survive to the next year.",),
    "bottleneck": (
        "Three operationalizations of a bottleneck: the population reaches a carrying capacity (logistic "
        "curve; density where expected foundings equal expected exits); the founding rate or density growth "
        "breaks structurally (sup-F); organizations enter stagnation, with dissolution as a competing risk.",
    ),
}


def _figure_rows(figs: Sequence[Mapping[str, str]]) -> list[list[dict[str, str]]]:
    """Figures in rows: consecutive half-width figures two per row, full-width figures alone."""
    rows: list[list[dict[str, str]]] = []
    open_row: list[dict[str, str]] | None = None
    for f in figs:
        item = {"path": f["path"], "caption": f["caption"], "width": str(f.get("width", "full"))}
        if f.get("width") != "half":
            rows.append([item])
            open_row = None
        elif open_row is None:
            open_row = [item]
            rows.append(open_row)
        else:
            open_row.append(item)
            open_row = None
    return rows


def _area_blocks(
    area: str,
    tables: Mapping[str, Table],
    figures: Sequence[Mapping[str, str]],
    figure_sections: Mapping[str, str | None],
) -> list[dict[str, Any]]:
    """Section headings, tables and figure rows of one model chapter, in the registry's section order.

    Each table and figure stands in the section its kind declares (``analysis.registry.SECTIONS``;
    ``Table.section``, ``figure_sections``); a chapter without sections is one untitled block. Anything
    without a known section is put under "Other models" at the end, so a result is never dropped silently.
    """
    order: list[str | None] = [None, *KIND_SECTIONS.get(area, ()), "Other models"]

    def place(section: str | None) -> str | None:
        return (
            section
            if section in order[1:-1] or (section is None and not KIND_SECTIONS.get(area))
            else "Other models"
        )

    parts: dict[str | None, tuple[list[str], list[Mapping[str, str]]]] = {o: ([], []) for o in order}
    for stem, table in tables.items():
        if stem.startswith(area + "_") or stem == area:
            parts[place(table.section)][0].append(stem)
    for f in figures:
        if f["stem"].startswith(area + "_"):
            parts[place(figure_sections.get(f["stem"]))][1].append(f)
    blocks: list[dict[str, Any]] = []
    for title in order:
        ts, fs = parts[title]
        if not ts and not fs:
            continue
        if title:
            blocks.append({"kind": "heading", "text": title})
        blocks += [table_block(s, tables[s]) for s in ts]
        blocks += [{"kind": "figures", "row": row} for row in _figure_rows(fs)]
    return blocks


def table_block(stem: str, table: Table) -> dict[str, Any]:
    """A table block of the bundle: the Typst form for the PDF and the HTML fragment for the HTML report
    (the same strings), keyed by the table's file stem."""
    return {"kind": "table", "stem": stem, "table": to_typst(table), "html": to_html(table)}


def _window(params: Any) -> str | None:
    """The observation window recorded in the dataset's params (``window: {start, end}``)."""
    if not isinstance(params, Mapping):
        return None
    for ds in (params.get("datasets") or {}).values():
        w = ds.get("window") if isinstance(ds, Mapping) else None
        if isinstance(w, Mapping) and "start" in w:
            return f"{w['start']}\u2013{w.get('end', 'last observation')}"
    return None


def params_yaml(params: Any) -> str:
    """The full params of a dataset as compact block YAML (sorted keys, Unicode kept, short lists inline)."""
    import yaml

    if isinstance(params, str):
        return params
    return yaml.safe_dump(params, sort_keys=True, allow_unicode=True, default_flow_style=None, width=72)


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
    not_applicable: Mapping[str, str] | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """The JSON bundle the template lays out (figure paths relative to the compile root).

    Each section holds ``text`` paragraphs, ``lists`` and ordered ``blocks`` (subsection headings, tables,
    rows of one or two figures). ``not_applicable`` maps a result area to the reason its stage recorded
    for not estimating anything on this dataset; the section then states that reason. ``language``
    (``en``, ``zh``) translates headings, captions, table labels and notes (:mod:`reports.i18n`); the
    strings that found no translation are listed under ``untranslated`` and stated in the provenance.
    """
    tr = Translator(language)
    tables = {stem: tr.table(t) for stem, t in tables.items()}
    not_applicable = dict(not_applicable or {})
    figs = [{**f, "path": f"figures/{f['stem']}.{figure_format}"} for f in figures]
    fig_sections = figure_sections(results)

    def tabs(prefix: str) -> list[dict[str, Any]]:
        return [
            table_block(stem, t)
            for stem, t in tables.items()
            if stem == prefix or stem.startswith(prefix + "_")
        ]

    prov = dict(provenance)
    prov_list = [f"Commit: {prov.get('commit', 'not recorded')}"]
    outside = set(prov.get("outside_repository") or ())
    for path, sha in sorted((prov.get("inputs") or {}).items()):
        where = " (outside the repository, not in git: obtain it separately)" if path in outside else ""
        prov_list.append(f"Input {path}{where}: SHA-256 {sha}")
    packages = sorted((prov.get("packages") or {}).items())
    if packages:
        prov_list.append("Packages: " + ", ".join(f"{name} {ver}" for name, ver in packages))
    for name, seed in sorted((prov.get("seeds") or {}).items()):
        prov_list.append(f"Random seed {name}: {seed}")
    params = prov.get("params")
    if params is not None:
        prov_list.append("Full parameters of this dataset: Appendix A.")
    window = _window(params)
    conventions = [
        *([f"Observation window: {window}."] if window else []),
        *CONVENTIONS,
        f"Dates known only to the year or month are placed at the {date_rule} of that period "
        "(date precision rule); organizations with unknown founding dates stay out of "
        "age-dependent models.",
    ]
    sections: list[dict[str, Any]] = [
        {
            "title": "Data and provenance",
            "present": True,
            "absent_text": "",
            "blocks": [],
            "text": _paragraphs(prov.get("description")),
            "lists": [
                {"title": "Conventions", "items": conventions},
                {"title": "Provenance", "items": prov_list},
            ],
        },
        {
            "title": "Cleaning log",
            "present": "cleaning_log" in tables,
            "absent_text": "No cleaning log was recorded for this dataset.",
            "blocks": tabs("cleaning_log") + tabs("data_date_precision") + tabs("data_usable_rows"),
            "text": list(prov.get("data_notes") or []),
        },
        {
            "title": "Descriptives",
            "present": "population_by_period" in tables or "sample_construction" in tables,
            "absent_text": "No population series is available.",
            "blocks": tabs("population_by_period")
            + tabs("sample_construction")
            + [
                {"kind": "figures", "row": row}
                for row in _figure_rows([f for f in figs if f["stem"] == "population"])
            ],
            "text": [],
        },
    ]
    for _sid, sec_title, area, absent in SECTIONS:
        present = bool(results.get(area))
        text = list(SECTION_TEXT.get(area, ())) if present else []
        failed = [m for m, r in results.get(area, {}).items() if not r.get("fit", {}).get("converged", True)]
        if failed:
            text.append(
                "Models that could not be estimated (reason in the table notes): " + ", ".join(failed) + "."
            )
        weak = [m for m, r in results.get(area, {}).items() if is_weak(r)]
        if weak:
            text.append(
                "Weakly identified, shown without significance stars and not read as findings (reasons in the "
                "table notes): " + ", ".join(weak) + "."
            )
        flagged = [m for m, r in results.get(area, {}).items() if (r.get("assessment") or {}).get("flags")]
        if flagged:
            text.append(
                "Estimates whose intervals contradict the observed data (see the table notes): "
                + ", ".join(flagged)
                + "."
            )
        if area in not_applicable:
            absent = f"Not estimated for this dataset: {not_applicable[area].rstrip('.')}."
        sections.append(
            {
                "title": sec_title,
                "present": present,
                "absent_text": absent,
                "blocks": _area_blocks(area, tables, figs, fig_sections),
                "text": text,
            }
        )
    if truth:
        sections.append(
            {
                "title": "True versus estimated parameters",
                "present": True,
                "absent_text": "",
                "blocks": [table_block("truth_vs_estimated", tr.table(truth_table(truth, results)))],
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
                "blocks": [],
                "text": _paragraphs(discussion),
            }
        )
    appendix = []
    if params is not None:
        appendix.append(
            {
                "title": "Parameters used for this dataset",
                "text": [
                    "The dataset's entry and every stage block of params.yaml, as the pipeline read them."
                ],
                "code": params_yaml(params),
            }
        )
    bundle = tr.bundle_texts(
        {
            "dataset": dataset,
            "title": title or tr(f"Organizational ecology report: {dataset}"),
            "intro": [
                "All numbers in this report are read from the pipeline's result files and derived data; "
                "tables and figures are regenerated from them on every run."
            ],
            "sections": sections,
            "appendix": appendix,
        }
    )
    untranslated = sorted(tr.missing)
    if untranslated:
        bundle["sections"][0]["lists"][-1]["items"].append(
            f"{UNTRANSLATED[language]} ({len(untranslated)}): " + " | ".join(untranslated)
        )
    return {**bundle, "language": language, "labels": tr.words, "untranslated": untranslated}


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
    inputs: ReportInputs,
    out_pdf: str | Path,
    provenance: Mapping[str, Any],
    truth: Mapping[str, Any] | None = None,
    discussion: str | None = None,
    *,
    tables: Mapping[str, Table] | None = None,
    title: str | None = None,
    date_rule: str = "midpoint",
    font_cache_dir: str | None = None,
    figures: tuple[str | Path, Sequence[Mapping[str, str]]] | None = None,
    out_html: str | Path | None = None,
    html_figures: str = "embed",
    out_docx: str | Path | None = None,
    language: str = "en",
) -> Path:
    """Render the PDF report of ``dataset`` (and its HTML report) from its loaded report inputs.

    Parameters
    ----------
    dataset
        Dataset name (as in ``params.yaml``).
    inputs
        The dataset's results, not-applicable reasons, derived tables and cleaning log, read once
        (:func:`reports.collect.load_report_inputs`).
    out_pdf
        Where to write the PDF (atomically).
    provenance
        ``commit`` (str), ``inputs`` ({path: sha256}), ``params`` (dict or str), ``packages``
        ({name: version}), ``seeds`` ({name: seed}), optional ``description``.
    truth
        True parameters of a simulated dataset (see :func:`truth_table`); adds the true-vs-estimated
        section.
    discussion
        Dataset-specific discussion (plain text, paragraphs separated by blank lines).
    tables
        The tables of :func:`reports.assemble.report_tables` on ``inputs`` when already built (the stage
        writes the same tables as files); built when omitted.
    date_rule
        The date precision rule used by the histories (``params.yaml: datasets.{d}.date_rule``), stated
        among the conventions.
    figures
        Figures already drawn by :func:`reports.figures.render_figures` with SVG among their formats:
        ``(folder, records)``; drawn afresh (SVG only, in a temporary folder) when omitted.
    out_html
        Where to write the HTML report (atomically), or None for none.
    html_figures
        How the HTML report shows the figures: ``"embed"`` (SVG inside the page as ``data:`` URIs, a
        self-contained file) or a format of ``figures`` (``"png"``, ``"svg"``) linked as
        ``figures/<stem>.<format>`` beside the page.
    out_docx
        Where to write the report as a Word document (atomically), or None for none; its figures are
        the PNG files of ``figures`` (which must include PNG then).
    language
        Report language, ``en`` or ``zh`` (``render_report.language``).

    Returns
    -------
    Path
        ``out_pdf``.
    """
    from reports.figures import render_figures

    if tables is None:
        tables = report_tables(inputs)
    with tempfile.TemporaryDirectory(prefix="orgecology-figs-") as tmp:
        if figures is None:
            figdir = Path(tmp) / "figures"
            records = render_figures(
                inputs,
                figdir,
                formats=("svg", "png") if out_docx is not None else ("svg",),
                font_cache_dir=font_cache_dir,
                language=language,
            )
        else:
            figdir, records = Path(figures[0]), list(figures[1])
        bundle = build_bundle(
            dataset,
            tables,
            records,
            inputs.results,
            provenance=provenance,
            truth=truth,
            discussion=discussion,
            title=title,
            date_rule=date_rule,
            not_applicable=inputs.not_applicable,
            language=language,
        )
        if out_html is not None:
            write_html_report(bundle, records, out_html, html_figures)
        if out_docx is not None:
            missing = [r["stem"] for r in records if "png" not in r]
            if missing:
                raise ValueError(f"the Word report needs PNG figures; not drawn as PNG: {', '.join(missing)}")
            png = {f"figures/{r['stem']}.svg": r["png"] for r in records}
            report_docx(bundle, png, out_docx, bundle["labels"])
        return compile_pdf(bundle, figdir, out_pdf, font_cache_dir=font_cache_dir)


def write_html_report(
    bundle: Mapping[str, Any], records: Sequence[Mapping[str, str]], out_html: str | Path, html_figures: str
) -> Path:
    """Write the HTML report of ``bundle``; figures embedded from their SVG files or linked beside it."""
    src = {}
    for rec in records:
        path = f"figures/{rec['stem']}.svg"
        if html_figures == "embed":
            data = base64.b64encode(Path(rec["svg"]).read_bytes()).decode("ascii")
            src[path] = f"data:image/svg+xml;base64,{data}"
        elif html_figures in rec:
            src[path] = f"figures/{rec['stem']}.{html_figures}"
        else:
            raise ValueError(f"figure {rec['stem']} was not drawn as {html_figures!r} for the HTML report")
    write_text(out_html, report_html(bundle, src))
    return Path(out_html)
