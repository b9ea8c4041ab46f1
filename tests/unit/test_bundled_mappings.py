"""The bundled datasets' params mappings read the raw files as their documentation says."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.params import load_params, stage_params
from pipeline.data.histories import build_organizations
from pipeline.stages.clean_inputs import clean_tables
from pipeline.stages.validate_inputs import validate_dataset

ROOT = Path(__file__).resolve().parents[2]


def test_cow_igo_integrated_and_replaced_igos_are_succession_not_death(monkeypatch):
    monkeypatch.chdir(ROOT)
    params = load_params(ROOT / "params.yaml")
    ds = params["datasets"]["cow_igo"]
    tables, _ = validate_dataset(ds)
    reasons = tables["organizations"]["end_reason"].value_counts(dropna=False).to_dict()
    # COW flags: 138 dead only, 35 dead + replaced, 25 dead + integrated, 2 ended without a flag
    assert {k: v for k, v in reasons.items() if isinstance(k, str)} == {
        "dissolved": 138,
        "replaced": 35,
        "integrated": 25,
    }
    cleaned, _ = clean_tables(tables, ds, stage_params(params, "clean_inputs", "cow_igo"))
    cfg = stage_params(params, "build_histories", "cow_igo")
    orgs = build_organizations(
        cleaned["organizations"],
        window=(ds["window"]["start"], ds["window"]["end"]),
        end_reasons=ds["end_reasons"],
        missing_end_reason=ds["missing_end_reason"],
        cohort_width=cfg["cohort_width"],
    )
    kinds = orgs["end_kind"].value_counts().to_dict()
    assert kinds == {"censored": 334, "death": 140, "competing:replaced": 35, "competing:integrated": 25}
