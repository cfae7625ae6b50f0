"""edgecraft: crypto market data to leak-free features, calibrated signals, controlled risk."""

__version__ = "0.1.0"
