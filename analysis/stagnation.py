"""Organization-level bottleneck: a discrete-time hazard of entering stagnation, with dissolution competing.

Event definition (declared, params ``k`` and ``threshold``): an organization *starts stagnating* in year t
if its growth (log S_{t+1} − log S_t) is below ``threshold`` in each of the k consecutive calendar years
t, t+1, …, t+k−1. A missing year (panel gap, missing growth) breaks a run.

Risk set (one row per organization-year, in calendar order, from the first panel year):

* an organization is at risk until the first year a stagnation run starts (that row has event
  ``stagnation``; later rows leave the risk set);
* dissolution (end kind ``death``) is a competing event: the row of the death year (or the last panel
  row, if the organization dies in the year after its last panel year) has event ``dissolution`` and ends
  the risk set. Because a run needs k more years of life, an organization that dies within the look-ahead
  window cannot start stagnating there — those rows stay at risk with no event;
* organizations that do not die are right-censored at the last year where a full k-year look-ahead
  exists (t + k ≤ last panel year): later rows cannot show whether a run starts there;
* organizations that end otherwise (``competing:*`` kinds, censored) are treated as censored.

Cause-specific hazards are fitted as binomial GLMs with the complementary log-log link (statsmodels) on
that risk set: one for stagnation starts, one for dissolution, standard errors clustered by organization
(statsmodels' default small-sample correction G/(G−1)·(n−1)/(n−K)). The event table is returned as well so
that cumulative incidence functions (Aalen–Johansen in discrete time) can be computed elsewhere.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.formula import TermContext, build_design
from analysis.inference.design import collinear_terms
from analysis.inference.fitstats import fit_statistics
from analysis.registry import ModelKind
from analysis.results import ModelResult, Term
from analysis.scaling import scaled_density
from pipeline.core import columns as C

MODEL_KINDS = (
    ModelKind(
        name="event_hazard",
        section="Stagnation and dissolution",
        figures=("cif",),
        area="bottleneck",
        presentation="regression",
        caption="Cause-specific hazards of stagnation and dissolution (discrete time, cloglog)",
        table="bottleneck_stagnation",
        order=40,
        capabilities=frozenset({"cluster", "competing_risks"}),
        columns="event",
        sort=lambda r: (str((r.get("specification") or {}).get("event")) != "stagnation", r["model"]),
        options={"note_from_specification": ("event_definition", "Stagnation: {}.")},
        description="discrete-time cause-specific hazard of stagnation / dissolution, cloglog, clustered SEs",
    ),
)

STAGE = "fit_bottleneck"
NONE, STAGNATION, DISSOLUTION = "none", "stagnation", "dissolution"


@dataclass
class StagnationFit:
    """The two cause-specific hazard models and the event table they were fitted on."""

    stagnation: ModelResult
    dissolution: ModelResult
    events: pd.DataFrame


def stagnation_risk_set(
    org_years: pd.DataFrame,
    organizations: pd.DataFrame,
    *,
    k: int = 3,
    threshold: float = 0.0,
    growth_col: str = "growth",
) -> pd.DataFrame:
    """Discrete-time competing-risks event table for stagnation starts and dissolution.

    Returns
    -------
    DataFrame
        The org_years rows in the risk set with ``low`` (growth below threshold), ``event`` (``"none"``,
        ``"stagnation"``, ``"dissolution"``), ``y_stagnation``, ``y_dissolution`` (0/1) and ``time`` (the
        organization's n-th year at risk, 1-based), sorted by organization and year.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    oy = org_years.sort_values([C.ORG_ID, C.YEAR]).reset_index(drop=True)
    ends = organizations.set_index(C.ORG_ID)
    death_year: dict[Any, int] = {}
    if C.END_KIND in ends and "ended_year" in ends:
        dead = ends[(ends[C.END_KIND] == C.DEATH) & ends["ended_year"].notna()]
        death_year = {o: int(y) for o, y in dead["ended_year"].items()}
    pieces = []
    for org, grp in oy.groupby(C.ORG_ID, sort=False):
        years = grp[C.YEAR].to_numpy(int)
        growth = grp[growth_col].to_numpy(float)
        low_by_year = {
            int(y): bool(g < threshold) for y, g in zip(years, growth, strict=True) if np.isfinite(g)
        }
        last = int(years.max())
        dy = death_year.get(org)
        dies = dy is not None and dy <= last + 1
        event = np.array([NONE] * len(years), dtype=object)
        keep = np.zeros(len(years), dtype=bool)
        for i, y in enumerate(years):
            if dies and y > dy:
                break
            run = all(low_by_year.get(int(y) + j, False) for j in range(k))
            if run:
                event[i], keep[i] = STAGNATION, True
                break
            if dies:
                if y == dy or (dy == last + 1 and y == last):
                    event[i] = DISSOLUTION
                    keep[i] = True
                    break
                keep[i] = True
            else:
                if y + k > last:
                    break  # no full look-ahead: censored
                keep[i] = True
        sub = grp.loc[keep].copy()
        sub["low"] = [low_by_year.get(int(y), False) for y in sub[C.YEAR]]
        sub["event"] = event[keep]
        pieces.append(sub)
    out = pd.concat(pieces, ignore_index=True) if pieces else oy.iloc[0:0].assign(low=[], event=[])
    out["y_stagnation"] = (out["event"] == STAGNATION).astype(int)
    out["y_dissolution"] = (out["event"] == DISSOLUTION).astype(int)
    out["time"] = out.groupby(C.ORG_ID).cumcount() + 1
    return out


def _fit_cloglog(
    events: pd.DataFrame,
    y_col: str,
    regressors: list[str],
    model: str,
    dataset: str,
    spec: dict[str, Any],
    notes: list[str],
) -> ModelResult:
    meta: dict[str, Any] = {
        "dataset": dataset,
        "stage": STAGE,
        "model": model,
        "family": "binomial",
        "kind": "event_hazard",
        "method": "discrete-time cause-specific hazard, cloglog GLM (IRLS), clustered by organization",
        "specification": {**spec, "event": y_col.removeprefix("y_")},
    }
    df = events.dropna(subset=regressors)
    dropped = len(events) - len(df)
    sample = {
        "unit": "organization-year at risk",
        "n": int(len(df)),
        "n_groups": int(df[C.ORG_ID].nunique()),
        "events": int(df[y_col].sum()),
        "dropped_missing_covariates": int(dropped),
        "window": [int(df[C.YEAR].min()), int(df[C.YEAR].max())] if len(df) else None,
    }
    notes = list(notes)
    if len(df) == 0:
        return ModelResult.failed(reason="empty risk set", sample=sample, notes=notes, **meta)
    n_ev = int(df[y_col].sum())
    if n_ev == 0:
        return ModelResult.failed(
            reason=f"no {y_col.removeprefix('y_')} events in the risk set", sample=sample, notes=notes, **meta
        )
    if n_ev == len(df):
        return ModelResult.failed(
            reason="every row is an event: hazard not estimable", sample=sample, notes=notes, **meta
        )
    x = sm.add_constant(df[regressors].astype(float), has_constant="add")
    aliased = collinear_terms(x)
    if aliased:
        named = "; ".join(f"{a} ({' + '.join(b) or 'all zero'})" for a, b in aliased.items())
        return ModelResult.failed(
            reason=f"collinear covariates in the risk set: {named}", sample=sample, notes=notes, **meta
        )
    groups = pd.factorize(df[C.ORG_ID])[0]
    link = sm.families.links.CLogLog()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.GLM(df[y_col].astype(float), x, family=sm.families.Binomial(link=link)).fit(
                method="IRLS", maxiter=200, tol=1e-10, cov_type="cluster", cov_kwds={"groups": groups}
            )
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return ModelResult.failed(reason=f"fit failed: {exc}", sample=sample, notes=notes, **meta)
    converged = bool(fit.converged) and bool(np.all(np.isfinite(fit.bse)))
    if not converged:
        return ModelResult.failed(
            reason="IRLS did not converge or standard errors not finite (separation?)",
            sample=sample,
            notes=notes,
            **meta,
        )
    res = ModelResult(**meta, sample=sample, notes=notes)
    res.terms = [Term.from_estimate(n, fit.params[n], fit.bse[n]) for n in x.columns]
    res.set_vcov(list(x.columns), np.asarray(fit.cov_params()))
    res.fit = fit_statistics(
        float(fit.llf),
        x.shape[1],
        len(df),
        df_model=int(x.shape[1] - 1),
        se_type="cluster-robust by organization (G/(G-1)(n-1)/(n-K))",
    )
    return res


def fit_stagnation(
    org_years: pd.DataFrame,
    organizations: pd.DataFrame,
    *,
    k: int = 3,
    threshold: float = 0.0,
    covariates: Sequence[str] = (C.FUNDING_SHARE, C.DENSITY, C.DENSITY_SQ, C.LOG_SIZE),
    density_scale: float = 1.0,
    growth_col: str = "growth",
    dataset: str = "default",
    formula: str | None = None,
    context: TermContext | None = None,
) -> StagnationFit:
    """Build the stagnation/dissolution risk set and fit both cause-specific cloglog hazards.

    Density terms are N/density_scale and (N/density_scale)² (computed from ``density``). With ``formula`` (a
    one-sided formula of ``analysis.formula.stagnation``) the terms are its design on the organization-years at
    risk, built by the formula engine (``context``: its term context), and replace ``covariates``.

    Examples
    --------
    >>> out = fit_stagnation(org_years, organizations, k=3, threshold=0.0, density_scale=100)  # doctest: +SKIP
    >>> out.stagnation.term("funding_share").coef  # doctest: +SKIP
    """
    events = stagnation_risk_set(org_years, organizations, k=k, threshold=threshold, growth_col=growth_col)
    regs = list(covariates)
    design = events.copy()
    extra_notes: list[str] = []
    if formula is not None and len(events) == 0:
        regs = []  # an empty risk set: both hazards are recorded as not fitted
    elif formula is not None:
        ctx = context or TermContext(density_scale=density_scale)
        built = build_design(
            formula, events, unit="org_year", ctx=ctx, intercept=False, allowed_specials=("cluster",)
        )
        regs = list(built.x.columns)
        for col in regs:
            values = np.full(len(events), np.nan)
            values[built.rows] = built.x[col].to_numpy()
            design[col] = values
        extra_notes = [n for n in built.notes if "dropped for missing" not in n]
    elif C.DENSITY in regs or C.DENSITY_SQ in regs:
        d, d2 = scaled_density(events[C.DENSITY], density_scale)
        if C.DENSITY in regs:
            design[C.DENSITY] = d
        if C.DENSITY_SQ in regs:
            design[C.DENSITY_SQ] = d2
    spec = {
        "formula": "cloglog(P(event)) ~ " + " + ".join(regs),
        "k": k,
        "threshold": threshold,
        "density_scale": density_scale,
        "event_definition": f"first year of {k} consecutive years with growth "
        f"< {threshold:g} (a missing year breaks a run)",
    }
    if formula is not None:
        spec["model_formula"] = formula
        spec["cluster"] = "org_id"
    notes = [
        "Growth is observed only for survivors; dissolution competes with stagnation (cause-specific hazards).",
        f"Organizations not dying are censored at the last year with a full {k}-year look-ahead.",
        *extra_notes,
    ]
    stag = _fit_cloglog(design, "y_stagnation", regs, "stagnation_hazard", dataset, spec, notes)
    diss = _fit_cloglog(design, "y_dissolution", regs, "dissolution_hazard", dataset, spec, notes)
    keep_cols = [
        c
        for c in (
            C.ORG_ID,
            C.YEAR,
            "time",
            growth_col,
            "low",
            "event",
            "y_stagnation",
            "y_dissolution",
            *(covariates if formula is None else ()),
        )
        if c in events
    ]
    return StagnationFit(stag, diss, events[keep_cols])


def cumulative_incidence(events: pd.DataFrame, *, time_col: str = "time") -> pd.DataFrame:
    """Discrete-time Aalen–Johansen cumulative incidence of stagnation and dissolution.

    At the n-th year at risk t, with n_t organizations at risk and d_k(t) events of kind k:
    S(t) = Π_{u≤t} (1 − Σ_k d_k(u)/n_u) and CIF_k(t) = Σ_{u≤t} S(u−1)·d_k(u)/n_u (organizations leaving
    without an event are censored). Returns a long frame ``cause, time, estimate, n_risk``.
    """
    if events.empty:
        return pd.DataFrame(columns=["cause", "time", "estimate", "n_risk"])
    g = events.groupby(time_col)
    table = pd.DataFrame(
        {"n_risk": g.size(), STAGNATION: g["y_stagnation"].sum(), DISSOLUTION: g["y_dissolution"].sum()}
    ).sort_index()
    surv_prev = 1.0
    rows = []
    cif = {STAGNATION: 0.0, DISSOLUTION: 0.0}
    for t, row in table.iterrows():
        n = float(row["n_risk"])
        for cause in (STAGNATION, DISSOLUTION):
            cif[cause] += surv_prev * float(row[cause]) / n
            rows.append({"cause": cause, "time": int(t), "estimate": cif[cause], "n_risk": int(n)})
        surv_prev *= 1.0 - (float(row[STAGNATION]) + float(row[DISSOLUTION])) / n
    return pd.DataFrame(rows)
