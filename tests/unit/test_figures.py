"""Figures: each maker draws what its result says, Chinese renders, and outputs are byte-identical."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from reports import figures as F
from reports.collect import load_results

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results_example"
RESULTS = FIX / "results" / "default"
PROCESSED = FIX / "processed" / "default"


@pytest.fixture(scope="module")
def results() -> dict:
    F.setup_matplotlib()
    return load_results(RESULTS)


def _vlines_x(fig: Figure) -> list[float]:
    ax = fig.axes[0]
    return [ln.get_xdata()[0] for ln in ax.get_lines() if len(set(np.ravel(ln.get_xdata()))) == 1]


def test_multiplier_marks_nstar_and_range(results):
    res = results["founding"]["poisson_density2"]
    fig = F.multiplier_figure(res)
    xs = _vlines_x(fig)
    nstar = res["derived"]["n_star"]
    assert nstar["estimate"] in xs
    assert set(nstar["density_range"]) <= set(xs)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert f"N* = {nstar['estimate']:.1f}" in labels and "95% CI of N*" in labels


def test_km_one_step_curve_per_group(results):
    res = results["survival"]["km_district"]
    fig = F.km_figure(res)
    groups = list(dict.fromkeys(res["curves"]["km"]["group"]))
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == groups


def test_hazard_by_age_segments(results):
    res = results["survival"]["pwe_age"]
    fig = F.hazard_by_age_figure(res)
    levels = [ln.get_ydata()[0] for ln in fig.axes[0].get_lines()]
    assert levels == pytest.approx(res["curves"]["hazard_by_age"]["hazard"])


def test_logistic_marks_k_and_t90(results):
    res = results["bottleneck"]["logistic_density"]
    fig = F.logistic_figure(res)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert f"K = {res['derived']['K']['estimate']:.1f}" in labels
    assert res["derived"]["t90"]["estimate"] in _vlines_x(fig)


def test_supf_marks_break_year(results):
    res = results["bottleneck"]["supf_density_growth"]
    fig = F.supf_figure(res)
    assert res["derived"]["break_year"] in _vlines_x(fig)


def test_cif_one_curve_per_cause(results):
    res = results["survival"]["aj_exit_kinds"]
    fig = F.cif_figure(res)
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["death", "competing exit: merged"]


def test_growth_and_population_figures(results):
    oy = pd.read_parquet(PROCESSED / "org_years.parquet")
    fig = F.growth_figure(oy, results["growth"]["gibrat_ols"])
    assert any("Slope" in lab for lab in fig.axes[0].get_legend_handles_labels()[1])
    pop = pd.read_parquet(PROCESSED / "population.parquet")
    fig = F.population_figure(pop)
    assert len(fig.axes) == 2  # density axis + foundings/exits axis
    fig = F.population_figure(pop.drop(columns=["foundings", "exits"]))  # population series without flows
    assert len(fig.axes) == 1


def test_chinese_labels_render_without_missing_glyphs(results, tmp_path):
    fig = F.km_figure(results["survival"]["km_district"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.save_figure(fig, tmp_path / "km", formats=("png", "pdf"))
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing
    pdf = (tmp_path / "km.pdf").read_bytes()
    assert b"NotoSansSC" in pdf  # the CJK font is embedded


def test_render_figures_byte_identical_and_metadata_free(tmp_path, results):
    a = F.render_figures("default", RESULTS, PROCESSED, tmp_path / "a")
    F.render_figures("default", RESULTS, PROCESSED, tmp_path / "b", formats=("png",))
    stems = [s["stem"] for s in a]
    for prefix in (
        "population",
        "founding_multiplier",
        "survival_km_",
        "survival_predicted_",
        "survival_mortality_multiplier_",
        "survival_hazard_",
        "survival_cif",
        "growth_vs_size",
        "bottleneck_logistic",
        "bottleneck_supf_",
        "bottleneck_cif",
    ):
        assert any(s.startswith(prefix) for s in stems), prefix
    # headline models only: one founding multiplier (no panel sequence here), none for exit-rate models
    assert [s for s in stems if s.startswith("founding_multiplier")] == ["founding_multiplier"]
    assert not any("exit_rate" in s for s in stems)
    assert len(stems) == len(set(stems))
    assert len(list((tmp_path / "a").iterdir())) == 3 * len(a)
    for name in sorted(p.name for p in (tmp_path / "a").iterdir()):
        data = (tmp_path / "a" / name).read_bytes()
        if name.endswith(".png"):
            assert data == (tmp_path / "b" / name).read_bytes(), name
        if name.endswith(".pdf"):
            assert b"CreationDate" not in data and b"Matplotlib" not in data
        if name.endswith(".svg"):
            assert b"<dc:date>" not in data and b"Matplotlib v" not in data
    # vector formats are byte-stable too (checked on the figure with Chinese labels)
    km = F.km_figure(results["survival"]["km_district"])
    F.save_figure(km, tmp_path / "c" / "km", formats=("pdf", "svg"))
    km = F.km_figure(results["survival"]["km_district"])
    F.save_figure(km, tmp_path / "d" / "km", formats=("pdf", "svg"))
    for ext in ("pdf", "svg"):
        assert (tmp_path / "c" / f"km.{ext}").read_bytes() == (tmp_path / "d" / f"km.{ext}").read_bytes()


def test_alternative_curve_shapes_draw_the_same(results):
    import json

    km = results["survival"]["km_district"]
    frame = pd.DataFrame(km["curves"]["km"])
    split = json.loads(json.dumps(km))
    split["curves"] = {
        f"km_{g}": d.drop(columns="group").to_dict("list") for g, d in frame.groupby("group", sort=False)
    }
    a, b = F.km_figure(km), F.km_figure(split)
    assert [ln.get_label() for ln in a.axes[0].get_lines()] == [
        ln.get_label() for ln in b.axes[0].get_lines()
    ]
    for la, lb in zip(a.axes[0].get_lines(), b.axes[0].get_lines(), strict=True):
        assert np.array_equal(la.get_ydata(), lb.get_ydata())

    aj = json.loads(json.dumps(results["survival"]["aj_exit_kinds"]))
    cif = aj["curves"]["cif"]
    cif["state"] = cif.pop("cause")
    n = len(cif["time"])
    for key in cif:  # a multi-state table also carries the transient state
        cif[key] = cif[key] + (["alive"] if key == "state" else cif[key][:1])
    assert len(cif["time"]) == n + 1
    fig = F.cif_figure(aj)
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["death", "competing exit: merged"]

    pwe = json.loads(json.dumps(results["survival"]["pwe_age"]))
    hz = pwe["curves"]["hazard_by_age"]
    hz["age_start"], hz["age_end"] = hz.pop("age_from"), hz.pop("age_to")
    assert len(F.hazard_by_age_figure(pwe).axes[0].get_lines()) == len(hz["hazard"])

    brk = json.loads(json.dumps(results["bottleneck"]["supf_density_growth"]))
    brk["derived"]["critical_value_5pct"] = brk["derived"].pop("critical_values")["0.05"]
    labels = F.supf_figure(brk).axes[0].get_legend_handles_labels()[1]
    assert any(lab.startswith("5% critical value") for lab in labels)
