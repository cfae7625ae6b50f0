"""On a simple case (one pair, all in, no stops, the same fee) vectorbt and edgecraft agree."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from edgecraft.backtest.simulator import Costs, Market, Orders, simulate

vbt = pytest.importorskip("vectorbt")


def test_final_equity_matches_vectorbt():
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(9)
    n = 3000
    close = pd.Series(
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))),
        index=pd.date_range("2024-01-01", periods=n, freq="h"),
    )
    open_ = close.shift(1).fillna(100.0)
    entries = pd.Series(rng.uniform(size=n) < 0.02, index=close.index)
    exits = pd.Series(rng.uniform(size=n) < 0.02, index=close.index) & ~entries
    fee = 0.001
    orders = Orders(n, 1)
    orders.target[:, 0] = np.where(entries, 1.0, np.where(exits, 0.0, np.nan))
    market = Market(
        close.index.as_unit("ns").asi8,
        open_.to_numpy()[:, None],
        np.maximum(open_, close).to_numpy()[:, None],
        np.minimum(open_, close).to_numpy()[:, None],
        close.to_numpy()[:, None],
    )
    book = simulate(market, orders, Costs(fee * 1e4, fee * 1e4, 0.0, 0.0))
    # edgecraft fills a decision at the next bar's open: give vectorbt the same fills
    portfolio = vbt.Portfolio.from_signals(
        close,
        entries.shift(1, fill_value=False),
        exits.shift(1, fill_value=False),
        price=open_,
        fees=fee,
        freq="1h",
    )
    trades = int(portfolio.trades.count())
    assert trades > 20 and len(book.trade_list()) >= trades - 1
    expected = float(portfolio.final_value() / portfolio.init_cash)
    # the conventions differ by fee^2 per round trip (vectorbt pays the fee out of the cash it
    # invests, edgecraft on the equity-weighted notional): a few 1e-5 here, not a fee (1e-3)
    assert book.equity[0] == pytest.approx(expected, rel=4 * trades * fee**2)
