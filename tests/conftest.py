"""Suite-wide set-up: pin the floating-point kernels before any test module imports NumPy, so tests that
compare bytes (bundled simulator files, the fresh-clone ``dvc status``) see the pipeline's own bits."""

from pipeline.core.kernels import pin_kernels

pin_kernels()
