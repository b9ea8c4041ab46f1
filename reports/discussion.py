"""Dataset-specific discussion paragraphs for the report, composed from the result files.

Only the wording is written here; every number is read from a result JSON (and formatted), so the text
changes with the estimates. The COW IGO discussion sets the shapes found against the published
organizational-ecology analyses of that population.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _load(root: Path, area: str, model: str) -> dict[str, Any] | None:
    path = root / area / f"{model}.json"
    if not path.exists():
        return None
    res = json.loads(path.read_text(encoding="utf-8"))
    return res if res["fit"]["converged"] else None


def _coef(res: dict[str, Any] | None, term: str) -> dict[str, Any] | None:
    if res is None:
        return None
    return next((t for t in res["terms"] if t["term"] == term), None)


def _num(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _founding_sentence(root: Path) -> str:
    res = _load(root, "founding", "nb_density2") or _load(root, "founding", "poisson_density2")
    b1, b2 = _coef(res, "density"), _coef(res, "density_sq")
    if res is None or b1 is None or b2 is None:
        return "The density-dependence founding model could not be estimated."
    ns = res["derived"].get("n_star", {})
    shape = "an inverted U (legitimation, then competition)" if b1["coef"] > 0 > b2["coef"] else (
        "a U shape" if b1["coef"] < 0 < b2["coef"] else "no curvature consistent with the theory")
    inside = "inside" if ns.get("inside_range") else "outside"
    return (
        f"In the {res['model']} founding model density has a first-order coefficient of {_num(b1['coef'])} "
        f"(p = {_num(b1['p'], 2)}) and a second-order coefficient of {_num(b2['coef'])} (p = {_num(b2['p'], 2)}): "
        f"{shape}. The founding rate peaks at N* = {_num(ns.get('estimate'))} organizations "
        f"(95% CI {_num(ns.get('ci_low'))}–{_num(ns.get('ci_high'))}), {inside} the observed density range."
    )


def _bottleneck_sentence(root: Path) -> str:
    parts = []
    lg = _load(root, "bottleneck", "logistic_density")
    if lg is not None:
        d = lg["derived"]
        parts.append(
            f"The logistic curve puts the carrying capacity at K = {_num(d.get('K', {}).get('estimate'))} "
            f"(95% CI {_num(d.get('K', {}).get('ci_low'))}–{_num(d.get('K', {}).get('ci_high'))}), reached to 90% "
            f"around {_num(d.get('t90', {}).get('estimate'), 4)}."
        )
    else:
        parts.append("A logistic carrying capacity is not identified from this density path.")
    eq = _load(root, "bottleneck", "equilibrium_density")
    if eq is not None and eq["derived"].get("equilibrium"):
        e = eq["derived"]["equilibrium"]
        parts.append(
            f"Expected foundings equal expected exits at N = {_num(e.get('estimate'))} "
            f"(95% CI {_num(e.get('ci_low'))}–{_num(e.get('ci_high'))})."
        )
    br = _load(root, "bottleneck", "break_founding_log1p")
    if br is not None:
        parts.append(
            f"The sup-F test locates the strongest break in the founding series in {br['derived'].get('break_year')} "
            f"(sup-F = {_num(br['derived'].get('sup_f'))}, p = {_num(br['derived'].get('p_value'), 2)})."
        )
    return " ".join(parts)


def _mortality_sentence(root: Path) -> str:
    cox = _load(root, "survival", "cox_density")
    g1, g2 = _coef(cox, "density"), _coef(cox, "density_sq")
    if cox is None or g1 is None or g2 is None:
        return ""
    nm = cox["derived"].get("density_minimum", {})
    return (
        f"In the Cox model of mortality the density terms are {_num(g1['coef'])} and {_num(g2['coef'])}, "
        f"so mortality is lowest at N = {_num(nm.get('estimate'))}."
    )


def discussion_text(dataset: str, results_root: Path, literature: str | None = None) -> str:
    """The discussion paragraph(s) of a dataset's report."""
    root = Path(results_root)
    body = " ".join(s for s in (_founding_sentence(root), _mortality_sentence(root), _bottleneck_sentence(root)) if s)
    if dataset == "cow_igo":
        return (
            "Against the published literature. Ingram & Torfason (2010, ASQ 55) model IGO founding and failure "
            "as density dependent; Eilstrup-Sangiovanni (2020, Review of International Organizations 15) finds "
            "IGO mortality shaped by age and density; Abbott, Green & Keohane (2016, International Organization "
            "70) argue that density and crowding slowed IGO creation after the 1990s, a carrying-capacity "
            "argument. COW documents IGO density rising from about 95 (1950) to a peak of about 339 (1994) and "
            f"flattening after. Here: {body} A founding peak inside the observed range and a carrying capacity "
            "near the 1990s peak are the shapes that literature leads one to expect; an N* or K far outside "
            "the observed range would contradict it."
        )
    if literature:
        return f"{literature} {body}"
    return body
