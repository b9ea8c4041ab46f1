"""Snakefile, dvc.yaml and params.yaml must describe the same stage graph (no drift)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from pipeline.core.params import load_params
from pipeline.stages.graph import dvc_yaml_text
from pipeline.stages.registry import STAGES, datasets_for

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
    assert rules == {"all"} | {s.name for s in STAGES}


def test_dvc_stages_use_the_same_commands_and_params_keys():
    params = load_params(ROOT / "params.yaml")
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for stage in STAGES:
        items = datasets_for(stage, params)
        if not items:
            continue
        assert dvc[stage.name]["foreach"] == items
        assert dvc[stage.name]["do"]["cmd"] == f"python -m pipeline run {stage.name} --dataset ${{item}}"


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
