"""Dataset-specific discussion paragraphs for the report, composed from the result files.

Only the wording is written here; every number is read from a result JSON (and formatted), so the text
changes with the estimates. The COW IGO discussion sets the shapes found against the published
organizational-ecology analyses of that population.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.assess import caveats, is_weak
from reports.selection import break_series, of_kind, panel_variable

Results = Mapping[str, Mapping[str, Mapping[str, Any]]]


def _of_kind(results: Results, kind: str, *, converged_only: bool = True) -> list[dict[str, Any]]:
    """The results of one registered kind across the chapters (:func:`reports.selection.of_kind`)."""
    return [
        dict(r) for models in results.values() for r in of_kind(models, kind, converged_only=converged_only)
    ]


def _density_model(candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The pure density model of a sequence: the converged model with both density terms and the fewest
    terms (the density step, before controls are added); negative binomial before Poisson."""
    both = [r for r in candidates if {"density", "density_sq"} <= {t["term"] for t in r["terms"]}]
    both.sort(key=lambda r: (r.get("family") != "negative_binomial", len(r["terms"]), r["model"]))
    return both[0] if both else None


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


def _year(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0f}"


def _p(x: float | None) -> str:
    return "n/a" if x is None else ("< 0.001" if x < 0.001 else f"= {_num(x, 2)}")


def _caveat(res: dict[str, Any] | None) -> str:
    """A clause that keeps a weak or flagged estimate from being read as a finding ("" if neither)."""
    reasons = caveats(res or {})
    if not reasons:
        return ""
    lead = "weakly identified" if is_weak(res or {}) else "flagged"
    return f" This estimate is {lead} and is not read as a finding: {'; '.join(reasons)}."


def _headline_density(results: Results) -> dict[str, Any] | None:
    """The population-level founding model with density and density squared (the density step)."""
    return _density_model([r for r in _of_kind(results, "founding_count") if panel_variable(r) is None])


def _founding_sentence(results: Results, not_applicable: Mapping[str, str]) -> str:
    res = _headline_density(results)
    b1, b2 = _coef(res, "density"), _coef(res, "density_sq")
    if res is None or b1 is None or b2 is None:
        if "founding" in not_applicable:
            return ""
        return "The density-dependence founding model could not be estimated."
    ns = res["derived"].get("n_star", {})
    if is_weak(res):
        return (
            f"The {res['model']} founding model is too weakly identified to read its density terms as "
            f"evidence for or against density dependence: {'; '.join(caveats(res))}."
        )
    shape = (
        "an inverted U (legitimation, then competition)"
        if b1["coef"] > 0 > b2["coef"]
        else ("a U shape" if b1["coef"] < 0 < b2["coef"] else "no curvature consistent with the theory")
    )
    inside = "inside" if ns.get("inside_range") else "outside"
    return (
        f"In the {res['model']} founding model density has a first-order coefficient of {_num(b1['coef'])} "
        f"(p {_p(b1['p'])}) and a second-order coefficient of {_num(b2['coef'])} (p {_p(b2['p'])}): "
        f"{shape}. The founding rate {'is lowest' if b1['coef'] < 0 < b2['coef'] else 'peaks'} at "
        f"N* = {_num(ns.get('estimate'))} organizations "
        f"(95% CI {_num(ns.get('ci_low'))}–{_num(ns.get('ci_high'))}), {inside} the observed density range."
        + _caveat(res)
    )


def _estimate(res: dict[str, Any], name: str) -> dict[str, Any]:
    """A quantity recorded either as a term (``K``, ``r``, ``t0``) or as a derived entry (``t90``)."""
    t = _coef(res, name)
    if t is not None:
        return {"estimate": t["coef"], "ci_low": t.get("ci_low"), "ci_high": t.get("ci_high")}
    d = res["derived"].get(name)
    return d if isinstance(d, dict) else {}


