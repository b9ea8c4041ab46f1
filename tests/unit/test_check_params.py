"""``python -m pipeline check-params``: the effective formula of every model of every dataset, the same text
the stages write into each result's ``specification.model_formula``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pipeline.core.params import load_params
from pipeline.stages.cli import main
from pipeline.stages.fit_bottleneck import exit_rate_models
from pipeline.stages.specification import effective_specification

ROOT = Path(__file__).resolve().parents[2]


def test_effective_specification_of_the_bundled_datasets() -> None:
    spec = effective_specification(load_params(ROOT / "params.yaml"))
    assert list(spec) == ["default", "cow_igo", "us_commercial_banks", "china_social_organizations"]
    d = spec["default"]
    assert d["fit_founding"]["models"]["nb_covariates"] == "foundings ~ 1 + density + density_sq + period"
    assert d["fit_survival"]["models"]["cox_controls"] == (
        "Surv(start, stop, event) ~ log_size + funding_share + cluster(org_id)"
    )
    assert d["fit_survival"]["models"]["cox_full"].endswith("+ density_at_founding + procurement_budget")
    assert d["fit_growth"]["models"]["gibrat_twoway_fe"] == (
        "growth ~ log_size + density + density_sq + funding_share + cluster(org_id)"
    )
    assert spec["cow_igo"]["fit_survival"]["models"]["cox_controls"] == (
        "Surv(start, stop, event) ~ log_size + cluster(org_id)"
    )
    banks = spec["us_commercial_banks"]
    assert set(banks) == {"kind", "fit_founding", "fit_bottleneck"}  # no organization-level models
    assert banks["fit_bottleneck"]["models"]["exit_rate_nb_density2"] == (
        "exits ~ 1 + offset(log_density) + density + density_sq"
    )


def test_exit_rate_results_record_the_printed_formulas() -> None:
    years = np.arange(2000, 2012)
    density = np.array([10, 14, 19, 25, 30, 36, 40, 43, 45, 46, 46, 45], dtype=float)
    exits = np.array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6], dtype=float)
    pop = pd.DataFrame({"year": years, "density": density, "exits": exits, "foundings": exits + 3})
    results = exit_rate_models(pop, density_scale=10, families=["poisson"], dataset="x")
    params = load_params(ROOT / "params.yaml")
    printed = effective_specification(params)["us_commercial_banks"]["fit_bottleneck"]["models"]
    for res in results:
        assert res.specification["model_formula"] == printed[res.model.replace("_poisson_", "_nb_")]


def test_cli_prints_the_specification_and_fails_on_an_unknown_name(tmp_path: Path, capsys) -> None:
    assert main(["--params", str(ROOT / "params.yaml"), "check-params", "--dataset", "cow_igo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cow_igo (organizations)")
    assert "cox_full" in out and "+ density_at_founding" in out and "gibrat_pooled" in out
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["datasets"]["cow_igo"]["models"]["fit_survival"]["steps"]["full"] = "+ density_at_foundng"
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    assert main(["--params", str(bad), "check-params"]) == 2
    err = capsys.readouterr().err
    assert "datasets.cow_igo: fit_survival.steps.full" in err
    assert "'density_at_foundng'" in err and "did you mean 'density_at_founding'" in err
