"""The common design of a dataset's mortality models: the nested Cox formulas of ``fit_survival`` resolved
on the spells, their complete-case sample, and the cluster, strata and case-weight columns every model
family reads (the Cox models use all three; the others say which they ignore)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.formula import FormulaError, TermContext, build_design, expanded_terms
from analysis.formula.grammar import render
from analysis.formula.survival import (
    DEFAULT_CONTROLS,
    cluster_of,
    special_terms,
    step_formula_texts,
    survival_formulas,
    uses_legacy_names,
    without_strata,
)
from pipeline.core.params import ParamsError
from pipeline.stages.common import (
    require_observed_columns,
    subset_mask,
    usable_terms,
)


@dataclass
class SurvivalDesign:
    """The common complete-case sample and design of a dataset's mortality models (largest Cox step).

    ``steps`` are ``(step, design columns)`` of the nested Cox sequence, ``full`` the columns of the largest
    step (used by every other model), ``formulas`` the whole formula of each step; ``cluster_col`` /
    ``strata_cols`` the frame columns behind ``cluster()`` / ``strata()``.
    """

    rows: np.ndarray
    x: pd.DataFrame
    steps: list[tuple[str, list[str]]]
    formulas: dict[str, str]
    other_formula: str
    cluster: str | None
    cluster_values: pd.Series | None
    strata: list[str]
    strata_values: pd.DataFrame | None
    weights: str | None = None
    weight_values: np.ndarray | None = None
    left_out: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    subset: str | None = None
    in_subset: np.ndarray | None = None
    n_dropped: int = 0

    @property
    def full(self) -> list[str]:
        return list(self.x.columns)

    @property
    def cluster_col(self) -> str | None:
        if self.cluster is None:
            return None
        return (
            self.cluster
            if self.cluster_values is not None and self.cluster_values.name == self.cluster
            else None
        )

    @property
    def strata_cols(self) -> list[str]:
        return [f"_strata{i}" for i in range(len(self.strata))]

    @property
    def strata_note(self) -> str | None:
        if not self.strata:
            return None
        return (
            f"strata({', '.join(self.strata)}) of the Cox formula applies to the Cox models only (separate baseline "
            "hazards); this model has no strata (for separate levels add C(...) terms)."
        )

    @property
    def weights_col(self) -> str | None:
        return "_weights" if self.weights is not None else None

    @property
    def weights_note(self) -> str | None:
        if self.weights is None:
            return None
        return (
            f"weights({self.weights}) of the Cox formula applies to the Cox models only; this model is "
            "unweighted."
        )

    def conventions(self, strata: bool = True) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "strata": (list(self.strata) or None) if strata else None,
            "weights": self.weights if strata else None,
        }

    def frame(self, scaled: pd.DataFrame) -> pd.DataFrame:
        """The complete-case spells (density terms scaled) with the design columns, cluster and strata."""
        out = scaled.iloc[self.rows].copy()
        for c in self.x.columns:
            out[c] = self.x[c].to_numpy()
        if self.cluster is not None and self.cluster_col is None:
            self.cluster_values = self.cluster_values.rename("_cluster")  # type: ignore[union-attr]
            out["_cluster"] = self.cluster_values.to_numpy()
        elif self.cluster_col is not None:
            out[self.cluster_col] = self.cluster_values.to_numpy()  # type: ignore[union-attr]
        for i, col in enumerate(self.strata_cols):
            out[col] = self.strata_values.iloc[:, i].astype(str).to_numpy()  # type: ignore[union-attr]
        if self.weights_col is not None:
            out[self.weights_col] = self.weight_values
        return out


def survival_design(
    spells: pd.DataFrame,
    cfg: dict[str, Any],
    *,
    dataset: str,
    density_scale: float,
    environment: list[str],
    population: pd.DataFrame | None = None,
    population_groups: pd.DataFrame | None = None,
    aliases: dict[str, str] | None = None,
) -> SurvivalDesign:
    """Resolve the nested Cox formulas of ``cfg`` and build their common sample on raw (unscaled) spells.

    Rows with a missing or non-finite value of any term of the largest step (or of its cluster / strata
    variables) are dropped for every model, so nested models are comparable by LR tests.
    """
    where = f"datasets.{dataset}: fit_survival.steps"
    left_out: list[str] = []
    cfg_use = dict(cfg)
    if uses_legacy_names(cfg):
        controls, left_out = usable_terms(
            spells,
            DEFAULT_CONTROLS if cfg.get("controls") is None else cfg["controls"],
            what="fit_survival.controls",
        )
        env, left_env = usable_terms(spells, cfg.get("environment") or [], what="fit_survival.environment")
        left_out += left_env
        not_numeric = [c for c in env if not pd.api.types.is_numeric_dtype(spells[c])]
        if not_numeric or any(c not in environment for c in env):
            raise ParamsError(
                f"datasets.{dataset}: fit_survival.environment names {', '.join(env)}; only numeric covariates "
                f"declared in environment.covariates ({', '.join(environment) or 'none'}) enter the models"
            )
        cfg_use.update(controls=controls, environment=env)
    try:
        formulas = survival_formulas(cfg_use, where=where)
    except FormulaError as exc:
        raise ParamsError(str(exc)) from None
    largest = formulas[-1][1]
    cluster = cluster_of(largest)
    if cluster is None and cfg["se_type"] != "model":
        raise ParamsError(
            f"{where}: fit_survival.se_type is {cfg['se_type']} but the formulas have no cluster() term; add "
            "'+ cluster(org_id)' (clustered by organization) or set se_type: model"
        )
    require_observed_columns(spells, formulas, aliases=aliases, where=where)
    ctx = TermContext(
        density_scale=density_scale, population=population, groups=population_groups, aliases=aliases or {}
    )
    try:
        design = build_design(
            largest, spells, unit="spell", ctx=ctx, intercept=False, where=where, subset=cfg.get("subset")
        )
    except FormulaError as exc:
        raise ParamsError(str(exc)) from None
    steps = []
    for name, formula in formulas:
        wanted = set(expanded_terms(formula))
        steps.append((name, [c for c in design.x.columns if design.column_terms.get(c) in wanted]))
    strata = [str(c) for c in design.strata.columns] if design.strata is not None else []
    weights = next((render(n.args[0]) for s, n in special_terms(largest) if s == "weights"), None)
    if design.weights is not None and not (design.weights > 0).all():
        bad = int((design.weights <= 0).sum())
        raise ParamsError(
            f"{where}: weights({weights}) has {bad} spell(s) with a weight of 0 or less; Cox case weights "
            "must be > 0 (as R's coxph): drop those spells with fit_survival.subset instead"
        )
    notes = [n for n in design.notes if "dropped for missing" not in n and not n.startswith("subset ")]
    return SurvivalDesign(
        rows=design.rows,
        x=design.x,
        steps=steps,
        formulas=step_formula_texts(formulas),
        other_formula=without_strata(largest),
        cluster=cluster,
        cluster_values=design.cluster,
        strata=strata,
        strata_values=design.strata,
        weights=weights,
        weight_values=design.weights,
        left_out=left_out,
        notes=notes,
        subset=cfg.get("subset"),
        in_subset=subset_mask(spells, cfg["subset"], "spell") if cfg.get("subset") else None,
        n_dropped=design.n_dropped,
    )
