"""The stage registry: the one description of the stage graph that the Snakefile loops over and
``dvc.yaml`` is generated from (a test fails when they drift).

A stage runs as ``python -m pipeline run <stage> --dataset <name>``. Its inputs and outputs are folders
per dataset (templates with ``{dataset}``), its params are keys of ``params.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.core import paths as P
from pipeline.core.params import raw_files


def _always(ds: dict[str, Any]) -> bool:
    return True


def _organizations(ds: dict[str, Any]) -> bool:
    return ds["kind"] == "organizations"


@dataclass(frozen=True)
class Stage:
    """One step of the graph: a module with ``run(dataset, params)``, folders in and out, params keys."""

    name: str
    module: str
    deps: tuple[str, ...]
    outs: tuple[str, ...]
    params: tuple[str, ...]
    applies: Callable[[dict[str, Any]], bool] = _always
    code: tuple[str, ...] = ()  # source files whose change reruns the stage
    metrics: tuple[str, ...] = ()  # small JSON files of key numbers (DVC metrics, kept in git)

    def cmd(self, dataset: str = "{dataset}") -> str:
        return f"python -m pipeline run {self.name} --dataset {dataset}"

    def paths(self, field: str, dataset: str) -> list[str]:
        return [t.format(dataset=dataset) for t in getattr(self, field)]

    def input_files(self, dataset: str, params: dict[str, Any]) -> list[str]:
        """Inputs as Snakemake sees them: the dep folders, with the raw folder replaced by the files the
        dataset declares (Snakemake compares modification times, and a folder's time does not change when
        a file in it is rewritten in place). DVC hashes the raw folder's content instead."""
        out: list[str] = []
        for template in self.deps:
            if template == P.RAW:
                out += raw_files(params["datasets"][dataset])
            else:
                out.append(template.format(dataset=dataset))
        return out


_COMMON = (
    "pipeline/core/io.py",
    "pipeline/core/parquet.py",
    "pipeline/core/columns.py",
    "pipeline/core/paths.py",
)

STAGES: tuple[Stage, ...] = (
    Stage(
        name="validate_inputs",
        module="pipeline.stages.validate_inputs",
        deps=(P.RAW,),
        outs=(P.VALIDATED,),
        params=("datasets.{dataset}",),
        code=(
            *_COMMON,
            "pipeline/stages/validate_inputs.py",
            "pipeline/data/validate.py",
            "pipeline/data/read.py",
            "pipeline/data/records.py",
            "pipeline/data/future.py",
            "pipeline/data/shares.py",
            "pipeline/data/lifetimes.py",
            "pipeline/data/dates.py",
            "pipeline/core/errors.py",
        ),
    ),
    Stage(
        name="clean_inputs",
        module="pipeline.stages.clean_inputs",
        deps=(P.VALIDATED,),
        outs=(P.CLEAN,),
        params=("datasets.{dataset}", "clean_inputs"),
        code=(
            *_COMMON,
            "pipeline/stages/clean_inputs.py",
            "pipeline/data/clean.py",
            "pipeline/data/ids.py",
            "pipeline/data/lifetimes.py",
            "pipeline/data/dates.py",
            "pipeline/core/errors.py",
        ),
    ),
    Stage(
        name="build_histories",
        module="pipeline.stages.build_histories",
        deps=(P.CLEAN,),
        outs=(P.PROCESSED,),
        params=("datasets.{dataset}", "build_histories"),
        code=(
            *_COMMON,
            "pipeline/stages/build_histories.py",
            "pipeline/data/histories.py",
            "pipeline/data/ids.py",
            "pipeline/data/lifetimes.py",
            "pipeline/data/dates.py",
        ),
    ),
)


#: Result folders of the fitting stages, in report order.
RESULT_AREAS = ("founding", "survival", "growth", "bottleneck")

_RESULTS_CODE = (
    "analysis/results.py",
    "analysis/result.schema.json",
    "analysis/assess.py",
    "pipeline/stages/common.py",
    *_COMMON,
)

