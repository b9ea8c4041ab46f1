"""Event histories: the organizations table, counting-process spells, organization-years and population
series, following the conventions of the domain guide exactly.

Conventions (all times are decimal calendar years, 1 January 00:00 of year t = t.0):

* **Density** N_t = organizations alive on 1 January of year t: founded before t and not ended before t.
* **Foundings** F_t = founded during [t, t+1); **exits** D_t = ended during [t, t+1), by kind.
  Hence N_{t+1} = N_t + F_t − D_t exactly.
* **Mass** M_t = sum of the size measure in year t over organizations alive on 1 January of t.
* **Density at founding** = N on 1 January of the founding year.
* **Spells**: each organization is observed from max(founded, window start) (delayed entry when founded
  before the window: left truncation) to min(ended, end of the window), split at every 1 January; the
  clock is age, risk intervals are (start, stop].
* An end after the window is right-censored at the end of the window (1 January of end + 1).

Everything here is vectorized over organizations (numpy ``repeat``/``searchsorted``), so a registry of a
million organizations over 30 years builds in seconds.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pipeline.core.columns import (
    CENSORED,
    COMPETING_PREFIX,
    DEATH,
    DENSITY,
    DENSITY_AT_FOUNDING,
    DENSITY_SQ,
    FOUNDINGS,
    FUNDING_SHARE,
    LOG_SIZE,
    MASS,
    ORG_ID,
    SIZE,
    YEAR,
)
from pipeline.data.ids import sort_by_id
from pipeline.data.lifetimes import resolve_same_period

log = logging.getLogger(__name__)

#: Flag: density at founding counted before the window start (possibly incomplete register).
TRUNCATED_DENSITY = "density_at_founding_truncated"


def end_kinds(
    end_reason: pd.Series,
    ended: pd.Series,
    *,
    end_reasons: dict[str, str],
    missing_end_reason: str = "death",
) -> pd.Series:
    """Map raw end reasons to end kinds: ``death``, ``competing:<reason>`` or ``censored``.

    Organizations without an end date are ``censored`` (alive at the end of observation). An end date
    without a (mapped) reason gets ``missing_end_reason``.
    """
    mapping = {k.strip().casefold(): v for k, v in end_reasons.items()}
    reason = end_reason.astype("string").str.strip().str.casefold()
    kind_of_reason = reason.map(mapping)
    fallback = missing_end_reason
    kind = kind_of_reason.fillna(fallback).astype(object)
    out = pd.Series(CENSORED, index=ended.index, dtype=object)
    has_end = ended.notna()
    death = has_end & (kind == "death")
    competing = has_end & (kind == "competing")
    out[death] = DEATH
    label = reason.where(reason.notna() & kind_of_reason.notna(), "unspecified")
    out[competing] = COMPETING_PREFIX + label[competing].astype(str)
    return out


def density_series(founded: np.ndarray, ended: np.ndarray, years: np.ndarray) -> np.ndarray:
    """N_t for each year t: count(founded < t) − count(ended < t) (ended ≥ founded is assumed).

    An organization whose founding is unknown (NaN: no date and none imputed from the panel) is never
    added, so its end is not subtracted either: it is left out of the series entirely (see
    :func:`unknown_founding_note` for the statement the histories record about it).
    """
    known = np.isfinite(founded)
    f = np.sort(founded[known])
    e = np.sort(ended[known & np.isfinite(ended)])
    t = years.astype(float)
    return np.searchsorted(f, t, side="left") - np.searchsorted(e, t, side="left")


def _year_counts(times: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Number of events with floor(time) == t for each t in ``years``."""
    times = times[np.isfinite(times)]
    idx = np.floor(times).astype(np.int64) - int(years[0])
    ok = (idx >= 0) & (idx < len(years))
    return np.bincount(idx[ok], minlength=len(years)).astype(np.int64)


