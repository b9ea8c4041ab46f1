"""The committed reference results: every file follows the results contract, every bundled dataset has
every result area, and the simulated default dataset's estimates cover the simulator's truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.results import validate_result
from pipeline.core.params import load_params
from pipeline.stages.render_report import truth_mapping

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "reference" / "results"
AREAS = ("founding", "survival", "growth", "bottleneck")


def test_every_reference_result_validates_against_the_schema():
    files = sorted(REF.rglob("*.json"))
    assert len(files) > 50
    for path in files:
        obj = json.loads(path.read_text(encoding="utf-8"))
        validate_result(obj)
        assert obj["dataset"] == path.parts[-3]
        assert obj["model"] == path.stem


def test_every_bundled_dataset_has_every_area():
    params = load_params(ROOT / "params.yaml")
    for ds in params["datasets"]:
        for area in AREAS:
            assert list((REF / ds / area).glob("*.json")), f"no {area} results for {ds}"


@pytest.mark.parametrize(
    "key", sorted(truth_mapping(json.loads((ROOT / "data/raw/default/truth.json").read_text())))
)
def test_default_estimates_cover_the_simulator_truth(key):
    truth = truth_mapping(json.loads((ROOT / "data/raw/default/truth.json").read_text()))
    area, model, term = key.split("/", 2)
    res = json.loads((REF / "default" / area / f"{model}.json").read_text(encoding="utf-8"))
    assert res["fit"]["converged"]
    row = next(t for t in res["terms"] if t["term"] == term)
    assert row["ci_low"] <= truth[key] <= row["ci_high"], (
        f"{key}: truth {truth[key]} outside [{row['ci_low']}, {row['ci_high']}]"
    )
