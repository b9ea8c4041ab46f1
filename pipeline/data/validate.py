"""Validate raw input tables and turn them into typed tables in the contract's column names.

Each function takes a RAW table as :func:`pipeline.data.read.read_table` returns it (strings for text files,
native types otherwise; index = 0-based record position) plus the column mapping declared in
``params.yaml``, and returns a standardized table (see ``docs/contracts.md``) with a ``source_row``
column — the row the researcher sees in the file (header = row 1 for text/Excel, record N for
dta/sav/parquet) — so that every later cleaning step can point back to the raw record.

Fatal problems are collected over the whole table and raised together as one
:class:`~pipeline.core.errors.InputError`; non-fatal ones are returned as warnings (``strict=True`` makes them
fatal too). Every issue names the file, row, column (as named in the file), the value found and what was
expected. Values are never repaired here: identifiers keep their spelling and case, impossible sizes stay
in place — cleaning (``pipeline.data.clean``) changes them and logs each change.

Range and uniqueness checks on the typed table run through pandera, whose row-level failure cases map
back to file rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pipeline.core.columns import END_REASON, ENDED, FOUNDED, FUNDING_SHARE, ORG_ID, SIZE, YEAR
from pipeline.core.errors import InputError, Issue
from pipeline.data.cells import (  # noqa: F401  (SOURCE_ROW re-exported)
    SOURCE_ROW,
    _as_string,
    _check_mapping,
    _duplicate_ids,
    _finish,
    _missing_ids,
    _numeric_columns,
    _pandera_issues,
    _parse_column,
    _population_role,
    _require_columns,
    _require_rows,
    _source_rows,
    _to_year,
    _unique_years,
    _unknown_parts,
)
from pipeline.data.dates import (
    EXCEL,
    Numbers,
    period_bounds,
    place_dates,
)
from pipeline.data.shares import apply_share_scales


def validate_organizations(
    raw: pd.DataFrame,
    *,
    file: str,
    columns: dict[str, str],
    attributes: Sequence[str] = (),
    date_rule: str = "midpoint",
    strict: bool = False,
    numbers: Numbers = EXCEL,
) -> tuple[pd.DataFrame, list[Issue]]:
    """Validate an organization register: identifiers, founding and ending dates, end reasons.

    Parameters
    ----------
    raw : pandas.DataFrame
        The register as read by :func:`pipeline.data.read.read_table`.
    file : str
        The file's path as declared (named in every message; its extension sets row numbering).
    columns : dict
        Contract role → column in the file: ``org_id`` and ``founded`` (required), ``ended`` and
        ``end_reason`` (optional).
    attributes : sequence of str
        Static attribute columns kept as strings under their own names (district, type, …).
    date_rule : {"start", "midpoint", "end"}
        Placement of month- or year-precision dates (:mod:`pipeline.data.dates`).
    strict : bool, default False
        Make the warnings below fatal.
    numbers : pipeline.data.dates.Numbers
        How plain numbers in date columns are read: the file's day-number system or an epoch from params.

    Returns
    -------
    (pandas.DataFrame, list of Issue)
        Columns ``org_id`` (string exactly as given), ``founded``, ``founded_precision``,
        ``founded_year``, ``ended``, ``ended_precision``, ``ended_year``, ``end_reason`` (string or NA), the
        attributes, ``source_row``; and the warnings.

    Raises
    ------
    InputError
        All fatal problems at once: a mapped column missing from the file, an empty table, an empty
        identifier, an unparseable or impossible date, duplicate identifiers (after stripping and case
        folding) whose dates conflict (every row of the group is listed), and — with ``strict`` — the
        warnings.

    Notes
    -----
    Warnings: an end certainly before the founding (the end's period closes before the founding's period
    opens, so ``2015`` vs ``2015-03`` is not flagged), an unknown founding date (kept, but out of
    age-dependent models), and duplicate identifiers whose dates agree (cleaning merges them).
    """
    _check_mapping(columns, (ORG_ID, FOUNDED), "validate_organizations")
    wanted = {role: src for role, src in columns.items() if role in (ORG_ID, FOUNDED, ENDED, END_REASON)}
    wanted.update({f"attribute {a}": a for a in attributes})
    _require_columns(raw, file, wanted)
    _require_rows(raw, file)
    rows = _source_rows(raw, file)
    id_col = columns[ORG_ID]
    fatal: list[Issue] = _missing_ids(raw[id_col], rows, file=file, column=id_col)
    founded = _parse_column(raw, columns[FOUNDED], file=file, issues=fatal, numbers=numbers)
    ended = _parse_column(raw, columns.get(ENDED), file=file, issues=fatal, numbers=numbers)
    epoch = [i for i in fatal if i.rule == "date_epoch_unknown"]
    if epoch:  # one date_epoch for the source settles every date column: show the first in full
        raise InputError(epoch[:1])
    if fatal:
        raise InputError(sorted(fatal, key=lambda i: (i.row or 0, i.column)))
    assert founded is not None
    if ended is None:
        ended = _unknown_parts(raw.index)

    out = pd.DataFrame(index=raw.index)
    out[ORG_ID] = _as_string(raw[id_col])
    for role, parts in ((FOUNDED, founded), (ENDED, ended)):
        out[role] = place_dates(parts, rule=date_rule)
        out[f"{role}_precision"] = parts["precision"].astype("string")
        out[f"{role}_year"] = parts["year"].astype("Int64")
    if END_REASON in columns:
        reason = _as_string(raw[columns[END_REASON]])
        out[END_REASON] = reason.mask(reason.str.strip().eq(""))
    else:
        out[END_REASON] = pd.array([pd.NA] * len(raw), dtype="string")
    for a in attributes:
        out[a] = _as_string(raw[a])
    out[SOURCE_ROW] = rows

    warnings: list[Issue] = []
    f_src, e_src = columns[FOUNDED], columns.get(ENDED, ENDED)
    f_raw = raw[f_src].astype(object)
    unknown = (founded["precision"] == "unknown").to_numpy()
    warnings += [
        Issue(
            file,
            int(rows[i]),
            f_src,
            "",
            "a founding date (organization kept, but left out of age-dependent models)",
            "warning",
            "unknown_founding",
        )
        for i in np.flatnonzero(unknown)
    ]
    f_low, _ = period_bounds(founded)
    _, e_high = period_bounds(ended)
    before = e_high <= f_low  # NaN compares False
    if before.any():
        e_raw = raw[e_src].astype(object)
        warnings += [
            Issue(
                file,
                int(rows[i]),
                e_src,
                str(e_raw.iloc[i]),
                f"an end on or after the founding date ({f_raw.iloc[i]})",
                "warning",
                "ended_before_founded",
            )
            for i in np.flatnonzero(before)
        ]
    e_cells = (
        raw[e_src].astype(object) if ENDED in columns else pd.Series(None, index=raw.index, dtype=object)
    )
    dup_fatal, dup_warn = _duplicate_ids(out, f_raw, e_cells, file=file, id_col=id_col)
    fatal += dup_fatal
    warnings += dup_warn
    warnings.sort(key=lambda i: (i.row or 0, i.column))
    warnings = _finish(fatal, warnings, strict=strict)
    return out.reset_index(drop=True), warnings


def validate_panel(
    raw: pd.DataFrame,
    *,
    file: str,
    columns: dict[str, str],
    measures: dict[str, str],
    strict: bool = False,
    scales: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, list[Issue]]:
    """Validate an organization-year panel: identifier, integer year, numeric measures.

    Parameters
    ----------
    raw : pandas.DataFrame
        The panel as read by :func:`pipeline.data.read.read_table`.
    file : str
        The file's path as declared.
    columns : dict
        ``org_id`` and ``year`` → columns in the file.
    measures : dict
        Contract name → column in the file (``size``, ``funding_share``; other names are kept).
    strict : bool, default False
        Make the warnings fatal.
    scales : mapping, optional
        Measure → ``percent`` (divided by 100; noted in ``frame.attrs["scale_notes"]``) or ``fraction``.
        An undeclared share column that looks like percentages is fatal (:mod:`pipeline.data.shares`).

    Returns
    -------
    (pandas.DataFrame, list of Issue)
        ``org_id`` (string as given), ``year`` (int64), the measures (float64) under their contract names,
        ``source_row``; and the warnings: negative sizes and funding shares outside [0, 1] (cleaning sets
        them missing and logs it).

    Raises
    ------
    InputError
        Missing column, empty table, empty identifier, a missing/non-integer/text year, a non-numeric
        measure value (e.g. ``"n/a"``, ``"12 staff"``) — each with row, column and value.
    """
    _check_mapping(columns, (ORG_ID, YEAR), "validate_panel")
    _require_columns(raw, file, {ORG_ID: columns[ORG_ID], YEAR: columns[YEAR], **measures})
    _require_rows(raw, file)
    rows = _source_rows(raw, file)
    fatal = _missing_ids(raw[columns[ORG_ID]], rows, file=file, column=columns[ORG_ID])
    year, issues = _to_year(raw[columns[YEAR]], file=file, column=columns[YEAR], rows=rows)
    fatal += issues
    values = _numeric_columns(raw, measures, file=file, rows=rows, fatal=fatal)
    values, scale_notes, scale_fatal = apply_share_scales(values, measures, scales or {}, file=file)
    if scale_fatal:
        raise InputError(scale_fatal)
    out = pd.DataFrame({ORG_ID: _as_string(raw[columns[ORG_ID]]).array, YEAR: year, **values})
    out[SOURCE_ROW] = rows
    checks = {}
    if SIZE in measures:
        checks[SIZE] = pa.Column(float, pa.Check.ge(0, error="a non-negative size"), nullable=True)
    if FUNDING_SHARE in measures:
        checks[FUNDING_SHARE] = pa.Column(
            float, pa.Check.in_range(0, 1, error="a funding share in [0, 1]"), nullable=True
        )
    warnings = []
    if checks and not fatal:
        warnings = _pandera_issues(
            out,
            checks,
            file=file,
            source_names=measures,
            severity="warning",
            rule="out_of_range",
            raw_values={k: raw[v].reset_index(drop=True) for k, v in measures.items()},
        )
    fatal.sort(key=lambda i: (i.row or 0, i.column))
    warnings = _finish(fatal, warnings, strict=strict)
    out.attrs["scale_notes"] = scale_notes
    return out, warnings


def validate_environment(
    raw: pd.DataFrame,
    *,
    file: str,
    columns: dict[str, str],
    covariates: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> pd.DataFrame:
    """Validate yearly environment covariates (procurement budget, policy period, …).

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read by :func:`pipeline.data.read.read_table`.
    file : str
        The file's path as declared.
    columns : dict
        ``year`` → column in the file.
    covariates : sequence of str
        Numeric covariates (float64), kept under their own names.
    categorical : sequence of str
        Categorical covariates, kept as strings (a name in both lists is categorical).

    Returns
    -------
    pandas.DataFrame
        ``year`` (int64, unique), the covariates and the categorical columns. No ``source_row``: the table
        is merged onto years downstream, and every column becomes a covariate.

    Raises
    ------
    InputError
        Missing column, empty table, bad or duplicate years (both rows listed), non-numeric covariate
        values.
    """
    _check_mapping(columns, (YEAR,), "validate_environment")
    numeric = [c for c in covariates if c not in categorical]
    _require_columns(raw, file, {YEAR: columns[YEAR], **{c: c for c in (*numeric, *categorical)}})
    _require_rows(raw, file)
    rows = _source_rows(raw, file)
    year, fatal = _to_year(raw[columns[YEAR]], file=file, column=columns[YEAR], rows=rows)
    values = _numeric_columns(raw, {c: c for c in numeric}, file=file, rows=rows, fatal=fatal)
    out = pd.DataFrame({YEAR: year, **values})
    for c in categorical:
        out[c] = _as_string(raw[c]).array
    out[SOURCE_ROW] = rows
    if not fatal:
        fatal += _unique_years(out, raw[columns[YEAR]], file=file, column=columns[YEAR])
    _finish(fatal, [], strict=False)
    return out.drop(columns=SOURCE_ROW)


def validate_population(
    raw: pd.DataFrame,
    *,
    file: str,
    columns: dict[str, str],
    keep: Sequence[str] = (),
) -> pd.DataFrame:
    """Validate a population series given directly as yearly counts.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read by :func:`pipeline.data.read.read_table`.
    file : str
        The file's path as declared.
    columns : dict
        ``year`` → column (required) and any of ``density``, ``foundings``, ``exits``, ``exits_<kind>``,
        ``mass`` → columns in the file.
    keep : sequence of str
        Columns passed through as strings (e.g. ``precision``, ``status``, ``source_url``).

    Returns
    -------
    pandas.DataFrame
        ``year`` (int64, unique), the counts (float64; NaN where the source has gaps) under their contract
        names, the kept columns, ``source_row``.

    Raises
    ------
    InputError
        Missing column, empty table, bad or duplicate years, non-numeric or negative counts.
    """
    _check_mapping(columns, (YEAR,), "validate_population")
    unknown = [r for r in columns if r != YEAR and not _population_role(r)]
    if unknown:
        raise ValueError(
            f"validate_population: unknown roles {unknown}; use density, foundings, exits, exits_<kind>, mass"
        )
    counts = {r: s for r, s in columns.items() if r != YEAR}
    _require_columns(raw, file, {**columns, **{f"kept column {k}": k for k in keep}})
    _require_rows(raw, file)
    rows = _source_rows(raw, file)
    year, fatal = _to_year(raw[columns[YEAR]], file=file, column=columns[YEAR], rows=rows)
    values = _numeric_columns(raw, counts, file=file, rows=rows, fatal=fatal)
    out = pd.DataFrame({YEAR: year, **values})
    for k in keep:
        out[k] = _as_string(raw[k]).array
    out[SOURCE_ROW] = rows
    if not fatal:
        checks = {
            r: pa.Column(float, pa.Check.ge(0, error=f"a non-negative count of {r}"), nullable=True)
            for r in counts
        }
        fatal += _pandera_issues(
            out,
            checks,
            file=file,
            source_names=counts,
            severity="error",
            rule="negative_count",
            raw_values={r: raw[s].reset_index(drop=True) for r, s in counts.items()},
        )
        fatal += _unique_years(out, raw[columns[YEAR]], file=file, column=columns[YEAR])
    _finish(fatal, [], strict=False)
    return out
