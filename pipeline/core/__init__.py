"""Shared core: atomic I/O, paths, params loading, column roles, input errors (imports nothing above it)."""
