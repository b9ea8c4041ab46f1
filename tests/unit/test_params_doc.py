"""docs/params.md is generated from the params schema (and the bundled params.yaml's examples and comments)."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.stages.params_doc import WILD, params_comments, params_reference, walk

ROOT = Path(__file__).resolve().parents[2]


def test_docs_params_md_is_the_generated_reference() -> None:
    committed = (ROOT / "docs" / "params.md").read_text(encoding="utf-8")
    assert committed == params_reference(), "regenerate: python -m pipeline params-doc > docs/params.md"


def test_every_schema_key_is_documented() -> None:
    schema = json.loads((ROOT / "pipeline/core/params.schema.json").read_text(encoding="utf-8"))
    keys = {".".join(p) for p, _, _ in walk(schema, schema)}
    for key in ("datasets", "fit_survival", "seed"):
        assert key in schema["properties"]
    for key in (
        f"datasets.{WILD}.organizations.date_epoch",
        f"datasets.{WILD}.panel.scale",
        f"datasets.{WILD}.population.density_timing",
        "fit_founding.spec.steps",
        "fit_bottleneck.stagnation.formula",
        "assessment.min_clusters",
    ):
        assert key in keys
    text = params_reference()
    assert all(f"| `{k}` |" in text for k in keys)
    assert all(f"## `{top}`" in text for top in schema["properties"])


def test_comments_are_read_per_key_path() -> None:
    text = "a:\n  # first line\n  # second\n  b: 1   # inline\ndatasets:\n  mine:\n    kind: x  # what\n"
    got = params_comments(text)
    assert got[("a", "b")] == "first line second inline"
    assert got[("datasets", WILD, "kind")] == "what"
    assert ("a",) not in got
