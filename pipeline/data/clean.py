"""Cleaning rules for validated organization registers and panels, each logged with the rows it touched.

Every rule is a pure function ``frame -> (frame, log rows)``; :func:`clean_tables` applies them in a fixed
order. The log has one row per touched record (rule, table, source row, organization, column, old and new
value), so the report can show exactly what was changed and why. Cleaning is idempotent: cleaning a
cleaned table changes nothing and logs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.columns import ORG_ID, YEAR
from pipeline.core.errors import InputError, Issue, file_error
from pipeline.data.ids import (
    MIN_PANEL_MATCH,
    id_key,
    panel_mismatch,
    register_spelling,
    sort_by_id,
    spell_as_register,
    strip_ids,
)
from pipeline.data.lifetimes import lifetime_order, recorded, resolve_same_period

LOG_COLUMNS = ["rule", "table", "source_row", "org_id", "column", "old_value", "new_value", "action"]

RULE_DESCRIPTIONS: dict[str, str] = {
    "normalize_ids": (
        "Identifier rewritten: surrounding whitespace removed, panel identifiers matched ignoring case and "
        "written as the register spells them"
    ),
    "drop_duplicate_rows": "Exact duplicate row dropped (identifiers compared ignoring whitespace and case)",
    "merge_duplicate_ids": "Second record of an organization with identical dates dropped",
    "normalize_end_reason": "End reason stripped and case-folded",
    "unmapped_end_reason": "End reason not in params end_reasons: mapped to missing_end_reason",
    "ended_before_founded": "Record ended before it was founded (at the precision recorded): dropped",
    "same_period_order": (
        "End on or before founding only because a date is coarse (periods overlap): the coarser date moved "
        "inside its period to midway of the part compatible with the other"
    ),
    "negative_size": "Negative size set to missing",
    "share_out_of_range": "Funding share outside [0, 1] set to missing",
    "orphan_panel_rows": "Panel row of an organization not in the register: dropped",
    "panel_outside_lifetime": "Panel row outside the organization's founding-to-end years: dropped",
    "duplicate_panel_years": "Second panel row for the same organization-year: dropped",
    "panel_gaps": "Organization-year missing between first and last panel observation (not filled)",
}


@dataclass
class CleaningLog:
    """Accumulates one record per touched row."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        rule: str,
        table: str,
        frame: pd.DataFrame,
        *,
        column: str = "",
        old: pd.Series | None = None,
        new: pd.Series | None = None,
        action: str = "",
    ) -> None:
        """Log every row of ``frame`` (a subset of a table) as touched by ``rule``."""
        if frame.empty:
            return
        n = len(frame)
        src = frame["source_row"] if "source_row" in frame else pd.Series([pd.NA] * n, index=frame.index)
        ids = frame[ORG_ID] if ORG_ID in frame else pd.Series([""] * n, index=frame.index)
        old_vals = old.astype("string") if old is not None else pd.Series([""] * n, index=frame.index)
        new_vals = new.astype("string") if new is not None else pd.Series([""] * n, index=frame.index)
        block = pd.DataFrame(
            {
                "rule": rule,
                "table": table,
                "source_row": src.to_numpy(),
                "org_id": ids.astype("string").to_numpy(),
                "column": column,
                "old_value": old_vals.fillna("").to_numpy(),
                "new_value": new_vals.fillna("").to_numpy(),
                "action": action or RULE_DESCRIPTIONS.get(rule, rule),
            }
        )
        self.rows.extend(block.to_dict("records"))

    def frame(self) -> pd.DataFrame:
        """The log as a data frame with stable column order and row order."""
        if not self.rows:
            return pd.DataFrame(columns=LOG_COLUMNS)
        out = pd.DataFrame(self.rows, columns=LOG_COLUMNS)
        return out.reset_index(drop=True)

    def summary(self) -> list[dict[str, Any]]:
        """Rows touched per rule and table, in the order the rules ran."""
        out = self.frame()
        if out.empty:
            return []
        order = list(dict.fromkeys(zip(out["rule"], out["table"], strict=True)))
        counts = out.groupby(["rule", "table"], sort=False).size()
        return [
            {"rule": r, "table": t, "rows": int(counts[(r, t)]), "description": RULE_DESCRIPTIONS.get(r, r)}
            for r, t in order
        ]


