"""The market grid the backtester reads: bars aligned across symbols, funding on its bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.backtest.replay import market_grid


def test_perpetual_funding_lands_on_the_bar_closing_at_the_funding_time(layout):
    bars = layout.load_bars("perp", "1h", ["BTC/USDT", "ETH/USDT"])
    bars = bars[bars.index.get_level_values("ts") >= "2024-06-01"]
    funding = {s: layout.load_funding(s) for s in ("BTC/USDT", "ETH/USDT")}
    market = market_grid(bars, ["BTC/USDT", "ETH/USDT"], funding)
    ts = pd.to_datetime(market.ts, utc=True)
    paid = ~np.isnan(market.funding[:, 0])
    assert set(ts[paid].hour) == {0, 8, 16}
    at = pd.Timestamp("2024-06-01 08:00", tz="UTC")
    assert market.funding[ts.get_loc(at), 0] == funding["BTC/USDT"][at]
    assert market.close.shape == (len(ts), 2) and np.isfinite(market.close).all()
