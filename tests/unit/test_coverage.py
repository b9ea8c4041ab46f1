"""Usable rows per covariate, for the cleaning log and the histories metadata."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.data.coverage import usable_values


def test_usable_values_counts_non_missing_numeric_covariates_only():
    panel = pd.DataFrame(
        {
            "org_id": ["a", "a", "b"],
            "year": [2000, 2001, 2000],
            "size": [3.0, np.nan, 2.0],
            "funding_share": [np.nan, np.nan, 0.4],
            "flag": [True, False, True],
            "source_row": [2, 3, 4],
        }
    )
    assert usable_values({"panel": panel}, ("panel", "environment")) == {
        "panel": {"size": {"rows": 3, "usable": 2}, "funding_share": {"rows": 3, "usable": 1}}
    }
