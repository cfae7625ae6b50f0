"""The books: long-short (dollar-neutral, volatility-scaled, overlapping, banded), hysteresis,
and what they pay in funding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.metrics.evaluation import BookCosts, book_portfolio, funding_by_bar
from edgecraft.risk.books import (
    HysteresisConfig,
    LongShortConfig,
    apply_band,
    hysteresis_book,
    long_short_book,
    long_short_targets,
)

HOUR = pd.Timedelta("1h")


def _grid(rows: int, symbols: int) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=rows, freq="1h", tz="UTC"), [
        f"S{i}/USDT" for i in range(symbols)
    ]


def test_long_short_target_is_dollar_neutral_inverse_vol_and_takes_the_extremes():
    ts, symbols = _grid(1, 10)
    p = pd.DataFrame([np.linspace(0.40, 0.60, 10)], index=ts, columns=symbols)
    vol = pd.DataFrame([[0.01] * 9 + [0.02]], index=ts, columns=symbols)
    w = long_short_targets(p, vol, LongShortConfig(quantile=0.3)).iloc[0]
    assert w.sum() == pytest.approx(0.0)
    assert w.abs().sum() == pytest.approx(1.0)
    assert (w.iloc[:3] < 0).all() and (w.iloc[-3:] > 0).all() and (w.iloc[3:7] == 0).all()
    # the most volatile long gets half the weight of the others
    assert w.iloc[9] == pytest.approx(w.iloc[8] / 2)
    # too few scored symbols: flat
    thin = p.copy()
    thin.iloc[0, 3:] = np.nan
    assert (long_short_targets(thin, vol, LongShortConfig()).to_numpy() == 0).all()


def test_overlapping_sub_books_move_a_share_of_the_book_at_each_rebalance():
    ts, symbols = _grid(48, 6)
    p = pd.DataFrame(0.5, index=ts, columns=symbols)
    p.iloc[:, 0], p.iloc[:, 5] = 0.6, 0.4  # S0 long, S5 short ...
    p.iloc[24:, 0], p.iloc[24:, 5] = 0.4, 0.6  # ... until the ranking flips at hour 24
    p.iloc[:, 1:5] += np.linspace(-0.01, 0.01, 4)
    vol = pd.DataFrame(0.01, index=ts, columns=symbols)
    book = long_short_book(p, vol, 24, HOUR, LongShortConfig(quantile=0.2, tranches=4, band=0))
    s0 = book.iloc[:, 0]
    # a sub-book every 6 hours, each held 24h: the book fills, then turns a quarter at a time
    assert s0.iloc[0] == pytest.approx(0.5 / 4)
    assert s0.iloc[5] == pytest.approx(0.5 / 4) and s0.iloc[6] == pytest.approx(0.5 / 2)
    assert s0.iloc[23] == pytest.approx(0.5)
    assert s0.iloc[24] == pytest.approx(0.5 / 2)  # one of four sub-books turned short
    assert s0.iloc[42] == pytest.approx(-0.5)
    changes = s0.diff().fillna(s0).to_numpy() != 0
    assert set(np.flatnonzero(changes) % 6) == {0}  # trades only at rebalance times
    assert np.allclose(book.sum(axis=1), 0.0)  # dollar-neutral throughout


def test_no_trade_band_holds_small_moves_and_always_closes():
    target = np.array([[0.10], [0.11], [0.125], [0.0], [0.005]])
    held = apply_band(target, 0.02)
    assert held[:, 0].tolist() == [0.10, 0.10, 0.125, 0.0, 0.0]


def test_hysteresis_enters_above_one_confidence_and_exits_below_a_lower_one():
    ts, symbols = _grid(8, 2)
    p = pd.DataFrame(
        {
            symbols[0]: [0.53, 0.56, 0.52, 0.51, 0.49, 0.44, 0.47, np.nan],
            symbols[1]: [0.5] * 8,
        },
        index=ts,
    )
    side = hysteresis_book(p, HysteresisConfig(enter=0.55, exit=0.5)).iloc[:, 0] * 2
    assert side.tolist() == [0, 1, 1, 1, 0, -1, -1, 0]
    with pytest.raises(ValueError):
        HysteresisConfig(enter=0.52, exit=0.55)


def test_funding_is_paid_by_the_position_held_through_the_settlement():
    ts, symbols = _grid(12, 1)
    rate = pd.Series([0.001], index=pd.DatetimeIndex(["2024-01-01 08:00"], tz="UTC"))
    grid = funding_by_bar({symbols[0]: rate}, ts, HOUR, symbols)
    # bars stamped at their close: decided at 07:00, traded at the next open, held through 08:00
    assert grid.iloc[:, 0].to_dict()[pd.Timestamp("2024-01-01 07:00", tz="UTC")] == 0.001
    assert grid.to_numpy().sum() == pytest.approx(0.001)
    zero = pd.DataFrame(0.0, index=ts, columns=symbols)
    short = pd.DataFrame(-0.5, index=ts, columns=symbols)
    for shorts_only in (False, True):
        costs = BookCosts(0.0, funding=grid, shorts_only=shorts_only)
        earned = book_portfolio(short, zero, costs, zero, zero)
        assert earned.net.sum() == pytest.approx(0.0005)  # a short earns positive funding
        paid = book_portfolio(-short, zero, costs, zero, zero)
        # a perp long pays it; a spot long pays none
        assert paid.net.sum() == pytest.approx(0.0 if shorts_only else -0.0005)


def test_impact_grows_with_the_size_of_the_trade():
    ts, symbols = _grid(3, 1)
    zero = pd.DataFrame(0.0, index=ts, columns=symbols)
    w = pd.DataFrame([[0.0], [0.5], [0.5]], index=ts, columns=symbols)
    paid = book_portfolio(w, zero, BookCosts(10.0, impact_bps=4.0), zero, zero).net.sum()
    assert paid == pytest.approx(-0.5 * (10.0 + 4.0 * 0.5) / 1e4)
