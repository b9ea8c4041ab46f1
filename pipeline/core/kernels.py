"""The same floating-point bits on every x86-64 machine: pin the BLAS and SIMD kernels before NumPy loads.

OpenBLAS picks its compute kernels by CPU (``SkylakeX`` on an Intel AVX-512 server, ``Haswell`` on an AMD
EPYC), and NumPy dispatches its loops (``exp``, ``log``, sums) to AVX-512 where the CPU has it. Each choice is
correct to the last digit or two, but not the *same* last digit: measured on the bundled data, an NB2 founding
model's LR statistic reads 1738.0325379365247 on one server and 1738.0325379365233 on another. The numbers
agree to 1e-12, yet every result file's bytes differ, so ``dvc status`` lists every stage as modified and a
reviewer's report is stamped "+dirty" although nothing is wrong.

So the pipeline pins both to the x86-64-v3 level (AVX2 + FMA, every x86-64 server since 2015):
``OPENBLAS_CORETYPE=Haswell`` and ``NPY_DISABLE_CPU_FEATURES`` for the AVX-512 groups. This must run before
NumPy (and SciPy's own OpenBLAS) is first imported: it runs from ``pipeline/__init__.py`` and
``analysis/__init__.py`` and from the test suite's ``conftest.py``. A variable the user set is respected;
``ORGECOLOGY_NATIVE_KERNELS=1`` turns the pinning off (results then agree to ~1e-12, not bit for bit). On a
CPU without AVX2 + FMA, and off x86-64 (macOS arm64: Accelerate), nothing is pinned and the committed
results are reproduced to ``python -m pipeline verify``'s tolerance rather than byte for byte.

Standard library only: importing this module must not import NumPy.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import MutableMapping
from pathlib import Path

OPENBLAS_CORE = "Haswell"
#: NumPy (>= 2.4) CPU-feature groups above x86-64-v3; names the CPU lacks are ignored by NumPy.
NUMPY_DISABLED = "X86_V4 AVX512_ICL AVX512_SPR"
_REQUIRED_FLAGS = frozenset({"avx2", "fma"})


def _cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def pinning_plan(
    environ: MutableMapping[str, str] | None = None,
    machine: str | None = None,
    flags: frozenset[str] | None = None,
) -> dict[str, str]:
    """The variables to set (none already set by the user), or ``{}`` where pinning does not apply."""
    env = os.environ if environ is None else environ
    if env.get("ORGECOLOGY_NATIVE_KERNELS", "0") not in ("", "0"):
        return {}
    arch = (machine or platform.machine()).lower()
    if arch not in ("x86_64", "amd64"):
        return {}
    if not _REQUIRED_FLAGS <= (_cpu_flags() if flags is None else flags):
        return {}
    plan = {"OPENBLAS_CORETYPE": OPENBLAS_CORE, "NPY_DISABLE_CPU_FEATURES": NUMPY_DISABLED}
    return {k: v for k, v in plan.items() if k not in env}


def pin_kernels(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the pinning variables in this process (inherited by its children) and return what was set.

    Too late once NumPy is imported (OpenBLAS and NumPy read the variables when they load): then nothing is
    set here, and the children (Snakemake jobs, DVC stages) still inherit nothing new; the caller is told by
    the return value ``{}``."""
    env = os.environ if environ is None else environ
    if "numpy" in sys.modules and environ is None:
        return {}
    plan = pinning_plan(env)
    env.update(plan)
    return plan


def describe(environ: MutableMapping[str, str] | None = None) -> str:
    """One line for logs and the README: which kernels this process computes with."""
    env = os.environ if environ is None else environ
    core = env.get("OPENBLAS_CORETYPE")
    if core is None:
        return "floating-point kernels: native (not pinned; results agree with the committed ones to ~1e-12)"
    return (
        f"floating-point kernels: OpenBLAS {core}, NumPy SIMD without "
        f"{env.get('NPY_DISABLE_CPU_FEATURES', '-') or '-'} (pinned so results are bit-identical across x86-64)"
    )