def _rejected(rows: pd.DataFrame, *, file: str, column: str, expected: str, rule: str) -> InputError:
    """A fatal cleaning error naming every offending row (file, source row, column, value, expectation)."""
    return InputError(
        [
            Issue(file, int(r["source_row"]), column, str(r[column]), expected, "error", rule)
            for _, r in rows.iterrows()
        ]
    )


def _strip_register_ids(frame: pd.DataFrame, log: CleaningLog) -> pd.DataFrame:
    """Register identifiers without surrounding whitespace; case is kept (it is the register's spelling)."""
    ids = frame[ORG_ID].astype("string")
    stripped = strip_ids(ids)
    changed = (stripped != ids).fillna(False)
    log.add(
        "normalize_ids",
        "organizations",
        frame[changed],
        column=ORG_ID,
        old=ids[changed],
        new=stripped[changed],
        action="surrounding whitespace removed",
    )
    out = frame.copy()
    out[ORG_ID] = stripped
    return out


def _spell_panel_ids(panel: pd.DataFrame, orgs: pd.DataFrame, log: CleaningLog) -> pd.DataFrame:
    """Panel identifiers matched to the register ignoring whitespace and case, written as the register
    spells them; only rows whose identifier actually changed are logged."""
    ids = panel[ORG_ID].astype("string")
    new = spell_as_register(ids, orgs[ORG_ID])
    changed = (new != ids).fillna(False)
    log.add("normalize_ids", "panel", panel[changed], column=ORG_ID, old=ids[changed], new=new[changed])
    out = panel.copy()
    out[ORG_ID] = new
    return out


def _drop_exact_duplicates(
    frame: pd.DataFrame, table: str, log: CleaningLog, *, key: pd.Series | None = None
) -> pd.DataFrame:
    """Drop rows equal to an earlier row in every column but ``source_row`` (identifiers compared by
    ``key`` when given, e.g. ignoring case)."""
    content = [c for c in frame.columns if c not in ("source_row", ORG_ID)]
    probe = frame[content].assign(_id=frame[ORG_ID] if key is None else key)
    dup = probe.duplicated(keep="first")
    log.add("drop_duplicate_rows", table, frame[dup], action="dropped")
    return frame[~dup]


