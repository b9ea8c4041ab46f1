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
from pipeline.core.errors import InputError, Issue, row_label, row_offset
from pipeline.data.dates import (
    EXCEL,
    MISSING_TOKENS,
    Numbers,
    parse_date_parts,
    period_bounds,
    place_dates,
)
from pipeline.data.shares import apply_share_scales

SOURCE_ROW = "source_row"


# --------------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------------


def _source_rows(raw: pd.DataFrame, file: str) -> np.ndarray:
    """Row numbers the researcher sees: index label (0-based record position) + the file's offset."""
    if pd.api.types.is_integer_dtype(raw.index.dtype):
        return raw.index.to_numpy(dtype=np.int64) + row_offset(file)
    return np.arange(len(raw), dtype=np.int64) + row_offset(file)


def _require_columns(raw: pd.DataFrame, file: str, wanted: Mapping[str, str]) -> None:
    """Raise one InputError naming every mapped column absent from the file and listing those present.

    A column that differs only in surrounding spaces or case is pointed out (``did you mean 'Founded '?``)
    but not used: the mapping in params must name the column exactly.
    """
    present = [str(c) for c in raw.columns]
    listing = ", ".join(repr(c) if c != c.strip() else c for c in present) if present else "(none)"
    folded = {c.strip().casefold(): c for c in present}
    issues = []
    for role, src in wanted.items():
        if src in raw.columns:
            continue
        near = folded.get(str(src).strip().casefold())
        hint = f"; did you mean {near!r}? (differs in spaces or case)" if near is not None else ""
        issues.append(
            Issue(
                file,
                None,
                src,
                "",
                f"a column {src!r} (mapped to {role}), which is not in the file{hint}; its columns are: {listing}",
                "error",
                "missing_column",
            )
        )
    if issues:
        raise InputError(issues)


def _require_rows(raw: pd.DataFrame, file: str) -> None:
    if len(raw) == 0:
        cols = ", ".join(map(str, raw.columns)) or "(none)"
        raise InputError(
            [
                Issue(
                    file,
                    None,
                    "",
                    "",
                    f"at least one data row (table is empty; columns: {cols})",
                    "error",
                    "empty_table",
                )
            ]
        )


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (−1 = NA) and distinct values as a Python-object array: per-cell work is done once per value."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _per_row(codes: np.ndarray, per_unique: np.ndarray, na: object) -> np.ndarray:
    if len(per_unique) == 0:
        return np.full(len(codes), na)
    out = per_unique[np.maximum(codes, 0)]
    return np.where(codes >= 0, out, na)


def _is_blank(cell: object) -> bool:
    return isinstance(cell, str) and not cell.strip()


def _is_missing(values: pd.Series) -> np.ndarray:
    """Missing: NA, an empty/whitespace string or a token of :data:`pipeline.data.dates.MISSING_TOKENS`."""
    if not pd.api.types.is_object_dtype(values.dtype) and not pd.api.types.is_string_dtype(values.dtype):
        return values.isna().to_numpy()
    codes, uniques = _factorize(values)
    miss = np.array([isinstance(u, str) and u.strip() in MISSING_TOKENS for u in uniques], dtype=bool)
    return _per_row(codes, miss, True).astype(bool)


def _cell_to_float(cell: object) -> float:
    """One raw cell as a float: numbers as they are, numeric strings parsed exactly (correctly rounded, like
    ``read_csv``'s high-precision parser); NaN when it is not a number (booleans, dates, text, ``1_000``)."""
    if isinstance(cell, (bool, np.bool_)):
        return np.nan
    if isinstance(cell, (int, float, np.integer, np.floating)):
        return float(cell)
    if isinstance(cell, str) and "_" not in cell:
        try:
            return float(cell)
        except ValueError:
            return np.nan
    return np.nan


