"""edgecraft: crypto market data to leak-free features, calibrated signals and risk-controlled orders."""

__version__ = "0.1.0"
