"""Data layer of the organizational-ecology pipeline: read, validate, clean, build event histories."""

# Before anything imports NumPy: the same floating-point kernels on every x86-64 machine (see the module).
from pipeline.core.kernels import pin_kernels as _pin_kernels

_pin_kernels()
