"""Labels read no price after the time they are known (`t1`): what learns from them (the
calibrator, the ensemble's meta-model) then stays inside the purge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.research.config import RunConfig
from edgecraft.research.fitting import make_labels
from edgecraft.research.run import prepare


@pytest.mark.parametrize("kind", ["forward", "triple_barrier"])
def test_labels_known_before_a_cut_do_not_change_when_later_prices_do(layout, kind):
    config = RunConfig(
        symbols=["BTC/USDT", "ETH/USDT"],
        start="2024-01-01",
        end="2024-04-30",
        label={"kind": kind, "horizons": ["24h"], "barrier_up": 1.0, "barrier_down": 1.0},
    )
    prepared = prepare(config, layout.root)
    cut = pd.Timestamp("2024-03-15", tz="UTC")
    labels = make_labels(config, prepared.bars, prepared.X, "24h")
    # every price after the cut moved (OHLC stays consistent: one factor per bar)
    bars = prepared.bars.copy()
    late = bars.index.get_level_values("ts") > cut
    factor = np.random.default_rng(0).uniform(0.8, 1.2, int(late.sum()))
    for column in ("open", "high", "low", "close"):
        bars.loc[late, column] = bars.loc[late, column].to_numpy() * factor
    moved = make_labels(config, bars, prepared.X, "24h")
    known = (labels["t1"] <= cut).to_numpy() & moved["y"].notna().to_numpy()
    assert known.sum() > 1000
    if kind == "triple_barrier":  # some were decided by a barrier before the time barrier
        early = labels["t1"] < labels.index.get_level_values("ts") + pd.Timedelta("24h")
        assert (known & early.to_numpy()).sum() > 100
    for column in ("ret", "y", "t1"):
        pd.testing.assert_series_equal(labels[column][known], moved[column][known])
