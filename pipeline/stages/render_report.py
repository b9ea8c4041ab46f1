"""Stage ``render_report``: tables (LaTeX/HTML/Markdown/CSV/Word), figures (PDF/SVG/PNG) and the PDF,
HTML and Word reports of one dataset, rendered only from its result files and derived data, the DVC plot
data (``plots/<d>/*.csv``, :mod:`reports.plot_data`) and the DVC metrics file of its headline numbers
(:mod:`reports.key_metrics`). Provenance (commit, input SHA-256, params, package versions, seeds) is gathered here, at the edge.
"""

from __future__ import annotations

import json
import logging
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.core.io import atomic_dir, round_floats, write_json
from pipeline.core.params import raw_files, stage_params
from pipeline.core.paths import DatasetPaths
from pipeline.data.read import load_truth
from reports.assemble import report_tables, write_tables
from reports.collect import load_report_inputs
from reports.discussion import discussion_text
from reports.key_metrics import dataset_metrics
from reports.plot_data import write_plot_data
from reports.report import render_report

log = logging.getLogger("render_report")

PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "lifelines",
    "glum",
    "pyarrow",
    "matplotlib",
    "typst",
    "snakemake",
    "dvc",
    "jsonschema",
    "pandera",
)
METRICS = "metrics/{dataset}.json"
#: Significant digits of the numbers in the metrics files: digits beyond these move with package versions
#: (BLAS, libm) and would show as "Change 0.0" in ``dvc metrics diff``; full precision is in results/.
METRIC_DIGITS = 10


def git_commit(root: Path = Path("."), inputs: list[str] | None = None) -> str:
    """The last commit touching ``inputs`` (all tracked files when None), with ``+dirty`` when one of them
    differs from that commit, or ``unknown`` outside git.

    Stamping the last commit of the report's inputs, not HEAD, keeps the report identical across commits
    that change nothing it is made from (a README edit, a committed ``dvc.lock``), and ``+dirty`` appears
    only when an input itself is modified.
    """
    spec = ["--", *inputs] if inputs is not None else []
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%H", *spec], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", *spec],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if not commit:
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def report_inputs(dataset: str, ds: dict[str, Any], *, root: Path = Path(".")) -> list[str]:
    """Tracked files a dataset's report is made from: ``params.yaml``, the raw files, the truth file and
    the code of every stage in its chain (the registry's ``deps`` and ``code``). Raw files under a
    ``raw_root`` outside the repository are not in git: :func:`outside_repository` lists them."""
    from pipeline.stages.registry import STAGES

    found = {"params.yaml"}
    for stage in STAGES:
        if stage.applies(ds):
            found.update(stage.code)
            found.update(d for d in stage.dep_paths(dataset, ds) if d.startswith("data/raw/"))
    found.update(raw_files(ds))
    return sorted(f for f in found if f not in outside_repository(ds, root=root))


def outside_repository(ds: dict[str, Any], *, root: Path = Path(".")) -> list[str]:
    """Declared raw files that lie outside the repository (a declared ``raw_root`` elsewhere): the
    report names them with their SHA-256, since no commit identifies them."""
    top = root.resolve()
    return sorted(f for f in raw_files(ds) if not (root / f).resolve().is_relative_to(top))


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def truth_mapping(truth: dict[str, Any]) -> dict[str, float]:
    """True parameters of the simulated default dataset keyed ``area/model/term`` as the models name them."""
    out: dict[str, float] = {}
    founding = truth.get("founding", {})
    names = {"boom": "period[boom]", "bottleneck": "period[bottleneck]"}
    for term, value in founding.get("terms", {}).items():
        if term in ("procurement_budget",):
            continue
        out[f"founding/nb_covariates/{names.get(term, term)}"] = value
    if "alpha" in founding:
        out["founding/nb_covariates/alpha"] = founding["alpha"]
    for term, value in truth.get("growth", {}).get("terms", {}).items():
        out[f"growth/gibrat_pooled/{term}"] = value
    mortality = truth.get("mortality", {})
    for term, value in mortality.get("terms", {}).items():
        out[f"survival/piecewise_exponential/{term}"] = value
        out[f"survival/cox_full/{term}"] = value
    for piece, value in mortality.get("log_baseline_hazard", {}).items():
        lo, _, hi = piece.replace("+", "-inf").partition("-")
        out[f"survival/piecewise_exponential/piece[{lo},{hi})"] = value
    return out


