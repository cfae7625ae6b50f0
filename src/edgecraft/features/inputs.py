"""The input row every feature reads: the bar, the reference closes and as-of external series.

External series are *channels*: each has a value column and a known-time column, filled as-of each
bar's close from an `EventCursor` that applies the series' publication lag. Funding and Fear & Greed
keep their historical column names; every other channel is named in `CHANNELS`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping

import numpy as np
import pandas as pd

INPUT_COLUMNS: tuple[str, ...] = (
    "open",
    "high",
    "low",
    "close",
    "volume",
    "ref_close",
    "ref2_close",
    "funding_rate",
    "funding_time",
    "fng_value",
    "fng_time",
    "taker_buy_volume",
)
# channel -> what it carries; value column = channel name, known-time column = channel + "_time"
CHANNELS: dict[str, str] = {
    "open_interest": "perpetual open interest (log of base-asset contracts), per symbol",
    "chain_active": "log active addresses of the base asset's chain, daily",
    "chain_transfer": "log adjusted transfer value (USD) on the base asset's chain, daily",
    "chain_mvrv": "market value to realised value of the base asset, daily",
    "exchange_netflow": "exchange inflow minus outflow of the base asset (coins), per window",
    "whale_volume": "log USD value of large transfers of the base asset, hourly",
    "whale_netflow": "large transfers into exchanges minus out of them (USD share), hourly",
    "stable_dominance": "stablecoin supply / (crypto market cap proxy), market-wide, daily",
    "social_sentiment": "share of positive social posts about the base asset (0-100), hourly",
    "social_volume": "log social interactions about the base asset, hourly",
    "news_sentiment": "mean VADER compound score of news headlines on the base asset, hourly",
    "news_volume": "log(1 + number of news items on the base asset), hourly",
    "book_spread": "mean bid-ask spread over the bar (bps of mid), from L2 snapshots",
    "book_imbalance": "top-N order-book imbalance at the bar close, from L2 snapshots",
    "book_pressure": "depth-weighted mid minus mid at the bar close (bps of mid)",
    "trade_imbalance": "(taker buy - taker sell) / volume of the bar's tick trades",
}
INPUT_COLUMNS += tuple(c for ch in CHANNELS for c in (ch, f"{ch}_time"))
LAYOUT: dict[str, int] = {name: i for i, name in enumerate(INPUT_COLUMNS)}
NS_PER_S = 1_000_000_000


class EventCursor:
    """An external series known from each event's time on: `asof(ts)` gives the latest one.

    `lag` delays each event (publication after its stamp); `max_age` makes an event older than
    that count as missing (NaN) instead of being carried forward indefinitely, so a series that
    stopped being published does not feed a stale value to the model.
    """

    def __init__(
        self,
        series: pd.Series | None = None,
        lag: pd.Timedelta | None = None,
        max_age: pd.Timedelta | None = None,
    ) -> None:
        self.lag_ns = int(lag.value) if lag is not None else 0
        self.max_age_ns = int(max_age.value) if max_age is not None else None
        self._times: list[int] = []
        self._values: list[float] = []
        if series is not None and len(series):
            known = series.index.as_unit("ns").asi8 + self.lag_ns
            self._times = known.tolist()
            self._values = series.to_numpy(dtype=np.float64).tolist()

    def append(self, time_ns: int, value: float) -> None:
        """Add a publication stamped `time_ns` (before the lag); times must increase. The value
        goes in before its time, so a reader on another thread never sees a time without one."""
        known = time_ns + self.lag_ns
        if self._times and known <= self._times[-1]:
            raise ValueError(f"event times must increase: {known} after {self._times[-1]}")
        self._values.append(float(value))
        self._times.append(known)

    @property
    def last_stamp_ns(self) -> int | None:
        """The stamp (before the lag) of the newest event, or None."""
        return self._times[-1] - self.lag_ns if self._times else None

    def age_s(self, now_ns: int) -> float | None:
        """Seconds since the newest event became known (None: no event yet)."""
        return (now_ns - self._times[-1]) / NS_PER_S if self._times else None

    def stale(self, now_ns: int) -> bool:
        """Whether the features would read this channel as missing now (past its max age)."""
        value, _ = self.asof(now_ns)
        return bool(np.isnan(value))

    def asof(self, ts_ns: int) -> tuple[float, float]:
        """Return (value, known time in seconds) of the latest event known at `ts_ns`, or NaNs."""
        i = bisect_right(self._times, ts_ns) - 1
        if i < 0 or (self.max_age_ns is not None and ts_ns - self._times[i] > self.max_age_ns):
            return np.nan, np.nan
        return self._values[i], self._times[i] / NS_PER_S

    def asof_many(self, ts_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised `asof` over sorted or unsorted bar times."""
        times = np.asarray(self._times, dtype=np.int64)
        idx = np.searchsorted(times, ts_ns, side="right") - 1
        ok = idx >= 0
        if self.max_age_ns is not None:
            ok &= np.asarray(ts_ns) - np.append(times, 0)[idx] <= self.max_age_ns
        values = np.where(ok, np.asarray(self._values + [np.nan])[idx], np.nan)
        known = np.where(ok, np.append(times, 0)[idx] / NS_PER_S, np.nan)
        return values, known


def build_inputs(
    bars: pd.DataFrame,
    ref: pd.Series | None = None,
    ref2: pd.Series | None = None,
    funding: EventCursor | None = None,
    fear_greed: EventCursor | None = None,
    channels: Mapping[str, EventCursor] | None = None,
) -> np.ndarray:
    """Stack one symbol's bars (indexed by close `ts`) with its aligned external inputs.

    `ref` and `ref2` are the reference symbols' closes by ts; a bar without a reference bar at the
    same ts gets NaN there. Event series (`funding`, `fear_greed` and each of `channels`, keyed
    by a `CHANNELS` name) are taken as-of each bar's close; a bar column `taker_buy_volume` is
    copied when the bars carry it.
    """
    ts = (
        bars.index.as_unit("ns").asi8
        if isinstance(bars.index, pd.DatetimeIndex)
        else (bars.index.get_level_values("ts").as_unit("ns").asi8)
    )
    x = np.full((len(bars), len(INPUT_COLUMNS)), np.nan)
    for name in ("open", "high", "low", "close", "volume"):
        x[:, LAYOUT[name]] = bars[name].to_numpy(dtype=np.float64)
    for name, series in (("ref_close", ref), ("ref2_close", ref2)):
        if series is not None:
            aligned = series.reindex(pd.DatetimeIndex(pd.to_datetime(ts, utc=True)))
            x[:, LAYOUT[name]] = aligned.to_numpy(dtype=np.float64)
    for prefix, cursor in (("funding", funding), ("fng", fear_greed)):
        if cursor is not None:
            value_col = "funding_rate" if prefix == "funding" else "fng_value"
            x[:, LAYOUT[value_col]], x[:, LAYOUT[f"{prefix}_time"]] = cursor.asof_many(ts)
    if "taker_buy_volume" in bars:
        x[:, LAYOUT["taker_buy_volume"]] = bars["taker_buy_volume"].to_numpy(dtype=np.float64)
    for channel, cursor in (channels or {}).items():
        if channel not in CHANNELS:
            raise KeyError(f"unknown channel {channel!r}; known: {sorted(CHANNELS)}")
        x[:, LAYOUT[channel]], x[:, LAYOUT[f"{channel}_time"]] = cursor.asof_many(ts)
    return x
