"""Stage adapters (the only code that reads params and paths), the stage registry and dvc.yaml generation.

The top layer: adapters import the data layer, analysis and reports; nothing imports them but the CLI.
"""
