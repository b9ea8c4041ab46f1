"""Zero-inflated and hurdle NB2 founding models (analysis/two_part.py): R agreement, recovery, failures,
and the registry path (params → stage core → results → report tables with no edit in reports/).

R reference: ``tests/fixtures/two_part/expected.json`` from ``make_fixtures.R`` (pscl::zeroinfl and
pscl::hurdle on ``input.csv``); R is not needed at test time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import special

from analysis.registry import count_families, kinds
from analysis.results import ModelResult
from analysis.two_part import fit_two_part, hurdle_loglik_obs, zinb_loglik_obs
from pipeline.core.params import ParamsError, load_params, stage_params
from pipeline.stages.common import check_kinds
from pipeline.stages.fit_founding import fit_founding
from reports.assemble import build_tables

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "two_part"
EXPECTED = json.loads((FIX / "expected.json").read_text(encoding="utf-8"))
COEF_RTOL, SE_RTOL, LOGLIK_RTOL = 1e-6, 1e-4, 1e-8
OUTCOME = {"zinb": "y_zinb", "hurdle_nb": "y_hurdle"}
FAMILIES = ["negative_binomial", "zinb", "hurdle_nb"]


def _design(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"const": 1.0, "density": x, "density_sq": x**2})


# ---------------------------------------------------------------------------------------- R agreement


@pytest.mark.parametrize("model", ["zinb", "hurdle_nb"])
def test_agrees_with_pscl(model: str) -> None:
    d = pd.read_csv(FIX / "input.csv")
    exp = EXPECTED[model]
    fit = fit_two_part(d[OUTCOME[model]], _design(d["x"].to_numpy()), model=model)
    assert fit.converged, fit.reason
    cols = ["const", "density", "density_sq"]
    assert fit.names == [f"count:{c}" for c in cols] + [f"zero:{c}" for c in cols] + ["alpha"]
    np.testing.assert_allclose(fit.params, [*exp["count"], *exp["zero"], exp["alpha"]], rtol=COEF_RTOL)
    np.testing.assert_allclose(fit.bse, [*exp["se"], exp["se_alpha"]], rtol=SE_RTOL)
    assert fit.loglik == pytest.approx(exp["loglik"], rel=LOGLIK_RTOL)
    assert fit.k_params == exp["df"] and fit.nobs == exp["n"]
    assert fit.theta == pytest.approx(exp["theta"], rel=COEF_RTOL)


@pytest.mark.parametrize("loglik_obs", [zinb_loglik_obs, hurdle_loglik_obs])
def test_analytic_scores_match_finite_differences(loglik_obs) -> None:
    d = pd.read_csv(FIX / "input.csv")
    x = _design(d["x"].to_numpy()).to_numpy()
    y = d["y_zinb"].to_numpy(float)
    p = np.array([0.4, 0.7, -0.12, -1.1, 0.4, -0.05, np.log(0.6)])
    scores = loglik_obs(p, y, x, x, np.zeros(len(y)))[1].sum(axis=0)
    num = np.empty_like(p)
    for j in range(len(p)):
        e = np.zeros_like(p)
        e[j] = 1e-6
        up, down = (loglik_obs(q, y, x, x, np.zeros(len(y)))[0].sum() for q in (p + e, p - e))
        num[j] = (up - down) / 2e-6
    np.testing.assert_allclose(scores, num, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------------------- recovery

TRUTH = {
    "zinb": {"count": [0.6, 0.9, -0.18], "zero": [-1.2, 0.35, -0.02], "alpha": 0.4},
    "hurdle_nb": {"count": [0.8, 0.7, -0.14], "zero": [1.0, -0.45, 0.03], "alpha": 0.5},
}


def _simulate(model: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded draws with the parameters of ``TRUTH`` on density x = N/100 in [0.1, 4.5]."""
    rng = np.random.default_rng(seed)
    t = TRUTH[model]
    x = np.round(rng.uniform(10, 450, n)) / 100
    xx = _design(x).to_numpy()
    mu = np.exp(xx @ t["count"])
    a = t["alpha"]
    nb = rng.poisson(rng.gamma(1 / a, a * mu))
    zeta = special.expit(xx @ t["zero"])
    if model == "zinb":
        return np.where(rng.uniform(size=n) < zeta, 0, nb), x
    y = np.zeros(n, dtype=int)
    for i in np.flatnonzero(rng.uniform(size=n) < zeta):  # hurdle passed: zero-truncated NB2
        draw = 0
        while draw == 0:
            draw = rng.poisson(rng.gamma(1 / a, a * mu[i]))
        y[i] = draw
    return y, x


