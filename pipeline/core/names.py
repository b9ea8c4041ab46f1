"""Every name in ``params.yaml`` resolves before anything runs.

The JSON schema (``additionalProperties: false`` everywhere) catches unknown *keys*; this module checks
the *names used as values*: covariates, model terms, founding steps, group columns, dataset names. Each
name is checked against the columns the dataset's event histories will have, which follow from its own
declarations (panel ``measures``, ``environment.covariates`` / ``categorical``, register ``attributes``,
``group_columns``, a population series' ``columns`` and ``keep``) — so a typo is an error at load time,
never a term silently left out of a model. Whether a declared column exists in the raw file is checked by
``validate_inputs`` (file, column and the nearest header names).

Checks run on the *effective* stage blocks of each dataset (the global block with the dataset's
``models:`` overrides applied), for the stages that apply to the dataset's kind.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: Stage blocks that do not apply to population series (no organization-level data).
ORGANIZATION_ONLY = ("fit_survival", "fit_growth")


def nearest(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """The valid names closest to ``name`` (difflib ratio ≥ 0.5; case-insensitive), best first."""
    valid = list(dict.fromkeys(str(v) for v in valid))
    lower = {v.lower(): v for v in valid}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.5)
    return [lower[h] for h in hits]


def count_family_names() -> list[str]:
    """The count families ``fit_founding.families`` accepts: those registered in ``analysis`` (read
    statically from their ``COUNT_FAMILIES`` declarations, so loading params imports no fitter)."""
    from analysis.registry import count_family_names as registered

    return registered()


def unknown_name_message(where: str, name: str, valid: Iterable[str], what: str) -> str:
    """``where: 'name' is not <what>; nearest: …; valid: …`` (the one wording for unresolved names)."""
    valid = sorted(dict.fromkeys(str(v) for v in valid))
    near = nearest(name, valid)
    hint = f"; did you mean {' or '.join(repr(v) for v in near)}?" if near else ""
    listed = ", ".join(valid) if valid else "(none declared)"
    return f"{where}: {name!r} is not {what}{hint} (valid: {listed})"


@dataclass(frozen=True)
class Columns:
    """The columns a dataset's event histories will have, derived from its declarations in params."""

    kind: str
    measures: tuple[str, ...] = ()
    env_numeric: tuple[str, ...] = ()
    env_categorical: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    has_mass: bool = False

    @property
    def has_size(self) -> bool:
        return "size" in self.measures

    @classmethod
    def of(cls, ds: dict[str, Any]) -> Columns:
        if ds["kind"] == "population":
            pop = ds["population"]
            return cls(kind="population", keep=tuple(pop.get("keep", [])), has_mass="mass" in pop["columns"])
        panel = ds.get("panel") or {}
        env = ds.get("environment") or {}
        measures = tuple(panel.get("measures", {}))
        return cls(
            kind="organizations",
            measures=measures,
            env_numeric=tuple(env.get("covariates", [])),
            env_categorical=tuple(env.get("categorical", [])),
            attributes=tuple(ds["organizations"].get("attributes", [])),
            groups=tuple(ds.get("group_columns", [])),
            has_mass="size" in measures,
        )

    def size_terms(self) -> list[str]:
        return ["log_size", "mass"] if self.has_size else []

    def survival_controls(self) -> list[str]:
        """Spell columns usable as Cox/piecewise controls: panel measures, log size, mass."""
        return [*self.measures, *self.size_terms()]

    def growth_covariates(self) -> list[str]:
        """Organization-year columns usable beside log size in the Gibrat regression."""
        return [m for m in self.measures if m != "size"]

    def stagnation_covariates(self) -> list[str]:
        return [*self.growth_covariates(), "log_size", "density", "density_sq", *self.env_numeric]

    def period_columns(self) -> list[str]:
        if self.kind == "population":
            return list(self.keep)
        return [*self.env_categorical, *self.env_numeric]


def founding_step_names(steps: dict[str, Any]) -> list[str]:
    """Step names that produce a model (a step after the first that adds no new term is skipped)."""
    from analysis.formula import FormulaError, nested_formulas

    try:
        return [name for name, _ in nested_formulas(list(steps.items()), outcome="foundings")]
    except FormulaError:
        return list(steps)  # the formula problem itself is reported by check_founding_formulas


