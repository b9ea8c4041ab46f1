"""The columns a dataset's event histories will have, derived from its declarations in ``params.yaml``.

Panel ``measures``, ``environment.covariates`` / ``categorical``, register ``attributes``, ``group_columns``,
a population series' ``columns`` and ``keep`` decide the columns of the population-year series, the spells
and the organization-years that formulas and name lists may use (checked when params load, and read by the
stages that build model specifications).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def org_year_columns(cols: Columns) -> list[str]:
    """Columns of the organization-years (``org_years.parquet``) a growth formula may name."""
    base = ["org_id", "year", "age", "founded_year", "growth", "density", "density_sq"]
    return [*base, *cols.survival_controls(), *cols.env_numeric, *cols.env_categorical, *cols.groups]
