"""Records that cross layer boundaries (see DESIGN.md, Contracts)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed OHLCV bar; `ts` is the bar's close time (UTC)."""

    ts: pd.Timestamp
    symbol: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    taker_buy_volume: float = math.nan

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError(f"Bar.ts must be timezone-aware UTC, was naive {self.ts}")
