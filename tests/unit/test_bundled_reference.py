"""Agreement with R on the BUNDLED datasets, for the exact specifications the pipeline fits.

Inputs are the compact exports of the pipeline's processed data in ``tests/fixtures/bundled/`` (written by
``export_inputs.py``), expected values come from ``make_fixtures.R`` (R survival / MASS / sandwich / nls)
in ``expected.json``; R is not needed at test time. Each test runs the same Python function the stage
calls, with the settings of ``params.yaml``:

* founding (default, cow_igo, us_commercial_banks): :func:`pipeline.stages.fit_founding.fit_founding`, nested
  Poisson and NB2 — NB2 SEs both under the pipeline's ``observed`` convention and glm.nb's
  ``expected_theta_fixed``;
* mortality (default, cow_igo): :func:`pipeline.stages.fit_survival.fit_survival` — nested Cox models (robust and
  naive SEs, log partial likelihood, cox.zph of the full model) and the piecewise-exponential model with
  the stage's cluster CR0 SEs; model-based SEs from :func:`analysis.piecewise.fit_piecewise_exponential`;
* growth (default): :func:`pipeline.stages.fit_growth.fit_growth` (k_convention from params) and
  :func:`analysis.growth.fit_gibrat_models` with the other K convention;
* carrying capacity (cow_igo, china): :func:`analysis.logistic.fit_logistic`.

Tolerances (relative): coefficients and log-likelihoods 1e-6, standard errors and test statistics 1e-4.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.formula.growth import legacy_lists
from analysis.growth import fit_gibrat_models
from analysis.logistic import fit_logistic
from analysis.piecewise import fit_piecewise_exponential, split_episodes
from analysis.results import ModelResult
from pipeline.core.params import load_params, stage_params
from pipeline.stages.fit_founding import fit_founding
from pipeline.stages.fit_growth import fit_growth
from pipeline.stages.fit_survival import fit_survival as fit_survival_stage
from pipeline.stages.fit_survival import scale_density

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "bundled"
EXPECTED = json.loads((FIX / "expected.json").read_text(encoding="utf-8"))
SPEC = json.loads((FIX / "spec.json").read_text(encoding="utf-8"))
PARAMS = load_params(ROOT / "params.yaml")
PROCESSED = ROOT / "data" / "processed"
COEF_RTOL = 1e-6
LOGLIK_RTOL = 1e-6
SE_RTOL = 1e-4
STAT_RTOL = 1e-4


def _export_module() -> Any:
    spec = importlib.util.spec_from_file_location("bundled_export_inputs", FIX / "export_inputs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


EXPORT = _export_module()


def _read(name: str) -> pd.DataFrame:
    return EXPORT.read_input(FIX / name)


def _vec(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def _check_terms(res: ModelResult, exp: dict[str, Any], se_key: str, label: str) -> None:
    assert res.fit["converged"], f"{label}: {res.fit.get('reason')}"
    assert [t.term for t in res.terms] == exp["names"], label
    coef = np.array([t.coef for t in res.terms])
    se = np.array([t.se for t in res.terms])
    np.testing.assert_allclose(coef, _vec(exp["coef"]), rtol=COEF_RTOL, atol=0, err_msg=f"{label} coef")
    np.testing.assert_allclose(se, _vec(exp[se_key]), rtol=SE_RTOL, atol=0, err_msg=f"{label} {se_key}")
    assert res.fit["loglik"] == pytest.approx(float(exp["loglik"]), rel=LOGLIK_RTOL), f"{label} loglik"


# ---------------------------------------------------------------------------------------------- founding


def _founding_results(dataset: str, se_type: str) -> dict[str, ModelResult]:
    ds = PARAMS["datasets"][dataset]
    cfg = stage_params(PARAMS, "fit_founding", dataset)
    pop = _read(f"population_{dataset}.csv")
    results = fit_founding(
        pop,
        None,
        dataset=dataset,
        spec=cfg["spec"],
        density_scale=ds["density_scale"],
        families=cfg["families"],
        se_type=se_type,
        panel_se_type=cfg["panel_se_type"],
        panel_group_vars=cfg["panel_group_vars"],
    )
    return {r.model: r for r in results}


@pytest.mark.parametrize("dataset", sorted(EXPECTED["founding"]))
@pytest.mark.parametrize("se_type", ["expected_theta_fixed", "observed"])
def test_founding_models_match_glm_and_glm_nb(dataset: str, se_type: str) -> None:
    """Nested Poisson (glm) and NB2 (glm.nb) founding models: coefficients, α, SEs, logLik, n."""
    exp = EXPECTED["founding"][dataset]
    got = _founding_results(dataset, se_type)
    assert sorted(got) == sorted(exp["models"])
    for model, e in exp["models"].items():
        res = got[model]
        assert res.sample["n"] == e["n"] == exp["n"], model
        if model.startswith("poisson_"):
            _check_terms(res, e, "se", f"{dataset}/{model}")
            continue
        assert e["converged"] and not e["warnings"], f"R glm.nb did not converge cleanly: {e['warnings']}"
        key = "se_expected" if se_type == "expected_theta_fixed" else "se_observed"
        _check_terms(res, e, key, f"{dataset}/{model} ({se_type})")
        alpha = res.derived["alpha"]
        assert not alpha["at_boundary"]
        assert alpha["theta"] == pytest.approx(float(e["theta"]), rel=COEF_RTOL)
        if se_type == "expected_theta_fixed":
            # theta.ml's information formula at the final theta (glm.nb's own SE.theta uses the previous
            # iterate; expected.json keeps both, see make_fixtures.R)
            assert alpha["theta_se"] == pytest.approx(float(e["se_theta_at_mle"]), rel=SE_RTOL)


# --------------------------------------------------------------------------------------------- mortality


@pytest.fixture(scope="module", params=sorted(EXPECTED["survival"]))
def survival(request: pytest.FixtureRequest) -> tuple[str, pd.DataFrame, dict[str, ModelResult]]:
    """The fit_survival stage function on the exported complete-case spells (raw density, params scale)."""
    d = request.param
    ds = PARAMS["datasets"][d]
    cfg = stage_params(PARAMS, "fit_survival", d)
    spells = _read(f"spells_{d}.csv.gz")
    env = ds.get("environment", {}).get("covariates", []) if ds["kind"] == "organizations" else []
    results = fit_survival_stage(
        spells,
        dataset=d,
        window=(ds["window"]["start"], ds["window"]["end"]),
        density_scale=ds["density_scale"],
        cfg=cfg,
        environment=env,
        groups=[],
    )
    return d, spells, {r.model: r for r in results}


def test_exported_density_terms_are_the_stage_scaling(survival) -> None:
    """The scaled density terms R used equal scale_density's output bit for bit."""
    d, spells, _ = survival
    scaled = scale_density(spells, PARAMS["datasets"][d]["density_scale"])
    for col in ("density", "density_sq", "density_at_founding"):
        np.testing.assert_array_equal(scaled[col].to_numpy(), spells[f"scaled_{col}"].to_numpy(), err_msg=col)


