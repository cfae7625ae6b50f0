"""`edgecraft download`: backfill bars (and funding) into a data folder for users who are online."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from edgecraft.core.errors import ConfigError
from edgecraft.data.download import Downloader, make_exchange
from edgecraft.data.store import ParquetStore
from edgecraft.data.symbols import unify


@dataclass(frozen=True)
class DownloadResult:
    symbol: str
    bars_added: int
    funding_added: int | None
    open_interest: int | None = None


def download(
    data: Path,
    symbols: list[str],
    timeframe: str = "1h",
    market: str = "spot",
    since: str = "2018-01-01",
    funding: bool = False,
    exchange: str = "binance",
    api_base: str | None = None,
    open_interest: bool = False,
) -> list[DownloadResult]:
    """Download closed bars (and funding rates, open interest) of `symbols` into `data`."""
    store = ParquetStore(data, exchange)
    downloader = Downloader(make_exchange(exchange, api_base), store)
    start = (
        pd.Timestamp(since, tz="UTC")
        if pd.Timestamp(since).tzinfo is None
        else (pd.Timestamp(since).tz_convert("UTC"))
    )
    results = []
    for symbol in (unify(s) for s in symbols):
        bars = downloader.bars(market, timeframe, symbol, start)
        rates = downloader.funding(symbol, start) if funding else None
        interest = downloader.open_interest(symbol, start) if open_interest else None
        results.append(DownloadResult(symbol, bars, rates, interest))
    return results


def make_provider(name: str, api_base: str | None = None):
    """A provider client by name (keys from its environment variable), optionally redirected."""
    from edgecraft.data.providers.onchain import CoinMetrics, CryptoQuant, WhaleAlert
    from edgecraft.data.providers.social import CryptoPanic, LunarCrush

    classes = {
        "coinmetrics": CoinMetrics,
        "cryptoquant": CryptoQuant,
        "whalealert": WhaleAlert,
        "lunarcrush": LunarCrush,
        "cryptopanic": CryptoPanic,
    }
    if name not in classes:
        raise ConfigError(f"unknown provider {name!r}; known: {sorted(classes)}")
    return classes[name](api_base) if api_base else classes[name]()


def fetch_external(
    data: Path,
    provider: str,
    assets: list[str],
    start: str,
    end: str | None = None,
    api_base: str | None = None,
) -> dict[str, dict[str, int]]:
    """Fetch `assets`' series from a provider into ``data/channels``; rows per asset and channel."""
    from edgecraft.data.providers import record, utc

    client = make_provider(provider, api_base)
    stop = utc(end) if end else pd.Timestamp.now(tz="UTC")
    return {a.upper(): record(client, data, a.upper(), utc(start), stop) for a in assets}


def record_books(
    data: Path,
    symbols: list[str],
    polls: int,
    interval_s: float,
    market: str = "spot",
    levels: int = 20,
    exchange: str = "binance",
    api_base: str | None = None,
    stream: bool = False,
    ws_base: str | None = None,
) -> dict[str, int]:
    """Record order books and trades of `symbols` into ``data/microstructure``: `polls` REST
    snapshots `interval_s` apart, or with `stream` the websocket streams until each book updated
    `polls` times. Returns rows per file."""
    from edgecraft.data.providers.recorder import BookRecorder

    client = make_exchange(exchange, api_base, pro=stream, ws_base=ws_base)
    recorder = BookRecorder(client, data, market, levels)
    chosen = [unify(s) for s in symbols]
    if stream:
        return recorder.stream(chosen, polls, timeout_s=max(60.0, 10.0 * polls))
    return recorder.record(chosen, polls, interval_s)
