"""The drawdown breaker bounds the drawdown of a real backtest: its high-water mark survives the
cooldown, so equity never falls much more than the breaker level below its peak."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.research.config import RunConfig
from edgecraft.research.fitting import make_labels
from edgecraft.research.run import prepare, score_signals
from edgecraft.research.trading import simulate_trading
from edgecraft.research.train import fit

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
BREAKER = 0.03


def test_no_equity_path_falls_past_the_breaker_plus_one_bar_below_its_peak(layout):
    config = RunConfig(
        symbols=SYMBOLS,
        start="2022-01-01",
        end="2023-12-31",
        label={"horizons": ["24h"]},
        model={"name": "lgbm", "params": {"n_estimators": 20, "min_child_samples": 300}},
        risk={"max_drawdown": BREAKER, "cooldown": "3d"},
    )
    prepared = prepare(config, layout.root)
    labels = make_labels(config, prepared.bars, prepared.X, "24h")
    ts = prepared.X.index.get_level_values("ts")
    scorer = fit(
        config,
        prepared.X,
        labels,
        np.flatnonzero((ts < "2023-01-01") & labels["ret"].notna().to_numpy()),
        "24h",
    )
    late = prepared.X.index[ts >= "2023-01-01"]
    # confident coin flips: they trade a lot and lose their costs, so the breaker must act
    p_up = pd.Series(np.random.default_rng(7).choice([0.35, 0.65], len(late)), index=late)
    predictions = pd.DataFrame({"score": p_up - 0.5, "p_up": p_up, "window": 0})
    frame = score_signals(config, predictions, prepared.bars, prepared.X, labels, "24h")
    outcome = simulate_trading(config, prepared.bars, prepared.X, frame, scorer)
    equity = outcome.equity["net"]
    drawdown = 1.0 - equity / equity.cummax()
    one_bar = float(equity.pct_change().abs().max())
    assert any("drawdown breaker" in rule for rule in outcome.metrics["decisions"])
    assert drawdown.max() <= BREAKER + one_bar, (drawdown.max(), one_bar)
    assert outcome.metrics["trades"] > 20