def _panel_index(
    panel: pd.DataFrame | None, org_codes: pd.Index, codes: np.ndarray, years: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Row of the panel holding each (organization code, year) pair: ``(hit mask, panel row)``.

    One sort of the panel's integer keys serves every measure looked up afterwards.
    """
    if panel is None or panel.empty or not len(codes):
        return np.zeros(len(codes), dtype=bool), np.zeros(len(codes), dtype=np.int64)
    pcode = org_codes.get_indexer(panel[ORG_ID])
    pyear = panel[YEAR].to_numpy().astype(np.int64)
    y0 = int(min(years.min(), pyear.min()))
    span = int(max(years.max(), pyear.max())) - y0 + 1
    pkey = np.where(pcode >= 0, pcode.astype(np.int64) * span + (pyear - y0), -1)
    order = np.argsort(pkey, kind="stable")
    skey = pkey[order]
    qkey = codes.astype(np.int64) * span + (years.astype(np.int64) - y0)
    pos = np.minimum(np.searchsorted(skey, qkey), len(skey) - 1)
    hit = skey[pos] == qkey
    return hit, order[pos]


def _gather(panel: pd.DataFrame, column: str, hit: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Values of a panel measure at the looked-up rows; NaN where the organization-year is unobserved."""
    out = np.full(len(hit), np.nan)
    out[hit] = panel[column].to_numpy(dtype=float)[rows[hit]]
    return out


def apply_vanished_rule(
    orgs: pd.DataFrame, panel: pd.DataFrame | None, *, window_end: int, rule: str, grace_years: int
) -> tuple[pd.DataFrame, pd.Series]:
    """Organizations without a recorded end that vanish from the panel.

    ``rule="ignore"`` keeps them alive to the window end; ``"censor"`` right-censors them at the end of
    their last panel year; ``"end"`` treats them as ended (death) in the year after their last panel year
    (placed at its midpoint). Only organizations last seen more than ``grace_years`` before the window end
    are affected. Returns the frame (with ``censor_time``) and the mask of affected organizations.
    """
    out = orgs.copy()
    out["censor_time"] = np.nan
    affected = pd.Series(False, index=out.index)
    if rule == "ignore" or panel is None or panel.empty:
        return out, affected
    last = panel.groupby(ORG_ID)[YEAR].max()
    last_year = out[ORG_ID].map(last)
    affected = out["ended"].isna() & last_year.notna() & (last_year < window_end - grace_years)
    if rule == "censor":
        out.loc[affected, "censor_time"] = last_year[affected] + 1.0
    elif rule == "end":
        out.loc[affected, "ended"] = last_year[affected] + 1.5
        out.loc[affected, "ended_year"] = last_year[affected] + 1
        out.loc[affected, "end_kind"] = DEATH
    return out, affected


def build_organizations(
    orgs: pd.DataFrame,
    *,
    window: tuple[int, int],
    end_reasons: dict[str, str],
    missing_end_reason: str = "death",
    group_columns: list[str] | None = None,
    cohort_width: int = 10,
    panel: pd.DataFrame | None = None,
    vanished_rule: str = "ignore",
    grace_years: int = 2,
    left_truncated_density: str = "keep",
) -> pd.DataFrame:
    """The organizations table: founding, end, end kind, left truncation, entry/exit ages, density at
    founding and cohort, one row per organization (sorted by ``org_id``).

    Unknown founding dates are imputed from the first panel year when a panel exists (mid-year of that
    year, or of the year before when it is the panel's first year) and flagged
    ``founded_precision = "imputed"``; such organizations count in density but are kept out of
    age-dependent models (no spells).

    Density at founding of an organization founded before the window start is flagged
    (``density_at_founding_truncated``): it is counted from the register before the window, which may
    lack organizations that ended earlier. ``left_truncated_density="exclude"`` sets it missing.
    """
    start, end = window
    out = orgs.copy()
    if "founded_precision" not in out:
        out["founded_precision"] = np.where(out["founded"].notna(), "year", "unknown")
    unknown = out["founded"].isna()
    if unknown.any() and panel is not None and not panel.empty:
        # First panel year y: founded during y (mid-year) if the panel already covered earlier years;
        # if y is the panel's first year the organization was presumably alive on 1 January of y, so it
        # is placed in the middle of y - 1 (counted in density of y, not as a founding of y).
        first = panel.groupby(ORG_ID)[YEAR].min()
        panel_start = int(panel[YEAR].min())
        imputed = out.loc[unknown, ORG_ID].map(first)
        has = imputed.notna()
        idx = imputed[has].index
        year = imputed[has].astype(int)
        year = year.where(year > panel_start, year - 1)
        out.loc[idx, "founded"] = year.astype(float) + 0.5
        out.loc[idx, "founded_year"] = year
        out.loc[idx, "founded_precision"] = "imputed"
    # cleaning ordered recorded dates; a founding imputed from the panel may still fall after the end
    out, moved = resolve_same_period(out)
    if len(moved):
        ids = out.loc[moved["index"], ORG_ID].astype(str).tolist()
        log.warning(
            "%d organization(s) with a founding imputed from the panel after the recorded end: %s moved by the "
            "same-period rule (%s)",
            len(ids),
            "/".join(sorted(set(moved["column"]))),
            ", ".join(ids[:20]) + (" …" if len(ids) > 20 else ""),
        )
    out["end_kind"] = end_kinds(
        out.get("end_reason", pd.Series(pd.NA, index=out.index)),
        out["ended"],
        end_reasons=end_reasons,
        missing_end_reason=missing_end_reason,
    )
    out, _ = apply_vanished_rule(out, panel, window_end=end, rule=vanished_rule, grace_years=grace_years)
    window_close = float(end + 1)
    out["left_truncated"] = out["founded"] < start
    founded = out["founded"].to_numpy(dtype=float)
    ended = out["ended"].to_numpy(dtype=float)
    entry_time = np.maximum(founded, float(start))
    exit_time = np.fmin(np.where(np.isnan(ended), window_close, ended), window_close)
    censor = out["censor_time"].to_numpy(dtype=float)
    exit_time = np.fmin(exit_time, np.where(np.isnan(censor), np.inf, censor))
    out["entry_age"] = entry_time - founded
    out["exit_age"] = exit_time - founded
    ended_in_window = ~np.isnan(ended) & (ended < window_close) & np.isnan(censor)
    out["end_kind_window"] = np.where(ended_in_window, out["end_kind"], CENSORED)
    fy = out["founded_year"].astype("Int64")
    years_all = np.arange(int(np.nanmin(np.floor(founded))) if np.isfinite(founded).any() else start, end + 2)
    dens_all = density_series(founded, ended, years_all)
    lookup = pd.Series(dens_all, index=years_all)
    out[DENSITY_AT_FOUNDING] = fy.map(lookup).astype(float)
    # founded before the window: the register may lack organizations that ended before it
    truncated = (fy < start).fillna(False).to_numpy(dtype=bool)
    out[TRUNCATED_DENSITY] = truncated
    if left_truncated_density == "exclude":
        out.loc[truncated, DENSITY_AT_FOUNDING] = np.nan
    elif left_truncated_density != "keep":
        raise ValueError(
            f"left_truncated_density must be 'keep' or 'exclude', got {left_truncated_density!r}"
        )
    decade = (fy // cohort_width) * cohort_width
    out["cohort"] = decade.astype("string") + np.where(cohort_width == 10, "s", f"+{cohort_width - 1}")
    out.loc[fy.isna(), "cohort"] = pd.NA
    out["in_spells"] = (
        out["founded_precision"].isin(["day", "month", "year"])
        & (exit_time > entry_time)
        & (exit_time > start)
        & (entry_time < window_close)
    )
    return sort_by_id(out, ORG_ID).reset_index(drop=True)


def population_series(
    orgs: pd.DataFrame,
    *,
    window: tuple[int, int],
    panel: pd.DataFrame | None = None,
    environment: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Yearly density, foundings, exits by kind, mass and environment over the window.

    ``orgs`` is the organizations table from :func:`build_organizations`. Exits count ends in the year
    whatever the window; censoring by the vanished rule is not an exit. Organizations whose founding is
    unknown and could not be imputed from the panel are left out of density, foundings, exits (of every
    kind) and mass alike, so N_{t+1} = N_t + F_t − D_t still holds; :func:`unknown_founding_note` states
    how many.
    """
    start, end = window
    years = np.arange(start, end + 1)
    founded = orgs["founded"].to_numpy(dtype=float)
    # an organization never added to density (founding unknown, none imputed) is no exit either
    ended = np.where(np.isfinite(founded), orgs["ended"].to_numpy(dtype=float), np.nan)
    # organizations censored by the vanished rule leave the risk set (spells), not the population count
    pop = pd.DataFrame({YEAR: years})
    pop[DENSITY] = density_series(founded, ended, years)
    pop[FOUNDINGS] = _year_counts(founded, years)
    pop["exits"] = _year_counts(ended, years)
    kinds = orgs["end_kind"].astype(str).to_numpy()
    pop["exits_death"] = _year_counts(ended[kinds == DEATH], years)
    comp = np.char.startswith(kinds.astype(str), COMPETING_PREFIX)
    pop["exits_competing"] = _year_counts(ended[comp], years)
    for kind in sorted(set(kinds[comp])):
        label = kind[len(COMPETING_PREFIX) :]
        pop[f"exits_{label}"] = _year_counts(ended[kinds == kind], years)
    pop["density_end"] = density_series(founded, ended, years + 1)
    pop[DENSITY_SQ] = pop[DENSITY].astype(float) ** 2
    pop[MASS] = np.nan
    if panel is not None and not panel.empty and SIZE in panel:
        pos = pd.Index(orgs[ORG_ID]).get_indexer(panel[ORG_ID])
        known = pos >= 0
        t = panel[YEAR].to_numpy(dtype=float)[known]
        f, e = founded[pos[known]], ended[pos[known]]
        size = panel[SIZE].to_numpy(dtype=float)[known]
        yi = t.astype(np.int64) - start
        use = (f < t) & ~(e < t) & ~np.isnan(size) & (yi >= 0) & (yi < len(years))
        total = np.bincount(yi[use], weights=size[use], minlength=len(years))
        count = np.bincount(yi[use], minlength=len(years))
        pop[MASS] = np.where(count > 0, total, np.nan)
    if environment is not None and not environment.empty:
        pop = pop.merge(environment, on=YEAR, how="left")
    return pop


def population_groups(
    orgs: pd.DataFrame,
    *,
    window: tuple[int, int],
    group_columns: list[str],
    panel: pd.DataFrame | None = None,
    environment: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`population_series` per subpopulation, long format (``group_var``, ``group``, …)."""
    frames = []
    panel_org = pd.Index(orgs[ORG_ID]).get_indexer(panel[ORG_ID]) if panel is not None else None
    for var in group_columns:
        codes, labels = pd.factorize(orgs[var], sort=True)
        for k, value in enumerate(labels):
            sub = orgs[codes == k]
            sub_panel = None
            if panel is not None:
                sub_panel = panel[(panel_org >= 0) & (codes[np.maximum(panel_org, 0)] == k)]
            pop = population_series(sub, window=window, panel=sub_panel, environment=environment)
            pop.insert(0, "group", str(value))
            pop.insert(0, "group_var", var)
            frames.append(pop)
    if not frames:
        return pd.DataFrame(columns=["group_var", "group", YEAR, DENSITY, FOUNDINGS, "exits"])
    out = pd.concat(frames, ignore_index=True)
    exit_cols = [c for c in out.columns if c.startswith("exits")]
    out[exit_cols] = out[exit_cols].fillna(0).astype(np.int64)
    return out


def build_spells(
    orgs: pd.DataFrame,
    population: pd.DataFrame,
    *,
    window: tuple[int, int],
    panel: pd.DataFrame | None = None,
    environment: pd.DataFrame | None = None,
    group_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Counting-process spells: one row per organization × calendar year at risk inside the window.

    Ages (``start``, ``stop``] are the clock; ``event`` = 1 on the last spell of an organization that dies
    (end kind ``death``) inside the window; ``exit_kind`` carries the end kind on the last spell
    (``censored`` at the window end), ``""`` before it; ``entry`` marks the first spell of a left-truncated
    organization. Time-varying covariates are those of the spell's calendar year (updated every
    1 January): density, density², mass, size and funding share from the panel, environment.
    """
    start, end = window
    group_columns = group_columns or []
    use = orgs[orgs["in_spells"]].reset_index(drop=True)
    founded = use["founded"].to_numpy(dtype=float)
    ended = use["ended"].to_numpy(dtype=float)
    close = float(end + 1)
    entry_t = np.maximum(founded, float(start))
    exit_t = np.fmin(np.where(np.isnan(ended), close, ended), close)
    if "censor_time" in use:
        ct = use["censor_time"].to_numpy(dtype=float)
        exit_t = np.fmin(exit_t, np.where(np.isnan(ct), np.inf, ct))
    first_year = np.floor(entry_t).astype(np.int64)
    n_years = (np.ceil(exit_t) - first_year).astype(np.int64)
    n_years = np.maximum(n_years, 1)
    idx = np.repeat(np.arange(len(use)), n_years)
    offsets = np.arange(len(idx)) - np.repeat(np.cumsum(n_years) - n_years, n_years)
    year = first_year[idx] + offsets
    t_start = np.maximum(entry_t[idx], year.astype(float))
    t_stop = np.minimum(exit_t[idx], year + 1.0)
    last = offsets == (n_years[idx] - 1)
    kind = use["end_kind_window"].to_numpy(dtype=object)
    exit_kind = np.where(last, kind[idx], "")
    event = (last & (kind[idx] == DEATH)).astype(np.int8)
    spells = pd.DataFrame(
        {
            ORG_ID: use[ORG_ID].to_numpy()[idx],
            YEAR: year.astype(np.int32),
            "start": t_start - founded[idx],
            "stop": t_stop - founded[idx],
            "t_start": t_start,
            "t_stop": t_stop,
            "event": event,
            "exit_kind": pd.Categorical(exit_kind),
            "entry": (offsets == 0) & use["left_truncated"].to_numpy()[idx],
        }
    )
    pop = population.set_index(YEAR)
    yi = year - start
    spells[DENSITY] = pop[DENSITY].to_numpy(dtype=float)[yi]
    spells[DENSITY_SQ] = spells[DENSITY] ** 2
    spells[DENSITY_AT_FOUNDING] = use[DENSITY_AT_FOUNDING].to_numpy(dtype=float)[idx]
    if TRUNCATED_DENSITY in use:
        spells[TRUNCATED_DENSITY] = use[TRUNCATED_DENSITY].to_numpy(dtype=bool)[idx]
    spells[MASS] = pop[MASS].to_numpy(dtype=float)[yi] if MASS in pop else np.nan
    org_codes = pd.Index(use[ORG_ID])
    measures = [
        c for c in (panel.columns if panel is not None else []) if c not in (ORG_ID, YEAR, "source_row")
    ]
    hit, rows = _panel_index(panel, org_codes, idx, year)
    for col in measures:
        spells[col] = _gather(panel, col, hit, rows)
    if SIZE in spells:
        with np.errstate(divide="ignore", invalid="ignore"):
            spells[LOG_SIZE] = np.where(spells[SIZE] > 0, np.log(spells[SIZE]), np.nan)
    else:
        spells[SIZE] = np.nan
        spells[LOG_SIZE] = np.nan
    if FUNDING_SHARE not in spells:
        spells[FUNDING_SHARE] = np.nan
    if environment is not None and not environment.empty:
        env = environment.set_index(YEAR).reindex(np.arange(start, end + 1))
        for col in env.columns:
            values = env[col].to_numpy()
            spells[col] = values[yi]
    for col in group_columns:
        spells[col] = pd.Categorical(use[col].astype("string").to_numpy()[idx])
    spells["cohort"] = pd.Categorical(use["cohort"].astype("string").to_numpy()[idx])
    return spells


def build_org_years(
    orgs: pd.DataFrame,
    panel: pd.DataFrame | None,
    population: pd.DataFrame,
    *,
    window: tuple[int, int],
    environment: pd.DataFrame | None = None,
    group_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Organization-years of the panel inside the window, with age, log size, growth and density.

    ``growth`` = log S_{t+1} − log S_t, only when year t+1 is observed (gaps break growth) and both sizes
    are positive. The panel holds survivors only: growth is observed only for surviving organizations.
    """
    start, end = window
    group_columns = group_columns or []
    cols = [ORG_ID, YEAR, "age", SIZE, LOG_SIZE, "growth", FUNDING_SHARE, DENSITY, DENSITY_SQ]
    if panel is None or panel.empty:
        return pd.DataFrame(columns=cols)
    oy = panel[(panel[YEAR] >= start) & (panel[YEAR] <= end)].drop(columns=["source_row"], errors="ignore")
    pos = pd.Index(orgs[ORG_ID]).get_indexer(oy[ORG_ID])
    oy = oy[pos >= 0]
    pos = pos[pos >= 0]
    # organizations are sorted by org_id, so (position, year) orders rows by organization and year
    order = np.lexsort((oy[YEAR].to_numpy(), pos))
    oy = oy.iloc[order].reset_index(drop=True)
    pos = pos[order]
    for col in ["founded", "founded_year", "in_spells", *group_columns]:
        oy[col] = orgs[col].to_numpy()[pos]
    oy["age"] = (oy[YEAR] - oy["founded_year"]).clip(lower=0).astype(float)
    if SIZE not in oy:
        oy[SIZE] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        oy[LOG_SIZE] = np.where(oy[SIZE] > 0, np.log(oy[SIZE]), np.nan)
    yr = oy[YEAR].to_numpy().astype(np.int64)
    log_size = oy[LOG_SIZE].to_numpy(dtype=float)
    nxt_same = np.zeros(len(oy), dtype=bool)
    nxt_same[:-1] = (pos[1:] == pos[:-1]) & (yr[1:] == yr[:-1] + 1)
    growth = np.full(len(oy), np.nan)
    growth[:-1] = log_size[1:] - log_size[:-1]
    oy["growth"] = np.where(nxt_same, growth, np.nan)
    if FUNDING_SHARE not in oy:
        oy[FUNDING_SHARE] = np.nan
    pop = population.set_index(YEAR)
    oy[DENSITY] = oy[YEAR].map(pop[DENSITY]).astype(float)
    oy[DENSITY_SQ] = oy[DENSITY] ** 2
    if environment is not None and not environment.empty:
        oy = oy.merge(environment, on=YEAR, how="left")
    return oy.drop(columns=["founded"])


def unknown_founding_note(orgs: pd.DataFrame) -> dict[str, object]:
    """What the histories say about organizations without a founding date (for the metadata, the log
    and the report's data notes).

    Those with panel rows have a founding imputed from their first panel year (counted in the population
    series, kept out of spells); those without are left out of density, foundings and exits (also when
    they have a recorded end) and of the age-dependent models. ``statement`` only when there are any.
    """
    precision = orgs["founded_precision"].astype(str) if "founded_precision" in orgs else None
    missing = orgs["founded"].isna().to_numpy()
    imputed = int((precision == "imputed").sum()) if precision is not None else 0
    ids = sorted(orgs.loc[missing, ORG_ID].astype(str).tolist())
    with_end = int((missing & orgs["ended"].notna().to_numpy()).sum())
    note: dict[str, object] = {
        "organizations": len(ids),
        "with_end": with_end,
        "imputed": imputed,
        "org_ids": ids[:50],
    }
    if ids:
        note["statement"] = (
            f"{len(ids)} organizations have no founding date and no panel rows to impute one from: they are "
            "left out of density, foundings and exits (the population series) and of the age-dependent "
            f"models; {with_end} of them have a recorded end, which is not counted as an exit"
            + (
                f". {imputed} other organizations without a founding date have one imputed from their first "
                "panel year (counted in the population series, kept out of the age-dependent models)."
                if imputed
                else "."
            )
        )
    return note


def truncated_density_note(orgs: pd.DataFrame, *, window_start: int, rule: str) -> dict[str, object]:
    """What the histories say about left-truncated density at founding (for the metadata and the log)."""
    flagged = orgs[TRUNCATED_DENSITY].to_numpy(dtype=bool) if TRUNCATED_DENSITY in orgs else np.zeros(0, bool)
    ended = orgs["ended"].to_numpy(dtype=float)
    early_exits = int(np.sum(np.isfinite(ended) & (ended < window_start)))
    return {
        "rule": rule,
        "organizations": int(flagged.sum()),
        "in_spells": int((flagged & orgs["in_spells"].to_numpy(dtype=bool)).sum()) if len(flagged) else 0,
        "window_start": int(window_start),
        "register_exits_before_window": early_exits,
        "statement": (
            f"{int(flagged.sum())} organizations were founded before {window_start}; their density at founding "
            "is counted from the register before the window"
            + (
                ", which lists no organization that ended before the window, so it is likely too low"
                if early_exits == 0
                else f" (which lists {early_exits} organizations that ended before the window)"
            )
            + (
                "; these values enter the models (flag density_at_founding_truncated)."
                if rule == "keep"
                else "; they are set missing, so models with density at founding leave these organizations out."
            )
        ),
    }
