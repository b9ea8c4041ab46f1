"""Figures: each maker draws what its result says, Chinese renders, and outputs are byte-identical."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from reports import figures as F
from reports.collect import load_report_inputs, load_results

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
    assert set(nstar["observed_range"]) <= set(xs)  # the observed density range is marked
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert f"N* = {nstar['estimate']:.1f}" in labels and "95% CI of N*" in labels


def test_km_one_step_curve_per_group(results):
    res = results["survival"]["km_district"]
    fig = F.km_figure(res)
    groups = [k.removeprefix("km_") for k in res["curves"]]  # the fitter writes one curve per district
    assert len(groups) > 1
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == groups


def test_hazard_by_age_segments(results):
    res = results["survival"]["piecewise_exponential"]
    fig = F.hazard_by_age_figure(res)
    levels = [ln.get_ydata()[0] for ln in fig.axes[0].get_lines()]
    assert levels == pytest.approx(res["curves"]["hazard_by_age"]["hazard"])


def test_logistic_marks_k_and_t90(results):
    res = results["bottleneck"]["logistic_density"]
    fig = F.logistic_figure(res)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    (k,) = [t["coef"] for t in res["terms"] if t["term"] == "K"]  # K is a parameter of the fit
    assert f"K = {k:.1f}" in labels
    assert res["derived"]["t90"]["estimate"] in _vlines_x(fig)


def test_supf_marks_break_year(results):
    for model in ("break_density_growth", "break_founding_log1p"):
        res = results["bottleneck"][model]
        fig = F.supf_figure(res)
        assert res["derived"]["break_year"] in _vlines_x(fig), model


def test_cif_one_curve_per_cause(results):
    res = results["survival"]["aalen_johansen"]  # multi-state output: the transient state is not drawn
    fig = F.cif_figure(res)
    states = [s for s in dict.fromkeys(res["curves"]["cif"]["state"]) if s != "alive"]
    assert sorted(states) == ["competing:merged", "death"]
    labels = [s.replace("competing:", "competing exit: ") for s in states]
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == labels
    res = results["bottleneck"]["stagnation_hazard"]  # stagnation vs dissolution
    causes = list(dict.fromkeys(res["curves"]["cif"]["cause"]))
    assert sorted(causes) == ["dissolution", "stagnation"]
    assert [ln.get_label() for ln in F.cif_figure(res).axes[0].get_lines()] == causes


def test_growth_and_population_figures(results):
    oy = pd.read_parquet(PROCESSED / "org_years.parquet")
    fig = F.growth_figure(oy, results["growth"]["gibrat_pooled"])
    assert any("Slope" in lab for lab in fig.axes[0].get_legend_handles_labels()[1])
    pop = pd.read_parquet(PROCESSED / "population.parquet")
    fig = F.population_figure(pop)
    assert len(fig.axes) == 2  # density axis + foundings/exits axis
    fig = F.population_figure(pop.drop(columns=["foundings", "exits"]))  # population series without flows
    assert len(fig.axes) == 1


def test_chinese_labels_render_without_missing_glyphs(results, tmp_path):
    # the bundled districts are coded in pinyin: the Chinese words are the zh figure's own labels
    figs = F.build_figures(results, language="zh")
    stem, fig, _ = next(f for f in figs if f[0] == "survival_km_district")
    ax = fig.axes[0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ax.get_title() + ax.get_xlabel() + ax.get_ylabel())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.save_figure(fig, tmp_path / "km", formats=("png", "pdf"))
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing
    pdf = (tmp_path / "km.pdf").read_bytes()
    assert b"NotoSansSC" in pdf  # the CJK font is embedded


def test_render_figures_byte_identical_and_metadata_free(tmp_path, results):
    inputs = load_report_inputs(RESULTS, PROCESSED)
    a = F.render_figures(inputs, tmp_path / "a")
    F.render_figures(inputs, tmp_path / "b", formats=("png",))
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

    # vector formats are byte-stable too (checked on a figure with Chinese labels)
    def km_zh():
        return next(f for s, f, _ in F.build_figures(results, language="zh") if s == "survival_km_district")

    F.save_figure(km_zh(), tmp_path / "c" / "km", formats=("pdf", "svg"))
    F.save_figure(km_zh(), tmp_path / "d" / "km", formats=("pdf", "svg"))
    for ext in ("pdf", "svg"):
        assert (tmp_path / "c" / f"km.{ext}").read_bytes() == (tmp_path / "d" / f"km.{ext}").read_bytes()


def test_alternative_curve_shapes_draw_the_same(results):
    import json

    km = results["survival"]["km_district"]  # one km_<group> curve per group, as the fitter writes
    groups = [k.removeprefix("km_") for k in km["curves"]]
    long = json.loads(json.dumps(km))
    rows = [
        {"group": g, **dict(zip(curve, vals, strict=True))}
        for g, curve in zip(groups, km["curves"].values(), strict=True)
        for vals in zip(*curve.values(), strict=True)
    ]
    long["curves"] = {"km": pd.DataFrame(rows).to_dict("list")}
    a, b = F.km_figure(km), F.km_figure(long)
    assert [ln.get_label() for ln in a.axes[0].get_lines()] == groups
    assert [ln.get_label() for ln in a.axes[0].get_lines()] == [
        ln.get_label() for ln in b.axes[0].get_lines()
    ]
    for la, lb in zip(a.axes[0].get_lines(), b.axes[0].get_lines(), strict=True):
        assert np.array_equal(la.get_ydata(), lb.get_ydata())

    aj = results["survival"]["aalen_johansen"]  # multi-state: a state column with the transient state
    cause = json.loads(json.dumps(aj))
    cif = cause["curves"]["cif"]
    keep = [i for i, st in enumerate(cif["state"]) if st != "alive"]
    assert 0 < len(keep) < len(cif["state"])
    cif = {k: [v[i] for i in keep] for k, v in cif.items()}
    cif["cause"] = cif.pop("state")  # a competing-risks table: causes only
    cause["curves"]["cif"] = cif
    a, b = F.cif_figure(aj), F.cif_figure(cause)
    assert [ln.get_label() for ln in a.axes[0].get_lines()] == [
        ln.get_label() for ln in b.axes[0].get_lines()
    ]
    assert sorted(ln.get_label() for ln in b.axes[0].get_lines()) == ["competing exit: merged", "death"]
    for la, lb in zip(a.axes[0].get_lines(), b.axes[0].get_lines(), strict=True):
        assert np.array_equal(la.get_ydata(), lb.get_ydata())

    pwe = json.loads(json.dumps(results["survival"]["piecewise_exponential"]))
    hz = pwe["curves"]["hazard_by_age"]
    hz["age_start"], hz["age_end"] = hz.pop("age_from"), hz.pop("age_to")
    assert len(F.hazard_by_age_figure(pwe).axes[0].get_lines()) == len(hz["hazard"])

    brk = json.loads(json.dumps(results["bottleneck"]["break_density_growth"]))
    brk["derived"]["critical_value_5pct"] = brk["derived"].pop("critical_values")["0.05"]
    labels = F.supf_figure(brk).axes[0].get_legend_handles_labels()[1]
    assert any(lab.startswith("5% critical value") for lab in labels)
