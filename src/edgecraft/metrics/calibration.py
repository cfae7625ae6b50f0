"""Calibration of probabilities: Brier score, expected calibration error, reliability table."""

from __future__ import annotations

import numpy as np
import pandas as pd


def brier(probability: pd.Series, outcome: pd.Series) -> float:
    """Mean squared error of predicted probabilities against 0/1 outcomes."""
    frame = pd.DataFrame({"p": probability, "o": outcome}).dropna()
    if frame.empty:
        return float("nan")
    return float(((frame["p"] - frame["o"]) ** 2).mean())


def reliability(probability: pd.Series, outcome: pd.Series, bins: int = 10) -> pd.DataFrame:
    """Per equal-width probability bin: mean prediction, observed frequency, count."""
    frame = pd.DataFrame({"p": probability, "o": outcome}).dropna()
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(frame["p"], edges[1:-1]), 0, bins - 1)
    table = frame.groupby(which).agg(
        predicted=("p", "mean"), observed=("o", "mean"), count=("p", "size")
    )
    return table


def expected_calibration_error(probability: pd.Series, outcome: pd.Series, bins: int = 10) -> float:
    """Count-weighted mean |observed frequency - mean prediction| over probability bins."""
    table = reliability(probability, outcome, bins)
    if table.empty:
        return float("nan")
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["observed"] - table["predicted"]).abs()).sum())
