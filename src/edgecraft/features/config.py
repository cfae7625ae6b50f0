"""FeaturesConfig: which features, at which timeframes, normalized how; validated at load time."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from edgecraft.core.timeframes import timeframe_seconds
from edgecraft.data.symbols import unify
from edgecraft.features.base import OHLCV_INPUTS, Feature
from edgecraft.features.featureset import FeatureSet
from edgecraft.features.inputs import EventCursor
from edgecraft.features.registry import FEATURES


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


def _specs(*names: str) -> list[FeatureSpec]:
    return [FeatureSpec(name=n) for n in names]


class FeaturesConfig(BaseModel):
    """The feature frame of a run: technical features per timeframe plus base-timeframe families."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    base_timeframe: str = "1h"
    timeframes: list[str] = ["1h", "4h", "1d"]
    features: list[FeatureSpec] = Field(default_factory=lambda: _specs(*FEATURES))
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

    @field_validator("base_timeframe")
    @classmethod
    def _timeframe(cls, value: str) -> str:
        timeframe_seconds(value)
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
