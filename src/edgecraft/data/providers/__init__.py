"""Clients of keyed on-chain, social and news APIs, and an order-book recorder (CCXT).

Every API client implements `Provider.fetch(asset, start, end) -> {channel: Series}` (stamps in
UTC, the provider's own); `record` merges what it returns into a data folder's ``channels/``
tables, where the feature builder reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pandas as pd

from edgecraft.data.external import write_channel


class Provider(Protocol):
    name: str

    def fetch(self, asset: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, pd.Series]:
        """Channel series of `asset` (e.g. "BTC") stamped within [start, end]."""
        ...


def record(
    provider: Provider, root: Path, asset: str, start: pd.Timestamp, end: pd.Timestamp
) -> dict[str, int]:
    """Fetch `asset`'s series and merge each into ``root/channels``; rows fetched per channel."""
    fetched = provider.fetch(asset, start, end)
    for channel, series in fetched.items():
        if len(series):
            write_channel(root, channel, asset, series)
    return {channel: len(series) for channel, series in fetched.items()}


def complete_hours(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Hours [h, h + 1h) lying wholly within [start, end], stamped at their start: a bucket still
    filling is never stored (it would differ from what a later fetch stores)."""
    first, stop = utc(start).ceil("h"), utc(end).floor("h")
    return pd.date_range(first, stop - pd.Timedelta("1h"), freq="h", name="ts")


def utc(value: object) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
