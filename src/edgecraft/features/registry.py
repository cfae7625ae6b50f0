"""FEATURES: every registered feature by name; configs name them, contract tests run them all."""

from __future__ import annotations

from edgecraft.features.base import Feature
from edgecraft.features.cross_asset import MarketPair, VersusReference
from edgecraft.features.external import FearGreed, Funding
from edgecraft.features.technical import (
    Atr,
    Bollinger,
    CloseLocation,
    LogReturns,
    Macd,
    Rsi,
    VolumeZ,
)

FEATURES: dict[str, type[Feature]] = {
    "logret": LogReturns,
    "rsi": Rsi,
    "macd": Macd,
    "bbands": Bollinger,
    "atr": Atr,
    "volz": VolumeZ,
    "clv": CloseLocation,
    "versus_reference": VersusReference,
    "market_pair": MarketPair,
    "funding": Funding,
    "fear_greed": FearGreed,
}
