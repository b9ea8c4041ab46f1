"""Realistic mess for the simulated register and panel: what the cleaning stage must repair.

:func:`add_mess` turns the clean simulated population into the raw files of the input contract, as a
researcher would receive them from a civil-affairs register and a yearly survey. Every kind of mess is
drawn with its own seeded stream and recorded (which rows, how many) in :attr:`RawFiles.mess`, so the
documentation and the cleaning tests can name the exact rows:

* ``date_formats`` — founding/end dates written as ISO ``2015-03-02``, ``2015/3/2``, Chinese
  ``2015年3月2日``, or coarsened to month (``2015-03``, ``2015年3月``) or year (``2015``). The coarsened
  dates *are* the published data; the day-precision truth is kept in ``truth_organizations.csv``.
* ``unknown_founding`` — organizations whose founding date is empty (old registrations, founded before
  the window and alive in it, so the panel shows them from the window start).
* ``id_variants`` — ``org_id`` with stray whitespace or upper/mixed case, in both files.
* ``duplicate_rows`` — exact copies of register and panel rows.
* ``end_reason_case`` — end reasons with stray case or whitespace (``Dissolved``, `` merged``).
* ``ended_before_founded`` — one spurious register record (an identifier not in the truth) whose end
  precedes its founding; dropping it restores the true register.
* ``negative_staff`` — panel rows with the staff count's sign flipped.
* ``panel_gaps`` — organization-years removed from the middle of an organization's panel run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.simulate.population import SimulatedPopulation

#: Date formats of the published register and their probabilities.
DATE_FORMATS: dict[str, float] = {
    "iso": 0.55,
    "slash": 0.12,
    "chinese_day": 0.10,
    "month": 0.10,
    "chinese_month": 0.05,
    "year": 0.08,
}

REGISTER_COLUMNS = ["org_id", "name", "founded", "ended", "end_reason", "district", "type"]
PANEL_COLUMNS = ["org_id", "year", "staff", "gov_share", "revenue"]
ENVIRONMENT_COLUMNS = ["year", "procurement_budget", "policy_period"]


@dataclass(frozen=True)
class MessConfig:
    """How much of each kind of mess to add (counts of rows, or shares of rows)."""

    unknown_founding: int = 2
    id_variant_share_register: float = 0.02
    id_variant_share_panel: float = 0.01
    duplicate_register_rows: int = 8
    duplicate_panel_rows: int = 15
    end_reason_case_share: float = 0.05
    negative_staff: int = 6
    panel_gap_share: float = 0.01


@dataclass(frozen=True)
class RawFiles:
    """Raw tables (all values as strings, exactly as written to CSV) and the record of the mess."""

    organizations: pd.DataFrame
    panel: pd.DataFrame
    environment: pd.DataFrame
    mess: dict[str, Any]


def format_dates(days: np.ndarray, formats: np.ndarray) -> np.ndarray:
    """Write day-precision dates (ISO strings ``YYYY-MM-DD``) in the given published formats."""
    out = np.full(len(days), "", dtype=object)
    for i, (iso, fmt) in enumerate(zip(days, formats, strict=True)):
        if not iso:
            continue
        y, m, d = iso[:4], int(iso[5:7]), int(iso[8:10])
        if fmt == "iso":
            out[i] = iso
        elif fmt == "slash":
            out[i] = f"{y}/{m}/{d}"
        elif fmt == "chinese_day":
            out[i] = f"{y}年{m}月{d}日"
        elif fmt == "month":
            out[i] = iso[:7]
        elif fmt == "chinese_month":
            out[i] = f"{y}年{m}月"
        elif fmt == "year":
            out[i] = y
        else:
            raise ValueError(f"unknown date format {fmt!r}")
    return out


def _id_variant(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stray whitespace or case in identifiers: ``' sw00012'``, ``'sw00012 '``, ``'SW00012'``, ``'Sw00012'``."""
    kind = rng.integers(0, 4, len(ids))
    out = np.empty(len(ids), dtype=object)
    for i, (v, k) in enumerate(zip(ids, kind, strict=True)):
        out[i] = (f" {v}", f"{v} ", v.upper(), v[:1].upper() + v[1:])[k]
    return out


def _fmt(values: np.ndarray, digits: int) -> np.ndarray:
    return np.array([f"{v:.{digits}f}" for v in values], dtype=object)


