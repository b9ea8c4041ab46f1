# The stage graph comes from pipeline/stages/registry.py (the same registry dvc.yaml is generated from), and the
# parameters from params.yaml through the same validating loader the CLI uses. Every rule runs the same
# command as the DVC stage of the same name: python -m pipeline run <stage> --dataset <name>.
import json

from pipeline.core.params import load_params
from pipeline.stages.registry import STAGES, datasets_for

PARAMS = load_params("params.yaml")


def _params_value(stage, dataset):
    """The params blocks a stage reads, so that editing them reruns exactly the affected jobs."""
    out = {}
    for key in stage.params:
        node = PARAMS
        for part in key.format(dataset=dataset).split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        out[key] = node
    return json.dumps(out, sort_keys=True)


def _all_targets():
    targets = []
    for stage in STAGES:
        for ds in datasets_for(stage, PARAMS):
            targets.extend(stage.paths("outs", ds))
            targets.extend(stage.paths("metrics", ds))
    return targets


rule all:
    default_target: True
    input:
        _all_targets(),


for _stage in STAGES:

    rule:
        name:
            _stage.name
        input:
            deps=lambda wc, _s=_stage: _s.input_files(wc.dataset, PARAMS),
            code=list(_stage.code),
        output:
            [directory(o) for o in _stage.outs] + list(_stage.metrics),
        params:
            cmd=lambda wc, _s=_stage: _s.cmd(wc.dataset),
            config=lambda wc, _s=_stage: _params_value(_s, wc.dataset),
        log:
            f"logs/{_stage.name}/{{dataset}}.log",
        wildcard_constraints:
            dataset="|".join(datasets_for(_stage, PARAMS)) or "__none__",
        shell:
            "{params.cmd}"
