"""The results contract: one JSON file per fitted model, validated against ``result.schema.json``.

Tables, figures, the report and ``verify`` read only these files, so every number in a publication
output is traceable to a fitted model and, through ``inputs``, to the hashed data it was fitted on.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
from scipy import stats

from pipeline.core.io import _clean_json, write_json

SCHEMA_PATH = Path(__file__).with_name("result.schema.json")


@dataclass
class Term:
    """One coefficient row: estimate, standard error, Wald z, two-sided p, 95% CI."""

    term: str
    coef: float
    se: float
    z: float
    p: float
    ci_low: float
    ci_high: float

    @classmethod
    def from_estimate(cls, term: str, coef: float, se: float, level: float = 0.95) -> Term:
        """Wald statistics from a point estimate and its standard error (normal reference)."""
        coef, se = float(coef), float(se)
        crit = float(stats.norm.ppf(0.5 + level / 2))
        if math.isfinite(se) and se > 0:
            z = coef / se
            p = float(2 * stats.norm.sf(abs(z)))
        else:
            z, p = math.nan, math.nan
        return cls(term, coef, se, z, p, coef - crit * se, coef + crit * se)


@dataclass
class ModelResult:
    """A fitted (or failed) model in the results contract (see docs/contracts.md)."""

    dataset: str
    stage: str
    model: str
    family: str
    method: str
    #: The registered model kind (``analysis/registry.py``): what tables and the report dispatch on.
    kind: str = ""
    specification: dict[str, Any] = field(default_factory=dict)
    sample: dict[str, Any] = field(default_factory=lambda: {"unit": "", "n": None})
    fit: dict[str, Any] = field(default_factory=lambda: {"converged": True, "reason": None})
    terms: list[Term] = field(default_factory=list)
    derived: dict[str, Any] = field(default_factory=dict)
    tests: list[dict[str, Any]] = field(default_factory=list)
    curves: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    vcov: dict[str, Any] | None = None
    assessment: dict[str, Any] | None = None
    #: The stage's params block as applied to this dataset (global block, the dataset's ``models:``
    #: overrides, schema defaults): the effective specification the report's appendix prints.
    effective_params: dict[str, Any] | None = None
    schema_version: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dictionary (NaN/inf become null; no ``assessment`` key until assessed)."""
        out = asdict(self)
        if out["assessment"] is None:
            del out["assessment"]
        return _clean_json(out)

    def set_vcov(self, names: list[str], matrix: np.ndarray) -> None:
        """Store the covariance matrix of the estimates (rows/columns in ``names`` order)."""
        self.vcov = {"terms": list(names), "matrix": np.asarray(matrix, dtype=float).tolist()}

    def term(self, name: str) -> Term:
        """The coefficient row called ``name``."""
        for t in self.terms:
            if t.term == name:
                return t
        raise KeyError(name)

    @classmethod
    def failed(cls, *, reason: str, **kwargs: Any) -> ModelResult:
        """A result for a model that could not be fitted: recorded, not raised."""
        res = cls(**kwargs)
        res.fit = {"converged": False, "reason": reason}
        res.terms = []
        return res


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def validate_result(obj: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if ``obj`` breaks the results contract."""
    _validator().validate(obj)


def write_result(path: str | Path, result: ModelResult | dict[str, Any]) -> None:
    """Validate and write one result file atomically (sorted keys, nulls for non-finite numbers)."""
    obj = result.to_dict() if isinstance(result, ModelResult) else _clean_json(result)
    validate_result(obj)
    write_json(path, obj)


def read_result(path: str | Path) -> dict[str, Any]:
    """Read and validate one result file."""
    obj = json.loads(Path(path).read_text(encoding="utf-8"))
    validate_result(obj)
    return obj


def lr_test(
    name: str, ll_restricted: float, ll_full: float, df: int, boundary: bool = False
) -> dict[str, Any]:
    """Likelihood-ratio test of nested models; ``boundary`` uses the 50:50 chi-bar-squared mixture
    (for a single parameter on the boundary of its space, e.g. NB alpha = 0)."""
    stat = max(0.0, 2.0 * (ll_full - ll_restricted))
    if not (math.isfinite(ll_full) and math.isfinite(ll_restricted)):
        return {"name": name, "statistic": None, "df": df, "p": None}
    p = float(stats.chi2.sf(stat, df))
    if boundary:
        p = 0.5 * p if stat > 0 else 1.0
    return {
        "name": name,
        "statistic": float(stat),
        "df": df,
        "p": float(np.clip(p, 0.0, 1.0)),
        "distribution": "chibar2(0,1) mixture" if boundary else f"chi2({df})",
    }
