"""Issue 9 item 18: an end reason with a Chinese label (the README's own ``合并: competing``) runs through every
stage, and cause-specific results get ASCII names that keep the label for display."""

from __future__ import annotations

import pandas as pd

from pipeline.stages.fit_survival import cause_model_names
from tests.hostile.harness import ORGANIZATIONS_CSV, STAGE_ORDER, Project, assert_ok


def test_a_chinese_end_reason_runs_through_every_stage(tmp_path):
    p = Project(tmp_path)
    p.write("organizations.csv", ORGANIZATIONS_CSV.replace(",merged,", ",合并,"))
    p.ds["end_reasons"] = {"dissolved": "death", "合并": "competing"}
    p.save_params()
    for stage in STAGE_ORDER:
        assert_ok(p.run(stage))
    spells = pd.read_parquet(tmp_path / "data" / "processed" / p.dataset / "spells.parquet")
    assert "competing:合并" in set(spells["exit_kind"].astype(str))


def test_cause_result_names_are_ascii_deterministic_and_distinct():
    kinds = sorted(
        ["death", "competing:merged", "competing:合并", "competing:a b", "competing:a-b", "competing:Fusión"]
    )
    names = cause_model_names(kinds)
    assert names["death"] == "cox_cause_death" and names["competing:merged"] == "cox_cause_merged"
    assert names["competing:Fusión"] == "cox_cause_fusion"
    assert names["competing:合并"] == f"cox_cause_k{kinds.index('competing:合并') + 1}"
    assert len(set(names.values())) == len(kinds)
    assert all(n.isascii() and n.replace("_", "").isalnum() for n in names.values())
    assert cause_model_names(kinds) == names
