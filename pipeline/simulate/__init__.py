"""The documented simulator of the bundled default dataset (``python -m pipeline.simulate``)."""