def population_columns(cols: Columns, ds: dict[str, Any]) -> list[str]:
    """Columns of the population-year (and subpopulation-year) series a founding formula may name."""
    base = ["year", "density", "foundings", "exits", "density_end", "density_sq"]
    if cols.kind == "population":
        pop = ds["population"]
        exits = [f"exits_{k}" for k in pop.get("exits", {})]
        return [*base, *exits, *(["mass"] if cols.has_mass else []), *cols.keep]
    competing = [r for r, kind in ds.get("end_reasons", {}).items() if kind == "competing"]
    kinds = [f"exits_{str(r).strip().casefold()}" for r in competing]
    extra = ["exits_death", "exits_competing", *kinds, *(["mass"] if cols.has_mass else [])]
    return [*base, *extra, *cols.env_numeric, *cols.env_categorical]


def refused_specials(steps: dict[str, Any], outcome: str, accepted: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(step, special)`` for every special of every step (also a step that adds nothing else, which the
    nested sequence skips) that the model family does not accept."""
    from analysis.formula import FormulaError, expand_steps, step_texts
    from analysis.formula.vocabulary import SPECIALS, summands

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
    from analysis.formula import FormulaError, check_formula, nested_formulas, scope_for
    from analysis.formula.vocabulary import names_in, summands

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
        from analysis.formula import check_subset, parse_expression

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


def measure_aliases(ds: dict[str, Any]) -> dict[str, str]:
    """The user's own names of renamed panel measures (``gov_share`` → ``funding_share``) for formulas."""
    if ds.get("kind") != "organizations":
        return {}
    measures = (ds.get("panel") or {}).get("measures", {})
    return {str(v): str(k) for k, v in measures.items() if str(v) != str(k) and str(v) not in measures}


def spell_columns(cols: Columns) -> list[str]:
    """Columns of the counting-process spells (``spells.parquet``) a survival formula may name."""
    base = ["org_id", "year", "start", "stop", "event", "entry", "t_start", "t_stop", "exit_kind", "cohort"]
    dens = ["density", "density_sq", "density_at_founding"]
    return [*base, *dens, *cols.survival_controls(), *cols.env_numeric, *cols.env_categorical, *cols.groups]


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
    from analysis.formula import FormulaError, check_formula, scope_for
    from analysis.formula.vocabulary import names_in, summands

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


def org_year_columns(cols: Columns) -> list[str]:
    """Columns of the organization-years (``org_years.parquet``) a growth formula may name."""
    base = ["org_id", "year", "age", "founded_year", "growth", "density", "density_sq"]
    return [*base, *cols.survival_controls(), *cols.env_numeric, *cols.env_categorical, *cols.groups]


def check_growth_formula(at: str, cfg: dict[str, Any], cols: Columns, ds: dict[str, Any]) -> list[str]:
    """The Gibrat formula parses, has log_size and cluster(org_id), and names only terms and columns."""
    from analysis.formula import FormulaError
    from analysis.formula import growth as _growth

    growth_formula, uses_legacy_names = _growth.growth_formula, _growth.uses_legacy_names

    where = f"{at}: fit_growth.formula"
    if uses_legacy_names(cfg):
        return []  # the legacy lists are checked one by one by the caller
    if any(cfg.get(k) is not None for k in ("covariates", "age_terms", "environment")):
        return [
            f"{at}: fit_growth gives both formula and covariates/age_terms/environment (names); the formula "
            "replaces them: put those names into it and remove the lists"
        ]
    try:
        formula = growth_formula(cfg, where=where)
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
    from analysis.formula import FormulaError, expanded_terms, nested_formulas

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
    from analysis.formula import FormulaError, grammar, nested_formulas
    from analysis.formula.vocabulary import summands

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
            if getattr(t, "func", None) == "offset" and grammar.render(t) != "offset(log_density)":
                problems.append(
                    f"{where}.{name}: {grammar.render(t)} is not accepted by the exit-rate models (accepted: "
                    "offset(log_density), the exit rate per organization)"
                )
    what = "an exit-rate term of this dataset (population-series columns and built-in terms)"
    resolve_formula_names(problems, where, formulas, "population", population_columns(cols, ds), {}, what)
    return [name for name, _ in formulas], problems


def check_stagnation_formula(at: str, cfg: dict[str, Any], cols: Columns, ds: dict[str, Any]) -> list[str]:
    """The stagnation formula is one-sided with cluster(org_id) and names only terms and columns (or the legacy
    list names organization-year columns)."""
    from analysis.formula import FormulaError
    from analysis.formula import stagnation as _stagnation

    legacy_covariates, stagnation_formula, uses_legacy_names = (
        _stagnation.legacy_covariates,
        _stagnation.stagnation_formula,
        _stagnation.uses_legacy_names,
    )

    where = f"{at}: fit_bottleneck.stagnation.formula"
    problems: list[str] = []
    if uses_legacy_names(cfg):
        _check_list(
            problems,
            f"{at}: fit_bottleneck.stagnation.covariates",
            legacy_covariates(cfg),
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
        formula = stagnation_formula(cfg, where=where)
    except FormulaError as exc:
        return [str(exc)]
    _org_year_formula(problems, where, formula, cols, ds, "stagnation")
    return problems


def check_subset_text(where: str, text: str, unit: str, columns: list[str]) -> list[str]:
    """A subset condition parses in the safe grammar and names only columns of the unit's frame."""
    from analysis.formula import FormulaError, check_subset, parse_expression, scope_for

    try:
        check_subset(parse_expression(text), scope_for(unit, columns), text)
    except FormulaError as exc:
        return [str(exc.located(where))]
    return []


def check_survival_formulas(at: str, cfg: dict[str, Any], cols: Columns, ds: dict[str, Any]) -> list[str]:
    """The nested Cox steps parse, nest, accept only strata()/cluster() and name only terms and columns."""
    from analysis.formula import FormulaError
    from analysis.formula import survival as _survival

    cluster_of, survival_formulas, uses_legacy_names = (
        _survival.cluster_of,
        _survival.survival_formulas,
        _survival.uses_legacy_names,
    )

    where = f"{at}: fit_survival.steps"
    legacy = uses_legacy_names(cfg)
    if not legacy and (cfg.get("controls") is not None or cfg.get("environment") is not None):
        return [
            f"{at}: fit_survival gives both steps (formulas) and controls/environment (names); the steps replace "
            "them: put those names into the formulas (e.g. '+ procurement_budget') and remove controls/environment"
        ]
    try:
        formulas = survival_formulas(cfg, where=where)
    except FormulaError as exc:
        return [str(exc)]
    problems: list[str] = []
    if cfg["se_type"] != "model" and cluster_of(formulas[-1][1]) is None:
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


def _check_list(problems: list[str], where: str, names: Iterable[str], valid: list[str], what: str) -> None:
    for name in names:
        if name not in valid:
            problems.append(unknown_name_message(where, str(name), valid, what))


def check_dataset_names(name: str, ds: dict[str, Any], block: Callable[[str], dict[str, Any]]) -> list[str]:
    """Problems with the names used by dataset ``name``; ``block(stage)`` gives its effective block."""
    problems: list[str] = []
    cols = Columns.of(ds)
    at = f"datasets.{name}"
    if cols.kind == "organizations":
        _check_list(
            problems,
            f"{at}.group_columns",
            ds.get("group_columns", []),
            list(cols.attributes),
            "an attribute declared in organizations.attributes",
        )
    for stage in ORGANIZATION_ONLY:
        if cols.kind == "population" and stage in ds.get("models", {}):
            problems.append(
                f"{at}.models.{stage}: {stage} does not apply to a population series (no organization-level "
                "data); remove this override."
            )

    founding = block("fit_founding")
    spec = founding["spec"]
    problems += check_founding_formulas(at, spec, cols, ds)
    if spec.get("period_column"):
        _check_list(
            problems,
            f"{at}: fit_founding.spec.period_column",
            [spec["period_column"]],
            cols.period_columns(),
            "a declared environment (or kept population) column",
        )
    if founding.get("panel_group_vars") is not None:
        _check_list(
            problems,
            f"{at}: fit_founding.panel_group_vars",
            founding["panel_group_vars"],
            list(cols.groups),
            "one of the dataset's group_columns",
        )

    bottleneck = block("fit_bottleneck")
    eq = bottleneck["equilibrium"]
    exit_steps, exit_problems = check_exit_rate_formulas(at, bottleneck["exit_rate"], cols, ds)
    problems += exit_problems
    steps = [s for s in founding_step_names(spec["steps"]) if s in exit_steps]
    _check_list(
        problems,
        f"{at}: fit_bottleneck.equilibrium.founding_step",
        [eq["founding_step"]],
        steps,
        "a fit_founding step that has an exit-rate counterpart (a step of fit_bottleneck.exit_rate.steps "
        "of the same name)",
    )
    if eq["founding_step"] in steps:
        problems += check_equilibrium_terms(
            at, eq["founding_step"], spec["steps"], bottleneck["exit_rate"]["steps"]
        )
    _check_list(
        problems,
        f"{at}: fit_bottleneck.equilibrium.family",
        [eq["family"]],
        list(founding["families"]),
        "a family fitted by fit_founding.families",
    )
    if cols.kind == "population":
        return problems

    survival = block("fit_survival")
    problems += check_survival_formulas(at, survival, cols, ds)
    from analysis.formula import survival as _survival

    DEFAULT_CONTROLS, uses_legacy_names = _survival.DEFAULT_CONTROLS, _survival.uses_legacy_names

    if uses_legacy_names(survival):
        _check_list(
            problems,
            f"{at}: fit_survival.controls",
            list(DEFAULT_CONTROLS) if survival["controls"] is None else survival["controls"],
            cols.survival_controls(),
            "a spell column of this dataset (panel measures, log_size and mass with a size measure)",
        )
        environment = survival["environment"] or []
        for env in environment:
            if env in cols.env_categorical:
                problems.append(
                    f"{at}: fit_survival.environment: {env!r} is a categorical environment column; only numeric "
                    f"covariates (environment.covariates: {', '.join(cols.env_numeric) or 'none'}) enter the models"
                )
        _check_list(
            problems,
            f"{at}: fit_survival.environment",
            [e for e in environment if e not in cols.env_categorical],
            list(cols.env_numeric),
            "a numeric environment covariate declared in environment.covariates",
        )
    _check_list(
        problems,
        f"{at}: fit_survival.km_groups",
        survival["km_groups"],
        ["cohort", *cols.groups],
        "'cohort' or one of the dataset's group_columns",
    )
    if not cols.has_size:
        return problems  # growth and stagnation need a size measure: those stages record "not applicable"
    growth = block("fit_growth")
    problems += check_growth_formula(at, growth, cols, ds)
    from analysis.formula import growth as _growth

    if _growth.uses_legacy_names(growth):
        covariates, _, environment = _growth.legacy_lists(growth)
        _check_list(
            problems,
            f"{at}: fit_growth.covariates",
            covariates,
            cols.growth_covariates(),
            "a panel measure of this dataset other than size",
        )
        _check_list(
            problems,
            f"{at}: fit_growth.environment",
            environment,
            list(cols.env_numeric),
            "a numeric environment covariate declared in environment.covariates",
        )
    problems += check_stagnation_formula(at, bottleneck["stagnation"], cols, ds)
    for where, block in (
        ("fit_growth.subset", growth),
        ("fit_bottleneck.stagnation.subset", bottleneck["stagnation"]),
    ):
        if block.get("subset"):
            problems += check_subset_text(
                f"{at}: {where}", block["subset"], "org_year", org_year_columns(cols)
            )
    return problems


def check_names(params: dict[str, Any], block: Callable[[str, str], dict[str, Any]]) -> list[str]:
    """Every unresolved name in ``params`` (all datasets); ``block(stage, dataset)`` = effective block."""
    problems: list[str] = []
    datasets = list(params["datasets"])
    for key in ("titles", "literature"):
        _check_list(
            problems,
            f"render_report.{key}",
            params["render_report"].get(key, {}),
            datasets,
            "a dataset declared under datasets:",
        )
    for name, ds in params["datasets"].items():
        problems += check_dataset_names(name, ds, lambda stage, _n=name: block(stage, _n))
    return problems
