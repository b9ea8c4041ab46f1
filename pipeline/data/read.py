"""Read a raw input table in any supported format, exactly as it is, for validation.

:func:`read_table` dispatches on the file extension:

====================  =====================================================================================
``.csv .tsv .txt``    text; delimiter sniffed (``,`` ``;`` tab ``|``); UTF-8 with or without BOM, UTF-16 with
                      BOM, else GB18030 (a superset of GBK/GB2312, for Chinese registry exports)
``.xlsx .xlsm .xls``  Excel through openpyxl (a legacy binary ``.xls`` needs ``xlrd``)
``.dta``              Stata through pyreadstat
``.sav .zsav``        SPSS through pyreadstat
``.parquet .pq``      Parquet through pyarrow
====================  =====================================================================================

Text files are read with every column as a string (``dtype=str``) and only empty cells as missing, so that
identifiers keep their leading zeros and spelling and dates reach :mod:`pipeline.data.dates` untouched. Binary
formats keep their native types (numbers, date cells as timestamps).

The returned frame's index is the 0-based record position in the file. Completely blank lines/rows are
dropped but still counted, so ``index + pipeline.core.errors.row_offset(file)`` is the row the researcher sees
(spreadsheet-style for text/Excel, "record N" for dta/sav/parquet).

Problems a researcher must fix raise :class:`~pipeline.core.errors.InputError`: missing file, empty file
(0 bytes or header only — the message says which), a file whose content is not what its extension says
(checked by magic bytes before any library is called), an encoding that cannot be decoded, a missing sheet.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.errors import file_error
from pipeline.data.records import check_records

TEXT_EXTENSIONS = frozenset({".csv", ".tsv", ".txt"})
EXCEL_EXTENSIONS = frozenset({".xlsx", ".xlsm", ".xls"})
STATA_EXTENSIONS = frozenset({".dta"})
SPSS_EXTENSIONS = frozenset({".sav", ".zsav"})
PARQUET_EXTENSIONS = frozenset({".parquet", ".pq"})
SUPPORTED = TEXT_EXTENSIONS | EXCEL_EXTENSIONS | STATA_EXTENSIONS | SPSS_EXTENSIONS | PARQUET_EXTENSIONS

#: Delimiters tried when sniffing a text file, in order of preference on ties.
DELIMITERS = (",", "\t", ";", "|")

#: Encodings tried in order when none is given (UTF-16 only when the file starts with its BOM).
FALLBACK_ENCODINGS = ("utf-8-sig", "gb18030")

_KIND_NAMES = {
    "text": "text/CSV",
    "zip": "a ZIP archive (such as an Excel .xlsx workbook)",
    "ole2": "a legacy Microsoft Office file (such as an Excel .xls workbook)",
    "parquet": "a Parquet file",
    "stata": "a Stata .dta file",
    "spss": "an SPSS .sav file",
    "pdf": "a PDF document",
    "gzip": "a gzip-compressed file",
    "html": "an HTML page",
    "binary": "an unrecognized binary format",
    "utf16": "UTF-16 text without a byte-order mark (save it as UTF-8, or as UTF-16 with a BOM)",
}

_EXPECTED_KIND = {
    **dict.fromkeys(TEXT_EXTENSIONS, "text"),
    ".xlsx": "zip",
    ".xlsm": "zip",
    ".xls": "ole2",
    ".dta": "stata",
    ".sav": "spss",
    ".zsav": "spss",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def sniff_kind(head: bytes) -> str:
    """What a file's first bytes say it is: ``text``, ``zip``, ``ole2``, ``parquet``, ``stata``, ``spss``,
    ``pdf``, ``gzip``, ``html`` or ``binary``.

    Magic numbers: ZIP ``PK\\x03\\x04`` (xlsx), OLE2 ``D0 CF 11 E0`` (xls), ``PAR1`` (Parquet), ``$FL2``/``$FL3``
    (SPSS sav/zsav), ``<stata_dta>`` (Stata 117+) or a release byte 102–115 followed by a byte-order byte 1/2
    (older Stata), ``%PDF``, gzip ``1F 8B``, an HTML page; anything else without NUL bytes is text.
    """
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole2"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"$FL2") or head.startswith(b"$FL3"):
        return "spss"
    if head.startswith(b"<stata_dta>"):
        return "stata"
    if len(head) >= 2 and 102 <= head[0] <= 115 and head[1] in (1, 2):
        return "stata"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "text"
    if b"\x00" in head:
        return _utf16_without_bom(head) or "binary"
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "html"
    # No NUL bytes and no known magic number: text. Whether it decodes is checked when it is read, so that
    # an unknown encoding is reported as such rather than as a wrong format.
    return "text"


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf16`` when NUL bytes sit regularly on one side of each byte pair (UTF-16 text of mostly ASCII
    characters, as some Windows tools write without a byte-order mark)."""
    pairs = len(head) // 2
    if pairs < 4:
        return None
    even = head[0 : 2 * pairs : 2].count(0) / pairs
    odd = head[1 : 2 * pairs : 2].count(0) / pairs
    if (odd > 0.3 and even < 0.02) or (even > 0.3 and odd < 0.02):
        return "utf16"
    return None


