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

The pair counts are dominance counts (spells that entered before t and have a lower score, minus those that
left before t), answered for all deaths at once by a merge-sort tree of sorted key arrays queried with
``searchsorted``: fully vectorised, O(n log² n) in the number of spells, with no loop over event times.
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


class _Dominance:
    """Counts of points (a, rank) with a below a threshold and rank below / at a query rank, answered for
    many queries at once: a merge-sort tree over the points in ``a`` order, one sorted key array per level
    (keys ``block · M + rank``), queried by ``searchsorted`` — vectorised, O((n + q) log² n)."""

    def __init__(self, a: np.ndarray, rank: np.ndarray, size: int) -> None:
        order = np.argsort(a, kind="stable")
        self.a = a[order]
        self.m = np.int64(size + 2)
        r = rank[order].astype(np.int64)
        n = len(r)
        self.levels: list[np.ndarray] = []
        width = 1
        idx = np.arange(n, dtype=np.int64)
        while width <= max(n, 1):
            self.levels.append(np.sort((idx // width) * self.m + r))
            width *= 2

    def below(
        self, threshold: np.ndarray, rank: np.ndarray, *, inclusive_a: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per query: points with a < threshold (<= where ``inclusive_a``) and rank < query rank, and those
        with rank <= query rank."""
        p = np.searchsorted(self.a, threshold, side="right" if inclusive_a else "left").astype(np.int64)
        r = np.asarray(rank, dtype=np.int64)
        less = np.zeros(len(p), dtype=np.int64)
        upto = np.zeros(len(p), dtype=np.int64)
        for level, keys in enumerate(self.levels):
            k = p >> level
            use = (k & 1).astype(bool)
            if not use.any():
                continue
            block = k[use] - 1
            base = np.searchsorted(keys, block * self.m, side="left")
            less[use] += np.searchsorted(keys, block * self.m + r[use], side="left") - base
            upto[use] += np.searchsorted(keys, block * self.m + r[use], side="right") - base
        return less, upto


def _one_stratum(
    start: np.ndarray, stop: np.ndarray, event: np.ndarray, rank: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair counts of one stratum (concordant, discordant, tied_x, tied_y, tied_xy) and, per spell, the
    concordance numerator and denominator of the pairs it is part of (for the infinitesimal jackknife)."""
    counts = np.zeros(5)
    num, den = np.zeros(len(start)), np.zeros(len(start))
    dead = np.flatnonzero(event)
    if dead.size == 0:
        return counts, num, den
    t, r = stop[dead], rank[dead]
    # each death against every spell at risk at its time (start < t <= stop) ...
    entered = _Dominance(start, rank, size)
    left = _Dominance(stop, rank, size)
    e_less, e_upto = entered.below(t, r)
    l_less, l_upto = left.below(t, r)
    n_at_risk = np.searchsorted(np.sort(start), t, side="left") - np.searchsorted(
        np.sort(stop), t, side="left"
    )
    # ... except the deaths at the same time (tied on y), itself included
    same_t = _Dominance(t, r, size)
    s_less_hi, s_upto_hi = same_t.below(t, r, inclusive_a=True)
    s_less_lo, s_upto_lo = same_t.below(t, r)
    s_less, s_upto = s_less_hi - s_less_lo, s_upto_hi - s_upto_lo
    n_same = np.searchsorted(np.sort(t), t, side="right") - np.searchsorted(np.sort(t), t, side="left")
    less = (e_less - l_less) - s_less
    upto = (e_upto - l_upto) - s_upto
    total = n_at_risk - n_same
    counts[0] = less.sum()
    counts[2] = (upto - less).sum()
    counts[1] = (total - upto).sum()
    counts[4] = ((s_upto - s_less - 1).sum()) / 2  # pairs of deaths at one time with the same score
    counts[3] = (n_same - 1).sum() / 2 - counts[4]
    num[dead] += less + 0.5 * (upto - less)
    den[dead] += total
    # each spell as the survivor of a pair: the deaths in (start, stop] (before stop if it dies itself)
    deaths = _Dominance(t, r, size)
    hi_less = np.empty(len(start))
    hi_upto = np.empty(len(start))
    alive = ~event
    for mask, inclusive in ((alive, True), (event, False)):
        a, b = deaths.below(stop[mask], rank[mask], inclusive_a=inclusive)
        hi_less[mask], hi_upto[mask] = a, b
    n_hi = np.where(
        alive, np.searchsorted(np.sort(t), stop, side="right"), np.searchsorted(np.sort(t), stop, side="left")
    )
    lo_less, lo_upto = deaths.below(start, rank, inclusive_a=True)
    n_lo = np.searchsorted(np.sort(t), start, side="right")
    lower = hi_less - lo_less
    equal = (hi_upto - lo_upto) - lower
    higher = (n_hi - n_lo) - (hi_upto - lo_upto)
    num += higher + 0.5 * equal
    den += higher + equal + lower
    return counts, num, den


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
    if np.any(~(stop > start)):
        raise ValueError("every spell needs stop > start (counting-process form)")
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
