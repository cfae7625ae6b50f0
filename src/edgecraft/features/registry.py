"""FEATURES: every registered feature by name; configs name them, contract tests run them all."""

from __future__ import annotations

from edgecraft.features.base import Feature
from edgecraft.features.cross_asset import MarketPair, VersusReference
from edgecraft.features.external import (
    BookImbalance,
    BookPressure,
    BookSpread,
    ChainActive,
    ChainMvrv,
    ChainTransfer,
    ExchangeNetflow,
    FearGreed,
    Funding,
    NewsSentiment,
    NewsVolume,
    OpenInterest,
    SocialSentiment,
    SocialVolume,
    StablecoinDominance,
    TakerFlow,
    TradeImbalance,
    WhaleNetflow,
    WhaleVolume,
)
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
    "open_interest": OpenInterest,
    "onchain_active": ChainActive,
    "onchain_transfer": ChainTransfer,
    "onchain_mvrv": ChainMvrv,
    "exchange_netflow": ExchangeNetflow,
    "whale_volume": WhaleVolume,
    "whale_netflow": WhaleNetflow,
    "stablecoin_dominance": StablecoinDominance,
    "social_sentiment": SocialSentiment,
    "social_volume": SocialVolume,
    "news_sentiment": NewsSentiment,
    "news_volume": NewsVolume,
    "book_spread": BookSpread,
    "book_imbalance": BookImbalance,
    "book_pressure": BookPressure,
    "trade_imbalance": TradeImbalance,
    "taker_flow": TakerFlow,
}
# the features of a config that names none: the families with history in the bundled data;
# the others are opt-in (configs/families.yaml turns every family on)
DEFAULT_FEATURES: tuple[str, ...] = (
    "logret",
    "rsi",
    "macd",
    "bbands",
    "atr",
    "volz",
    "clv",
    "versus_reference",
    "market_pair",
    "funding",
    "fear_greed",
)
