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
from pipeline.core.params import raw_files, raw_root
from pipeline.stages.code_deps import code_deps

#: The environment every rule runs in (Snakemake's ``conda:``; generated from ``uv.lock``, the same
#: versions ``scripts/setup.sh`` installs into ``.venv``; used with ``--software-deployment-method conda``).
ENVIRONMENT = "environment.yml"
#: Snakemake's per-job benchmark files (runner bookkeeping, not outputs: under the untracked ``logs/``).
BENCHMARK = "logs/benchmarks/{stage}/{dataset}.tsv"


@dataclass(frozen=True)
class Report:
    """An output ``snakemake --report`` shows (``out``, one of the stage's outs): for a folder, glob
    patterns inside it (each with one wildcard; none for a file), the ``.rst`` caption of each file (a
    Jinja template that sees the pattern's wildcard) and the report's category (may name ``{dataset}``)."""

    out: str
    patterns: tuple[str, ...]
    caption: str
    category: str


@dataclass(frozen=True)
class PlotData:
    """DVC plots of the CSVs a stage writes into its output ``folder``: ``module``'s ``plots_for(kind)``
    declares the files and their x/y columns (dvc.yaml's top-level ``plots:``). The module is imported by
    the dvc.yaml generator only, so it is not a code dependency of every stage."""

    module: str
    folder: str


def _always(ds: dict[str, Any]) -> bool:
    return True


def _organizations(ds: dict[str, Any]) -> bool:
    return ds["kind"] == "organizations"


@dataclass(frozen=True)
class Stage:
    """One step of the graph: a module with ``run(dataset, params)``, folders in and out, params keys;
    its code dependencies are derived (:attr:`code`)."""

    name: str
    module: str
    deps: tuple[str, ...]
    outs: tuple[str, ...]
    params: tuple[str, ...]
    applies: Callable[[dict[str, Any]], bool] = _always
    metrics: tuple[str, ...] = ()  # small JSON files of key numbers (DVC metrics, kept in git)
    plots: PlotData | None = None  # DVC plots of CSV files among the outputs
    report: tuple[Report, ...] = ()  # outputs shown by ``snakemake --report``

    @property
    def benchmark(self) -> str:
        """Snakemake's benchmark file of a job (template with ``{dataset}``)."""
        return BENCHMARK.replace("{stage}", self.name)

    @property
    def code(self) -> tuple[str, ...]:
        """Source and data files whose change reruns the stage: its import closure with the entry point
        and the data files those modules read (:mod:`pipeline.stages.code_deps`), never a hand-kept list."""
        return code_deps(self.module)

    def cmd(self, dataset: str = "{dataset}") -> str:
        return f"python -m pipeline run {self.name} --dataset {dataset}"

    def paths(self, field: str, dataset: str) -> list[str]:
        return [t.format(dataset=dataset) for t in getattr(self, field)]

    def dep_paths(self, dataset: str, ds: dict[str, Any]) -> list[str]:
        """``deps`` of one dataset as DVC tracks them: the raw folder is the dataset's declared
        ``raw_root`` (``data/raw/<dataset>`` by default)."""
        return [raw_root(dataset, ds) if t == P.RAW else t.format(dataset=dataset) for t in self.deps]

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


STAGES: tuple[Stage, ...] = (
    Stage(
        name="validate_inputs",
        module="pipeline.stages.validate_inputs",
        deps=(P.RAW,),
        outs=(P.VALIDATED,),
        params=("datasets.{dataset}",),
    ),
    Stage(
        name="clean_inputs",
        module="pipeline.stages.clean_inputs",
        deps=(P.VALIDATED,),
        outs=(P.CLEAN,),
        params=("datasets.{dataset}", "clean_inputs"),
    ),
    Stage(
        name="build_histories",
        module="pipeline.stages.build_histories",
        deps=(P.CLEAN,),
        outs=(P.PROCESSED,),
        params=("datasets.{dataset}", "build_histories"),
    ),
)


#: Result folders of the fitting stages, in report order.
RESULT_AREAS = ("founding", "survival", "growth", "bottleneck")


STAGES += (
    Stage(
        name="fit_founding",
        module="pipeline.stages.fit_founding",
        deps=(P.PROCESSED,),
        outs=(P.RESULTS.replace("{area}", "founding"),),
        params=("datasets.{dataset}", "fit_founding", "assessment"),
    ),
    Stage(
        name="fit_bottleneck",
        module="pipeline.stages.fit_bottleneck",
        deps=(P.PROCESSED, P.RESULTS.replace("{area}", "founding")),
        outs=(P.RESULTS.replace("{area}", "bottleneck"),),
        params=("datasets.{dataset}", "fit_bottleneck", "seed", "assessment"),
    ),
    Stage(
        name="fit_survival",
        module="pipeline.stages.fit_survival",
        deps=(P.PROCESSED,),
        outs=(P.RESULTS.replace("{area}", "survival"),),
        params=("datasets.{dataset}", "fit_survival", "assessment"),
    ),
    Stage(
        name="fit_growth",
        module="pipeline.stages.fit_growth",
        deps=(P.PROCESSED,),
        outs=(P.RESULTS.replace("{area}", "growth"),),
        params=("datasets.{dataset}", "fit_growth", "seed", "assessment"),
    ),
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
        outs=(P.REPORT, P.PLOT_DATA),
        params=("datasets.{dataset}", "render_report", "seed"),
        metrics=("metrics/{dataset}.json",),
        plots=PlotData(module="reports.plot_data", folder=P.PLOT_DATA),
        report=(
            Report(
                out=P.REPORT,
                patterns=("report.{document}", "figures/{figure}.png"),
                caption="reports/snakemake/report_folder.rst",
                category="{dataset}",
            ),
            Report(
                out=P.PLOT_DATA,
                patterns=("{plot}.csv",),
                caption="reports/snakemake/plot_data.rst",
                category="{dataset}",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class CrossStage:
    """A step over all datasets at once (no ``{dataset}`` wildcard): its deps are per-dataset templates
    expanded over every dataset ``over`` applies to; it runs as ``python -m pipeline run <name>``."""

    name: str
    module: str
    deps: tuple[str, ...]
    outs: tuple[str, ...]
    params: tuple[str, ...]
    over: str  # the per-dataset stage whose datasets the deps range over
    report: tuple[Report, ...] = ()  # outputs shown by ``snakemake --report``

    @property
    def benchmark(self) -> str:
        """Snakemake's benchmark file of the one job."""
        return BENCHMARK.format(stage=self.name, dataset="all")

    @property
    def code(self) -> tuple[str, ...]:
        """Source and data files whose change reruns the stage (its import closure, as for :class:`Stage`)."""
        return code_deps(self.module)

    def cmd(self) -> str:
        return f"python -m pipeline run {self.name}"

    def datasets(self, params: dict[str, Any]) -> list[str]:
        return datasets_for(by_name(self.over), params)

    def dep_paths(self, params: dict[str, Any]) -> list[str]:
        return [t.format(dataset=d) for d in self.datasets(params) for t in self.deps]


#: Stages across datasets, run after every per-dataset stage they depend on.
CROSS_STAGES: tuple[CrossStage, ...] = (
    CrossStage(
        name="render_index",
        module="pipeline.stages.render_index",
        deps=(P.REPORT,),
        outs=(P.REPORT_INDEX,),
        params=("datasets", "render_report"),
        over="render_report",
        report=(
            Report(
                out=P.REPORT_INDEX,
                patterns=(),
                caption="reports/snakemake/index.rst",
                category="all datasets",
            ),
        ),
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