def _check_file(path: Path, file: str) -> tuple[str, bytes]:
    if not path.exists():
        parent = path.parent if str(path.parent) else Path(".")
        hint = ""
        if parent.is_dir():
            near = sorted(p.name for p in parent.iterdir() if p.suffix.lower() in SUPPORTED)[:10]
            hint = f" (files in {parent}: {', '.join(near)})" if near else f" (no data files in {parent})"
        else:
            hint = f" (folder {parent} does not exist either)"
        raise file_error(file, f"file not found{hint}", rule="missing_file")
    if path.is_dir():
        raise file_error(file, "is a folder, not a data file", rule="not_a_file")
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise file_error(
            file,
            f"unsupported extension {ext or '(none)'!r}; supported: {', '.join(sorted(SUPPORTED))}",
            rule="unsupported_format",
        )
    if path.stat().st_size == 0:
        raise file_error(file, "file is empty (0 bytes)", rule="empty_file")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    kind = sniff_kind(head)
    expected = _EXPECTED_KIND[ext]
    ok = kind == expected or (ext in (".xls",) and kind == "zip")  # an .xlsx saved as .xls is still readable
    if not ok:
        link = f" (a symlink to {os.readlink(path)})" if path.is_symlink() else ""
        fix = (
            "save it again as UTF-8"
            if kind == "utf16"
            else f"rename it to match its content or export it again as {ext}"
        )
        raise file_error(
            file,
            f"file {file}{link} has extension {ext} but its content looks like {_KIND_NAMES[kind]}; {fix}",
            rule="wrong_format",
        )
    return kind, head


def _decode(data: bytes, file: str, encoding: str | None) -> str:
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError:
            raise file_error(file, f"unknown encoding {encoding!r}", rule="unreadable_encoding") from None
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise file_error(
                file,
                f"cannot be decoded as {encoding}: byte {data[exc.start : exc.start + 1]!r} at line {line} "
                f"(byte offset {exc.start}); check the file's encoding",
                rule="unreadable_encoding",
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, file, "utf-16")
    first: UnicodeDecodeError | None = None
    for enc in FALLBACK_ENCODINGS:
        try:
            return data.decode(enc)
        except UnicodeDecodeError as exc:
            first = first or exc
    assert first is not None
    line = data[: first.start].count(b"\n") + 1
    raise file_error(
        file,
        f"cannot be decoded as UTF-8 or GB18030 (first bad byte {data[first.start : first.start + 1]!r} at line "
        f"{line}); pass the file's encoding explicitly (e.g. encoding: latin-1 or cp1252 in params)",
        rule="unreadable_encoding",
    )


