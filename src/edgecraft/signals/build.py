"""Signals from calibrated probabilities: direction, confidence, horizon, entry, target and stop."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.core.contracts import Direction, Signal


def levels(p_up, entry, atr, min_confidence: float, target_atr: float, stop_atr: float):
    """The signal rule, on NumPy arrays or scalars alike (batch and live share it).

    Direction follows the more likely side; confidence is the calibrated probability that it is
    right. Below `min_confidence` (or without a usable ATR) the signal is FLAT, with no target or
    stop. Targets and stops sit `target_atr` / `stop_atr` ATRs from the entry, on the right sides.
    Returns (direction, confidence, target, stop).
    """
    p = np.asarray(p_up, dtype=np.float64)
    width = np.asarray(atr, dtype=np.float64)
    known = np.isfinite(p)
    confidence = np.where(known, np.maximum(p, 1.0 - p), 0.5)
    side = np.where(p > 0.5, 1, np.where(p < 0.5, -1, 0))
    trade = known & (confidence >= min_confidence) & np.isfinite(width) & (width > 0)
    direction = np.where(trade, side, 0)
    target = np.where(direction != 0, entry + direction * target_atr * width, np.nan)
    stop = np.where(direction != 0, entry - direction * stop_atr * width, np.nan)
    return direction, confidence, target, stop


def position_size(direction, confidence, rl_position=None, full_size_confidence=None):
    """Each signal's size in [0, 1] (batch and live share it): the sizing agent's position
    counted on the signal's side when there is one, else rising linearly with the confidence
    from 0.5 to full size at `full_size_confidence` (1 everywhere if unset); 0 when FLAT."""
    direction = np.asarray(direction, dtype=np.float64)
    if rl_position is not None:
        size = np.clip(np.asarray(rl_position, dtype=np.float64) * direction, 0.0, 1.0)
    elif full_size_confidence is not None:
        confidence = np.asarray(confidence, dtype=np.float64)
        size = np.clip((confidence - 0.5) / (full_size_confidence - 0.5), 0.0, 1.0)
    else:
        size = np.ones_like(direction)
    return np.where(direction != 0, size, 0.0)


def build_signals(
    p_up: pd.Series,
    close: pd.Series,
    atr: pd.Series,
    horizon: str,
    min_confidence: float = 0.52,
    target_atr: float = 2.0,
    stop_atr: float = 2.0,
) -> pd.DataFrame:
    """One signal per row of `p_up` (indexed like the Bars contract), by the rule of `levels`."""
    if not 0.5 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0.5, 1], was {min_confidence}")
    p = p_up.astype(float)
    entry = close.reindex(p.index).astype(float).to_numpy()
    width = atr.reindex(p.index).astype(float).to_numpy()
    direction, confidence, target, stop = levels(
        p.to_numpy(), entry, width, min_confidence, target_atr, stop_atr
    )
    return pd.DataFrame(
        {
            "direction": direction.astype(int),
            "confidence": confidence,
            "p_up": p,
            "horizon": pd.Timedelta(horizon),
            "entry": entry,
            "target": target,
            "stop": stop,
        },
        index=p.index,
    )


def make_signals(
    ts: pd.Timestamp,
    symbols: list[str],
    p_up,
    entry,
    atr,
    horizon: pd.Timedelta,
    model_id: str,
    min_confidence: float,
    target_atr: float,
    stop_atr: float,
    size=None,
) -> list[Signal]:
    """Live Signal records for one bar close, by the same rule (`levels`) as `build_signals`;
    `size` (optional, per symbol, in [0, 1]) is the model's own sizing."""
    entry = np.asarray(entry, dtype=np.float64)
    sizes = np.ones(len(symbols)) if size is None else np.clip(np.nan_to_num(size), 0.0, 1.0)
    direction, confidence, target, stop = levels(
        p_up, entry, atr, min_confidence, target_atr, stop_atr
    )
    return [
        _signal(
            ts,
            s,
            direction[k],
            confidence[k],
            horizon,
            entry[k],
            target[k],
            stop[k],
            model_id,
            sizes[k],
        )
        for k, s in enumerate(symbols)
    ]


def to_records(signals: pd.DataFrame, model_id: str) -> list[Signal]:
    """The frame of `build_signals` as Signal records (for the engine and serving layers)."""
    return [
        _signal(
            ts,
            symbol,
            row["direction"],
            row["confidence"],
            row["horizon"],
            row["entry"],
            row["target"],
            row["stop"],
            model_id,
        )
        for (ts, symbol), row in signals.iterrows()
    ]


def _signal(
    ts, symbol, direction, confidence, horizon, entry, target, stop, model_id, size=1.0
) -> Signal:
    """One Signal record; a FLAT one carries no target or stop."""
    flat = int(direction) == 0
    return Signal(
        ts=ts,
        symbol=symbol,
        direction=Direction(int(direction)),
        confidence=float(confidence),
        horizon=horizon,
        entry=float(entry),
        target=None if flat else float(target),
        stop=None if flat else float(stop),
        model_id=model_id,
        size=float(size),
    )
