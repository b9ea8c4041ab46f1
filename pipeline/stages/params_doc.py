"""``python -m pipeline params-doc > docs/params.md``: the reference of every params key, generated.

Every key of ``pipeline/core/params.schema.json`` — its type or allowed values, default, whether it is
required and the schema's description — with an example: the value the bundled ``params.yaml`` gives it
(the first dataset that sets it), else its default. ``tests/unit/test_params_doc.py`` fails when
``docs/params.md`` differs from this output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.core.params import parse_params_text, with_registered_names

SCHEMA = Path(__file__).resolve().parents[1] / "core" / "params.schema.json"
PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
WILD = "<name>"
MAX_EXAMPLE = 90


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _type(node: dict[str, Any]) -> str:
    if "enum" in node:
        return " | ".join("null" if v is None else f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    if "anyOf" in node:
        return " or ".join(_type(n) for n in node["anyOf"])
    kind = node.get("type", "object" if "properties" in node else "any")
    text = " or ".join(kind) if isinstance(kind, list) else kind
    items = node.get("items")
    if items and ("array" in text):
        text += f" of {_type(items)}"
    return text


def walk(node: dict[str, Any], root: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple]:
    """Every key below ``node``: ``(path, schema node, required)``, depth first in schema order."""
    node = _resolve(node, root)
    required = set(node.get("required", []))
    for key, child in node.get("properties", {}).items():
        child = _resolve(child, root)
        yield (*path, key), child, key in required
        if key == "models" and path and path[-1] == WILD:
            continue  # datasets.<name>.models.<stage>: the stage blocks' own keys (documented below)
        yield from walk(child, root, (*path, key))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and not node.get("properties"):
        extra = _resolve(extra, root)
        if extra.get("properties") or isinstance(extra.get("additionalProperties"), dict):
            yield (*path, WILD), extra, False
            yield from walk(extra, root, (*path, WILD))


def _lookup(params: Any, path: tuple[str, ...]) -> Any:
    if not path:
        return params
    if not isinstance(params, dict):
        return None
    head, rest = path[0], path[1:]
    if head == WILD:
        for value in params.values():
            found = _lookup(value, rest)
            if found is not None:
                return found
        return None
    return _lookup(params.get(head), rest) if head in params else None


def _example(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_EXAMPLE:
        text = text[: MAX_EXAMPLE - 1] + "…"
    return f"`{text}`"


KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<rest>.*)$")


def params_comments(text: str) -> dict[tuple[str, ...], str]:
    """The comment on each key of a params file: the ``#`` lines just above it and its inline comment,
    keyed by path (a dataset's name replaced by ``<name>``, so every dataset's comments document the key)."""
    out: dict[tuple[str, ...], str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        m = KEY_LINE.match(line)
        if not m:
            pending = [] if not stripped else pending
            continue
        indent = len(m["indent"])
        stack = [(i, k) for i, k in stack if i < indent]
        stack.append((indent, m["key"]))
        path = tuple(k for _, k in stack)
        if path[0] == "datasets" and len(path) > 1:
            path = ("datasets", WILD, *path[2:])
        inline = m["rest"].split(" #", 1)[1].strip() if " #" in m["rest"] else ""
        note = " ".join([*pending, inline]).strip()
        if note and path not in out:
            out[path] = note
        pending = []
    return out


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def params_reference(schema_path: Path = SCHEMA, params_path: Path = PARAMS) -> str:
    """The Markdown text of ``docs/params.md``."""
    root = with_registered_names(json.loads(schema_path.read_text(encoding="utf-8")))
    text = params_path.read_text(encoding="utf-8")
    bundled = parse_params_text(text, source=str(params_path))
    comments = params_comments(text)
    lines = [
        "# params.yaml reference",
        "",
        "<!-- generated by `python -m pipeline params-doc > docs/params.md` from pipeline/core/params.schema.json;",
        "     do not edit by hand (tests/unit/test_params_doc.py fails on drift) -->",
        "",
        "Every key `params.yaml` accepts; any other key is refused when params load. *Example* is the value",
        "the bundled `params.yaml` gives the key (the first dataset that sets it), else the default; *meaning*",
        "is the schema's description, else the bundled file's comment on the key. `<name>`",
        "stands for a name you choose (a dataset, a founding step, an end reason …). Formulas: docs/terms.md.",
        "A dataset's `models.<stage>` takes the keys of the stage block `<stage>` below; each key given",
        "replaces the global key whole (README, *Params: names, overrides, plain YAML*).",
        "",
    ]
    for top, node in root["properties"].items():
        node = _resolve(node, root)
        lines += [f"## `{top}`", ""]
        if node.get("description"):
            lines += [_cell(node["description"]), ""]
        lines += ["| key | type | default | example | meaning |", "|---|---|---|---|---|"]
        rows = [((top,), node, top in root.get("required", []))]
        rows += list(walk(node, root, (top,)))
        for path, child, required in rows:
            value = _lookup(bundled, path)
            default = _example(child["default"]) if "default" in child else ("required" if required else "—")
            example = (
                _example(value)
                if value is not None
                else (_example(child["default"]) if "default" in child else "")
            )
            meaning = _cell(child.get("description") or comments.get(path, ""))
            lines.append(
                f"| `{'.'.join(path)}` | {_cell(_type(child))} | {default} | {example} | {meaning} |"
            )
        lines.append("")
    return "\n".join(lines)
