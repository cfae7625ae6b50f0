"""The fill simulator on hand-made bars: stops before targets, gaps, horizons, limits, costs."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from edgecraft.backtest.simulator import (
    HORIZON,
    SIGNAL,
    STOP,
    TARGET,
    Costs,
    Market,
    Orders,
    simulate,
)

FREE = Costs(0.0, 0.0, 0.0, 0.0)
HOUR = 3_600_000_000_000


def _market(rows):
    """rows: (open, high, low, close) per bar, one symbol."""
    a = np.array(rows, dtype=float)
    return Market(np.arange(len(a)) * HOUR, a[:, [0]], a[:, [1]], a[:, [2]], a[:, [3]])


def _long(orders, t, weight, stop=np.nan, take=np.nan, expiry=None):
    orders.target[t, 0] = weight
    orders.stop[t, 0] = stop
    orders.take[t, 0] = take
    if expiry is not None:
        orders.expiry[t, 0] = expiry * HOUR


def test_market_entry_at_next_open_and_mark_to_close():
    market = _market([(100, 100, 100, 100), (100, 110, 100, 110), (110, 110, 110, 121)])
    orders = Orders(3, 1)
    _long(orders, 0, 0.5)
    book = simulate(market, orders, FREE)
    # enters at bar 1's open (100): +10 % then +10 % on half the equity
    assert book.equity[0] == pytest.approx(1.05 * 1.05)
    assert book.weights[:, 0].tolist() == [0.0, 0.5, 0.5]


def test_stop_is_taken_before_target_when_one_bar_touches_both():
    market = _market([(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 94, 100)])
    orders = Orders(3, 1)
    _long(orders, 0, 1.0, stop=95.0, take=105.0)
    book = simulate(market, orders, FREE)
    (trade,) = book.trade_list()
    assert trade[8] == STOP and trade[6] == pytest.approx(95.0)
    assert book.equity[0] == pytest.approx(0.95)


def test_gap_through_the_stop_exits_at_the_open_and_targets_and_horizons():
    gap = simulate(
        _market([(100,) * 4, (100,) * 4, (90, 92, 89, 91)]),
        _with(lambda o: _long(o, 0, 1.0, stop=95.0, take=110.0)),
        FREE,
    )
    assert gap.trade_list()[0][6] == pytest.approx(90.0)
    short = Orders(3, 1)
    _long(short, 0, -1.0, stop=105.0, take=96.0)
    hit = simulate(_market([(100,) * 4, (100,) * 4, (99, 100, 95, 97)]), short, FREE)
    trade = hit.trade_list()[0]
    assert trade[8] == TARGET and trade[6] == pytest.approx(96.0)
    assert hit.equity[0] == pytest.approx(1.04)
    timed = simulate(
        _market([(100,) * 4, (100,) * 4, (100, 101, 99, 101), (101,) * 4]),
        _with(lambda o: _long(o, 0, 1.0, expiry=2), n=4),
        FREE,
    )
    assert timed.trade_list()[0][8] == HORIZON and timed.weights[3, 0] == 0.0


def _with(fill, n=3):
    orders = Orders(n, 1)
    fill(orders)
    return orders


def test_limit_orders_fill_only_when_traded_through():
    orders = Orders(3, 1)
    _long(orders, 0, 1.0)
    orders.kind[0, 0], orders.limit[0, 0] = 1, 98.0
    missed = simulate(_market([(100,) * 4, (100, 101, 99, 100), (100,) * 4]), orders, FREE)
    assert missed.weights[1, 0] == 0.0
    filled = simulate(_market([(100,) * 4, (100, 101, 97, 100), (100,) * 4]), orders, FREE)
    assert filled.weights[1, 0] == 1.0
    assert filled.equity[0] == pytest.approx(100 / 98)


def test_costs_and_funding_by_hand():
    market = _market([(100,) * 4] * 4)
    market.funding[2, 0] = 0.001
    orders = Orders(4, 1)
    _long(orders, 0, 0.5)
    orders.target[2, 0] = 0.0  # close at bar 3's open
    costs = Costs(taker_bps=10, maker_bps=2, half_spread_bps=2, impact_bps=20)
    book = simulate(market, orders, costs)
    per_trade = 0.5 * (12 + 20 * 0.5) / 1e4
    assert book.equity[0] == pytest.approx((1 - per_trade) * (1 - 0.5 * 0.001) * (1 - per_trade))
    assert book.equity[1] == pytest.approx(1 - 0.5 * 0.001)  # gross: funding only
    assert book.trade_list()[0][8] == SIGNAL
    # a spot book: its long pays no funding, its short (through the perpetual) earns it
    spot = Costs(0.0, 0.0, 0.0, 0.0, funding_shorts_only=True)
    assert simulate(market, orders, spot).equity[0] == pytest.approx(1.0)
    orders.target[0, 0] = -0.5
    assert simulate(market, orders, spot).equity[0] == pytest.approx(1 + 0.5 * 0.001)


def test_same_inputs_give_a_bit_identical_trade_list():
    rng = np.random.default_rng(4)
    n, s = 2000, 3
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, s)), axis=0))
    open_ = np.vstack([close[:1], close[:-1]])
    market = Market(
        np.arange(n) * HOUR,
        open_,
        np.maximum(open_, close) * 1.004,
        np.minimum(open_, close) * 0.996,
        close,
    )
    orders = Orders(n, s)
    picks = rng.uniform(size=(n, s)) < 0.05
    orders.target[picks] = rng.choice([-0.3, 0.0, 0.3], size=picks.sum())
    orders.stop[picks] = close[picks] * np.where(orders.target[picks] > 0, 0.98, 1.02)
    orders.take[picks] = close[picks] * np.where(orders.target[picks] > 0, 1.03, 0.97)

    def digest():
        return hashlib.sha256(simulate(market, orders, Costs()).trade_list().tobytes()).hexdigest()

    first = digest()
    assert first == digest()
    assert len(simulate(market, orders, Costs()).trade_list()) > 50


def test_a_gtc_limit_rests_and_fills_on_a_later_bar():
    orders = Orders(5, 1)
    _long(orders, 0, 1.0)
    orders.kind[0, 0], orders.limit[0, 0] = 1, 98.0
    orders.good_till[0, 0] = 3 * HOUR  # works in bars 1, 2 and 3
    bars = [(100,) * 4, (100, 101, 99, 100), (100, 101, 99, 100), (99, 99, 97, 98), (98,) * 4]
    book = simulate(_market(bars), orders, FREE)
    assert book.weights[:, 0].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # filled in bar 3
    assert book.traded.tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert book.equity[0] == pytest.approx(1.0)  # bought at 98, marked at 98


def test_a_gtc_limit_that_never_trades_through_expires():
    orders = Orders(6, 1)
    _long(orders, 0, 1.0)
    orders.kind[0, 0], orders.limit[0, 0] = 1, 98.0
    orders.good_till[0, 0] = 2 * HOUR  # bars 1 and 2 only
    bars = [(100,) * 4, (100, 101, 99, 100), (100, 101, 99, 100), (99, 99, 97, 98)]
    book = simulate(_market(bars + [(98,) * 4] * 2), orders, FREE)
    assert (book.weights[:, 0] == 0.0).all()  # bar 3 trades through 98, but it was cancelled
    assert np.isnan(book.working()[0])
    # a new order replaces the one resting: the first limit never fills
    replaced = _with(lambda o: _long(o, 0, 1.0), 6)
    replaced.kind[0, 0], replaced.limit[0, 0], replaced.good_till[0, 0] = 1, 98.0, 5 * HOUR
    replaced.target[1, 0], replaced.kind[1, 0], replaced.limit[1, 0] = 0.5, 1, 96.0
    replaced.good_till[1, 0] = 5 * HOUR
    book = simulate(_market(bars + [(97, 97, 95, 96)] * 2), replaced, FREE)
    assert book.weights[:, 0].tolist() == [0.0, 0.0, 0.0, 0.0, 0.5, 0.5]


def test_a_sliced_order_fills_in_parts_over_the_bars_it_names():
    orders = Orders(6, 1)
    _long(orders, 0, 0.9)
    orders.slices[0, 0] = 3
    bars = [(100,) * 4, (100,) * 4, (110,) * 4, (121,) * 4, (121,) * 4, (121,) * 4]
    book = simulate(_market(bars), orders, Costs(10.0, 0.0, 0.0, 0.0))
    assert book.weights[:, 0] == pytest.approx([0.0, 0.3, 0.6, 0.9, 0.9, 0.9])
    assert book.traded == pytest.approx([0.0, 0.3, 0.3, 0.3, 0.0, 0.0])
    # each part at its own bar's open: 0.3 @ 100, 0.3 @ 110, 0.3 @ 121; one trade, entry at 100
    gross = (1 + 0.3 * 0.1) * (1 + 0.6 * 0.1)
    assert book.equity[1] == pytest.approx(gross)
    assert book.equity[0] < book.equity[1]  # every part paid its fee
    assert np.isnan(book.working()[0])  # done after three bars
