"""Problems found in a researcher's input files, reported row by row.

An :class:`Issue` pins one problem to a place in a raw file (file, row, column, the value found) and says
what was expected there. :class:`InputError` carries every fatal issue found in one pass, so a researcher
fixes all of them at once instead of re-running the pipeline once per typo.

Row numbers follow what the researcher sees when opening the file:

* CSV/TSV/TXT and Excel: spreadsheet-style line numbers — the header is row 1, the first data row is row 2.
* Stata ``.dta``, SPSS ``.sav`` and Parquet have no header line: rows are "record N", 1-based.

:func:`row_offset` gives the number to add to a 0-based record position for a file, and
:func:`row_label` the word used in messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import PurePath
from typing import Literal

import pandas as pd

#: Formats whose rows are records without a header line ("record N", 1-based).
RECORD_FORMATS = frozenset({".dta", ".sav", ".zsav", ".parquet", ".pq"})

#: How many issues :class:`InputError` shows in its message (all are kept in ``.issues``).
SHOW_ISSUES = 20

ISSUE_COLUMNS = ["file", "row", "column", "value", "expected", "severity", "rule"]


def row_offset(file: str | None) -> int:
    """Number added to a 0-based record position to get the row a researcher sees in ``file``.

    2 for text and spreadsheet files (header = row 1), 1 for record formats (dta, sav, parquet).
    """
    if file is not None and PurePath(str(file)).suffix.lower() in RECORD_FORMATS:
        return 1
    return 2


def row_label(file: str | None) -> str:
    """``"record"`` for dta/sav/parquet files, ``"row"`` otherwise."""
    return "record" if row_offset(file) == 1 else "row"


@dataclass(frozen=True)
class Issue:
    """One problem in an input file.

    Parameters
    ----------
    file : str
        The file as the researcher named it (path from ``params.yaml``).
    row : int or None
        Spreadsheet-style row (header = 1) for text/Excel files, 1-based record number for dta/sav/parquet;
        ``None`` when the problem concerns the whole file or a column (e.g. a missing column).
    column : str
        The column as named in the file ("" when the problem is not about one column).
    value : str
        The offending value, as found.
    expected : str
        What was expected instead, in plain words.
    severity : {"error", "warning"}
        Errors stop the pipeline; warnings are recorded in the validation report.
    rule : str
        Short machine-readable name of the check (e.g. ``"unparseable_date"``).
    """

    file: str
    row: int | None
    column: str
    value: str
    expected: str
    severity: Literal["error", "warning"] = "error"
    rule: str = ""

    def as_error(self) -> Issue:
        """The same issue with severity ``"error"`` (strict validation turns warnings into errors)."""
        return Issue(self.file, self.row, self.column, self.value, self.expected, "error", self.rule)

    def where(self) -> str:
        """``"row 5"`` / ``"record 5"`` / ``"header"`` for this issue's file."""
        if self.row is None:
            return "file" if not self.column else "header"
        return f"{row_label(self.file)} {self.row}"


def issues_frame(issues: Iterable[Issue]) -> pd.DataFrame:
    """Issues as a data frame with columns file, row (Int64), column, value, expected, severity, rule."""
    rows = [asdict(i) for i in issues]
    frame = pd.DataFrame(rows, columns=ISSUE_COLUMNS)
    frame["row"] = pd.array(frame["row"].tolist(), dtype="Int64")
    return frame


def _clip(text: object, width: int) -> str:
    s = "" if text is None else str(text)
    s = s.replace("\n", "\\n").replace("\r", "\\r")
    return s if len(s) <= width else s[: width - 1] + "…"


def format_issues(issues: Sequence[Issue], *, limit: int = SHOW_ISSUES) -> str:
    """A plain-text table of the first ``limit`` issues (where, column, value, expected)."""
    shown = list(issues[:limit])
    header = ["file", "where", "column", "value", "expected"]
    body = [
        [
            _clip(PurePath(i.file).name, 32),
            i.where() + ("" if i.severity == "error" else " (warning)"),
            _clip(i.column, 24),
            _clip(repr(i.value) if i.value != "" else ("(empty)" if i.row is not None else ""), 32),
            _clip(i.expected, 160),
        ]
        for i in shown
    ]
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]
    lines = [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *body]
    ]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    if len(issues) > limit:
        lines.append(f"  … and {len(issues) - limit} more (all are listed in the exception's .issues)")
    return "\n".join(lines)


class InputError(Exception):
    """Fatal problems in input files, all reported at once.

    ``str(error)`` names the file(s), the number of problems and shows a table of the first
    :data:`SHOW_ISSUES`; ``error.issues`` holds every :class:`Issue` and ``error.frame()`` the same as a
    data frame (see :func:`issues_frame`).
    """

    def __init__(self, issues: Iterable[Issue]):
        self.issues: list[Issue] = list(issues)
        super().__init__(self._message())

    def __reduce__(self) -> tuple[type[InputError], tuple[list[Issue]]]:
        return (type(self), (self.issues,))

    def frame(self) -> pd.DataFrame:
        """All issues as a data frame."""
        return issues_frame(self.issues)

    def _message(self) -> str:
        if not self.issues:
            return "input error (no details recorded)"
        files = list(dict.fromkeys(i.file for i in self.issues))
        n = len(self.issues)
        noun = "problem" if n == 1 else "problems"
        if len(files) == 1:
            head = f"{files[0]}: {n} {noun} in the input file"
        else:
            head = f"{n} {noun} in {len(files)} input files ({', '.join(files)})"
        rules = list(dict.fromkeys(i.rule for i in self.issues if i.rule))
        if rules:
            head += f" ({', '.join(r.replace('_', ' ') for r in rules)})"
        if n == 1 and self.issues[0].row is None:
            i = self.issues[0]
            detail = f"{i.column}: " if i.column else ""
            return f"{head}:\n  {detail}{i.expected}" + (f" (found {i.value!r})" if i.value else "")
        return f"{head}:\n{format_issues(self.issues)}"


def file_error(file: str, message: str, *, rule: str, value: str = "", column: str = "") -> InputError:
    """An :class:`InputError` about a whole file (missing, empty, wrong format, unreadable encoding)."""
    return InputError([Issue(str(file), None, column, value, message, "error", rule)])
