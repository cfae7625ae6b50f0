"""Rolling z-scores: trailing windows only, exact against pandas, stable on large-mean series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.features import kernels
from edgecraft.features.technical import VolumeZ


def _zscore(values: np.ndarray, window: int) -> np.ndarray:
    x = values.reshape(-1, 1).astype(np.float64)
    out = np.empty_like(x)
    state = np.zeros(window + kernels.RING)
    kernels.rolling_zscore(state, np.array([window, 1, 0], dtype=np.float64), x, out)
    return out[:, 0]


def _pandas_z(values: pd.Series, window: int) -> pd.Series:
    roll = values.rolling(window)
    return (values - roll.mean()) / roll.std(ddof=0)


def test_zscore_matches_pandas_on_raw_prices(real_bars):
    close = real_bars.xs("BTC/USDT", level="symbol")["close"].reset_index(drop=True)
    ours = _zscore(close.to_numpy(), 48)
    expected = _pandas_z(close, 48).to_numpy()
    assert np.isnan(ours[:47]).all()
    np.testing.assert_allclose(ours[47:], expected[47:], rtol=1e-6, atol=1e-6)


def test_zscore_of_a_flat_window_is_zero_and_nan_inputs_are_skipped():
    values = np.r_[np.linspace(1.0, 2.0, 60), np.full(60, 1e-4), [np.nan], [1e-4]]
    z = _zscore(values, 24)
    assert (z[60 + 24 : 120] == 0.0).all()
    assert np.isnan(z[120]) and z[121] == 0.0


def test_volume_zscore_matches_pandas(real_bars):
    volume = real_bars.xs("ETH/USDT", level="symbol")["volume"].reset_index(drop=True)
    ours = VolumeZ(48).batch(volume.to_numpy().reshape(-1, 1), {"volume": 0})[:, 0]
    expected = _pandas_z(np.log1p(volume), 48).to_numpy()
    np.testing.assert_allclose(ours[47:], expected[47:], rtol=1e-6, atol=1e-6)


def test_zscore_uses_only_past_values():
    rng = np.random.default_rng(1)
    values = rng.normal(size=500)
    full = _zscore(values, 30)
    changed = values.copy()
    changed[300:] += 100.0
    np.testing.assert_array_equal(_zscore(changed, 30)[:300], full[:300])
