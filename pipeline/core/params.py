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

from pipeline.core.names import check_names, count_family_names
from pipeline.core.nearest import unknown_name_message

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


#: Stage blocks of params.yaml that a dataset may override under ``datasets.<name>.models``.
STAGE_BLOCKS = (
    "clean_inputs",
    "build_histories",
    "fit_founding",
    "fit_survival",
    "fit_growth",
    "fit_bottleneck",
    "render_report",
)


def _strip_defaults(node: Any) -> Any:
    """A copy of a schema without ``default`` values (overrides are validated, never default-filled)."""
    if isinstance(node, dict):
        return {k: _strip_defaults(v) for k, v in node.items() if k != "default"}
    if isinstance(node, list):
        return [_strip_defaults(v) for v in node]
    return node


def with_registered_names(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``fit_founding.families`` restricted to the registered count families (read
    statically from their declarations; the params reference and the loader share this)."""
    families = schema["properties"]["fit_founding"]["properties"]["families"]
    families["items"]["enum"] = count_family_names()
    return schema


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    """The params schema, with ``datasets.<d>.models`` built from the stage blocks (one definition) and
    ``fit_founding.families`` restricted to the registered count families."""
    schema = with_registered_names(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    models = schema["$defs"]["dataset"]["properties"]["models"]
    models["additionalProperties"] = False
    models["properties"] = {k: _strip_defaults(schema["properties"][k]) for k in STAGE_BLOCKS}
    return schema


def _known_keys(schema: dict[str, Any]) -> list[str]:
    return list(schema.get("properties", {}))


def _explain(err: jsonschema.ValidationError) -> str:
    """One schema error in the researcher's terms, with the nearest valid keys or values (difflib)."""
    if err.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(err.instance, dict):
        valid = _known_keys(err.schema)
        if not valid and err.validator == "additionalProperties":
            return err.message
        extra = [k for k in err.instance if k not in valid]
        return "; ".join(unknown_name_message("unknown key", str(k), valid, "recognised here") for k in extra)
    if err.validator == "enum" and isinstance(err.instance, str):
        return unknown_name_message(
            "value", err.instance, [str(v) for v in err.validator_value], "an allowed value"
        )
    return err.message


def _schema_problems(params: dict[str, Any], source: str) -> None:
    validator_cls = _with_defaults(jsonschema.Draft202012Validator)
    for _ in range(2):  # second pass fills defaults inside objects created by the first
        errors = sorted(validator_cls(_schema()).iter_errors(params), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"{source}: {len(errors)} problem(s) with the parameters:"]
            for err in errors[:20]:
                where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
                lines.append(f"  - at {where}: {_explain(err)}")
            raise ParamsError("\n".join(lines))


def _fill_block(stage: str, block: dict[str, Any]) -> dict[str, Any]:
    """``block`` validated against the schema of stage block ``stage``, with its defaults filled in."""
    schema = _schema()["properties"][stage]
    validator_cls = _with_defaults(jsonschema.Draft202012Validator)
    out = copy.deepcopy(block)
    for _ in range(2):
        validator_cls(schema).validate(out)
    return out


def raw_files(ds: dict[str, Any]) -> list[str]:
    """The raw files a dataset declares (source paths, then ``truth``), as written in params."""
    files = [ds[kind]["path"] for kind in SOURCE_KINDS if kind in ds]
    if ds.get("truth"):
        files.append(ds["truth"])
    return files


def raw_root(dataset: str, ds: dict[str, Any]) -> str:
    """The folder the runners track for a dataset's raw files: ``datasets.<d>.raw_root`` when declared,
    else ``data/raw/<dataset>``."""
    return str(ds.get("raw_root") or RAW_ROOT / dataset)


def external_raw_root(dataset: str, ds: dict[str, Any], *, root: Path = Path(".")) -> bool:
    """Whether the dataset's raw folder lies outside the repository (its files are not in git)."""
    return not (root / raw_root(dataset, ds)).resolve().is_relative_to(root.resolve())


def _check_raw_root(dataset: str, value: str, *, root: Path) -> str | None:
    """Why a declared ``raw_root`` is refused: inside the repository it must lie under ``data/raw/``
    (elsewhere it would overlap the outputs DVC tracks, or hold files git does not track)."""
    top = root.resolve()
    real = (root / value).resolve()
    if real == top or top.is_relative_to(real):
        return f"datasets.{dataset}.raw_root is {value!r}, which contains the repository: name the data's own folder."
    if real.is_relative_to(top) and not real.is_relative_to((root / RAW_ROOT).resolve()):
        return (
            f"datasets.{dataset}.raw_root is {value!r}, inside the repository but not under {RAW_ROOT}/: "
            f"keep raw data under {RAW_ROOT}/ or outside the repository."
        )
    return None


def check_raw_path(
    dataset: str, key: str, value: str, *, root: Path = Path("."), base: str | None = None
) -> str | None:
    """Why a declared raw file is refused, or ``None``.

    The runners track the dataset's raw folder ``base`` (``data/raw/<dataset>/`` unless the dataset
    declares ``raw_root``; DVC hashes it, Snakemake watches the declared files), so a raw file must lie
    inside that folder *after* resolving ``..`` and symlinks: a path that leaves it (``data/raw/d/../x``,
    an absolute path, a symlink to elsewhere) would be read but not tracked, and its results would go
    stale unnoticed. With the default folder, paths are relative and the folder must be inside the
    repository; a declared ``raw_root`` may be anywhere (absolute paths are then fine).
    """
    declared = base is not None
    folder = Path(base) if declared else RAW_ROOT / dataset
    path = Path(value)
    where = f"datasets.{dataset}.{key} is {value!r}"
    real_base = (root / folder).resolve()
    real = (root / path).resolve()
    if not declared:
        if path.is_absolute() or ".." in path.parts:
            return (
                f"{where}; raw files are relative paths under {folder}/ without '..' (found an escape). "
                "Data that must stay elsewhere: declare its folder as datasets."
                f"{dataset}.raw_root."
            )
        if folder not in path.parents:
            return (
                f"{where}; raw files of dataset '{dataset}' must live under {folder}/ (the folder the "
                f"runners track), or under the folder declared as datasets.{dataset}.raw_root."
            )
        if not real_base.is_relative_to(root.resolve()):
            return f"{where}; {folder} is a symlink to {real_base}, outside the repository: copy the data in."
    elif not real.is_relative_to(real_base) or real == real_base:
        return (
            f"{where}, which resolves to {real}, outside datasets.{dataset}.raw_root ({folder}, i.e. "
            f"{real_base}): the runners track that folder only, so changes to this file would go unnoticed."
        )
    if not real.is_relative_to(real_base):
        return (
            f"{where}, a symlink that resolves to {real}, outside {folder}/: the runners would not notice "
            "changes to it; copy the file into the folder instead."
        )
    return None


#: Dataset keys that cannot apply to a population series (``kind: population``), with the reason: given
#: in params.yaml they are an error (their schema defaults, filled in for every dataset, are not).
POPULATION_INAPPLICABLE = {
    "environment": (
        "an environment file is read and validated but never merged into a population series, so no model "
        "sees its covariates; add yearly covariates as columns of the population file and list them under "
        "population.keep"
    ),
    "end_reasons": (
        "a population series has no organization ends to map (exits come by kind from population.exits)"
    ),
    "missing_end_reason": (
        "a population series has no organization ends to map (exits come by kind from population.exits)"
    ),
    "group_columns": (
        "a population series has no register attributes, so no subpopulation series, panels or curves"
    ),
    "strict": (
        "it makes the validation warnings of the register and panel fatal, and a population series has "
        "neither"
    ),
}


def _population_inapplicable(raw: dict[str, Any], source: str) -> None:
    """Refuse the keys of :data:`POPULATION_INAPPLICABLE` given (in the raw mapping) on a population series."""
    problems = [
        f"datasets.{name}.{key} does not apply to a population series (kind: population): {why}; remove it."
        for name, ds in (raw.get("datasets") or {}).items()
        if isinstance(ds, dict) and ds.get("kind") == "population"
        for key, why in POPULATION_INAPPLICABLE.items()
        if key in ds
    ]
    if problems:
        raise ParamsError("\n".join(f"{source}: {p}" for p in problems))


def validate_params(
    raw: dict[str, Any], *, source: str = "params.yaml", root: str | Path = "."
) -> dict[str, Any]:
    """Validate a parsed params mapping, fill defaults, check conventions and that every name resolves.

    ``root`` is the repository root that raw paths are relative to (the folder of params.yaml)."""
    params = copy.deepcopy(raw)
    _schema_problems(params, source)
    _population_inapplicable(raw, source)
    for name, ds in params["datasets"].items():
        keys = [f"{kind}.path" for kind in SOURCE_KINDS if kind in ds] + (
            ["truth"] if ds.get("truth") else []
        )
        base = ds.get("raw_root")
        if base:
            problem = _check_raw_root(name, base, root=Path(root))
            if problem:
                raise ParamsError(f"{source}: {problem}")
        for key, value in zip(keys, raw_files(ds), strict=True):
            problem = check_raw_path(name, key, value, root=Path(root), base=base)
            if problem:
                raise ParamsError(f"{source}: {problem}")
        start, end = ds["window"]["start"], ds["window"]["end"]
        if end < start:
            raise ParamsError(f"{source}: datasets.{name}.window ends ({end}) before it starts ({start}).")
        if end == start:
            raise ParamsError(
                f"{source}: datasets.{name}.window covers the single year {start}: density, foundings and "
                "exits over time need a window of at least two years (window: {start: ..., end: ...})."
            )
    problems = check_names(params, lambda stage, dataset: stage_params(params, stage, dataset))
    if problems:
        lines = [f"{source}: {len(problems)} name(s) that do not resolve:"]
        lines += [f"  - {p}" for p in problems[:40]]
        if len(problems) > 40:
            lines.append(f"  … and {len(problems) - 40} more")
        raise ParamsError("\n".join(lines))
    return params


#: params.yaml larger than this is refused before parsing (a configuration, not a data file).
MAX_PARAMS_BYTES = 1 << 20


class _PlainLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases: ``&a`` / ``*a`` (and ``<<: *a`` merges) are refused, so a
    nested-alias "billion laughs" file cannot expand into gigabytes; tags that construct Python objects are
    refused by ``SafeLoader`` itself."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            kind = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
            raise yaml.composer.ComposerError(
                None,
                None,
                f"YAML {kind}{event.anchor} is not allowed in params.yaml (anchors and aliases are refused: "
                "write the values out)",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def parse_params_text(text: str, *, source: str = "params.yaml") -> Any:
    """Parse params YAML text with :class:`_PlainLoader` (no aliases, no object-constructing tags)."""
    try:
        return yaml.load(text, Loader=_PlainLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.constructor.ConstructorError as exc:
        raise ParamsError(
            f"{source}: YAML tag not allowed (params are plain data; nothing is constructed or executed): {exc}"
        ) from exc
    except yaml.YAMLError as exc:
        raise ParamsError(f"{source}: not valid YAML: {exc}") from exc


def load_params(path: str | Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """Read, validate and complete ``params.yaml``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PARAMS_BYTES:
            raise ParamsError(f"{path}: {size} bytes; a parameters file is at most {MAX_PARAMS_BYTES} bytes.")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ParamsError(f"{path}: parameters file not found (run from the repository root).") from exc
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    raw = parse_params_text(text, source=str(path))
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level.")
    return validate_params(raw, source=str(path), root=path.parent)


def stage_params(params: dict[str, Any], stage: str, dataset: str) -> dict[str, Any]:
    """The effective block of ``stage`` for ``dataset``: one rule, an override replaces the block it names.

    Each key given under ``datasets.<dataset>.models.<stage>`` replaces the global ``<stage>`` key of the
    same name *whole*: lists and mappings are never merged (``spec: {steps: …}`` replaces the global
    ``spec``, and keys inside it that are not given take the schema defaults, not the global values).
    Keys the override does not name are the global block's.
    """
    block = copy.deepcopy(params.get(stage, {}) or {})
    override = params["datasets"][dataset].get("models", {}).get(stage, {})
    block.update(copy.deepcopy(override))
    return _fill_block(stage, block) if stage in STAGE_BLOCKS else block
