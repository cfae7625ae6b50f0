"""Real bars replayed one by one through the Engine give the batch path's signals exactly, and the
trading backtest's batch twin decides and fills as the streaming Engine does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.core.contracts import Bar
from edgecraft.data.bars import iter_bars
from edgecraft.research.config import RunConfig
from edgecraft.research.fitting import make_labels
from edgecraft.research.run import prepare, score_signals
from edgecraft.research.trading import build_engine
from edgecraft.research.train import fit

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def test_engine_on_real_bars_equals_batch_signals(layout):
    config = RunConfig(
        symbols=SYMBOLS,
        start="2023-01-01",
        end="2024-03-31",
        label={"horizons": ["24h"]},
        model={"name": "lgbm", "params": {"n_estimators": 30, "min_child_samples": 300}},
    )
    prepared = prepare(config, layout.root)
    labels = make_labels(config, prepared.bars, prepared.X, "24h")
    ts = prepared.X.index.get_level_values("ts")
    train = np.flatnonzero((ts < "2024-01-01") & labels["ret"].notna().to_numpy())
    scorer = fit(config, prepared.X, labels, train, "24h")
    # batch: the walk-forward path (feature frame -> scorer -> build_signals)
    batch = score_signals(
        config, scorer.predict(prepared.X), prepared.bars, prepared.X, labels, "24h"
    )
    # live: every bar through Engine.on_bars, a ts at a time, features streamed from the start
    funding = {s: f for s in SYMBOLS if (f := layout.load_funding(s)) is not None}
    engine = build_engine(config, scorer, funding, layout.load_fear_greed())
    bars = prepared.bars
    records = iter_bars(bars)
    by_ts: dict[pd.Timestamp, list[Bar]] = {}
    for bar in records:
        by_ts.setdefault(bar.ts, []).append(bar)
    live = {}
    for group in by_ts.values():
        for decision in engine.on_bars(group):
            for signal in decision.signals:
                live[(signal.ts, signal.symbol)] = signal
    late = batch[batch.index.get_level_values("ts") >= "2024-01-01"]
    assert len(late) > 5000
    mismatched = 0
    for (t, s), row in late.iterrows():
        signal = live[(t, s)]
        same = int(signal.direction) == row["direction"] and np.isclose(
            signal.confidence, row["confidence"], rtol=1e-9, atol=1e-12
        )
        if row["direction"] != 0:
            same &= bool(
                np.isclose(signal.target, row["target"], rtol=1e-9)
                and np.isclose(signal.stop, row["stop"], rtol=1e-9)
            )
        mismatched += not same
    assert mismatched == 0, f"{mismatched} of {len(late)} live signals differ from batch"
    # the single-bar entry point continues the same stream
    nxt = prepared.bars.index.get_level_values("ts").max() + pd.Timedelta("1h")
    decision = engine.on_bar(Bar(nxt, "BTC/USDT", 100.0, 101.0, 99.0, 100.5, 10.0))
    assert decision.ts == nxt and decision.signals[0].symbol == "BTC/USDT"
    assert (late["direction"] != 0).sum() > 100


def test_the_backtest_decides_as_the_engine_does_on_the_bars(layout):
    """One path: the trading backtest's batch twin (walk-forward outputs through Engine.decide)
    gives the same signals, intents and fills as the whole Engine streaming the bars."""
    from edgecraft.backtest.replay import market_grid, replay
    from edgecraft.research.config import atr_columns
    from edgecraft.research.trading import costs_of

    config = RunConfig(
        symbols=SYMBOLS,
        start="2023-06-01",
        end="2024-04-30",
        label={"horizons": ["24h"]},
        model={"name": "lgbm", "params": {"n_estimators": 20, "min_child_samples": 300}},
    )
    prepared = prepare(config, layout.root)
    labels = make_labels(config, prepared.bars, prepared.X, "24h")
    ts = prepared.X.index.get_level_values("ts")
    cut = pd.Timestamp("2024-01-15", tz="UTC")
    scorer = fit(
        config,
        prepared.X,
        labels,
        np.flatnonzero((ts < cut - pd.Timedelta("24h")) & labels["ret"].notna().to_numpy()),
        "24h",
    )
    later = prepared.X[ts >= cut]
    atr, atr_rel = atr_columns(config)
    scored = pd.DataFrame(
        {
            "p_up": scorer.predict(later)["p_up"],
            "close": prepared.bars["close"].reindex(later.index),
            "atr": later[atr].astype(float),
            "atr_rel": later[atr_rel].astype(float),
        }
    )
    bars = prepared.bars
    window = bars[bars.index.get_level_values("ts") >= cut]
    market = market_grid(window, SYMBOLS)
    batch = replay(build_engine(config, scorer), market, SYMBOLS, scored, costs_of(config))

    funding = {s: f for s in SYMBOLS if (f := layout.load_funding(s)) is not None}
    engine = build_engine(config, scorer, funding, layout.load_fear_greed())
    before = bars[bars.index.get_level_values("ts") < cut]
    engine.features.on_bars(iter_bars(before))  # warm the streaming features, no decisions
    stream: dict[pd.Timestamp, list[Bar]] = {}
    for bar in iter_bars(window):
        stream.setdefault(bar.ts, []).append(bar)
    live = replay(engine, market, SYMBOLS, None, costs_of(config), stream)

    assert len(batch.decisions) == len(live.decisions) > 2000
    intents = 0
    for a, b in zip(batch.decisions, live.decisions, strict=True):
        assert a.ts == b.ts
        assert [(s.symbol, int(s.direction)) for s in a.signals] == [
            (s.symbol, int(s.direction)) for s in b.signals
        ]
        for x, y in zip(a.signals, b.signals, strict=True):
            assert x.confidence == pytest.approx(y.confidence, abs=1e-6)
            if x.target is not None:
                assert (x.target, x.stop) == pytest.approx((y.target, y.stop), rel=1e-9)
        assert [(i.symbol, i.side, i.order_type, i.slices, i.good_till) for i in a.intents] == [
            (i.symbol, i.side, i.order_type, i.slices, i.good_till) for i in b.intents
        ]
        for x, y in zip(a.intents, b.intents, strict=True):
            assert x.target_weight == pytest.approx(y.target_weight, abs=1e-6)
            intents += x.side != "none"
    assert intents > 20  # orders were actually sent, and filled alike:
    np.testing.assert_allclose(batch.book.equity_curve, live.book.equity_curve, rtol=1e-6)
    assert len(batch.book.trade_list()) == len(live.book.trade_list()) > 5
