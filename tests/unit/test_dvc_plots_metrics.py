"""DVC plots and metrics: dvc.yaml declares a plot for every plot file render_report writes (with columns
that exist), the plot data is small and deterministic, and the metrics file has exactly the key set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline.core import paths as P
from pipeline.core.params import load_params
from pipeline.stages.registry import by_name, datasets_for
from reports import key_metrics as km
from reports import plot_data as pdata

ROOT = Path(__file__).resolve().parents[2]


def _nb(model: str = "nb_density2", **extra: object) -> dict:
    # ``kind`` as the model registry on main names it (results are dispatched on it there)
    return {
        "model": model,
        "kind": "founding_count",
        "family": "negative_binomial",
        "fit": {"converged": True, "loglik": -100.0},
        "terms": [
            {"term": "const", "coef": 1.0},
            {"term": "density", "coef": 0.5},
            {"term": "density_sq", "coef": -0.025},
            {"term": "alpha", "coef": 0.2},
        ],
        "derived": {
            "alpha": {"estimate": 0.2},
            "n_star": {"estimate": 10.0, "ci_low": 8.0, "ci_high": 12.0},
        },
        "curves": {
            "multiplier": {
                "density": [20.0, 0.0, 10.0],
                "multiplier": [1.0, 1.0, 3.5],
                "ci_low": [0.5, 0.5, 3.0],
                "ci_high": [1.5, 1.5, 4.0],
            }
        },
        "specification": {},
        **extra,
    }


def _results() -> dict:
    km_all = {
        "model": "km_all",
        "kind": "km",
        "fit": {"converged": True},
        "terms": [],
        "derived": {"summary": [{"group": "all", "median": 1.2}]},
        "curves": {
            "km_all": {
                "time": [0.0, 0.7, 1.2],
                "survival": [1.0, 0.8, 0.5],
                "ci_low": [1.0, 0.7, 0.4],
                "ci_high": [1.0, 0.9, 0.6],
            }
        },
    }
    pw = {
        "model": "piecewise_exponential",
        "kind": "age_pieces",
        "fit": {"converged": True},
        "terms": [],
        "derived": {},
        "curves": {
            "hazard_by_age": {
                "piece": ["[0,1)", "[1,inf)"],
                "age_from": [0.0, 1.0],
                "age_to": [1.0, None],
                "hazard": [0.2, 0.1],
                "ci_low": [0.1, 0.05],
                "ci_high": [0.3, 0.2],
            }
        },
    }
    aj = {
        "model": "aalen_johansen",
        "kind": "aalen_johansen",
        "fit": {"converged": True},
        "terms": [],
        "derived": {},
        "curves": {
            "cif": {
                "state": ["alive", "death", "death", "competing:a", "competing:b"],
                "time": [0.0, 0.4, 1.1, 0.6, 0.9],
                "estimate": [1.0, 0.1, 0.3, 0.05, 0.02],
            }
        },
    }
    cox = {
        "model": "cox_full",
        "kind": "cox",
        "family": "cox",
        "fit": {"converged": True},
        "terms": [{"term": "density", "coef": -0.1}, {"term": "density_sq", "coef": 0.01}],
        "derived": {"density_minimum": {"estimate": 5.0}},
    }
    return {
        "founding": {"nb_density2": _nb()},
        "survival": {"km_all": km_all, "piecewise_exponential": pw, "aalen_johansen": aj, "cox_full": cox},
        "growth": {},
        "bottleneck": {},
    }


def _population() -> pd.DataFrame:
    return pd.DataFrame(
        {"year": [2001, 2000], "density": [12, 10], "foundings": [3, 2], "exits": [1, 0], "mass": [1.0, 2.0]}
    )


def test_dvc_yaml_declares_exactly_the_plot_files_render_report_writes():
    params = load_params(ROOT / "params.yaml")
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    declared = {}
    for entry in dvc["plots"]:
        ((pid, spec),) = entry.items()
        ((path, ys),) = spec["y"].items()
        declared[path] = (pid, spec["x"], tuple(ys))
    stage = by_name("render_report")
    expected = {}
    for ds in datasets_for(stage, params):
        for plot in pdata.plots_for(params["datasets"][ds]["kind"]):
            path = f"{P.PLOT_DATA.format(dataset=ds)}/{plot.file}"
            expected[path] = (f"{ds}/{plot.name}", plot.x, plot.y)
    assert declared == expected
    # the plot folder is an output of the stage that writes it (not cached, like every output)
    outs = [next(iter(o)) for o in dvc["stages"]["render_report"]["do"]["outs"]]
    # render_report reads the raw folder, so DVC iterates it over {dataset: {raw: folder}}: ${key} names it
    assert P.PLOT_DATA.replace("{dataset}", "${key}") in outs


def test_the_key_curves_are_declared_for_organization_data():
    names = {p.name for p in pdata.plots_for("organizations")}
    assert names == {"population", "founding_multiplier", "km", "hazard_by_age", "cif"}
    assert {p.name for p in pdata.plots_for("population")} == {"population", "founding_multiplier"}
    assert len(pdata.MAKERS) == len(pdata.PLOTS) and set(pdata.MAKERS) == {p.name for p in pdata.PLOTS}


@pytest.mark.parametrize("kind", ["organizations", "population"])
def test_plot_files_have_the_declared_columns(tmp_path, kind):
    frames = pdata.plot_frames(_results(), _population(), kind)
    for plot in pdata.plots_for(kind):
        frame = frames[plot.name]
        assert tuple(frame.columns) == plot.columns
        assert {plot.x, *plot.y} <= set(frame.columns)
        assert len(frame) > 0, plot.name


def test_missing_curves_give_header_only_files(tmp_path):
    empty = {"founding": {}, "survival": {}, "growth": {}, "bottleneck": {}}
    frames = pdata.plot_frames(empty, None, "organizations")
    for plot in pdata.plots_for("organizations"):
        assert list(frames[plot.name].columns) == list(plot.columns)
        assert frames[plot.name].empty


def test_step_curves_are_read_off_on_the_age_grid():
    frames = pdata.plot_frames(_results(), _population(), "organizations")
    kmf = frames["km"]
    assert kmf["age"].tolist() == [0.0, 0.5, 1.0]
    assert kmf["survival"].tolist() == [1.0, 1.0, 0.8]  # 0.7 → 0.8 holds at 1.0; 1.2 is past the grid
    cif = frames["cif"]
    assert cif["age"].tolist() == [0.0, 0.5, 1.0]
    assert cif["death"].tolist() == [0.0, 0.1, 0.1]
    np.testing.assert_allclose(cif["competing_exits"], [0.0, 0.0, 0.07])
    hz = frames["hazard_by_age"]
    assert hz["age"].tolist() == [0.0, 1.0, 1.0, 2.0]  # open last piece: one width of the previous one
    assert hz["hazard"].tolist() == [0.2, 0.2, 0.1, 0.1]
    mult = frames["founding_multiplier"]
    assert mult["density"].tolist() == [0.0, 10.0, 20.0]
    pop = frames["population"]
    assert pop["year"].tolist() == [2000, 2001] and "mass" not in pop


def test_plot_files_are_deterministic(tmp_path):
    from reports.collect import ReportInputs

    inputs = ReportInputs(results=_results(), population=_population())
    first = pdata.write_plot_data(inputs, tmp_path / "a", "organizations")
    second = pdata.write_plot_data(inputs, tmp_path / "b", "organizations")
    assert [p.name for p in first] == [p.file for p in pdata.plots_for("organizations")]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert not list(tmp_path.glob("a/.*"))  # no temporaries left


def _keys(obj: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in obj.items():
        out |= _keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
    return out


EXPECTED_KEYS = {f"{section}.{key}" for section, keys in km.KEYS.items() for key in keys}


def test_metrics_have_exactly_the_key_set():
    metrics = km.key_metrics(_results(), _population(), 7)
    assert _keys(metrics) == EXPECTED_KEYS
    assert len(EXPECTED_KEYS) <= 40  # headline numbers, not every coefficient
    assert metrics["founding"] == {
        "model": "nb_density2",
        "density": 0.5,
        "density_sq": -0.025,
        "alpha": 0.2,
        "n_star": 10.0,
        "n_star_ci_low": 8.0,
        "n_star_ci_high": 12.0,
        "loglik": -100.0,
    }
    assert metrics["survival"]["cox_density"] == -0.1 and metrics["survival"]["density_minimum"] == 5.0
    assert metrics["survival"]["km_median_age"] == 1.2
    assert metrics["counts"]["organizations"] == 7 and metrics["counts"]["density_last"] == 12.0
    assert metrics["counts"]["foundings"] == 5.0 and metrics["counts"]["models"] == 5


def test_metrics_keep_the_key_set_when_nothing_was_estimated():
    empty = {"founding": {}, "survival": {}, "growth": {}, "bottleneck": {}}
    metrics = km.key_metrics(empty, None, None)
    assert _keys(metrics) == EXPECTED_KEYS
    assert all(
        v is None for s in ("founding", "survival", "growth", "bottleneck") for v in metrics[s].values()
    )


def test_headline_founding_is_the_largest_negative_binomial_model():
    founding = {"nb_density2": _nb(), "nb_covariates": _nb("nb_covariates")}
    founding["nb_covariates"]["terms"] = [*founding["nb_covariates"]["terms"], {"term": "x", "coef": 9.0}]
    assert km.founding_metrics(founding)["model"] == "nb_covariates"


def test_committed_metrics_files_are_the_key_set_when_regenerated():
    """metrics/<d>.json written by the current code has exactly the key set (skipped for a committed file
    of the earlier layout, which the next full run replaces)."""
    params = load_params(ROOT / "params.yaml")
    for ds in datasets_for(by_name("render_report"), params):
        path = ROOT / "metrics" / f"{ds}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if "counts" not in data:
            pytest.skip("metrics files of the earlier layout are committed; a full run rewrites them")
        assert _keys(data) == EXPECTED_KEYS, ds
