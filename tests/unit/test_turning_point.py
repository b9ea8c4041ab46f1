"""The one turning point N* = -b1/(2 b2): delta method, Fieller, Lind-Mehlum, units and shapes by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.inference.turning_point import turning_point


def test_delta_method_fieller_and_lind_mehlum_by_hand() -> None:
    b1, b2, s = 1.2, -0.25, 100.0
    v = np.array([[0.01, -0.0015], [-0.0015, 0.0004]])
    out = turning_point(b1, b2, v, scale=s, observed_range=(10, 450), tests=True)
    assert out["estimate"] == pytest.approx(240.0)
    g = np.array([-1 / (2 * b2), b1 / (2 * b2**2)])
    assert out["se"] == pytest.approx(math.sqrt(g @ v @ g) * s)
    assert out["ci_low"] == pytest.approx(240 - 1.959964 * out["se"], rel=1e-6)
    assert out["inside_range"] and out["extremum"] == "maximum" and out["shape"] == "inverted U"
    assert out["unit"] == "organizations" and out["observed_range"] == [10.0, 450.0] and out["scale"] == s
    lm = out["lind_mehlum"]
    lo, hi = 0.1, 4.5
    t_lo = (b1 + 2 * b2 * lo) / math.sqrt(v[0, 0] + 4 * lo * v[0, 1] + 4 * lo**2 * v[1, 1])
    t_hi = -(b1 + 2 * b2 * hi) / math.sqrt(v[0, 0] + 4 * hi * v[0, 1] + 4 * hi**2 * v[1, 1])
    assert lm["statistic"] == pytest.approx(min(t_lo, t_hi))
    assert lm["p"] == pytest.approx(max(stats.norm.sf(t_lo), stats.norm.sf(t_hi)))
    fl = out["fieller"]
    assert fl["kind"] == "bounded" and fl["ci_low"] < 240 < fl["ci_high"]
    for x in (fl["ci_low"] / s, fl["ci_high"] / s):  # Fieller bounds: |t| of the slope equals z
        t = (b1 + 2 * b2 * x) / math.sqrt(v[0, 0] + 4 * x * v[0, 1] + 4 * x**2 * v[1, 1])
        assert abs(t) == pytest.approx(stats.norm.ppf(0.975), rel=1e-9)


def test_numerical_gradient_agrees_with_the_delta_method() -> None:
    v = np.array([[0.04, -0.01], [-0.01, 0.01]])
    out = turning_point(-1.0, 0.5, v, observed_range=(0.0, 3.0))
    assert out["estimate"] == pytest.approx(1.0) and out["inside_range"] and out["extremum"] == "minimum"
    f = lambda a, b: -a / (2 * b)  # noqa: E731
    h = 1e-6
    num = np.array([(f(-1 + h, 0.5) - f(-1 - h, 0.5)) / (2 * h), (f(-1, 0.5 + h) - f(-1, 0.5 - h)) / (2 * h)])
    assert out["se"] == pytest.approx(math.sqrt(num @ v @ num), rel=1e-6)
    assert "fieller" not in out and "lind_mehlum" not in out


def test_outside_range_wrong_signs_and_no_curvature() -> None:
    v = np.diag([0.01, 0.01])
    out = turning_point(-0.5, 0.1, v, observed_range=(0, 1), tests=True)
    assert out["estimate"] == pytest.approx(2.5)
    assert out["inside_range"] is False and out["shape"] == "U"
    assert out["lind_mehlum"]["p"] > 0.5
    weak = turning_point(0.5, -1e-4, np.diag([1.0, 1.0]), observed_range=(0, 1), tests=True)
    assert weak["fieller"]["kind"] != "bounded"
    flat = turning_point(1.0, 0.0, v, observed_range=(0, 1))
    assert flat["estimate"] is None and flat["extremum"] is None and flat["inside_range"] is None
    assert turning_point(1.0, 0.5, v)["inside_range"] is None  # no range given: not judged


def test_scale_only_changes_units() -> None:
    v = np.array([[0.04, -0.01], [-0.01, 0.01]])
    raw = turning_point(-1.0, 0.5, v)
    scaled = turning_point(-1.0, 0.5, v, scale=100, observed_range=(50, 300))
    for key in ("estimate", "se", "ci_low", "ci_high"):
        assert scaled[key] == pytest.approx(100 * raw[key], rel=1e-14)
    assert scaled["inside_range"] is True
