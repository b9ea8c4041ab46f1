"""How many rows of each numeric covariate have a value: what a model can use at most (a model whose
sample collapses can be told apart from one that lost a few rows)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

#: Identifiers, times and bookkeeping columns: not covariates.
NOT_COVARIATES = frozenset(
    {"org_id", "year", "source_row", "founded", "ended", "founded_year", "ended_year", "start", "stop"}
    | {"t_start", "t_stop", "event", "entry"}
)


def usable_values(
    tables: dict[str, pd.DataFrame], names: Iterable[str]
) -> dict[str, dict[str, dict[str, int]]]:
    """``{table: {column: {"rows": n, "usable": non-missing}}}`` for the numeric columns of the named
    tables that exist (booleans and identifiers left out)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for name in names:
        frame = tables.get(name)
        if frame is None:
            continue
        cols = [
            c
            for c in frame.columns
            if c not in NOT_COVARIATES
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        ]
        out[name] = {c: {"rows": int(len(frame)), "usable": int(frame[c].notna().sum())} for c in cols}
    return out
