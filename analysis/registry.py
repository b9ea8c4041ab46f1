"""The model registry: every kind of fitted model declares, in its own module, what it is and how it is shown.

A result file names its ``kind`` (``founding_count``, ``cox``, ``logistic_capacity``, …). The kind's
declaration says which area (report chapter) it belongs to, which table presents it (stem, caption, how
its columns are named and ordered), which derived quantities it may carry and in which units, and what
it can do (clustered SEs, offsets, strata, competing risks, …). Tables, the report and the checks dispatch
on the declaration, never on the model's name or on which keys its result happens to hold, so a new model
is one module: its fitter plus its ``MODEL_KINDS``.

Declarations live beside the fitters (``MODEL_KINDS = (ModelKind(...), ...)`` at module level);
:func:`kinds` finds the declaring modules statically and imports only those, once. Presentations are
names (``regression``, ``km_summary``, ``capacity``, …) that ``reports/`` maps to table builders, so this
module imports nothing from reports.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

Result = Mapping[str, Any]

#: Report chapters, in report order.
AREAS = ("founding", "survival", "growth", "bottleneck")

#: How a table's model columns are headed: by model name (shared prefix removed), or by a value the
#: specification records (the competing exit, the hazard's event).
COLUMN_HEADINGS = ("model", "cause", "event")

#: Presentations the reports know (``reports/presenters.py`` maps each to a table builder).
PRESENTATIONS = (
    "regression",  # one regression table (continued every five columns) of all results of the table
    "regression_sequences",  # one regression table per nested sequence (level × family): founding
    "km_summary",  # Kaplan-Meier survival at fixed ages and median lifetime, per grouping
    "size_variance",  # scaling of growth variance with size
    "capacity",  # carrying capacity K (logistic curve) beside equilibrium density N*
    "breaks",  # sup-F structural-break tests
    "none",  # shown only as a figure or a statement (cumulative incidence, not-applicable outcomes)
)

#: Figures the reports know (``reports/figure_plan.py`` maps each to the results it draws and a stem).
FIGURES = (
    "multiplier",
    "km",
    "predicted_survival",
    "mortality_multiplier",
    "hazard_by_age",
    "cif",
    "growth_vs_size",
    "logistic",
    "supf",
)

#: The titled sections of each report chapter, in report order; every kind of a chapter that has sections
#: names one (``ModelKind.section``), and the report places the kind's tables and figures under it.
SECTIONS: Mapping[str, tuple[str, ...]] = {
    "founding": (),
    "survival": ("Survival curves", "Cox proportional hazards", "Hazard by age", "Competing exits"),
    "growth": (),
    "bottleneck": (
        "Carrying capacity and exit rates",
        "Structural breaks",
        "Stagnation and dissolution",
    ),
}
#: Capability vocabulary (what a kind's fitter supports; the report and ``check-params`` read it).
CAPABILITIES = frozenset(
    {
        "cluster",  # cluster-robust (CR0/CR1) standard errors
        "offset",  # exposure offset
        "fixed_effects",  # subpopulation / organization / year fixed effects
        "strata",  # stratified baseline hazard
        "delayed_entry",  # left truncation (spells entering the window after founding)
        "time_varying",  # covariates varying over a spell (counting-process data)
        "competing_risks",  # cause-specific exits
        "profile_intervals",  # profile-likelihood intervals for derived quantities
        "bootstrap",  # bootstrap intervals
        "turning_point",  # density at the extreme of a quadratic density effect (delta-method CI)
    }
)


@dataclass(frozen=True)
class Derived:
    """One derived quantity a kind may report: its unit and what it is (for the appendix and the checks)."""

    unit: str
    meaning: str


@dataclass(frozen=True)
class Equation:
    """One equation of a multi-equation model (e.g. the count and zero equations of a two-part model):
    the prefix of its parameter names (``"count:"``) and the label of its panel in regression tables."""

    prefix: str
    label: str


@dataclass(frozen=True)
class ModelKind:
    """The declaration of one kind of fitted model.

    ``table`` is the stem of the table that presents it (kinds sharing a stem are presented together,
    e.g. the logistic carrying capacity beside the equilibrium density); ``order`` places the table in its
    chapter; ``sort`` orders the model columns (a function of the result, default: nesting order by
    model name); ``derived`` declares every key the kind's results may carry under ``derived``;
    ``equations`` the equations of a multi-equation model, in table order (regression tables show one
    labelled panel per equation, term names without the prefix; empty: one unprefixed equation).
    """

    name: str
    area: str
    presentation: str
    caption: str
    table: str
    order: int
    derived: Mapping[str, Derived] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()
    columns: str = "model"
    sort: Callable[[Result], Any] | None = None
    #: Figures the kind's results are drawn in (names from :data:`FIGURES`).
    figures: tuple[str, ...] = ()
    #: Presentation options (e.g. the row label of the turning point in an exit-rate table).
    options: Mapping[str, Any] = field(default_factory=dict)
    equations: tuple[Equation, ...] = ()
    description: str = ""
    #: The report section of the chapter its tables and figures stand in (one of ``SECTIONS[area]``).
    section: str | None = None

    def __post_init__(self) -> None:
        prefixes = [e.prefix for e in self.equations]
        if len(set(prefixes)) != len(prefixes) or any(not p for p in prefixes):
            raise ValueError(f"model kind {self.name!r}: equation prefixes must be distinct and non-empty")
        if self.area not in AREAS:
            raise ValueError(f"model kind {self.name!r}: area {self.area!r} is not one of {AREAS}")
        if self.presentation not in PRESENTATIONS:
            raise ValueError(f"model kind {self.name!r}: presentation {self.presentation!r} is unknown")
        if self.columns not in COLUMN_HEADINGS:
            raise ValueError(f"model kind {self.name!r}: columns {self.columns!r} not in {COLUMN_HEADINGS}")
        if set(self.figures) - set(FIGURES):
            raise ValueError(
                f"model kind {self.name!r}: unknown figures {sorted(set(self.figures) - set(FIGURES))}"
            )
        unknown = set(self.capabilities) - CAPABILITIES
        if unknown:
            raise ValueError(f"model kind {self.name!r}: unknown capabilities {sorted(unknown)}")
        shown = self.presentation != "none" or self.figures
        if self.area in SECTIONS and self.section is not None and self.section not in SECTIONS[self.area]:
            raise ValueError(
                f"model kind {self.name!r}: section {self.section!r} is not one of {SECTIONS[self.area]}"
            )
        if shown and SECTIONS.get(self.area) and self.section is None:
            raise ValueError(
                f"model kind {self.name!r}: the {self.area} chapter has sections {SECTIONS[self.area]}; "
                "name the one its tables and figures stand in (section=...)"
            )


#: The density at the extreme of a quadratic density effect (-b1/(2 b2)), shared by every kind that reports it.
DENSITY_EXTREMUM = Derived(
    "organizations", "density at the extreme of the quadratic density effect (delta-method CI)"
)


class UnknownKindError(KeyError):
    """A result names a kind no module declares (an error, never a silently dropped table)."""


#: Stage outcomes "this area does not apply to the dataset" (``family: none``), in every area.
NOT_APPLICABLE = "not_applicable"


def _not_applicable(area: str) -> ModelKind:
    return ModelKind(
        name=f"{NOT_APPLICABLE}_{area}",
        area=area,
        presentation="none",
        caption="",
        table="",
        order=99,
        description="the stage recorded why the area does not apply to this dataset",
    )


@dataclass(frozen=True)
class CountFamily:
    """A count family the founding sequences fit (``fit_founding.families``), declared beside its fitter.

    ``fit(y, x, *, offset, se_type, groups)`` returns an :class:`analysis.count_models.CountFit` (never
    raising for data problems); ``prefix`` names the models (``<prefix>_<step>``); ``kind`` is the
    registered :class:`ModelKind` of its results; ``count_prefix`` is the parameter-name prefix of the
    count (rate) equation, whose ``density`` / ``density_sq`` terms give N* (``"count:"`` for two-part
    models); ``equations`` the prefixes of every equation; ``options`` and ``notes`` are recorded in every result's specification and notes.
    """

    name: str
    prefix: str
    kind: str
    fit: Callable[..., Any]
    method: str
    variance: str
    count_prefix: str = ""
    #: Parameter-name prefixes of the equations (``("count:", "zero:")``; one unprefixed equation by default):
    #: fixed-effect dummies are listed (hidden from tables) under each.
    equations: tuple[str, ...] = ("",)
    se_types: tuple[str, ...] = ("observed", "cluster")
    profile_intervals: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    description: str = ""


def declaring_modules(package_dir: Path, package: str, attribute: str = "MODEL_KINDS") -> frozenset[str]:
    """Modules under ``package_dir`` (named ``package``) that assign ``attribute`` at module level.

    Found statically (``ast``, nothing imported), so the registry imports only the modules that declare
    kinds, and the stage graph (``pipeline/stages/code_deps.py``) counts exactly these as the report's
    code dependencies."""
    found: set[str] = set()
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            else:
                continue
            if any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
                rel = path.relative_to(package_dir).with_suffix("")
                parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
                found.add(".".join((package, *parts)))
                break
    return frozenset(found)


@lru_cache(maxsize=1)
def kinds() -> dict[str, ModelKind]:
    """Every declared kind, by name (the ``MODEL_KINDS`` of the ``analysis`` modules that declare any)."""
    found: dict[str, ModelKind] = {k.name: k for k in map(_not_applicable, AREAS)}
    for name in sorted(declaring_modules(Path(__file__).parent, "analysis") - {__name__}):
        for kind in importlib.import_module(name).MODEL_KINDS:
            if kind.name in found and found[kind.name] is not kind:
                raise ValueError(f"model kind {kind.name!r} is declared twice (again in {name})")
            found[kind.name] = kind
    return found


@lru_cache(maxsize=1)
def count_families() -> dict[str, CountFamily]:
    """Every declared count family, by name (the ``COUNT_FAMILIES`` of the ``analysis`` modules)."""
    found: dict[str, CountFamily] = {}
    for name in sorted(declaring_modules(Path(__file__).parent, "analysis", "COUNT_FAMILIES") - {__name__}):
        for fam in importlib.import_module(name).COUNT_FAMILIES:
            if fam.name in found:
                raise ValueError(f"count family {fam.name!r} is declared twice (again in {name})")
            found[fam.name] = fam
    for fam in found.values():
        declared = tuple(e.prefix for e in kinds()[fam.kind].equations) or ("",)
        if declared != fam.equations:
            raise ValueError(
                f"count family {fam.name!r}: equations {fam.equations} differ from those of its kind "
                f"{fam.kind!r} ({declared})"
            )
    prefixes = [f.prefix for f in found.values()]
    if len(set(prefixes)) != len(prefixes):
        raise ValueError(f"count families share a model-name prefix: {sorted(prefixes)}")
    return found


def count_family_names(root: Path | None = None) -> list[str]:
    """The registered count families' names, read statically from the declarations (nothing imported).

    The params loader validates ``fit_founding.families`` against these without importing the fitters;
    every ``CountFamily(...)`` of a ``COUNT_FAMILIES`` names itself with a string literal ``name=``
    (:func:`count_families` imports the modules and must agree)."""
    package_dir = root or Path(__file__).parent
    names: list[str] = []
    for module in sorted(declaring_modules(package_dir, "analysis", "COUNT_FAMILIES")):
        rel = Path(*module.split(".")[1:])
        path = package_dir / rel.with_suffix(".py")
        path = path if path.is_file() else package_dir / rel / "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if not any(isinstance(t, ast.Name) and t.id == "COUNT_FAMILIES" for t in targets):
                continue
            for call in ast.walk(node.value):
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "CountFamily":
                    kw = {k.arg: k.value for k in call.keywords}
                    if not (isinstance(kw.get("name"), ast.Constant) and isinstance(kw["name"].value, str)):
                        raise ValueError(f"{path}: a CountFamily in COUNT_FAMILIES lacks a literal name=")
                    names.append(kw["name"].value)
    return names


def count_family(name: str) -> CountFamily:
    """The declaration of count family ``name``; ``ValueError`` naming the registered ones otherwise."""
    try:
        return count_families()[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r} (registered: {', '.join(count_families())})") from None


def kind_of(result: Result) -> ModelKind:
    """The declaration of a result's kind; :class:`UnknownKindError` when none matches."""
    name = str(result.get("kind") or "")
    try:
        return kinds()[name]
    except KeyError:
        raise UnknownKindError(
            f"result {result.get('dataset')}/{result.get('model')} has kind {name!r}, which no module in "
            f"analysis/ declares (known: {', '.join(sorted(kinds()))})"
        ) from None


def kinds_in(area: str) -> list[ModelKind]:
    """The kinds of one report chapter, in table order."""
    return sorted((k for k in kinds().values() if k.area == area), key=lambda k: (k.order, k.name))


def undeclared_derived(result: Result) -> list[str]:
    """Derived keys a result carries that its kind does not declare (a renamed key shows up here)."""
    kind = kind_of(result)
    return sorted(set(result.get("derived") or {}) - set(kind.derived))
