"""A minimal organization dataset ``o`` for params tests (register, panel, environment), and the message of
the ParamsError a params mapping raises — shared by the params and formula tests."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.core.params import ParamsError, validate_params

RAW = "data/raw/o"


def organization_params(
    *, environment: bool = True, models: dict[str, Any] | None = None, **extra: Any
) -> dict:
    """``{"datasets": {"o": ...}}`` with a register (attribute ``district``), a panel (``size``: staff,
    ``funding_share``: gov), optionally an environment (``budget``, categorical ``policy``), the dataset keys
    in ``extra`` (e.g. ``group_columns``, ``density_scale``) and per-stage ``models`` overrides."""
    ds: dict[str, Any] = {
        "kind": "organizations",
        "window": {"start": 2000, "end": 2010},
        "organizations": {
            "path": f"{RAW}/orgs.csv",
            "columns": {"org_id": "id", "founded": "f", "ended": "e"},
            "attributes": ["district"],
        },
        "panel": {
            "path": f"{RAW}/panel.csv",
            "columns": {"org_id": "id", "year": "year"},
            "measures": {"size": "staff", "funding_share": "gov"},
        },
    }
    if environment:
        ds["environment"] = {
            "path": f"{RAW}/env.csv",
            "columns": {"year": "year"},
            "covariates": ["budget"],
            "categorical": ["policy"],
        }
    ds.update(extra)
    if models:
        ds["models"] = models
    return {"datasets": {"o": ds}}


def params_problem(params: dict) -> str:
    """The message of the ParamsError that ``params`` raises when validated (fails if none is raised)."""
    with pytest.raises(ParamsError) as info:
        validate_params(params)
    return str(info.value)
