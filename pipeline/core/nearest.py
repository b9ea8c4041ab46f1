"""Unknown names: the nearest valid names and the one wording of the error that names them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """The valid names closest to ``name`` (difflib ratio ≥ 0.5; case-insensitive), best first."""
    valid = list(dict.fromkeys(str(v) for v in valid))
    lower = {v.lower(): v for v in valid}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.5)
    return [lower[h] for h in hits]


def unknown_name_message(where: str, name: str, valid: Iterable[str], what: str) -> str:
    """``where: 'name' is not <what>; nearest: …; valid: …`` (the one wording for unresolved names)."""
    valid = sorted(dict.fromkeys(str(v) for v in valid))
    near = nearest(name, valid)
    hint = f"; did you mean {' or '.join(repr(v) for v in near)}?" if near else ""
    listed = ", ".join(valid) if valid else "(none declared)"
    return f"{where}: {name!r} is not {what}{hint} (valid: {listed})"


def check_list(problems: list[str], where: str, names: Iterable[str], valid: list[str], what: str) -> None:
    """Append :func:`unknown_name_message` to ``problems`` for every name of ``names`` not in ``valid``."""
    for name in names:
        if name not in valid:
            problems.append(unknown_name_message(where, str(name), valid, what))
