"""Load and validate ``params.yaml`` — the one loader used by the CLI, the Snakefile and dvc.yaml.

The file is validated against ``params.schema.json`` and missing optional settings are filled with the
schema's defaults, so every stage sees the same, complete configuration.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).with_name("params.schema.json")
DEFAULT_PARAMS = Path("params.yaml")
RAW_ROOT = Path("data/raw")
SOURCE_KINDS = ("organizations", "panel", "environment", "population")


class ParamsError(ValueError):
    """params.yaml breaks its schema or a project convention."""


def _with_defaults(cls: type[jsonschema.protocols.Validator]) -> type[jsonschema.protocols.Validator]:
    """A validator class that also fills ``default`` values of ``properties`` into the instance."""
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # type: ignore[no-untyped-def]
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(cls, {"properties": set_defaults})


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_params(raw: dict[str, Any], *, source: str = "params.yaml") -> dict[str, Any]:
    """Validate a parsed params mapping, fill defaults twice (nested defaults), check conventions."""
    params = copy.deepcopy(raw)
    validator_cls = _with_defaults(jsonschema.Draft202012Validator)
    for _ in range(2):  # second pass fills defaults inside objects created by the first
        errors = sorted(validator_cls(_schema()).iter_errors(params), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"{source}: {len(errors)} problem(s) with the parameters:"]
            for err in errors[:20]:
                where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
                lines.append(f"  - at {where}: {err.message}")
            raise ParamsError("\n".join(lines))
    for name, ds in params["datasets"].items():
        for kind in SOURCE_KINDS:
            if kind in ds:
                path = Path(ds[kind]["path"])
                if RAW_ROOT / name not in path.parents:
                    raise ParamsError(
                        f"{source}: datasets.{name}.{kind}.path is {path}; raw files of dataset '{name}' "
                        f"must live under {RAW_ROOT / name}/ (that folder is the stage's tracked input)."
                    )
        start, end = ds["window"]["start"], ds["window"]["end"]
        if end < start:
            raise ParamsError(f"{source}: datasets.{name}.window ends ({end}) before it starts ({start}).")
    return params


def load_params(path: str | Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """Read, validate and complete ``params.yaml``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ParamsError(f"{path}: parameters file not found (run from the repository root).") from exc
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level.")
    return validate_params(raw, source=str(path))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (lists and scalars are replaced)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def stage_params(params: dict[str, Any], stage: str, dataset: str) -> dict[str, Any]:
    """The stage's block, with the dataset's ``models.<stage>`` overrides merged in."""
    block = params.get(stage, {}) or {}
    override = params["datasets"][dataset].get("models", {}).get(stage, {})
    return deep_merge(block, override)
