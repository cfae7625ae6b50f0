"""Pure metric functions: information coefficients, P&L statistics, calibration, overfitting."""
