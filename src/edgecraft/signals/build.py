"""Signals from calibrated probabilities: direction, confidence, horizon, entry, target and stop."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.core.contracts import Direction, Signal


def build_signals(
    p_up: pd.Series,
    close: pd.Series,
    atr: pd.Series,
    horizon: str,
    min_confidence: float = 0.52,
    target_atr: float = 2.0,
    stop_atr: float = 2.0,
) -> pd.DataFrame:
    """One signal per row of `p_up` (indexed like the Bars contract).

    Direction follows the more likely side; confidence is the calibrated probability that it is
    right. Below `min_confidence` (or without an ATR) the signal is FLAT, with no target or stop.
    Targets and stops sit `target_atr` / `stop_atr` ATRs from the entry close, on the correct side.
    """
    if not 0.5 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0.5, 1], was {min_confidence}")
    p = p_up.astype(float)
    entry = close.reindex(p.index).astype(float)
    width = atr.reindex(p.index).astype(float)
    confidence = np.maximum(p, 1.0 - p)
    side = np.where(p > 0.5, 1, np.where(p < 0.5, -1, 0))
    trade = (confidence >= min_confidence) & np.isfinite(width) & (width > 0) & p.notna()
    direction = np.where(trade, side, 0).astype(int)
    return pd.DataFrame(
        {
            "direction": direction,
            "confidence": confidence.fillna(0.5),
            "p_up": p,
            "horizon": pd.Timedelta(horizon),
            "entry": entry,
            "target": np.where(direction != 0, entry + direction * target_atr * width, np.nan),
            "stop": np.where(direction != 0, entry - direction * stop_atr * width, np.nan),
        },
        index=p.index,
    )


def to_records(signals: pd.DataFrame, model_id: str) -> list[Signal]:
    """The frame as Signal records (for the engine and serving layers)."""
    out = []
    for (ts, symbol), row in signals.iterrows():
        flat = row["direction"] == 0
        out.append(
            Signal(
                ts=ts,
                symbol=symbol,
                direction=Direction(int(row["direction"])),
                confidence=float(row["confidence"]),
                horizon=row["horizon"],
                entry=float(row["entry"]),
                target=None if flat else float(row["target"]),
                stop=None if flat else float(row["stop"]),
                model_id=model_id,
            )
        )
    return out
