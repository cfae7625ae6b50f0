"""Time-series validation: purged walk-forward with an embargo (and a leaky baseline for tests)."""
