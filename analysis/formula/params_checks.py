"""The formulas in ``params.yaml`` resolve against the columns a dataset's event histories will have.

Each check takes a stage's effective params block and the dataset's columns
(:class:`pipeline.core.dataset_columns.Columns`) and returns problems as messages naming the params key,
never raising: the founding sequence, the exit-rate steps and the equilibrium's pairing, the survival steps,
the growth and stagnation formulas and the subset conditions parse in the safe grammar, nest, use only the
specials their family accepts and name only built-in terms and columns (an unknown name gets the nearest
valid ones). Run by :func:`pipeline.core.names.check_names` when params load.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from analysis.formula import growth as _growth
from analysis.formula import stagnation as _stagnation
from analysis.formula import survival as _survival
from analysis.formula.errors import FormulaError
from analysis.formula.grammar import parse_expression, render
from analysis.formula.steps import expand_steps, expanded_terms, nested_formulas, step_texts
from analysis.formula.vocabulary import SPECIALS, check_formula, check_subset, names_in, scope_for, summands
from pipeline.core.dataset_columns import (
    Columns,
    measure_aliases,
    org_year_columns,
    population_columns,
    spell_columns,
)
from pipeline.core.nearest import check_list, unknown_name_message


def founding_step_names(steps: dict[str, Any]) -> list[str]:
    """Step names that produce a model (a step after the first that adds no new term is skipped)."""
    try:
        return [name for name, _ in nested_formulas(list(steps.items()), outcome="foundings")]
    except FormulaError:
        return list(steps)  # the formula problem itself is reported by check_founding_formulas


def refused_specials(steps: dict[str, Any], outcome: str, accepted: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(step, special)`` for every special of every step (also a step that adds nothing else, which the
    nested sequence skips) that the model family does not accept."""
    try:
        formulas = expand_steps(step_texts(list(steps.items()), outcome=outcome))
    except FormulaError:
        return []  # reported by the formula checks
    out: list[tuple[str, str]] = []
    for name, f in formulas:
        for _, term in summands(f.rhs):
            func = getattr(term, "func", None)
            if func in SPECIALS and func not in accepted and (name, func) not in out:
                out.append((name, func))
    return out


def check_founding_formulas(at: str, spec: dict[str, Any], cols: Columns, ds: dict[str, Any]) -> list[str]:
    """Every step of the founding sequence parses, nests, and names only built-in terms and columns."""
    problems: list[str] = []
    where = f"{at}: fit_founding.spec.steps"
    columns = population_columns(cols, ds)
    scope = scope_for("population", columns)
    try:
        formulas = nested_formulas(list(spec["steps"].items()), outcome="foundings", where=where)
    except FormulaError as exc:
        return [str(exc)]
    used: list[str] = []
    for name, formula in formulas:
        try:
            check_formula(formula, scope)
        except FormulaError as exc:
            if exc.name and exc.reason.startswith("unknown term"):
                problems.append(
                    unknown_name_message(
                        f"{where}.{name}",
                        exc.name,
                        [*scope.builtins(), *columns],
                        "a founding-model term of this dataset",
                    )
                )
            else:
                problems.append(str(exc.located(f"{where}.{name}")))
            continue
        for _, term in summands(formula.rhs):
            used += [n for n in names_in(term) if n not in used]
    for name, special in refused_specials(spec["steps"], "foundings", ("offset", "exposure")):
        problems.append(
            f"{where}.{name}: {special}() is not accepted by the founding count models (accepted: offset, "
            "exposure; subpopulation panels are clustered by subpopulation through fit_founding.panel_se_type)"
        )
    if spec.get("subset"):
        try:
            check_subset(parse_expression(spec["subset"]), scope, spec["subset"])
        except FormulaError as exc:
            problems.append(str(exc.located(f"{at}: fit_founding.spec.subset")))
    if "mass" in used and not cols.has_mass:
        problems.append(
            f"{where}: the term 'mass' needs a size measure (panel measures: size), which this dataset lacks"
        )
    if "period" in used and not spec.get("period_column"):
        problems.append(
            f"{where} use the term 'period' but fit_founding.spec.period_column is not "
            f"set (one of: {', '.join(cols.period_columns()) or '(none declared)'})"
        )
    return problems


