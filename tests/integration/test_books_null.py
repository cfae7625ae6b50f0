"""The books on prices with no edge to find, and on a planted one.

GARCH(1,1) random walks with a common market factor stand in for hourly crypto: on them, and
on a real signal whose probabilities were shuffled (what a model of shuffled labels would give),
the long-short and meta-labeled books must lose after costs (net profit factor <= 1) and fail
the deflated Sharpe test; with a planted signal strong enough to pay costs they must earn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.metrics.evaluation import BookCosts, book_metrics
from edgecraft.research.books import BOOKS, book_portfolios
from edgecraft.research.config import RunConfig

SYMBOLS = [f"S{i}/USDT" for i in range(8)]
HORIZON = "24h"


def garch_closes(rows: int, seed: int) -> pd.DataFrame:
    """Hourly closes of `SYMBOLS`: GARCH(1,1) innovations (about 60 % a year), half market."""
    rng = np.random.default_rng(seed)
    alpha, beta, sigma = 0.05, 0.90, 0.6 / np.sqrt(24 * 365)
    omega = sigma**2 * (1 - alpha - beta)
    shocks = rng.standard_normal((rows, len(SYMBOLS) + 1))
    returns = np.zeros_like(shocks)
    variance = np.full(shocks.shape[1], sigma**2)
    for t in range(rows):
        returns[t] = np.sqrt(variance) * shocks[t]
        variance = omega + alpha * returns[t] ** 2 + beta * variance
    mixed = np.sqrt(0.5) * returns[:, :1] + np.sqrt(0.5) * returns[:, 1:]
    ts = pd.date_range("2021-01-01", periods=rows, freq="1h", tz="UTC")
    return pd.DataFrame(100 * np.exp(np.cumsum(mixed, axis=0)), index=ts, columns=SYMBOLS)


def scored_frame(close: pd.DataFrame, p_up: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What `score_signals` hands the books (one row per bar and symbol), and the features the
    meta model sees; opens equal the previous close (no gap)."""
    log_close = np.log(close)
    forward = log_close.shift(-24) - log_close
    wide = {
        "p_up": p_up,
        "score": p_up - 0.5,
        "ret": forward,
        "vol": log_close.diff().abs().rolling(14).mean(),
        "next_return": close.shift(-1) / close - 1,
        "next_gap": close * 0.0,
        "next_intrabar": close.shift(-1) / close - 1,
        "past_return": log_close.diff(24),
        "past_vol": log_close.diff().rolling(72).std(),
    }
    frame = pd.concat({k: v.stack() for k, v in wide.items()}, axis=1)
    frame.index.names = ["ts", "symbol"]
    frame = frame.dropna(subset=["vol", "past_vol"])
    ts = frame.index.get_level_values("ts")
    frame["t1"] = ts + pd.Timedelta(HORIZON)
    frame["window"] = ((ts - ts.min()) // pd.Timedelta("90D")).astype(int)
    frame["direction"] = np.where(frame["p_up"] >= 0.52, 1, np.where(frame["p_up"] <= 0.48, -1, 0))
    frame["size"] = 1.0
    frame = frame.dropna(subset=["ret", "next_return"])
    return frame, frame[["past_return", "past_vol"]]


def judged(frame: pd.DataFrame, X: pd.DataFrame) -> dict[str, dict]:
    config = RunConfig()
    costs = BookCosts(config.costs.fee_bps + config.costs.half_spread_bps, config.costs.impact_bps)
    trials = len(BOOKS)
    return {
        name: book_metrics(portfolio, trials)
        for name, (portfolio, _) in book_portfolios(config, frame, HORIZON, costs, X).items()
    }


def _planted(close: pd.DataFrame, strength: float, seed: int) -> pd.DataFrame:
    """P(up) that knows a share of the next 24 hours (standardized), plus noise (strength 0.2:
    rank IC about 0.19)."""
    log_close = np.log(close)
    forward = (log_close.shift(-24) - log_close) / (0.6 / np.sqrt(365))
    noise = np.random.default_rng(seed).standard_normal(close.shape)
    return 1 / (1 + np.exp(-0.3 * (strength * forward + noise)))


def _no_edge(metrics: dict) -> bool:
    """Net profit factor <= 1 and DSR < 0.95, or a book that (rightly) never traded."""
    if metrics["profit_factor"] is None and metrics["gross_exposure"] == 0:
        return True
    return metrics["profit_factor"] <= 1.0 and metrics["dsr"] < 0.95


@pytest.mark.parametrize("seed", [1, 2])
def test_random_walks_give_no_edge_after_costs(seed):
    close = garch_closes(24 * 540, seed)
    rng = np.random.default_rng(seed + 100)
    # a "model" of past returns (short-term reversal) that a random walk cannot reward
    past = np.log(close).diff(4)
    p_up = 1 / (1 + np.exp(20 * past)) + 0.01 * rng.standard_normal(close.shape)
    metrics = judged(*scored_frame(close, p_up.clip(0.01, 0.99)))
    for book in ("long_short", "meta", "signal", "hysteresis"):
        assert _no_edge(metrics[book]), (book, metrics[book])


def test_shuffled_probabilities_give_no_edge_after_costs():
    close = garch_closes(24 * 540, 3)
    planted = _planted(close, 0.2, 3)
    rng = np.random.default_rng(3)
    shuffled = pd.DataFrame(
        rng.permutation(planted.to_numpy().ravel()).reshape(planted.shape),
        index=planted.index,
        columns=planted.columns,
    )
    metrics = judged(*scored_frame(close, shuffled))
    for book in ("long_short", "meta"):
        assert _no_edge(metrics[book]), (book, metrics[book])


def test_a_planted_signal_that_pays_costs_is_found_by_the_books():
    close = garch_closes(24 * 540, 4)
    metrics = judged(*scored_frame(close, _planted(close, 0.2, 4)))
    for book in ("long_short", "meta", "signal_meta_rows"):
        assert metrics[book]["profit_factor"] > 1.0, (book, metrics[book])
    assert metrics["long_short"]["dsr"] > 0.95
    assert metrics["long_short"]["turnover_per_bar"] < 0.2  # the band and the overlap at work
