"""The Gibrat growth regression specified as a formula: ``params.yaml: fit_growth.formula``.

``growth ~ log_size + density + density_sq + funding_share + cluster(org_id)`` on organization-years (docs/
terms.md); the same formula is fitted pooled, with organization fixed effects and with organization + year
fixed effects. ``log_size`` must be a term of its own (its coefficient is the Gibrat test β − 1 = 0), and the
standard errors are clustered by organization, written ``cluster(org_id)`` as in every family (the fixed
effects are nested in it). Without ``formula`` the legacy lists ``covariates`` / ``age_terms`` /
``environment`` define the model (log size, density, density², covariates, age terms, environment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.formula.errors import FormulaError
from analysis.formula.grammar import Call, Formula, Name, parse_formula, render
from analysis.formula.vocabulary import SPECIALS, check_formula, summands

#: The legacy age terms and the formula terms they are.
AGE_FORMULAS = {"age": "age", "age_sq": "I(age**2)", "log_age": "log1p(age)"}
DEFAULT_COVARIATES = ("funding_share",)
DEFAULT_AGE_TERMS = ("log_age",)


def uses_legacy_names(cfg: Mapping[str, Any]) -> bool:
    """True when the model comes from ``covariates`` / ``age_terms`` / ``environment`` (no ``formula``)."""
    return not cfg.get("formula")


def legacy_lists(cfg: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """``covariates``, ``age_terms``, ``environment`` of a legacy block (``None`` = their defaults)."""
    cov = cfg.get("covariates")
    age = cfg.get("age_terms")
    return (
        list(DEFAULT_COVARIATES if cov is None else cov),
        list(DEFAULT_AGE_TERMS if age is None else age),
        list(cfg.get("environment") or []),
    )


def legacy_formula(covariates: Sequence[str], age_terms: Sequence[str], environment: Sequence[str]) -> str:
    """The formula a legacy block means.

    >>> legacy_formula(["funding_share"], ["log_age"], [])
    'growth ~ log_size + density + density_sq + funding_share + log1p(age) + cluster(org_id)'
    """
    terms = [
        "log_size",
        "density",
        "density_sq",
        *covariates,
        *(AGE_FORMULAS[a] for a in age_terms),
        *environment,
    ]
    return "growth ~ " + " + ".join([*terms, "cluster(org_id)"])


def growth_formula(cfg: Mapping[str, Any], *, where: str | None = None) -> Formula:
    """The Gibrat formula of a ``fit_growth`` block, checked for the model's structure (not yet for names).

    Raises :class:`FormulaError` for a text that does not parse, an outcome that is not one column, a
    missing ``log_size`` term, a special other than ``cluster(org_id)``, or no clustering.
    """
    text = cfg["formula"] if not uses_legacy_names(cfg) else legacy_formula(*legacy_lists(cfg))
    try:
        f = parse_formula(text)
        check_formula(f, None)
        if not isinstance(f.lhs, Name):
            raise FormulaError(
                "the outcome of the Gibrat model is one column (growth = log S_{t+1} - log S_t)",
                source=f.source,
                pos=f.lhs.pos if f.lhs is not None else 0,
            )
        plain = [t for s, t in summands(f.rhs) if s > 0 and not (isinstance(t, Call) and t.func in SPECIALS)]
        if not any(isinstance(t, Name) and t.id == "log_size" for t in plain):
            raise FormulaError(
                "the Gibrat model needs the term log_size (its coefficient tests Gibrat's law)",
                source=f.source,
                pos=0,
            )
        require_org_cluster(f, "Gibrat")
    except FormulaError as exc:
        raise exc.located(where) if where else exc from None
    return f


def require_org_cluster(f: Formula, model: str) -> None:
    """The formula clusters by organization, ``cluster(org_id)``, and has no other special (else an error)."""
    cluster = None
    for _, t in summands(f.rhs):
        if isinstance(t, Call) and t.func in SPECIALS:
            if t.func != "cluster" or render(t.args[0]) != "org_id":
                raise FormulaError(
                    f"{render(t)} is not accepted by the {model} models (accepted: cluster(org_id); their "
                    "standard errors are clustered by organization)",
                    source=f.source,
                    pos=t.pos,
                    length=t.end - t.pos,
                )
            cluster = t
    if cluster is None:
        raise FormulaError(
            f"the {model} standard errors are clustered by organization: add '+ cluster(org_id)'",
            source=f.source,
            pos=len(f.source) - 1,
        )


def without_specials(formula: Formula) -> str:
    """``outcome ~ terms`` without ``cluster()`` and other specials (for the result's R-style formula)."""
    parts = []
    for sign, term in summands(formula.rhs):
        if isinstance(term, Call) and term.func in SPECIALS:
            continue
        text = render(term)
        parts.append(text if not parts and sign > 0 else (" + " if sign > 0 else " - ") + text)
    return f"{render(formula.lhs)} ~ {''.join(parts) or '1'}"
