"""``python -m pipeline describe --dataset d``: what will be fitted for a dataset, and why a stage does not apply.

The verdicts come from :mod:`pipeline.stages.applicability` (the stages' own tests) on the dataset's
processed event histories (``data/processed/<d>/``) when they have been built; before that, from what
params.yaml declares (a population series has no organization lifetimes, a dataset without a panel size
measure no growth models), saying so. The formulas are those of ``check-params``
(:mod:`pipeline.stages.specification`), shown only for the stages that apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.dataset_columns import Columns
from pipeline.core.paths import DatasetPaths
from pipeline.stages.applicability import (
    MIN_SERIES_YEARS,
    REASONS,
    Verdict,
    bottleneck_verdicts,
    founding_verdict,
    growth_verdict,
    survival_verdict,
)
from pipeline.stages.specification import effective_specification, format_specification

FRAMES = ("population", "spells", "org_years")


def read_processed(folder: Path) -> dict[str, pd.DataFrame] | None:
    """The processed frames the fit stages read, or ``None`` when ``build_histories`` has not run."""
    if not (folder / "population.parquet").exists():
        return None
    return {n: pd.read_parquet(folder / f"{n}.parquet") for n in FRAMES if (folder / f"{n}.parquet").exists()}


def declared_frames(ds: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Stand-ins for the frames params.yaml promises (the declared columns, filled), so the same verdicts
    judge a dataset before it is built. Whether organizations die in the window cannot be known from
    params: :func:`describe_dataset` says so."""
    filled = [1.0] * MIN_SERIES_YEARS
    if ds["kind"] == "population":
        src = ds["population"]
        pop = {"density": filled}
        if "foundings" in src["columns"]:
            pop["foundings"] = filled
        if "exits" in src["columns"] or src.get("exits"):
            pop["exits"] = filled
        return {"population": pd.DataFrame(pop)}
    frames = {"population": pd.DataFrame({"density": filled, "foundings": filled, "exits": filled})}
    frames["spells"] = pd.DataFrame({"event": [1]})
    if Columns.of(ds).has_size:
        frames["org_years"] = pd.DataFrame({"size": [1.0], "growth": [0.0]})
    return frames


def verdicts(frames: dict[str, pd.DataFrame]) -> list[Verdict]:
    """One verdict per fit stage, then one per analysis of ``fit_bottleneck``, on the given frames."""
    pop = frames.get("population")
    out = [
        founding_verdict(pop),
        survival_verdict(frames.get("spells")),
        growth_verdict(frames.get("org_years")),
    ]
    if pop is not None:
        out += [
            Verdict(f"fit_bottleneck: {v.stage}", v.applies, v.reason)
            for v in bottleneck_verdicts(pop, frames.get("org_years"))
        ]
    return out


def describe_dataset(params: dict[str, Any], dataset: str, *, processed: Path | None = None) -> str:
    """The text of ``describe`` for one dataset."""
    ds = params["datasets"][dataset]
    folder = processed if processed is not None else DatasetPaths(dataset).processed
    frames = read_processed(folder)
    built = frames is not None
    lines = [f"{dataset} ({ds['kind']})"]
    if built:
        lines.append(f"  judged from the event histories in {folder.as_posix()}/ (what the stages read)")
    else:
        lines.append(
            f"  {folder.as_posix()}/ not built yet: judged from params.yaml; run validate_inputs, clean_inputs "
            "and build_histories for the verdict on the data"
        )
        frames = declared_frames(ds)
    found = verdicts(frames)
    spec = effective_specification(params)[dataset]
    applies = {v.stage for v in found if v.applies}
    for v in found:
        if v.applies:
            extra = ""
            if v.stage == "fit_survival" and not built and ds["kind"] == "organizations":
                extra = f" (if any organization dies in the window; else: {REASONS['fit_survival']})"
            lines.append(f"  ✓ {v.stage}{extra}")
        else:
            lines.append(f"  ✗ {v.stage}: not applicable — {v.reason}")
    shown = {k: v for k, v in spec.items() if k == "kind" or k in applies}
    shown["fit_bottleneck"] = {"models": bottleneck_models(spec["fit_bottleneck"]["models"], found)}
    text = format_specification({dataset: shown})
    lines.append("  models (as check-params resolves them; only those that apply):")
    lines += ["  " + line for line in text.splitlines()[1:]]
    return "\n".join(lines) + "\n"


def bottleneck_models(models: dict[str, str], found: list[Verdict]) -> dict[str, str]:
    """The bottleneck models of ``check-params`` that the verdicts let through, with the always-fitted
    logistic and density-growth break test named first."""
    ok = {v.stage.removeprefix("fit_bottleneck: ") for v in found if v.applies}
    out = {
        "logistic_density": "logistic carrying capacity of density (K, r, t0, t90)",
        "break_density_growth": "sup-F structural break in density growth",
    }
    if "break_founding" in ok:
        out["break_founding_<response>"] = "sup-F structural break in foundings"
    for model, text in models.items():
        stagnation = model in ("stagnation_hazard", "dissolution_hazard")
        if ("stagnation" in ok) if stagnation else ("exit_rate_and_equilibrium" in ok):
            out[model] = text
    return out