def sniff_delimiter(text: str, *, default: str = ",", max_lines: int = 50) -> str:
    """The delimiter that splits the first lines of ``text`` into the same number (> 1) of fields.

    Each candidate in :data:`DELIMITERS` is tried with a quote-aware CSV parser on the first non-blank
    lines; a candidate scores when every line has the same field count, and the most fields wins (ties go
    to the order of :data:`DELIMITERS`). A single-column file gets ``default``.
    """
    lines = [ln for ln in text.splitlines()[: max_lines * 2] if ln.strip()][:max_lines]
    if not lines:
        return default
    sample = "\n".join(lines)
    best, best_score = default, (0, 0)
    for delim in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delim)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        score = (round(consistent, 2), counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best


def _check_header(names: list[object], file: str) -> None:
    """Refuse duplicate column names (pandas would silently rename the second to ``name.1``)."""
    seen: dict[str, int] = {}
    dups = []
    for pos, name in enumerate(names, start=1):
        key = "" if name is None or (isinstance(name, float) and pd.isna(name)) else str(name).strip()
        if not key:
            continue
        if key in seen:
            dups.append(f"{key!r} (columns {seen[key]} and {pos})")
        else:
            seen[key] = pos
    if dups:
        raise file_error(
            file,
            f"has duplicate column names in its header: {', '.join(dups)}; every column needs its own name",
            rule="duplicate_columns",
        )


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is missing or only whitespace.

    Column by column over the rows still possibly blank, so a typical file costs one pass over its first
    column.
    """
    blank = np.ones(len(frame), dtype=bool)
    for col in range(frame.shape[1]):
        idx = np.flatnonzero(blank)
        if not len(idx):
            break
        cells = frame.iloc[idx, col].to_numpy(dtype=object)
        filled = np.fromiter(
            (not (v is None or v != v or (isinstance(v, str) and not v.strip())) for v in cells),
            dtype=bool,
            count=len(cells),
        )
        blank[idx[filled]] = False
    return blank


def _finish(frame: pd.DataFrame, file: str, *, text_like: bool) -> pd.DataFrame:
    """Drop completely blank rows (keeping positions in the index) and refuse header-only tables."""
    if frame.shape[1] == 0:
        raise file_error(file, "file has no columns (no header row)", rule="empty_file")
    blank = _blank_rows(frame) if text_like else frame.isna().all(axis=1).to_numpy()
    frame = frame[~blank]
    if frame.empty:
        cols = ", ".join(map(str, frame.columns))
        what = "a header row" if text_like else "columns"
        rows = "data rows" if text_like else "records"
        raise file_error(file, f"file has {what} ({cols}) but no {rows}", rule="header_only")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _read_text(path: Path, file: str, encoding: str | None) -> pd.DataFrame:
    text = _decode(path.read_bytes(), file, encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise file_error(file, "file is empty (only blank lines)", rule="empty_file")
    default = "\t" if path.suffix.lower() == ".tsv" else ","
    delim = sniff_delimiter(text, default=default)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    _check_header(next(csv.reader([first], delimiter=delim), []), file)
    check_records(text, delim, file)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delim,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        raise file_error(
            file, f"cannot be parsed as delimited text ({delim!r}): {exc}", rule="malformed_text"
        ) from None
    except pd.errors.EmptyDataError:
        raise file_error(file, "file is empty (no header row)", rule="empty_file") from None
    frame = frame.reset_index(drop=True)
    out = _finish(frame, file, text_like=True)
    out.attrs["serial_dates"] = "excel"  # numbers in a CSV come from spreadsheets: Excel's 1900 system
    return out


def _read_excel(path: Path, file: str, sheet: str | int | None, kind: str) -> pd.DataFrame:
    if kind == "ole2":
        try:
            import xlrd  # noqa: F401
        except ImportError:
            raise file_error(
                file,
                "is a legacy .xls workbook, which needs the xlrd package (pip install 'xlrd>=2'); "
                "or save it as .xlsx",
                rule="unsupported_format",
            ) from None
        engine = "xlrd"
    else:
        engine = "openpyxl"
    try:
        book = pd.ExcelFile(path, engine=engine)
    except Exception as exc:  # zipfile.BadZipFile, KeyError for a zip that is not a workbook, …
        raise file_error(
            file, f"cannot be read as an Excel workbook: {type(exc).__name__}: {exc}", rule="unreadable_file"
        ) from None
    with book:
        names = list(book.sheet_names)
        system = _excel_date_system(book)
        if sheet is None:
            target: str | int = 0
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise file_error(
                    file,
                    f"has no sheet number {sheet} (0-based); sheets: {', '.join(names)}",
                    rule="missing_sheet",
                )
            target = sheet
        else:
            if sheet not in names:
                raise file_error(
                    file, f"has no sheet {sheet!r}; sheets: {', '.join(names)}", rule="missing_sheet"
                )
            target = sheet
        header = pd.read_excel(book, sheet_name=target, header=None, nrows=1, dtype=object)
        _check_header(header.iloc[0].tolist() if len(header) else [], file)
        frame = pd.read_excel(book, sheet_name=target, dtype=object, na_values=[""], keep_default_na=False)
    if frame.shape[1] == 0 and frame.shape[0] == 0:
        raise file_error(
            file,
            f"sheet {names[target] if isinstance(target, int) else target!r} is empty",
            rule="empty_file",
        )
    # openpyxl gives empty cells as None/NaN and strings as str; whitespace-only strings count as blank
    frame = frame.reset_index(drop=True)
    out = _finish(frame, file, text_like=True)
    out.attrs["serial_dates"] = system
    return out


def _excel_date_system(book: pd.ExcelFile) -> str:
    """``excel1904`` when the workbook counts serial days from 1904-01-01 (Mac Excel), else ``excel``.

    Date-formatted cells are converted by the reader in either system; this matters for plain numbers."""
    wb = getattr(book, "book", None)
    epoch = getattr(wb, "epoch", None)  # openpyxl
    if epoch is not None:
        return "excel1904" if epoch.year == 1904 else "excel"
    return "excel1904" if getattr(wb, "datemode", 0) == 1 else "excel"  # xlrd


def _read_stat(path: Path, file: str, value_labels: bool, stata: bool) -> pd.DataFrame:
    import pyreadstat

    reader = pyreadstat.read_dta if stata else pyreadstat.read_sav
    try:
        frame, meta = reader(str(path), apply_value_formats=value_labels)
    except Exception as exc:  # pyreadstat raises its own ReadstatError/PyreadstatError
        raise file_error(
            file, f"cannot be read as {'Stata' if stata else 'SPSS'}: {exc}", rule="unreadable_file"
        ) from None
    frame = frame.reset_index(drop=True)
    frame.attrs["value_labels"] = {
        col: dict(meta.value_labels[name])
        for col, name in (meta.variable_to_label or {}).items()
        if name in (meta.value_labels or {})
    }
    frame.attrs["column_labels"] = dict(zip(meta.column_names, meta.column_labels or [], strict=False))
    attrs = dict(frame.attrs)
    out = _finish(frame, file, text_like=False)
    out.attrs.update(attrs)
    out.attrs["serial_dates"] = None  # date columns carry a %td/%tc or SPSS date format; plain numbers don't
    out.attrs["file_kind"] = "Stata" if stata else "SPSS"
    return out


def _read_parquet(path: Path, file: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow.ArrowInvalid and friends
        raise file_error(file, f"cannot be read as Parquet: {exc}", rule="unreadable_file") from None
    out = _finish(frame.reset_index(drop=True), file, text_like=False)
    out.attrs["serial_dates"] = None  # Parquet has date types; plain numbers have no implicit origin
    out.attrs["file_kind"] = "Parquet"
    return out


def read_json(path: str | os.PathLike[str], *, what: str = "JSON file") -> Any:
    """A small JSON input (e.g. a simulator's ``truth:`` file), with a clear error naming the file, what it
    is instead (by its first bytes) or where the JSON breaks."""
    p, file = Path(path), str(path)
    if not p.exists():
        raise file_error(file, f"{what} not found", rule="missing_file")
    if p.is_dir():
        raise file_error(file, f"{what} is a folder", rule="not_a_file")
    data = p.read_bytes()
    kind = sniff_kind(data[:4096])
    if kind != "text":
        raise file_error(
            file, f"{what} expected, but its content looks like {_KIND_NAMES[kind]}", rule="wrong_format"
        )
    text = _decode(data, file, None).lstrip("\ufeff")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise file_error(
            file,
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            rule="not_json",
        ) from None


def read_table(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    value_labels: bool = False,
) -> pd.DataFrame:
    """Read one raw input table as it is, choosing the reader by the file's extension.

    Parameters
    ----------
    path : path-like
        The file; its extension picks the reader (see the module docstring).
    sheet : str or int, optional
        Excel sheet name or 0-based position (default: the first sheet). Ignored for other formats.
    encoding : str, optional
        Text encoding of a CSV/TSV/TXT file; by default UTF-8 (with or without BOM), UTF-16 with a BOM,
        then GB18030/GBK.
    value_labels : bool, default False
        Stata/SPSS: replace labelled codes by their labels. Either way the label sets are available in
        ``frame.attrs["value_labels"]`` (``{column: {code: label}}``) and variable labels in
        ``frame.attrs["column_labels"]``.
        ``frame.attrs["serial_dates"]`` names the file's implicit day-number system for plain numbers in
        date columns: ``excel`` (text files, 1900 workbooks), ``excel1904`` or ``None`` (Stata, SPSS,
        Parquet: dates carry formats or types; ``file_kind`` names the format for messages).

    Returns
    -------
    pandas.DataFrame
        Text files: all columns as strings, empty cells as missing. Other formats: native types. The index
        is the 0-based record position (blank rows dropped but counted), so that
        ``index + pipeline.core.errors.row_offset(path)`` is the row shown to the researcher.

    Raises
    ------
    InputError
        Missing file, empty or header-only file, content that does not match the extension, unreadable
        encoding, missing sheet.

    Examples
    --------
    >>> raw = read_table("data/raw/cow_igo/cow_igo_v3_lifespans.csv")  # doctest: +SKIP
    >>> raw["sdate"].head(2).tolist()  # doctest: +SKIP
    ['1984.0', '1950.0']
    """
    p = Path(path)
    file = str(path)
    kind, _ = _check_file(p, file)
    ext = p.suffix.lower()
    if ext in TEXT_EXTENSIONS:
        return _read_text(p, file, encoding)
    if ext in EXCEL_EXTENSIONS:
        return _read_excel(p, file, sheet, kind)
    if ext in STATA_EXTENSIONS:
        return _read_stat(p, file, value_labels, stata=True)
    if ext in SPSS_EXTENSIONS:
        return _read_stat(p, file, value_labels, stata=False)
    return _read_parquet(p, file)


def load_truth(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A dataset's ``truth:`` file (true parameters of simulated data): a JSON object."""
    obj = read_json(path, what="truth file (JSON with the true parameters)")
    if not isinstance(obj, dict):
        raise file_error(
            str(path),
            f"truth file must hold a JSON object (keys founding, mortality, ...), found {type(obj).__name__}",
            rule="not_json",
        )
    return obj
