"""The headline numbers of one dataset for ``dvc metrics show`` / ``dvc metrics diff``.

A fixed set of keys (:data:`KEYS`), the same for every dataset, ``null`` where a dataset has no such
number (no mortality models for a population series, a model that did not converge): the counts behind
the models, the density effects of the headline founding model with N* and alpha, the density terms of the
headline Cox model, the Gibrat beta, K and the other bottleneck quantities. Every coefficient, standard
error and test of every model stays in ``results/<d>/`` (``python -m pipeline verify`` compares them all).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from reports.collect import ReportInputs
from reports.selection import break_series, headline_cox, headline_founding, of_kind

Result = Mapping[str, Any]
Results = Mapping[str, Mapping[str, Result]]

#: The metrics file's keys by section, in file order.
KEYS: dict[str, tuple[str, ...]] = {
    "counts": (
        "years",
        "organizations",
        "foundings",
        "exits",
        "density_max",
        "density_last",
        "models",
        "models_not_converged",
        "models_weak",
    ),
    "founding": (
        "model",
        "density",
        "density_sq",
        "alpha",
        "n_star",
        "n_star_ci_low",
        "n_star_ci_high",
        "loglik",
    ),
    "survival": ("cox_model", "cox_density", "cox_density_sq", "density_minimum", "km_median_age"),
    "growth": ("gibrat_beta",),
    "bottleneck": ("K", "t90", "equilibrium", "break_year_foundings", "break_year_density_growth"),
}


def _coef(res: Result | None, term: str) -> float | None:
    for t in (res or {}).get("terms", []):
        if t["term"] == term:
            return t.get("coef")
    return None


def _derived(res: Result | None, name: str, field: str = "estimate") -> Any:
    val = ((res or {}).get("derived") or {}).get(name)
    return val.get(field) if isinstance(val, Mapping) else val


def count_metrics(results: Results, population: pd.DataFrame | None, organizations: int | None) -> dict:
    """Years observed, organizations, foundings and exits, density, and how many models were fitted."""
    models = [r for area in results.values() for r in area.values()]
    pop = population.sort_values("year") if population is not None else pd.DataFrame(columns=["density"])

    def total(col: str) -> float | None:
        return float(pop[col].sum()) if col in pop and pop[col].notna().any() else None

    density = pop["density"].dropna() if "density" in pop else pd.Series(dtype=float)
    return {
        "years": int(len(density)),
        "organizations": organizations,
        "foundings": total("foundings"),
        "exits": total("exits"),
        "density_max": float(density.max()) if len(density) else None,
        "density_last": float(density.iloc[-1]) if len(density) else None,
        "models": len(models),
        "models_not_converged": sum(not r.get("fit", {}).get("converged", True) for r in models),
        "models_weak": sum(bool((r.get("assessment") or {}).get("weak")) for r in models),
    }


def founding_metrics(founding: Mapping[str, Result]) -> dict:
    """Density effects, N* (with its CI), alpha and log-likelihood of the population-level headline
    founding model (the one whose multiplier the report draws)."""
    res = next((r for level, r in headline_founding(founding) if level is None), None)
    alpha = _derived(res, "alpha")
    return {
        "model": res["model"] if res else None,
        "density": _coef(res, "density"),
        "density_sq": _coef(res, "density_sq"),
        "alpha": alpha if alpha is not None else _coef(res, "alpha"),
        "n_star": _derived(res, "n_star"),
        "n_star_ci_low": _derived(res, "n_star", "ci_low"),
        "n_star_ci_high": _derived(res, "n_star", "ci_high"),
        "loglik": (res or {}).get("fit", {}).get("loglik"),
    }


def survival_metrics(survival: Mapping[str, Result]) -> dict:
    """Density terms and density of lowest mortality of the headline Cox model; median age at death of
    all organizations (Kaplan-Meier)."""
    cox = headline_cox(survival)
    km = next((r for r in of_kind(survival, "km") if not (r.get("specification") or {}).get("group")), None)
    summary = _derived(km, "summary") or []
    return {
        "cox_model": cox["model"] if cox else None,
        "cox_density": _coef(cox, "density"),
        "cox_density_sq": _coef(cox, "density_sq"),
        "density_minimum": _derived(cox, "density_minimum"),
        "km_median_age": summary[0].get("median") if len(summary) == 1 else None,
    }


def growth_metrics(growth: Mapping[str, Result]) -> dict:
    """Gibrat's beta of the pooled growth model (1: growth independent of size)."""
    pooled = next(
        (
            r
            for r in of_kind(growth, "gibrat")
            if (r.get("specification") or {}).get("effects") in (None, "none")
        ),
        None,
    )
    return {"gibrat_beta": _derived(pooled, "beta")}


def bottleneck_metrics(bottleneck: Mapping[str, Result]) -> dict:
    """Carrying capacity K and the year of 90% of K, the equilibrium density, the sup-F break years."""
    logistic = next(iter(of_kind(bottleneck, "logistic_capacity")), None)
    equilibrium = next(iter(of_kind(bottleneck, "equilibrium")), None)
    breaks = {break_series(r): r for r in reversed(of_kind(bottleneck, "structural_break"))}
    return {
        "K": _coef(logistic, "K"),
        "t90": _derived(logistic, "t90"),
        "equilibrium": _derived(equilibrium, "equilibrium"),
        "break_year_foundings": _derived(breaks.get("foundings"), "break_year"),
        "break_year_density_growth": _derived(breaks.get("density_growth"), "break_year"),
    }


def key_metrics(results: Results, population: pd.DataFrame | None, organizations: int | None) -> dict:
    """The metrics of one dataset: exactly the keys of :data:`KEYS`, ``None`` where not estimated."""
    out = {
        "counts": count_metrics(results, population, organizations),
        "founding": founding_metrics(results.get("founding", {})),
        "survival": survival_metrics(results.get("survival", {})),
        "growth": growth_metrics(results.get("growth", {})),
        "bottleneck": bottleneck_metrics(results.get("bottleneck", {})),
    }
    for section, keys in KEYS.items():  # a programming error, not a data condition
        assert tuple(out[section]) == keys, (section, tuple(out[section]))
    return out


def dataset_metrics(inputs: ReportInputs) -> dict:
    """:func:`key_metrics` of a dataset's loaded report inputs."""
    orgs = inputs.organizations
    return key_metrics(inputs.results, inputs.population, None if orgs is None else int(len(orgs)))
