"""Snakefile, dvc.yaml and params.yaml must describe the same stage graph (no drift)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from pipeline.core import paths as P
from pipeline.core.params import load_params, raw_root
from pipeline.stages.graph import dvc_yaml_text
from pipeline.stages.registry import CROSS_STAGES, STAGES, datasets_for

ROOT = Path(__file__).resolve().parents[2]


def test_committed_dvc_yaml_is_generated_from_registry():
    params = load_params(ROOT / "params.yaml")
    committed = (ROOT / "dvc.yaml").read_text(encoding="utf-8")
    assert committed == dvc_yaml_text(params), (
        "dvc.yaml is stale: run `python -m pipeline dvc-yaml > dvc.yaml`"
    )


def test_snakemake_rules_equal_registry():
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--list-rules"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rules = {line.strip() for line in out.stdout.splitlines() if line.strip()}
    assert rules == {"all"} | {s.name for s in STAGES} | {s.name for s in CROSS_STAGES}


def test_dvc_stages_use_the_same_commands_and_params_keys():
    params = load_params(ROOT / "params.yaml")
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for stage in STAGES:
        items = datasets_for(stage, params)
        if not items:
            continue
        foreach = dvc[stage.name]["foreach"]
        if P.RAW in stage.deps:  # {dataset: {raw: its raw folder}}, DVC's ${key} / ${item.raw}
            assert foreach == {d: {"raw": raw_root(d, params["datasets"][d])} for d in items}
            name = "${key}"
            assert "${item.raw}" in dvc[stage.name]["do"]["deps"]
        else:
            assert foreach == items
            name = "${item}"
        assert dvc[stage.name]["do"]["cmd"] == f"python -m pipeline run {stage.name} --dataset {name}"


def test_every_params_key_named_by_a_stage_exists():
    params = load_params(ROOT / "params.yaml")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for stage in STAGES:
        for ds in datasets_for(stage, params):
            for key in stage.params:
                node = raw
                for part in key.format(dataset=ds).split("."):
                    assert isinstance(node, dict) and part in node, (
                        f"{stage.name}: params key {key} missing for {ds}"
                    )
                    node = node[part]


def test_every_stage_module_has_run_and_code_files_exist():
    import importlib

    for stage in STAGES:
        module = importlib.import_module(stage.module)
        assert callable(module.run)
        for path in stage.code:
            assert (ROOT / path).is_file(), f"{stage.name}: code dependency {path} missing"


# --- code dependencies are the import closure (issue 9 item 11) ---------------------------------------
def test_code_dependencies_include_what_the_hand_kept_lists_missed():
    from pipeline.stages.registry import by_name

    for stage in STAGES:  # every stage loads params through the CLI
        assert {
            "pipeline/core/params.py",
            "pipeline/core/params.schema.json",
            "pipeline/stages/cli.py",
        } <= set(stage.code), stage.name
    assert "analysis/nonparametric.py" in by_name("fit_bottleneck").code
    report = set(by_name("render_report").code)
    assert {"analysis/results.py", "analysis/result.schema.json", "reports/templates/report.typ"} <= report
    # the report imports the fitters' kind declarations (analysis/registry.py), not the command line's
    # verify: editing it does not rerun the report
    assert "analysis/verify.py" not in report


_PROBE = """
import importlib, json, os, pathlib, sys
for name in ("numpy", "pandas", "scipy.stats", "statsmodels.api", "matplotlib", "jsonschema", "yaml"):
    importlib.import_module(name)  # third-party only: each stage's project imports happen in its fork
root = pathlib.Path.cwd().resolve()
out = {}
for stage, module in json.loads(sys.argv[1]).items():
    read, write = os.pipe()
    if os.fork() == 0:
        importlib.import_module("pipeline.stages.cli")
        importlib.import_module(module)
        files = [getattr(m, "__file__", None) for m in list(sys.modules.values())]
        rel = [pathlib.Path(f).resolve().relative_to(root).as_posix()
               for f in files if f and pathlib.Path(f).resolve().is_relative_to(root)]
        os.write(write, json.dumps(rel).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        out[stage] = json.loads(fh.read())
    os.wait()
print(json.dumps(out))
"""


def test_every_module_a_stage_imports_at_run_time_is_a_code_dependency():
    import json

    modules = json.dumps({s.name: s.module for s in STAGES})
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, modules], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(proc.stdout)
    for stage in STAGES:
        mine = {p for p in loaded[stage.name] if p.split("/")[0] in ("pipeline", "analysis", "reports")}
        assert stage.module.replace(".", "/") + ".py" in mine
        missing = mine - set(stage.code)
        assert not missing, f"{stage.name}: imported at run time but not a code dependency: {sorted(missing)}"


def test_import_closure_on_a_tiny_package(tmp_path):
    from pipeline.stages.code_deps import code_deps

    files = {
        "pipeline/__init__.py": "",
        "pipeline/__main__.py": "from pipeline import cli\n",
        "pipeline/cli.py": "import json\n",
        "analysis/__init__.py": "",
        "analysis/a.py": "from .c import thing\n\ndef f():\n    from . import b\n    return b\n",
        "analysis/b.py": "import numpy\n",
        "analysis/c.py": "from pathlib import Path\nSCHEMA = Path(__file__).with_name('c.schema.json')\n",
        "analysis/c.schema.json": "{}",
        "analysis/unused.py": "",
        "analysis/templates/t.typ": "",
        "analysis/d.py": "TEMPLATES = 'templates'\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    assert code_deps("analysis.a", root=tmp_path) == (
        "analysis/__init__.py",
        "analysis/a.py",
        "analysis/b.py",
        "analysis/c.py",
        "analysis/c.schema.json",
        "pipeline/__init__.py",
        "pipeline/__main__.py",
        "pipeline/cli.py",
    )
    assert "analysis/templates/t.typ" in code_deps("analysis.d", root=tmp_path)
