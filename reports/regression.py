"""Regression tables in the field's layout, built only from result files.

Models side by side in numbered columns; for each term the coefficient with significance stars and,
beneath it, its standard error in parentheses; then rows for N, events, exposure, log-likelihood, AIC, the
likelihood-ratio test against the previous column, the NB2 dispersion α with the boundary LR test of α = 0,
the turning point N* with its 95% CI and whether it lies inside the observed density range; notes give the
significance legend, the standard-error type of every column, and why a column is weak or flagged. Failed
models keep their column ("not estimated") and their reason goes into the notes, so a table never silently
drops a specification; weak columns carry no stars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from analysis.assess import is_weak
from analysis.registry import Equation
from reports.labels import scale_suffix, term_label
from reports.table_model import CONSTANT_TERMS, STAR_LEGEND, Cell, Table, dig, fmt, scalar, stars

_DISPERSION_TERMS = ("alpha", "ln_alpha", "lnalpha")


def _hidden_terms(res: Mapping[str, Any]) -> set[str]:
    """Terms not shown as coefficient rows: NB dispersion (own block) and fixed effects marked
    ``display: False`` in ``specification.fixed_effects`` (a "Fixed effects" row says they are in)."""
    hidden = {t["term"] for t in res.get("terms", []) if t["term"] in _DISPERSION_TERMS}
    fe = dig(res, "specification", "fixed_effects")
    if isinstance(fe, Mapping) and not fe.get("display", True):
        hidden |= set(fe.get("terms", []))
        hidden |= {t["term"] for t in res.get("terms", []) if t["term"].startswith("fe[")}
    return hidden


def _fixed_effects(res: Mapping[str, Any]) -> str:
    """ "yes" when the model has subpopulation fixed effects (collapsed to one row), else ""."""
    fe = dig(res, "specification", "fixed_effects")
    if isinstance(fe, Mapping) or (isinstance(fe, (list, tuple)) and fe):
        return "yes"
    return ""


#: Fixed-effect rows of panel growth models by ``specification.effects``: (organization FE, year FE).
_PANEL_EFFECTS = {"none": ("no", "no"), "org": ("yes", "no"), "year": ("no", "yes"), "twoway": ("yes", "yes")}


def _ordered_terms(results: Sequence[Mapping[str, Any]], prefix: str = "") -> list[str]:
    """Shown terms in first-appearance order, constants last; with ``prefix`` the terms of that equation."""
    terms: list[str] = []
    for res in results:
        hidden = _hidden_terms(res)
        for t in res.get("terms", []):
            if t["term"] not in terms and t["term"] not in hidden and t["term"].startswith(prefix):
                terms.append(t["term"])
    consts = [t for t in terms if t[len(prefix) :] in CONSTANT_TERMS]
    return [t for t in terms if t not in consts] + consts


def _equation_blocks(
    results: Sequence[Mapping[str, Any]], equations: Sequence[Equation]
) -> list[tuple[str | None, str, list[str]]]:
    """(panel label or None, prefix, terms) per equation; terms of no declared equation come first,
    without a panel. Without equations: one block of every term, no panel (the single-equation layout)."""
    if not equations:
        return [(None, "", _ordered_terms(results))]
    # kinds presented in one table may label the same equation differently: the panel names each label
    labels: dict[str, list[str]] = {}
    for eq in equations:
        if eq.label not in labels.setdefault(eq.prefix, []):
            labels[eq.prefix].append(eq.label)
    blocks: list[tuple[str | None, str, list[str]]] = []
    rest = [t for t in _ordered_terms(results) if not any(t.startswith(p) for p in labels)]
    if rest:
        blocks.append((None, "", rest))
    for prefix, names in labels.items():
        terms = _ordered_terms(results, prefix)
        if terms:
            blocks.append((" / ".join(names), prefix, terms))
    return blocks


def _lr_vs_previous(res: Mapping[str, Any], prev: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The recorded LR test of ``res`` against the previous column's model (``"LR vs <model>"``)."""
    if prev is None:
        return None
    for test in res.get("tests", []):
        name = test.get("name", "").strip()
        if not name.startswith("LR vs "):
            continue
        # models of one stage may record the restricted model without the stage prefix
        # ("LR vs nb_density" in exit_rate_nb_density2)
        restricted = name[len("LR vs ") :]
        if restricted == prev["model"] or prev["model"].endswith("_" + restricted):
            return test
    return None


