"""Organization identifiers: matched on a normalized key, written as the register spells them.

Registers and panels type the same identifier differently (``" SW00005"``, ``"sw00005"``). Matching
uses a key — surrounding whitespace stripped, case folded — but outputs keep the register's own spelling
(whitespace stripped), so every result joins back to the register. A panel row's identifier is rewritten
only when its spelling differs from the register's; only those rows are logged.
"""

from __future__ import annotations

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
