"""The risk manager: per-signal trade decision and size, portfolio limits, breakers, execution."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from edgecraft.core.contracts import Direction, OrderIntent, Signal
from edgecraft.risk.config import RiskConfig
from edgecraft.risk.sizing import expected_edge, kelly_fraction, vol_target_weight


@dataclass
class PortfolioState:
    """What the manager knows: held weights, equity at bar closes, breaker, kill switch."""

    weights: dict[str, float] = field(default_factory=dict)
    stops: dict[str, tuple[float | None, float | None, pd.Timestamp | None]] = field(
        default_factory=dict
    )
    equity: float = 1.0
    peak: float = 1.0
    halted_until: pd.Timestamp | None = None
    killed: bool = False
    working: dict[str, float] = field(default_factory=dict)  # target of each working order


class RiskManager:
    """Turns signals into order intents within limits; every intent carries the rules that acted."""

    def __init__(self, config: RiskConfig, cost_bps: float) -> None:
        """`cost_bps`: expected one-way cost of a market order (fee + half-spread), in bps."""
        self.config = config
        self.cost_bps = cost_bps
        self.state = PortfolioState()
        self._groups = [set(g) for g in config.correlated]

    def kill(self) -> None:
        """Kill switch: flatten everything and refuse new positions until `resume`."""
        self.state.killed = True

    def resume(self) -> None:
        self.state.killed = False

    def reset_breaker(self) -> None:
        """An operator's decision: accept the drawdown, end the breaker, and measure the next
        one from today's equity."""
        self.state.halted_until = None
        self.state.peak = self.state.equity

    def on_fills(
        self,
        ts: pd.Timestamp,
        equity: float,
        weights: dict[str, float],
        working: dict[str, float] | None = None,
    ) -> None:
        """Take the book as filled (stops, targets, expiries applied) and check the breaker.
        `working`: the target weight of each order still working (a resting GTC limit, the
        rest of a sliced order); the manager does not send the same order again."""
        state = self.state
        state.weights = {s: w for s, w in weights.items() if w != 0.0}
        state.working = dict(working or {})
        state.equity = equity
        state.peak = max(state.peak, equity)
        # the high-water mark survives the cooldown: a book still below the line when the cooldown
        # ends stays flat for another one (only `reset_breaker` starts a new high-water mark), so
        # equity never falls much more than `max_drawdown` below its peak
        below = equity < state.peak * (1.0 - self.config.max_drawdown)
        if state.halted_until is not None and ts >= state.halted_until:
            state.halted_until = None
        if state.halted_until is None and below:
            state.halted_until = ts + pd.Timedelta(self.config.cooldown)

    def decide(
        self, ts: pd.Timestamp, signals: list[Signal], vols: dict[str, float]
    ) -> list[OrderIntent]:
        """Intents for this bar close: one per signal, plus one per held symbol the limits touch.

        `vols` holds each signal's symbol's annualized volatility estimate (for vol targeting).
        """
        c, state = self.config, self.state
        targets = dict(state.weights)
        reasons: dict[str, str] = {}
        levels: dict[str, tuple[float | None, float | None, pd.Timestamp | None]] = {}
        confidence: dict[str, float] = {}
        entries: dict[str, float] = {}
        halted = state.killed or (state.halted_until is not None and ts < state.halted_until)
        for signal in signals:
            s = signal.symbol
            entries[s] = signal.entry
            confidence[s] = signal.confidence
            if halted:
                targets[s], reasons[s] = 0.0, self._halt_reason()
                continue
            weight, reason = self._size(signal, vols.get(s, math.nan))
            held = state.weights.get(s, 0.0)
            if weight == 0.0 and held != 0.0:
                # no new conviction: the open position keeps its own stop, target and horizon
                reasons[s] = f"{reason}; position held to its exits"
                continue
            targets[s], reasons[s] = weight, reason
            if weight != 0.0:
                levels[s] = (signal.stop, signal.target, signal.ts + signal.horizon)
        if halted:
            for s in targets:
                targets[s], reasons[s] = 0.0, self._halt_reason()
        self._apply_limits(targets, reasons)
        intents = []
        for s, weight in sorted(targets.items()):
            current = state.weights.get(s, 0.0)
            delta = weight - current
            if s not in reasons:
                continue
            shrinks = abs(current) <= abs(weight) and current * weight >= 0.0
            if 0.0 < abs(delta) < c.min_trade and weight != 0.0 and shrinks:
                # holding the smaller position can break no limit the target met
                weight, delta = current, 0.0
                reasons[s] += "; change below min_trade: hold"
            stop, target, expires = levels.get(s, state.stops.get(s, (None, None, None)))
            pending = state.working.get(s)
            if pending is not None and abs(pending - weight) < max(c.min_trade, 1e-12):
                # the order on its way there already works: sending it again would only cancel
                # and requeue it (a resting limit loses its place, a sliced order restarts)
                weight, delta = current, 0.0
                reasons[s] += "; order working"
            intents.append(
                self._intent(
                    ts,
                    s,
                    weight,
                    delta,
                    confidence.get(s, 0.5),
                    entries.get(s),
                    stop,
                    target,
                    expires,
                    reasons[s],
                )
            )
            if weight != 0.0:
                state.stops[s] = (stop, target, expires)
            else:
                state.stops.pop(s, None)
            state.weights[s] = weight
        state.weights = {s: w for s, w in state.weights.items() if w != 0.0}
        return intents

    def _halt_reason(self) -> str:
        if self.state.killed:
            return "rejected: kill switch"
        return f"rejected: drawdown breaker, flat until {self.state.halted_until}"

    def _size(self, signal: Signal, vol: float) -> tuple[float, str]:
        c = self.config
        if signal.direction == Direction.FLAT:
            return 0.0, "flat signal"
        if signal.confidence < c.min_confidence:
            return 0.0, f"rejected: confidence {signal.confidence:.3f} < {c.min_confidence}"
        target_dist = abs(signal.target - signal.entry) / signal.entry
        stop_dist = abs(signal.entry - signal.stop) / signal.entry
        edge = expected_edge(signal.confidence, target_dist, stop_dist)
        cost = 2.0 * self.cost_bps / 1e4
        if edge < c.min_edge_to_cost * cost:
            return 0.0, f"rejected: edge {edge:.5f} < {c.min_edge_to_cost} x costs {cost:.5f}"
        kelly = c.kelly_fraction * kelly_fraction(signal.confidence, target_dist / stop_dist)
        by_vol = vol_target_weight(c.vol_target, vol)
        size = min(kelly, by_vol, c.max_position)
        rule = "kelly" if size == kelly else "vol target" if size == by_vol else "max position"
        if size <= 0:
            return 0.0, "rejected: no Kelly edge"
        if signal.size < 1.0:
            if signal.size == 0.0:
                return 0.0, "rejected: the model sized it to 0"
            size *= signal.size
            rule += f" x model size {signal.size:.2f}"
        return int(signal.direction) * size, f"accepted: sized by {rule} ({size:.4f})"

    def _apply_limits(self, targets: dict[str, float], reasons: dict[str, str]) -> None:
        c = self.config

        def scale(symbols: list[str], factor: float, rule: str) -> None:
            for s in symbols:
                if targets[s] != 0.0:
                    targets[s] *= factor
                    reasons[s] = reasons.get(s, "held") + f"; resized: {rule}"

        for s, w in targets.items():
            if abs(w) > c.max_position:
                scale([s], c.max_position / abs(w), "max position")
        for group in self._groups:
            members = [s for s in targets if s in group]
            total = sum(abs(targets[s]) for s in members)
            if total > c.max_correlated:
                scale(members, c.max_correlated / total, "correlated exposure")
        net = sum(targets.values())
        if abs(net) > c.max_net:
            scale(list(targets), c.max_net / abs(net), "net exposure")
        gross = sum(abs(w) for w in targets.values())
        if gross > c.max_gross:
            scale(list(targets), c.max_gross / gross, "gross exposure")

    def _intent(
        self, ts, symbol, weight, delta, confidence, entry, stop, target, expires, reason
    ) -> OrderIntent:
        c = self.config
        side = "buy" if delta > 0 else "sell" if delta < 0 else "none"
        urgent = weight == 0.0 or confidence >= c.market_confidence or entry is None
        limit = None
        if not urgent and side != "none":
            offset = c.limit_offset_bps / 1e4
            limit = entry * (1.0 - offset) if side == "buy" else entry * (1.0 + offset)
        slices = max(1, math.ceil(abs(delta) / c.slice_above)) if side != "none" else 1
        good_till = ts + pd.Timedelta(c.limit_ttl) if limit is not None else None
        return OrderIntent(
            ts=ts,
            symbol=symbol,
            side=side,
            size=abs(delta),
            target_weight=weight,
            order_type="limit" if limit is not None else "market",
            limit_price=limit,
            time_in_force="GTC" if limit is not None else "IOC",
            slices=slices,
            stop=stop if weight != 0.0 else None,
            target=target if weight != 0.0 else None,
            expires=expires if weight != 0.0 else None,
            reason=reason,
            good_till=good_till,
        )
