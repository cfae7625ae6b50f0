"""A local HTTP server that answers like Binance's REST API (documented formats), from real data.

Serves exchangeInfo, klines (spot /api/v3, USD-M /fapi/v1), fundingRate, and, from recorded L2
books and tick trades, the depth snapshot (one recorded snapshot per request, in order: time
moves on with each) and aggregate trades up to that snapshot's time; and plays scripted faults:
a 429 with Retry-After, or a response slower than the client's timeout.
"""

from __future__ import annotations

import pandas as pd

from tests.replay_providers import ReplayServer


def _spot_symbol(symbol: str, base: str, quote: str) -> dict:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01",
                "maxPrice": "1000000.00",
                "tickSize": "0.01",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001",
                "maxQty": "9000.0",
                "stepSize": "0.00001",
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
    }


def _perp_symbol(symbol: str, base: str, quote: str) -> dict:
    return {
        "symbol": symbol,
        "pair": symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "baseAsset": base,
        "quoteAsset": quote,
        "marginAsset": quote,
        "pricePrecision": 2,
        "quantityPrecision": 3,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.10",
                "maxPrice": "4529764",
                "tickSize": "0.10",
            },
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
        ],
        "orderTypes": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


class BinanceReplay(ReplayServer):
    """Serve `klines` (file frames: timestamp = open time) and `funding` per exchange symbol."""

    retry_after = "1"
    rate_limited = {"code": -1003, "msg": "Too many requests."}

    def __init__(
        self,
        klines: dict[str, pd.DataFrame],
        funding: dict[str, pd.DataFrame],
        now: pd.Timestamp,
        timeframe: str = "1h",
        books: dict[str, pd.DataFrame] | None = None,
        trades: dict[str, pd.DataFrame] | None = None,
        book_step: int = 1,
    ) -> None:
        self.klines = klines
        self.funding = funding
        self.books = books or {}
        self.trades = trades or {}
        self.book_step = book_step
        self.served: dict[str, int] = {}  # symbol -> row of the last snapshot served
        self.now = now
        self.step_ms = int(pd.Timedelta(timeframe).value // 1_000_000)
        super().__init__()

    def answer(
        self, path: str, query: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, object]:
        now_ms = int(self.now.value // 1_000_000)
        pairs = [(s, s[:-4], s[-4:]) for s in self.klines]
        if path == "/api/v3/exchangeInfo":
            return 200, {
                "timezone": "UTC",
                "serverTime": now_ms,
                "rateLimits": [],
                "exchangeFilters": [],
                "symbols": [_spot_symbol(*p) for p in pairs],
            }
        if path == "/fapi/v1/exchangeInfo":
            return 200, {
                "timezone": "UTC",
                "serverTime": now_ms,
                "rateLimits": [],
                "exchangeFilters": [],
                "assets": [],
                "symbols": [_perp_symbol(*p) for p in pairs],
            }
        if path in ("/api/v3/klines", "/fapi/v1/klines"):
            return self._klines(query, now_ms)
        if path == "/fapi/v1/fundingRate":
            return self._funding(query, now_ms)
        if path == "/futures/data/openInterestHist":
            return self._open_interest(query, now_ms)
        if path == "/api/v3/depth":
            return self._depth(query)
        if path == "/api/v3/aggTrades":
            return self._agg_trades(query)
        return 404, {"code": -1, "msg": f"no route {path}"}

    def _klines(self, query: dict[str, str], now_ms: int) -> tuple[int, object]:
        frame = self.klines.get(query.get("symbol", ""))
        if frame is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        open_ms = frame["timestamp"].dt.as_unit("ms").astype("int64").to_numpy()
        keep = (open_ms >= int(query.get("startTime", 0))) & (open_ms <= now_ms)
        limit = min(int(query.get("limit", 500)), 1000)
        rows = []
        for (_, r), t in zip(
            frame[keep].head(limit).iterrows(), open_ms[keep][:limit], strict=True
        ):
            partial = t + self.step_ms > now_ms  # the bar still open at `now`
            close = r["open"] if partial else r["close"]
            rows.append(
                [
                    int(t),
                    f"{r['open']}",
                    f"{max(r['open'], close)}" if partial else f"{r['high']}",
                    f"{min(r['open'], close)}" if partial else f"{r['low']}",
                    f"{close}",
                    f"{r['volume']}",
                    int(t + self.step_ms - 1),
                    "0",
                    100,
                    f"{r['volume'] / 2}",
                    "0",
                    "0",
                ]
            )
        return 200, rows

    def _funding(self, query: dict[str, str], now_ms: int) -> tuple[int, object]:
        frame = self.funding.get(query.get("symbol", ""))
        if frame is None:
            return 200, []
        ms = frame["timestamp"].dt.as_unit("ms").astype("int64").to_numpy()
        keep = (ms >= int(query.get("startTime", 0))) & (ms <= now_ms)
        limit = min(int(query.get("limit", 100)), 1000)
        return (
            200,
            [
                {
                    "symbol": query["symbol"],
                    "fundingTime": int(t) + 3,  # exchange ms offset
                    "fundingRate": f"{rate:.8f}",
                    "markPrice": "0",
                }
                for t, rate in zip(
                    ms[keep][:limit], frame["funding_rate"][keep][:limit], strict=True
                )
            ],
        )

    def _depth(self, query: dict[str, str]) -> tuple[int, object]:
        symbol = query.get("symbol", "")
        book = self.books.get(symbol)
        if book is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        at = self.served.get(symbol, -self.book_step) + self.book_step
        at = min(at, len(book) - 1)
        self.served[symbol] = at
        row = book.iloc[at]
        limit = int(query.get("limit", 100))
        sides = {}
        for side, key in (("bid", "bids"), ("ask", "asks")):
            sides[key] = [
                [f"{row[f'{side}_px_{i}']:.2f}", f"{row[f'{side}_qty_{i}']:.8f}"]
                for i in range(1, 21)
                if i <= limit and f"{side}_px_{i}" in row and pd.notna(row[f"{side}_px_{i}"])
            ]
        return 200, {"lastUpdateId": int(row["update_id"]), **sides}

    def now_of(self, symbol: str) -> pd.Timestamp:
        """Exchange time of the last snapshot served: the replay's present for `symbol`."""
        return self.books[symbol]["timestamp"].iloc[self.served.get(symbol, 0)]

    def _agg_trades(self, query: dict[str, str]) -> tuple[int, object]:
        symbol = query.get("symbol", "")
        trades = self.trades.get(symbol)
        if trades is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        ms = trades["timestamp"].dt.as_unit("ms").astype("int64").to_numpy()
        now_ms = int(self.now_of(symbol).value // 1_000_000)
        start = int(query.get("startTime", 0))
        end = min(int(query.get("endTime", now_ms)), now_ms)
        keep = (ms >= start) & (ms <= end)
        limit = min(int(query.get("limit", 500)), 1000)
        rows = trades[keep].head(limit)
        return 200, [
            {
                "a": int(r.trade_id),
                "p": f"{r.price:.2f}",
                "q": f"{r.qty:.8f}",
                "f": int(r.trade_id),
                "l": int(r.trade_id),
                "T": int(t),
                "m": bool(r.is_buyer_maker),
                "M": True,
            }
            for r, t in zip(rows.itertuples(), ms[keep][:limit], strict=True)
        ]

    def _open_interest(self, query: dict[str, str], now_ms: int) -> tuple[int, object]:
        """Binance keeps 30 days of open interest; served from the symbol's klines' open times
        (values: a running sum of volume, a stand-in with the documented format)."""
        frame = self.klines.get(query.get("symbol", ""))
        if frame is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        ms = frame["timestamp"].dt.as_unit("ms").astype("int64").to_numpy()
        start = max(int(query.get("startTime", 0)), now_ms - 30 * 86_400_000)
        end = min(int(query.get("endTime", now_ms)), now_ms)
        keep = (ms >= start) & (ms <= end)
        limit = min(int(query.get("limit", 30)), 500)
        amount = frame["volume"].cumsum().to_numpy()
        return 200, [
            {
                "symbol": query["symbol"],
                "sumOpenInterest": f"{a:.8f}",
                "sumOpenInterestValue": f"{a * c:.8f}",
                "timestamp": int(t),
            }
            for t, a, c in zip(
                ms[keep][:limit], amount[keep][:limit], frame["close"][keep][:limit], strict=True
            )
        ]
