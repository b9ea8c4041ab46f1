"""params.yaml loading: schema validation with defaults and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.core.params import ParamsError, deep_merge, load_params, stage_params, validate_params

ROOT = Path(__file__).resolve().parents[2]


def test_bundled_params_load_with_defaults():
    params = load_params(ROOT / "params.yaml")
    assert set(params["datasets"]) >= {
        "default",
        "cow_igo",
        "us_commercial_banks",
        "china_social_organizations",
    }
    assert params["datasets"]["default"]["strict"] is False
    assert params["datasets"]["cow_igo"]["organizations"]["sheet"] is None
    assert params["build_histories"]["vanished"]["grace_years"] == 2


def _minimal():
    return {
        "datasets": {
            "x": {
                "kind": "population",
                "window": {"start": 2000, "end": 2010},
                "population": {"path": "data/raw/x/a.csv", "columns": {"year": "y", "density": "n"}},
            }
        }
    }


def test_defaults_are_filled_in_nested_blocks():
    params = validate_params(_minimal())
    assert params["datasets"]["x"]["population"]["density_timing"] == "start_of_year"
    assert params["clean_inputs"]["negative_size"] == "set_missing"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["datasets"]["x"].pop("window"), "window"),
        (lambda p: p["datasets"]["x"].update(kind="firms"), "kind"),
        (lambda p: p["datasets"]["x"]["population"]["columns"].pop("density"), "density"),
        (lambda p: p["datasets"]["x"].update(date_rule="middle"), "date_rule"),
        (lambda p: p["datasets"]["x"]["population"].update(path="elsewhere/a.csv"), "data/raw/x"),
        (lambda p: p["datasets"]["x"].update(window={"start": 2010, "end": 2000}), "ends"),
    ],
)
def test_bad_params_give_clear_errors(mutate, message):
    params = _minimal()
    mutate(params)
    with pytest.raises(ParamsError, match=message):
        validate_params(params)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "p.yaml"
    bad.write_text("datasets: [unclosed", encoding="utf-8")
    with pytest.raises(ParamsError, match="YAML"):
        load_params(bad)


def test_dataset_overrides_are_deep_merged():
    params = validate_params(_minimal())
    params["fit_founding"] = {"se_type": "observed", "nested": [1]}
    params["datasets"]["x"]["models"] = {"fit_founding": {"se_type": "expected"}}
    assert stage_params(params, "fit_founding", "x") == {"se_type": "expected", "nested": [1]}
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_params_file_is_plain_yaml():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    assert "seed" in raw
