"""Series published on their own schedule, seen as-of each bar: funding, open interest, on-chain,
sentiment (Fear & Greed, social, news), stablecoin dominance and per-bar order-book aggregates.

Each reads one input channel (value, known time) filled by an `EventCursor` that applies the
series' publication lag, and outputs its latest value, the change from the previous publication
and a z-score against the last `window` publications."""

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


def _channel(
    cls_name: str, family: str, label: str, channel: str, window: int, doc: str
) -> type[_EventSeries]:
    """An `_EventSeries` feature reading one `CHANNELS` input (a module-level, picklable class)."""
    namespace = {
        "__doc__": doc,
        "__module__": __name__,
        "__qualname__": cls_name,
        "__annotations__": {"window": int},
        "window": window,
        "family": family,
        "inputs": (channel, f"{channel}_time"),
        "name": property(lambda self: label),
    }
    return dataclass(frozen=True)(type(cls_name, (_EventSeries,), namespace))


OpenInterest = _channel(
    "OpenInterest", "funding", "oi", "open_interest", 24, "Perpetual open interest (log)."
)
ChainActive = _channel(
    "ChainActive", "onchain", "active", "chain_active", 30, "Active addresses (log), daily."
)
ChainTransfer = _channel(
    "ChainTransfer", "onchain", "transfer", "chain_transfer", 30, "Transfer value (log USD)."
)
ChainMvrv = _channel("ChainMvrv", "onchain", "mvrv", "chain_mvrv", 30, "MVRV ratio, daily.")
ExchangeNetflow = _channel(
    "ExchangeNetflow", "onchain", "netflow", "exchange_netflow", 30, "Exchange netflow (coins)."
)
WhaleVolume = _channel(
    "WhaleVolume", "onchain", "whale", "whale_volume", 24, "Large transfers (log USD), hourly."
)
WhaleNetflow = _channel(
    "WhaleNetflow",
    "onchain",
    "whale_netflow",
    "whale_netflow",
    24,
    "Large transfers into minus out of exchanges, as a share of their USD value, hourly.",
)
StablecoinDominance = _channel(
    "StablecoinDominance",
    "market",
    "stable_dominance",
    "stable_dominance",
    30,
    "Stablecoin supply over the crypto market cap proxy, market-wide, daily.",
)
SocialSentiment = _channel(
    "SocialSentiment", "sentiment", "social", "social_sentiment", 24, "Social sentiment, hourly."
)
SocialVolume = _channel(
    "SocialVolume", "sentiment", "social_volume", "social_volume", 24, "Social interactions (log)."
)
NewsSentiment = _channel(
    "NewsSentiment", "sentiment", "news", "news_sentiment", 24, "News headline sentiment, hourly."
)
NewsVolume = _channel(
    "NewsVolume", "sentiment", "news_volume", "news_volume", 24, "News items (log 1 + n), hourly."
)
BookSpread = _channel(
    "BookSpread", "micro", "spread", "book_spread", 48, "Mean bid-ask spread over the bar (bps)."
)
BookImbalance = _channel(
    "BookImbalance", "micro", "imbalance", "book_imbalance", 48, "Top-N book imbalance at close."
)
BookPressure = _channel(
    "BookPressure", "micro", "pressure", "book_pressure", 48, "Depth-weighted mid - mid (bps)."
)
TradeImbalance = _channel(
    "TradeImbalance",
    "micro",
    "trade_imbalance",
    "trade_imbalance",
    48,
    "Taker buy minus sell volume over volume, from the bar's tick trades.",
)


@dataclass(frozen=True)
class TakerFlow(Feature):
    """Trade-flow imbalance from the bars' taker-buy volume, per bar and over rolling windows."""

    windows: tuple[int, ...] = (1, 24)
    family = "micro"
    inputs = ("volume", "taker_buy_volume")
    kernel = kernels.flow_imbalance

    def __post_init__(self) -> None:
        if not self.windows or min(self.windows) < 1:
            raise ValueError(f"windows must be positive bar counts, was {self.windows}")

    @property
    def name(self) -> str:
        return "taker_flow"

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(str(w) for w in self.windows)

    @property
    def warmup(self) -> int:
        return max(self.windows) - 1  # every window full; each output is defined after its own

    @property
    def state_size(self) -> int:
        return 2 + 2 * max(self.windows)

    def own_params(self) -> list[float]:
        return [*map(float, self.windows)]
