"""Render the stage registry as ``dvc.yaml`` (``python -m pipeline dvc-yaml > dvc.yaml``).

Each stage becomes a DVC ``foreach`` over the datasets it applies to, running the same command as the
Snakefile rule of the same name, with the same folders as deps/outs and the same params keys; a stage
across datasets (``render_index``) is one plain DVC stage depending on every dataset's folder.

The top-level ``plots:`` come from ``plots_for(kind)`` of each stage's ``plots`` module: one plot per
file and dataset (id ``<dataset>/<plot>``), x and y columns as declared, the file in the stage's plot folder
(an output of the stage, kept in git like the metrics files so that ``dvc plots diff`` reads old revisions).
"""

from __future__ import annotations

import importlib
from typing import Any

import yaml

from pipeline.core import paths as P
from pipeline.core.params import raw_root
from pipeline.stages.registry import CROSS_STAGES, STAGES, datasets_for

HEADER = (
    "# GENERATED from pipeline/stages/registry.py by `python -m pipeline dvc-yaml > dvc.yaml` -- do not edit.\n"
    "# tests/unit/test_graph.py fails when this file and the registry drift apart.\n"
)


def _dvc_template(template: str, name: str = "${item}") -> str:
    return template.replace("{dataset}", name)


def dvc_stages(params: dict[str, Any]) -> dict[str, Any]:
    """The ``stages:`` mapping of dvc.yaml.

    A stage reading raw files iterates over a mapping ``{dataset: {raw: <folder>}}`` (DVC's ``${key}`` /
    ``${item.raw}``), so that each dataset's declared ``raw_root`` — ``data/raw/<d>`` by default, or a
    folder outside the repository — is the dependency DVC hashes; the other stages iterate over names."""
    out: dict[str, Any] = {}
    for stage in STAGES:
        items = datasets_for(stage, params)
        if not items:
            continue
        if P.RAW in stage.deps:
            foreach: Any = {d: {"raw": raw_root(d, params["datasets"][d])} for d in items}
            name = "${key}"
        else:
            foreach, name = items, "${item}"
        deps = ["${item.raw}" if d == P.RAW else _dvc_template(d, name) for d in stage.deps]
        out[stage.name] = {
            "foreach": foreach,
            "do": {
                "cmd": stage.cmd(name),
                "deps": deps + list(stage.code),
                "params": [_dvc_template(p, name) for p in stage.params],
                # not cached: outputs are rebuilt from raw data + code + params (no DVC remote), and a
                # cache-less fresh clone can then still tell modified outputs from dvc.lock (`dvc status`)
                "outs": [{_dvc_template(o, name): {"cache": False}} for o in stage.outs],
            },
        }
        if stage.metrics:
            out[stage.name]["do"]["metrics"] = [
                {_dvc_template(m, name): {"cache": False}} for m in stage.metrics
            ]
    for cross in CROSS_STAGES:
        if cross.datasets(params):
            out[cross.name] = {
                "cmd": cross.cmd(),
                "deps": cross.dep_paths(params) + list(cross.code),
                "params": list(cross.params),
                "outs": [{o: {"cache": False}} for o in cross.outs],
            }
    return out


def dvc_plots(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The top-level ``plots:`` list of dvc.yaml (``dvc plots show`` / ``dvc plots diff``)."""
    out: list[dict[str, Any]] = []
    for stage in STAGES:
        if stage.plots is None:
            continue
        plots_for = importlib.import_module(stage.plots.module).plots_for
        for ds in datasets_for(stage, params):
            folder = stage.plots.folder.format(dataset=ds)
            for plot in plots_for(params["datasets"][ds]["kind"]):
                out.append(
                    {
                        f"{ds}/{plot.name}": {
                            "template": "linear",
                            "x": plot.x,
                            "y": {f"{folder}/{plot.file}": list(plot.y)},
                            "title": f"{plot.title} ({ds})",
                            "x_label": plot.x_label,
                            "y_label": plot.y_label,
                        }
                    }
                )
    return out


def dvc_yaml_text(params: dict[str, Any]) -> str:
    """Deterministic dvc.yaml text."""
    doc: dict[str, Any] = {"stages": dvc_stages(params)}
    plots = dvc_plots(params)
    if plots:
        doc["plots"] = plots
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=110)
    return HEADER + body
