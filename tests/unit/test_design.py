"""One collinearity check (analysis.inference.design): R's left-to-right aliasing, by hand and at scale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.inference import design
from analysis.inference.design import collinear_terms, independent_columns, triangular_factor


def test_aliasing_left_to_right_names_the_combination() -> None:
    x = pd.DataFrame({"const": 1.0, "a": np.arange(10.0), "b": np.arange(10.0) ** 2})
    assert collinear_terms(x) == {}
    x["c"] = 3 * x["a"] - 2
    x["z"] = 0.0
    assert collinear_terms(x) == {"c": ["const", "a"], "z": []}
    assert independent_columns(x.to_numpy()) == [0, 1, 2]


def test_tolerance_is_relative_to_the_column_norm_as_in_r_lm() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=200)
    for units in (1e-6, 1.0, 1e9):  # units do not matter
        near = np.column_stack([np.ones(200), a, a + 1e-9 * rng.normal(size=200)]) * units
        far = np.column_stack([np.ones(200), a, a + 1e-4 * rng.normal(size=200)]) * units
        assert collinear_terms(near, ["c", "a", "b"]) == {"b": ["a"]}
        assert collinear_terms(far, ["c", "a", "b"]) == {}


def test_chunked_qr_equals_one_qr(monkeypatch) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5000, 4))
    r1 = np.abs(triangular_factor(x))
    monkeypatch.setattr(design, "_CHUNK", 700)
    r2 = np.abs(triangular_factor(x))
    np.testing.assert_allclose(r1, r2, rtol=1e-10, atol=1e-10)
    x[:, 3] = x[:, 0] - 2 * x[:, 1]
    assert collinear_terms(x, ["a", "b", "c", "d"]) == {"d": ["a", "b"]}
