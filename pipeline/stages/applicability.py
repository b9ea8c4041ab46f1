"""Which models a dataset's event histories support: one pure verdict per stage, in the stages' own words.

The fit stages decide at their start whether their models apply (``fit_founding``: a foundings series;
``fit_survival``: spells with at least one death; ``fit_growth``: organization-years with a size measure and
growth; ``fit_bottleneck``: which of its analyses the series support) and otherwise write one
``not_applicable.json`` with a reason. The same tests, and the same reason texts, are stated here as pure
functions of the processed frames, for ``python -m pipeline describe``.

``fit_founding``, ``fit_survival`` and ``fit_growth`` call these verdicts themselves (one implementation);
``fit_bottleneck`` still decides its analyses inline, and ``tests/unit/test_describe.py`` fails when its
verdicts and :func:`bottleneck_verdicts` drift apart, and checks every verdict against the bundled
reference results.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: The reasons the stages record in ``not_applicable.json`` (``result.failure_reason``).
REASONS = {
    "fit_founding": "this dataset has no foundings series: founding models do not apply",
    "fit_survival": "no organization-level lifetimes with deaths: mortality models do not apply",
    "fit_growth": "this dataset has no organization-level size measure: growth models do not apply",
}
#: ``fit_bottleneck`` fits a break test of foundings and the exit-rate / equilibrium models only on series
#: with at least this many years of foundings (and exits).
MIN_SERIES_YEARS = 5


@dataclass(frozen=True)
class Verdict:
    """Whether a stage's models (or one analysis of a stage) are fitted, and why not."""

    stage: str
    applies: bool
    reason: str = ""


def founding_verdict(population: pd.DataFrame | None) -> Verdict:
    """``fit_founding`` applies when the population series has a foundings column with a value."""
    ok = population is not None and "foundings" in population and population["foundings"].notna().sum() > 0
    return Verdict("fit_founding", ok, "" if ok else REASONS["fit_founding"])


def survival_verdict(spells: pd.DataFrame | None) -> Verdict:
    """``fit_survival`` applies when there are spells and at least one of them ends in a death."""
    ok = spells is not None and not spells.empty and spells["event"].sum() > 0
    return Verdict("fit_survival", bool(ok), "" if ok else REASONS["fit_survival"])


def growth_verdict(org_years: pd.DataFrame | None) -> Verdict:
    """``fit_growth`` applies when organization-years carry a size measure and at least one growth value."""
    ok = org_years is not None and "size" in org_years and org_years["growth"].notna().sum() > 0
    return Verdict("fit_growth", bool(ok), "" if ok else REASONS["fit_growth"])


def _series_years(population: pd.DataFrame, column: str) -> int:
    return int(population[column].notna().sum()) if column in population else 0


def bottleneck_verdicts(population: pd.DataFrame, org_years: pd.DataFrame | None) -> list[Verdict]:
    """The analyses of ``fit_bottleneck``: logistic K and the density-growth break test always; the
    founding break test and the exit-rate / equilibrium models on long enough series; stagnation on
    organization-years with growth."""
    foundings = _series_years(population, "foundings")
    exits = _series_years(population, "exits")
    out = [Verdict("logistic_density", True), Verdict("break_density_growth", True)]
    out.append(
        Verdict(
            "break_founding",
            foundings >= MIN_SERIES_YEARS,
            f"foundings observed in {foundings} years (needs {MIN_SERIES_YEARS})",
        )
    )
    ok = foundings >= MIN_SERIES_YEARS and exits >= MIN_SERIES_YEARS
    out.append(
        Verdict(
            "exit_rate_and_equilibrium",
            ok,
            f"foundings in {foundings} years, exits in {exits} years (needs {MIN_SERIES_YEARS} of each)",
        )
    )
    growth = int(org_years["growth"].notna().sum()) if org_years is not None and "growth" in org_years else 0
    out.append(
        Verdict(
            "stagnation", growth > 0, "no organization-years with a growth value (needs a panel size measure)"
        )
    )
    return [v if not v.applies else Verdict(v.stage, True) for v in out]