def clean_organizations(
    orgs: pd.DataFrame,
    *,
    file: str,
    end_reasons: dict[str, str],
    normalize_ids: bool = True,
    drop_duplicate_rows: bool = True,
    ended_before_founded: str = "drop",
    log: CleaningLog | None = None,
) -> tuple[pd.DataFrame, CleaningLog]:
    """Clean a validated register: identifiers, duplicates, end reasons, impossible lifetimes.

    Returns the cleaned register (sorted by ``org_id``) and the log. Organizations whose end certainly
    precedes their founding at the recorded precision (founded 2006-09-04, ended 2006-06-05) cannot be
    placed in time; they are dropped (logged by id) or, with ``ended_before_founded="error"``, reported as
    an :class:`InputError`. An end on or before the founding only because a date is coarse (founded
    2006-09-04, ended 2006) follows the rule of :mod:`pipeline.data.lifetimes`, logged by id as
    ``same_period_order``.
    """
    log = log or CleaningLog()
    out = orgs.copy()
    if normalize_ids:
        out = _strip_register_ids(out, log)
    if drop_duplicate_rows:
        out = _drop_exact_duplicates(
            out, "organizations", log, key=id_key(out[ORG_ID], normalize=normalize_ids)
        )
    # Same organization listed twice with identical dates (e.g. its name or id spelt differently): the
    # first row's spelling of the identifier is kept.
    key = id_key(out[ORG_ID], normalize=normalize_ids)
    same = out[["founded", "ended"]].assign(_key=key).duplicated(keep="first")
    kept = register_spelling(out[ORG_ID][~same], normalize=normalize_ids)
    log.add(
        "merge_duplicate_ids",
        "organizations",
        out[same],
        column=ORG_ID,
        old=out.loc[same, ORG_ID],
        new=key[same].map(kept),
        action="dropped",
    )
    out = out[~same]
    key = key[~same]
    dup_ids = key.duplicated(keep=False)
    if dup_ids.any():
        rows = out[dup_ids].sort_values([ORG_ID, "source_row"])
        raise _rejected(
            rows,
            file=file,
            column=ORG_ID,
            expected="one founding/end date per organization",
            rule="conflicting_duplicate_ids",
        )
    if "end_reason" in out:
        reason = out["end_reason"].astype("string")
        norm = reason.str.strip().str.casefold().replace("", pd.NA)
        changed = (norm.fillna("") != reason.fillna("")) & reason.notna()
        log.add(
            "normalize_end_reason",
            "organizations",
            out[changed],
            column="end_reason",
            old=reason[changed],
            new=norm[changed],
        )
        out["end_reason"] = norm
        known = {k.casefold() for k in end_reasons}
        unmapped = norm.notna() & ~norm.isin(known) & out["ended"].notna()
        log.add(
            "unmapped_end_reason",
            "organizations",
            out[unmapped],
            column="end_reason",
            old=norm[unmapped],
            action="mapped to missing_end_reason",
        )
    # Order of founding and end at the recorded precision (pipeline.data.lifetimes): an end whose period
    # closes before the founding's opens is impossible; overlapping periods follow the stated rule.
    order = lifetime_order(out)
    bad = order == "certain"
    if bad.any():
        if ended_before_founded == "error":
            sub = out[bad]
            f_rec = recorded(sub["founded"], sub["founded_precision"], sub["founded_year"])
            e_rec = recorded(sub["ended"], sub["ended_precision"], sub["ended_year"])
            issues = [
                Issue(
                    file,
                    int(r.source_row),
                    "ended",
                    e_rec[i],
                    f"an end on or after the founding ({f_rec[i]}) of {r.org_id}, at the precision recorded",
                    "error",
                    "ended_before_founded",
                )
                for i, r in zip(sub.index, sub.itertuples(), strict=True)
            ]
            raise InputError(issues)
        log.add(
            "ended_before_founded",
            "organizations",
            out[bad],
            column="ended",
            old=out.loc[bad, "ended"],
            action="dropped",
        )
        out = out[~bad]
    out, moved = resolve_same_period(out)
    for column in ("founded", "ended"):
        sel = moved[moved["column"] == column]
        if len(sel):
            log.add(
                "same_period_order",
                "organizations",
                out.loc[sel["index"]],
                column=column,
                old=pd.Series(sel["old"].to_numpy(), index=sel["index"]),
                new=pd.Series(sel["new"].to_numpy(), index=sel["index"]),
            )
    return sort_by_id(out, ORG_ID).reset_index(drop=True), log


