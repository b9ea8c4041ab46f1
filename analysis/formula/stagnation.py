"""The stagnation and dissolution hazards specified as a formula: ``fit_bottleneck.stagnation.formula``.

A one-sided formula on the organization-years at risk, ``~ funding_share + density + density_sq + log_size +
cluster(org_id)`` (docs/terms.md): the same terms enter both cause-specific cloglog hazards, whose outcomes
are the stagnation start and the dissolution of each year at risk. Standard errors are clustered by
organization, written ``cluster(org_id)`` as in every family. Without ``formula`` the legacy list
``covariates`` gives the terms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.formula.errors import FormulaError
from analysis.formula.grammar import Formula, parse_formula
from analysis.formula.growth import require_org_cluster
from analysis.formula.steps import quote_name
from analysis.formula.vocabulary import check_formula

DEFAULT_COVARIATES = ("funding_share", "density", "density_sq", "log_size")


def uses_legacy_names(cfg: Mapping[str, Any]) -> bool:
    """True when the terms come from ``covariates`` (no ``formula``)."""
    return not cfg.get("formula")


def legacy_covariates(cfg: Mapping[str, Any]) -> list[str]:
    cov = cfg.get("covariates")
    return list(DEFAULT_COVARIATES if cov is None else cov)


def legacy_formula(covariates: Sequence[str]) -> str:
    """The formula a legacy list means.

    >>> legacy_formula(["density", "log_size"])
    '~ density + log_size + cluster(org_id)'
    """
    return "~ " + " + ".join([*map(quote_name, covariates), "cluster(org_id)"])


def stagnation_formula(cfg: Mapping[str, Any], *, where: str | None = None) -> Formula:
    """The checked one-sided formula of a ``stagnation`` block (structure only; names are checked at load)."""
    text = cfg["formula"] if not uses_legacy_names(cfg) else legacy_formula(legacy_covariates(cfg))
    try:
        f = parse_formula(text)
        check_formula(f, None)
        if f.lhs is not None:
            raise FormulaError(
                "the stagnation formula is one-sided ('~ terms'): its outcomes are the stagnation start and the "
                "dissolution of each year at risk",
                source=f.source,
                pos=f.lhs.pos,
            )
        require_org_cluster(f, "stagnation")
    except FormulaError as exc:
        raise exc.located(where) if where else exc from None
    return f
