"""Data layer of the organizational-ecology pipeline: read, validate, clean, build event histories."""
