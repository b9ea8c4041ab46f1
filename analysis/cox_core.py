"""Risk-set arithmetic of the Cox partial likelihood for counting-process spells (vectorized numpy).

Organizational mortality data arrive as yearly spells ``(start, stop]`` on the age clock, with delayed
entry for organizations founded before the observation window. A spell belongs to the risk set of a
death at age ``t`` exactly when ``start < t <= stop`` (R ``survival``'s convention): a spell that *starts*
at ``t`` is not at risk for a death at ``t``, one that *stops* at ``t`` is. With yearly splits such
coincidences are everywhere, which is why the risk sets are built here from integer bins instead of
floating-point comparisons inside loops.

The trick that makes one pass O(n p) instead of O(n × event times): number the distinct death ages of a
stratum ``t_0 < t_1 < …``; a spell is at risk at ``t_j`` iff ``lo <= j < hi`` with
``lo = #{t_j <= start}`` and ``hi = #{t_j <= stop}``. Any risk-set sum is then a cumulative sum of
``+value`` at bin ``lo`` and ``-value`` at bin ``hi`` (``np.bincount``), and any sum over the death ages
a spell is at risk for is a difference of one cumulative sum at ``hi`` and ``lo``. The information
matrix and the score residuals (for the cluster sandwich) use the second form, so no n × (event times)
or n × n object is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK = 1_000_000


def fix_ties(
    start: np.ndarray, stop: np.ndarray, tolerance: float = float(np.sqrt(np.finfo(float).eps))
) -> tuple[np.ndarray, np.ndarray]:
    """Merge ages that differ only by floating-point noise, as R's ``aeqSurv`` (``coxph(timefix=TRUE)``).

    Ages computed as ``date - founding date`` in different ways can differ in the 15th digit; without
    this step such near-ties would be treated as distinct ages and the risk sets would differ from R's.

    Returns
    -------
    start, stop
        Copies with each value replaced by the smallest value of its near-tie group.
    """
    y = np.unique(np.concatenate([start, stop]))
    y = y[np.isfinite(y)]
    if y.size < 2:
        return start, stop
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return start, stop
    cuts = y[np.concatenate([[True], ~tied])]
    new_start = cuts[np.searchsorted(cuts, start, side="right") - 1]
    new_stop = cuts[np.searchsorted(cuts, stop, side="right") - 1]
    if np.any((new_start == new_stop) & (start != stop)):
        raise ValueError("a spell has effective length 0 after merging near-tied ages (as R's aeqSurv)")
    return new_start, new_stop


@dataclass
class RiskSets:
    """Spells reduced to what the partial likelihood needs, built once per data set.

    Only *active* spells (at risk for at least one death) are kept; the others contribute nothing to
    the likelihood, its derivatives or the score residuals.

    Attributes
    ----------
    active : indices of the active spells in the input rows
    x : (m, p) covariates of the active spells, centered, column-major
    w : case weights of the active spells
    lo, hi : bin range ``[lo, hi)`` of death ages each active spell is at risk for
    dead : positions (within the active spells) of the deaths
    dead_bin : bin (distinct death age within stratum) of each death
    n_bins : number of distinct (stratum, death age) pairs
    d : deaths per bin (count, used for Efron's fractions as R does)
    dw : summed case weights of the deaths per bin
    pair_bin, pair_frac : Efron's pseudo-deaths, one per death: its bin and the fraction ``k/d`` of the
        tied deaths removed from the denominator (all zero for Breslow)
    bin_time : death age of each bin
    bin_stratum : stratum code of each bin (bins run stratum by stratum, ages increasing within each)
    """

    active: np.ndarray
    x: np.ndarray
    w: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    dead: np.ndarray
    dead_bin: np.ndarray
    n_bins: int
    d: np.ndarray
    dw: np.ndarray
    pair_bin: np.ndarray
    pair_frac: np.ndarray
    bin_time: np.ndarray
    x_mean: np.ndarray
    x_dead: np.ndarray
    w_dead: np.ndarray
    bin_stratum: np.ndarray

    @property
    def n_active(self) -> int:
        return int(self.active.size)


def build_risk_sets(
    start: np.ndarray,
    stop: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    weights: np.ndarray,
    strata: np.ndarray,
    *,
    efron: bool,
) -> RiskSets:
    """Index spells by the distinct death ages of their stratum (see the module docstring)."""
    n = start.size
    lo = np.zeros(n, dtype=np.int64)
    hi = np.zeros(n, dtype=np.int64)
    times = []
    bin_stratum = []
    offset = 0
    codes = np.unique(strata)
    for s in codes:
        rows = np.flatnonzero(strata == s) if codes.size > 1 else slice(None)
        ev_times = np.unique(stop[rows][event[rows]])
        lo[rows] = offset + np.searchsorted(ev_times, start[rows], side="right")
        hi[rows] = offset + np.searchsorted(ev_times, stop[rows], side="right")
        times.append(ev_times)
        bin_stratum.append(np.full(ev_times.size, s, dtype=np.int64))
        offset += ev_times.size
    n_bins = offset
    active = np.flatnonzero(hi > lo)
    if active.size < n:  # spells never at risk for a death contribute nothing: leave them out
        lo, hi, event, weights, x = lo[active], hi[active], event[active], weights[active], x[active]
    dead = np.flatnonzero(event)
    dead_bin = hi[dead] - 1
    w = np.ascontiguousarray(weights, dtype=float)
    x_mean = (w @ x) / w.sum() if x.shape[1] else np.zeros(0)
    xa = np.empty(x.shape, order="F")
    np.subtract(x, x_mean, out=xa)
    d = np.bincount(dead_bin, minlength=n_bins).astype(float)
    dw = np.bincount(dead_bin, weights=w[dead], minlength=n_bins)
    pair_bin = np.repeat(np.arange(n_bins), d.astype(np.int64))
    if efron:
        first = np.concatenate([[0], np.cumsum(d.astype(np.int64))[:-1]])
        k = np.arange(pair_bin.size) - first[pair_bin]
        pair_frac = k / d[pair_bin]
    else:
        pair_frac = np.zeros(pair_bin.size)
    return RiskSets(
        active=active,
        x=xa,
        w=w,
        lo=lo,
        hi=hi,
        dead=dead,
        dead_bin=dead_bin,
        n_bins=n_bins,
        d=d,
        dw=dw,
        pair_bin=pair_bin,
        pair_frac=pair_frac,
        bin_time=np.concatenate(times) if times else np.zeros(0),
        x_mean=x_mean,
        x_dead=np.ascontiguousarray(xa[dead]),
        w_dead=w[dead],
        bin_stratum=np.concatenate(bin_stratum) if bin_stratum else np.zeros(0, dtype=np.int64),
    )


def _riskset_sum(rs: RiskSets, values: np.ndarray, suffix: np.ndarray | None = None):
    """Sum of ``values`` over the risk set of every bin: +value at ``lo``, −value at ``hi``, cumsum.

    The risk set of bin j is (entered by j) − (left by j) = (leaving after j) − (entering after j). The
    prefix form is accurate at young ages, the suffix form at old ages where few spells remain at risk
    (it avoids subtracting two large running totals); the form with the smaller operands is used, chosen
    on the first (positive) call and reused via ``suffix``. Returns ``(sums, suffix)``.
    """
    k = rs.n_bins + 1
    a_lo = np.bincount(rs.lo, weights=values, minlength=k)
    a_hi = np.bincount(rs.hi, weights=values, minlength=k)
    pre_lo, pre_hi = np.cumsum(a_lo)[:-1], np.cumsum(a_hi)[:-1]
    suf_lo = np.cumsum(a_lo[::-1])[::-1][1:]
    suf_hi = np.cumsum(a_hi[::-1])[::-1][1:]
    if suffix is None:
        suffix = suf_hi < pre_lo
    return np.where(suffix, suf_hi - suf_lo, pre_lo - pre_hi), suffix


def _over_bins(rs: RiskSets, per_bin: np.ndarray) -> np.ndarray:
    """For each spell, the sum of ``per_bin`` over the bins it is at risk for (``per_bin`` may be 2-D)."""
    cum = np.concatenate([np.zeros((1,) + per_bin.shape[1:]), np.cumsum(per_bin, axis=0)])
    return cum[rs.hi] - cum[rs.lo]


@dataclass
class PartialLikelihood:
    """The Cox partial likelihood at one coefficient vector, with what residuals and tests reuse.

    ``den``, ``mu`` and ``haz`` are per Efron pseudo-death (one per death): the risk-set denominator
    (rescaled by ``exp(-shift)``), the weighted covariate mean and the hazard increment.
    """

    loglik: float
    score: np.ndarray
    info: np.ndarray
    eta: np.ndarray
    risk: np.ndarray
    shift: float
    den: np.ndarray
    mu: np.ndarray
    haz: np.ndarray
    wt: np.ndarray
    c1: np.ndarray
    c2: np.ndarray


def evaluate(rs: RiskSets, beta: np.ndarray, *, derivatives: bool = True) -> PartialLikelihood:
    """Log partial likelihood, score and information at ``beta`` (Efron or Breslow via ``rs``).

    Efron: with d tied deaths at age t, the k-th pseudo-death (k = 0..d−1) sees the denominator
    ``S0 − (k/d)·D0`` and covariate mean ``(S1 − (k/d)·D1)/(S0 − (k/d)·D0)``, where D sums over the tied
    deaths; each pseudo-death carries the average death weight. Breslow is the special case k/d = 0.
    """
    p = rs.x.shape[1]
    eta = rs.x @ beta if p else np.zeros(rs.n_active)
    shift = float(eta.max()) if eta.size else 0.0
    risk = eta - shift
    np.exp(risk, out=risk)
    v = rs.w * risk
    s0, suffix = _riskset_sum(rs, v)
    eta_dead = rs.x_dead @ beta if p else np.zeros(rs.dead.size)
    dv = rs.w_dead * np.exp(eta_dead - shift)
    d0 = np.bincount(rs.dead_bin, weights=dv, minlength=rs.n_bins)
    pb, pf = rs.pair_bin, rs.pair_frac
    den = s0[pb] - pf * d0[pb]
    wt = (rs.dw / np.maximum(rs.d, 1))[pb]
    with np.errstate(divide="ignore", invalid="ignore"):
        loglik = float(np.dot(rs.w_dead, eta_dead) - np.dot(wt, np.log(den) + shift))
        haz = wt / den
    mu = np.empty((pb.size, p))
    s1 = np.empty((rs.n_bins, p))
    d1 = np.empty((rs.n_bins, p))
    for a in range(p):
        xv = v * rs.x[:, a]
        s1[:, a] = _riskset_sum(rs, xv, suffix)[0]
        d1[:, a] = np.bincount(rs.dead_bin, weights=dv * rs.x_dead[:, a], minlength=rs.n_bins)
        mu[:, a] = (s1[pb, a] - pf * d1[pb, a]) / den
    score = rs.w_dead @ rs.x_dead - wt @ mu if p else np.zeros(0)
    c1 = np.bincount(pb, weights=haz, minlength=rs.n_bins)
    c2 = np.bincount(pb, weights=haz * pf, minlength=rs.n_bins)
    out = PartialLikelihood(loglik, score, np.zeros((p, p)), eta, risk, shift, den, mu, haz, wt, c1, c2)
    if derivatives and p:
        out.info = weighted_information(rs, out, np.ones(rs.n_bins))
    return out


def weighted_information(rs: RiskSets, pl: PartialLikelihood, a: np.ndarray) -> np.ndarray:
    """Σ_j a_j · I_j, the information contributions of the death ages weighted by ``a`` (a ≡ 1: the
    observed information; a = g(t): the cross blocks of the Grambsch–Therneau test).

    I_j = Σ_k w̄_j [(S2_j − f_k D2_j)/den_jk − μ_jk μ_jkᵀ]. The S2 part is rewritten as
    Σ_i v_i x_i x_iᵀ Σ_{j: i at risk} a_j Σ_k w̄_j/den_jk (one weighted cross-product over the spells), so
    the p × p second moments are never formed per death age.
    """
    p = rs.x.shape[1]
    v = rs.w * pl.risk
    cum_weight = _over_bins(rs, pl.c1 * a)
    info = np.zeros((p, p))
    for s in range(0, rs.n_active, _CHUNK):
        xs = rs.x[s : s + _CHUNK]
        info += xs.T @ (xs * (v[s : s + _CHUNK] * cum_weight[s : s + _CHUNK])[:, None])
    xd = rs.x_dead
    info -= xd.T @ (xd * (v[rs.dead] * (pl.c2 * a)[rs.dead_bin])[:, None])
    hw = pl.wt * a[rs.pair_bin]
    info -= pl.mu.T @ (pl.mu * hw[:, None])
    return (info + info.T) / 2


def score_residuals(rs: RiskSets, pl: PartialLikelihood, rows: slice = slice(None)) -> np.ndarray:
    """Score (Schoenfeld-type martingale) residuals of the active spells ``rows``, as R's ``agscore3``.

    For spell i, ∫ (x_i − x̄(t)) dM_i(t) with dM_i = dN_i − exp(η_i) dΛ(t); Efron's tied deaths receive
    the mean of the pseudo-death means and only the fraction (1 − k/d) of each hazard increment. Returned
    unweighted (multiply by the case weights for R's ``weighted = TRUE``).
    """
    return _ResidualParts(rs, pl).rows(rows)


def cluster_scores(rs: RiskSets, pl: PartialLikelihood, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Weighted score residuals summed within clusters (organizations): the (G, p) matrix whose
    cross-product, sandwiched by the inverse information, is R's ``coxph(..., cluster =)`` variance.
    Computed in chunks of spells so that no n × p residual matrix is held."""
    parts = _ResidualParts(rs, pl)
    p = rs.x.shape[1]
    out = np.zeros((n_clusters, p))
    for s in range(0, rs.n_active, _CHUNK):
        sl = slice(s, min(s + _CHUNK, rs.n_active))
        res = parts.rows(sl)
        res *= rs.w[sl, None]
        cl = cluster[sl]
        for a in range(p):
            out[:, a] += np.bincount(cl, weights=res[:, a], minlength=n_clusters)
    return out


class _ResidualParts:
    """Cumulative hazard sums per bin, shared by all chunks of the score-residual computation."""

    def __init__(self, rs: RiskSets, pl: PartialLikelihood) -> None:
        p = rs.x.shape[1]
        hz = pl.haz  # hazard increment per pseudo-death: mean death weight / denominator
        pb, pf, nb = rs.pair_bin, rs.pair_frac, rs.n_bins
        h_bin = np.bincount(pb, weights=hz, minlength=nb)
        hx_bin = np.column_stack([np.bincount(pb, weights=hz * pl.mu[:, a], minlength=nb) for a in range(p)])
        self.cum_h = np.concatenate([[0.0], np.cumsum(h_bin)])
        self.cum_hx = np.vstack([np.zeros((1, p)), np.cumsum(hx_bin.reshape(nb, p), axis=0)])
        # deaths: + (x − mean of the pseudo-death means), and give back the fraction k/d of each increment
        self.mh1 = np.bincount(pb, weights=hz * pf, minlength=nb)
        self.mh2 = np.column_stack(
            [np.bincount(pb, weights=hz * pf * pl.mu[:, a], minlength=nb) for a in range(p)]
        ).reshape(nb, p)
        self.mh3 = np.column_stack(
            [np.bincount(pb, weights=pl.mu[:, a], minlength=nb) / np.maximum(rs.d, 1) for a in range(p)]
        ).reshape(nb, p)
        self.cum_hx_cols = [np.ascontiguousarray(self.cum_hx[:, a]) for a in range(p)]
        self.rs, self.pl = rs, pl

    def rows(self, sl: slice) -> np.ndarray:
        rs, pl = self.rs, self.pl
        lo, hi = rs.lo[sl], rs.hi[sl]
        x = rs.x[sl]
        risk = pl.risk[sl]
        ch = self.cum_h[hi] - self.cum_h[lo]
        resid = np.empty(x.shape, order="F")
        for a in range(x.shape[1]):  # column by column: 1-D gathers from the small per-bin tables
            col = self.cum_hx_cols[a]
            resid[:, a] = (col[lo] - col[hi] + x[:, a] * ch) * -risk
        first = 0 if sl.start is None else sl.start
        last = rs.n_active if sl.stop is None else sl.stop
        k0, k1 = np.searchsorted(rs.dead, [first, last])
        dead = rs.dead[k0:k1]
        j = rs.dead_bin[k0:k1]
        xd = rs.x[dead]
        resid[dead - first] += (xd - self.mh3[j]) + pl.risk[dead, None] * (
            xd * self.mh1[j, None] - self.mh2[j]
        )
        return resid


@dataclass
class BaselineHazard:
    """The fitted baseline hazard per bin (distinct death age within stratum), at covariates ``x_mean``.

    ``hazard`` is the increment dΛ₀(t) (Breslow, or Efron's averaged increment over the tied deaths),
    ``var_hazard`` its Tsiatis variance increment Σ_k w̄/den_k², ``xbar`` the increment of ∫ (x̄(t) − x_mean)
    dΛ₀(t) (rows: bins, columns: covariates), as R's ``agsurv`` (``survfit.coxph``) computes them;
    ``n_risk`` / ``n_event`` the summed case weights at risk and dying.
    """

    time: np.ndarray
    stratum: np.ndarray
    hazard: np.ndarray
    var_hazard: np.ndarray
    xbar: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    x_mean: np.ndarray


def baseline_hazard(rs: RiskSets, pl: PartialLikelihood) -> BaselineHazard:
    """Baseline hazard increments of a fitted model from its risk sets and partial likelihood at β̂."""
    p = rs.x.shape[1]
    pb, nb = rs.pair_bin, rs.n_bins
    scale = np.exp(-pl.shift)  # den was rescaled by exp(-shift): undo it
    haz = pl.haz * scale
    var = pl.wt / (pl.den / scale) ** 2
    xbar = np.column_stack(
        [np.bincount(pb, weights=haz * pl.mu[:, a], minlength=nb) for a in range(p)]
    ).reshape(nb, p)
    return BaselineHazard(
        time=rs.bin_time,
        stratum=rs.bin_stratum,
        hazard=np.bincount(pb, weights=haz, minlength=nb),
        var_hazard=np.bincount(pb, weights=var, minlength=nb),
        xbar=xbar,
        n_risk=_riskset_sum(rs, rs.w)[0],
        n_event=rs.dw,
        x_mean=rs.x_mean,
    )
