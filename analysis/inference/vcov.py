"""One covariance vocabulary and one sandwich estimator for every model family.

Kinds (``se_type`` in params and results):

* ``model``: the inverse information of the likelihood (observed or expected, as the family states);
* ``CR0``: cluster-robust sandwich  B (Σ_g s_g s_gᵀ) B  with no small-sample factor (R ``coxph(cluster=)``,
  ``sandwich::vcovCL(type = "HC0", cadjust = FALSE)``);
* ``CR1``: the same times the one small-sample rule of this project,
  c = G/(G−1) · (n−1)/(n−K)  (G clusters, n observations, K estimated parameters) — R's
  ``sandwich::vcovCL`` default (``type = "HC1"``, ``cadjust = TRUE``), Stata's ``regress, vce(cluster)`` and
  statsmodels' ``cov_type="cluster"``.

B is the bread (inverse information) and s_g the sum of the score contributions of cluster g. Legacy spellings
(``cluster_cr0``, ``cluster_cr1``, ``cluster``, ``observed``) are accepted and mapped to these three kinds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

KINDS = ("model", "CR0", "CR1")
_ALIASES = {
    "model": "model",
    "observed": "model",
    "expected": "model",
    "cr0": "CR0",
    "cluster_cr0": "CR0",
    "cr1": "CR1",
    "cluster_cr1": "CR1",
    "cluster": "CR1",
}
CR1_RULE = "G/(G-1)·(n-1)/(n-K)"


def se_kind(value: str) -> str:
    """The canonical kind (``model``, ``CR0``, ``CR1``) of a user or legacy ``se_type`` spelling."""
    kind = _ALIASES.get(str(value).strip().lower())
    if kind is None:
        raise ValueError(
            f"se_type {value!r} is not one of {', '.join(KINDS)} (also accepted: {', '.join(sorted(_ALIASES))})"
        )
    return kind


def se_label(kind: str, cluster: str | None = None) -> str:
    """The words results and tables use for a covariance kind."""
    kind = se_kind(kind)
    if kind == "model":
        return "model-based (inverse information)"
    rule = "no small-sample factor" if kind == "CR0" else CR1_RULE
    return f"cluster-robust {kind} by {cluster or 'cluster'} ({rule})"


def cluster_score_sums(scores: np.ndarray, groups: Sequence | np.ndarray) -> tuple[np.ndarray, int]:
    """Per-cluster sums of the score contributions (G × K) and the number of clusters G."""
    codes, _ = pd.factorize(np.asarray(groups), sort=False)
    if (codes < 0).any():
        raise ValueError("cluster variable has missing values")
    n_g = int(codes.max()) + 1 if len(codes) else 0
    sums = np.zeros((n_g, scores.shape[1]))
    np.add.at(sums, codes, scores)
    return sums, n_g


def small_sample_factor(kind: str, n_clusters: int, n_obs: int, n_params: int) -> float:
    """1 for ``model`` and ``CR0``; G/(G−1)·(n−1)/(n−K) for ``CR1``."""
    kind = se_kind(kind)
    if kind != "CR1":
        return 1.0
    if n_clusters < 2 or n_obs <= n_params:
        return float("nan")
    return n_clusters / (n_clusters - 1.0) * (n_obs - 1.0) / (n_obs - n_params)


def sandwich(
    bread: np.ndarray,
    scores: np.ndarray,
    groups: Sequence | np.ndarray,
    kind: str = "CR1",
    *,
    n_params: int | None = None,
) -> tuple[np.ndarray, int]:
    """Cluster-robust covariance B M B with M = c · Σ_g s_g s_gᵀ, and the number of clusters.

    ``scores`` holds one row of score contributions per observation (n × K); ``n_params`` overrides K in
    the CR1 factor (e.g. to count parameters absorbed by fixed effects); ``kind`` ``model`` returns the
    bread itself."""
    kind = se_kind(kind)
    if kind == "model":
        return np.asarray(bread, dtype=float), 0
    sums, n_g = cluster_score_sums(scores, groups)
    k = scores.shape[1] if n_params is None else n_params
    c = small_sample_factor(kind, n_g, scores.shape[0], k)
    return c * (bread @ (sums.T @ sums) @ bread), n_g
