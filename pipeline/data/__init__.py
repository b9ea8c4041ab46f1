"""The data layer: read raw files, parse dates, validate, clean, build event histories (pure functions)."""
