"""Shape of a delimited text file before it is parsed: every record has the header's number of fields.

A parser pads a short record with missing cells, so a CSV cut in the middle of a row keeps its short last
row (a death becomes censoring) and a file without line breaks becomes a single record. :func:`check_records`
refuses both, naming the line:

* a record with fewer (or more) fields than the header — ``truncated_record`` / ``extra_fields``; when it
  is the last line and the file does not end with a line break, the message says the file ends
  mid-record (it looks cut off);
* a quoted field still open at the end of the file — ``unterminated_quote``;
* a line longer than :data:`MAX_LINE_CHARS` — ``huge_line`` (no register row is that long; the file has
  no usable line breaks, or is not a table).
"""

from __future__ import annotations

import csv
import io

from pipeline.core.errors import InputError, Issue, file_error

#: Longest line accepted (characters). A register row is at most a few kilobytes.
MAX_LINE_CHARS = 1_000_000

#: How many malformed records an error carries (its message shows the first ones).
LIST_AT_MOST = 1000


def _lines(text: str) -> list[str]:
    if "\n" not in text and "\r" in text:
        return text.split("\r")  # classic Mac line endings
    return text.split("\n")


def _field_counts(text: str, delim: str) -> list[tuple[int, int]]:
    """``(line number, number of fields)`` of every non-blank record, header included."""
    if '"' not in text:
        return [
            (k, ln.count(delim) + 1)
            for k, ln in enumerate(_lines(text), start=1)
            if ln.strip(" \t\r\x0b\x0c")
        ]
    out = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    start = 1
    for record in reader:
        if record and any(cell.strip() for cell in record) or len(record) > 1:
            out.append((start, len(record)))
        start = reader.line_num + 1
    return out


def check_records(text: str, delim: str, file: str) -> None:
    """Raise :class:`InputError` unless every record of ``text`` has the header's field count (see the
    module docstring); a file ending inside a quoted field or holding a huge line is refused too."""
    lengths = [len(ln) for ln in _lines(text)]
    longest = max(lengths, default=0)
    if longest > MAX_LINE_CHARS:
        line = lengths.index(longest) + 1
        raise file_error(
            file,
            f"line {line} is {longest:,} characters long (more than {MAX_LINE_CHARS:,}; no table row is that "
            "long): the file has no usable line breaks or is not a delimited table",
            rule="huge_line",
        )
    if text.count('"') % 2:
        # an odd number of quote characters: a quoted field is still open at the end of the file
        try:
            list(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True))
        except csv.Error as exc:
            raise file_error(
                file,
                f"the file ends inside a quoted field ({exc}); it looks cut off, or a quote character is "
                "unbalanced",
                rule="unterminated_quote",
            ) from None
    counts = _field_counts(text, delim)
    if not counts:
        return
    header_line, width = counts[0]
    bad = [(line, n) for line, n in counts[1:] if n != width]
    if not bad:
        return
    last_line = counts[-1][0]
    ends_mid_record = not text.endswith(("\n", "\r"))
    issues = []
    for line, n in bad[:LIST_AT_MOST]:
        short = n < width
        cut = short and line == last_line and ends_mid_record
        what = f"{width} fields like the header (line {header_line}); line {line} has {n}" + (
            " — the file ends mid-record here (no line break after it): it looks cut off" if cut else ""
        )
        rule = "truncated_record" if short else "extra_fields"
        issues.append(Issue(file, line, "", f"{n} fields", what, "error", rule))
    raise InputError(issues)
