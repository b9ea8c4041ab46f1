"""Guess what a raw table is and what its columns hold, for the dataset scaffold (``new-dataset``).

Pure functions: a data frame as :func:`pipeline.data.read.read_table` returns it in, guesses out. Every
guess carries the evidence it rests on (``why``), so the params entry written from it can say what to
check. Nothing here decides anything for the pipeline: the researcher reviews the entry.

Roles of a table
----------------
* ``organizations`` (a register): one row per organization — a column of unique identifiers and a
  founding-date column.
* ``panel`` (organization-years): an identifier column that repeats and a year column, the pair unique.
* ``population`` (a yearly series): a year column with unique whole years and a count column.
* ``environment`` (yearly covariates): a yearly table beside a register (the caller decides).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.core.errors import InputError
from pipeline.data.dates import parse_dates

#: Name fragments (lower case) that point to a column's role, English and Chinese.
HINTS: dict[str, tuple[str, ...]] = {
    "org_id": ("id", "code", "代码", "编号", "ioname", "key", "number", "no"),
    "founded": (
        "found",
        "成立",
        "establish",
        "start",
        "sdate",
        "birth",
        "begin",
        "creat",
        "登记日期",
        "注册",
    ),
    "ended": ("end", "注销", "撤销", "dead", "death", "dissol", "close", "exit", "stop", "终止"),
    "end_reason": ("reason", "原因", "cause", "status", "type_of_end", "方式"),
    "year": ("year", "年份", "年度", "yr"),
    "density": ("total", "density", "count", "number", "n_org", "总数", "数量", "合计", "stock"),
    "foundings": ("new", "founding", "birth", "entr", "charter", "新增", "新成立", "成立"),
    "exits": ("exit", "death", "fail", "dissol", "closure", "注销", "退出", "撤销"),
    "size": ("size", "staff", "employ", "member", "人数", "员工", "职工", "n_full", "asset"),
    "share": ("share", "ratio", "比例", "占比", "pct", "percent"),
}
YEAR_RANGE = (1000, 2999)  # whole numbers in this range read as calendar years (pipeline.data.dates)
MAX_CATEGORY_LEVELS = 20


@dataclass(frozen=True)
class ColumnGuess:
    """What one column looks like: ``kind`` is ``date``, ``year``, ``integer``, ``number``, ``share``,
    ``percent``, ``category`` or ``text``; ``precision`` counts date precisions (date columns)."""

    name: str
    kind: str
    n: int
    n_missing: int
    n_unique: int
    precision: dict[str, int] = field(default_factory=dict)
    date_forms: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    levels: tuple[str, ...] = ()
    unparsed: tuple[str, ...] = ()  # date columns: values the date parser refused (first few)

    @property
    def unique(self) -> bool:
        return self.n_unique == self.n - self.n_missing and self.n_missing == 0


@dataclass(frozen=True)
class TableGuess:
    """One raw table: its columns, its guessed role and the columns chosen for each role key, with why."""

    file: str
    columns: tuple[ColumnGuess, ...]
    role: str
    roles: dict[str, str]
    why: dict[str, str]

    def column(self, name: str) -> ColumnGuess:
        return next(c for c in self.columns if c.name == name)


def _hint_score(name: str, role: str) -> int:
    low = name.lower()
    words = set(re.split(r"[^0-9a-z]+", low))
    score = 0
    for hint in HINTS[role]:
        if hint.isascii() and len(hint) <= 2:
            score += 2 if hint in words else 0
        elif hint.isascii() and len(hint) == 3:
            score += 2 if any(w.startswith(hint) for w in words) else 0
        elif hint in low:
            score += 3 if low == hint else 2
    return score


def _date_forms(values: pd.Series) -> tuple[str, ...]:
    text = values.astype(str)
    forms = []
    if text.str.contains("年").any():
        forms.append("Chinese (年/月/日)")
    if text.str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}.*").any():
        forms.append("ISO YYYY-MM-DD")
    if text.str.fullmatch(r"\d{4}/\d{1,2}(/\d{1,2})?").any():
        forms.append("YYYY/MM(/DD)")
    if text.str.fullmatch(r"\d{4}-\d{1,2}").any():
        forms.append("year-month YYYY-MM")
    if text.str.fullmatch(r"\d{4}(\.0)?").any():
        forms.append("year only")
    return tuple(forms)


def _parse_mostly(sample: pd.Series, name: str) -> tuple[pd.DataFrame | None, tuple[str, ...]]:
    """Parse distinct cells as dates; a column is dates when at least half of them parse (the refused
    values are returned, first five, for the entry's CHECK note: validate_inputs will stop on them)."""
    try:
        return parse_dates(sample, column=name), ()
    except InputError as exc:
        bad = {str(i.value).strip() for i in exc.issues}
    good = sample[~sample.astype(str).str.strip().isin(bad)]
    if len(good) == 0 or len(good) < 0.5 * len(sample):
        return None, ()
    try:
        return parse_dates(good.reset_index(drop=True), column=name), tuple(sorted(bad))[:5]
    except InputError:
        return None, ()


def sniff_column(name: str, values: pd.Series) -> ColumnGuess:
    """Guess the kind of one column from its values (a sample is enough; dates through the project's own
    date parser, so a column guessed as dates is one the pipeline will read)."""
    present = values[values.notna() & (values.astype(str).str.strip() != "")]
    n, n_missing, uniq = len(values), len(values) - len(present), present.astype(str).str.strip().unique()
    base = {"name": name, "n": n, "n_missing": n_missing, "n_unique": len(uniq)}
    if len(present) == 0:
        return ColumnGuess(kind="text", **base)
    typed_dates = pd.api.types.is_datetime64_any_dtype(present) or bool(
        present.map(lambda v: isinstance(v, dt.date)).all()
    )  # Stata/SPSS/Parquet/Excel dates arrive typed (formats %td/%tc, date cells)
    numeric = None if typed_dates else pd.to_numeric(present, errors="coerce")
    if numeric is not None and numeric.notna().all():
        lo, hi = float(numeric.min()), float(numeric.max())
        whole = bool(np.all(np.mod(numeric, 1) == 0))
        rng = {"minimum": lo, "maximum": hi}
        if whole and YEAR_RANGE[0] <= lo and hi <= YEAR_RANGE[1] and _hint_score(name, "year") > 0:
            return ColumnGuess(kind="year", **base, **rng)
        if whole and YEAR_RANGE[0] <= lo and hi <= YEAR_RANGE[1] and hi - lo < 400 and len(uniq) > 1:
            looks_date = any(_hint_score(name, r) for r in ("founded", "ended"))
            return ColumnGuess(
                kind="date" if looks_date else "year",
                **base,
                **rng,
                precision={"year": len(present)} if looks_date else {},
                date_forms=("year only",) if looks_date else (),
            )
        if 0 <= lo and hi <= 1 and not whole:
            return ColumnGuess(kind="share", **base, **rng)
        if 0 <= lo and hi <= 100 and _hint_score(name, "share") and float((numeric > 1).mean()) > 0.5:
            return ColumnGuess(kind="percent", **base, **rng)
        return ColumnGuess(kind="integer" if whole else "number", **base, **rng)
    sample = (
        present.drop_duplicates().iloc[:2000].reset_index(drop=True)
        if typed_dates
        else pd.Series(uniq[:2000])
    )
    parsed, refused = _parse_mostly(sample, name)
    if parsed is not None:
        counts = parsed["precision"].value_counts()
        precision = {p: int(counts[p]) for p in ("day", "month", "year") if p in counts}
        yrs = parsed["year"].dropna()
        span = {"minimum": float(yrs.min()), "maximum": float(yrs.max())} if len(yrs) else {}
        forms = _date_forms(sample)
        return ColumnGuess(
            kind="date", **base, **span, precision=precision, date_forms=forms, unparsed=refused
        )
    levels = tuple(sorted(map(str, uniq))) if len(uniq) <= MAX_CATEGORY_LEVELS else ()
    kind = "category" if levels and len(uniq) < len(present) else "text"
    return ColumnGuess(kind=kind, **base, levels=levels)


def _best(
    columns: list[ColumnGuess], role: str, kinds: tuple[str, ...], taken: set[str]
) -> ColumnGuess | None:
    pool = [c for c in columns if c.kind in kinds and c.name not in taken]
    if not pool:
        return None
    return max(pool, key=lambda c: (_hint_score(c.name, role), -columns.index(c)))


def _pick(
    columns: list[ColumnGuess],
    roles: dict[str, str],
    why: dict[str, str],
    role: str,
    kinds: tuple[str, ...],
    *,
    need_hint: bool = False,
) -> None:
    col = _best(columns, role, kinds, set(roles.values()))
    if col is None or (need_hint and _hint_score(col.name, role) == 0):
        return
    roles[role] = col.name
    hinted = "its name suggests it" if _hint_score(col.name, role) else "the first column of a fitting type"
    why[role] = f"{col.kind} column, {hinted}"


def sniff_table(frame: pd.DataFrame, file: str) -> TableGuess:
    """Guess the role of one raw table and which column plays each part (see the module docstring)."""
    columns = [sniff_column(str(c), frame[c]) for c in frame.columns]
    roles: dict[str, str] = {}
    why: dict[str, str] = {}
    year = _best(columns, "year", ("year",), set())
    ids = [c for c in columns if c.kind in ("text", "integer", "category") and c.n_missing == 0]
    id_col = max(ids, key=lambda c: (_hint_score(c.name, "org_id"), c.n_unique), default=None)
    dates = [c for c in columns if c.kind == "date"]
    if year is not None and year.unique and not dates:
        roles["year"] = year.name
        why["year"] = f"whole years {year.minimum:.0f}-{year.maximum:.0f}, one row each"
        _pick(columns, roles, why, "density", ("integer", "number"))
        _pick(columns, roles, why, "foundings", ("integer",), need_hint=True)
        _pick(columns, roles, why, "exits", ("integer",), need_hint=True)
        return TableGuess(file, tuple(columns), "population", roles, why)
    if year is not None and id_col is not None and not id_col.unique:
        keys = frame[[id_col.name, year.name]].astype(str)
        if not keys.duplicated().any():
            roles.update(org_id=id_col.name, year=year.name)
            why["org_id"] = f"repeats across rows ({id_col.n_unique} distinct values)"
            why["year"] = f"whole years {year.minimum:.0f}-{year.maximum:.0f}; (id, year) unique"
            _pick(columns, roles, why, "size", ("integer", "number"))
            return TableGuess(file, tuple(columns), "panel", roles, why)
    if id_col is not None and id_col.n - id_col.n_unique <= max(1, 0.1 * id_col.n) and dates:
        roles["org_id"] = id_col.name
        repeats = id_col.n - id_col.n_unique
        why["org_id"] = (
            f"no missing and no repeated values ({id_col.n_unique} organizations)"
            if not repeats
            else f"{id_col.n_unique} distinct values in {id_col.n} rows: {repeats} repeated (CHECK: validate_inputs "
            "stops on repeated ids with different dates)"
        )
        _pick(columns, roles, why, "founded", ("date",))
        _pick(columns, roles, why, "ended", ("date",))
        _pick(columns, roles, why, "end_reason", ("category", "text"), need_hint=True)
        return TableGuess(file, tuple(columns), "organizations", roles, why)
    return TableGuess(file, tuple(columns), "unknown", roles, why)
