"""Backfill bars and funding rates from an exchange through CCXT into the Parquet store.

Paginated from the store's last row (so an interrupted download resumes), with retries and
exponential backoff on rate limits (HTTP 429/418) and network timeouts. Only closed bars are stored.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ccxt
import ccxt.pro
import pandas as pd

from edgecraft.core.timeframes import timeframe_delta
from edgecraft.data.external import asset_of, channel_path, read_channel, write_channel
from edgecraft.data.store import AppendResult, ParquetStore
from edgecraft.data.symbols import exchange_id, unify

log = logging.getLogger(__name__)

RETRYABLE = (
    ccxt.RateLimitExceeded,
    ccxt.DDoSProtection,
    ccxt.RequestTimeout,
    ccxt.ExchangeNotAvailable,
    ccxt.NetworkError,
)
_KLINE_COLUMNS = [
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
]


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per request and the backoff between them (doubling from `backoff_s`)."""

    attempts: int = 6
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0


def perpetual(symbol: str) -> str:
    """CCXT's id of the pair's linear perpetual: "BTC/USDT" -> "BTC/USDT:USDT"."""
    pair = unify(symbol)
    return f"{pair}:{pair.split('/')[1]}"


def make_exchange(
    name: str = "binance",
    api_base: str | None = None,
    timeout_ms: int = 10_000,
    pro: bool = False,
    ws_base: str | None = None,
) -> ccxt.Exchange:
    """A CCXT exchange with its built-in rate limiter on; `pro` gives CCXT Pro's async exchange
    (websocket `watch_*` methods). `api_base` redirects every REST URL and `ws_base` every
    websocket URL (a mirror, a proxy, or a local replay server) by replacing scheme and host.
    CCXT Pro's Binance tells spot streams by "/stream" in the URL: keep it in a `ws_base`."""
    module = ccxt.pro if pro else ccxt
    if not hasattr(module, name):
        raise ValueError(f"unknown exchange {name!r} for CCXT{' Pro' if pro else ''}")
    exchange = getattr(module, name)(
        {
            "enableRateLimit": True,
            "timeout": timeout_ms,
            "options": {"fetchMarkets": {"types": ["spot", "linear"]}, "fetchCurrencies": False},
        }
    )
    if api_base or ws_base:
        exchange.urls["api"] = _redirect(exchange.urls["api"], api_base, ws_base)
    return exchange


def _redirect(urls: object, api_base: str | None, ws_base: str | None) -> object:
    if isinstance(urls, dict):
        return {key: _redirect(value, api_base, ws_base) for key, value in urls.items()}
    if not isinstance(urls, str):
        return urls
    parts = urlsplit(urls)
    base = ws_base if parts.scheme in ("ws", "wss") else api_base
    return base.rstrip("/") + parts.path if base else urls


