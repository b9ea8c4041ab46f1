"""Harrell's concordance C of a hazard model on counting-process (start, stop] data, as R's ``concordance()``.

For each death at time t, every other spell at risk at t (start < t <= stop) that does not also end in a
death at t is a comparable pair: *concordant* when the dying organization had the higher risk score
(linear predictor), *discordant* when lower, *tied on x* when equal (counted as one half). Deaths at the
same time form pairs *tied on y* (not comparable). C = (concordant + tied_x / 2) / (concordant +
discordant + tied_x): 0.5 is no better than chance, 1 ranks every death perfectly. Strata are compared
within themselves. This is R ``survival::concordance(coxph_fit)`` with its default ``timewt = "n"`` (each
comparable pair weighs one).

The standard error is R's default, the infinitesimal jackknife: each spell's influence is the change of C
when its weight changes, from the pairs it is part of (as the death or as the survivor).

The at-risk counts come from a Fenwick tree over the ranks of the scores, updated and queried per event
time in vectorised batches, so the cost is O(n log n) in the number of spells.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Concordance:
    """Counts of comparable pairs and the concordance they give."""

    estimate: float | None
    #: infinitesimal-jackknife standard error over spells (R's ``sqrt(concordance(fit)$var)``)
    se: float | None
    concordant: float
    discordant: float
    tied_x: float
    tied_y: float
    tied_xy: float

    def to_dict(self) -> dict[str, float | None | str]:
        return {
            **asdict(self),
            "method": "Harrell's C over (start, stop] risk sets, ties in the score count 1/2; SE by the "
            "infinitesimal jackknife over spells (as R survival::concordance)",
        }


class _Fenwick:
    """Counts of scores by rank with vectorised add and prefix-count queries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tree = np.zeros(size + 1, dtype=np.int64)

    def add(self, ranks: np.ndarray, delta: int) -> None:
        idx = np.asarray(ranks, dtype=np.int64).copy()
        while idx.size:
            np.add.at(self.tree, idx, delta)
            idx = idx + (idx & -idx)
            idx = idx[idx <= self.size]

    def prefix(self, ranks: np.ndarray) -> np.ndarray:
        """Number of stored scores with rank <= each of ``ranks`` (rank 0: none)."""
        idx = np.asarray(ranks, dtype=np.int64).copy()
        out = np.zeros(idx.size, dtype=np.int64)
        while True:
            live = idx > 0
            if not live.any():
                return out
            out[live] += self.tree[idx[live]]
            idx[live] -= idx[live] & -idx[live]