#: How the discussion names the series of a structural-break test, in the order the sentences are written.
_BREAK_WORDS = {"foundings": "founding series", "density_growth": "density growth"}


def _bottleneck_sentence(results: Results) -> str:
    parts = []
    lg = next(iter(_of_kind(results, "logistic_capacity")), None)
    if lg is not None:
        k, t90 = _estimate(lg, "K"), _estimate(lg, "t90")
        parts.append(
            f"The logistic curve puts the carrying capacity at K = {_num(k.get('estimate'))} "
            f"(95% CI {_num(k.get('ci_low'))}\u2013{_num(k.get('ci_high'))}), reached to 90% "
            f"around {_year(t90.get('estimate'))}." + _caveat(lg)
        )
    elif _of_kind(results, "logistic_capacity", converged_only=False):
        parts.append("A logistic carrying capacity is not identified from this density path.")
    eq = next(iter(_of_kind(results, "equilibrium")), None)
    if eq is not None and eq["derived"].get("equilibrium"):
        e = eq["derived"]["equilibrium"]
        parts.append(
            f"Expected foundings equal expected exits at N = {_num(e.get('estimate'))} "
            f"(95% CI {_num(e.get('ci_low'))}\u2013{_num(e.get('ci_high'))})." + _caveat(eq)
        )
    order = list(_BREAK_WORDS)
    breaks = sorted(
        _of_kind(results, "structural_break"),
        key=lambda r: (order.index(break_series(r)) if break_series(r) in order else 99, r["model"]),
    )
    for br in breaks:
        series = _BREAK_WORDS.get(
            str(break_series(br)), str(br["specification"].get("response") or br["model"])
        )
        d = br["derived"]
        pv = d.get("p", d.get("p_value"))
        verdict = "" if pv is None or pv < 0.05 else "; not significant at 5%, so no clear break"
        parts.append(
            f"The sup-F test locates the strongest break in the {series} in {d.get('break_year')} "
            f"(sup-F = {_num(d.get('sup_f'))}, p {_p(pv)}{verdict})." + _caveat(br)
        )
    return " ".join(parts)


def _mortality_sentence(results: Results) -> str:
    from reports.regression import _density_minimum

    cox = _density_model(_of_kind(results, "cox"))
    g1, g2 = _coef(cox, "density"), _coef(cox, "density_sq")
    if cox is None or g1 is None or g2 is None:
        return ""
    nm = _density_minimum(cox) or {}
    text = (
        f"In the Cox model of mortality the density terms are {_num(g1['coef'])} (p {_p(g1['p'])}) and "
        f"{_num(g2['coef'])} (p {_p(g2['p'])}), so mortality is lowest at N = {_num(nm.get('estimate'))} "
        f"organizations (95% CI {_num(nm.get('ci_low'))}\u2013{_num(nm.get('ci_high'))})"
    )
    lo, hi = nm.get("ci_low"), nm.get("ci_high")
    rng = nm.get("observed_range")
    if lo is not None and hi is not None and (lo < 0 or max(g1["p"], g2["p"]) >= 0.05):
        text += "; that minimum is not well determined by these data"
    elif rng and nm.get("estimate") is not None and not nm.get("inside_range", True):
        text += ", outside the observed density range"
    return text + "." + _caveat(cox)