def resolve_formula_names(
    problems: list[str],
    where: str,
    formulas: Iterable[tuple[str, Any]],
    unit: str,
    columns: list[str],
    aliases: dict[str, str],
    what: str,
) -> list[str]:
    """Check every name of ``formulas`` on ``unit`` (unknown: the one message with nearest names); the names used."""
    scope = scope_for(unit, columns, aliases=aliases)
    used: list[str] = []
    for name, formula in formulas:
        place = f"{where}.{name}" if name else where
        try:
            check_formula(formula, scope)
        except FormulaError as exc:
            if exc.name and exc.reason.startswith("unknown term"):
                valid = [*scope.builtins(), *columns, *aliases]
                problems.append(unknown_name_message(place, exc.name, valid, what))
            else:
                problems.append(str(exc.located(place)))
            continue
        for _, term in summands(formula.rhs):
            used += [n for n in names_in(term) if n not in used]
    return used


def check_growth_formula(at: str, cfg: dict[str, Any], cols: Columns, ds: dict[str, Any]) -> list[str]:
    """The Gibrat formula parses, has log_size and cluster(org_id), and names only terms and columns."""
    where = f"{at}: fit_growth.formula"
    if _growth.uses_legacy_names(cfg):
        return []  # the legacy lists are checked one by one by the caller
    if any(cfg.get(k) is not None for k in ("covariates", "age_terms", "environment")):
        return [
            f"{at}: fit_growth gives both formula and covariates/age_terms/environment (names); the formula "
            "replaces them: put those names into it and remove the lists"
        ]
    try:
        formula = _growth.growth_formula(cfg, where=where)
    except FormulaError as exc:
        return [str(exc)]
    problems: list[str] = []
    _org_year_formula(problems, where, formula, cols, ds, "growth")
    return problems


def _org_year_formula(
    problems: list[str], where: str, formula: Any, cols: Any, ds: dict[str, Any], family: str
) -> None:
    """Resolve the names of an organization-year formula (growth, stagnation) and refuse ``period``, a
    founding-only term, naming the column to write instead."""
    what = f"a {family}-model term of this dataset (organization-year columns and built-in terms)"
    used = resolve_formula_names(
        problems, where, [("", formula)], "org_year", org_year_columns(cols), measure_aliases(ds), what
    )
    if "period" in used:
        problems.append(
            f"{where}: the term 'period' is defined for founding models (fit_founding.spec.period_column); in "
            f"{family} formulas name the column itself, e.g. "
            f"C({(cols.env_categorical or ('policy_period',))[0]})"
        )


def check_equilibrium_terms(at: str, step: str, founding: dict[str, Any], exits: dict[str, Any]) -> list[str]:
    """The founding and exit-rate models the equilibrium pairs have only the intercept and density terms."""
    allowed = {"1", "density", "density_sq"}
    out = []
    for what, steps, outcome in (
        ("fit_founding.spec.steps", founding, "foundings"),
        ("fit_bottleneck.exit_rate.steps", exits, "exits"),
    ):
        try:
            formula = dict(nested_formulas(list(steps.items()), outcome=outcome))[step]
        except (FormulaError, KeyError):
            continue  # reported by the formula checks
        extra = [t for t in expanded_terms(formula) if t not in allowed]
        if extra:
            out.append(
                f"{at}: fit_bottleneck.equilibrium.founding_step {step!r}: the equilibrium density solves expected "
                f"foundings = expected exits in N, so {what}.{step} may only have the intercept, density and "
                f"density_sq (it has {', '.join(extra)}); choose another step"
            )
    return out


