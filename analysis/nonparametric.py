"""Nonparametric survival estimators for organizational mortality with delayed entry.

Kaplan–Meier survival, Nelson–Aalen cumulative hazard, the log-rank test and the Aalen–Johansen
cumulative incidence of competing exits, all computed from counting-process spells on the age clock.

Risk sets follow R's ``survival`` convention for ``Surv(start, stop, event)``: a spell is at risk at age
``t`` when ``start < t <= stop``. Left-truncated organizations (founded before the observation window)
therefore enter the risk set only after their age at the window start — the correction for delayed entry
without which the survival of young organizations is overstated. A spell with ``event == 0`` is a
censoring only when it is the organization's last spell; intermediate yearly spells are not censorings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.registry import Derived, ModelKind

MODEL_KINDS = (
    ModelKind(
        name="km",
        section="Survival curves",
        figures=("km",),
        area="survival",
        presentation="km_summary",
        caption="Kaplan\u2013Meier survival by group",
        table="survival_km",
        order=10,
        derived={
            "summary": Derived("years / probability", "survival at fixed ages and median lifetime per group")
        },
        capabilities=frozenset({"delayed_entry"}),
        description="Kaplan-Meier survival (Greenwood, log CI) and Nelson-Aalen, per grouping, log-rank test",
    ),
    ModelKind(
        name="aalen_johansen",
        section="Competing exits",
        figures=("cif",),
        area="survival",
        presentation="none",
        caption="Cumulative incidence of competing exits",
        table="",
        order=60,
        capabilities=frozenset({"delayed_entry", "competing_risks"}),
        description="Aalen-Johansen cumulative incidence of each exit kind (shown as a figure)",
    ),
)

_TOL = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class SurvivalCurves:
    """Tidy output of :func:`kaplan_meier`.

    Attributes
    ----------
    table
        One row per group × distinct spell end age: ``group``, ``time``, ``n_risk``, ``n_event``,
        ``n_censor``, ``survival``, ``std_err`` (Greenwood SE of S(t)), ``std_err_log`` (SE of log S(t), as
        R's ``survfit$std.err``), ``ci_low``, ``ci_high``, ``cumhaz`` (Nelson–Aalen) and ``cumhaz_se``.
    summary
        One row per group: ``group``, ``n_orgs``, ``n_spells``, ``events``, ``median`` survival age and
        its CI (``median_ci_low``, ``median_ci_high``; R's rule, NaN where not reached).
    """

    table: pd.DataFrame
    summary: pd.DataFrame

    def to_curves(self) -> dict[str, dict[str, list]]:
        """Curves for ``ModelResult.curves``: one entry ``km_<group>`` per group."""
        out: dict[str, dict[str, list]] = {}
        for g, d in self.table.groupby("group", sort=False):
            cols = ["time", "n_risk", "n_event", "survival", "ci_low", "ci_high", "cumhaz", "cumhaz_se"]
            out[f"km_{g}"] = {c: d[c].tolist() for c in cols}
        return out


def _conf_band(
    surv: np.ndarray, se_log: np.ndarray, conf_level: float, conf_type: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI for a survival curve from the SE of its log (R's ``survfit_confint``)."""
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = se_log * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(xx) - z * se_log), np.minimum(np.exp(np.log(xx) + z * se_log), 1.0)
        if conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            se2 = z * se_log / np.log(xx)
            return np.exp(-np.exp(np.log(-np.log(xx)) - se2)), np.exp(-np.exp(np.log(-np.log(xx)) + se2))
    raise ValueError(f"conf_type must be 'log', 'log-log' or 'plain', got {conf_type!r}")


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = _TOL) -> float:
    """R's ``survival:::findq``: the age at which the distribution function ``y`` first reaches ``p``.

    When the curve sits exactly at ``p`` over an interval, the midpoint of that interval is returned.
    """
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    # duplicated() keeps the first occurrence (NaN counts as a duplicate of NaN)
    key = pd.Series(y)
    keep = ~key.duplicated().to_numpy()
    x, y = x[keep], y[keep]
    n = len(y)

    def index(shift: float) -> float:
        ok = ~np.isnan(y)
        xv, idx = y[ok] + shift, np.arange(n)[ok]
        order = np.argsort(xv, kind="stable")
        xv, idx = xv[order], idx[order]
        if len(xv) == 0 or p < xv[0] or p > xv[-1]:
            return np.nan
        return float(idx[np.searchsorted(xv, p, side="left")])

    i1, i2 = index(tol), index(-tol)
    quant = np.nan if np.isnan(i1) or np.isnan(i2) else (x[int(i1)] + x[int(i2)]) / 2
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol and not np.isnan(i1):
        quant = (x[int(i1)] + xmax) / 2
    return float(quant)


