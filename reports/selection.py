"""Which results go into which table and which models get a figure.

A dataset can hold dozens of fitted models (population-level Poisson and negative binomial sequences, one
sequence per subpopulation panel, nested Cox models, cause-specific hazards, …). Putting them all side by
side, or drawing a founding multiplier for each, makes a report unreadable. These pure functions sort the
result dictionaries into the groups a reader expects — one table per nested sequence, at most
:data:`MAX_COLUMNS` model columns each — and pick the *headline* model of each founding sequence for the
multiplier figure. They read only the recorded model name, family, specification and fit status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from analysis.registry import kind_of

#: Most model columns a regression table carries before it is split into continuation tables.
MAX_COLUMNS = 5

Result = Mapping[str, Any]

_PANEL = re.compile(r"^panel_(?P<var>.+?)_(?:poisson|nb|negative_binomial)(?:_|$)")
_FAMILY_NAMES = {"poisson": "Poisson", "negative_binomial": "negative binomial (NB2)"}


def converged(res: Result) -> bool:
    """Whether the model was estimated (failed fits keep their column but never headline a figure)."""
    return bool((res.get("fit") or {}).get("converged", True))


def panel_variable(res: Result) -> str | None:
    """The subpopulation variable of a panel founding model (``district`` for ``panel_district_nb_…``
    or a recorded ``specification.fixed_effects.variable``); ``None`` for population-level models."""
    fe = (res.get("specification") or {}).get("fixed_effects")
    if isinstance(fe, Mapping) and fe.get("variable"):
        return str(fe["variable"])
    m = _PANEL.match(str(res.get("model", "")))
    return m.group("var") if m else None


def chunk(items: Sequence[Any], size: int = MAX_COLUMNS) -> list[list[Any]]:
    """Split ``items`` into consecutive blocks of at most ``size`` (a wide sequence becomes a table and
    its continuation)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)] or [[]]


def founding_sequences(
    models: Mapping[str, Result], stem: str = "founding"
) -> list[tuple[str, str, list[Result]]]:
    """Founding models grouped by nested sequence: ``(stem, caption, results)``.

    One group per level (population, then each subpopulation panel variable in order of appearance) and
    family (Poisson, then negative binomial), so that each table holds one nested sequence — baseline,
    +density, +density², +covariates — whose "LR vs previous column" rows read naturally.
    """
    groups: dict[tuple[str, str], list[Result]] = {}
    for res in models.values():
        var = panel_variable(res)
        level = "" if var is None else var
        fam = res.get("family", "other")
        groups.setdefault((level, fam), []).append(res)
    levels = list(dict.fromkeys(level for level, _ in groups))
    levels.sort(key=lambda v: v != "")
    out = []
    for level in levels:
        fams = [f for lv, f in groups if lv == level]
        fams.sort(key=lambda f: ({"poisson": 0, "negative_binomial": 1}.get(f, 2), f))
        for fam in fams:
            short = {"poisson": "poisson", "negative_binomial": "nb"}.get(fam, fam)
            name = f"{stem}_{short}" if not level else f"{stem}_panel_{level}_{short}"
            where = (
                "population level (population-years)"
                if not level
                else f"subpopulation panel by {level.replace('_', ' ')} ({level.replace('_', ' ')} \u00d7 year)"
            )
            caption = f"Founding rate, {where}: {_FAMILY_NAMES.get(fam, fam)}"
            out.append((name, caption, groups[(level, fam)]))
    return out


def _has_density2(res: Result) -> bool:
    terms = {t["term"] for t in res.get("terms", [])}
    return {"density", "density_sq"} <= terms


def headline_founding(models: Mapping[str, Result]) -> list[tuple[str | None, Result]]:
    """The headline founding model per level (population, then each panel variable): the largest
    converged negative-binomial model with both density terms, else the largest such Poisson model.
    Levels without any converged model with both density terms get no figure."""
    by_level: dict[str | None, list[Result]] = {}
    for res in models.values():
        by_level.setdefault(panel_variable(res), []).append(res)
    out = []
    for level in sorted(by_level, key=lambda v: (v is not None, v or "")):
        candidates = [r for r in by_level[level] if converged(r) and _has_density2(r)]
        for fam in ("negative_binomial", "poisson"):
            fam_c = [r for r in candidates if r.get("family") == fam]
            if fam_c:
                best = max(fam_c, key=lambda r: (len(r.get("terms", [])), r["model"]))
                out.append((level, best))
                break
    return out


def is_cox(res: Result) -> bool:
    return res.get("family") == "cox"


def is_cause_specific(res: Result) -> bool:
    """Cause-specific hazards of one competing exit (the registry's ``competing_risks`` capability on a
    regression-presented kind)."""
    kind = kind_of(res)
    return kind.presentation == "regression" and "competing_risks" in kind.capabilities


def headline(results: Sequence[Result]) -> Result | None:
    """The converged model with the most terms (its tests are shown in their own table)."""
    cands = [r for r in results if converged(r)]
    return max(cands, key=lambda r: (len(r.get("terms", [])), r["model"])) if cands else None


def headline_cox(models: Mapping[str, Result]) -> Result | None:
    """The all-cause Cox model with the most terms among the converged ones (its PH tests are shown)."""
    return headline([r for r in models.values() if is_cox(r) and not is_cause_specific(r)])


def is_exit_rate(res: Result) -> bool:
    """Population-level exit-rate count models of the bottleneck stage (not founding models)."""
    return kind_of(res).name == "exit_rate"


def is_break(res: Result) -> bool:
    """Structural-break tests (the registry's ``breaks`` presentation)."""
    return kind_of(res).presentation == "breaks"


def of_kind(models: Mapping[str, Result], kind: str, *, converged_only: bool = True) -> list[Result]:
    """The results of one registered kind (``analysis/registry.py``), in the order they were loaded."""
    return [r for r in models.values() if kind_of(r).name == kind and (converged(r) or not converged_only)]


#: The series a structural-break test was run on, by its recorded response.
BREAK_SERIES = {"log(1+F_t)": "foundings", "(N_{t+1}-N_t)/N_t": "density_growth"}


def break_series(res: Result) -> str | None:
    """``foundings`` or ``density_growth`` for the bundled break tests (by the recorded response)."""
    return BREAK_SERIES.get(str((res.get("specification") or {}).get("response")))


#: Readable names of the series the sup-F break tests are run on.
SERIES_LABELS = {
    "break_founding_log1p": "Foundings, log(1 + F_t)",
    "break_density_growth": "Density growth (N_{t+1} \u2212 N_t)/N_t",
}


def series_label(res: Result) -> str:
    """The tested series of a structural-break result, for tables and figure titles."""
    spec = res.get("specification") or {}
    return SERIES_LABELS.get(str(res.get("model"))) or str(
        spec.get("series") or spec.get("response") or res["model"]
    )