def check_exit_rate_formulas(
    at: str, cfg: dict[str, Any], cols: Columns, ds: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """The exit-rate steps parse, nest, accept only offset(log_density) and name only series terms and
    columns; returns the step names (for the equilibrium's pairing) and the problems."""
    where = f"{at}: fit_bottleneck.exit_rate.steps"
    try:
        formulas = nested_formulas(list(cfg["steps"].items()), outcome="exits", where=where)
    except FormulaError as exc:
        return list(cfg["steps"]), [str(exc)]
    problems: list[str] = []
    for name, special in refused_specials(cfg["steps"], "exits", ("offset",)):
        problems.append(
            f"{where}.{name}: {special}() is not accepted by the exit-rate models (accepted: offset(log_density), "
            "the exit rate per organization)"
        )
    for name, f in formulas:
        for _, t in summands(f.rhs):
            if getattr(t, "func", None) == "offset" and render(t) != "offset(log_density)":
                problems.append(
                    f"{where}.{name}: {render(t)} is not accepted by the exit-rate models (accepted: "
                    "offset(log_density), the exit rate per organization)"
                )
    what = "an exit-rate term of this dataset (population-series columns and built-in terms)"
    resolve_formula_names(problems, where, formulas, "population", population_columns(cols, ds), {}, what)
    return [name for name, _ in formulas], problems


def check_stagnation_formula(at: str, cfg: dict[str, Any], cols: Columns, ds: dict[str, Any]) -> list[str]:
    """The stagnation formula is one-sided with cluster(org_id) and names only terms and columns (or the legacy
    list names organization-year columns)."""
    where = f"{at}: fit_bottleneck.stagnation.formula"
    problems: list[str] = []
    if _stagnation.uses_legacy_names(cfg):
        check_list(
            problems,
            f"{at}: fit_bottleneck.stagnation.covariates",
            _stagnation.legacy_covariates(cfg),
            cols.stagnation_covariates(),
            "an organization-year column of this dataset",
        )
        return problems
    if cfg.get("covariates") is not None:
        return [
            f"{at}: fit_bottleneck.stagnation gives both formula and covariates (names); the formula replaces "
            "them: put those names into it and remove covariates"
        ]
    try:
        formula = _stagnation.stagnation_formula(cfg, where=where)
    except FormulaError as exc:
        return [str(exc)]
    _org_year_formula(problems, where, formula, cols, ds, "stagnation")
    return problems


def check_subset_text(where: str, text: str, unit: str, columns: list[str]) -> list[str]:
    """A subset condition parses in the safe grammar and names only columns of the unit's frame."""
    try:
        check_subset(parse_expression(text), scope_for(unit, columns), text)
    except FormulaError as exc:
        return [str(exc.located(where))]
    return []


def check_survival_formulas(at: str, cfg: dict[str, Any], cols: Columns, ds: dict[str, Any]) -> list[str]:
    """The nested Cox steps parse, nest, accept only strata()/cluster() and name only terms and columns."""
    where = f"{at}: fit_survival.steps"
    legacy = _survival.uses_legacy_names(cfg)
    if not legacy and (cfg.get("controls") is not None or cfg.get("environment") is not None):
        return [
            f"{at}: fit_survival gives both steps (formulas) and controls/environment (names); the steps replace "
            "them: put those names into the formulas (e.g. '+ procurement_budget') and remove controls/environment"
        ]
    try:
        formulas = _survival.survival_formulas(cfg, where=where)
    except FormulaError as exc:
        return [str(exc)]
    problems: list[str] = []
    if cfg["se_type"] != "model" and _survival.cluster_of(formulas[-1][1]) is None:
        problems.append(
            f"{where}: fit_survival.se_type is {cfg['se_type']} but the formulas have no cluster() term; add "
            "'+ cluster(org_id)' (clustered by organization) or set se_type: model"
        )
    if cfg.get("subset"):
        problems += check_subset_text(
            f"{at}: fit_survival.subset", cfg["subset"], "spell", spell_columns(cols)
        )
    if legacy:
        return problems  # the names of controls/environment are checked one by one by the caller
    what = "a survival-model term of this dataset (spell columns and built-in terms)"
    used = resolve_formula_names(
        problems, where, formulas, "spell", spell_columns(cols), measure_aliases(ds), what
    )
    if cfg.get("subset"):
        problems += check_subset_text(
            f"{at}: fit_survival.subset", cfg["subset"], "spell", spell_columns(cols)
        )
    if "mass" in used and not cols.has_mass:
        problems.append(
            f"{where}: the term 'mass' needs a size measure (panel measures: size), which this dataset lacks"
        )
    if "period" in used:
        problems.append(
            f"{where}: the term 'period' is defined for founding models (fit_founding.spec.period_column); in "
            f"survival formulas name the column itself, e.g. C({(cols.env_categorical or ('policy_period',))[0]})"
        )
    return problems
