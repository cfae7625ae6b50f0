"""Replay history through the Engine's decision path and the fill simulator, bar by bar."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from edgecraft.backtest.simulator import LIMIT, Book, Costs, Market, Orders, step_bar
from edgecraft.core.contracts import Bar, OrderIntent
from edgecraft.engine.engine import Decision, Engine


@dataclass
class Replay:
    """The simulated book, the symbols' column order, how often each rule decided, and every
    decision (signals and intents) in order."""

    book: Book
    symbols: list[str]
    ts: pd.DatetimeIndex
    reasons: Counter
    decisions: list[Decision]


def market_grid(
    bars: pd.DataFrame, symbols: list[str], funding: dict[str, pd.Series] | None = None
) -> Market:
    """Bars of `symbols` on their union time grid; funding rates placed on the bars they fall on."""
    own = bars[bars.index.get_level_values("symbol").isin(symbols)]
    wide = {
        k: own[k].unstack("symbol").reindex(columns=symbols)
        for k in ("open", "high", "low", "close")
    }
    ts = wide["close"].index
    rates = np.full((len(ts), len(symbols)), np.nan)
    for j, symbol in enumerate(symbols):
        series = (funding or {}).get(symbol)
        if series is not None and len(series):
            at = series.reindex(ts)  # paid at the funding time, on the bar closing then
            rates[:, j] = at.to_numpy()
    return Market(
        ts.as_unit("ns").asi8,
        wide["open"].to_numpy(),
        wide["high"].to_numpy(),
        wide["low"].to_numpy(),
        wide["close"].to_numpy(),
        rates,
    )


def replay(
    engine: Engine,
    market: Market,
    symbols: list[str],
    scored: pd.DataFrame | None,
    costs: Costs,
    stream: dict[pd.Timestamp, list[Bar]] | None = None,
) -> Replay:
    """Step the simulator one bar at a time; after each bar, feed the fills (and the orders
    still working) to the risk manager, let the engine decide, and queue its intents for the
    next bar.

    Two ways to decide, one path: with `scored` (indexed (ts, symbol): p_up, close, atr,
    atr_rel, optionally size, the model's own sizing), the engine's tail (`Engine.decide`) acts
    on model outputs computed in batch; with `stream` (each ts's closed bars), the whole engine
    (`Engine.on_bars`: streaming features, scorer, signals, risk) acts on the bars, as it does
    live. A test holds the two equal, signal for signal and intent for intent, on real data.
    """
    if (scored is None) == (stream is None):
        raise ValueError("give the batch model outputs (scored) or the bars (stream), not both")
    n_bars, n_symbols = market.close.shape
    orders = Orders(n_bars, n_symbols)
    book = Book(n_bars, n_symbols)
    column = {s: j for j, s in enumerate(symbols)}
    ts_index = pd.DatetimeIndex(pd.to_datetime(market.ts, utc=True))
    batch = _batch_outputs(scored, market) if scored is not None else None
    reasons: Counter = Counter()
    decisions: list[Decision] = []
    for t, ts in enumerate(ts_index):
        step_bar(t, market, orders, costs, book)
        working = book.working()
        engine.risk.on_fills(
            ts,
            float(book.equity[0]),
            {s: float(book.weight[j]) for s, j in column.items()},
            {s: float(working[j]) for s, j in column.items() if not np.isnan(working[j])},
        )
        if batch is not None:
            decision = batch(engine, t, ts)
        else:
            bars = stream.get(ts)
            decision = engine.on_bars(bars)[0] if bars else None
        if decision is None:
            continue
        decisions.append(decision)
        for intent in decision.intents:
            reasons[intent.reason] += 1
            if intent.side == "none" or intent.symbol not in column:
                continue
            queue_intent(orders, t, column[intent.symbol], intent)
    return Replay(book, symbols, ts_index, reasons, decisions)


def _batch_outputs(scored: pd.DataFrame, market: Market):
    """decide(engine, t, ts): the engine's tail on the batch outputs of bar t (None if none)."""
    ordered = scored.sort_index(level="ts")
    when = ordered.index.get_level_values("ts").as_unit("ns").asi8
    names = np.asarray(ordered.index.get_level_values("symbol"))
    values = {k: ordered[k].to_numpy(dtype=np.float64) for k in ("p_up", "close", "atr", "atr_rel")}
    size = ordered["size"].to_numpy(dtype=np.float64) if "size" in ordered else None
    lower = np.searchsorted(when, market.ts, side="left")
    upper = np.searchsorted(when, market.ts, side="right")

    def decide(engine: Engine, t: int, ts: pd.Timestamp) -> Decision | None:
        a, b = lower[t], upper[t]
        if a == b:
            return None
        return engine.decide(
            ts,
            list(names[a:b]),
            values["p_up"][a:b],
            values["close"][a:b],
            values["atr"][a:b],
            values["atr_rel"][a:b],
            None if size is None else size[a:b],
        )

    return decide


def queue_intent(orders: Orders, t: int, j: int, intent: OrderIntent) -> None:
    """An intent decided at bar t's close, as the order that works from bar t + 1."""
    orders.target[t, j] = intent.target_weight
    orders.kind[t, j] = LIMIT if intent.order_type == "limit" else 0
    orders.limit[t, j] = intent.limit_price if intent.limit_price is not None else np.nan
    orders.stop[t, j] = intent.stop if intent.stop is not None else np.nan
    orders.take[t, j] = intent.target if intent.target is not None else np.nan
    orders.expiry[t, j] = (
        intent.expires.value if intent.expires is not None else np.iinfo(np.int64).max
    )
    orders.slices[t, j] = intent.slices
    if intent.good_till is not None:
        orders.good_till[t, j] = intent.good_till.value


def decision_frame(decisions: list[Decision]) -> pd.DataFrame:
    """Every signal of `decisions` with the risk manager's intent for it, one row per (ts,
    symbol): what a server would have answered at each bar close (`decisions.parquet`)."""
    rows = []
    for decision in decisions:
        intents = {i.symbol: i for i in decision.intents}
        for s in decision.signals:
            i = intents.get(s.symbol)
            rows.append(
                (
                    s.ts,
                    s.symbol,
                    int(s.direction),
                    s.confidence,
                    s.entry,
                    np.nan if s.target is None else s.target,
                    np.nan if s.stop is None else s.stop,
                    s.size,
                    None if i is None else i.side,
                    np.nan if i is None else i.target_weight,
                    None if i is None else i.order_type,
                    0 if i is None else i.slices,
                    None if i is None else i.reason,
                )
            )
    return pd.DataFrame(rows, columns=list(DECISION_FIELDS))


DECISION_FIELDS = (
    "ts",
    "symbol",
    "direction",
    "confidence",
    "entry",
    "target",
    "stop",
    "size",
    "side",
    "target_weight",
    "order_type",
    "slices",
    "reason",
)
