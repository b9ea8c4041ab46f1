"""Every name in ``params.yaml`` resolves before anything runs.

The JSON schema (``additionalProperties: false`` everywhere) catches unknown *keys*; this module checks
the *names used as values*: covariates, model terms, founding steps, group columns, dataset names. Each
name is checked against the columns the dataset's event histories will have, which follow from its own
declarations (panel ``measures``, ``environment.covariates`` / ``categorical``, register ``attributes``,
``group_columns``, a population series' ``columns`` and ``keep``) — so a typo is an error at load time,
never a term silently left out of a model. Whether a declared column exists in the raw file is checked by
``validate_inputs`` (file, column and the nearest header names). The columns are derived in
:mod:`pipeline.core.dataset_columns`, the formulas checked in :mod:`analysis.formula.params_checks` (the one
place ``pipeline.core`` reaches up into ``analysis``: the formula language decides what a term is).

Checks run on the *effective* stage blocks of each dataset (the global block with the dataset's
``models:`` overrides applied), for the stages that apply to the dataset's kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.core.dataset_columns import Columns, org_year_columns
from pipeline.core.nearest import check_list

#: Stage blocks that do not apply to population series (no organization-level data).
ORGANIZATION_ONLY = ("fit_survival", "fit_growth")


def count_family_names() -> list[str]:
    """The count families ``fit_founding.families`` accepts: those registered in ``analysis`` (read
    statically from their ``COUNT_FAMILIES`` declarations, so loading params imports no fitter)."""
    from analysis.registry import count_family_names as registered

    return registered()


def check_dataset_names(name: str, ds: dict[str, Any], block: Callable[[str], dict[str, Any]]) -> list[str]:
    """Problems with the names used by dataset ``name``; ``block(stage)`` gives its effective block (the
    formulas are checked by :mod:`analysis.formula.params_checks`)."""
    from analysis.formula import growth as _growth
    from analysis.formula import survival as _survival
    from analysis.formula.params_checks import (
        check_equilibrium_terms,
        check_exit_rate_formulas,
        check_founding_formulas,
        check_growth_formula,
        check_stagnation_formula,
        check_subset_text,
        check_survival_formulas,
        founding_step_names,
    )

    problems: list[str] = []
    cols = Columns.of(ds)
    at = f"datasets.{name}"
    if cols.kind == "organizations":
        check_list(
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
        check_list(
            problems,
            f"{at}: fit_founding.spec.period_column",
            [spec["period_column"]],
            cols.period_columns(),
            "a declared environment (or kept population) column",
        )
    if founding.get("panel_group_vars") is not None:
        check_list(
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
    check_list(
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
    check_list(
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
    DEFAULT_CONTROLS, uses_legacy_names = _survival.DEFAULT_CONTROLS, _survival.uses_legacy_names

    if uses_legacy_names(survival):
        check_list(
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
        check_list(
            problems,
            f"{at}: fit_survival.environment",
            [e for e in environment if e not in cols.env_categorical],
            list(cols.env_numeric),
            "a numeric environment covariate declared in environment.covariates",
        )
    check_list(
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
    if _growth.uses_legacy_names(growth):
        covariates, _, environment = _growth.legacy_lists(growth)
        check_list(
            problems,
            f"{at}: fit_growth.covariates",
            covariates,
            cols.growth_covariates(),
            "a panel measure of this dataset other than size",
        )
        check_list(
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
        check_list(
            problems,
            f"render_report.{key}",
            params["render_report"].get(key, {}),
            datasets,
            "a dataset declared under datasets:",
        )
    for name, ds in params["datasets"].items():
        problems += check_dataset_names(name, ds, lambda stage, _n=name: block(stage, _n))
    return problems
