"""Honest reporting of weak estimates: does a fitted model carry enough information for its claims?

Every result is assessed once, as the stage writes it (see ``pipeline/stages/common.py``), against the
information its family needs:

* **events per parameter** for hazard models (Cox, piecewise exponential, discrete-time cloglog,
  parametric proportional hazards, stagnation/dissolution hazards) — the 10-events-per-variable rule of
  Peduzzi et al. (1996);
* **observations per parameter** for the yearly series models (founding and exit counts, the logistic
  carrying-capacity curve, growth regressions): a 10-year series cannot carry a 5-parameter NB2;
* **clusters**: a cluster-robust covariance from G clusters has rank at most G − 1, so fewer clusters than
  parameters (or fewer than ``min_clusters``) leave the standard errors unreliable;
* **candidate years** of a structural-break test;
* a **near-singular covariance** (condition number of its correlation matrix) or **standard errors** that
  dwarf their estimates (founding models on data without variation "converge" with SEs near 1e6);
* a **collapsed sample** (fewer than half of the available rows used).

A result that fails a rule is *weak*: tables print no stars for it and carry a note, and the discussion does
not state it as a finding. Separately, quantities whose intervals contradict the data are *flagged*: a
carrying capacity K below the densities observed, a turning point N* outside the observed density range.
The verdict is written into the result JSON (``assessment``), the log and the report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Families whose information is the number of events (deaths, exits, stagnations).
HAZARD_FAMILIES = ("cox", "poisson_hazard", "binomial", "weibull", "gompertz", "exponential")
#: Families without estimated parameters (descriptive estimators): only the sample rule applies.
NONPARAMETRIC_FAMILIES = ("kaplan_meier", "aalen_johansen", "derived", "none")


@dataclass(frozen=True)
class Rules:
    """Thresholds below which an estimate is reported as weak (``params.yaml: assessment``)."""

    min_events_per_parameter: float = 10.0
    min_observations_per_parameter: float = 5.0
    min_clusters: int = 10
    min_break_candidates: int = 10
    max_se_ratio: float = 1e3
    max_condition_number: float = 1e12
    min_sample_share: float = 0.5

    @classmethod
    def from_params(cls, block: Mapping[str, Any] | None) -> Rules:
        """Rules from the ``assessment`` block of params (unknown keys are an error, never ignored)."""
        block = dict(block or {})
        known = set(asdict(cls()))
        unknown = sorted(set(block) - known)
        if unknown:
            raise ValueError(f"params assessment: unknown key(s) {unknown}; valid keys: {sorted(known)}")
        return cls(**block)


def _is_hazard(result: Mapping[str, Any]) -> bool:
    """Hazard models count events; yearly series and regressions count observations."""
    family = str(result.get("family", ""))
    if result.get("stage") == "fit_survival":
        return family not in NONPARAMETRIC_FAMILIES
    model = str(result.get("model", ""))
    return model.endswith("_hazard") or family.startswith(HAZARD_FAMILIES)


def _estimated_terms(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in result.get("terms", []) if t.get("coef") is not None]


def _information(result: Mapping[str, Any], rules: Rules) -> tuple[dict[str, Any] | None, list[str]]:
    """Events or observations per estimated parameter against the family's requirement."""
    k = len(_estimated_terms(result))
    if k == 0 or result.get("family") in NONPARAMETRIC_FAMILIES:
        return None, []
    sample = result.get("sample", {}) or {}
    if _is_hazard(result):
        unit, have, need = "events", sample.get("events"), rules.min_events_per_parameter
    else:
        unit, have, need = "observations", sample.get("n"), rules.min_observations_per_parameter
    if have is None:
        return None, []
    per = have / k
    info = {"unit": unit, "count": int(have), "parameters": k, "per_parameter": per, "required": need}
    reasons = []
    if per < need:
        reasons.append(
            f"{have} {unit} for {k} parameters ({per:.1f} per parameter; at least {need:g} needed)"
        )
    return info, reasons


def _clusters(result: Mapping[str, Any], rules: Rules) -> list[str]:
    se_type = str((result.get("fit", {}) or {}).get("se_type") or "").lower()
    groups = (result.get("sample", {}) or {}).get("n_groups")
    if "cluster" not in se_type or not groups:
        return []
    k = len(_estimated_terms(result))
    if groups <= k:
        return [
            f"cluster-robust covariance from {groups} clusters for {k} parameters has rank at most "
            f"{groups - 1}: the standard errors are not identified"
        ]
    if groups < rules.min_clusters:
        return [f"only {groups} clusters (at least {rules.min_clusters} needed for cluster-robust SEs)"]
    return []