def with_retries(
    call: Callable[[], Any], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep
) -> Any:
    """Run `call`, retrying rate-limit and network errors with exponential backoff."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except RETRYABLE as exc:
            if attempt == policy.attempts - 1:
                raise
            wait = min(policy.backoff_s * 2**attempt, policy.max_backoff_s)
            log.warning("retry=%d wait_s=%.1f error=%s", attempt + 1, wait, type(exc).__name__)
            sleep(wait)
    raise AssertionError("unreachable")


class Downloader:
    """Fills a `ParquetStore` from one exchange; `now` is the clock (passed in, for closed bars)."""

    def __init__(
        self,
        exchange: ccxt.Exchange,
        store: ParquetStore | None,
        page_limit: int = 1000,
        policy: RetryPolicy = RetryPolicy(),
        now: Callable[[], pd.Timestamp] = lambda: pd.Timestamp.now(tz="UTC"),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.page_limit = page_limit
        self.policy = policy
        self.now = now
        self.sleep = sleep
        self._markets_loaded = False

    def bars(self, market: str, timeframe: str, symbol: str, since: pd.Timestamp) -> int:
        """Download closed `timeframe` bars of `symbol` from the store's last bar (or `since`) to
        now; each page is appended as it arrives. Returns the number of new rows."""
        self._load_markets()
        path = self.store.bars_path(market, timeframe, symbol)
        step = timeframe_delta(timeframe)
        last = self.store.last_time(path)
        start = since if last is None else last + step
        added = 0
        while True:
            cutoff = self.now() - step  # a bar opened after this has not closed yet
            if start > cutoff:
                break
            page = self.fetch_klines(market, timeframe, symbol, start)
            page = page[page["timestamp"] <= cutoff]
            if page.empty:
                break
            result = self.store.append_bars(market, timeframe, symbol, page)
            added += result.added
            log.info(
                "symbol=%s timeframe=%s rows=%d last=%s",
                symbol,
                timeframe,
                len(page),
                page["timestamp"].iloc[-1],
            )
            start = page["timestamp"].iloc[-1] + step
        return added

    def funding(self, symbol: str, since: pd.Timestamp) -> int:
        """Download the perpetual funding-rate history of `symbol` from the last stored one."""
        self._load_markets()
        path = self.store.funding_path(symbol)
        last = self.store.last_time(path)
        start = since if last is None else last + pd.Timedelta("1min")
        added = 0
        while start <= self.now():
            page = self.fetch_funding(symbol, start)
            if page.empty:
                break
            page = page[page["timestamp"] >= start]
            if page.empty:
                break
            result: AppendResult = self.store.append_funding(symbol, page)
            added += result.added
            start = page["timestamp"].iloc[-1] + pd.Timedelta("1min")
        return added

    def fetch_funding(self, symbol: str, since: pd.Timestamp) -> pd.DataFrame:
        """One page of `symbol`'s perpetual funding rates from `since` on (timestamp rounded to
        the minute, funding_rate)."""
        self._load_markets()
        perp = perpetual(symbol)
        since_ms = int(since.value // 1_000_000)
        rows = with_retries(
            lambda: self.exchange.fetch_funding_rate_history(
                perp, since=since_ms, limit=self.page_limit
            ),
            self.policy,
            self.sleep,
        )
        return pd.DataFrame(
            {
                "timestamp": pd.to_datetime(
                    [r["timestamp"] for r in rows], unit="ms", utc=True
                ).round("min"),
                "funding_rate": [float(r["fundingRate"]) for r in rows],
            }
        )

    def fetch_open_interest(
        self, symbol: str, since: pd.Timestamp, period: str = "1h"
    ) -> pd.Series:
        """One page of the perpetual's open interest from `since` on: the log of base-asset
        contracts by snapshot time (the ``open_interest`` channel's values)."""
        self._load_markets()
        perp = perpetual(symbol)
        since_ms = int(since.value // 1_000_000)
        rows = with_retries(
            lambda: self.exchange.fetch_open_interest_history(
                perp, period, since=since_ms, limit=min(self.page_limit, 500)
            ),
            self.policy,
            self.sleep,
        )
        rows = [r for r in rows if r.get("openInterestAmount") and r["timestamp"] >= since_ms]
        stamps = pd.to_datetime([r["timestamp"] for r in rows], unit="ms", utc=True)
        values = [math.log(float(r["openInterestAmount"])) for r in rows]
        return pd.Series(values, index=pd.DatetimeIndex(stamps), dtype="float64")

    def open_interest(self, symbol: str, since: pd.Timestamp, period: str = "1h") -> int:
        """Download the perpetual's open-interest history (Binance keeps about 30 days) into the
        ``open_interest`` channel of its base asset (log of base-asset contracts, stamped at the
        snapshot time); from the last stored stamp on. Returns the number of stamps fetched."""
        self._load_markets()
        asset = asset_of(symbol)
        path = channel_path(self.store.root, "open_interest", asset)
        step = timeframe_delta(period)
        start = read_channel(path).index[-1] + step if path.exists() else since
        start = max(start, self.now() - pd.Timedelta("29D"))  # older history is not served
        fetched = 0
        while start <= self.now():
            page = self.fetch_open_interest(symbol, start, period)
            if page.empty:
                break
            write_channel(self.store.root, "open_interest", asset, page)
            fetched += len(page)
            start = page.index.max() + step
        return fetched

    def _load_markets(self) -> None:
        if not self._markets_loaded:
            with_retries(self.exchange.load_markets, self.policy, self.sleep)
            self._markets_loaded = True

    def fetch_klines(
        self, market: str, timeframe: str, symbol: str, start: pd.Timestamp
    ) -> pd.DataFrame:
        """One page of klines (timestamp = open time) from `start` on, closed or not."""
        since_ms = int(start.value // 1_000_000)
        if self.exchange.id == "binance":  # the raw endpoint keeps the taker-buy fields
            request = {
                "symbol": exchange_id(symbol),
                "interval": timeframe,
                "startTime": since_ms,
                "limit": self.page_limit,
            }
            method = (
                self.exchange.publicGetKlines
                if market == "spot"
                else self.exchange.fapiPublicGetKlines
            )
            rows = with_retries(lambda: method(request), self.policy, self.sleep)
            frame = pd.DataFrame(
                rows, columns=_KLINE_COLUMNS[: len(rows[0])] if rows else _KLINE_COLUMNS
            )
            frame = frame[
                ["timestamp", "open", "high", "low", "close", "volume", "taker_buy_volume"]
            ]
        else:
            ccxt_symbol = unify(symbol) if market == "spot" else perpetual(symbol)
            rows = with_retries(
                lambda: self.exchange.fetch_ohlcv(
                    ccxt_symbol, timeframe, since=since_ms, limit=self.page_limit
                ),
                self.policy,
                self.sleep,
            )
            frame = pd.DataFrame(rows, columns=_KLINE_COLUMNS[:6])
        frame["timestamp"] = pd.to_datetime(frame["timestamp"].astype("int64"), unit="ms", utc=True)
        for column in frame.columns[1:]:
            frame[column] = frame[column].astype("float64")
        return frame.reset_index(drop=True)