def _one_stratum(
    start: np.ndarray, stop: np.ndarray, event: np.ndarray, rank: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair counts of one stratum (concordant, discordant, tied_x, tied_y, tied_xy) and, per spell, the
    concordance numerator and denominator of the pairs it is part of (for the infinitesimal jackknife)."""
    counts = np.zeros(5)
    num, den = np.zeros(len(start)), np.zeros(len(start))
    death_times = np.unique(stop[event])
    by_start = np.argsort(start, kind="stable")
    by_stop = np.argsort(stop, kind="stable")
    tree = _Fenwick(size)
    i_in = i_out = 0
    for t in death_times:
        j = int(np.searchsorted(start[by_start], t, side="left"))  # start < t: entered
        if j > i_in:
            tree.add(rank[by_start[i_in:j]], +1)
            i_in = j
        j = int(np.searchsorted(stop[by_stop], t, side="left"))  # stop < t: left before t
        if j > i_out:
            tree.add(rank[by_stop[i_out:j]], -1)
            i_out = j
        dying = np.flatnonzero(event & (stop == t) & (start < t))
        if dying.size == 0:
            continue
        r = rank[dying]
        tree.add(r, -1)  # deaths at t are not compared with one another
        below, upto = tree.prefix(r - 1), tree.prefix(r)
        total = tree.prefix(np.array([size]))[0]
        tree.add(r, +1)
        counts[0] += below.sum()
        counts[2] += (upto - below).sum()
        counts[1] += (total - upto).sum()
        num[dying] += below + 0.5 * (upto - below)
        den[dying] += total
        k = dying.size
        same = np.unique(r, return_counts=True)[1]
        tied_xy = float((same * (same - 1) / 2).sum())
        counts[3] += k * (k - 1) / 2 - tied_xy
        counts[4] += tied_xy
    # each spell as the survivor of a pair: the deaths in (start, stop] (before stop if it dies itself)
    # with a higher (concordant), equal (tied) or lower (discordant) score
    higher_hi, equal_hi, lower_hi = _deaths_upto(stop, ~event, stop[event], rank[event], rank, size)
    higher_lo, equal_lo, lower_lo = _deaths_upto(
        start, np.ones(len(start), bool), stop[event], rank[event], rank, size
    )
    higher, equal, lower = higher_hi - higher_lo, equal_hi - equal_lo, lower_hi - lower_lo
    num += higher + 0.5 * equal
    den += higher + equal + lower
    return counts, num, den


def _deaths_upto(
    when: np.ndarray,
    inclusive: np.ndarray,
    t_death: np.ndarray,
    r_death: np.ndarray,
    rank: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per spell: deaths at times <= ``when`` (< where not ``inclusive``) with a higher, equal and lower
    score rank than the spell's (an offline sweep over the death times)."""
    order = np.argsort(t_death, kind="stable")
    t_sorted, r_sorted = t_death[order], r_death[order]
    pos = np.where(
        inclusive, np.searchsorted(t_sorted, when, side="right"), np.searchsorted(t_sorted, when, side="left")
    )
    higher, equal, lower = (np.zeros(len(when)) for _ in range(3))
    tree = _Fenwick(size)
    added = 0
    for p in np.unique(pos):
        if p > added:
            tree.add(r_sorted[added:p], +1)
            added = int(p)
        q = np.flatnonzero(pos == p)
        below, upto = tree.prefix(rank[q] - 1), tree.prefix(rank[q])
        lower[q], equal[q], higher[q] = below, upto - below, added - upto
    return higher, equal, lower


def concordance(
    start: np.ndarray,
    stop: np.ndarray,
    event: np.ndarray,
    score: np.ndarray,
    strata: np.ndarray | None = None,
) -> Concordance:
    """Harrell's C of risk ``score`` (higher = shorter survival) on (start, stop] spells with ``event``."""
    start = np.asarray(start, dtype=float)
    stop = np.asarray(stop, dtype=float)
    event = np.asarray(event).astype(bool)
    score = np.asarray(score, dtype=float)
    if not (len(start) == len(stop) == len(event) == len(score)):
        raise ValueError("start, stop, event and score must have the same length")
    if np.any(~np.isfinite(score)):
        raise ValueError("risk scores must be finite")
    _, rank = np.unique(score, return_inverse=True)
    rank = rank.astype(np.int64) + 1
    size = int(rank.max()) if rank.size else 0
    groups = (
        np.zeros(len(start), dtype=np.int64) if strata is None else np.unique(strata, return_inverse=True)[1]
    )
    counts = np.zeros(5)
    num, den = np.zeros(len(start)), np.zeros(len(start))
    for g in np.unique(groups):
        m = groups == g
        c, num[m], den[m] = _one_stratum(start[m], stop[m], event[m], rank[m], size)
        counts += c
    conc, disc, tx = counts[0], counts[1], counts[2]
    denom = conc + disc + tx
    if denom <= 0:
        return Concordance(
            None, None, float(conc), float(disc), float(tx), float(counts[3]), float(counts[4])
        )
    est = float((conc + tx / 2) / denom)
    # infinitesimal jackknife over spells, R's default variance of concordance()
    influence = (num - est * den) / denom
    se = float(np.sqrt(np.sum(influence**2)))
    return Concordance(est, se, float(conc), float(disc), float(tx), float(counts[3]), float(counts[4]))
