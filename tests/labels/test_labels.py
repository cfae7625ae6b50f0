"""Labels on hand-made paths: forward returns, triple-barrier touches, uniqueness weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.labels.forward import forward_returns
from edgecraft.labels.triple_barrier import triple_barrier
from edgecraft.labels.weights import uniqueness


def _bars(closes, highs=None, lows=None, symbol="BTC/USDT", drop=()):
    n = len(closes)
    ts = pd.date_range("2024-01-01 01:00", periods=n, freq="h", tz="UTC")
    frame = pd.DataFrame(
        {
            "open": closes,
            "high": highs or closes,
            "low": lows or closes,
            "close": closes,
            "volume": 1.0,
        },
        index=pd.MultiIndex.from_arrays([ts, [symbol] * n], names=["ts", "symbol"]),
    )
    return frame.drop(index=[frame.index[i] for i in drop])


def test_forward_return_and_t1():
    bars = _bars([100.0, 110.0, 121.0, 133.1])
    labels = forward_returns(bars, "2h")
    assert labels["ret"].iloc[0] == pytest.approx(np.log(1.21))
    assert labels["t1"].iloc[0] == bars.index[2][0]
    assert labels["ret"].iloc[2:].isna().all()


def test_forward_return_across_an_outage_is_missing():
    bars = _bars([100.0, 101.0, 102.0, 103.0, 104.0], drop=[2])
    labels = forward_returns(bars, "2h")
    assert np.isnan(labels["ret"].iloc[0])  # its horizon ends on the missing bar
    assert labels["ret"].iloc[1] == pytest.approx(np.log(103.0 / 101.0))


def test_triple_barrier_first_touch_and_stop_first_on_ties():
    closes = [100.0, 100.0, 100.0, 100.0, 100.0, 100.0]
    highs = [100.0, 101.0, 103.0, 100.0, 100.0, 100.0]
    lows = [100.0, 99.0, 99.0, 97.0, 100.0, 100.0]
    bars = _bars(closes, highs, lows)
    atr_rel = pd.Series(0.01, index=bars.index)
    labels = triple_barrier(bars, atr_rel, "3h", "1h", up=2.0, down=2.0)
    # bar 0: bar 2's high 103 >= 102 first -> +1 decided at bar 2
    assert labels["y"].iloc[0] == 1 and labels["t1"].iloc[0] == bars.index[2][0]
    assert labels["ret"].iloc[0] == pytest.approx(np.log(1.02))
    # bar 1: bar 2 touches 102 (+1) before bar 3 touches 98
    assert labels["y"].iloc[1] == 1
    # bar 2: bar 3's low 97 <= 98 -> -1
    assert labels["y"].iloc[2] == -1
    both = _bars([100.0, 100.0], [100.0, 105.0], [100.0, 95.0])
    tie = triple_barrier(both, pd.Series(0.01, index=both.index), "1h", "1h")
    assert tie["y"].iloc[0] == -1  # both touched in one bar: the stop is taken
    flat = _bars([100.0] * 5)
    vertical = triple_barrier(flat, pd.Series(0.01, index=flat.index), "2h", "1h")
    assert vertical["y"].iloc[0] == 0 and vertical["t1"].iloc[0] == flat.index[2][0]
    assert vertical["y"].iloc[3:].isna().all()


def test_uniqueness_by_hand():
    bars = _bars([1.0] * 4)
    t1 = forward_returns(bars, "1h")["t1"].where(lambda s: s <= bars.index[-1][0])
    weights = uniqueness(t1)
    # labels [0,1], [1,2], [2,3]: concurrency 1, 2, 2, 1 -> (1 + 1/2)/2, (1/2 + 1/2)/2, ...
    assert weights.tolist() == pytest.approx([0.75, 0.5, 0.75, 0.0])


def test_training_target_is_up_or_barrier_class_and_nan_where_unknown():
    from edgecraft.labels.targets import training_target

    labels = pd.DataFrame({"ret": [0.01, -0.02, 0.0, np.nan], "y": [1.0, -1.0, 0.0, np.nan]})
    forward = training_target(labels, "forward")
    np.testing.assert_array_equal(forward.to_numpy(), [1.0, 0.0, 0.0, np.nan])
    barrier = training_target(labels, "triple_barrier")
    np.testing.assert_array_equal(barrier.to_numpy(), [1.0, -1.0, 0.0, np.nan])
