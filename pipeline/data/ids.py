"""Organization identifiers: matched on a normalized key, written as the register spells them.

Registers and panels type the same identifier differently (``" SW00005"``, ``"sw00005"``). Matching
uses a key — surrounding whitespace stripped, case folded — but outputs keep the register's own spelling
(whitespace stripped), so every result joins back to the register. A panel row's identifier is rewritten
only when its spelling differs from the register's; only those rows are logged.

A panel whose rows mostly do not match the register (fewer than :data:`MIN_PANEL_MATCH`) is an error, not
a silent drop: :func:`panel_mismatch` gives examples from both sides and names a common variant (zero
padding or numbers stored as numbers, separators) when it explains the unmatched rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


def id_key(ids: pd.Series, *, normalize: bool = True) -> pd.Series:
    """The matching key: stripped and case-folded when ``normalize``, the identifier itself otherwise."""
    ids = ids.astype("string")
    return ids.str.strip().str.casefold() if normalize else ids


def strip_ids(ids: pd.Series) -> pd.Series:
    """Identifiers without surrounding whitespace (case and inner characters kept)."""
    return ids.astype("string").str.strip()


def register_spelling(register_ids: pd.Series, *, normalize: bool = True) -> pd.Series:
    """Key → the register's identifier (first spelling of each key)."""
    ids = register_ids.astype("string")
    key = id_key(ids, normalize=normalize)
    first = ~key.duplicated(keep="first")
    return pd.Series(ids[first].to_numpy(), index=pd.Index(key[first].to_numpy()), dtype="string")


def spell_as_register(ids: pd.Series, register_ids: pd.Series, *, normalize: bool = True) -> pd.Series:
    """Each identifier as the register spells it; identifiers without a match are only stripped
    (``normalize``) or kept as given."""
    ids = ids.astype("string")
    spelling = register_spelling(register_ids, normalize=normalize)
    matched = id_key(ids, normalize=normalize).map(spelling)
    fallback = strip_ids(ids) if normalize else ids
    return matched.fillna(fallback).astype("string")


def id_sort_key(ids: pd.Series) -> pd.Series:
    """Sort key for identifiers: the case-folded form (so ``SW00005`` sorts beside ``sw00006``), then the
    identifier itself for a stable, total order."""
    ids = ids.astype("string")
    return ids.str.casefold() + "\x00" + ids


def sort_by_id(frame: pd.DataFrame, column: str, *then: str) -> pd.DataFrame:
    """``frame`` ordered by identifier (see :func:`id_sort_key`) and then the columns ``then``."""
    key = id_sort_key(frame[column]).to_numpy(dtype=object)
    cols = [frame[c].to_numpy() for c in reversed(then)]
    order = np.lexsort([*cols, pd.factorize(key, sort=True)[0]])
    return frame.iloc[order]


#: Share of panel rows that must match the register; below it the panel is taken for another register.
MIN_PANEL_MATCH = 0.5

_SEPARATORS = re.compile(r"[\s\-_./:#]+")
_NUMBER = re.compile(r"\d+")


def _unpad(key: str) -> str:
    return _NUMBER.sub(lambda m: str(int(m.group())), key)


#: Ways two spellings of one identifier commonly differ, each with a name for the message.
_VARIANTS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("zero padding / numbers stored as numbers (e.g. '00001' vs '1')", _unpad),
    ("separators (e.g. 'sw-00005' vs 'sw00005')", lambda k: _SEPARATORS.sub("", k)),
    ("separators and zero padding", lambda k: _unpad(_SEPARATORS.sub("", k))),
)


@dataclass(frozen=True)
class IdMismatch:
    """Panel identifiers that do not match the register, with examples from both sides and, when one
    common variant explains them, its name and an example pair."""

    panel_rows: int
    matched_rows: int
    panel_examples: list[str]
    register_examples: list[str]
    variant: str | None = None
    variant_rows: int = 0
    variant_example: tuple[str, str] | None = None

    def describe(self, *, panel_file: str, register_file: str, limit: float = MIN_PANEL_MATCH) -> str:
        share = self.matched_rows / self.panel_rows if self.panel_rows else 0.0
        text = (
            f"only {self.matched_rows} of {self.panel_rows} panel rows ({share:.0%}) name an organization of the "
            f"register {register_file} (at least {limit:.0%} expected: the panel and the register do not use "
            f"the same identifiers). Panel identifiers not in the register, e.g. "
            f"{', '.join(map(repr, self.panel_examples))}; register identifiers without panel rows, e.g. "
            f"{', '.join(map(repr, self.register_examples)) or '(none)'}."
        )
        if self.variant is not None and self.variant_example is not None:
            p, r = self.variant_example
            text += (
                f" The identifiers differ by {self.variant}: panel {p!r} is register {r!r}; "
                f"{self.variant_rows} unmatched panel rows would match that way. Write the identifiers the same "
                f"way in both files (e.g. keep them as text when exporting from a spreadsheet)."
            )
        return text


def panel_mismatch(panel_ids: pd.Series, register_ids: pd.Series, *, examples: int = 5) -> IdMismatch:
    """How panel identifiers (already spelt as the register where they match) fail to match."""
    ids = panel_ids.astype("string")
    reg = register_ids.astype("string")
    known = ids.isin(reg).fillna(False).to_numpy()
    unmatched = ids[~known].dropna()
    reg_unused = reg[~reg.isin(ids[known]).fillna(False)]
    panel_examples = list(dict.fromkeys(unmatched.tolist()))[:examples]
    reg_examples = reg_unused.tolist()[:examples]
    best: tuple[str, int, tuple[str, str]] | None = None
    if len(unmatched):
        reg_keys = id_key(reg).tolist()
        for name, fn in _VARIANTS:
            lookup: dict[str, str] = {}
            for k, r in zip(reg_keys, reg.tolist(), strict=True):
                lookup.setdefault(fn(k), r)
            uniq = pd.unique(unmatched)
            hits = {u: lookup.get(fn(str(u).strip().casefold())) for u in uniq}
            found = {u: r for u, r in hits.items() if r is not None}
            rows = int(unmatched.isin(list(found)).sum())
            if rows and (best is None or rows > best[1]):
                first = next(iter(found))
                best = (name, rows, (str(first), str(found[first])))
    return IdMismatch(
        panel_rows=len(ids),
        matched_rows=int(known.sum()),
        panel_examples=panel_examples,
        register_examples=reg_examples,
        variant=best[0] if best else None,
        variant_rows=best[1] if best else 0,
        variant_example=best[2] if best else None,
    )
