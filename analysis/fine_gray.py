"""Fine–Gray proportional subdistribution hazards of one exit kind among competing exits.

The subdistribution hazard of exit kind k keeps organizations that already left by a competing exit
(merger, acquisition, …) in the risk set of k after their exit, with a weight that decays as the
probability of still being under observation: the Kaplan–Meier estimate G of the censoring distribution
(and, under delayed entry, the estimate of the truncation distribution, as Geskus 2011). A Cox model of
the expanded, weighted data then estimates exp(β) as subdistribution hazard ratios, i.e. effects on the
cumulative incidence of k.

:func:`expand` reproduces R ``survival::finegray`` row for row (rank-scale censoring and truncation
curves, censorings at an exit age counted after the exits, intervals without an exit of kind k merged);
:func:`fit_fine_gray` fits the weighted Cox partial likelihood with the project's :class:`CoxPH`, as
``coxph(Surv(fgstart, fgstop, fgstatus) ~ …, weights = fgwt)``. For time-fixed data without delayed entry
the estimates equal ``cmprsk::crr`` (whose variance additionally accounts for estimating G).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import cox_core as core
from analysis.cox import CoxPH
from analysis.cox_result import to_model_result as _cox_model_result
from analysis.registry import Derived, ModelKind
from analysis.results import ModelResult

#: Columns added to the expanded data (R's ``fgstart``, ``fgstop``, ``fgstatus``, ``fgwt``).
FG_START, FG_STOP, FG_STATUS, FG_WT = "fg_start", "fg_stop", "fg_status", "fg_wt"
#: Row of the input each expanded row comes from, and its extension number (0: the observed spell).
FG_ROW, FG_ADD = "fg_row", "fg_add"

MODEL_KINDS = (
    ModelKind(
        name="fine_gray",
        section="Competing exits",
        area="survival",
        presentation="regression",
        caption="Mortality: Fine–Gray subdistribution hazards of competing exits",
        table="survival_fine_gray",
        order=31,
        derived={
            "hazard_ratio": Derived("ratio", "exp(coef): subdistribution hazard ratio with its CI per term"),
            "naive_se": Derived("coefficient units", "model-based SEs beside the robust ones"),
            "expansion": Derived(
                "rows", "the finegray expansion: input and expanded rows, extended organizations, delay, gaps"
            ),
        },
        capabilities=frozenset({"cluster", "strata", "delayed_entry", "time_varying", "competing_risks"}),
        columns="cause",
        sort=lambda r: r["model"],
        description="Fine–Gray proportional subdistribution hazard of one exit kind (R survival::finegray)",
    ),
)

WEIGHT_NOTE = (
    "Censoring weights as R survival::finegray: an organization that left by a competing exit stays in the "
    "risk set after its exit with weight G(t−)/G(s) on (t_{j−1}, t_j], G the Kaplan–Meier curve of "
    "censoring (unweighted, censorings at an exit age counted after the exits, evaluated at the start of "
    "each interval), s its exit age; under delayed entry G is multiplied by the estimate of the truncation "
    "(entry-age) distribution. Intervals without an exit of the modelled kind are merged."
)


@dataclass
class Expansion:
    """Expanded data and what the expansion did."""

    data: pd.DataFrame
    n_input: int
    n_extended: int
    delayed: bool
    n_gaps: int = 0


def _km(entry: np.ndarray, exit_: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Product-limit curve of (entry, exit] data: event times and S at them (R ``survfit``, KM)."""
    times, d = np.unique(exit_[event], return_counts=True)
    if times.size == 0:
        return times, times.astype(float)
    n = np.searchsorted(np.sort(entry), times, side="left") - np.searchsorted(
        np.sort(exit_), times, side="left"
    )
    return times, np.cumprod(1.0 - d / n)


