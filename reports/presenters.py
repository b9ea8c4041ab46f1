"""Tables of one report chapter, dispatched on the model registry (``analysis/registry.py``).

Each result names its kind; each kind names its table (stem, caption, column headings, column order,
options) and a *presentation*. This module maps presentations to table builders. Nothing here tests a
model's name or which keys its result holds: a new kind with an existing presentation needs no edit here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from analysis.registry import ModelKind, kind_of
from reports.model_tables import (
    breaks_table,
    capacity_table,
    data_quality_table,
    km_summary_table,
    size_variance_table,
)
from reports.regression import model_tests_table, nesting_order, regression_table
from reports.selection import MAX_COLUMNS, chunk, founding_sequences, headline
from reports.table_model import Table, dig

Result = Mapping[str, Any]
Labels = Mapping[str, str] | None
Presenter = Callable[[str, Sequence[ModelKind], list[Result], Labels], dict[str, Table]]


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


def regression_tables(
    stem: str, caption: str, group: Sequence[Result], labels: Labels, **kw: Any
) -> dict[str, Table]:
    """One regression table per block of at most ``MAX_COLUMNS`` models; continuation tables get the
    stems ``<stem>_2``, ``<stem>_3``, … and say "(continued)"."""
    out: dict[str, Table] = {}
    if "column_names" not in kw:
        kw["column_names"] = short_names([r["model"] for r in group])
    for b, block in enumerate(chunk(list(group), MAX_COLUMNS)):
        if not block:
            continue
        name = stem if b == 0 else f"{stem}_{b + 1}"
        cap = caption if b == 0 else f"{caption} (continued)"
        names = kw["column_names"][b * MAX_COLUMNS : b * MAX_COLUMNS + len(block)]
        out[name] = regression_table(block, caption=cap, labels=labels, **{**kw, "column_names": names})
    return out


def _column_heading(kind: ModelKind, res: Result) -> str:
    spec = res.get("specification") or {}
    if kind.columns == "cause":
        return str(spec.get("cause") or res["model"])
    return str(spec.get("event") or res["model"]).capitalize()


def _regression(
    stem: str, kinds: Sequence[ModelKind], results: list[Result], labels: Labels
) -> dict[str, Table]:
    """All results of the table side by side (failed fits keep their column, with the reason); the
    equations the table's kinds declare become labelled panels (kinds sharing a table: each label)."""
    kind = kinds[0]
    group = sorted(results, key=kind.sort or nesting_order)
    kw: dict[str, Any] = {}
    if kind.columns != "model":
        kw["column_names"] = [_column_heading(kind, r) for r in group]
    if "n_star_label" in kind.options:
        kw["n_star_label"] = kind.options["n_star_label"]
    equations = tuple(e for k in kinds for e in k.equations)
    if equations:
        kw["equations"] = equations
    out = regression_tables(stem, kind.caption, group, labels, **kw)
    note = kind.options.get("note_from_specification")
    if note and group:
        key, template = note
        value = dig(group[0], "specification", key)
        if value:
            for t in out.values():
                t.notes.append(template.format(value))
    tests_stem = kind.options.get("tests_table")
    head = headline(group)
    if tests_stem and head is not None and head.get("tests"):
        out[tests_stem] = model_tests_table(
            head, caption=f"Tests of the Cox model {head['model']} (incl. Grambsch\u2013Therneau PH tests)"
        )
    return out


def _sequences(
    stem: str, kinds: Sequence[ModelKind], results: list[Result], labels: Labels
) -> dict[str, Table]:
    out: dict[str, Table] = {}
    for seq_stem, caption, group in founding_sequences({r["model"]: r for r in results}, stem=stem):
        out.update(regression_tables(seq_stem, caption, sorted(group, key=nesting_order), labels))
    return out


def _km(stem: str, kinds: Sequence[ModelKind], results: list[Result], labels: Labels) -> dict[str, Table]:
    return {stem: km_summary_table(results, caption=kinds[0].caption)}


def _size_variance(
    stem: str, kinds: Sequence[ModelKind], results: list[Result], labels: Labels
) -> dict[str, Table]:
    return {stem: size_variance_table(results)}


def _capacity(
    stem: str, kinds: Sequence[ModelKind], results: list[Result], labels: Labels
) -> dict[str, Table]:
    """Carrying capacity K of the logistic curve beside the equilibrium density N* (either may be absent)."""
    by_role: dict[str, Result] = {}
    for res in results:
        by_role.setdefault(str(kind_of(res).options.get("role")), res)
    curve, equilibrium = by_role.get("curve"), by_role.get("equilibrium")
    out = {stem: capacity_table(curve, equilibrium, caption=kinds[0].caption)}
    quality_stem = kind_of(curve).options.get("quality_table") if curve is not None else None
    if curve is not None and quality_stem:
        quality = data_quality_table(curve, caption="Population-series rows used in the logistic fit")
        if quality is not None:
            out[quality_stem] = quality
    return out


def _breaks(stem: str, kinds: Sequence[ModelKind], results: list[Result], labels: Labels) -> dict[str, Table]:
    return {stem: breaks_table(results, caption=kinds[0].caption)}


PRESENTERS: dict[str, Presenter] = {
    "regression": _regression,
    "regression_sequences": _sequences,
    "km_summary": _km,
    "size_variance": _size_variance,
    "capacity": _capacity,
    "breaks": _breaks,
}


def area_tables(models: Mapping[str, Result], labels: Labels) -> dict[str, Table]:
    """Every table of one chapter: results grouped by their kind's table, tables in the kinds' order.

    A result whose kind is not registered raises :class:`analysis.registry.UnknownKindError`; kinds with
    the presentation ``none`` (cumulative incidence, not-applicable outcomes) have no table."""
    tables: dict[str, tuple[list[ModelKind], list[Result]]] = {}
    for res in models.values():
        kind = kind_of(res)
        if kind.presentation == "none":
            continue
        kinds, results = tables.setdefault(kind.table, ([], []))
        if kind not in kinds:
            kinds.append(kind)
        results.append(res)
    out: dict[str, Table] = {}
    for stem, (kinds, results) in sorted(tables.items(), key=lambda kv: min(k.order for k in kv[1][0])):
        kinds.sort(key=lambda k: k.order)
        made = PRESENTERS[kinds[0].presentation](stem, kinds, results, labels)
        for table in made.values():
            table.section = kinds[0].section
        out.update(made)
    return out
