"""Compare freshly produced result files with committed reference results, term by term.

``python -m pipeline verify`` prints a pass/fail table per model and term and exits non-zero on any
mismatch, a missing model, or an unexpected one. Tolerances (relative, with an absolute floor for values
near zero) come from the ``verify`` block of params.yaml.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_TOLERANCES = {"coef": 1e-6, "se": 1e-6, "loglik": 1e-8, "statistic": 1e-6, "absolute": 1e-9}


@dataclass(frozen=True)
class Check:
    """One comparison: a model's term quantity, fit statistic or test."""

    dataset: str
    model: str
    item: str
    reference: float | None
    fresh: float | None
    tolerance: float
    ok: bool


def _close(a: Any, b: Any, rel: float, absolute: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= max(absolute, rel * max(abs(a), abs(b)))


def compare_results(ref: dict[str, Any], new: dict[str, Any], tol: dict[str, float]) -> list[Check]:
    """Checks of one model: converged flag, log-likelihood, every term's coef and SE, every test statistic."""
    ds, model = ref["dataset"], f"{ref['stage']}/{ref['model']}"
    absolute = tol["absolute"]
    out = [
        Check(
            ds,
            model,
            "fit.converged",
            ref["fit"]["converged"],
            new["fit"]["converged"],
            0.0,
            ref["fit"]["converged"] == new["fit"]["converged"],
        )
    ]
    for key in ("loglik",):
        r, n = ref["fit"].get(key), new["fit"].get(key)
        out.append(Check(ds, model, f"fit.{key}", r, n, tol["loglik"], _close(r, n, tol["loglik"], absolute)))
    new_terms = {t["term"]: t for t in new["terms"]}
    for term in ref["terms"]:
        fresh = new_terms.get(term["term"])
        for q, key in (("coef", "coef"), ("se", "se")):
            f = None if fresh is None else fresh.get(q)
            ok = fresh is not None and _close(term.get(q), f, tol[key], absolute)
            out.append(Check(ds, model, f"{term['term']}.{q}", term.get(q), f, tol[key], ok))
    extra = set(new_terms) - {t["term"] for t in ref["terms"]}
    for name in sorted(extra):
        out.append(Check(ds, model, f"{name} (not in reference)", None, new_terms[name]["coef"], 0.0, False))
    new_tests = {t["name"]: t for t in new["tests"]}
    for test in ref["tests"]:
        fresh = new_tests.get(test["name"])
        f = None if fresh is None else fresh.get("statistic")
        ok = fresh is not None and _close(test.get("statistic"), f, tol["statistic"], absolute)
        out.append(Check(ds, model, f"test: {test['name']}", test.get("statistic"), f, tol["statistic"], ok))
    return out


def verify_tree(
    reference_root: Path,
    fresh_root: Path,
    tol: dict[str, float] | None = None,
    datasets: list[str] | None = None,
) -> list[Check]:
    """Compare every ``<dataset>/<area>/<model>.json`` under the two roots (optionally only ``datasets``)."""
    tol = {**DEFAULT_TOLERANCES, **(tol or {})}
    ref_files = {p.relative_to(reference_root) for p in reference_root.rglob("*.json")}
    new_files = (
        {p.relative_to(fresh_root) for p in fresh_root.rglob("*.json")} if fresh_root.exists() else set()
    )
    if datasets:
        ref_files = {p for p in ref_files if p.parts[0] in datasets}
        new_files = {p for p in new_files if p.parts[0] in datasets}
    # a dataset without any reference results (e.g. one the user added) is listed by
    # unverified_datasets(), not failed model by model
    referenced = {p.parts[0] for p in ref_files}
    new_files = {p for p in new_files if p.parts[0] in referenced}
    checks: list[Check] = []
    for rel in sorted(ref_files | new_files):
        parts = rel.parts
        ds = parts[0]
        if rel not in new_files:
            checks.append(Check(ds, str(rel.with_suffix("")), "result file missing", None, None, 0.0, False))
            continue
        if rel not in ref_files:
            checks.append(
                Check(ds, str(rel.with_suffix("")), "no reference for this result", None, None, 0.0, False)
            )
            continue
        ref = json.loads((reference_root / rel).read_text(encoding="utf-8"))
        new = json.loads((fresh_root / rel).read_text(encoding="utf-8"))
        checks.extend(compare_results(ref, new, tol))
    return checks


def unverified_datasets(
    reference_root: Path,
    fresh_root: Path,
    declared: list[str] | None = None,
    datasets: list[str] | None = None,
) -> list[str]:
    """Datasets with fresh results (or declared in params) but no reference results: nothing to verify."""
    referenced = {p.relative_to(reference_root).parts[0] for p in reference_root.rglob("*.json")}
    fresh = (
        {p.relative_to(fresh_root).parts[0] for p in fresh_root.rglob("*.json")}
        if fresh_root.exists()
        else set()
    )
    names = (fresh | set(declared or [])) - referenced
    if datasets:
        names &= set(datasets)
    return sorted(names)


def format_table(checks: list[Check], *, only_failures: bool = False) -> str:
    """A plain-text pass/fail table, one line per check, and a closing summary line."""
    rows = [c for c in checks if not (only_failures and c.ok)]
    lines = [f"{'status':6} {'dataset':28} {'model':44} {'item':40} {'reference':>22} {'fresh':>22}"]
    for c in rows:
        ref = (
            ""
            if c.reference is None
            else f"{c.reference:.15g}"
            if isinstance(c.reference, float)
            else str(c.reference)
        )
        new = "" if c.fresh is None else f"{c.fresh:.15g}" if isinstance(c.fresh, float) else str(c.fresh)
        lines.append(
            f"{'PASS' if c.ok else 'FAIL':6} {c.dataset:28} {c.model:44} {c.item:40} {ref:>22} {new:>22}"
        )
    failed = sum(not c.ok for c in checks)
    lines.append(f"verify: {len(checks) - failed} passed, {failed} failed")
    return "\n".join(lines)
