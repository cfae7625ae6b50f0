"""alternative.me's Crypto Fear & Greed index (no key): GET /fng/?limit=N&format=json."""

from __future__ import annotations

import pandas as pd

from edgecraft.data.providers.http import JsonClient, ProviderError

BASE_URL = "https://api.alternative.me"


class FearGreedClient:
    """The newest daily values, stamped as the data folder stamps them (the day, 00:00 UTC)."""

    name = "alternative.me"

    def __init__(self, base_url: str = BASE_URL, client: JsonClient | None = None) -> None:
        self.client = client or JsonClient(base_url)

    def latest(self, limit: int = 10) -> pd.Series:
        """Up to `limit` most recent values by their day, oldest first."""
        body = self.client.get("/fng/", {"limit": limit, "format": "json"})
        try:
            rows = body["data"]
            stamps = pd.to_datetime([int(r["timestamp"]) for r in rows], unit="s", utc=True)
            values = [float(r["value"]) for r in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"{self.client.base_url}/fng/: unexpected answer ({exc})") from exc
        series = pd.Series(values, index=pd.DatetimeIndex(stamps, name="ts"), name="fear_greed")
        return series[~series.index.duplicated()].sort_index()
