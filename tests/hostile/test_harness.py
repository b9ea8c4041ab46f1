"""The harness's own checks fail when they should (a check that cannot fail proves nothing)."""

from __future__ import annotations

import pytest

from tests.hostile.harness import Run, assert_clean_error, assert_ok


def _run(**kw):
    base = dict(
        args=["run", "validate_inputs", "--dataset", "t"],
        returncode=1,
        stdout="",
        stderr="ERROR validate_inputs: data/raw/t/organizations.csv: row 3 is bad\n",
        log="",
        outputs_before={},
        outputs_after={},
        inputs_before={"data/raw/t/organizations.csv": "x"},
        inputs_after={"data/raw/t/organizations.csv": "x"},
    )
    base.update(kw)
    return Run(**base)


def test_clean_error_passes_on_a_clean_error():
    assert_clean_error(_run(), "organizations.csv", "ROW 3")


@pytest.mark.parametrize(
    "kw",
    [
        {"returncode": 0},
        {"stderr": "Traceback (most recent call last):\n  KeyError: 'x'\n"},
        {"stderr": "ERROR validate_inputs: data/raw/t/other.csv is bad\n"},
        {"stderr": "row 3 of organizations.csv is bad, really\n" * 2},
        {"outputs_after": {"data/interim/t/.validated.abc.tmp/": "hidden folder"}},
        {"outputs_before": {"a": "1"}, "outputs_after": {"a": "2"}},
        {"inputs_after": {"data/raw/t/organizations.csv": "y"}},
    ],
)
def test_clean_error_fails_on_each_violation(kw):
    with pytest.raises(AssertionError):
        assert_clean_error(_run(**kw), "organizations.csv", "row 3")


def test_ok_fails_on_error_exit_and_modified_inputs():
    with pytest.raises(AssertionError):
        assert_ok(_run())
    with pytest.raises(AssertionError):
        assert_ok(_run(returncode=0, inputs_after={}))