def clean_panel(
    panel: pd.DataFrame,
    orgs: pd.DataFrame,
    *,
    file: str,
    normalize_ids: bool = True,
    drop_duplicate_rows: bool = True,
    negative_size: str = "set_missing",
    share_out_of_range: str = "set_missing",
    orphan_panel_rows: str = "drop",
    register_file: str = "(register)",
    log: CleaningLog | None = None,
) -> tuple[pd.DataFrame, CleaningLog]:
    """Clean a validated organization-year panel against the cleaned register.

    A panel of which fewer than :data:`~pipeline.data.ids.MIN_PANEL_MATCH` of the rows name an
    organization of the register (``register_file``) is an :class:`InputError` with examples of unmatched
    identifiers on both sides and, when it explains them, the kind of mismatch (zero padding, numbers
    stored as numbers, separators).

    Impossible values (negative sizes, shares outside [0, 1]) become missing; rows of unknown
    organizations or outside an organization's lifetime are dropped; repeated organization-years keep
    the first row. Gaps are logged, not filled: growth is computed only between consecutive years.
    """
    log = log or CleaningLog()
    out = panel.copy()
    if normalize_ids:
        out = _spell_panel_ids(out, orgs, log)
    if drop_duplicate_rows:
        out = _drop_exact_duplicates(out, "panel", log)
    dup = out.duplicated(subset=[ORG_ID, YEAR], keep="first")
    log.add("duplicate_panel_years", "panel", out[dup], column=YEAR, old=out.loc[dup, YEAR], action="dropped")
    out = out[~dup].copy()
    if "size" in out:
        neg = out["size"] < 0
        if neg.any() and negative_size == "error":
            raise _rejected(
                out[neg], file=file, column="size", expected="a non-negative size", rule="negative_size"
            )
        log.add("negative_size", "panel", out[neg], column="size", old=out.loc[neg, "size"])
        out.loc[neg, "size"] = np.nan
    if "funding_share" in out:
        share = out["funding_share"]
        bad = (share < 0) | (share > 1)
        if bad.any() and share_out_of_range == "error":
            raise _rejected(
                out[bad],
                file=file,
                column="funding_share",
                expected="a share in [0, 1]",
                rule="share_out_of_range",
            )
        log.add("share_out_of_range", "panel", out[bad], column="funding_share", old=share[bad])
        out.loc[bad, "funding_share"] = np.nan
    known = out[ORG_ID].isin(orgs[ORG_ID])
    if len(out) and known.mean() < MIN_PANEL_MATCH:
        mismatch = panel_mismatch(out[ORG_ID], orgs[ORG_ID])
        raise file_error(
            file,
            mismatch.describe(panel_file=file, register_file=register_file),
            rule="panel_does_not_match_register",
        )
    if (~known).any() and orphan_panel_rows == "error":
        raise _rejected(
            out[~known],
            file=file,
            column=ORG_ID,
            expected="an organization listed in the register",
            rule="orphan_panel_rows",
        )
    log.add("orphan_panel_rows", "panel", out[~known], action="dropped")
    out = out[known]
    life = orgs.set_index(ORG_ID)[["founded_year", "ended_year"]]
    fy = out[ORG_ID].map(life["founded_year"])
    ey = out[ORG_ID].map(life["ended_year"])
    outside = ((out[YEAR] < fy) & fy.notna()) | ((out[YEAR] > ey) & ey.notna())
    log.add(
        "panel_outside_lifetime",
        "panel",
        out[outside],
        column=YEAR,
        old=out.loc[outside, YEAR],
        action="dropped",
    )
    out = sort_by_id(out[~outside], ORG_ID, YEAR).reset_index(drop=True)
    # Gaps: organization-years between first and last observation that are missing.
    if not out.empty:
        span = out.groupby(ORG_ID, sort=True)[YEAR].agg(["min", "max", "size"])
        gappy = span[(span["max"] - span["min"] + 1) > span["size"]]
        if not gappy.empty:
            years = out[out[ORG_ID].isin(gappy.index)].groupby(ORG_ID)[YEAR].apply(set)
            recs = []
            for org, row in gappy.iterrows():
                for y in range(int(row["min"]), int(row["max"]) + 1):
                    if y not in years[org]:
                        recs.append({ORG_ID: org, YEAR: y})
            gaps = pd.DataFrame(recs)
            log.add("panel_gaps", "panel", gaps, column=YEAR, old=gaps[YEAR], action="logged, not filled")
    return out, log


def clean_environment(env: pd.DataFrame) -> pd.DataFrame:
    """Environment covariates need no repair beyond validation; sorted by year."""
    return env.sort_values(YEAR, kind="mergesort").reset_index(drop=True)