def test_cox_models_match_coxph(survival) -> None:
    """cox_controls / cox_density / cox_full: coef, robust and naive SE, log partial likelihood, n, events."""
    d, spells, got = survival
    for model, e in EXPECTED["survival"][d].items():
        if not model.startswith("cox_"):
            continue
        res = got[model]
        assert res.specification["terms"] == e["names"] == SPEC["survival"][d]["steps"][model]
        assert res.sample["n"] == e["n"] == len(spells), model
        assert res.sample["events"] == e["events"], model
        _check_terms(res, e, "se_robust", f"{d}/{model}")
        naive = np.array([res.derived["naive_se"][n] for n in e["names"]])
        np.testing.assert_allclose(naive, _vec(e["se_naive"]), rtol=SE_RTOL, atol=0, err_msg=f"{model} naive")
        assert res.fit["loglik_null"] == pytest.approx(float(e["loglik_null"]), rel=LOGLIK_RTOL)


@pytest.mark.parametrize("transform", ["km", "identity"])
def test_cox_full_ph_test_matches_cox_zph(survival, transform: str) -> None:
    """Grambsch–Therneau tests of cox_full (per term and GLOBAL) as R's cox.zph."""
    d, _, got = survival
    e = EXPECTED["survival"][d]["cox_full"][f"zph_{transform}"]
    tests = {t["name"]: t for t in got["cox_full"].tests}
    for term, chisq, df, p in zip(e["terms"], e["chisq"], e["df"], e["p"], strict=True):
        t = tests[f"PH test (cox.zph, {transform}): {term}"]
        assert t["statistic"] == pytest.approx(chisq, rel=STAT_RTOL), term
        assert t["df"] == df, term
        assert t["p"] == pytest.approx(p, rel=STAT_RTOL, abs=1e-12), term