def _to_number(
    values: pd.Series, *, file: str, column: str, rows: np.ndarray
) -> tuple[np.ndarray, list[Issue]]:
    """Convert raw cells to float; missing cells → NaN; anything else non-numeric is an issue.

    Distinct values are converted once (a panel repeats the same few thousand values many times).
    """
    if pd.api.types.is_bool_dtype(values.dtype) or (
        pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype)
    ):
        return values.astype("float64").to_numpy(), []
    codes, uniques = _factorize(values)
    miss_u = np.array([isinstance(u, str) and u.strip() in MISSING_TOKENS for u in uniques], dtype=bool)
    conv_u = np.array([np.nan if m else _cell_to_float(u) for u, m in zip(uniques, miss_u, strict=True)])
    missing = _per_row(codes, miss_u, True).astype(bool)
    number = _per_row(codes, conv_u.astype(np.float64), np.nan).astype(np.float64)
    bad = ~np.isfinite(number) & ~missing
    issues = [
        Issue(
            file,
            int(rows[i]),
            column,
            str(values.iloc[i]),
            "a number (no units, no thousands separators)",
            "error",
            "not_a_number",
        )
        for i in np.flatnonzero(bad)
    ]
    return number, issues


def _to_year(
    values: pd.Series, *, file: str, column: str, rows: np.ndarray
) -> tuple[np.ndarray, list[Issue]]:
    """Calendar years as int64; a missing, non-numeric or non-integer year is an issue."""
    number, issues = _to_number(values, file=file, column=column, rows=rows)
    flagged = {i.row for i in issues}
    bad = ~np.isfinite(number) | (np.round(number) != number)
    for i in np.flatnonzero(bad):
        if int(rows[i]) in flagged:
            continue
        val = values.iloc[i]
        issues.append(
            Issue(
                file,
                int(rows[i]),
                column,
                "" if pd.isna(val) else str(val),
                "a whole-number calendar year (e.g. 2015)",
                "error",
                "bad_year",
            )
        )
    issues.sort(key=lambda i: i.row or 0)
    return np.where(bad, 0, number).astype(np.int64), issues


def _as_string(values: pd.Series) -> pd.Series:
    """Values as pandas strings exactly as given, NA kept.

    Text cells are kept verbatim (``"0042"``, ``" a001 "``, ``"10.0"``). Numbers stored as numbers (Excel,
    Stata, SPSS, Parquet) are written without a spurious ``.0`` when integral (Stata stores the id 10 as
    10.0), so the same identifier reads the same from every format.
    """

    def text(v: object) -> str:
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v)

    codes, uniques = _factorize(values)
    converted = pd.array([text(v) for v in uniques], dtype="string")
    return pd.Series(converted.take(codes, allow_fill=True), index=values.index, dtype="string")


def _pandera_issues(
    frame: pd.DataFrame,
    columns: Mapping[str, pa.Column],
    *,
    file: str,
    source_names: Mapping[str, str],
    raw_values: Mapping[str, pd.Series],
    severity: str,
    rule: str,
) -> list[Issue]:
    """Run pandera checks lazily and turn each failure case into an Issue at its file row.

    ``frame`` must carry ``source_row``; ``source_names`` maps contract columns to file columns and
    ``raw_values`` gives the cells as found (so the message shows what the researcher typed).
    """
    schema = pa.DataFrameSchema(dict(columns), strict=False, coerce=False)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    issues = []
    for case in cases.itertuples(index=False):
        if pd.isna(case.index):
            continue
        pos = int(case.index)
        col = str(case.column)
        row = int(frame[SOURCE_ROW].iloc[pos])
        raw = raw_values.get(col)
        value = str(raw.iloc[pos]) if raw is not None else str(case.failure_case)
        expected = str(case.check)
        if expected == "field_uniqueness":
            dup_rows = frame.loc[frame[col] == frame[col].iloc[pos], SOURCE_ROW].tolist()
            expected = f"a unique {col} ({row_label(file)}s {', '.join(map(str, dup_rows))} share it)"
        issues.append(Issue(file, row, source_names.get(col, col), value, expected, severity, rule))  # type: ignore[arg-type]
    issues.sort(key=lambda i: (i.row or 0, i.column))
    return issues


def _finish(fatal: list[Issue], warnings: list[Issue], *, strict: bool) -> list[Issue]:
    if strict and warnings:
        fatal = fatal + [w.as_error() for w in warnings]
        warnings = []
    if fatal:
        raise InputError(fatal)
    return warnings


def _check_mapping(columns: Mapping[str, str], required: Sequence[str], kind: str) -> None:
    absent = [r for r in required if r not in columns]
    if absent:
        raise ValueError(f"{kind}: the column mapping must name {', '.join(absent)} (got {dict(columns)})")


