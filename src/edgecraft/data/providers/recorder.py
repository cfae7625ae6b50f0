"""Record an exchange's order book and tick trades through CCXT into the microstructure store.

`BookRecorder.poll` takes one top-N book snapshot (``fetch_order_book``) and the trades since the
last one (``fetch_trades``, Binance's aggregate trades) for each symbol; `BookRecorder.stream`
follows the websocket streams instead (CCXT Pro ``watch_order_book``: the exchange's snapshot +
diff-depth procedure, one row per book update; ``watch_trades``: every tick); `flush` merges them
into ``microstructure/{exchange}_{spot|usdm}_{SYMBOL}_{l2_topN|trades}_{YYYYMMDD}.parquet``, the
layout of ../shared/data, validated and written atomically (a failed flush loses nothing it had
written before and keeps the batch in memory). Snapshots carry the exchange's update id (the book's
``nonce``) and the local receive time; the feature builder aggregates them to bars by the latter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import ccxt
import pandas as pd

from edgecraft.core.errors import DataError
from edgecraft.data.atomic import write_parquet_atomic
from edgecraft.data.download import RetryPolicy, with_retries
from edgecraft.data.layout import MARKETS
from edgecraft.data.schemas import L2_BOOK, TRADES
from edgecraft.data.symbols import exchange_id, unify
from edgecraft.data.validate import validate_file, validate_frame

log = logging.getLogger(__name__)


class BookRecorder:
    """Polls books and trades of `symbols` on one CCXT exchange and market into `root`."""

    def __init__(
        self,
        exchange: ccxt.Exchange,
        root: Path,
        market: str = "spot",
        levels: int = 20,
        policy: RetryPolicy | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if market not in MARKETS:
            raise ValueError(f"market must be one of {sorted(MARKETS)}, was {market!r}")
        self.exchange = exchange
        self.root = Path(root)
        self.market = market
        self.levels = levels
        self.policy = policy or RetryPolicy()
        self.clock_ns = clock_ns
        self.sleep = sleep
        self._books: dict[str, list[dict]] = {}
        self._trades: dict[str, list[dict]] = {}
        self._since: dict[str, int] = {}
        self._seen: dict[str, int] = {}  # last trade id per symbol
        self._loaded = False

    def _symbol(self, symbol: str) -> str:
        unified = unify(symbol)
        return unified if self.market == "spot" else f"{unified}:{unified.split('/')[1]}"

    def poll(self, symbols: list[str]) -> None:
        """One snapshot and the new trades of every symbol (kept until `flush`)."""
        if not self._loaded:
            with_retries(self.exchange.load_markets, self.policy, self.sleep)
            self._loaded = True
        for symbol in symbols:
            ccxt_symbol = self._symbol(symbol)
            book = with_retries(
                lambda s=ccxt_symbol: self.exchange.fetch_order_book(s, self.levels),
                self.policy,
                self.sleep,
            )
            received = self.clock_ns()
            self._books.setdefault(symbol, []).append(self._book_row(book, received))
            since = self._since.get(symbol, received // 1_000_000 - 60_000)
            trades = with_retries(
                lambda s=ccxt_symbol, t=since: self.exchange.fetch_trades(s, since=t),
                self.policy,
                self.sleep,
            )
            self._add_trades(symbol, trades, received)

    def _add_trades(self, symbol: str, trades: list[dict], received_ns: int) -> None:
        fresh = [t for t in trades if int(t["id"]) > self._seen.get(symbol, -1)]
        for trade in fresh:
            self._trades.setdefault(symbol, []).append(
                {
                    "timestamp": int(trade["timestamp"]),
                    "local_ts": received_ns,
                    "trade_id": int(trade["id"]),
                    "price": float(trade["price"]),
                    "qty": float(trade["amount"]),
                    "is_buyer_maker": trade["side"] == "sell",  # the aggressor sold
                }
            )
        if fresh:
            self._seen[symbol] = max(int(t["id"]) for t in fresh)
            self._since[symbol] = max(int(t["timestamp"]) for t in fresh)

    def _book_row(self, book: dict, received_ns: int) -> dict:
        stamp = book.get("timestamp")  # a REST snapshot may have none: see `_exchange_time`
        row: dict = {
            "timestamp": float("nan") if stamp is None else float(stamp),
            "local_ts": received_ns,
            "update_id": int(book.get("nonce") or 0),
        }
        for side, key in (("bid", "bids"), ("ask", "asks")):
            levels = book.get(key) or []
            for i in range(self.levels):
                px, qty = (levels[i][0], levels[i][1]) if i < len(levels) else (None, None)
                row[f"{side}_px_{i + 1}"] = float("nan") if px is None else float(px)
                row[f"{side}_qty_{i + 1}"] = float("nan") if qty is None else float(qty)
        return row

    def stream(self, symbols: list[str], updates: int, timeout_s: float = 120.0) -> dict[str, int]:
        """Follow books and trades over websockets (CCXT Pro `watch_order_book`, `watch_trades`;
        the exchange must come from ``make_exchange(..., pro=True)``) until each symbol's book has
        updated `updates` times, then flush. Every book update seen is one snapshot row."""
        asyncio.run(asyncio.wait_for(self._stream(symbols, updates), timeout_s))
        return self.flush()

    async def _stream(self, symbols: list[str], updates: int) -> None:
        exchange = self.exchange

        async def books(symbol: str) -> None:
            for _ in range(updates):
                book = await exchange.watch_order_book(self._symbol(symbol), self.levels)
                self._books.setdefault(symbol, []).append(self._book_row(book, self.clock_ns()))

        async def trades(symbol: str) -> None:
            while True:
                batch = await exchange.watch_trades(self._symbol(symbol))
                self._add_trades(symbol, batch, self.clock_ns())

        watchers = [asyncio.ensure_future(trades(s)) for s in symbols]
        try:
            await asyncio.gather(*(books(s) for s in symbols))
            await asyncio.sleep(0)  # let trades already received be handled
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            await exchange.close()

    def record(self, symbols: list[str], polls: int, interval_s: float) -> dict[str, int]:
        """`polls` rounds `interval_s` apart, flushed at the end; rows written per file."""
        for i in range(polls):
            self.poll(symbols)
            if i < polls - 1:
                self.sleep(interval_s)
        return self.flush()

    def path(self, kind: str, symbol: str, day: pd.Timestamp) -> Path:
        infix = MARKETS[self.market]
        name = f"{self.exchange.id}_{infix}_{exchange_id(symbol)}_{kind}_{day:%Y%m%d}.parquet"
        return self.root / "microstructure" / name

    def flush(self) -> dict[str, int]:
        """Merge what was polled into the day files (validated first); rows per file written."""
        written: dict[str, int] = {}
        for rows_by_symbol, kind, schema, key in (
            (self._books, f"l2_top{self.levels}", L2_BOOK, "update_id"),
            (self._trades, "trades", TRADES, "trade_id"),
        ):
            for symbol, rows in list(rows_by_symbol.items()):
                if not rows:
                    continue
                frame = pd.DataFrame(rows)
                frame["local_ts"] = pd.to_datetime(frame["local_ts"], unit="ns", utc=True)
                frame["timestamp"] = _exchange_time(frame, key)
                for day, part in frame.groupby(frame["local_ts"].dt.floor("D")):
                    path = self.path(kind, symbol, day)
                    written[str(path)] = self._merge(path, part, schema, key)
                rows_by_symbol[symbol] = []
        return written

    def _merge(self, path: Path, new: pd.DataFrame, schema, key: str) -> int:
        if path.exists():
            report = validate_file(path, schema)
            if not report.ok:
                raise DataError(report.problems)
            new = pd.concat([pd.read_parquet(path), new], ignore_index=True)
        merged = new.drop_duplicates(subset=key, keep="last").sort_values(key)
        merged = merged.reset_index(drop=True)
        check = validate_frame(merged, schema, path.name)
        if not check.ok:
            raise DataError(check.problems)
        write_parquet_atomic(merged, path)
        log.info("file=%s rows=%d", path, len(merged))
        return len(merged)


def _exchange_time(frame: pd.DataFrame, key: str) -> pd.Series:
    """Exchange times (ms) as UTC stamps; a row without one (a REST book snapshot) gets the
    earlier of its receive time and the next row's exchange time: it was taken no later than
    either, so the times stay in update order."""
    ordered = frame.sort_values(key)
    known = pd.to_datetime(ordered["timestamp"], unit="ms", utc=True)
    later = known.iloc[::-1].cummin().iloc[::-1].bfill().shift(-1)  # earliest one after the row
    fill = ordered["local_ts"].where(later.isna() | (ordered["local_ts"] <= later), later)
    return known.fillna(fill).reindex(frame.index)