@pytest.mark.parametrize("model", ["zinb", "hurdle_nb"])
def test_recovers_known_parameters(model: str) -> None:
    """Every true parameter (and the count equation's N*) inside its 95% CI, n = 3000, seeded."""
    y, x = _simulate(model, 3000, seed=20261202)
    fit = fit_two_part(y, _design(x), model=model)
    assert fit.converged, fit.reason
    t = TRUTH[model]
    truth = np.array([*t["count"], *t["zero"], t["alpha"]])
    z = np.abs(fit.params - truth) / fit.bse
    assert np.all(z < 1.959964), dict(zip(fit.names, np.round(z, 2), strict=True))
    from analysis.inference.turning_point import turning_point

    idx = [fit.names.index("count:density"), fit.names.index("count:density_sq")]
    ns = turning_point(*fit.params[idx], fit.vcov[np.ix_(idx, idx)], scale=100.0, observed_range=(10, 450))
    true_n_star = -t["count"][1] / (2 * t["count"][2]) * 100
    assert ns["ci_low"] < true_n_star < ns["ci_high"]


# -------------------------------------------------------------------------------------------- failures


def test_data_problems_are_recorded_not_raised() -> None:
    x = _design(np.linspace(0.1, 4, 60))
    rng = np.random.default_rng(3)
    positive = rng.poisson(5, 60) + 1
    for model in ("zinb", "hurdle_nb"):
        no_zeros = fit_two_part(positive, x, model=model)
        assert not no_zeros.converged and "no zero counts" in no_zeros.reason
        assert np.all(np.isnan(no_zeros.params))
        all_zero = fit_two_part(np.zeros(60), x, model=model)
        assert not all_zero.converged and "all outcomes are zero" in all_zero.reason
        few = fit_two_part(positive[:5], x.iloc[:5], model=model)
        assert not few.converged and "too few observations" in few.reason
        expected_se = fit_two_part(positive, x, model=model, se_type="expected_theta_fixed")
        assert not expected_se.converged and "not available" in expected_se.reason
    # zeros only where density is low: the zero equation separates
    sep = np.where(x["density"] < 1.0, 0, positive)
    res = fit_two_part(sep, x, model="hurdle_nb")
    assert not res.converged and "separation" in res.reason


def test_cluster_robust_ses_use_the_one_sandwich() -> None:
    y, x = _simulate("zinb", 800, seed=7)
    groups = np.repeat(np.arange(40), 20)
    model_based = fit_two_part(y, _design(x), model="zinb")
    robust = fit_two_part(y, _design(x), model="zinb", se_type="cluster", groups=groups)
    assert robust.converged and robust.n_groups == 40
    np.testing.assert_array_equal(robust.params, model_based.params)
    assert not np.allclose(robust.bse, model_based.bse, rtol=1e-3)
    # the CR1 sandwich of analysis.inference.vcov on the model-based bread and the scores, in alpha units
    from analysis.inference.vcov import sandwich

    p = np.r_[model_based.params[:-1], np.log(model_based.alpha)]
    xx = _design(x).to_numpy()
    scores = zinb_loglik_obs(p, y.astype(float), xx, xx, np.zeros(len(y)))[1]
    jac = np.r_[np.ones(6), model_based.alpha]
    bread = model_based.vcov / jac[:, None] / jac[None, :]
    vc, g = sandwich(bread, scores, groups, "CR1")
    np.testing.assert_allclose(robust.bse, np.sqrt(np.diag(vc)) * jac, rtol=1e-5)


# ------------------------------------------------------------------------ registry, params, stage, report


def test_declared_families_and_kinds() -> None:
    fams = count_families()
    assert {"zinb", "hurdle_nb"} <= set(fams)
    for name, kind in (("zinb", "founding_zero_inflated"), ("hurdle_nb", "founding_hurdle")):
        assert fams[name].kind == kind and kinds()[kind].area == "founding"
        assert "count" in kinds()[kind].caption and "zero" in kinds()[kind].caption
        assert set(kinds()[kind].derived) == {"n_star", "alpha"}