def history_notes(processed: Path) -> list[str]:
    """Statements the event histories recorded about themselves (``histories.json``), e.g. how many
    organizations have a left-truncated density at founding and whether it entered the models."""
    path = processed / "histories.json"
    if not path.exists():
        return []
    info = json.loads(path.read_text(encoding="utf-8"))
    return [v["statement"] for _, v in sorted(info.items()) if isinstance(v, dict) and v.get("statement")]


def run(dataset: str, params: dict[str, Any]) -> None:
    """Stage entry point: the dataset's result files, derived tables and cleaning log are read once
    (:func:`reports.collect.load_report_inputs`) and every output is built from that one object."""
    ds = params["datasets"][dataset]
    cfg = stage_params(params, "render_report", dataset)
    paths = DatasetPaths(dataset)
    inputs = load_report_inputs(paths.results("founding").parent, paths.processed, paths.clean)
    validation = json.loads((paths.validated / "validation_report.json").read_text(encoding="utf-8"))
    truth = None
    if ds.get("truth"):
        truth = truth_mapping(load_truth(ds["truth"]))
    provenance = {
        "commit": git_commit(inputs=report_inputs(dataset, ds)),
        "inputs": validation["inputs"],
        "outside_repository": outside_repository(ds),
        "params": {
            "datasets": {dataset: ds},
            **{
                k: stage_params(params, k, dataset)
                for k in (
                    "clean_inputs",
                    "build_histories",
                    "fit_founding",
                    "fit_survival",
                    "fit_growth",
                    "fit_bottleneck",
                )
            },
        },
        "packages": package_versions(),
        "seeds": {"seed (params.yaml)": params["seed"], **inputs.seeds},
        "description": ds.get("description", ""),
        "data_notes": history_notes(paths.processed),
    }
    with atomic_dir(paths.report) as out:
        tables = report_tables(inputs)
        write_tables(tables, out / "tables", formats=tuple(cfg["table_formats"]), language=cfg["language"])
        log.info("%d tables", len(tables))
        figures = None
        html_figures = "embed"  # SVG inside the page when no figure files are kept beside it
        if cfg["figures"]:
            from reports.figures import render_figures

            # drawn once: the configured formats for the output folder plus SVG for the PDF report and
            # PNG for the Word report (removed afterwards when not configured)
            wanted = tuple(cfg["figure_formats"])
            records = render_figures(
                inputs,
                out / "figures",
                formats=tuple(dict.fromkeys((*wanted, "svg", "png"))),
                language=cfg["language"],
            )
            figures = (out / "figures", records)
            html_figures = next((f for f in ("png", "svg") if f in wanted), "embed")
            log.info("%d figures", len(records))
        discussion = discussion_text(
            dataset, inputs.results, inputs.not_applicable, cfg.get("literature", {}).get(dataset)
        )
        pdf = render_report(
            dataset,
            inputs,
            out / "report.pdf",
            provenance,
            truth=truth,
            discussion=discussion,
            tables=tables,
            date_rule=ds["date_rule"],
            title=cfg.get("titles", {}).get(dataset),
            figures=figures,
            out_html=out / "report.html",
            html_figures=html_figures,
            out_docx=out / "report.docx",
            language=cfg["language"],
        )
        log.info("report: %s", pdf)
        if figures is not None:
            for fmt in ("svg", "png"):
                if fmt not in wanted:
                    for rec in figures[1]:
                        Path(rec[fmt]).unlink()
    with atomic_dir(paths.plot_data) as out:  # DVC plots (dvc.yaml's top-level plots:)
        write_plot_data(inputs, out, ds["kind"])
    metrics = dataset_metrics(inputs)
    write_json(METRICS.format(dataset=dataset), round_floats(metrics, METRIC_DIGITS))