def _alpha(res: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    alpha = dig(res, "derived", "alpha")
    if alpha is None:
        return None, None
    if not isinstance(alpha, Mapping):
        alpha = {"estimate": alpha}
    boundary = alpha.get("boundary_test")
    if boundary is None:
        for test in res.get("tests", []):
            name = test.get("name", "").lower()
            if "alpha" in name or "\u03b1" in name or "chibar" in str(test.get("distribution", "")):
                boundary = test
                break
    return alpha, boundary


def _density_minimum(res: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The density at which the hazard is extreme, ``derived.density_minimum`` (always in organizations:
    every family reports it through ``analysis.inference.turning_point``)."""
    d = dig(res, "derived", "density_minimum")
    return d if isinstance(d, Mapping) and d.get("estimate") is not None else None


def _density_scale(results: Sequence[Mapping[str, Any]]) -> float | None:
    scales = {s for r in results if isinstance(s := dig(r, "specification", "density_scale"), (int, float))}
    return scales.pop() if len(scales) == 1 else None


_FAMILY_RANK = {"poisson": 0, "negative_binomial": 1}


def nesting_order(result: Mapping[str, Any]) -> tuple[Any, ...]:
    """Sort key putting nested specifications in reading order.

    An explicit ``specification.order`` wins; otherwise Poisson before negative binomial, fewer terms
    before more, and failed models last (their column still shows, with the reason in the notes).
    """
    spec = result.get("specification", {})
    failed = not dig(result, "fit", "converged")
    n_terms = len(spec.get("terms") or result.get("terms") or [])
    return (spec.get("order", 0), failed, _FAMILY_RANK.get(result["family"], 2), n_terms, result["model"])


def turning_point_label(nstars: Sequence[Any], default: str = "Density at peak founding N*") -> str:
    """Name the turning point \u2212b1/(2 b2) by its shape: a U-shaped founding curve has a minimum, not a peak."""
    shapes = {str(n.get("shape", "")) for n in nstars if isinstance(n, Mapping) and n.get("shape")}
    if not shapes or "founding" not in default:
        return default
    if shapes == {"U"}:
        return "Density at minimum founding N*"
    if shapes == {"inverted U"}:
        return "Density at peak founding N*"
    return "Density at turning point N* (peak if inverted U, minimum if U)"


def assessment_notes(results: Sequence[Mapping[str, Any]], *, numbered: bool = True) -> list[str]:
    """One note per weak or flagged model: why it is not read as a finding (weak columns carry no stars).

    ``numbered`` prefixes the column number "(i)" (regression tables); quantity tables name the model only."""
    notes = []
    for i, r in enumerate(results):
        a = r.get("assessment") or {}
        tag = f"({i + 1}) {r['model']}" if numbered else str(r["model"])
        if a.get("reasons"):
            notes.append(
                f"{tag}: weak estimate, no significance stars \u2014 " + "; ".join(a["reasons"]) + "."
            )
        if a.get("flags"):
            notes.append(f"{tag}: " + "; ".join(a["flags"]) + ".")
    return notes


def regression_table(
    results: Sequence[Mapping[str, Any]],
    *,
    caption: str = "",
    labels: Mapping[str, str] | None = None,
    digits: int = 3,
    stat_digits: int = 2,
    column_names: Sequence[str] | None = None,
    n_star_label: str = "Density at peak founding N*",
    equations: Sequence[Equation] = (),
) -> Table:
    """Nested models side by side in the field's layout.

    Parameters
    ----------
    results
        Result dictionaries (the JSON contract), in column order; nested specifications should follow
        each other so that "LR vs previous" reads naturally. Failed models keep their column.
    caption
        Caption text (used by HTML/Markdown and the PDF; the LaTeX file carries it as a comment so that
        the including document owns the float).
    labels
        Extra or overriding term labels; density terms are labelled with the recorded density scale.
    digits, stat_digits
        Decimals for coefficients/SEs and for fit statistics.
    column_names
        Optional names under the column numbers (default: model names).
    n_star_label
        Label of the turning point −b1/(2 b2) row: the founding peak N* for founding models; for
        exit-rate models it is the density at which the exit rate is extreme.
    equations
        The equations of a multi-equation model (its kind's declaration, ``analysis.registry``): one
        panel row (kind ``panel``) per equation with its label, the equation's terms beneath it without
        the prefix. Empty (single-equation models): no panels.

    Returns
    -------
    Table
        Format-neutral table; render with :func:`to_latex`, :func:`to_html`, :func:`to_markdown`,
        :func:`to_csv_frame`.
    """
    results = list(results)
    k = len(results)
    scale = _density_scale(results)
    names = list(column_names) if column_names else [r["model"] for r in results]
    header = [[""] + [f"({i + 1})" for i in range(k)], [""] + names]
    table = Table(caption=caption, header=header, sources=[str(r["model"]) for r in results])
    long: list[dict[str, Any]] = []
    empty = [Cell() for _ in range(k)]
    weak = {i for i, r in enumerate(results) if is_weak(r)}

    def record(row: str, i: int, stat: str, value: Any, term: str = "") -> None:
        long.append(
            {
                "row": row,
                "term": term,
                "column": i + 1,
                "model": results[i]["model"],
                "statistic": stat,
                "value": value,
            }
        )

    for panel, prefix, block_terms in _equation_blocks(results, equations):
        if panel is not None:
            table.rows.append((panel, [], "panel"))
        for term in block_terms:
            bare = term[len(prefix) :]
            label = term_label(
                bare if term not in (labels or {}) else term,
                dig(results[0], "specification", "density_scale") if scale is None else scale,
                labels,
            )
            coef_cells, se_cells = list(empty), list(empty)
            for i, res in enumerate(results):
                for t in res.get("terms", []):
                    if t["term"] == term:
                        coef_cells[i] = Cell(fmt(t["coef"], digits), "" if i in weak else stars(t.get("p")))
                        se_cells[i] = Cell(fmt(t["se"], digits), wrap="()")
                        for stat in ("coef", "se", "z", "p", "ci_low", "ci_high"):
                            record(
                                label if panel is None else f"{prefix} {label}", i, stat, t.get(stat), term
                            )
            table.rows.append((label, coef_cells, "coef"))
            table.rows.append(("", se_cells, "se"))

    # NB2 dispersion and its boundary test
    alphas = [_alpha(r) for r in results]
    if any(a is not None for a, _ in alphas):
        table.rows.append(("", [], "rule"))
        a_cells, a_se, a_prof, b_cells, b_p = (list(empty) for _ in range(5))
        for i, (alpha, boundary) in enumerate(alphas):
            if alpha is None:
                continue
            a_cells[i] = Cell(fmt(alpha.get("estimate"), digits))
            a_se[i] = Cell(fmt(alpha.get("se"), digits), wrap="()")
            record("alpha", i, "estimate", alpha.get("estimate"))
            record("alpha", i, "se", alpha.get("se"))
            prof = alpha.get("profile")
            if isinstance(prof, Mapping) and prof.get("ci_low") is not None:
                hi = "\u221e" if prof.get("ci_high") is None else fmt(prof["ci_high"], digits)
                a_prof[i] = Cell(f"{fmt(prof['ci_low'], digits)}, {hi}", wrap="[]")
                record("alpha profile", i, "ci_low", prof.get("ci_low"))
                record("alpha profile", i, "ci_high", prof.get("ci_high"))
            if boundary is not None:
                b_cells[i] = Cell(fmt(boundary.get("statistic"), stat_digits), stars(boundary.get("p")))
                b_p[i] = Cell(fmt(boundary.get("p"), 3))
                record("alpha boundary LR", i, "statistic", boundary.get("statistic"))
                record("alpha boundary LR", i, "p", boundary.get("p"))
        table.rows += [("\u03b1 (NB2 dispersion)", a_cells, "coef"), ("", a_se, "se")]
        if any(c.text for c in a_prof):
            table.rows.append(("  \u03b1: 95% CI (profile likelihood)", a_prof, "stat"))
        if any(c.text for c in b_cells):
            table.rows += [
                ("LR test \u03b1 = 0 (\u03c7\u0304\u00b2, boundary)", b_cells, "stat"),
                ("  p-value", b_p, "stat"),
            ]

    # N* with CI
    nstars = [dig(r, "derived", "n_star") for r in results]
    if any(n is not None for n in nstars):
        table.rows.append(("", [], "rule"))
        est, ci, prof, inside = list(empty), list(empty), list(empty), list(empty)
        for i, n in enumerate(nstars):
            if not isinstance(n, Mapping):
                continue
            est[i] = Cell(fmt(n.get("estimate"), 1))
            if n.get("ci_low") is not None and n.get("ci_high") is not None:
                ci[i] = Cell(f"{fmt(n['ci_low'], 1)}, {fmt(n['ci_high'], 1)}", wrap="[]")
            p = n.get("profile")
            if isinstance(p, Mapping):
                lo = "\u2212\u221e" if p.get("ci_low") is None else fmt(p["ci_low"], 1)
                hi = "\u221e" if p.get("ci_high") is None else fmt(p["ci_high"], 1)
                prof[i] = Cell(f"{lo}, {hi}", wrap="[]")
                record("N* profile", i, "ci_low", p.get("ci_low"))
                record("N* profile", i, "ci_high", p.get("ci_high"))
            if n.get("inside_range") is not None:
                inside[i] = Cell("yes" if n["inside_range"] else "no")
            for stat in ("estimate", "se", "ci_low", "ci_high", "inside_range"):
                record("N*", i, stat, n.get(stat))
        table.rows += [
            (turning_point_label(nstars, n_star_label), est, "stat"),
            ("  95% CI (delta method)", ci, "stat"),
            *([("  95% CI (profile likelihood)", prof, "stat")] if any(c.text for c in prof) else []),
            ("  inside observed range", inside, "stat"),
        ]

    # density at which mortality is lowest (survival models)
    minima = [_density_minimum(r) for r in results]
    if any(m is not None for m in minima):
        table.rows.append(("", [], "rule"))
        est, ci, inside = list(empty), list(empty), list(empty)
        for i, m in enumerate(minima):
            if m is None:
                continue
            est[i] = Cell(fmt(m.get("estimate"), 1))
            if m.get("ci_low") is not None and m.get("ci_high") is not None:
                ci[i] = Cell(f"{fmt(m['ci_low'], 1)}, {fmt(m['ci_high'], 1)}", wrap="[]")
            if m.get("inside_range") is not None:
                inside[i] = Cell("yes" if m["inside_range"] else "no")
            for stat in ("estimate", "ci_low", "ci_high", "inside_range"):
                record("density at minimum hazard", i, stat, m.get(stat))
        table.rows += [
            ("Density at lowest hazard", est, "stat"),
            ("  95% CI (delta method)", ci, "stat"),
            ("  inside observed range", inside, "stat"),
        ]

    # Gibrat's beta with its test of beta = 1 (growth models)
    betas = [dig(r, "derived", "beta") for r in results]
    if any(isinstance(b, Mapping) for b in betas):
        table.rows.append(("", [], "rule"))
        est, ci, tst = list(empty), list(empty), list(empty)
        for i, b in enumerate(betas):
            if not isinstance(b, Mapping):
                continue
            est[i] = Cell(fmt(b.get("estimate"), digits))
            if b.get("ci_low") is not None and b.get("ci_high") is not None:
                ci[i] = Cell(f"{fmt(b['ci_low'], digits)}, {fmt(b['ci_high'], digits)}", wrap="[]")
            test = next((t for t in results[i].get("tests", []) if "beta = 1" in t.get("name", "")), None)
            if test is not None:
                tst[i] = Cell(fmt(test.get("statistic"), stat_digits), stars(test.get("p")))
                record("test beta = 1", i, "statistic", test.get("statistic"))
                record("test beta = 1", i, "p", test.get("p"))
            for stat in ("estimate", "se", "ci_low", "ci_high"):
                record("beta", i, stat, b.get(stat))
        table.rows += [
            ("\u03b2 (Gibrat: 1 + log-size coefficient)", est, "stat"),
            ("  95% CI", ci, "stat"),
            ("  t test of \u03b2 = 1", tst, "stat"),
        ]

    # Fit and sample statistics
    table.rows.append(("", [], "rule"))
    fes = [_fixed_effects(r) for r in results]
    if any(fes):
        table.rows.append(("Subpopulation fixed effects", [Cell(f or "no") for f in fes], "text"))
    effects = [_PANEL_EFFECTS.get(str(dig(r, "specification", "effects"))) for r in results]
    if any(e is not None for e in effects):
        table.rows.append(("Organization fixed effects", [Cell(e[0] if e else "") for e in effects], "text"))
        table.rows.append(("Year fixed effects", [Cell(e[1] if e else "") for e in effects], "text"))
    stat_rows: list[tuple[str, str, str, int | None]] = [
        ("N", "sample", "n", None),
        ("Groups", "sample", "n_groups", None),
        ("Events", "sample", "events", None),
        ("Exposure (years at risk)", "sample", "exposure", 1),
        ("Log-likelihood", "fit", "loglik", stat_digits),
        ("AIC", "fit", "aic", stat_digits),
        ("Concordance (Harrell's C)", "fit", "concordance", 3),
    ]
    for label, part, key, ndig in stat_rows:
        values = [dig(r, part, key) for r in results]
        if all(v is None for v in values):
            continue
        cells = list(empty)
        for i, v in enumerate(values):
            if v is not None:
                cells[i] = Cell(str(int(v)) if ndig is None else fmt(v, ndig))
            record(label, i, key, v)
        table.rows.append((label, cells, "stat"))

    lr_cells, lr_df, lr_p = list(empty), list(empty), list(empty)
    any_lr = False
    for i, res in enumerate(results):
        test = _lr_vs_previous(res, results[i - 1] if i > 0 else None)
        if test is None or test.get("statistic") is None:
            continue
        any_lr = True
        lr_cells[i] = Cell(fmt(test["statistic"], stat_digits), stars(test.get("p")))
        lr_df[i] = Cell(fmt(test.get("df"), 0))
        lr_p[i] = Cell(fmt(test.get("p"), 3))
        for stat in ("statistic", "df", "p"):
            record("LR vs previous", i, stat, test.get(stat))
    if any_lr:
        table.rows += [
            ("LR \u03c7\u00b2 vs. previous column", lr_cells, "stat"),
            ("  df", lr_df, "stat"),
            ("  p-value", lr_p, "stat"),
        ]

    failed = [i for i, r in enumerate(results) if not dig(r, "fit", "converged")]
    if failed:
        table.rows.append(("Converged", [Cell("no" if i in failed else "yes") for i in range(k)], "text"))
    if weak:
        table.rows.append(
            ("Weak estimate (see notes)", [Cell("yes" if i in weak else "") for i in range(k)], "text")
        )

    # Notes: legend, SE types grouped by column, scale, failures
    table.notes.append(f"Standard errors in parentheses; {STAR_LEGEND}.")
    by_type: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        if i in failed:
            continue
        se_type = dig(r, "fit", "se_type") or "not recorded"
        by_type.setdefault(se_type, []).append(i + 1)
    if by_type:
        parts = [f"{_colrange(cols)} {se}" for se, cols in by_type.items()]
        table.notes.append("SE type: " + "; ".join(parts) + ".")
    if scale not in (None, 1):
        table.notes.append(
            f"Density terms per {scale_suffix(scale)[1:]} organizations (N{scale_suffix(scale)})."
        )
    if nstars and any(isinstance(n, Mapping) for n in nstars):
        table.notes.append(
            "Turning point \u2212b1/(2 b2) in organizations, 95% CI by the delta method"
            + (
                " and by profile likelihood (model refitted with b1 = \u22122 b2 N*; \u221e: unbounded)."
                if any(isinstance(n, Mapping) and n.get("profile") for n in nstars)
                else "."
            )
        )
    if any(m is not None for m in minima):
        table.notes.append(
            "Density at lowest hazard \u2212g1/(2 g2) in organizations, 95% CI by the delta method."
        )
    for i in failed:
        reason = dig(results[i], "fit", "reason") or "no reason recorded"
        table.notes.append(f"({i + 1}) {results[i]['model']}: not estimated \u2014 {reason}.")
    table.notes += assessment_notes(results)
    table.data = pd.DataFrame(long, columns=["row", "term", "column", "model", "statistic", "value"])
    return table


def _colrange(cols: list[int]) -> str:
    if len(cols) > 1 and cols == list(range(cols[0], cols[-1] + 1)):
        return f"({cols[0]})\u2013({cols[-1]})"
    return ", ".join(f"({c})" for c in cols)


def model_tests_table(result: Mapping[str, Any], *, caption: str = "", digits: int = 3) -> Table:
    """All recorded tests of one model (e.g. the Grambsch–Therneau PH tests per term and global)."""
    table = Table(
        caption=caption, header=[["Test", "Statistic", "df", "p"]], align="r", sources=[str(result["model"])]
    )
    long = []
    for test in result.get("tests", []):
        table.rows.append(
            (
                test["name"],
                [
                    Cell(fmt(test.get("statistic"), digits)),
                    Cell(fmt(test.get("df"), 0)),
                    Cell(fmt(test.get("p"), digits)),
                ],
                "stat",
            )
        )
        for stat in ("statistic", "df", "p"):
            long.append({"row": test["name"], "statistic": stat, "value": test.get(stat)})
    table.data = pd.DataFrame(long, columns=["row", "statistic", "value"])
    return table


#: Derived entries that are numerical diagnostics rather than quantities of interest.
_DIAGNOSTIC_KEYS = ("status", "condition", "iteration", "unconstrained", "level", "scale")


def derived_table(results: Sequence[Mapping[str, Any]], *, caption: str = "", digits: int = 3) -> Table:
    """Model-specific quantities (K, r, t0, t90, break year, sup-F, …) with SE and 95% CI where recorded."""
    table = Table(
        caption=caption,
        header=[["Model", "Quantity", "Estimate", "SE", "95% CI"]],
        align="llrrr",
        sources=[str(r["model"]) for r in results],
    )
    long = []
    for res in results:
        for key in sorted(res.get("derived", {})):
            val = res["derived"][key]
            est = scalar(val)
            if est is None or any(word in key for word in _DIAGNOSTIC_KEYS):
                continue
            se = val.get("se") if isinstance(val, Mapping) else None
            lo = val.get("ci_low") if isinstance(val, Mapping) else None
            hi = val.get("ci_high") if isinstance(val, Mapping) else None
            integer = isinstance(val, int) and not isinstance(val, bool)
            ci = (
                Cell(f"{fmt(lo, digits)}, {fmt(hi, digits)}", wrap="[]")
                if lo is not None and hi is not None
                else Cell()
            )
            table.rows.append(
                (
                    res["model"],
                    [Cell(key), Cell(str(val) if integer else fmt(est, digits)), Cell(fmt(se, digits)), ci],
                    "stat",
                )
            )
            for stat, v in (("estimate", est), ("se", se), ("ci_low", lo), ("ci_high", hi)):
                long.append({"row": res["model"], "quantity": key, "statistic": stat, "value": v})
    table.data = pd.DataFrame(long, columns=["row", "quantity", "statistic", "value"])
    return table
