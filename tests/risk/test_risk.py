"""Risk manager: sizing by hand, reasons, and limits that hold whatever the signals (hypothesis)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgecraft.core.contracts import Direction, Signal
from edgecraft.risk.config import RiskConfig
from edgecraft.risk.manager import RiskManager
from edgecraft.risk.sizing import expected_edge, kelly_fraction, vol_target_weight

T0 = pd.Timestamp("2024-01-01", tz="UTC")
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"]


def _signal(symbol, direction, confidence, ts=T0, entry=100.0, k=2.0):
    d = Direction(direction)
    target = None if d == Direction.FLAT else entry * (1 + 0.01 * k * direction)
    stop = None if d == Direction.FLAT else entry * (1 - 0.01 * k * direction)
    return Signal(ts, symbol, d, confidence, pd.Timedelta("24h"), entry, target, stop, "m")


def test_sizing_functions_by_hand():
    assert kelly_fraction(0.6, 1.0) == pytest.approx(0.2)
    assert kelly_fraction(0.4, 1.0) == 0.0
    assert kelly_fraction(0.5, 2.0) == pytest.approx(0.25)
    assert vol_target_weight(0.4, 0.8) == pytest.approx(0.5)
    assert vol_target_weight(0.4, 0.0) == 0.0
    assert expected_edge(0.6, 0.02, 0.02) == pytest.approx(0.004)


def test_decisions_carry_their_reasons():
    risk = RiskManager(RiskConfig(kelly_fraction=0.5, max_position=0.2), cost_bps=12)
    intents = {
        i.symbol: i
        for i in risk.decide(
            T0,
            [
                _signal("BTC/USDT", 1, 0.60),
                _signal("ETH/USDT", 1, 0.51),
                _signal("SOL/USDT", 1, 0.53, k=0.05),
                _signal("XRP/USDT", 0, 0.5),
            ],
            {s: 0.5 for s in SYMBOLS},
        )
    }
    # Kelly 0.5 * 0.2 = 0.1 < vol target 0.8 and max position 0.2
    assert intents["BTC/USDT"].target_weight == pytest.approx(0.1)
    assert intents["BTC/USDT"].reason.startswith("accepted: sized by kelly")
    assert intents["BTC/USDT"].side == "buy" and intents["BTC/USDT"].stop == pytest.approx(98.0)
    assert intents["ETH/USDT"].reason.startswith("rejected: confidence")
    assert intents["SOL/USDT"].reason.startswith("rejected: edge")
    assert intents["XRP/USDT"].reason == "flat signal"


def test_a_models_size_only_shrinks_the_risk_managers_size():
    from dataclasses import replace

    risk = RiskManager(RiskConfig(kelly_fraction=0.5, max_position=0.2), cost_bps=12)
    full = _signal("BTC/USDT", 1, 0.60)
    intents = risk.decide(
        T0,
        [replace(full, size=0.25), replace(_signal("ETH/USDT", 1, 0.60), size=0.0)],
        {s: 0.5 for s in SYMBOLS},
    )
    by_symbol = {i.symbol: i for i in intents}
    assert by_symbol["BTC/USDT"].target_weight == pytest.approx(0.1 * 0.25)
    assert "x model size 0.25" in by_symbol["BTC/USDT"].reason
    assert by_symbol["ETH/USDT"].target_weight == 0.0
    assert by_symbol["ETH/USDT"].reason == "rejected: the model sized it to 0"
    with pytest.raises(ValueError, match="size"):
        replace(full, size=1.5)


def test_drawdown_breaker_keeps_its_high_water_mark_through_the_cooldown_and_kill_switch():
    config = RiskConfig(max_drawdown=0.1, cooldown="2d")
    risk = RiskManager(config, cost_bps=12)
    risk.decide(T0, [_signal("BTC/USDT", 1, 0.7)], {"BTC/USDT": 0.5})
    risk.on_fills(T0 + pd.Timedelta("1h"), 0.85, {"BTC/USDT": 0.2})
    out = risk.decide(T0 + pd.Timedelta("1h"), [_signal("ETH/USDT", 1, 0.7)], {"ETH/USDT": 0.5})
    assert all(i.target_weight == 0.0 and "drawdown breaker" in i.reason for i in out)
    assert {i.symbol for i in out} == {"BTC/USDT", "ETH/USDT"}
    later = T0 + pd.Timedelta("3d")  # cooldown over, still 15 % below the peak: flat again
    risk.on_fills(later, 0.85, {})
    assert risk.state.peak == 1.0 and risk.state.halted_until == later + pd.Timedelta("2d")
    assert (
        risk.decide(later, [_signal("ETH/USDT", 1, 0.7)], {"ETH/USDT": 0.5})[0].target_weight == 0
    )
    risk.reset_breaker()  # the operator accepts the loss: a new high-water mark from 0.85
    assert risk.decide(later, [_signal("ETH/USDT", 1, 0.7)], {"ETH/USDT": 0.5})[0].target_weight > 0
    risk.on_fills(later + pd.Timedelta("1h"), 0.80, {"ETH/USDT": 0.1})  # 5.9 % below 0.85: on
    assert risk.state.halted_until is None
    risk.kill()
    assert all(
        i.target_weight == 0 and i.reason == "rejected: kill switch"
        for i in risk.decide(later, [_signal("BTC/USDT", 1, 0.7)], {"BTC/USDT": 0.5})
    )


def test_limit_orders_below_market_confidence_and_slicing():
    risk = RiskManager(
        RiskConfig(
            kelly_fraction=1.0,
            max_position=0.3,
            max_gross=2,
            max_net=2,
            slice_above=0.1,
            market_confidence=0.9,
        ),
        cost_bps=1,
    )
    (intent,) = risk.decide(T0, [_signal("SOL/USDT", 1, 0.7)], {"SOL/USDT": 0.1})
    assert intent.order_type == "limit" and intent.limit_price == pytest.approx(100 * (1 - 2e-4))
    assert intent.time_in_force == "GTC" and intent.slices == 3
    assert intent.good_till == T0 + pd.Timedelta("3h")  # risk.limit_ttl
    # a bar later the limit still rests, unfilled: the manager does not send it again ...
    later = T0 + pd.Timedelta("1h")
    risk.on_fills(later, 1.0, {"SOL/USDT": 0.0}, {"SOL/USDT": intent.target_weight})
    (again,) = risk.decide(later, [_signal("SOL/USDT", 1, 0.7, ts=later)], {"SOL/USDT": 0.1})
    assert again.side == "none" and again.reason.endswith("order working")
    # ... but replaces it when the target moves
    risk.on_fills(later, 1.0, {"SOL/USDT": 0.0}, {"SOL/USDT": 0.05})
    (moved,) = risk.decide(later, [_signal("SOL/USDT", 1, 0.7, ts=later)], {"SOL/USDT": 0.1})
    assert moved.side == "buy" and moved.target_weight == pytest.approx(intent.target_weight)


signal_strategy = st.tuples(
    st.sampled_from(SYMBOLS), st.sampled_from([-1, 0, 1]), st.floats(0.5, 0.99), st.floats(0.1, 5.0)
)


@settings(max_examples=80, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.lists(signal_strategy, max_size=6), st.floats(0.5, 1.2), st.booleans()),
        min_size=1,
        max_size=12,
    ),
    config=st.builds(
        RiskConfig,
        max_position=st.floats(0.05, 0.5),
        max_gross=st.floats(0.1, 2),
        max_net=st.floats(0.0, 1.0),
        max_correlated=st.floats(0.05, 0.6),
        kelly_fraction=st.floats(0.1, 1.0),
        vol_target=st.floats(0.1, 2.0),
        min_trade=st.floats(0.0, 0.05),
    ),
)
def test_positions_never_breach_a_limit(steps, config):
    risk = RiskManager(config, cost_bps=5)
    tol = 1e-9
    for i, (raw, equity, stopped) in enumerate(steps):
        ts = T0 + pd.Timedelta(hours=i)
        signals = {}
        for symbol, direction, confidence, k in raw:
            signals[symbol] = _signal(symbol, direction, confidence, ts, k=k)
        book = dict(risk.state.weights)
        if stopped and book:  # a stop closed one position between decisions
            book.pop(sorted(book)[0])
        risk.on_fills(ts, equity, book)
        risk.decide(ts, list(signals.values()), {s: 0.6 for s in SYMBOLS})
        weights = risk.state.weights
        assert all(abs(w) <= config.max_position + tol for w in weights.values())
        assert sum(abs(w) for w in weights.values()) <= config.max_gross + tol
        assert abs(sum(weights.values())) <= config.max_net + tol
        for group in config.correlated:
            assert sum(abs(weights.get(s, 0.0)) for s in group) <= config.max_correlated + tol
        if risk.state.halted_until is not None and ts < risk.state.halted_until:
            assert not weights
        assert all(math.isfinite(w) for w in weights.values())