def _missing_ids(ids: pd.Series, rows: np.ndarray, *, file: str, column: str) -> list[Issue]:
    """Empty identifier cells (NA or only whitespace) are fatal: the record cannot be matched to anything."""
    codes, uniques = _factorize(ids)
    miss = _per_row(codes, np.array([_is_blank(u) for u in uniques], dtype=bool), True).astype(bool)
    return [
        Issue(
            file,
            int(rows[i]),
            column,
            "",
            "an organization identifier (cell is empty)",
            "error",
            "missing_id",
        )
        for i in np.flatnonzero(miss)
    ]


# --------------------------------------------------------------------------------------------------
# organizations
# --------------------------------------------------------------------------------------------------


def _parse_column(
    raw: pd.DataFrame, src: str | None, *, file: str, issues: list[Issue], numbers: Numbers
) -> pd.DataFrame | None:
    if src is None:
        return None
    try:
        return parse_date_parts(raw[src], file=file, column=src, row_offset=row_offset(file), numbers=numbers)
    except InputError as exc:
        issues.extend(exc.issues)
        return None


def _unknown_parts(index: pd.Index) -> pd.DataFrame:
    parts = pd.DataFrame(index=index)
    for col in ("year", "month", "day"):
        parts[col] = pd.array([pd.NA] * len(index), dtype="Int64")
    parts["precision"] = "unknown"
    return parts


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


def _duplicate_ids(
    out: pd.DataFrame, founded_cells: pd.Series, ended_cells: pd.Series, *, file: str, id_col: str
) -> tuple[list[Issue], list[Issue]]:
    """Identifiers equal after strip + casefold: conflicting dates are fatal, agreeing ones a warning."""
    key = out[ORG_ID].str.strip().str.casefold()
    dup = key.duplicated(keep=False) & key.notna()
    if not dup.any():
        return [], []
    sub = out.assign(_pos=np.arange(len(out)))[dup].assign(_key=key[dup])
    sig = [FOUNDED, "founded_precision", ENDED, "ended_precision"]
    dates = pd.DataFrame({c: sub[c].astype("string").fillna("NA") for c in sig})
    sub = sub.assign(_sig=dates.agg("|".join, axis=1))
    fatal: list[Issue] = []
    warnings: list[Issue] = []
    for _, group in sub.groupby("_key", sort=False):
        rows = group[SOURCE_ROW].tolist()
        listing = ", ".join(map(str, rows))
        if group["_sig"].nunique() > 1:
            detail = "; ".join(
                f"{row_label(file)} {r}: founded {_fmt(founded_cells.iloc[i])}, ended {_fmt(ended_cells.iloc[i])}"
                for r, i in zip(rows, group["_pos"], strict=True)
            )
            fatal += [
                Issue(
                    file,
                    int(r),
                    id_col,
                    str(v),
                    f"one founding/end date per organization ({detail})",
                    "error",
                    "conflicting_duplicate_ids",
                )
                for r, v in zip(rows, group[ORG_ID], strict=True)
            ]
        else:
            warnings += [
                Issue(
                    file,
                    int(r),
                    id_col,
                    str(v),
                    f"a unique identifier ({row_label(file)}s {listing} are the same "
                    "organization with the same dates; cleaning keeps one)",
                    "warning",
                    "duplicate_id",
                )
                for r, v in zip(rows, group[ORG_ID], strict=True)
            ]
    return fatal, warnings


def _fmt(cell: object) -> str:
    return "(empty)" if cell is None or pd.isna(cell) else repr(str(cell))


# --------------------------------------------------------------------------------------------------
# panel, environment, population
# --------------------------------------------------------------------------------------------------


def _numeric_columns(
    raw: pd.DataFrame, names: Mapping[str, str], *, file: str, rows: np.ndarray, fatal: list[Issue]
) -> dict[str, np.ndarray]:
    out = {}
    for name, src in names.items():
        values, issues = _to_number(raw[src], file=file, column=src, rows=rows)
        fatal += issues
        out[name] = values
    return out


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


def _unique_years(out: pd.DataFrame, raw_year: pd.Series, *, file: str, column: str) -> list[Issue]:
    return _pandera_issues(
        out,
        {YEAR: pa.Column(int, unique=True)},
        file=file,
        source_names={YEAR: column},
        raw_values={YEAR: raw_year.reset_index(drop=True)},
        severity="error",
        rule="duplicate_year",
    )


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


def _population_role(role: str) -> bool:
    return role in ("density", "foundings", "exits", "mass") or role.startswith("exits_")


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
