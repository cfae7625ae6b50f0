"""RSI, MACD, Bollinger and ATR against TA-Lib on real bars (1h and 4h), to 1e-9 after warm-up."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from edgecraft.core.timeframes import bucket_end_ns
from edgecraft.features.featureset import HTF_LAYOUT, aggregate
from edgecraft.features.technical import Atr, Bollinger, Macd, Rsi

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "LINK/USDT"]


@pytest.fixture(
    scope="module",
    params=[(s, tf) for s in SYMBOLS for tf in ("1h", "4h")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def ohlcv(request, real_bars) -> np.ndarray:
    symbol, timeframe = request.param
    one = real_bars.xs(symbol, level="symbol")
    x = one[["open", "high", "low", "close", "volume"]].to_numpy()
    if timeframe == "1h":
        return x
    ts = one.index.as_unit("ns").asi8
    return aggregate(ts, x, bucket_end_ns(ts, timeframe))[1]


def _defined(ours: np.ndarray, warmup: int) -> np.ndarray:
    assert np.isnan(ours[:warmup]).all() and np.isfinite(ours[warmup:]).all()
    return ours[warmup:]


def test_rsi_matches_talib(ohlcv):
    feature = Rsi(14)
    ours = _defined(feature.batch(ohlcv, HTF_LAYOUT)[:, 0], feature.warmup)
    oracle = talib.RSI(ohlcv[:, 3], timeperiod=14)[feature.warmup :]
    np.testing.assert_allclose(ours, oracle, rtol=1e-9, atol=1e-9)


def test_macd_matches_talib(ohlcv):
    feature = Macd(12, 26, 9)
    ours = feature.batch(ohlcv, HTF_LAYOUT)
    line, signal, hist = talib.MACD(ohlcv[:, 3], fastperiod=12, slowperiod=26, signalperiod=9)
    scale = np.abs(
        ohlcv[feature.warmup :, 3]
    )  # MACD is a difference of prices: compare at their scale
    for k, oracle in enumerate((line, signal, hist)):
        got = _defined(ours[:, k], feature.warmup)
        assert np.all(np.abs(got - oracle[feature.warmup :]) <= 1e-9 * scale)


def test_bollinger_matches_talib(ohlcv):
    feature = Bollinger(20, 2.0)
    ours = feature.batch(ohlcv, HTF_LAYOUT)
    upper, middle, lower = talib.BBANDS(
        ohlcv[:, 3], timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0
    )
    close = ohlcv[:, 3]
    w = feature.warmup
    pctb, width = _defined(ours[:, 0], w), _defined(ours[:, 1], w)
    # TA-Lib's running-sum variance is exact enough only where the bands are not degenerate
    spread = (upper - lower)[w:]
    live = spread > 1e-6 * middle[w:]
    assert live.mean() > 0.99
    np.testing.assert_allclose(width[live], (spread / middle[w:])[live], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        pctb[live], ((close[w:] - lower[w:]) / spread)[live], rtol=1e-9, atol=1e-9
    )


def test_atr_matches_talib(ohlcv):
    feature = Atr(14)
    ours = feature.batch(ohlcv, HTF_LAYOUT)
    oracle = talib.ATR(ohlcv[:, 1], ohlcv[:, 2], ohlcv[:, 3], timeperiod=14)[feature.warmup :]
    np.testing.assert_allclose(_defined(ours[:, 0], feature.warmup), oracle, rtol=1e-9)
    np.testing.assert_allclose(
        _defined(ours[:, 1], feature.warmup), oracle / ohlcv[feature.warmup :, 3], rtol=1e-9
    )
