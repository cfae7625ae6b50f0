"""On-chain providers: network activity (Coin Metrics), exchange netflow (CryptoQuant) and whale
transfers (Whale Alert), each returning channel series (see `edgecraft.data.external`).

Each implements `Provider.fetch(asset, start, end) -> {channel: Series}`; `record` stores what it
returns. Keys come from environment variables (`api_key`); base URLs are parameters, so a mirror
or a local replay server can stand in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.data.external import COINMETRICS, coinmetrics_values
from edgecraft.data.providers import complete_hours, utc
from edgecraft.data.providers.http import JsonClient, api_key, expect


class CoinMetrics:
    """Coin Metrics API v4 ``timeseries/asset-metrics`` (daily network data), paged by
    ``next_page_url``. The community tier needs no key; ``COINMETRICS_API_KEY`` is sent when set."""

    name = "coinmetrics"
    KEY = "COINMETRICS_API_KEY"

    def __init__(
        self,
        base_url: str = "https://community-api.coinmetrics.io/v4",
        page_size: int = 1000,
        **client: object,
    ) -> None:
        self.page_size = page_size
        key = api_key(self.KEY, required=False)
        self.http = JsonClient(
            base_url, params={"api_key": key} if key else {}, key_variable=self.KEY, **client
        )

    def fetch(self, asset: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, pd.Series]:
        params = {
            "assets": asset.lower(),
            "metrics": ",".join(COINMETRICS),
            "frequency": "1d",
            "start_time": utc(start).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_time": utc(end).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "page_size": self.page_size,
        }
        rows: list[dict] = []
        page = self.http.get("timeseries/asset-metrics", params)
        while True:
            expect(isinstance(page, dict) and "data" in page, "asset-metrics", "no 'data' list")
            rows += page["data"]
            following = page.get("next_page_url")
            if not following or not page["data"]:
                break
            page = self.http.get(following)
        out: dict[str, pd.Series] = {}
        if not rows:
            return out
        frame = pd.DataFrame(rows)
        expect("time" in frame, "asset-metrics", "rows without 'time'")
        index = pd.DatetimeIndex(pd.to_datetime(frame["time"], utc=True), name="ts")
        for metric, (channel, _) in COINMETRICS.items():
            if metric not in frame:
                continue  # the tier or the asset lacks it
            out[channel] = pd.Series(
                coinmetrics_values(metric, frame[metric]), index=index
            ).dropna()
        return out


class CryptoQuant:
    """CryptoQuant ``{asset}/exchange-flows/netflow`` (all exchanges, daily), Bearer key
    ``CRYPTOQUANT_API_KEY``; pages by moving ``from`` past the last row returned."""

    name = "cryptoquant"
    KEY = "CRYPTOQUANT_API_KEY"

    def __init__(
        self, base_url: str = "https://api.cryptoquant.com/v1", limit: int = 1000, **client: object
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key(self.KEY)}"}
        self.http = JsonClient(base_url, headers=headers, key_variable=self.KEY, **client)
        self.limit = limit

    def fetch(self, asset: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, pd.Series]:
        path = f"{asset.lower()}/exchange-flows/netflow"
        values: dict[pd.Timestamp, float] = {}
        since = utc(start).normalize()
        while since <= utc(end):
            body = self.http.get(
                path,
                {
                    "exchange": "all_exchange",
                    "window": "day",
                    "from": since.strftime("%Y%m%d"),
                    "to": utc(end).strftime("%Y%m%d"),
                    "limit": self.limit,
                },
            )
            expect(
                isinstance(body, dict) and isinstance(body.get("result", {}).get("data"), list),
                path,
                "no result.data list",
            )
            rows = body["result"]["data"]
            if not rows:
                break
            for row in rows:
                expect("date" in row and "netflow_total" in row, path, f"row {row}")
                values[utc(row["date"])] = float(row["netflow_total"])
            last = max(utc(r["date"]) for r in rows)
            if last < since:
                break
            since = last + pd.Timedelta("1D")
        series = pd.Series(values, dtype=np.float64).sort_index()
        series.index = pd.DatetimeIndex(series.index, name="ts")
        return {"exchange_netflow": series}


class WhaleAlert:
    """Whale Alert ``v1/transactions`` (transfers above `min_value` USD), key
    ``WHALE_ALERT_API_KEY``, paged by ``cursor``; aggregated per complete hour (stamped at its
    start): the log USD value moved and the share of it flowing into exchanges minus out."""

    name = "whalealert"
    KEY = "WHALE_ALERT_API_KEY"

    def __init__(
        self,
        base_url: str = "https://api.whale-alert.io/v1",
        min_value: int = 500_000,
        **client: object,
    ) -> None:
        self.http = JsonClient(
            base_url, params={"api_key": api_key(self.KEY)}, key_variable=self.KEY, **client
        )
        self.min_value = min_value

    def transactions(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        params: dict[str, object] = {
            "start": int(utc(start).timestamp()),
            "end": int(utc(end).timestamp()),
            "min_value": self.min_value,
        }
        rows: list[dict] = []
        while True:
            body = self.http.get("transactions", params)
            expect(
                isinstance(body, dict) and body.get("result") == "success",
                "transactions",
                str(body)[:200],
            )
            batch = body.get("transactions") or []
            rows += batch
            cursor = body.get("cursor")
            if not batch or not cursor or cursor == params.get("cursor"):
                break
            params["cursor"] = cursor
        frame = pd.DataFrame(
            {
                "ts": pd.to_datetime([r["timestamp"] for r in rows], unit="s", utc=True),
                "symbol": [str(r.get("symbol", "")).upper() for r in rows],
                "usd": [float(r.get("amount_usd", 0.0)) for r in rows],
                "to_exchange": [(r.get("to") or {}).get("owner_type") == "exchange" for r in rows],
                "from_exchange": [
                    (r.get("from") or {}).get("owner_type") == "exchange" for r in rows
                ],
            }
        )
        return frame.drop_duplicates().reset_index(drop=True)

    def fetch(self, asset: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, pd.Series]:
        frame = self.transactions(start, end)
        frame = frame[frame["symbol"] == asset.upper()]
        hours = complete_hours(start, end)
        if frame.empty:
            zero = pd.Series(0.0, index=hours)
            return {"whale_volume": zero, "whale_netflow": zero}
        hour = frame["ts"].dt.floor("h")
        usd = frame.groupby(hour)["usd"].sum().reindex(hours, fill_value=0.0)
        net = frame["usd"] * (
            frame["to_exchange"].astype(float) - frame["from_exchange"].astype(float)
        )
        net = net.groupby(hour).sum().reindex(hours, fill_value=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(usd > 0, net / usd, 0.0)
        return {
            "whale_volume": pd.Series(np.log1p(usd.to_numpy()), index=hours),
            "whale_netflow": pd.Series(share, index=hours),
        }