#: The formula engine (founding models are specified as formulas) and the density-scale rule.
_FORMULA_CODE = (
    *(
        f"analysis/formula/{m}.py"
        for m in ("__init__", "design", "errors", "evaluate", "grammar", "steps", "terms", "vocabulary")
    ),
    "analysis/scaling.py",
)

STAGES += (
    Stage(
        name="fit_founding",
        module="pipeline.stages.fit_founding",
        deps=(P.PROCESSED,),
        outs=(P.RESULTS.replace("{area}", "founding"),),
        params=("datasets.{dataset}", "fit_founding", "assessment"),
        code=(
            *_RESULTS_CODE,
            "pipeline/stages/fit_founding.py",
            "analysis/founding.py",
            *_FORMULA_CODE,
            "analysis/count_models.py",
            "analysis/nb2_likelihood.py",
        ),
    ),
    Stage(
        name="fit_bottleneck",
        module="pipeline.stages.fit_bottleneck",
        deps=(P.PROCESSED, P.RESULTS.replace("{area}", "founding")),
        outs=(P.RESULTS.replace("{area}", "bottleneck"),),
        params=("datasets.{dataset}", "fit_bottleneck", "seed", "assessment"),
        code=(
            *_RESULTS_CODE,
            "pipeline/stages/fit_bottleneck.py",
            "analysis/logistic.py",
            "analysis/breaks.py",
            "analysis/equilibrium.py",
            "analysis/stagnation.py",
            "analysis/founding.py",
            *_FORMULA_CODE,
            "analysis/count_models.py",
            "analysis/nb2_likelihood.py",
        ),
    ),
    Stage(
        name="fit_survival",
        module="pipeline.stages.fit_survival",
        deps=(P.PROCESSED,),
        outs=(P.RESULTS.replace("{area}", "survival"),),
        params=("datasets.{dataset}", "fit_survival", "assessment"),
        code=(
            *_RESULTS_CODE,
            "pipeline/stages/fit_survival.py",
            "analysis/cox.py",
            "analysis/cox_core.py",
            "analysis/cox_result.py",
            "analysis/cox_zph.py",
            "analysis/nonparametric.py",
            "analysis/piecewise.py",
            "analysis/parametric.py",
        ),
    ),
    Stage(
        name="fit_growth",
        module="pipeline.stages.fit_growth",
        deps=(P.PROCESSED,),
        outs=(P.RESULTS.replace("{area}", "growth"),),
        params=("datasets.{dataset}", "fit_growth", "seed", "assessment"),
        code=(*_RESULTS_CODE, "pipeline/stages/fit_growth.py", "analysis/growth.py"),
    ),
)


_REPORT_CODE = tuple(
    f"reports/{m}"
    for m in (
        "__init__.py",
        "collect.py",
        "discussion.py",
        "figures.py",
        "fonts.py",
        "labels.py",
        "model_tables.py",
        "selection.py",
        "report.py",
        "tables.py",
        "templates/report.typ",
    )
)

STAGES += (
    Stage(
        name="render_report",
        module="pipeline.stages.render_report",
        # the raw folder for the simulator's truth file (``datasets.<d>.truth``), which the report reads
        deps=(
            P.RAW,
            P.VALIDATED,
            P.CLEAN,
            P.PROCESSED,
            *(P.RESULTS.replace("{area}", a) for a in RESULT_AREAS),
        ),
        outs=(P.REPORT,),
        params=("datasets.{dataset}", "render_report", "seed"),
        code=(*_COMMON, "pipeline/stages/render_report.py", "analysis/assess.py", *_REPORT_CODE),
        metrics=("metrics/{dataset}.json",),
    ),
)


def by_name(name: str) -> Stage:
    """The registered stage called ``name``."""
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(f"unknown stage {name!r}; known stages: {', '.join(s.name for s in STAGES)}")


def datasets_for(stage: Stage, params: dict[str, Any]) -> list[str]:
    """Datasets (in params order) to which a stage applies."""
    return [name for name, ds in params["datasets"].items() if stage.applies(ds)]
