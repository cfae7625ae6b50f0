"""Series published on their own schedule, seen as-of each bar: funding rates and Fear & Greed."""

from __future__ import annotations

from dataclasses import dataclass

from edgecraft.features import kernels
from edgecraft.features.base import Feature


@dataclass(frozen=True)
class _EventSeries(Feature):
    window: int = 21  # publications in the z-score
    kernel = kernels.event_series

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("", "change", f"z_{self.window}")

    @property
    def warmup(self) -> int:
        return 0  # counted in publications, not bars: see `window`

    @property
    def state_size(self) -> int:
        return 6 + self.window

    def own_params(self) -> list[float]:
        return [float(self.window)]


@dataclass(frozen=True)
class Funding(_EventSeries):
    """Perpetual funding rate of the pair's base asset, from its funding time on (8-hourly)."""

    family = "funding"
    inputs = ("funding_rate", "funding_time")

    @property
    def name(self) -> str:
        return "rate"


@dataclass(frozen=True)
class FearGreed(_EventSeries):
    """Crypto Fear & Greed index (0-100), from its publication time on (daily)."""

    window: int = 30
    family = "sentiment"
    inputs = ("fng_value", "fng_time")

    @property
    def name(self) -> str:
        return "fng"
