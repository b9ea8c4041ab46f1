"""The layout's rules hold: packages import only downward, and no module imports itself back in a cycle.

Layers, lowest first (README "Architecture"): ``pipeline.core`` (I/O, params, paths) → ``pipeline.data`` and
``pipeline.simulate`` (data layer, simulator) → ``analysis`` (models, inference, results contract) →
``reports`` (tables, figures, report) → ``pipeline.stages`` (stage adapters, CLI) → ``pipeline.__main__``.
Imports under ``if TYPE_CHECKING:`` are annotations only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = (
    ("pipeline.__main__", 5),
    ("pipeline.stages", 4),
    ("reports", 3),
    ("analysis", 2),
    ("pipeline.data", 1),
    ("pipeline.simulate", 1),
    ("pipeline.core", 0),
    ("pipeline", 0),
)
#: The one upward import that exists today, a named debt: the params name checks (``pipeline.core.names``)
#: run the formula checks of ``analysis.formula.params_checks`` and read the registered count families (so a
#: typo fails when params load). Any other upward import fails the test.
KNOWN_UPWARD_FROM = "pipeline.core.names"


def _layer(module: str) -> int | None:
    return next(
        (rank for prefix, rank in LAYERS if module == prefix or module.startswith(prefix + ".")), None
    )


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in ("pipeline", "analysis", "reports"):
        for f in (ROOT / pkg).rglob("*.py"):
            parts = f.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)  # ``from pkg import module`` also imports pkg.module
            found |= {f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.split(".")[0] in ("pipeline", "analysis", "reports")}


def _resolve(name: str, mods: dict[str, Path]) -> str:
    """The project module an imported name lives in (``pkg.module.function`` → ``pkg.module``)."""
    while name not in mods and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: {_resolve(i, mods) for i in _imports(f)} - {m} for m, f in mods.items()}


def test_packages_import_only_downward() -> None:
    mods = _modules()
    upward = set()
    for module, f in mods.items():
        for imported in {_resolve(i, mods) for i in _imports(f)}:
            if (_layer(imported) or 0) > (_layer(module) or 0):
                upward.add((module, imported))
    debt = {(m, i) for m, i in upward if m == KNOWN_UPWARD_FROM and i.startswith("analysis.")}
    assert debt, "the named debt is gone: remove KNOWN_UPWARD_FROM"
    assert upward - debt == set(), "upward imports (module -> imported): " + ", ".join(
        f"{m} -> {i}" for m, i in sorted(upward - debt)
    )


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt in graph and state.get(nxt) is None:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if state.get(module) is None:
            visit(module, [module])
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
