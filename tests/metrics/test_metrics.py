"""Each metric against a case computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.metrics.calibration import brier, expected_calibration_error
from edgecraft.metrics.ic import ic, ic_by, information_ratio
from edgecraft.metrics.overfitting import (
    deflated_sharpe,
    expected_max_sharpe,
    probabilistic_sharpe,
)
from edgecraft.metrics.returns import (
    annual_return,
    calmar,
    hit_rate,
    max_drawdown,
    profit_factor,
    sharpe,
    sortino,
    turnover,
)


def test_ic_pearson_and_spearman_by_hand():
    p = pd.Series([1.0, 2.0, 3.0, 4.0])
    r = pd.Series([1.0, 3.0, 2.0, 4.0])
    # Pearson: deviations (-1.5,-.5,.5,1.5) and (-1.5,.5,-.5,1.5): cov sum 4, var sums 5 and 5
    assert ic(p, r) == pytest.approx(0.8)
    # Spearman on ranks is the same here; cubing the prediction keeps ranks, not Pearson
    assert ic(p**3, r, "spearman") == pytest.approx(0.8)
    assert ic(p**3, r) != pytest.approx(0.8)
    assert np.isnan(ic(pd.Series([1.0, 1.0, 1.0]), pd.Series([1.0, 2.0, 3.0])))


def test_cross_sectional_ic_per_timestamp():
    index = pd.MultiIndex.from_product(
        [pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True), ["A", "B", "C"]],
        names=["ts", "symbol"],
    )
    p = pd.Series([1, 2, 3, 1, 2, 3], index=index, dtype=float)
    r = pd.Series([0.1, 0.2, 0.3, 0.3, 0.2, 0.1], index=index)
    per_ts = ic_by(p, r, "ts", "spearman")
    assert per_ts.tolist() == pytest.approx([1.0, -1.0])
    assert ic_by(p, r, "ts", "pearson").tolist() == pytest.approx([1.0, -1.0])


def test_information_ratio():
    assert information_ratio(pd.Series([0.01, 0.03, 0.02])) == pytest.approx(0.02 / 0.01)


def test_return_statistics_by_hand():
    r = pd.Series([0.10, -0.05, 0.02, -0.01])
    mean, std = r.mean(), r.std()
    assert sharpe(r, 365) == pytest.approx(mean / std * np.sqrt(365))
    downside = np.sqrt((0.05**2 + 0.01**2) / 4)
    assert sortino(r, 365) == pytest.approx(mean / downside * np.sqrt(365))
    # equity 1.10, 1.045, 1.0659, 1.055241: worst fall from 1.10 to 1.045 = 5 %
    assert max_drawdown(r) == pytest.approx(0.05)
    growth = 1.10 * 0.95 * 1.02 * 0.99
    assert annual_return(r, 4) == pytest.approx(growth - 1)
    assert calmar(r, 4) == pytest.approx((growth - 1) / 0.05)
    assert profit_factor(r) == pytest.approx(0.12 / 0.06)
    assert profit_factor(pd.Series([0.1, 0.2])) == float("inf")


def test_hit_rate_ignores_flat_calls():
    d = pd.Series([1, -1, 0, 1])
    r = pd.Series([0.1, 0.2, -0.3, 0.05])
    assert hit_rate(d, r) == pytest.approx(2 / 3)


def test_turnover():
    pos = pd.DataFrame({"A": [0.0, 1.0, 1.0, -1.0], "B": [0.0, 0.0, 0.5, 0.5]})
    assert turnover(pos) == pytest.approx((1.0 + 0.5 + 2.0) / 3)


def test_brier_and_ece_by_hand():
    p = pd.Series([0.9, 0.9, 0.1, 0.1])
    o = pd.Series([1, 0, 0, 0])
    assert brier(p, o) == pytest.approx((0.01 + 0.81 + 0.01 + 0.01) / 4)
    # bin 0.9: observed 0.5 vs 0.9 -> 0.4; bin 0.1: observed 0 vs 0.1 -> 0.1; equal weights
    assert expected_calibration_error(p, o) == pytest.approx(0.25)


def test_probabilistic_and_deflated_sharpe():
    rng = np.random.default_rng(0)
    skilled = pd.Series(rng.normal(0.002, 0.01, 2000))
    assert probabilistic_sharpe(skilled) > 0.99
    noise = pd.Series(rng.normal(0.0, 0.01, 2000))
    assert 0.01 < probabilistic_sharpe(noise) < 0.99
    # the hurdle grows with the number of trials, so the deflated Sharpe falls
    assert expected_max_sharpe(100, 1 / 2000) > expected_max_sharpe(10, 1 / 2000) > 0
    assert deflated_sharpe(skilled, 100) < probabilistic_sharpe(skilled)
    assert deflated_sharpe(noise, 1000) < 0.95


def test_daily_returns_measure_each_day_from_the_last_close_of_the_day_before():
    from edgecraft.metrics.returns import daily_returns

    ts = pd.date_range("2024-01-01 01:00", periods=48, freq="1h", tz="UTC")
    equity = pd.Series(np.r_[np.full(23, 1.1), np.full(25, 1.21)], index=ts)  # days end 1.1, 1.21
    out = daily_returns(equity)
    days = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-03"], tz="UTC")
    assert list(out.index) == list(days)
    np.testing.assert_allclose(out.to_numpy(), [0.1, 0.1, 0.0])


def test_json_safe_turns_every_nan_and_infinity_into_none():
    import json

    from edgecraft.core.numbers import json_safe

    value = {"a": np.float64("nan"), "b": [1.0, float("inf"), {"c": -np.inf}], "d": (2, "x")}
    assert json_safe(value) == {"a": None, "b": [1.0, None, {"c": None}], "d": [2, "x"]}
    json.dumps(json_safe(value), allow_nan=False)


def test_signal_portfolio_trades_at_the_next_open_not_the_signal_close():
    from edgecraft.metrics.evaluation import BookCosts, signal_portfolio

    ts = pd.date_range("2024-01-01 01:00", periods=10, freq="1h", tz="UTC")
    index = pd.MultiIndex.from_arrays([ts, ["BTC/USDT"] * 10], names=["ts", "symbol"])
    direction = pd.Series(0.0, index=index)
    direction.iloc[3] = 1.0  # long for one bar, decided at bar 3's close
    gap = pd.Series(0.0, index=index)
    gap.iloc[3] = 0.01  # the price jumps between bar 3's close and bar 4's open
    intrabar = pd.Series(0.0, index=index)
    intrabar.iloc[5] = 0.02  # and moves inside bar 6, after the position is gone
    next_return = (1 + gap) * (1 + intrabar) - 1
    at_close = signal_portfolio(direction, next_return, 1, BookCosts(0.0))
    at_open = signal_portfolio(direction, next_return, 1, BookCosts(0.0), gap, intrabar)
    assert at_close.gross.sum() == pytest.approx(0.01)  # caught the jump it could not trade
    assert at_open.gross.sum() == pytest.approx(0.0)  # entered at bar 4's open, after the jump
    costly = signal_portfolio(direction, next_return, 1, BookCosts(12.0), gap, intrabar)
    assert costly.net.sum() == pytest.approx(-2 * 12 / 1e4)  # in and out, charged both ways


def test_pbo_is_a_coin_flip_on_noise_and_low_when_one_configuration_is_really_better():
    from edgecraft.metrics.overfitting import probability_of_backtest_overfitting as pbo

    # the best of 20 noises is no better out of sample: a coin flip on average over histories
    noises = [pd.DataFrame(np.random.default_rng(k).normal(0, 0.01, (1200, 20))) for k in range(6)]
    assert 0.35 <= np.mean([pbo(n, 8)["pbo"] for n in noises]) <= 0.65
    noise = noises[0]
    real = noise.copy()
    real[0] += 0.003  # one configuration earns 0.3 % a day more
    result = pbo(real, 12)
    assert result["pbo"] < 0.05 and result["combinations"] == 924
    with pytest.raises(ValueError, match="at least 2"):
        pbo(noise[[0]])