def add_mess(pop: SimulatedPopulation, seed: int, config: MessConfig | None = None) -> RawFiles:
    """Raw register, panel and environment in the input-contract format, with documented mess.

    Parameters
    ----------
    pop : SimulatedPopulation
        Clean simulated data (:func:`pipeline.simulate.population.simulate_population`).
    seed : int
        Seed of the mess (independent streams per kind of mess are spawned from it).
    config : MessConfig, optional
        Amount of each kind of mess.

    Returns
    -------
    RawFiles
        String tables sorted by identifier (and year), ready to be written as CSV, and ``mess``: per
        kind, the number of rows and the affected identifiers.
    """
    cfg = config or MessConfig()
    streams = np.random.SeedSequence([seed, 1]).spawn(7)
    r_date, r_unknown, r_ids, r_dup, r_reason, r_staff, r_gap = (np.random.default_rng(s) for s in streams)
    orgs = pop.organizations
    n = len(orgs)
    mess: dict[str, Any] = {}

    # ---- register
    names = list(DATE_FORMATS)
    probs = np.array(list(DATE_FORMATS.values()))
    f_fmt = np.asarray(names, dtype=object)[r_date.choice(len(names), n, p=probs / probs.sum())]
    e_fmt = np.asarray(names, dtype=object)[r_date.choice(len(names), n, p=probs / probs.sum())]
    founded = format_dates(orgs["founded"].to_numpy(), f_fmt)
    ended = format_dates(orgs["ended"].to_numpy(), e_fmt)
    has_end = orgs["ended"].to_numpy() != ""
    mess["date_formats"] = {
        "founded": {k: int((f_fmt == k).sum()) for k in names},
        "ended": {k: int(((e_fmt == k) & has_end).sum()) for k in names},
    }
    # old registrations whose founding record was lost: founded before the window, alive in it
    start = pop.config.start
    ended_year = orgs["ended_year"].fillna(start).to_numpy(dtype=np.int64)
    old = np.flatnonzero((orgs["founded_year"].to_numpy() < start) & (ended_year >= start))
    pool = old if len(old) >= cfg.unknown_founding else np.arange(n)
    unknown = np.sort(r_unknown.choice(pool, min(cfg.unknown_founding, len(pool)), replace=False))
    founded[unknown] = ""
    mess["unknown_founding"] = {"rows": int(len(unknown)), "org_ids": orgs["org_id"].iloc[unknown].tolist()}

    reason = orgs["end_reason"].to_numpy().copy()
    ended_idx = np.flatnonzero(has_end)
    k_reason = max(1, round(cfg.end_reason_case_share * len(ended_idx))) if len(ended_idx) else 0
    bad_reason = (
        np.sort(r_reason.choice(ended_idx, k_reason, replace=False)) if k_reason else np.zeros(0, int)
    )
    styles = r_reason.integers(0, 4, len(bad_reason))
    for i, st in zip(bad_reason, styles, strict=True):
        r = reason[i]
        reason[i] = (r.capitalize(), f" {r}", r.upper(), f"{r} ")[st]
    mess["end_reason_case"] = {
        "rows": int(len(bad_reason)),
        "org_ids": orgs["org_id"].iloc[bad_reason].tolist(),
    }

    canonical = orgs["org_id"].to_numpy()
    shown = canonical.copy()
    k_ids = round(cfg.id_variant_share_register * n)
    var_idx = np.sort(r_ids.choice(n, k_ids, replace=False)) if k_ids else np.zeros(0, int)
    shown[var_idx] = _id_variant(canonical[var_idx], r_ids)
    mess["id_variants_register"] = {"rows": int(len(var_idx)), "org_ids": canonical[var_idx].tolist()}

    reg = pd.DataFrame(
        {
            "org_id": shown,
            "name": orgs["name"].to_numpy(),
            "founded": founded,
            "ended": ended,
            "end_reason": reason,
            "district": orgs["district"].to_numpy(),
            "type": orgs["type"].to_numpy(),
            "_key": canonical,
            "_order": 0,
        }
    )
    # one spurious record whose end precedes its founding (not in the truth)
    width = len(canonical[0]) - 2 if n else 5
    phantom_id = "sw" + str(n + 1).zfill(width)
    end_year = pop.config.end
    reg_bad = pd.DataFrame(
        {
            "org_id": [phantom_id],
            "name": ["东城区和平街道社会工作服务站"],
            "founded": [f"{end_year - 3}-05-10"],
            "ended": [f"{end_year - 10}-03-01"],
            "end_reason": ["dissolved"],
            "district": [pop.config.districts[0]],
            "type": [pop.config.types[0]],
            "_key": [phantom_id],
            "_order": [0],
        }
    )
    mess["ended_before_founded"] = {
        "rows": 1,
        "org_ids": [phantom_id],
        "note": "spurious record, not in truth",
    }
    reg = pd.concat([reg, reg_bad], ignore_index=True)
    dup = np.sort(r_dup.choice(n, min(cfg.duplicate_register_rows, n), replace=False))
    dups = reg.iloc[dup].copy()
    dups["_order"] = 1
    mess["duplicate_rows_register"] = {"rows": int(len(dup)), "org_ids": canonical[dup].tolist()}
    reg = pd.concat([reg, dups], ignore_index=True)
    reg = reg.sort_values(["_key", "_order"], kind="mergesort")[REGISTER_COLUMNS].reset_index(drop=True)

    # ---- panel
    pan = pop.panel
    p_ids = pan["org_id"].to_numpy()
    years = pan["year"].to_numpy()
    m = len(pan)
    # gaps: drop organization-years strictly inside an organization's run
    first = pan.groupby("org_id", sort=False)["year"].transform("min").to_numpy()
    last = pan.groupby("org_id", sort=False)["year"].transform("max").to_numpy()
    interior = np.flatnonzero((years > first) & (years < last))
    k_gap = round(cfg.panel_gap_share * m)
    gaps = np.sort(r_gap.choice(interior, min(k_gap, len(interior)), replace=False))
    keep = np.ones(m, dtype=bool)
    keep[gaps] = False
    mess["panel_gaps"] = {
        "rows": int(len(gaps)),
        "org_years": [[str(p_ids[i]), int(years[i])] for i in gaps],
    }
    staff = pan["staff"].to_numpy().copy()
    candidates = np.flatnonzero(keep)
    neg = np.sort(r_staff.choice(candidates, min(cfg.negative_staff, len(candidates)), replace=False))
    staff[neg] = -staff[neg]
    mess["negative_staff"] = {
        "rows": int(len(neg)),
        "org_years": [[str(p_ids[i]), int(years[i])] for i in neg],
    }
    p_shown = p_ids.copy()
    k_pids = round(cfg.id_variant_share_panel * len(candidates))
    pvar = np.sort(r_ids.choice(candidates, k_pids, replace=False))
    p_shown[pvar] = _id_variant(p_ids[pvar], r_ids)
    mess["id_variants_panel"] = {
        "rows": int(len(pvar)),
        "org_years": [[str(p_ids[i]), int(years[i])] for i in pvar],
    }
    panel = pd.DataFrame(
        {
            "org_id": p_shown,
            "year": years.astype(str),
            "staff": _fmt(staff, 2),
            "gov_share": _fmt(pan["gov_share"].to_numpy(), 3),
            "revenue": _fmt(pan["revenue"].to_numpy(), 1),
            "_key": p_ids,
            "_year": years,
            "_order": 0,
        }
    )[keep]
    pdup = np.sort(r_dup.choice(len(panel), min(cfg.duplicate_panel_rows, len(panel)), replace=False))
    pdups = panel.iloc[pdup].copy()
    pdups["_order"] = 1
    mess["duplicate_rows_panel"] = {
        "rows": int(len(pdup)),
        "org_years": [[str(k), int(y)] for k, y in zip(pdups["_key"], pdups["_year"], strict=True)],
    }
    panel = pd.concat([panel, pdups], ignore_index=True)
    panel = panel.sort_values(["_key", "_year", "_order"], kind="mergesort")[PANEL_COLUMNS].reset_index(
        drop=True
    )

    env = pop.environment
    environment = pd.DataFrame(
        {
            "year": env["year"].astype(str).to_numpy(),
            "procurement_budget": _fmt(env["procurement_budget"].to_numpy(), 1),
            "policy_period": env["policy_period"].to_numpy(),
        }
    )
    return RawFiles(organizations=reg, panel=panel, environment=environment, mess=mess)