def _truncation(start: np.ndarray, stop: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entry ages (ascending) and R's ``dprob``: the reverse-time product over later entry ages."""
    times, d = np.unique(start[first], return_counts=True)
    n = np.searchsorted(np.sort(start), times, side="right") - np.searchsorted(
        np.sort(stop), times, side="right"
    )
    f = 1.0 - d / n
    later = np.append(np.cumprod(f[::-1])[::-1][1:], 1.0)  # prod over entries after each
    return times, later


def _weights_curve(
    start_r: np.ndarray,
    stop_r: np.ndarray,
    status: np.ndarray,
    last: np.ndarray,
    first: np.ndarray,
    delay: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank-scale cut points and the probability weight reached at each (G, times H under delay)."""
    ctime, cprob = _km(start_r, stop_r, last & (status == 0))
    if not delay:
        return ctime, cprob
    dtime, dprob = _truncation(start_r, stop_r, first)
    temp = np.unique(np.concatenate([dtime, ctime]))
    i1 = np.searchsorted(dtime, temp, side="right")
    i2 = np.searchsorted(ctime, temp, side="right")
    return temp, dprob[i1 - 1] * np.concatenate([[1.0], cprob])[i2]


def _split(
    t0: np.ndarray, t1: np.ndarray, ct2: np.ndarray, cp2: np.ndarray, extend: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """R's C routine ``finegray``: extend each flagged row over the kept intervals after its exit."""
    n = t0.size
    end = t1.copy()
    ext = np.flatnonzero(extend)
    j0 = np.searchsorted(ct2, t1[ext], side="left")  # interval containing the exit
    end[ext] = ct2[j0]
    kept = np.flatnonzero(keep[: ct2.size])
    first_kept = np.searchsorted(kept, j0, side="right")
    n_add = kept.size - first_kept
    rows = np.concatenate([np.arange(n), np.repeat(ext, n_add)])
    offs = np.arange(n_add.sum()) - np.repeat(np.cumsum(n_add) - n_add, n_add)
    j = kept[np.repeat(first_kept, n_add) + offs]
    start = np.concatenate([t0, ct2[j - 1]])
    stop = np.concatenate([end, ct2[j]])
    wt = np.concatenate([np.ones(n), cp2[j] / np.repeat(cp2[j0], n_add)])
    add = np.concatenate([np.zeros(n, dtype=int), offs + 1])
    order = np.lexsort((add, rows))
    return rows[order], start[order], stop[order], wt[order], add[order]


def expand(
    df: pd.DataFrame,
    *,
    stop: str,
    exit_kind: str,
    kind: Any,
    start: str | None = None,
    id: str | None = None,
    censored: Any = 0,
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
    timefix: bool = True,
    allow_gaps: bool = False,
) -> Expansion:
    """The Fine–Gray expansion of spells for exit kind ``kind`` (R ``finegray(..., etype = kind)``).

    ``exit_kind`` holds the exit of each spell (``censored`` for none); with ``start`` the spells are
    counting-process ``(start, stop]`` rows of organizations ``id`` (only an organization's last spell may
    end in an exit, no gaps), and entry after the earliest exit age is delayed entry. ``strata`` gives
    separate censoring curves; ``weights`` (case weights) multiply the censoring weights. Every input
    column is carried over; ``fg_*`` columns are added (status 1 = exit of ``kind``). R refuses gaps
    between an organization's spells; ``allow_gaps`` takes them (e.g. years dropped as incomplete cases):
    the organization is out of the risk sets of G and of the truncation curve during a gap, and its
    re-entry after a gap is not a new entry (an extension of R's algorithm, not checked against R).
    """
    d = df.reset_index(drop=True)
    t1 = d[stop].to_numpy(dtype=float)
    ex = d[exit_kind].to_numpy()
    status = np.where(ex == censored, 0, np.where(ex == kind, 1, 2))
    n = t1.size
    if start is None:
        lo = float(np.nanmin(t1))
        t0 = np.full(n, 0.0 if lo > 0 else 2 * lo - 1)
        last = first = np.ones(n, dtype=bool)
        delay, n_gaps = False, 0
        if timefix:
            _, t1 = core.fix_ties(t1, t1)
    else:
        if id is None:
            raise ValueError("(start, stop] spells require an organization id (as R's finegray)")
        t0 = d[start].to_numpy(dtype=float)
        if timefix:
            t0, t1 = core.fix_ties(t0, t1)
        ids = pd.factorize(d[id])[0]
        idx = np.lexsort((t1, ids))
        new = np.r_[True, ids[idx][1:] != ids[idx][:-1]]
        is_last = np.r_[new[1:], True]
        if np.any(status[idx][~is_last] != 0):
            raise ValueError("an organization has an exit before its last spell")
        n_gaps = int(np.sum(t0[idx][1:][~new[1:]] != t1[idx][:-1][~new[1:]]))
        if n_gaps and not allow_gaps:
            raise ValueError("an organization has gaps between its spells (allow_gaps=False)")
        first, last = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        first[idx[new]] = True
        last[idx[is_last]] = True
        delay = bool(np.any(t0[first] > t1.min()))
    utime = np.unique(np.concatenate([t0, t1]))
    r0 = np.searchsorted(utime, t0).astype(float) + 1
    r1 = np.searchsorted(utime, t1).astype(float) + 1
    r1[status != 0] -= 0.2  # censorings at an exit age are counted after the exits
    cols = [strata] if isinstance(strata, str) else list(strata or [])
    st = (
        pd.factorize(d[cols].astype(str).agg("\x1f".join, axis=1), sort=True)[0]
        if cols
        else np.zeros(n, dtype=int)
    )
    uw = d[weights].to_numpy(dtype=float) if weights else np.ones(n)
    pieces = []
    for s in np.unique(st):
        keep_s = np.flatnonzero(st == s)
        times = np.unique(t1[keep_s][status[keep_s] == 1])
        if times.size == 0:
            continue
        ranks, prob = _weights_curve(
            r0[keep_s], r1[keep_s], status[keep_s], last[keep_s], first[keep_s], delay
        )
        ctime = utime[ranks.astype(int) - 1] if ranks.size else np.empty(0)
        ct2 = np.append(ctime, t1[keep_s].max())
        cp2 = np.append(1.0, prob)
        ind = np.searchsorted(ct2, times, side="left")  # findInterval(left.open = TRUE)
        ckeep = np.zeros(ct2.size + 1, dtype=bool)
        ckeep[0] = True
        ckeep[np.unique(ind[ind > 0])] = True
        ext = (status[keep_s] == 2) & last[keep_s]
        rows, a, b, w, add = _split(t0[keep_s], t1[keep_s], ct2, cp2, ext, ckeep)
        out = d.iloc[keep_s[rows]].reset_index(drop=True)
        out[FG_START], out[FG_STOP] = a, b
        out[FG_STATUS] = (status[keep_s][rows] == 1).astype(int)
        out[FG_WT] = w * uw[keep_s][rows]
        out[FG_ROW], out[FG_ADD] = keep_s[rows], add
        pieces.append(out)
    data = pd.concat(pieces, ignore_index=True) if pieces else d.iloc[:0]
    n_ext = int(((status == 2) & last).sum())
    return Expansion(data=data, n_input=n, n_extended=n_ext, delayed=delay, n_gaps=n_gaps)


@dataclass
class FineGray:
    """A fitted Fine–Gray model: the weighted Cox fit on the expansion and the expansion itself."""

    model: CoxPH
    expansion: Expansion
    kind: Any
    cluster: str | None


def fit_fine_gray(
    df: pd.DataFrame,
    *,
    stop: str,
    exit_kind: str,
    kind: Any,
    covariates: Sequence[str],
    start: str | None = None,
    id: str | None = None,
    censored: Any = 0,
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
    cluster: str | None = "id",
    ties: str = "efron",
    allow_gaps: bool = False,
) -> FineGray:
    """Fit the Fine–Gray model of exit kind ``kind`` (:func:`expand` + weighted :class:`CoxPH`).

    ``cluster`` chooses the sandwich variance: ``"id"`` (default) clusters by organization, as
    ``coxph(..., weights = fgwt, cluster = id)``; ``"row"`` one cluster per expanded row, which is R's
    default for the non-integer ``fgwt`` (no ``cluster``/``id`` given); any other string a column to
    cluster by (coarser than organizations); ``None`` the naive variance.
    ``strata`` gives separate censoring curves and separate baseline subdistribution hazards.
    """
    exp = expand(
        df,
        stop=stop,
        exit_kind=exit_kind,
        kind=kind,
        start=start,
        id=id,
        censored=censored,
        strata=strata,
        weights=weights,
        allow_gaps=allow_gaps,
    )
    data = exp.data
    if cluster == "id":
        cl = id if id is not None else FG_ROW
    elif cluster == "row":
        data = data.assign(_fg_rowid=np.arange(len(data)))
        cl = "_fg_rowid"
    else:
        cl = cluster
    model = CoxPH(ties=ties, robust=cl is not None).fit(
        data,
        start=FG_START,
        stop=FG_STOP,
        event=FG_STATUS,
        covariates=list(covariates),
        cluster=cl,
        strata=strata,
        weights=FG_WT,
    )
    return FineGray(model=model, expansion=exp, kind=kind, cluster=cluster)


def to_model_result(
    fitted: FineGray,
    *,
    dataset: str,
    model: str,
    spec: dict[str, Any] | None = None,
    stage: str = "fit_survival",
    window: Sequence[int] | None = None,
    level: float = 0.95,
) -> ModelResult:
    """A ``fine_gray`` :class:`ModelResult` (terms are log subdistribution hazard ratios)."""
    spec = {"cause": str(fitted.kind), **(spec or {})}
    res = _cox_model_result(
        fitted.model,
        dataset=dataset,
        model=model,
        spec=spec,
        stage=stage,
        window=window,
        density_terms=None,
        zph_transforms=(),
        level=level,
    )
    res.kind = "fine_gray"
    res.family = "fine_gray"
    se = {
        "id": "SEs clustered by organization (coxph(weights = fgwt, cluster = id))",
        "row": "robust SEs, one cluster per expanded row (R coxph default for non-integer fgwt)",
        None: "naive SEs",
    }.get(fitted.cluster, f"SEs clustered by {fitted.cluster}")
    res.method = (
        f"Fine–Gray subdistribution hazards: survival::finegray expansion, weighted Cox partial likelihood "
        f"({fitted.model.ties.capitalize()} ties); {se}"
    )
    exp = fitted.expansion
    res.sample["unit"] = "expanded organization-year spell"
    res.derived.pop("concordance", None)
    res.derived.pop("density_minimum", None)
    if res.terms:
        res.derived["expansion"] = {
            "n_input": exp.n_input,
            "n_expanded": int(len(exp.data)),
            "n_extended": exp.n_extended,
            "delayed_entry": exp.delayed,
            "gaps": exp.n_gaps,
        }
    res.notes.append(WEIGHT_NOTE)
    res.notes.append(
        "The variance treats the censoring weights as known (R coxph); cmprsk::crr's variance also "
        "reflects estimating G and differs slightly."
    )
    return res