def test_piecewise_episodes_are_split_episodes(survival) -> None:
    """The episodes R fitted are exactly split_episodes of the spells at the params age pieces."""
    d, spells, _ = survival
    cuts = stage_params(PARAMS, "fit_survival", d)["age_pieces"]
    expected = EXPORT.episodes_input(spells, cuts)
    got = _read(f"episodes_{d}.csv.gz")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)


def test_piecewise_exponential_matches_glm(survival) -> None:
    """Stage result (cluster CR0 SEs, vcovCL HC0) and model-based SEs (glm vcov) of the piecewise model."""
    d, spells, got = survival
    e = EXPECTED["survival"][d]["piecewise_exponential"]
    res = got["piecewise_exponential"]
    # the stage's se_type (params) -> the matching R covariance (cluster_cr1 has no R reference here)
    cfg = stage_params(PARAMS, "fit_survival", d)
    stage_key = {"cluster_cr0": "se_cluster_cr0", "model": "se_model"}[cfg["se_type"]]
    assert res.sample["n"] == e["n"]
    _check_terms(res, e, stage_key, f"{d}/piecewise (stage)")
    full = SPEC["survival"][d]["steps"]["cox_full"]
    episodes = split_episodes(
        scale_density(spells, PARAMS["datasets"][d]["density_scale"]), cfg["age_pieces"]
    )
    model = fit_piecewise_exponential(episodes, full, cuts=cfg["age_pieces"], se_type="model", dataset=d)
    _check_terms(model, e, "se_model", f"{d}/piecewise (model SE)")
    assert int(episodes["event"].sum()) == e["events"]


# ------------------------------------------------------------------------------------------------ growth


@pytest.mark.parametrize("dataset", sorted(EXPECTED["growth"]))
def test_gibrat_models_match_lm_vcovcl(dataset: str) -> None:
    """Pooled / org FE / two-way Gibrat regressions: lm coefficients, vcovCL SEs under both K conventions."""
    ds = PARAMS["datasets"][dataset]
    cfg = stage_params(PARAMS, "fit_growth", dataset)
    oy = _read(f"org_years_{dataset}.csv.gz")
    covariates, age_terms, environment = legacy_lists(cfg) if not cfg["formula"] else ([], [], [])
    stage = {
        r.model: r
        for r in fit_growth(
            oy,
            dataset=dataset,
            covariates=covariates,
            age_terms=age_terms,
            environment=environment,
            formula=cfg["formula"],
            density_scale=ds["density_scale"],
            k_convention=cfg["k_convention"],
            scaling=cfg["size_variance"],
            seed=PARAMS["seed"],
        )
    }
    other = "dummies" if cfg["k_convention"] == "nested" else "nested"
    alt = {
        r.model: r
        for r in fit_gibrat_models(
            oy,
            covariates=tuple(SPEC["growth"][dataset]["covariates"]),
            density_scale=ds["density_scale"],
            k_convention=other,
            dataset=dataset,
        )
    }
    for model, e in EXPECTED["growth"][dataset].items():
        for res, conv in ((stage[model], cfg["k_convention"]), (alt[model], other)):
            assert res.sample["n"] == e["n"] and res.sample["n_groups"] == e["n_groups"], model
            assert res.fit["k_small_sample"] == e[f"k_{conv}"], (model, conv)
            _check_terms(res, e, f"se_{conv}", f"{dataset}/{model} ({conv})")
        aliased = [n for n in ("density", "density_sq") if n not in e["names"]]
        assert aliased == e["aliased"]


