"""I/O at the edges: atomic writes (temp file then rename) and content hashes.

Every stage writes through these helpers so that a failed stage never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _temporaries(target: Path) -> Iterator[tuple[Path, int | None]]:
    """Hidden temporaries of ``target`` in its folder: ``(path, pid of the writer or None)``.

    Names are ``.<name>.<pid>.<random>.tmp`` (``.<name>.<random>.tmp`` from older runs) and
    ``.<name>.old`` (the previous output while it is being replaced).
    """
    if not target.parent.is_dir():
        return
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?:(\d+)\.)?[A-Za-z0-9_]+\.tmp")
    for path in target.parent.iterdir():
        if path.name == f".{target.name}.old":
            yield path, None
            continue
        match = pattern.fullmatch(path.name)
        if match:
            yield path, int(match.group(1)) if match.group(1) else None


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the hidden temporaries of ``target`` that a killed or crashed run left behind (the writer's
    process is gone) and return them; a temporary of a live writer is left alone."""
    removed = []
    for path, pid in _temporaries(Path(target)):
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    Temporaries a killed run left for the same file are removed first."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)  # mkstemp creates 0600; outputs are ordinary readable files
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text atomically (UTF-8, LF line endings)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def _clean_json(value: Any) -> Any:
    """Turn NaN/inf into None and numpy scalars into Python ones, recursively."""
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _clean_json(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def round_floats(obj: Any, digits: int) -> Any:
    """``obj`` with every finite float rounded to ``digits`` significant digits (containers recursively).

    Stored numbers rounded this way do not move when another numpy or BLAS changes the last binary digit.
    """
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else obj
    if isinstance(obj, dict):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [round_floats(v, digits) for v in obj]
    return obj


def to_json_text(obj: Any) -> str:
    """Deterministic JSON: sorted keys, NaN/inf as null, full float precision, trailing newline."""
    return json.dumps(_clean_json(obj), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as deterministic JSON, atomically."""
    write_text(path, to_json_text(obj))


def write_parquet(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write a data frame to Parquet atomically, without the pandas index and without library versions in
    the file (:mod:`pipeline.core.parquet`), so the same data give the same bytes on every machine."""
    from pipeline.core.parquet import write_stable_parquet

    with atomic_path(path) as tmp:
        write_stable_parquet(tmp, frame)


def write_csv(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write a data frame to CSV atomically (UTF-8, LF)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, for provenance records."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary folder next to ``path``; it replaces ``path`` only if the block succeeds.

    Stage outputs are whole folders, so a failing stage leaves either the previous complete output or
    nothing — never a half-written mix. The swap is one atomic exchange where the system has it (Linux),
    so even a kill -9 at any moment leaves the previous output in place, never a missing folder.
    Temporaries a killed run left for the same folder are removed first.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if not target.exists():
            os.replace(tmp, target)
        elif not _exchange(tmp, target):  # tmp now holds the previous output (removed below)
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
