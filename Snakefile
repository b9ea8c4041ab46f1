# The stage graph comes from pipeline/stages/registry.py (the same registry dvc.yaml is generated from), and the
# parameters from params.yaml through the same validating loader the CLI uses. Every rule runs the same
# command as the DVC stage of the same name: python -m pipeline run <stage> --dataset <name>.
# Every rule names the locked environment (`conda:`, environment.yml is generated from uv.lock; used only
# with --software-deployment-method conda) and writes a benchmark file under logs/benchmarks/ (untracked).
import json
import os
import sys
import time

from pipeline.core import paths as P
from pipeline.core.io import sha256_file
from pipeline.core.params import ParamsError, load_params, raw_files
from pipeline.stages.registry import CROSS_STAGES, ENVIRONMENT, STAGES, datasets_for

try:
    PARAMS = load_params("params.yaml")
except ParamsError as _exc:  # one clear message, no traceback
    sys.exit(f"error: {_exc}")


def _params_value(stage, dataset=""):
    """The params blocks a stage reads, so that editing them reruns exactly the affected jobs."""
    out = {}
    for key in stage.params:
        node = PARAMS
        for part in key.format(dataset=dataset).split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        out[key] = node
    return json.dumps(out, sort_keys=True)


def _raw_sha256(stage, dataset):
    """SHA-256 of the raw files a stage reads (params of its rule): Snakemake then reruns it when their
    content changes even if a time stamp does not (a file copied back with `cp -p`), as DVC does."""
    if P.RAW not in stage.deps:
        return ""
    out = {}
    for path in raw_files(PARAMS["datasets"][dataset]):
        out[path] = sha256_file(path) if os.path.isfile(path) else "missing"
    return json.dumps(out, sort_keys=True)


def _all_targets():
    targets = []
    for stage in STAGES:
        for ds in datasets_for(stage, PARAMS):
            targets.extend(stage.paths("outs", ds))
            targets.extend(stage.paths("metrics", ds))
    for cross in CROSS_STAGES:
        if cross.datasets(PARAMS):
            targets.extend(cross.outs)
    return targets


def _inputs_marker(stage, dataset):
    return f"logs/{stage.name}/.{dataset}.inputs-missing"


def _mark_missing_inputs():
    """Rerun a job whose output exists but one of whose inputs is gone (e.g. results/<d>/survival after a
    kill or rm), and rebuild that input first.

    Snakemake does not rerun a job whose output exists when an input is missing but can be made
    (snakemake/snakemake#1978), so `snakemake reports/out/<d>` would call a stale report up to date. Every
    job has a marker input (runner bookkeeping under logs/, created with an old time stamp); when an input
    of the job is missing while its output exists, the marker is touched: the job is then out of date, and
    Snakemake rebuilds the missing input before it. Afterwards the outputs are newer than the marker again."""
    made = {o for s in STAGES for ds in datasets_for(s, PARAMS) for o in s.paths("outs", ds)}
    jobs = [(s, ds, s.paths("deps", ds), s.paths("outs", ds)) for s in STAGES for ds in datasets_for(s, PARAMS)]
    jobs += [(c, "all", c.dep_paths(PARAMS), list(c.outs)) for c in CROSS_STAGES]
    for stage, ds, deps, outs in jobs:
        marker = _inputs_marker(stage, ds)
        if not os.path.exists(marker):
            os.makedirs(os.path.dirname(marker), exist_ok=True)
            open(marker, "a").close()
            os.utime(marker, (0, 0))
        gone = [d for d in deps if d in made and not os.path.exists(d)]
        if gone and all(os.path.exists(o) for o in outs):
            # new content too: Snakemake ignores a newer input whose checksum it has recorded
            with open(marker, "w", encoding="utf-8") as fh:
                fh.write(f"missing {' '.join(gone)} ({time.time_ns()})\n")
            print(
                f"Snakefile: {stage.name} ({ds}) is out of date: its input {', '.join(gone)} is missing "
                "and is rebuilt first",
                file=sys.stderr,
            )


_mark_missing_inputs()


def _outputs(stage, folders=True):
    """A stage's outputs (folders, or files for a stage across datasets), those the registry names
    flagged for `snakemake --report`, then its metrics files."""
    flags = {r.out: r for r in stage.report}
    outs = []
    for out in stage.outs:
        value = directory(out) if folders else out
        if out in flags:
            r = flags[out]
            value = report(value, patterns=list(r.patterns), caption=r.caption, category=r.category)
        outs.append(value)
    return outs + list(getattr(stage, "metrics", ()))


# `snakemake --report report.html`: this page, then the figures, reports and plot data of every dataset.
report: "reports/snakemake/workflow.rst"


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
            marker=lambda wc, _s=_stage: _inputs_marker(_s, wc.dataset),
        output:
            _outputs(_stage),
        params:
            cmd=lambda wc, _s=_stage: _s.cmd(wc.dataset),
            config=lambda wc, _s=_stage: _params_value(_s, wc.dataset),
            raw_sha256=lambda wc, _s=_stage: _raw_sha256(_s, wc.dataset),
        log:
            f"logs/{_stage.name}/{{dataset}}.log",
        benchmark:
            _stage.benchmark
        conda:
            ENVIRONMENT
        wildcard_constraints:
            dataset="|".join(datasets_for(_stage, PARAMS)) or "__none__",
        shell:
            "{params.cmd}"


# Stages across datasets (the index page): one job each, after every dataset's report.
for _cross in CROSS_STAGES:

    rule:
        name:
            _cross.name
        input:
            deps=_cross.dep_paths(PARAMS),
            code=list(_cross.code),
            marker=_inputs_marker(_cross, "all"),
        output:
            _outputs(_cross, folders=False),
        params:
            cmd=_cross.cmd(),
            config=_params_value(_cross),
        log:
            f"logs/{_cross.name}/all.log",
        benchmark:
            _cross.benchmark
        conda:
            ENVIRONMENT
        shell:
            "{params.cmd}"