def _precision(result: Mapping[str, Any], rules: Rules) -> list[str]:
    reasons = []
    huge = []
    for t in _estimated_terms(result):
        se = t.get("se")
        if se is None or not math.isfinite(se):
            huge.append(f"{t['term']} (no finite SE)")
        elif se > rules.max_se_ratio * max(1.0, abs(t["coef"])):
            huge.append(f"{t['term']} (SE {se:.3g})")
    if huge:
        reasons.append("standard errors out of proportion to the estimates: " + ", ".join(huge))
    vc = result.get("vcov")
    if isinstance(vc, Mapping) and vc.get("matrix"):
        m = np.asarray(vc["matrix"], dtype=float)
        d = np.sqrt(np.abs(np.diag(m)))
        if m.size and np.all(np.isfinite(m)) and np.all(d > 0):
            cond = float(np.linalg.cond(m / np.outer(d, d)))
            if not math.isfinite(cond) or cond > rules.max_condition_number:
                reasons.append(f"near-singular covariance (condition number {cond:.3g})")
    return reasons


def _breaks(result: Mapping[str, Any], rules: Rules) -> list[str]:
    cand = (result.get("derived", {}) or {}).get("candidate_years")
    if not (isinstance(cand, list) and len(cand) == 2 and all(isinstance(c, int) for c in cand)):
        return []
    n = cand[1] - cand[0] + 1
    if n < rules.min_break_candidates:
        return [
            f"break searched over only {n} candidate years ({cand[0]}–{cand[1]}; at least "
            f"{rules.min_break_candidates} needed for the sup-F distribution to be informative)"
        ]
    return []


def _sample(result: Mapping[str, Any], rules: Rules) -> list[str]:
    s = result.get("sample", {}) or {}
    n = s.get("n")
    available = s.get("n_available", s.get("n_input"))
    if available is None and isinstance(s.get("dropped"), int) and n is not None:
        available = n + s["dropped"]
    cc = s.get("complete_case")
    if isinstance(cc, Mapping) and cc.get("spells_available"):
        n, available, unit = cc.get("spells_used"), cc["spells_available"], "spells"
    else:
        unit = "rows"
    if not n or not available or available <= 0:
        return []
    share = n / available
    if share < rules.min_sample_share:
        return [f"sample collapsed: {n} of {available} available {unit} used ({share:.0%})"]
    return []


def _flags(result: Mapping[str, Any]) -> list[str]:
    """Intervals and turning points that contradict the data the model was fitted on."""
    flags = []
    derived = result.get("derived", {}) or {}
    for key, what in (("n_star", "turning point N*"), ("density_minimum", "density of lowest hazard")):
        q = derived.get(key)
        if isinstance(q, Mapping) and q.get("estimate") is not None and q.get("inside_range") is False:
            rng = q["observed_range"]  # every turning point carries it (analysis.inference.turning_point)
            flags.append(
                f"{what} = {q['estimate']:.4g} lies outside the observed density range "
                f"[{rng[0]:g}, {rng[1]:g}]"
            )
    k = next((t for t in result.get("terms", []) if t.get("term") == "K"), None)
    top = derived.get("max_observed")
    if k is not None and k.get("coef") is not None and top:
        if k["coef"] < top:
            flags.append(
                f"carrying capacity K = {k['coef']:.4g} is below the highest observed density ({top:g})"
            )
        elif k["coef"] > 1.5 * top:
            flags.append(
                f"carrying capacity K = {k['coef']:.4g} is {k['coef'] / top:.2g} times the highest observed "
                "density: an extrapolation beyond the data"
            )
        prof = derived.get("K_profile")
        if isinstance(prof, Mapping) and prof.get("ci_high") is None:
            flags.append(
                "the profile interval of K is unbounded above: the carrying capacity is not identified"
            )
        lo, hi = k.get("ci_low"), k.get("ci_high")
        if lo is not None and hi is not None and lo > 0 and hi / lo > 10:
            flags.append(f"the 95% CI of K [{lo:.4g}, {hi:.4g}] spans more than an order of magnitude")
    return flags


def assess(result: Mapping[str, Any], rules: Rules | None = None) -> dict[str, Any]:
    """The ``assessment`` entry of a result: weak or not, why, flags, and the information it carried."""
    rules = rules or Rules()
    if not (result.get("fit", {}) or {}).get("converged", False):
        return {"weak": False, "reasons": [], "flags": [], "information": None}
    info, reasons = _information(result, rules)
    for rule in (_clusters, _precision, _breaks, _sample):
        reasons += rule(result, rules)
    return {"weak": bool(reasons), "reasons": reasons, "flags": _flags(result), "information": info}


def is_weak(result: Mapping[str, Any]) -> bool:
    """True when a result's estimates are too weakly identified to be read as findings."""
    return bool((result.get("assessment") or {}).get("weak"))


def caveats(result: Mapping[str, Any]) -> list[str]:
    """Reasons and flags of a result, for notes under tables and in the discussion."""
    a = result.get("assessment") or {}
    return [*a.get("reasons", []), *a.get("flags", [])]
