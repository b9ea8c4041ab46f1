"""Cell-level parsing and checks shared by the raw-table validators (:mod:`pipeline.data.validate`):
source rows, required columns, numbers, years, strings, missing ids, duplicate ids, pandera issues.

Every issue names the file, row, column (as named in the file), the value found and what was expected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pipeline.core.columns import ENDED, FOUNDED, ORG_ID, YEAR
from pipeline.core.errors import InputError, Issue, row_label, row_offset
from pipeline.data.dates import (
    MISSING_TOKENS,
    Numbers,
    parse_date_parts,
)

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


def _population_role(role: str) -> bool:
    return role in ("density", "foundings", "exits", "mass") or role.startswith("exits_")