def _params(tmp_path: Path, families: list[str]) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["fit_founding"]["families"] = families
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


def test_params_accept_exactly_the_registered_families(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    params = load_params(_params(tmp_path, FAMILIES))
    assert stage_params(params, "fit_founding", "default")["families"] == FAMILIES
    with pytest.raises(ParamsError, match=r"'zinbb'.*did you mean 'zinb'"):
        load_params(_params(tmp_path, ["negative_binomial", "zinbb"]))


def _zero_heavy_population(seed: int = 11) -> pd.DataFrame:
    """A population-year series with many years without foundings (zero-inflated NB2 foundings)."""
    y, x = _simulate("zinb", 160, seed)
    return pd.DataFrame({"year": 1850 + np.arange(160), "density": x * 100, "foundings": y.astype(float)})


def _stage(population: pd.DataFrame, groups: pd.DataFrame | None, dataset: str) -> list[ModelResult]:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    cfg = params["fit_founding"]
    return fit_founding(
        population,
        groups,
        dataset=dataset,
        spec=cfg["spec"],
        density_scale=100.0,
        families=FAMILIES,
        se_type=cfg["se_type"],
        panel_se_type=cfg["panel_se_type"],
        panel_group_vars=None,
    )


def test_stage_core_writes_two_equation_results_and_the_report_shows_them() -> None:
    results = _stage(_zero_heavy_population(), None, "toy")
    check_kinds(results, "fit_founding")  # the stage writer's check: registered kinds, declared derived keys
    by_model = {r.model: r for r in results}
    assert {"nb_density2", "zinb_density2", "hurdle_nb_density2"} <= set(by_model)
    zinb = by_model["zinb_density2"]
    assert zinb.kind == "founding_zero_inflated" and zinb.fit["converged"], zinb.fit
    assert {t.term for t in zinb.terms} >= {"count:density", "count:density_sq", "zero:const", "alpha"}
    assert zinb.derived["n_star"]["estimate"] > 0 and zinb.derived["alpha"]["se"] > 0
    assert "same regressors" in zinb.specification["options"]["zero_part"]
    assert any("zero equation" in n for n in zinb.notes)
    assert any(t["name"].startswith("LR vs zinb_density") for t in zinb.tests)
    tables = build_tables({"founding": {m: r.to_dict() for m, r in by_model.items()}})
    for stem, what in (("founding_zinb", "inflation"), ("founding_hurdle_nb", "hurdle")):
        table = tables[stem]
        assert "count equation" in table.caption and "zero" in table.caption and what in table.caption
        labels = [label for label, _, _ in table.rows]
        # both equations, each a labelled panel (its kind's declaration) with its terms unprefixed
        panels = [label for label, _, kind in table.rows if kind == "panel"]
        assert len(panels) == 2 and "Count equation" in panels[0] and what in panels[1].lower(), panels
        count_rows, zero_rows = (
            labels[labels.index(panels[0]) : labels.index(panels[1])],
            labels[labels.index(panels[1]) :],
        )
        assert {"Density\u00b2 (N/100)\u00b2", "Constant"} <= set(count_rows) & set(zero_rows), labels
        assert not [label for label in labels if label.startswith(("count:", "zero:"))], labels
        assert any(label.startswith("Density at") for label in labels), labels  # N* of the count equation


def test_bundled_default_dataset_runs_with_the_two_part_families() -> None:
    """The params example on the bundled default population series: the default data have no year without
    foundings, so both two-part models are recorded as not estimable, with the reason, in their tables."""
    pop = pd.read_csv(ROOT / "tests" / "fixtures" / "bundled" / "population_default.csv")
    results = _stage(pop, None, "default")
    check_kinds(results, "fit_founding")
    two_part = [r for r in results if r.kind in ("founding_zero_inflated", "founding_hurdle")]
    assert len(two_part) == 8
    assert all(not r.fit["converged"] and "no zero counts" in r.fit["reason"] for r in two_part)
    nb = {r.model: r for r in results}["nb_density2"]
    assert nb.fit["converged"]
    tables = build_tables({"founding": {r.model: r.to_dict() for r in results}})
    assert {"founding_zinb", "founding_hurdle_nb"} <= set(tables)
