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


def undocumented(schema: dict) -> list[str]:
    """Every params key (as ``walk`` lists them, which docs/params.md shows) whose schema node has no
    description."""
    return [
        ".".join(path)
        for path, node, _ in walk(schema, schema)
        if not str(node.get("description") or "").strip()
    ]


def test_undocumented_finds_keys_without_a_description() -> None:
    schema = {
        "properties": {
            "a": {"type": "integer", "description": "documented"},
            "b": {"type": "object", "description": " ", "properties": {"c": {"$ref": "#/$defs/c"}}},
        },
        "$defs": {"c": {"type": "object", "properties": {"d": {"type": "string", "description": "x"}}}},
    }
    assert undocumented(schema) == ["b", "b.c"]


def test_every_params_key_has_a_description() -> None:
    schema = json.loads((ROOT / "pipeline/core/params.schema.json").read_text(encoding="utf-8"))
    missing = undocumented(schema)
    assert not missing, (
        f"{len(missing)} params key(s) without a description in pipeline/core/params.schema.json "
        f"(docs/params.md would show no meaning): {', '.join(missing)}"
    )
