"""Seeded simulator of a population of street-level social-work service organizations (the bundled
``default`` dataset), with every true parameter known exactly.

The simulated population follows the motivating case of the domain guide: a platform of social-work
stations and the social organizations that run them rises slowly, booms after a policy push (government
purchase of services), then hits a bottleneck — foundings slow, organizations come to depend on
government money, growth stalls. The data-generating process is exactly the set of models the pipeline
fits, so recovery tests can check that the truth lies inside the confidence intervals:

1. **Founding** (population level). F_t ~ NB2(λ_t, α), Var = λ + αλ², with
   log λ_t = b0 + b1·x_t + b2·x_t² + c_boom·boom_t + c_bneck·bottleneck_t, where x_t = N_t / s is the
   density on 1 January of year t divided by the density scale s. Foundings fall on a day drawn
   uniformly within the year.
2. **Mortality** (cause-specific hazards, clock = age). Death (dissolution or deregistration) has a
   piecewise-constant baseline in age (pieces 0–1, 1–2, 2–5, 5–10, 10+ years) times
   exp(g1·x_t + g2·x_t² + g3·xf + g4·log S_t + g5·share_t) with xf the density at founding / s; the
   competing exit *merged* has a constant hazard m0·exp(m_share·share_t). Covariates are constant within a
   calendar year (they update every 1 January); exact event times are drawn segment by segment
   (exponential waiting times between age-piece boundaries and the year end).
3. **Growth** (Gibrat). log S_{t+1} − log S_t = a + (β−1)·log S_t + d1·x_t + d2·x_t² + γ·share_t + u_i + τ_t
   + ε, with u_i ~ N(0, σ_u), τ_t ~ N(0, σ_τ), ε ~ N(0, σ_ε), for organizations alive on 1 January of t+1.
4. **Funding share** (government purchase-of-service share of revenue) starts from a period-specific Beta
   distribution and drifts upward on the logit scale, fastest during the boom (growing dependence).

The process runs from ``history_start`` (default 1970, long before the 1990 window start) so that the
organizations alive in 1990 have a natural age distribution: left truncation (delayed entry) matters.

Published values are the state: staff (full-time equivalents) are rounded to 2 decimals and the funding
share to 3 decimals *before* they enter the hazards and the next growth step, so the data the pipeline reads
obey the true model exactly (the rounding of staff is part of ε). Dates are day-precision truth; the raw
files coarsen some of them (see :mod:`pipeline.simulate.mess`).

Decimal years follow the project convention t = year + (day_of_year − 1)/days_in_year. An organization is
at risk from the end of its founding day (it cannot end on the day it was founded); an event is recorded
on the day it happens.

Run ``python -m pipeline.simulate --out data/raw/default --seed 20261126`` to regenerate the bundled files
byte-identically. Full documentation: ``docs/simulator.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.simulate.config import (
    DEATH_REASONS,
    DEFAULT_SEED,
    MAX_FOUNDINGS_PER_YEAR,
    MERGED,
    POLICY_BOOM,
    POLICY_BOTTLENECK,
    POLICY_PRE,
    SimConfig,
)
from pipeline.simulate.naming import _names
from pipeline.simulate.truth import truth_dict

#: Re-exported: the simulator's public names live here for the callers (files, mess, tests).
__all__ = ["DEFAULT_SEED", "SimConfig", "SimulatedPopulation", "simulate_population", "truth_dict"]


@dataclass(frozen=True)
class SimulatedPopulation:
    """Clean simulated data (before any mess) and its truth.

    Attributes
    ----------
    organizations : pd.DataFrame
        One row per organization ever founded (``history_start`` to ``end``), sorted by ``org_id``:
        ``org_id, name, founded, ended`` (ISO day dates, ``ended`` empty if alive at the window end),
        ``end_reason`` (dissolved / deregistered / merged / ''), ``end_kind`` (death / competing:merged /
        censored), ``district, type``, ``founded_dec, ended_dec`` (decimal years), ``founded_year,
        ended_year``, ``density_at_founding``. Organizations that ended before ``start`` are included.
    panel : pd.DataFrame
        One row per organization × year in the window in which it was at risk (alive on 1 January or
        founded during the year): ``org_id, year, staff, gov_share, revenue``, the values that entered
        the hazards of that year.
    environment : pd.DataFrame
        ``year, procurement_budget, policy_period`` for the window years.
    yearly : pd.DataFrame
        True series for every year from ``history_start``: ``year, density, foundings, deaths, merges,
        exits, density_end, expected_foundings, policy_period``.
    truth : dict
        Every true parameter (see :func:`truth_dict`) and the window's yearly series.
    config : SimConfig
    seed : int
    """

    organizations: pd.DataFrame
    panel: pd.DataFrame
    environment: pd.DataFrame
    yearly: pd.DataFrame
    truth: dict[str, Any]
    config: SimConfig
    seed: int


# ---------------------------------------------------------------------------------------------------
# helpers


def _days_in_year(years: np.ndarray) -> np.ndarray:
    years = np.asarray(years, dtype=np.int64)
    leap = ((years % 4 == 0) & (years % 100 != 0)) | (years % 400 == 0)
    return np.where(leap, 366, 365)


def _year_start_day(years: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of 1 January of each year."""
    return (
        (np.asarray(years, dtype=np.int64) - 1970)
        .astype("datetime64[Y]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _round_share(share: np.ndarray) -> np.ndarray:
    return np.clip(np.round(share, 3), 0.001, 0.999)


def _round_staff(staff: np.ndarray) -> np.ndarray:
    return np.maximum(np.round(staff, 2), 0.01)


def _iso_dates(days: np.ndarray) -> np.ndarray:
    """ISO date strings (``YYYY-MM-DD``) from days since 1970-01-01; ``''`` for missing (< 0 sentinel)."""
    days = np.asarray(days, dtype=np.int64)
    out = np.full(days.shape, "", dtype=object)
    ok = days != _NO_DAY
    out[ok] = np.datetime_as_string(days[ok].astype("datetime64[D]"), unit="D").astype(object)
    return out


_NO_DAY = np.iinfo(np.int64).min


def _simulate_events(
    a_lo: np.ndarray,
    a_hi: np.ndarray,
    eta: np.ndarray,
    merge: np.ndarray,
    cfg: SimConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact first-event ages on the age interval [a_lo, a_hi) under piecewise-constant hazards.

    The death hazard is base_hazard[k]·exp(eta) on age piece k, the merger hazard ``merge`` is constant.
    A unit exponential is spent segment by segment (age pieces cut at the year's bounds); the cause is
    death with probability h_death / (h_death + h_merge) in the segment where the event falls.

    Returns the event age (NaN if none) and the cause (0 none, 1 death, 2 merged).
    """
    n = len(a_lo)
    remaining = rng.exponential(1.0, n)
    u_cause = rng.random(n)
    event_age = np.full(n, np.nan)
    cause = np.zeros(n, dtype=np.int8)
    done = np.zeros(n, dtype=bool)
    bounds = (0.0, *cfg.age_breaks, np.inf)
    rel = np.exp(eta)
    for k in range(len(cfg.base_hazard)):
        lo = np.maximum(a_lo, bounds[k])
        hi = np.minimum(a_hi, bounds[k + 1])
        length = np.maximum(hi - lo, 0.0)
        h_death = cfg.base_hazard[k] * rel
        rate = h_death + merge
        cum = rate * length
        hit = ~done & (length > 0) & (remaining < cum)
        event_age[hit] = lo[hit] + remaining[hit] / rate[hit]
        cause[hit] = np.where(u_cause[hit] < h_death[hit] / rate[hit], 1, 2)
        remaining = np.where(~done & ~hit, remaining - cum, remaining)
        done |= hit
    return event_age, cause


def simulate_population(config: SimConfig | None = None, seed: int = DEFAULT_SEED) -> SimulatedPopulation:
    """Simulate the organizational population year by year, vectorized across organizations.

    Each year t from ``history_start`` to ``end``: (1) density N_t is counted on 1 January; (2) the
    founding count F_t is drawn from NB2 with the true λ_t (a gamma–Poisson mixture) and foundings get a
    uniform day, a district, a type, a lognormal staff size and a Beta funding share; (3) every
    organization at risk in year t gets an exact exit time from its cause-specific hazards with that
    year's covariates; (4) survivors grow by the Gibrat equation and their funding share drifts.

    Parameters
    ----------
    config : SimConfig, optional
        True parameters (defaults: the bundled ``default`` dataset).
    seed : int
        Seed of the numpy Generator; independent streams for founding, attributes, mortality, growth and
        environment are spawned from it, so the same seed gives identical data.

    Returns
    -------
    SimulatedPopulation

    Examples
    --------
    >>> pop = simulate_population(SimConfig(), seed=1)
    >>> int(pop.yearly["density"].iloc[0])
    0
    """
    cfg = config or SimConfig()
    ss = np.random.SeedSequence(seed)
    rng_found, rng_attr, rng_mort, rng_grow, rng_env = (np.random.default_rng(s) for s in ss.spawn(5))
    s = cfg.density_scale

    years = np.arange(cfg.history_start, cfg.end + 1)
    # per-organization static columns (appended per cohort)
    f_day: list[np.ndarray] = []
    f_dec: list[np.ndarray] = []
    xf_all: list[np.ndarray] = []
    end_day_all: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # alive state (indices into the global org numbering)
    alive_idx = np.zeros(0, dtype=np.int64)
    alive_logs = np.zeros(0)
    alive_share = np.zeros(0)
    alive_u = np.zeros(0)
    alive_fdec = np.zeros(0)
    alive_xf = np.zeros(0)
    n_total = 0
    yearly_rows = []
    panel_parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
    tau = rng_grow.normal(0.0, cfg.sigma_tau, len(years))

    for yi, t in enumerate(years):
        t = int(t)
        period = int(cfg.period_of(np.array([t]))[0])
        n_t = len(alive_idx)
        x_t = n_t / s
        lam = float(cfg.founding_rate(n_t, t))
        mix = rng_found.gamma(1.0 / cfg.alpha, cfg.alpha) if cfg.alpha > 0 else 1.0
        if not np.isfinite(lam * mix) or lam * mix > MAX_FOUNDINGS_PER_YEAR:
            raise ValueError(
                f"founding rate exploded in {t} (λ = {lam:.3g} at N = {n_t}): the founding parameters "
                f"(b0={cfg.b0}, b1={cfg.b1}, b2={cfg.b2}) give no competition ceiling; use b2 < 0"
            )
        n_new = int(rng_found.poisson(lam * mix))
        diy = int(_days_in_year(np.array([t]))[0])
        y0 = int(_year_start_day(np.array([t]))[0])
        doy0 = np.sort(rng_found.integers(0, diy, n_new))  # 0-based day of year
        new_idx = np.arange(n_total, n_total + n_new, dtype=np.int64)
        n_total += n_new
        f_day.append(y0 + doy0)
        f_dec.append(t + doy0 / diy)
        xf_all.append(np.full(n_new, n_t, dtype=np.int64))
        a0, b0_ = cfg.share0_beta[period]
        new_share = _round_share(rng_attr.beta(a0, b0_, n_new))
        new_logs = np.log(_round_staff(rng_attr.lognormal(cfg.size0_meanlog, cfg.size0_sdlog, n_new)))
        new_u = rng_grow.normal(0.0, cfg.sigma_u, n_new)

        # organizations at risk this year: alive on 1 January, then this year's foundings
        idx = np.concatenate([alive_idx, new_idx])
        logs = np.concatenate([alive_logs, new_logs])
        share = np.concatenate([alive_share, new_share])
        u = np.concatenate([alive_u, new_u])
        fdec = np.concatenate([alive_fdec, f_dec[-1]])
        xf = np.concatenate([alive_xf, np.full(n_new, x_t)])
        # risk starts on 1 January, or at the end of the founding day for this year's foundings
        t_lo = np.concatenate([np.full(n_t, float(t)), t + (doy0 + 1) / diy])
        a_lo = t_lo - fdec
        a_hi = (t + 1.0) - fdec
        eta = (
            cfg.g_density * x_t
            + cfg.g_density_sq * x_t**2
            + cfg.g_density_founding * xf
            + cfg.g_log_size * logs
            + cfg.g_share * share
        )
        merge = cfg.merge_rate * np.exp(cfg.merge_share * share)
        ev_age, cause = _simulate_events(a_lo, a_hi, eta, merge, cfg, rng_mort)
        has = cause > 0
        # the event day: the day containing the event time (never the founding day)
        frac_day = np.floor((fdec[has] + ev_age[has] - t) * diy + 1e-9).astype(np.int64)
        min_day = np.where(
            idx[has] >= n_total - n_new, np.round((fdec[has] - t) * diy).astype(np.int64) + 1, 0
        )
        # an exit during 1 January is recorded on 2 January: at t.0 exactly it would close the previous
        # year's (start, stop] spell and get last year's covariates (shift < 1 day, ~1 exit in 365)
        frac_day = np.clip(np.maximum(frac_day, np.maximum(min_day, 1)), 0, diy - 1)
        ev_day = np.full(len(idx), _NO_DAY, dtype=np.int64)
        ev_day[has] = y0 + frac_day
        end_day_all.append((idx[has], ev_day[has], cause[has]))
        staff = np.exp(logs)
        if t >= cfg.start:
            panel_parts.append((idx, t, staff, share))
        deaths = int((cause == 1).sum())
        merges = int((cause == 2).sum())
        yearly_rows.append(
            {
                "year": t,
                "density": n_t,
                "foundings": n_new,
                "deaths": deaths,
                "merges": merges,
                "exits": deaths + merges,
                "density_end": n_t + n_new - deaths - merges,
                "expected_foundings": lam,
                "policy_period": (POLICY_PRE, POLICY_BOOM, POLICY_BOTTLENECK)[period],
            }
        )
        # survivors grow into next year (Gibrat) and their funding share drifts
        surv = ~has
        next_period = int(cfg.period_of(np.array([t + 1]))[0]) if t < cfg.end else period
        growth = (
            cfg.growth_a
            + cfg.growth_log_size * logs[surv]
            + cfg.growth_density * x_t
            + cfg.growth_density_sq * x_t**2
            + cfg.growth_share * share[surv]
            + u[surv]
            + tau[yi]
            + rng_grow.normal(0.0, cfg.sigma_eps, int(surv.sum()))
        )
        alive_logs = np.log(_round_staff(np.exp(logs[surv] + growth)))
        z = (
            _logit(share[surv])
            + cfg.share_drift[next_period]
            + rng_grow.normal(0.0, cfg.share_sd, int(surv.sum()))
        )
        alive_share = _round_share(_expit(z))
        alive_idx = idx[surv]
        alive_u = u[surv]
        alive_fdec = fdec[surv]
        alive_xf = xf[surv]

    # ---- assemble the organizations table
    founded_day = np.concatenate(f_day)
    founded_dec = np.concatenate(f_dec)
    xf_raw = np.concatenate(xf_all)
    end_day = np.full(n_total, _NO_DAY, dtype=np.int64)
    cause = np.zeros(n_total, dtype=np.int8)
    for ids, days, cs in end_day_all:
        end_day[ids] = days
        cause[ids] = cs
    ended_dec = np.full(n_total, np.nan)
    has_end = cause > 0
    end_dt = end_day[has_end].astype("datetime64[D]")
    end_year = end_dt.astype("datetime64[Y]").astype(np.int64) + 1970
    ended_dec[has_end] = end_year + (end_day[has_end] - _year_start_day(end_year)) / _days_in_year(end_year)
    founded_year = np.floor(founded_dec).astype(np.int64)
    district = np.asarray(cfg.districts, dtype=object)[
        rng_attr.choice(len(cfg.districts), n_total, p=cfg.district_probs)
    ]
    type_ = np.asarray(cfg.types, dtype=object)[rng_attr.choice(len(cfg.types), n_total, p=cfg.type_probs)]
    names = _names(district, type_, rng_attr)
    reason = np.full(n_total, "", dtype=object)
    is_death = cause == 1
    reason[is_death] = np.where(
        rng_attr.random(int(is_death.sum())) < cfg.death_reason_probs[0], *DEATH_REASONS
    )
    reason[cause == 2] = MERGED
    kind = np.full(n_total, "censored", dtype=object)
    kind[is_death] = "death"
    kind[cause == 2] = "competing:merged"
    width = max(5, len(str(n_total)))
    org_id = np.array([f"sw{i:0{width}d}" for i in range(1, n_total + 1)], dtype=object)
    ended_year = pd.array(
        np.where(has_end, np.floor(np.nan_to_num(ended_dec)).astype(np.int64), 0), dtype="Int64"
    )
    ended_year[~has_end] = pd.NA
    orgs = pd.DataFrame(
        {
            "org_id": org_id,
            "name": names,
            "founded": _iso_dates(founded_day),
            "ended": _iso_dates(end_day),
            "end_reason": reason,
            "end_kind": kind,
            "district": district,
            "type": type_,
            "founded_dec": founded_dec,
            "ended_dec": ended_dec,
            "founded_year": founded_year,
            "ended_year": ended_year,
            "density_at_founding": xf_raw,
        }
    )

    # ---- panel (window years only)
    if panel_parts:
        p_idx = np.concatenate([p[0] for p in panel_parts])
        p_year = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int64) for p in panel_parts])
        p_staff = np.concatenate([p[2] for p in panel_parts])
        p_share = np.concatenate([p[3] for p in panel_parts])
    else:
        p_idx = np.zeros(0, dtype=np.int64)
        p_year = np.zeros(0, dtype=np.int64)
        p_staff = np.zeros(0)
        p_share = np.zeros(0)
    revenue = np.round(
        p_staff * cfg.revenue_per_staff * rng_env.lognormal(0.0, cfg.revenue_sdlog, len(p_idx)), 1
    )
    order = np.lexsort((p_year, p_idx))
    panel = pd.DataFrame(
        {
            "org_id": org_id[p_idx[order]],
            "year": p_year[order],
            "staff": np.round(p_staff[order], 2),
            "gov_share": np.round(p_share[order], 3),
            "revenue": revenue[order],
        }
    )

    yearly = pd.DataFrame(yearly_rows)
    env = _environment(cfg, rng_env)
    truth = truth_dict(cfg, seed, yearly, orgs)
    return SimulatedPopulation(
        organizations=orgs.reset_index(drop=True),
        panel=panel.reset_index(drop=True),
        environment=env,
        yearly=yearly,
        truth=truth,
        config=cfg,
        seed=seed,
    )


def _environment(cfg: SimConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Yearly environment of the window: government procurement budget (million yuan) and policy period.

    The budget grows slowly before the boom, by ~30% a year during it and stalls in the bottleneck; it
    has no effect of its own in any true model (its true coefficient is 0 given the period dummies).
    """
    years = np.arange(cfg.start, cfg.end + 1)
    period = cfg.period_of(years)
    growth = np.select(
        [period == 0, period == 1], [cfg.budget_pre_growth, cfg.budget_boom_growth], cfg.budget_bneck_growth
    )
    log_budget = (
        np.log(cfg.budget_base)
        + np.cumsum(np.r_[0.0, growth[1:]])
        + rng.normal(0.0, cfg.budget_sdlog, len(years))
    )
    labels = np.array([POLICY_PRE, POLICY_BOOM, POLICY_BOTTLENECK], dtype=object)
    return pd.DataFrame(
        {
            "year": years,
            "procurement_budget": np.round(np.exp(log_budget), 1),
            "policy_period": labels[period],
        }
    )
