"""Fonts that can set Chinese organization names and labels, for matplotlib and Typst alike.

Chinese registries carry organization names and district labels in Chinese, so figures and the PDF report
need a CJK font that installs without root. The font comes from the PyPI package ``justmytype-intl-cjk``
(Noto Sans SC, SIL Open Font License 1.1, installed with ``pip``). It ships a *variable* TrueType font
whose default instance is the Thin weight; we instantiate the Regular weight (wght = 400) once with
fontTools, deterministically, and cache the static font (≈10 MB) once per machine (per user cache
folder; a file lock makes parallel jobs wait for one build instead of building it twice) so matplotlib
and Typst both embed an ordinary TrueType font. If the package is absent, an installed system Noto/Source Han Sans SC is used.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from pipeline.core.io import atomic_path

log = logging.getLogger(__name__)

#: Family name of the CJK font as registered with matplotlib and seen by Typst.
CJK_FAMILY = "Noto Sans SC"
_STATIC_NAME = "NotoSansSC-Regular-wght400-v2.ttf"


class FontNotFoundError(RuntimeError):
    """No CJK font could be found or built; the message says how to install one."""


def default_cache_dir() -> Path:
    """Per-user cache folder for the static font instance (``$XDG_CACHE_HOME/orgecology/fonts``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "orgecology" / "fonts"


def _variable_source() -> Path | None:
    try:
        from importlib.resources import files

        path = (
            Path(str(files("justmytype_intl_cjk"))) / "fonts" / "ofl" / "notosanssc" / "NotoSansSC[wght].ttf"
        )
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def _system_fallback() -> Path | None:
    from matplotlib import font_manager

    for entry in font_manager.fontManager.ttflist:
        if entry.name in ("Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC") and entry.weight in (
            400,
            "regular",
            "normal",
        ):
            return Path(entry.fname)
    return None


def build_static_instance(source: Path, target: Path, weight: float = 400.0) -> Path:
    """Instantiate the variable font ``source`` at ``weight`` and write a static TrueType to ``target``.

    The output depends only on the input font and the weight (fontTools is deterministic), so the cache
    can be rebuilt anywhere with the same bytes.
    """
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = TTFont(str(source), recalcTimestamp=False)
    static = instancer.instantiateVariableFont(font, {"wght": weight}, updateFontNames=True)
    static.recalcTimestamp = False  # keep the source's head.modified: same bytes on every machine
    with atomic_path(target) as tmp:
        static.save(str(tmp))
    return target


@contextlib.contextmanager
def _build_lock(cache: Path) -> Iterator[None]:
    """An exclusive file lock in the cache folder, held while the static font is built."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".build.lock", "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@lru_cache(maxsize=4)
def cjk_font_path(cache_dir: str | None = None) -> Path:
    """Path of a static Regular-weight Simplified Chinese font, building and caching it on first use.

    Raises
    ------
    FontNotFoundError
        If neither ``justmytype-intl-cjk`` nor a system Noto Sans SC is installed.
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / _STATIC_NAME
    if target.is_file():
        return target
    source = _variable_source()
    if source is not None:
        with _build_lock(cache):  # parallel jobs: one builds, the others wait and reuse its file
            if not target.is_file():
                log.info("preparing the Chinese font once for this machine (cached in %s)", cache)
                build_static_instance(source, target)
        return target
    system = _system_fallback()
    if system is not None:
        return system
    raise FontNotFoundError(
        "No Chinese font found: install it into the virtualenv with `pip install justmytype-intl-cjk`."
    )


def font_dirs(cache_dir: str | None = None) -> list[str]:
    """Folders to pass to Typst as ``font_paths`` (the folder of the CJK font)."""
    return [str(cjk_font_path(cache_dir).parent)]


def configure_matplotlib(cache_dir: str | None = None) -> None:
    """Register the CJK font with matplotlib and make it the fallback after DejaVu Sans.

    Latin text keeps DejaVu Sans (matplotlib's bundled font, so figures look the same everywhere) and any
    glyph it lacks — Chinese names and labels — falls back to Noto Sans SC.
    """
    import matplotlib as mpl
    from matplotlib import font_manager

    path = cjk_font_path(cache_dir)
    known = {Path(f.fname) for f in font_manager.fontManager.ttflist}
    if path not in known:
        font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    # An explicit family list (not the generic "sans-serif") is what enables per-glyph fallback.
    mpl.rcParams["font.family"] = ["DejaVu Sans", name]
