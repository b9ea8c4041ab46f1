"""Plot data for ``dvc plots show`` / ``dvc plots diff``: small CSVs of the key curves of one dataset.

:data:`PLOTS` declares each file (its name, x column, y columns and titles); ``dvc.yaml``'s top-level
``plots:`` are generated from it (``pipeline/stages/graph.py``) and :func:`write_plot_data` writes exactly
these files into the plot folder (``plots/<d>/``, kept in git like ``metrics/``): every plot of the dataset's kind (the mortality curves
only for organization data), on every run; a curve the dataset does not have (a founding model that did
not converge) is a file with the header only, so the set of files depends on the kind alone. Step functions (Kaplan-Meier, cumulative incidence) are read off on a half-year
grid of ages, so the files stay small; the full curves are in ``results/<d>/survival/*.json``. Numbers are
rounded to 10 significant digits, as in the metrics files; nothing in a file depends on the time of a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.registry import kinds
from pipeline.core.io import write_csv
from reports.collect import ReportInputs, cif_frame, km_frame
from reports.selection import headline_founding, of_kind

#: Significant digits of the numbers in the plot files (those beyond move with BLAS/libm builds).
DIGITS = 10
#: Step of the age grid on which step functions are read off (years).
AGE_STEP = 0.5
Results = Mapping[str, Mapping[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class Plot:
    """One DVC plot: ``<name>.csv`` with column ``x`` against the ``y`` columns."""

    name: str
    x: str
    y: tuple[str, ...]
    title: str
    x_label: str
    y_label: str
    extra: tuple[str, ...] = ()  # further columns written (confidence limits), not drawn
    kinds: tuple[str, ...] = ("organizations", "population")  # dataset kinds that have the curve

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.x, *self.y, *self.extra)


PLOTS: tuple[Plot, ...] = (
    Plot(
        "population",
        "year",
        ("density", "foundings", "exits"),
        "Density on 1 January, foundings and exits per year",
        "Year",
        "Organizations",
    ),
    Plot(
        "founding_multiplier",
        "density",
        ("multiplier",),
        "Founding multiplier of the headline founding model (population level)",
        "Density N",
        "Multiplier of the founding rate",
        ("ci_low", "ci_high"),
    ),
    Plot(
        "km",
        "age",
        ("survival",),
        "Kaplan-Meier survival, all organizations",
        "Age (years)",
        "Survival probability",
        ("ci_low", "ci_high"),
        kinds=("organizations",),
    ),
    Plot(
        "hazard_by_age",
        "age",
        ("hazard",),
        "Hazard of death by age piece (piecewise exponential)",
        "Age (years)",
        "Hazard of death (per year)",
        ("ci_low", "ci_high"),
        kinds=("organizations",),
    ),
    Plot(
        "cif",
        "age",
        ("death", "competing_exits"),
        "Cumulative incidence of death and of competing exits (all causes summed)",
        "Age (years)",
        "Cumulative incidence",
        kinds=("organizations",),
    ),
)


def _steps(time: pd.Series, value: pd.Series, grid: np.ndarray, before: float) -> np.ndarray:
    """A right-continuous step function read off at ``grid`` (``before`` ahead of its first time)."""
    order = np.argsort(time.to_numpy(dtype=float), kind="stable")
    t = time.to_numpy(dtype=float)[order]
    v = value.to_numpy(dtype=float)[order]
    idx = np.searchsorted(t, grid, side="right") - 1
    return np.where(idx >= 0, v[np.clip(idx, 0, None)], before)


def _grid(times: pd.Series) -> np.ndarray:
    top = float(np.nanmax(times.to_numpy(dtype=float))) if len(times) else 0.0
    return np.arange(0.0, np.floor(top / AGE_STEP) * AGE_STEP + AGE_STEP / 2, AGE_STEP)


def population_data(results: Results, population: pd.DataFrame | None) -> pd.DataFrame | None:
    """Density on 1 January, foundings and exits by year."""
    if population is None or "density" not in population:
        return None
    out = population.sort_values("year").reset_index(drop=True)
    return out.reindex(columns=["year", "density", "foundings", "exits"])


def multiplier_data(results: Results, population: pd.DataFrame | None) -> pd.DataFrame | None:
    """The multiplier curve of the population-level headline founding model (the one the figure draws)."""
    heads = [res for level, res in headline_founding(results.get("founding", {})) if level is None]
    if not heads or "multiplier" not in heads[0].get("curves", {}):
        return None
    return pd.DataFrame(heads[0]["curves"]["multiplier"]).sort_values("density")


def km_data(results: Results, population: pd.DataFrame | None) -> pd.DataFrame | None:
    """Kaplan-Meier survival of all organizations (the ungrouped Kaplan-Meier result)."""
    survival = results.get("survival", {})
    candidates = [r for r in of_kind(survival, "km") if not (r.get("specification") or {}).get("group")]
    for res in candidates:
        km = km_frame(res) if res.get("fit", {}).get("converged", True) else None
        if km is not None and km["group"].nunique() == 1:
            grid = _grid(km["time"])
            cols = {c: _steps(km["time"], km[c], grid, 1.0) for c in ("survival", "ci_low", "ci_high")}
            return pd.DataFrame({"age": grid, **cols})
    return None


def hazard_data(results: Results, population: pd.DataFrame | None) -> pd.DataFrame | None:
    """Hazard by age piece as a step line: each piece's start and end age with its hazard; an open last
    piece ends one width of the previous piece after its start (as in the figure)."""
    pieces = of_kind(results.get("survival", {}), "age_pieces")
    order = kinds()["age_pieces"].sort or (lambda r: r["model"])
    res = min(pieces, key=order) if pieces else None  # the piecewise exponential before the cloglog model
    if res is None or "hazard_by_age" not in res.get("curves", {}):
        return None
    hz = pd.DataFrame(res["curves"]["hazard_by_age"]).sort_values("age_from")
    starts = hz["age_from"].to_numpy(dtype=float)
    ends = hz["age_to"].to_numpy(dtype=float)
    width = float(np.nanmax(np.diff(starts))) if len(starts) > 1 else 1.0
    ends = np.where(np.isnan(ends), starts + width, ends)
    rows = []
    for s, e, (_, r) in zip(starts, ends, hz.iterrows(), strict=True):
        for age in (s, e):
            rows.append({"age": age, "hazard": r["hazard"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]})
    return pd.DataFrame(rows)


def cif_data(results: Results, population: pd.DataFrame | None) -> pd.DataFrame | None:
    """Cumulative incidence of death and of all competing exits together (Aalen-Johansen)."""
    res = next(iter(of_kind(results.get("survival", {}), "aalen_johansen")), None)
    cif = cif_frame(res) if res is not None else None
    if cif is None or not len(cif):
        return None
    grid = _grid(cif["time"])
    cause = cif["cause"].astype(str)
    death = cif[cause == "death"]
    out = pd.DataFrame({"age": grid, "death": _steps(death["time"], death["estimate"], grid, 0.0)})
    competing = np.zeros_like(grid)
    for _, g in cif[cause.str.startswith("competing")].groupby("cause", sort=True):
        competing = competing + _steps(g["time"], g["estimate"], grid, 0.0)
    out["competing_exits"] = competing
    return out


#: The function that makes each plot's data frame (``None``: the dataset does not have that curve).
MAKERS: dict[str, Callable[[Results, pd.DataFrame | None], pd.DataFrame | None]] = {
    "population": population_data,
    "founding_multiplier": multiplier_data,
    "km": km_data,
    "hazard_by_age": hazard_data,
    "cif": cif_data,
}


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = [float(f"{v:.{DIGITS}g}") if np.isfinite(v) else v for v in out[col]]
    return out


def plots_for(kind: str) -> tuple[Plot, ...]:
    """The plots of a dataset of ``kind`` (``organizations`` or ``population``)."""
    return tuple(p for p in PLOTS if kind in p.kinds)


def plot_frames(
    results: Results, population: pd.DataFrame | None, kind: str = "organizations"
) -> dict[str, pd.DataFrame]:
    """Every plot's data for a dataset of ``kind``, with exactly its declared columns (no rows when the
    curve is missing)."""
    out = {}
    for plot in plots_for(kind):
        frame = MAKERS[plot.name](results, population)
        if frame is None:
            frame = pd.DataFrame(columns=list(plot.columns))
        out[plot.name] = _rounded(frame.reindex(columns=list(plot.columns)).reset_index(drop=True))
    return out


def write_plot_data(inputs: ReportInputs, out_dir: str | Path, kind: str) -> list[Path]:
    """Write the plot files of a dataset of ``kind`` from its loaded report inputs into ``out_dir``, each
    atomically."""
    frames = plot_frames(inputs.results, inputs.population, kind)
    written = []
    for plot in plots_for(kind):
        path = Path(out_dir) / plot.file
        write_csv(path, frames[plot.name])
        written.append(path)
    return written
