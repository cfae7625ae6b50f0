"""What a classifier learns from a label frame."""

from __future__ import annotations

import pandas as pd


def training_target(labels: pd.DataFrame, kind: str) -> pd.Series:
    """Barrier classes (-1, 0, 1) with triple-barrier labels, else up (1) / not up (0); NaN where
    the label is not known (those rows are never trained on)."""
    if kind == "triple_barrier":
        return labels["y"].astype(float)
    return (labels["ret"] > 0).astype(float).where(labels["ret"].notna())
