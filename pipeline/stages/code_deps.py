"""Code dependencies of a stage, derived from its import closure instead of a hand-kept list.

A stage runs as ``python -m pipeline run <stage>``: the entry point (``pipeline/__main__.py`` and the CLI
with the params loader) and the stage module are the roots. Their imports are followed statically (``ast``,
nothing is executed) through the project's own packages — every ``import`` statement, including those
inside functions, so lazily imported modules count — together with the ``__init__.py`` of every package
on the way. Data files a module reads are found from its string literals that name a file (or a data
folder, e.g. ``templates``) next to the module: the params and result schemas, the report template.

The closure is conservative: a file that might be imported counts, so a change can rerun a stage that
would not have needed it, never the reverse. Third-party packages are pinned by ``uv.lock`` instead.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The project's own top-level packages whose modules are followed.
PROJECT_PACKAGES = ("pipeline", "analysis", "reports")
#: Every stage runs through ``python -m pipeline``.
ENTRY_POINT = "pipeline.__main__"
#: Modules whose function-level imports are followed only inside the named functions: of the command
#: line, what ``run`` uses (not ``verify`` or ``dvc-yaml``).
ONLY_IN_FUNCTIONS = {"pipeline.stages.cli": frozenset({"cmd_run", "main"})}
#: Modules that import others by discovery rather than by an import statement: the model registry
#: imports every module of its package that declares ``MODEL_KINDS`` or ``COUNT_FAMILIES``
#: (``analysis/registry.py``).
DISCOVERS = {"analysis.registry": (("analysis", "MODEL_KINDS"), ("analysis", "COUNT_FAMILIES"))}


def module_path(name: str, root: Path = ROOT) -> Path | None:
    """The source file of project module ``name`` (a ``.py`` file or a package's ``__init__.py``)."""
    if name.split(".")[0] not in PROJECT_PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


@cache  # every stage's closure walks the same modules: parse each once per process
def imported_modules(path: Path, name: str, root: Path = ROOT) -> frozenset[str]:
    """Project modules imported anywhere in the module ``name`` at ``path`` (absolute and relative)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if _is_package(path) else name.rpartition(".")[0]
    if name in ONLY_IN_FUNCTIONS:
        keep = ONLY_IN_FUNCTIONS[name]
        tree.body = [
            n
            for n in tree.body
            if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) or n.name in keep
        ]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base_parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for cand in candidates:
            if module_path(cand, root) is not None:
                found.add(cand)
    return frozenset(found)


@cache
def data_files(path: Path) -> frozenset[Path]:
    """Files next to a module that its string literals name (``"params.schema.json"``, a data folder)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[Path] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        text = node.value
        if not text or len(text) > 200 or "\n" in text or text.startswith((".", "/")):
            continue
        cand = path.parent / text
        try:
            if cand.is_file() and cand.suffix != ".py":
                out.add(cand)
            elif cand.is_dir() and not (cand / "__init__.py").exists() and cand.name != "__pycache__":
                out.update(p for p in cand.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        except OSError:
            continue
    return frozenset(out)


@cache
def declaring_modules(package: str, attribute: str, root: Path = ROOT) -> frozenset[str]:
    """Modules of ``package`` that declare ``attribute`` at module level (the registry's own scan)."""
    from analysis.registry import declaring_modules as scan

    return scan(root / package, package, attribute)


def closure(roots: tuple[str, ...], root: Path = ROOT) -> set[str]:
    """Project modules reachable from ``roots`` by imports, with the packages that contain them."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_path(name, root)
        if path is None:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages run first
        todo += sorted(imported_modules(path, name, root) - seen)
        if name in DISCOVERS:
            for package, attribute in DISCOVERS[name]:
                todo += sorted(declaring_modules(package, attribute, root) - seen)
    return seen


@cache
def code_deps(module: str, root: Path = ROOT) -> tuple[str, ...]:
    """Source and data files whose change reruns the stage implemented by ``module`` (sorted, relative)."""
    files: set[Path] = set()
    for name in closure((ENTRY_POINT, module), root):
        path = module_path(name, root)
        assert path is not None
        files.add(path)
        files |= data_files(path)
    return tuple(sorted(p.relative_to(root).as_posix() for p in files))
