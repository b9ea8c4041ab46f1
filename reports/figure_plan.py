"""Which figures a dataset's report gets, dispatched on the model registry (``analysis/registry.py``).

A kind declares the figures it is drawn in (``ModelKind.figures``: ``multiplier``, ``km``,
``predicted_survival``, ``mortality_multiplier``, ``hazard_by_age``, ``cif``, ``growth_vs_size``, ``logistic``, ``supf``). This module maps each figure name
to the results it draws (every converged one, the first, or the headline per level), its file stem and its
caption. Nothing here tests a model's name: a new kind that declares an existing figure gets it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from analysis.registry import AREAS, kind_of, kinds_in
from reports.collect import km_frame
from reports.selection import converged, headline_founding

Result = Mapping[str, Any]


@dataclass(frozen=True)
class PlannedFigure:
    """One figure to draw: ``drawer`` names a function of :mod:`reports.figures`."""

    stem: str
    drawer: str
    caption: str
    args: tuple[Any, ...]
    full: bool = False
    #: The report section it stands in: the declaring kind's ``section``.
    section: str | None = None


def _multiplier(results: list[Result], org_years: pd.DataFrame | None) -> list[PlannedFigure]:
    out = []
    for level, res in headline_founding({r["model"]: r for r in results}):
        stem = "founding_multiplier" if level is None else f"founding_multiplier_panel_{level}"
        where = "population level" if level is None else f"{level.replace('_', ' ')} panel"
        caption = (
            "Founding multiplier exp(b1 N + b2 N\u00b2) over the observed density range with N* and 95% CIs "
            f"({where}, {res['model']})"
        )
        out.append(PlannedFigure(stem, "multiplier_figure", caption, (res,)))
    return out


def _km(results: list[Result], org_years: pd.DataFrame | None) -> list[PlannedFigure]:
    out = []
    for res in results:
        if not converged(res) or km_frame(res) is None:
            continue
        group = str((res.get("specification") or {}).get("group") or "")
        suffix = group or res["model"].removeprefix("km_")
        cap = (
            f"Kaplan\u2013Meier survival by {group}"
            if group
            else "Kaplan\u2013Meier survival, all organizations"
        )
        many = km_frame(res)["group"].nunique() > 6  # needs the room for its legend
        out.append(
            PlannedFigure(
                f"survival_km_{suffix}",
                "km_figure",
                cap + " (95% CIs where at most six groups)",
                (res,),
                many,
            )
        )
    return out


def _predicted_survival(results: list[Result], org_years: pd.DataFrame | None) -> list[PlannedFigure]:
    return [
        PlannedFigure(
            f"survival_predicted_{r['model']}",
            "predicted_survival_figure",
            f"Predicted survival by covariate profile with 95% CIs ({r['model']})",
            (r,),
        )
        for r in results
        if converged(r) and "predicted_survival" in (r.get("curves") or {})
    ]


def _mortality_multiplier(results: list[Result], org_years: pd.DataFrame | None) -> list[PlannedFigure]:
    return [
        PlannedFigure(
            f"survival_mortality_multiplier_{r['model']}",
            "mortality_multiplier_figure",
            "Mortality multiplier exp(g1 N + g2 N\u00b2) over the observed density range with N* (density of "
            f"extreme mortality) and 95% CIs ({r['model']})",
            (r,),
        )
        for r in results
        if converged(r) and "mortality_multiplier" in (r.get("curves") or {})
    ]


def _hazard_by_age(results: list[Result], org_years: pd.DataFrame | None) -> list[PlannedFigure]:
    return [
        PlannedFigure(
            f"survival_hazard_{r['model']}",
            "hazard_by_age_figure",
            f"Baseline hazard of death by age piece, 95% CIs ({r['model']})",
            (r,),
        )
        for r in results
        if converged(r) and "hazard_by_age" in (r.get("curves") or {})
    ]


#: Captions of the cumulative-incidence figure per chapter (mortality: death vs competing exits;
#: bottleneck: stagnation vs dissolution).
_CIF = {
    "survival": "Cumulative incidence of death and competing exits (Aalen\u2013Johansen), 95% CIs",
    "bottleneck": "Cumulative incidence of stagnation and dissolution (competing risks)",
}


def _cif(results: list[Result], org_years: pd.DataFrame | None) -> list[PlannedFigure]:
    first = next((r for r in results if "cif" in (r.get("curves") or {})), None)
    if first is None:
        return []
    area = kind_of(first).area
    return [PlannedFigure(f"{area}_cif", "cif_figure", _CIF[area], (first,))]


def _growth_vs_size(results: list[Result], org_years: pd.DataFrame | None) -> list[PlannedFigure]:
    if org_years is None or "growth" not in org_years:
        return []

    def has_size(r: Result) -> bool:
        return any(t["term"] == "log_size" for t in r.get("terms", []))

    gib = next((r for r in results if has_size(r) and "beta" in (r.get("derived") or {})), None)
    gib = gib or next((r for r in results if has_size(r)), None)
    caption = "Growth against size (survivors): organization-years, binned means and the Gibrat slope"
    return [PlannedFigure("growth_vs_size", "growth_figure", caption, (org_years, gib))]


def _logistic(results: list[Result], org_years: pd.DataFrame | None) -> list[PlannedFigure]:
    first = next((r for r in results if "logistic" in (r.get("curves") or {}) and r.get("terms")), None)
    caption = "Carrying capacity: observed density, fitted logistic curve, K and the year of 90% of K"
    return (
        [] if first is None else [PlannedFigure("bottleneck_logistic", "logistic_figure", caption, (first,))]
    )


def _supf(results: list[Result], org_years: pd.DataFrame | None) -> list[PlannedFigure]:
    return [
        PlannedFigure(
            f"bottleneck_supf_{r['model']}",
            "supf_figure",
            f"Sup-F sequence over candidate break years ({r['model']})",
            (r,),
        )
        for r in results
        if converged(r) and "f_stat" in (r.get("curves") or {})
    ]


FIGURES: dict[str, Callable[[list[Result], pd.DataFrame | None], list[PlannedFigure]]] = {
    "multiplier": _multiplier,
    "km": _km,
    "predicted_survival": _predicted_survival,
    "mortality_multiplier": _mortality_multiplier,
    "hazard_by_age": _hazard_by_age,
    "cif": _cif,
    "growth_vs_size": _growth_vs_size,
    "logistic": _logistic,
    "supf": _supf,
}


def plan_figures(
    results: Mapping[str, Mapping[str, Result]], org_years: pd.DataFrame | None = None
) -> list[PlannedFigure]:
    """The model figures of one dataset in report order: chapters in order, then the kinds of each chapter
    in their declared order, each kind's results in the order they were loaded."""
    out: list[PlannedFigure] = []
    for area in AREAS:
        models = list((results.get(area) or {}).values())
        for kind in kinds_in(area):
            mine = [r for r in models if kind_of(r) is kind]
            for figure in kind.figures:
                # growth against size is drawn from the organization-years whenever the chapter has results
                if mine or (figure == "growth_vs_size" and models):
                    out.extend(replace(p, section=kind.section) for p in FIGURES[figure](mine, org_years))
    return out


def figure_sections(results: Mapping[str, Mapping[str, Result]]) -> dict[str, str | None]:
    """``{figure stem: report section}`` of a dataset's model figures (the declaring kinds' sections)."""
    return {p.stem: p.section for p in plan_figures(results)}
