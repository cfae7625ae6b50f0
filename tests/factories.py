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


def garch_returns(
    n: int, rng: np.random.Generator, vol: float = 0.006, alpha: float = 0.08, beta: float = 0.9
) -> np.ndarray:
    """Hourly log returns with GARCH(1,1) volatility clustering and Student-t shocks."""
    omega = vol**2 * (1 - alpha - beta)
    shocks = rng.standard_t(5, n) / np.sqrt(5 / 3)
    out = np.empty(n)
    var = vol**2
    for i in range(n):
        out[i] = np.sqrt(var) * shocks[i]
        var = omega + alpha * out[i] ** 2 + beta * var
    return out


def bars_from_returns(
    returns: np.ndarray, clv: np.ndarray, rng: np.random.Generator, start_price: float = 100.0
) -> pd.DataFrame:
    """OHLCV bars (timestamp = open time, as files hold them) whose closes follow `returns` and
    whose close-location values equal `clv` (in (-1, 1))."""
    n = len(returns)
    close = start_price * np.exp(np.cumsum(returns))
    open_ = np.r_[start_price, close[:-1]]
    body = np.abs(close - open_)
    width = np.maximum(2 * body / (1 - np.abs(clv)) * 1.0001, 0.002 * close)
    high = (2 * close - clv * width + width) / 2
    low = (2 * close - clv * width - width) / 2
    ts = pd.date_range("2021-01-01", periods=n, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "timestamp": ts,
            "open": open_,
            "high": np.maximum(high, np.maximum(open_, close)),
            "low": np.minimum(low, np.minimum(open_, close)),
            "close": close,
            "volume": rng.lognormal(3, 0.5, n),
        }
    )


def synthetic_data_folder(
    root, n: int, symbols: list[str], seed: int, planted_ic: float = 0.0
) -> None:
    """A data folder (the store layout) of random-walk bars; with `planted_ic`, each bar's
    close-location value predicts the next bar's return with that correlation."""
    from edgecraft.data.store import ParquetStore

    store = ParquetStore(root)
    rng = np.random.default_rng(seed)
    for symbol in symbols:
        clv = rng.uniform(-0.8, 0.8, n)
        noise = garch_returns(n, rng) if not planted_ic else rng.normal(0, 0.006, n)
        if planted_ic:
            signal = np.r_[0.0, clv[:-1] / clv.std()] * 0.006
            noise = planted_ic * signal + np.sqrt(1 - planted_ic**2) * noise
        store.append_bars("spot", "1h", symbol, bars_from_returns(noise, clv, rng))
