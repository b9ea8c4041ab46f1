"""Model fitting: founding, survival/mortality, growth and bottleneck analyses."""
