"""Shared edges of the fitting stages: read processed tables with their hashes, write result files."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.assess import Rules, assess
from analysis.results import ModelResult, write_result
from pipeline.core.io import atomic_dir, sha256_file
from pipeline.core.params import ParamsError

log = logging.getLogger(__name__)


def read_inputs(paths: Iterable[Path]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Read the Parquet inputs that exist (keyed by file stem) and record their SHA-256 for provenance."""
    frames, hashes = {}, {}
    for path in paths:
        if not path.exists():
            continue
        frames[path.stem] = pd.read_parquet(path)
        hashes[path.as_posix()] = sha256_file(path)
    return frames, hashes


def usable_terms(frame: pd.DataFrame, names: Iterable[str], *, what: str) -> tuple[list[str], list[str]]:
    """Names (already checked against params) whose column has data, and a note for those left out.

    A name whose column is missing from the event histories is an error (the histories are older than
    params.yaml: rebuild them); a column whose every value is missing is left out and said so.
    """
    names = list(names)
    absent = [n for n in names if n not in frame.columns]
    if absent:
        raise ParamsError(
            f"{what}: {', '.join(absent)} not among the columns of the event histories "
            f"({', '.join(map(str, frame.columns))}); rebuild them (build_histories) after changing params.yaml."
        )
    empty = [n for n in names if frame[n].isna().all()]
    notes = []
    if empty:
        notes.append(f"{what}: left out, every value is missing in this dataset: {', '.join(empty)}.")
        log.warning("%s", notes[-1])
    return [n for n in names if n not in empty], notes


def require_observed_columns(
    frame: pd.DataFrame, formulas: Iterable[tuple[str, Any]], *, aliases: dict[str, str] | None, where: str
) -> None:
    """A column named in a formula whose every value is missing in ``frame`` is an error (never left out)."""
    from analysis.formula.terms import BUILTINS
    from analysis.formula.vocabulary import names_in, summands

    for name, formula in formulas:
        for node in [formula.lhs, *(t for _, t in summands(formula.rhs))]:
            for col in names_in(node):
                col = (aliases or {}).get(col, col)
                if col in frame.columns and col not in BUILTINS and frame[col].isna().all():
                    raise ParamsError(
                        f"{where}.{name}: column {col!r} has no values in this dataset (every value is missing); "
                        "remove it from the formula"
                    )


def subset_mask(frame: pd.DataFrame, subset: str, unit: str) -> Any:
    """Boolean mask of the rows of ``frame`` inside ``subset`` (safe grammar, checked at load)."""
    from analysis.formula import TermContext, parse_expression
    from analysis.formula.evaluate import Env, evaluate_subset

    env = Env(frame.reset_index(drop=True), unit, TermContext(), source=subset)
    return evaluate_subset(parse_expression(subset), env)


def check_kinds(results: Iterable[ModelResult], stage: str) -> None:
    """Every result names a registered kind of this stage's area and carries only the derived quantities
    its kind declares (``analysis/registry.py``): a fitter that renames a key fails here, before writing."""
    from analysis.registry import kind_of, undeclared_derived

    area = stage.removeprefix("fit_")
    for res in results:
        obj = res.to_dict()
        kind = kind_of(obj)
        if kind.area != area:
            raise ValueError(
                f"{stage}: {res.model} has kind {kind.name!r} of area {kind.area!r}, not {area!r}"
            )
        extra = undeclared_derived(obj)
        if extra:
            raise ValueError(
                f"{stage}: {res.model} (kind {kind.name!r}) carries derived quantities its kind does not "
                f"declare: {extra}; declare them (unit, meaning) in the kind's MODEL_KINDS"
            )


def not_applicable(*, dataset: str, stage: str, reason: str, unit: str) -> ModelResult:
    """The recorded outcome of a stage whose models need data this dataset does not have."""
    return ModelResult.failed(
        reason=reason,
        dataset=dataset,
        stage=stage,
        model="not_applicable",
        family="none",
        method="none",
        kind=f"not_applicable_{stage.removeprefix('fit_')}",
        sample={"unit": unit, "n": 0},
    )


def assessment_rules(params: dict) -> Rules:
    """The weak-estimate thresholds of ``params.yaml: assessment`` (defaults in ``analysis.assess.Rules``)."""
    return Rules.from_params(params.get("assessment"))


def write_results(
    out_dir: Path,
    results: Iterable[ModelResult],
    *,
    stage: str,
    inputs: dict[str, str],
    rules: Rules | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Write one validated JSON per model into ``out_dir`` atomically (the whole folder or nothing).

    Each result is assessed first (``analysis.assess``): weak estimates and intervals that contradict the
    data are recorded in its ``assessment`` and logged as warnings. ``params`` is the stage's effective
    block for the dataset (global block with the dataset's overrides, defaults filled); every result
    records it as ``effective_params``.
    """
    results = list(results)
    names = [r.model for r in results]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"{stage}: model names must be unique, repeated: {sorted(dupes)}")
    check_kinds(results, stage)
    with atomic_dir(out_dir) as tmp:
        for res in results:
            res.stage = stage
            if params is not None:
                res.effective_params = params
            res.inputs = dict(sorted({**inputs, **res.inputs}.items()))
            res.assessment = assess(res.to_dict(), rules)
            write_result(tmp / f"{res.model}.json", res)
            status = "converged" if res.fit.get("converged") else f"NOT fitted: {res.fit.get('reason')}"
            log.info("%s: %s", res.model, status)
            for reason in res.assessment["reasons"]:
                log.warning("%s: weak estimate: %s", res.model, reason)
            for flag in res.assessment["flags"]:
                log.warning("%s: %s", res.model, flag)
