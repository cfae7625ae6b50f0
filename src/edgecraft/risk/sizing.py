"""Position sizing as pure functions: Kelly from a calibrated probability, volatility targeting."""

from __future__ import annotations

import math


def kelly_fraction(p_win: float, payoff: float) -> float:
    """Kelly bet for win probability `p_win` and win/loss size ratio `payoff` (0: no edge)."""
    if payoff <= 0 or not 0.0 <= p_win <= 1.0:
        return 0.0
    return max(0.0, p_win - (1.0 - p_win) / payoff)


def vol_target_weight(target_vol: float, asset_vol: float) -> float:
    """Weight that gives the position `target_vol` annualized volatility (inf-safe)."""
    if not asset_vol > 0 or math.isnan(asset_vol):
        return 0.0
    return target_vol / asset_vol


def expected_edge(p_win: float, target_distance: float, stop_distance: float) -> float:
    """Expected return of a bracket trade: p * target - (1 - p) * stop (both as fractions)."""
    return p_win * target_distance - (1.0 - p_win) * stop_distance
