"""Synthetic bars for unit tests: a seeded geometric random walk in the Bars contract."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_bars(
    n: int = 500,
    symbols: tuple[str, ...] = ("BTC/USDT",),
    seed: int = 0,
    start: str = "2024-01-01 01:00",
    freq: str = "1h",
) -> pd.DataFrame:
    """Bars indexed (ts, symbol), ts = close time, with consistent OHLC and positive volume."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="ts")
    frames = []
    for k, symbol in enumerate(symbols):
        close = 100.0 * (k + 1) * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        open_ = np.r_[close[0], close[:-1]]
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, n))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, n))
        volume = rng.lognormal(3, 0.5, n)
        frames.append(
            pd.DataFrame(
                {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
                index=pd.MultiIndex.from_arrays([ts, [symbol] * n], names=["ts", "symbol"]),
            )
        )
    return pd.concat(frames).sort_index()


def to_file_frame(bars: pd.DataFrame, freq: str = "1h") -> pd.DataFrame:
    """One symbol's bars as a file holds them: `timestamp` = open time, plain columns."""
    one = bars.droplevel("symbol")
    return one.reset_index(names="timestamp").assign(
        timestamp=lambda f: f["timestamp"] - pd.Timedelta(freq)
    )
