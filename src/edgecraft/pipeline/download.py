"""`edgecraft download`: backfill bars (and funding) into a data folder for users who are online."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from edgecraft.data.download import Downloader, make_exchange
from edgecraft.data.store import ParquetStore
from edgecraft.data.symbols import unify


@dataclass(frozen=True)
class DownloadResult:
    symbol: str
    bars_added: int
    funding_added: int | None


def download(
    data: Path,
    symbols: list[str],
    timeframe: str = "1h",
    market: str = "spot",
    since: str = "2018-01-01",
    funding: bool = False,
    exchange: str = "binance",
    api_base: str | None = None,
) -> list[DownloadResult]:
    """Download closed bars (and funding rates) of `symbols` into the data folder `data`."""
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
        results.append(DownloadResult(symbol, bars, rates))
    return results