def _competing_sentence(results: Results) -> str:
    """Cause-specific hazards of the exit kinds (death versus competing exits such as mergers or
    succession): events per kind, the density terms of each hazard, weak ones named as such."""
    causes = _of_kind(results, "cox_cause")
    if len(causes) < 2:
        return ""

    def label(r: dict[str, Any]) -> str:
        spec = r["specification"]
        return str(spec.get("cause_label") or str(spec["cause"]).removeprefix("competing:"))

    counts = ", ".join(f"{label(r)} {r['sample'].get('events')}" for r in causes)
    parts = [f"Exits by kind in the cause-specific Cox models (complete cases): {counts}."]
    weak = []
    for r in causes:
        if is_weak(r):
            weak.append(f"{label(r)} ({r['sample'].get('events')} events)")
            continue
        b1, b2 = _coef(r, "density"), _coef(r, "density_sq")
        if b1 is not None and b2 is not None:
            parts.append(
                f"For {label(r)} the density terms are {_num(b1['coef'])} (p {_p(b1['p'])}) and "
                f"{_num(b2['coef'])} (p {_p(b2['p'])})."
            )
    if weak:
        parts.append(
            "The hazards of "
            + ", ".join(weak)
            + " have too few events for their parameters and are not read "
            "as findings."
        )
    return " ".join(parts)


def _assessment(results: Results) -> str:
    """How the estimated founding peak and carrying capacity sit against the observed density path."""
    parts = []
    res = _headline_density(results)
    ns = (res or {}).get("derived", {}).get("n_star") or {}
    if ns.get("estimate") is not None and not is_weak(res or {}):
        if ns.get("shape") == "U":
            parts.append(
                "the founding rate is U-shaped in density (a minimum, not a peak), which "
                "legitimation-then-competition does not predict"
            )
        else:
            parts.append(
                "the founding rate peaks inside the observed density range, as legitimation-then-competition "
                "predicts"
                if ns.get("inside_range")
                else "the founding peak lies outside the observed density range, which the theory does not "
                "predict"
            )
    lg = next(iter(_of_kind(results, "logistic_capacity")), None)
    if lg is not None and not is_weak(lg):
        k = _estimate(lg, "K").get("estimate")
        mx = lg["derived"].get("max_observed")
        if k is not None and mx:
            ratio = k / mx
            near = 0.8 <= ratio <= 1.25
            parts.append(
                f"the carrying capacity K is {ratio:.2f} times the largest observed density ({_num(mx)}), "
                + ("close to where the population levelled off" if near else "not near the observed plateau")
            )
    return ("Compared with that literature: " + "; ".join(parts) + ".") if parts else ""


def discussion_text(
    dataset: str,
    results: Results,
    not_applicable: Mapping[str, str],
    literature: str | None = None,
) -> str:
    """The discussion paragraph(s) of a dataset's report (paragraphs separated by blank lines) from its
    loaded results and not-applicable reasons (:class:`reports.collect.ReportInputs`); the models it reads
    are chosen by their registered kind and terms (``analysis/registry.py``), not their names.

    ``literature`` (``render_report.literature.<dataset>``) is put before the generated text; when given it
    takes precedence over the bundled literature paragraphs (COW IGO), which are used only without it."""
    body = " ".join(
        s
        for s in (
            _founding_sentence(results, not_applicable),
            _mortality_sentence(results),
            _competing_sentence(results),
            _bottleneck_sentence(results),
        )
        if s
    )
    if literature:  # a paragraph given in params (render_report.literature) replaces the bundled one
        return f"{literature} {body}"
    if dataset == "cow_igo":
        return "\n\n".join(
            p
            for p in (
                "Published work on this population: Ingram & Torfason (2010, ASQ 55) model IGO founding and "
                "failure as density dependent; Eilstrup-Sangiovanni (2020, Review of International "
                "Organizations 15) finds IGO mortality shaped by age and density and separates dissolution "
                "from succession (an IGO integrated into or replaced by another is not a death), as the "
                "cause-specific models here do; Abbott, Green & Keohane "
                "(2016, International Organization 70) argue that density and crowding slowed IGO creation "
                "after the 1990s, a carrying-capacity argument. COW documents IGO density rising from about 95 "
                "(1950) to a peak of about 339 (1994) and flattening after.",
                body,
                _assessment(results),
                "A founding peak inside the observed range and a carrying capacity near the 1990s peak are the "
                "shapes that literature leads one to expect; an N* or K far outside the observed range would "
                "contradict it.",
            )
            if p
        )
    return body