# ---------------------------------------------------------------------------------------------- logistic


@pytest.mark.parametrize("dataset", sorted(EXPECTED["logistic"]))
def test_logistic_matches_nls(dataset: str) -> None:
    """Carrying-capacity curve: K, r, t0 and their nls SEs, Gaussian logLik."""
    cfg = stage_params(PARAMS, "fit_bottleneck", dataset)["logistic"]
    e = EXPECTED["logistic"][dataset]
    assert e["converged"]
    res = fit_logistic(
        _read(f"density_{dataset}.csv"),
        exclude_status=cfg["exclude_status"],
        max_k_ratio=cfg["max_k_ratio"],
        dataset=dataset,
    )
    assert res.sample["n"] == e["n"]
    _check_terms(res, e, "se", f"{dataset}/logistic")


# ------------------------------------------------------------------------------------------------- drift


def _needed(root: Path) -> list[Path]:
    needed = [root / d / "population.parquet" for d in (*SPEC["founding"], *SPEC["logistic"])]
    needed += [root / d / "spells.parquet" for d in SPEC["survival"]]
    needed += [root / d / "org_years.parquet" for d in SPEC["growth"]]
    return needed


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``data/processed`` of the fixture datasets: the repository's own when the pipeline has run here,
    else built from the bundled raw files in a temporary copy by the pipeline's own stages (a clean CI
    clone has no ``data/processed``; the guard must run there too, not skip)."""
    if all(p.exists() for p in _needed(PROCESSED)):
        return PROCESSED
    work = tmp_path_factory.mktemp("drift")
    shutil.copy2(ROOT / "params.yaml", work / "params.yaml")
    datasets = sorted({d for area in SPEC.values() if isinstance(area, dict) for d in area})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORGECOLOGY_PROGRESS": "0"}
    for dataset in datasets:
        shutil.copytree(ROOT / "data" / "raw" / dataset, work / "data" / "raw" / dataset)
        for stage in ("validate_inputs", "clean_inputs", "build_histories"):
            cmd = [sys.executable, "-m", "pipeline", "run", stage, "--dataset", dataset]
            proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
            assert proc.returncode == 0, f"{' '.join(cmd)}: {proc.stderr[-3000:]}"
    built = work / "data" / "processed"
    missing = [str(p) for p in _needed(built) if not p.exists()]
    assert not missing, f"the stages did not write {missing}"
    return built


@pytest.mark.slow
def test_fixture_inputs_equal_current_pipeline_outputs(processed: Path) -> None:
    """Drift guard: the committed inputs are what export_inputs.py writes from the current pipeline data."""
    frames, spec = EXPORT.build_inputs(PARAMS, processed)
    assert spec == SPEC, "spec.json is stale: rerun export_inputs.py and make_fixtures.R"
    committed = sorted(p.name for p in FIX.iterdir() if p.name.endswith((".csv", ".csv.gz")))
    assert committed == sorted(frames)
    for name, frame in frames.items():
        got = _read(name)
        expected = EXPORT.read_input_text(EXPORT.csv_text(frame))
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
