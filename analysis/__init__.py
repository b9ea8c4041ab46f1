"""Model fitting: founding, survival/mortality, growth and bottleneck analyses."""

# Before anything imports NumPy: the same floating-point kernels on every x86-64 machine.
from pipeline.core.kernels import pin_kernels as _pin_kernels

_pin_kernels()
