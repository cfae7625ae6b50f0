"""Records that cross layer boundaries (see DESIGN.md, Contracts)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

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


class Direction(IntEnum):
    SHORT = -1
    FLAT = 0
    LONG = 1


@dataclass(frozen=True, slots=True)
class Signal:
    """A model's call on one symbol at one bar close; an input to the risk manager, not an order."""

    ts: pd.Timestamp
    symbol: str
    direction: Direction
    confidence: float  # calibrated P(direction is right over `horizon`)
    horizon: pd.Timedelta
    entry: float
    target: float | None  # take-profit price; None when FLAT
    stop: float | None  # stop-loss price; None when FLAT
    model_id: str
    # the model's own sizing (e.g. an RL agent's), in [0, 1]: the risk manager may shrink a
    # position by it, never grow one
    size: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], was {self.confidence}")
        if not 0.0 <= self.size <= 1.0:
            raise ValueError(f"size must be in [0, 1], was {self.size}")
        if self.direction == Direction.FLAT:
            if self.target is not None or self.stop is not None:
                raise ValueError("a FLAT signal has no target or stop")
            return
        if self.target is None or self.stop is None:
            raise ValueError(f"a {self.direction.name} signal needs a target and a stop")
        sign = int(self.direction)
        if not sign * (self.target - self.entry) > 0 > sign * (self.stop - self.entry):
            raise ValueError(
                f"{self.direction.name} signal needs target and stop on opposite "
                f"sides of entry {self.entry}: target {self.target}, stop {self.stop}"
            )


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the risk manager wants held in one symbol after this bar, and how to get there.

    `target_weight` is the signed position as a fraction of equity; `size` the absolute change.
    A rejected or resized signal still yields an intent whose `reason` says which rule acted.
    """

    ts: pd.Timestamp
    symbol: str
    side: str  # "buy", "sell" or "none"
    size: float  # |target_weight - current weight|
    target_weight: float
    order_type: str  # "market" or "limit"
    limit_price: float | None
    time_in_force: str  # "IOC", "GTC"
    slices: int  # child orders for a large change
    stop: float | None
    target: float | None
    expires: pd.Timestamp | None  # horizon exit
    reason: str
    # a GTC limit rests until it fills or this time passes, then is cancelled; slices go one
    # per bar
    good_till: pd.Timestamp | None = None

    def __post_init__(self) -> None:
        if self.side not in ("buy", "sell", "none"):
            raise ValueError(f"side must be buy, sell or none, was {self.side!r}")
        if self.size < 0 or self.slices < 1:
            raise ValueError(f"size must be >= 0 and slices >= 1, were {self.size}, {self.slices}")
        if self.order_type == "limit" and self.limit_price is None:
            raise ValueError("a limit order needs a limit price")
