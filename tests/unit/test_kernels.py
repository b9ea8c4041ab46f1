"""The floating-point kernels are pinned before NumPy loads (bit-identical results across x86-64 machines)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline.core.kernels import NUMPY_DISABLED, OPENBLAS_CORE, _cpu_flags, describe, pinning_plan

X86_V3 = frozenset({"avx2", "fma", "sse4_2"})


def test_plan_on_an_avx2_x86_machine_pins_both() -> None:
    assert pinning_plan({}, "x86_64", X86_V3) == {
        "OPENBLAS_CORETYPE": "Haswell",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    }


def test_a_variable_the_user_set_is_kept() -> None:
    plan = pinning_plan({"OPENBLAS_CORETYPE": "SkylakeX"}, "x86_64", X86_V3)
    assert plan == {"NPY_DISABLE_CPU_FEATURES": NUMPY_DISABLED}


@pytest.mark.parametrize(
    "env, machine, flags",
    [
        ({"ORGECOLOGY_NATIVE_KERNELS": "1"}, "x86_64", X86_V3),  # opted out
        ({}, "arm64", X86_V3),  # macOS arm64: Accelerate, nothing to pin
        ({}, "aarch64", X86_V3),
        ({}, "x86_64", frozenset({"sse4_2"})),  # no AVX2/FMA: Haswell kernels would not run
    ],
)
def test_nothing_is_pinned_where_it_does_not_apply(env: dict, machine: str, flags: frozenset) -> None:
    assert pinning_plan(env, machine, flags) == {}


def test_describe_says_which_kernels() -> None:
    assert "OpenBLAS Haswell" in describe({"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": "X"})
    assert "native" in describe({})


PROBE = (
    "import pipeline, json, os, numpy\n"
    "from numpy._core._multiarray_umath import __cpu_features__ as f\n"
    "from threadpoolctl import threadpool_info\n"
    "blas = [i.get('architecture') for i in threadpool_info() if i.get('internal_api') == 'openblas']\n"
    "print(json.dumps({'core': os.environ.get('OPENBLAS_CORETYPE'), 'v4': bool(f.get('X86_V4')), 'blas': blas}))\n"
)


@pytest.mark.skipif(not {"avx2", "fma"} <= _cpu_flags(), reason="pinning applies to x86-64 with AVX2 + FMA")
def test_importing_the_pipeline_first_pins_numpy_and_openblas_in_a_fresh_process() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout)
    assert seen["core"] == OPENBLAS_CORE
    assert seen["v4"] is False  # NumPy's AVX-512 loops are off even where the CPU has them
    assert seen["blas"] and all(a == OPENBLAS_CORE for a in seen["blas"]), seen


def test_the_suite_itself_runs_pinned() -> None:
    """tests/conftest.py pins before test modules import NumPy (bytes compared in-process need it)."""
    if not {"avx2", "fma"} <= _cpu_flags() or os.environ.get("ORGECOLOGY_NATIVE_KERNELS", "0") not in (
        "",
        "0",
    ):
        pytest.skip("pinning does not apply here")
    from numpy._core._multiarray_umath import __cpu_features__ as f

    assert os.environ.get("OPENBLAS_CORETYPE") and not f.get("X86_V4")
