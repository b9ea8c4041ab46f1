"""Access to ``scripts/lockfiles.py`` from the tests: is this the locked environment (``uv.lock``)?"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def lockfiles() -> ModuleType:
    """The ``scripts/lockfiles.py`` module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("lockfiles", ROOT / "scripts" / "lockfiles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@functools.cache
def lock_mismatches() -> dict[str, tuple[str, str]]:
    """Installed packages whose version differs from ``uv.lock`` (empty in the locked environment)."""
    return lockfiles().installed_mismatches(ROOT)
