"""Information coefficients: prediction vs realized return, pooled, per symbol, per timestamp."""

from __future__ import annotations

import numpy as np
import pandas as pd


def ic(prediction: pd.Series, realized: pd.Series, method: str = "pearson") -> float:
    """Correlation of prediction and realized return over rows where both are finite."""
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be pearson or spearman, was {method!r}")
    frame = pd.DataFrame({"p": prediction, "r": realized}).replace([np.inf, -np.inf], np.nan)
    frame = frame.dropna()
    if len(frame) < 3 or frame["p"].nunique() < 2 or frame["r"].nunique() < 2:
        return float("nan")
    return float(frame["p"].corr(frame["r"], method=method))


def ic_by(
    prediction: pd.Series,
    realized: pd.Series,
    level: str | pd.Series,
    method: str = "spearman",
    min_count: int = 3,
) -> pd.Series:
    """IC within each group: `level` names an index level ("ts" for cross-sectional IC,
    "symbol" for per-symbol IC over time) or is a Series of group keys (e.g. months)."""
    frame = pd.DataFrame({"p": prediction, "r": realized}).dropna()
    keys = (
        frame.index.get_level_values(level)
        if isinstance(level, str)
        else (level.reindex(frame.index))
    )
    if method == "spearman":
        frame = frame.groupby(keys).rank()
        keys = (
            frame.index.get_level_values(level)
            if isinstance(level, str)
            else (level.reindex(frame.index))
        )
    grouped = frame.groupby(keys)
    counts = grouped.size()
    stats = grouped.agg(["mean", "std"])
    cov = (frame["p"] * frame["r"]).groupby(keys).mean() - stats[("p", "mean")] * stats[
        ("r", "mean")
    ]
    n = counts.astype(float)
    corr = cov * n / (n - 1) / (stats[("p", "std")] * stats[("r", "std")])
    return corr[(counts >= min_count) & np.isfinite(corr)].rename("ic")


def information_ratio(ics: pd.Series) -> float:
    """Mean over standard deviation of a series of period ICs (e.g. monthly)."""
    values = ics.dropna()
    if len(values) < 2 or values.std() == 0:
        return float("nan")
    return float(values.mean() / values.std())