def _last_spell(df: pd.DataFrame, id_col: str, stop: str) -> np.ndarray:
    """True for each organization's final spell (the only spell whose non-event end is a censoring)."""
    return (df[stop].to_numpy() == df.groupby(id_col, sort=False)[stop].transform("max").to_numpy()).astype(
        bool
    )


def _at_risk_counts(start: np.ndarray, stop: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Number of spells with ``start < t <= stop`` at each ``t`` (vectorized by sorting)."""
    s_sorted, e_sorted = np.sort(start), np.sort(stop)
    n_stop_ge = len(stop) - np.searchsorted(e_sorted, times, side="left")
    n_start_ge = len(start) - np.searchsorted(s_sorted, times, side="left")
    return n_stop_ge - n_start_ge


def _km_one(
    df: pd.DataFrame, start: str, stop: str, event: str, id_col: str, conf_level: float, conf_type: str
) -> tuple[pd.DataFrame, dict]:
    st = df[start].to_numpy(float)
    sp = df[stop].to_numpy(float)
    ev = df[event].to_numpy().astype(bool)
    cens = (~ev) & _last_spell(df, id_col, stop)
    times, inv = np.unique(sp, return_inverse=True)
    n_event = np.bincount(inv, weights=ev, minlength=len(times))
    n_censor = np.bincount(inv, weights=cens, minlength=len(times))
    n_risk = _at_risk_counts(st, sp, times).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        haz = np.where(n_event > 0, n_event / n_risk, 0.0)
        surv = np.cumprod(1 - haz)
        gw = np.cumsum(np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0))
        se_log = np.sqrt(gw)
        cumhaz = np.cumsum(haz)
        cumhaz_se = np.sqrt(np.cumsum(np.where(n_event > 0, n_event / n_risk**2, 0.0)))
    lo, hi = _conf_band(surv, se_log, conf_level, conf_type)
    with np.errstate(invalid="ignore"):
        se_surv = surv * se_log
    table = pd.DataFrame(
        {
            "time": times,
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": n_censor.astype(int),
            "survival": surv,
            "std_err": se_surv,
            "std_err_log": se_log,
            "ci_low": lo,
            "ci_high": hi,
            "cumhaz": cumhaz,
            "cumhaz_se": cumhaz_se,
        }
    )
    firstx = min(0.0, float(st.min()))
    grid = np.concatenate([[firstx], times])
    summary = {
        "n_orgs": int(df[id_col].nunique()),
        "n_spells": len(df),
        "events": int(ev.sum()),
        "median": _findq(grid, np.concatenate([[0.0], 1 - surv]), 0.5),
        "median_ci_low": _findq(grid, np.concatenate([[0.0], 1 - lo]), 0.5),
        "median_ci_high": _findq(grid, np.concatenate([[0.0], 1 - hi]), 0.5),
    }
    return table, summary


def _check_spells(spells: pd.DataFrame, start: str, stop: str) -> None:
    if len(spells) == 0:
        raise ValueError("no spells")
    if not (spells[stop].to_numpy() > spells[start].to_numpy()).all():
        raise ValueError(f"every spell needs {stop} > {start} (the (start, stop] convention)")


def kaplan_meier(
    spells: pd.DataFrame,
    *,
    start: str = "start",
    stop: str = "stop",
    event: str = "event",
    id_col: str = "org_id",
    group: str | None = None,
    conf_level: float = 0.95,
    conf_type: str = "log",
) -> SurvivalCurves:
    """Kaplan–Meier survival and Nelson–Aalen cumulative hazard on the age clock, with delayed entry.

    The product-limit estimate S(t) = Π_{s ≤ t} (1 − d_s / n_s) uses the risk set n_s of spells with
    ``start < s <= stop``, so left-truncated organizations count only from their age at the window start.
    Variances: Greenwood for S (``std_err_log`` = sqrt Σ d/(n(n−d)), as R's ``survfit$std.err``) and the
    Aalen estimator Σ d/n² for the Nelson–Aalen hazard. The median survival age and its CI follow R's
    ``quantile.survfit`` (first age where the curve — or the CI bound — drops to 0.5; the midpoint when
    the curve is flat at exactly 0.5). Matches ``survfit(Surv(start, stop, event) ~ g, id = org_id)``.

    Parameters
    ----------
    spells
        Counting-process spells (one row per organization × year), age clock.
    start, stop, event, id_col
        Column roles. ``event`` is 1 when the organization dies at ``stop``.
    group
        Optional column defining subpopulations (cohort, type, district); one curve per value.
    conf_level, conf_type
        Pointwise CI level and transform: ``"log"`` (R's default), ``"log-log"`` or ``"plain"``.

    Returns
    -------
    SurvivalCurves
        ``table`` (per group and age) and ``summary`` (per group: n, events, median with CI).

    Examples
    --------
    >>> sp = pd.DataFrame({"org_id": ["a", "a", "b"], "start": [0.0, 1.0, 0.5],
    ...                    "stop": [1.0, 1.5, 2.0], "event": [0, 1, 0]})
    >>> kaplan_meier(sp).table["survival"].round(3).tolist()
    [1.0, 0.5, 0.5]
    """
    _check_spells(spells, start, stop)
    groups = [("all", spells)] if group is None else list(spells.groupby(group, sort=True, observed=True))
    tables, rows = [], []
    for g, d in groups:
        t, s = _km_one(d, start, stop, event, id_col, conf_level, conf_type)
        t.insert(0, "group", str(g))
        tables.append(t)
        rows.append({"group": str(g), **s})
    return SurvivalCurves(pd.concat(tables, ignore_index=True), pd.DataFrame(rows))


def logrank_test(
    spells: pd.DataFrame,
    group: str,
    *,
    start: str = "start",
    stop: str = "stop",
    event: str = "event",
) -> dict:
    """Log-rank test of equal mortality hazards across groups, with delayed entry.

    Computed as the score test of the Cox model with group dummies at β = 0 with Breslow handling of
    tied death ages (R: ``coxph(Surv(start, stop, event) ~ factor(g), ties = "breslow")$score``; R's
    ``survdiff`` does not accept counting-process data). The information uses d_t·Var_risk(x) without the
    hypergeometric factor (n−d)/(n−1), so with many tied deaths it is slightly larger than ``survdiff``'s.

    Returns
    -------
    dict
        A ``tests`` entry of the results contract: ``name``, ``statistic`` (χ²), ``df`` (groups − 1),
        ``p``, plus per-group ``observed`` and ``expected`` deaths.
    """
    _check_spells(spells, start, stop)
    st = spells[start].to_numpy(float)
    sp = spells[stop].to_numpy(float)
    ev = spells[event].to_numpy().astype(bool)
    labels = spells[group].astype(str).to_numpy()
    levels = np.unique(labels)
    times = np.unique(sp[ev])
    k = len(levels)
    if k < 2 or len(times) == 0:
        reason = "fewer than two groups" if k < 2 else "no events"
        return {
            "name": f"log-rank ({group})",
            "statistic": None,
            "df": max(k - 1, 0),
            "p": None,
            "note": reason,
        }
    n_gt = np.empty((len(times), k))
    d_gt = np.empty((len(times), k))
    for j, lev in enumerate(levels):
        m = labels == lev
        n_gt[:, j] = _at_risk_counts(st[m], sp[m], times)
        idx = np.searchsorted(times, sp[m & ev])
        d_gt[:, j] = np.bincount(idx, minlength=len(times))
    n_t = n_gt.sum(1)
    d_t = d_gt.sum(1)
    share = n_gt / n_t[:, None]
    expected = (d_t[:, None] * share).sum(0)
    observed = d_gt.sum(0)
    u = (observed - expected)[1:]
    s1 = share[:, 1:]
    info = np.einsum("t,ti,tj->ij", d_t, s1, -s1) + np.diag((d_t[:, None] * s1).sum(0))
    try:
        chi2 = float(u @ np.linalg.solve(info, u))
    except np.linalg.LinAlgError:
        chi2 = float(u @ np.linalg.pinv(info) @ u)
    df = k - 1
    return {
        "name": f"log-rank ({group})",
        "statistic": chi2,
        "df": df,
        "p": float(stats.chi2.sf(chi2, df)),
        "observed": dict(zip(levels.tolist(), observed.tolist(), strict=True)),
        "expected": dict(zip(levels.tolist(), expected.tolist(), strict=True)),
        "note": "Cox score test at beta=0, Breslow ties, delayed entry (start < t <= stop)",
    }


def aalen_johansen(
    spells: pd.DataFrame,
    *,
    cause_col: str = "exit_kind",
    causes: tuple[str, ...] | list[str] = ("death", "competing:merged"),
    start: str = "start",
    stop: str = "stop",
    id_col: str = "org_id",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of competing exits (e.g. dissolution vs merger), delayed entry.

    With one transient state ("alive") and absorbing exit states, the estimator is
    F_k(t) = Σ_{s ≤ t} S(s−) d_k(s)/n(s), with S the all-cause Kaplan–Meier curve. Exit kinds other than
    ``causes`` (e.g. ``censored`` or ``''`` on intermediate yearly spells) are treated as censoring.
    Standard errors use the infinitesimal jackknife over organizations — the variance R's multi-state
    ``survfit(Surv(start, stop, status) ~ 1, id = org_id)`` reports; CIs are on the log scale as R's.

    Returns
    -------
    pd.DataFrame
        Long format, one row per state × distinct spell end age: ``state`` (``alive`` or a cause),
        ``time``, ``n_risk``, ``n_event`` (exits to that state at that age), ``estimate`` (probability of
        being in the state), ``std_err``, ``ci_low``, ``ci_high``.
    """
    _check_spells(spells, start, stop)
    st = spells[start].to_numpy(float)
    sp = spells[stop].to_numpy(float)
    kind = spells[cause_col].fillna("").astype(str).to_numpy()
    causes = list(causes)
    dk = np.column_stack([kind == c for c in causes]).astype(float)  # rows × causes
    anyev = dk.sum(1) > 0
    ids, subj = np.unique(spells[id_col].to_numpy(), return_inverse=True)
    n_subj = len(ids)
    times, inv = np.unique(sp, return_inverse=True)
    n_risk = _at_risk_counts(st, sp, times).astype(float)
    d_time = np.zeros((len(times), len(causes)))
    np.add.at(d_time, inv, dk)
    d_all = d_time.sum(1)

    p0 = 1.0
    infl0 = np.zeros(n_subj)  # d p_alive(t) / d w_i
    inflk = np.zeros((n_subj, len(causes)))  # d F_k(t) / d w_i
    fk = np.zeros(len(causes))
    est = np.empty((len(times), 1 + len(causes)))
    var = np.empty_like(est)
    for j, t in enumerate(times):
        if d_all[j] > 0:
            y = n_risk[j]
            lam, lamk = d_all[j] / y, d_time[j] / y
            risk_rows = (st < t) & (sp >= t)
            yi = np.bincount(subj[risk_rows], minlength=n_subj).astype(float)
            at_t = inv == j
            dni = np.bincount(subj[at_t & anyev], minlength=n_subj).astype(float)
            dnik = np.zeros((n_subj, len(causes)))
            np.add.at(dnik, subj[at_t], dk[at_t])
            a_i = (dni - yi * lam) / y
            b_ik = (dnik - yi[:, None] * lamk[None, :]) / y
            inflk = inflk + infl0[:, None] * lamk[None, :] + p0 * b_ik
            fk = fk + p0 * lamk
            infl0 = infl0 * (1 - lam) - p0 * a_i
            p0 = p0 * (1 - lam)
        est[j, 0], est[j, 1:] = p0, fk
        var[j, 0], var[j, 1:] = (infl0**2).sum(), (inflk**2).sum(0)
    se = np.sqrt(var)
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        xx = np.where(est == 0, np.nan, est)
        lo = np.exp(np.log(xx) - z * se / xx)
        hi = np.minimum(np.exp(np.log(xx) + z * se / xx), 1.0)
    frames = []
    for s, name in enumerate(["alive", *causes]):
        frames.append(
            pd.DataFrame(
                {
                    "state": name,
                    "time": times,
                    "n_risk": n_risk.astype(int),
                    "n_event": (d_all if s == 0 else d_time[:, s - 1]).astype(int),
                    "estimate": est[:, s],
                    "std_err": se[:, s],
                    "ci_low": lo[:, s],
                    "ci_high": hi[:, s],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
