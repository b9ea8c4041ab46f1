"""NB2 (negative binomial, Var = μ + α·μ²) log-likelihood pieces: the log-likelihood itself, per-observation
scores and ``MASS::theta.ml``'s standard error of θ = 1/α.

The log-likelihood stays accurate as α → 0 and needs O(n) memory whatever the counts: the rising factorial
Σ_{j<y} log(1 + j/θ) is an exact running sum for counts up to 2¹⁶ and a log-gamma (Stirling) form above.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats


def nb2_score_obs(y: np.ndarray, x: np.ndarray, mu: np.ndarray, alpha: float) -> np.ndarray:
    """Per-observation scores of the NB2 log-likelihood in (β, α) (α in its natural scale)."""
    a = alpha
    d_eta = (y - mu) / (1.0 + a * mu)
    d_a = (special.digamma(1 / a) - special.digamma(y + 1 / a) + np.log1p(a * mu)) / a**2 + (y - mu) / (
        a * (1 + a * mu)
    )
    return np.column_stack([x * d_eta[:, None], d_a])


def theta_ml_se(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    """Standard error of θ as ``MASS::theta.ml`` reports it (observed information of θ, μ held fixed)."""
    th = theta
    info = np.sum(
        -special.polygamma(1, th + y)
        + special.polygamma(1, th)
        - 1 / th
        + 2 / (mu + th)
        - (y + th) / (mu + th) ** 2
    )
    return float(1.0 / math.sqrt(info)) if info > 0 else math.nan


#: counts up to this use an exact running sum of log(1 + j/θ); larger counts the Stirling form (O(n) memory).
_DIRECT_MAX = 1 << 16
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _log1pmx(r: np.ndarray) -> np.ndarray:
    """log(1 + r) − r for r ≥ 0, accurate also for small r (series below 0.1, where the difference cancels)."""
    r = np.asarray(r, dtype=float)
    out = np.log1p(r) - r
    small = r < 0.1
    if np.any(small):
        rs = r[small]
        acc = np.zeros_like(rs)
        for k in range(18, 1, -1):  # −r²/2 + r³/3 − …, truncation error < 0.1^18/18
            acc = rs * acc + (-1.0) ** (k + 1) / k
        out[small] = acc * rs * rs
    return out


def _stirling_remainder(z: np.ndarray) -> np.ndarray:
    """log Γ(z) − [(z − ½)·log z − z + ½·log 2π] for z ≥ 10 (asymptotic series, error < 1e-13)."""
    z2 = (1.0 / z) ** 2
    return (1.0 / 12.0 - z2 * (1.0 / 360.0 - z2 * (1.0 / 1260.0 - z2 * (1.0 / 1680.0 - z2 / 1188.0)))) / z


def _log_rising_over_power(y: np.ndarray, theta: float) -> np.ndarray:
    """Σ_{j<y} log(1 + j/θ) = log Γ(y + θ) − log Γ(θ) − y·log θ, per count, in O(n) memory.

    Counts up to 2¹⁶ use the exact running sum (a table of that length at most). Larger counts use
    log Γ differences: directly when θ < 10 (no cancellation), otherwise Stirling's form
    θ·(log(1 + r) − r) + (y − ½)·log(1 + r) + R(y + θ) − R(θ) with r = y/θ, which keeps its digits as
    θ → ∞ (α → 0) where the textbook difference loses them all.
    """
    out = np.empty(len(y))
    yi = np.minimum(y, _DIRECT_MAX).astype(np.int64)
    small = y <= _DIRECT_MAX
    if np.any(small):
        top = max(int(yi[small].max()), 1)
        cum = np.concatenate([[0.0], np.cumsum(np.log1p(np.arange(top) / theta))])
        out[small] = cum[yi[small]]
    if not np.all(small):
        big = y[~small]
        if theta < 10.0:
            out[~small] = special.gammaln(big + theta) - special.gammaln(theta) - big * math.log(theta)
        else:
            r = big / theta
            out[~small] = (
                theta * _log1pmx(r)
                + (big - 0.5) * np.log1p(r)
                + _stirling_remainder(big + theta)
                - _stirling_remainder(np.array([theta]))[0]
            )
    return out


def nb2_loglik(y: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    """Full NB2 log-likelihood at means ``mu`` and dispersion ``alpha`` (α = 0 gives the Poisson one).

    Written in a form that stays accurate as α → 0 (θ = 1/α → ∞), where the textbook
    log Γ(y + θ) − log Γ(θ) loses all digits:
    l = Σ_{j<y} log(1 + j/θ) − log y! − θ·log(1 + μ/θ) + y·log μ − y·log(1 + μ/θ),
    with the first sum in log-gamma (Stirling) form for large counts, so memory is O(n) whatever the
    counts (founding counts of 3e9 need no array of that length).
    """
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    if alpha <= 0:
        return float(np.sum(stats.poisson.logpmf(y, mu)))
    theta = 1.0 / alpha
    r = mu / theta
    return float(
        np.sum(
            _log_rising_over_power(y, theta)
            - special.gammaln(y + 1)
            - theta * np.log1p(r)
            + special.xlogy(y, mu)
            - y * np.log1p(r)
        )
    )
