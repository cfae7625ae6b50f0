"""Order-book and trade-flow measures on the recorded Binance books, trades and best bid/ask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.features.microstructure import (
    book_bars,
    book_channels,
    book_measures,
    imbalance,
    trade_bars,
)

RECORDINGS = [
    ("spot", "BTC/USDT"),
    ("spot", "ETH/USDT"),
    ("perp", "BTC/USDT"),
    ("perp", "ETH/USDT"),
]


def _bbo(layout, market: str, symbol: str) -> pd.DataFrame:
    infix = {"spot": "spot", "perp": "usdm"}[market]
    name = f"binance_{infix}_{symbol.replace('/', '')}_bbo_20240808.parquet"
    return pd.read_parquet(layout.root / "microstructure" / name)


@pytest.mark.parametrize(("market", "symbol"), RECORDINGS)
def test_level_one_imbalance_from_l2_agrees_with_best_bid_ask(layout, market, symbol):
    l2, _ = layout.recordings(market, symbol)
    bbo = _bbo(layout, market, symbol)
    ours = book_measures(l2, levels=1).assign(update_id=l2["update_id"].to_numpy())
    joined = ours.merge(bbo, on="update_id")
    assert len(joined) >= 500, "too few snapshots share an update id with the bookTicker"
    from_bbo = imbalance(joined["bid_qty"], joined["ask_qty"])
    np.testing.assert_allclose(joined["imbalance"], from_bbo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(joined["spread"], joined["ask_px"] - joined["bid_px"], atol=1e-9)


def test_deeper_imbalance_reads_more_of_the_book(layout):
    l2, _ = layout.recordings("spot", "BTC/USDT")
    top1, top10 = book_measures(l2, 1), book_measures(l2, 10)
    assert top10["imbalance"].between(-1, 1).all()
    assert not np.allclose(top1["imbalance"], top10["imbalance"])
    # the spread is the same whatever the depth; the depth-weighted mid moves with depth
    np.testing.assert_array_equal(top1["spread"], top10["spread"])
    assert (top10["spread_bps"] > 0).all()
    with pytest.raises(ValueError, match="fewer than 25 levels"):
        book_measures(l2, 25)


def test_a_bar_uses_only_what_was_received_before_its_close(layout):
    l2, trades = layout.recordings("spot", "ETH/USDT")
    full_books, full_trades = book_bars(l2, "1m", 10), trade_bars(trades, "1m")
    close = full_books.index[4]
    cut_books = book_bars(l2[l2["local_ts"] < close], "1m", 10)
    cut_trades = trade_bars(trades[trades["local_ts"] < close], "1m")
    pd.testing.assert_frame_equal(cut_books.loc[:close], full_books.loc[:close])
    pd.testing.assert_frame_equal(cut_trades.loc[:close], full_trades.loc[:close])
    # the bar's close value is its last snapshot received before the close, recomputed by hand
    inside = l2[(l2["local_ts"] >= close - pd.Timedelta("1min")) & (l2["local_ts"] < close)]
    last = book_measures(inside.tail(1), 10)["imbalance"].iloc[0]
    assert full_books.loc[close, "imbalance"] == pytest.approx(last, rel=1e-12)


@pytest.mark.parametrize(("market", "symbol"), RECORDINGS)
def test_trade_flow_counts_every_tick_once(layout, market, symbol):
    _, trades = layout.recordings(market, symbol)
    bars = trade_bars(trades, "1m")
    assert bars["trades"].sum() == len(trades)
    np.testing.assert_allclose(bars["volume"].sum(), trades["qty"].sum())
    taker_buy = trades.loc[~trades["is_buyer_maker"], "qty"].sum()
    np.testing.assert_allclose(bars["taker_buy_volume"].sum(), taker_buy)
    assert bars["trade_imbalance"].between(-1, 1).all()
    assert (bars["vwap"] > 0).all()


def test_book_channels_on_the_hour_grid_stamp_the_close(layout):
    l2, trades = layout.recordings("spot", "BTC/USDT")
    channels = book_channels(l2, trades, "1h", 10)
    assert set(channels) == {"book_spread", "book_imbalance", "book_pressure", "trade_imbalance"}
    # the recording spans 23:54..00:05: a bar closing at 00:00 and one closing at 01:00
    stamps = channels["book_imbalance"].index
    assert list(stamps) == list(pd.to_datetime(["2024-08-09 00:00", "2024-08-09 01:00"], utc=True))
