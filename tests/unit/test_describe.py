"""``describe``: the verdicts are the stages' own (same tests, same reasons) and match what the stages wrote
for the bundled datasets (reference/results/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.params import load_params
from pipeline.stages.applicability import (
    REASONS,
    bottleneck_verdicts,
    founding_verdict,
    growth_verdict,
    survival_verdict,
)
from pipeline.stages.cli import main
from pipeline.stages.describe import declared_frames, describe_dataset, read_processed, verdicts

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference" / "results"


def _stage_reason(results: list) -> str:
    (res,) = results
    assert res.model == "not_applicable"
    return res.fit["reason"]


def test_reasons_are_the_ones_the_stages_record() -> None:
    from pipeline.stages.fit_founding import fit_founding
    from pipeline.stages.fit_growth import fit_growth
    from pipeline.stages.fit_survival import fit_survival

    pop = pd.DataFrame({"year": [2000, 2001], "density": [3.0, 4.0]})
    got = fit_founding(
        pop, None, dataset="d", spec={}, density_scale=1.0, families=[], se_type="observed",
        panel_se_type="cluster", panel_group_vars=None,
    )  # fmt: skip
    assert _stage_reason(got) == REASONS["fit_founding"] == founding_verdict(pop).reason
    spells = pd.DataFrame({"start": [0.0], "stop": [1.0], "event": [0]})
    got = fit_survival(
        spells, dataset="d", window=(2000, 2001), density_scale=1.0, cfg={}, environment=[], groups=[]
    )
    assert _stage_reason(got) == REASONS["fit_survival"] == survival_verdict(spells).reason
    org_years = pd.DataFrame({"org_id": ["a"], "size": [1.0], "growth": [float("nan")]})
    got = fit_growth(
        org_years, dataset="d", covariates=[], age_terms=[], environment=[], density_scale=1.0,
        k_convention="nested", scaling={}, seed=1,
    )  # fmt: skip
    assert _stage_reason(got) == REASONS["fit_growth"] == growth_verdict(org_years).reason


def test_verdicts_on_tiny_frames() -> None:
    assert founding_verdict(pd.DataFrame({"foundings": [None, 2.0]})).applies
    assert not founding_verdict(pd.DataFrame({"foundings": [None, None]})).applies
    assert not founding_verdict(None).applies
    assert survival_verdict(pd.DataFrame({"event": [0, 1]})).applies
    assert not survival_verdict(pd.DataFrame({"event": []})).applies
    assert not growth_verdict(pd.DataFrame({"growth": [0.1]})).applies  # no size measure
    four = pd.DataFrame({"density": [1.0] * 6, "foundings": [1.0] * 4 + [None] * 2, "exits": [1.0] * 6})
    found = {v.stage: v for v in bottleneck_verdicts(four, None)}
    assert found["logistic_density"].applies and found["break_density_growth"].applies
    assert found["break_founding"].reason == "foundings observed in 4 years (needs 5)"
    assert not found["exit_rate_and_equilibrium"].applies and not found["stagnation"].applies
    five = four.assign(foundings=[1.0] * 5 + [None])
    found = {v.stage: v for v in bottleneck_verdicts(five, pd.DataFrame({"growth": [0.1]}))}
    assert found["break_founding"].applies and found["exit_rate_and_equilibrium"].applies
    assert found["stagnation"].applies


def _written(dataset: str) -> dict[str, bool]:
    """Which stages / bottleneck analyses the stages actually fitted for a bundled dataset."""
    base = REFERENCE / dataset
    bottleneck = {p.stem for p in (base / "bottleneck").glob("*.json")}
    out = {
        f"fit_{s}": not (base / s / "not_applicable.json").exists()
        for s in ("founding", "survival", "growth")
    }
    out["fit_bottleneck: logistic_density"] = "logistic_density" in bottleneck
    out["fit_bottleneck: break_density_growth"] = "break_density_growth" in bottleneck
    out["fit_bottleneck: break_founding"] = any(b.startswith("break_founding") for b in bottleneck)
    out["fit_bottleneck: exit_rate_and_equilibrium"] = "equilibrium_density" in bottleneck
    out["fit_bottleneck: stagnation"] = "stagnation_hazard" in bottleneck
    return out


@pytest.mark.parametrize(
    "dataset", ["default", "cow_igo", "us_commercial_banks", "china_social_organizations"]
)
def test_verdicts_from_params_match_the_reference_results(dataset: str) -> None:
    params = load_params(ROOT / "params.yaml")
    got = {v.stage: v.applies for v in verdicts(declared_frames(params["datasets"][dataset]))}
    assert got == _written(dataset)


def _build(dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Run validate_inputs, clean_inputs and build_histories for one bundled dataset in a temporary copy."""
    from pipeline.stages import build_histories, clean_inputs, validate_inputs

    shutil.copytree(ROOT / "data" / "raw" / dataset, tmp_path / "data" / "raw" / dataset)
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    params = load_params("params.yaml")
    for stage in (validate_inputs, clean_inputs, build_histories):
        stage.run(dataset, params)
    return params


@pytest.mark.parametrize("dataset", ["us_commercial_banks", "china_social_organizations", "cow_igo"])
def test_verdicts_on_built_histories_match_the_reference_results(
    dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _build(dataset, tmp_path, monkeypatch)
    frames = read_processed(Path("data/processed") / dataset)
    assert frames is not None
    assert {v.stage: v.applies for v in verdicts(frames)} == _written(dataset)


def test_describe_text_of_a_population_series(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    params = _build("china_social_organizations", tmp_path, monkeypatch)
    text = describe_dataset(params, "china_social_organizations")
    assert "judged from the event histories in data/processed/china_social_organizations/" in text
    assert f"✗ fit_survival: not applicable — {REASONS['fit_survival']}" in text
    assert f"✗ fit_founding: not applicable — {REASONS['fit_founding']}" in text
    assert "nb_density2" not in text and "exit_rate_nb" not in text  # not fitted, so not listed
    assert "logistic_density" in text
    assert main(["describe", "--dataset", "china_social_organizations"]) == 0
    assert capsys.readouterr().out == text


def test_describe_before_build_and_unknown_dataset(
    capsys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["describe", "--dataset", "us_commercial_banks"]) == 0
    out = capsys.readouterr().out
    assert "not built yet: judged from params.yaml" in out
    assert "✓ fit_founding" in out and "nb_density2" in out
    assert main(["describe", "--dataset", "us_comercial_banks"]) == 2
    assert "us_commercial_banks" in capsys.readouterr().err
