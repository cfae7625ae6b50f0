"""FeaturesConfig: which features, at which timeframes, normalized how; validated at load time."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from edgecraft.core.timeframes import timeframe_seconds
from edgecraft.data.symbols import unify
from edgecraft.features.base import OHLCV_INPUTS, Feature
from edgecraft.features.featureset import FeatureSet
from edgecraft.features.inputs import CHANNELS, EventCursor
from edgecraft.features.registry import DEFAULT_FEATURES, FEATURES


class FeatureSpec(BaseModel):
    """One registered feature and its parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    params: dict[str, Any] = {}

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in FEATURES:
            raise ValueError(f"unknown feature {name!r}; registered: {sorted(FEATURES)}")
        return name

    def build(self) -> Feature:
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in self.params.items()}
        try:
            return FEATURES[self.name](**params)
        except TypeError as exc:
            raise ValueError(f"feature {self.name!r}: {exc}") from exc


class ChannelTiming(BaseModel):
    """When a channel's value becomes known after its stamp, and how long it stays usable."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    lag: str
    max_age: str

    @field_validator("lag", "max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        if pd.Timedelta(value) < pd.Timedelta(0):
            raise ValueError(f"durations must be >= 0, was {value}")
        return value


def _timing(lag: str, max_age: str) -> ChannelTiming:
    return ChannelTiming(lag=lag, max_age=max_age)


# Stamps and publication: daily on-chain/market series are stamped with the day they cover
# (00:00 UTC) and published after it ends (Coin Metrics' community tier a few hours into the next
# day): known 26h after the stamp. Hourly buckets are stamped at their start: news items carry
# their own publication time, so an hour of them is complete when it ends (1h); whale transfers
# and social metrics are reported minutes after the fact, so their hour counts as known 10 min
# after it ends. An open-interest point is served after its stamp (5 min). Per-bar order-book
# aggregates are stamped at the bar close they cover (by receive time): known at once, and only
# for that bar (a bar without recordings has none, whatever the timeframe).
# A value older than `max_age` counts as missing, never carried forward further.
CHANNEL_TIMING: dict[str, ChannelTiming] = {
    "open_interest": _timing("5min", "3h"),
    "chain_active": _timing("26h", "72h"),
    "chain_transfer": _timing("26h", "72h"),
    "chain_mvrv": _timing("26h", "72h"),
    "exchange_netflow": _timing("26h", "72h"),
    "whale_volume": _timing("70min", "6h"),
    "whale_netflow": _timing("70min", "6h"),
    "stable_dominance": _timing("26h", "72h"),
    "social_sentiment": _timing("70min", "6h"),
    "social_volume": _timing("70min", "6h"),
    "news_sentiment": _timing("1h", "6h"),
    "news_volume": _timing("1h", "6h"),
    "book_spread": _timing("0h", "0h"),
    "book_imbalance": _timing("0h", "0h"),
    "book_pressure": _timing("0h", "0h"),
    "trade_imbalance": _timing("0h", "0h"),
}
assert set(CHANNEL_TIMING) == set(CHANNELS)
MARKET_CHANNELS = frozenset({"stable_dominance"})  # one series for every symbol


def _specs(*names: str) -> list[FeatureSpec]:
    return [FeatureSpec(name=n) for n in names]


class FeaturesConfig(BaseModel):
    """The feature frame of a run: technical features per timeframe plus base-timeframe families."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    base_timeframe: str = "1h"
    timeframes: list[str] = ["1h", "4h", "1d"]
    features: list[FeatureSpec] = Field(default_factory=lambda: _specs(*DEFAULT_FEATURES))
    references: tuple[str, str] = ("BTC/USDT", "ETH/USDT")
    normalize: list[str] = [
        "tech_macd_*",
        "tech_atr_14",
        "tech_atr_14_[0-9]*",
        "tech_logret_*",
        "funding_rate",
    ]
    normalize_window: int = Field(48, ge=2)
    # alternative.me stamps day D's value at D 00:00 UTC and it reflects the day before (its change
    # correlates 0.57 with BTC's return over D-1 and 0.02 over D): published just after 00:00,
    # so usable from the next hourly close on
    fear_greed_lag: str = "1h"
    # beyond these ages an external value counts as missing rather than carried forward
    fear_greed_max_age: str = "72h"
    funding_max_age: str = "24h"
    # per-channel overrides of CHANNEL_TIMING
    channels: dict[str, ChannelTiming] = {}
    book_levels: int = Field(10, ge=1)  # order-book imbalance and depth over the top N levels

    @field_validator("base_timeframe")
    @classmethod
    def _timeframe(cls, value: str) -> str:
        timeframe_seconds(value)
        return value

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: dict[str, ChannelTiming]) -> dict[str, ChannelTiming]:
        unknown = sorted(set(value) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channels {unknown}; known: {sorted(CHANNELS)}")
        return value

    @field_validator("references")
    @classmethod
    def _symbols(cls, value: tuple[str, str]) -> tuple[str, str]:
        return unify(value[0]), unify(value[1])

    def build(self) -> FeatureSet:
        built = [spec.build() for spec in self.features]
        bar = [f for f in built if set(f.inputs) <= set(OHLCV_INPUTS)]
        row = [f for f in built if not set(f.inputs) <= set(OHLCV_INPUTS)]
        return FeatureSet(
            self.base_timeframe,
            list(self.timeframes),
            bar,
            row,
            list(self.normalize),
            self.normalize_window,
        )

    def fear_greed_delay(self) -> pd.Timedelta:
        return pd.Timedelta(self.fear_greed_lag)

    def funding_cursor(self, series: pd.Series | None) -> EventCursor | None:
        """Funding rates as the features read them: from the funding time, for `funding_max_age`."""
        if series is None:
            return None
        return EventCursor(series, max_age=pd.Timedelta(self.funding_max_age))

    def fear_greed_cursor(self, series: pd.Series | None) -> EventCursor | None:
        """Fear & Greed as the features read it: after its publication lag, for its max age."""
        if series is None:
            return None
        return EventCursor(series, self.fear_greed_delay(), pd.Timedelta(self.fear_greed_max_age))

    def timing(self, channel: str) -> ChannelTiming:
        return self.channels.get(channel) or CHANNEL_TIMING[channel]

    def used_channels(self) -> list[str]:
        """The channels the configured features read."""
        read = {c for spec in self.features for c in spec.build().inputs}
        return [c for c in CHANNELS if c in read]

    def channel_cursor(self, channel: str, series: pd.Series | None) -> EventCursor | None:
        """A channel's series as the features read it: after its lag, for its max age."""
        if series is None:
            return None
        timing = self.timing(channel)
        return EventCursor(series, pd.Timedelta(timing.lag), pd.Timedelta(timing.max_age))
