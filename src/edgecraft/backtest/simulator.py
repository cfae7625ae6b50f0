"""Compiled fill simulation, one bar at a time for all symbols.

Weights are fractions of equity. An order decided at a bar's close works from the next bar on, and
replaces any order still working on that symbol: a market order fills at the bar's open; a limit
order fills at its limit price (or the open, if better) in the first bar that trades through it,
resting bar after bar until it fills or its good-till time passes, then is cancelled. An order of
k slices sends one child per bar, each moving the weight 1/(slices left) of the way to the target,
so it is done after k bars (a limit child that does not fill waits, within the order's life). Held
positions then meet their stop and target inside the bar (the stop first when the bar touches
both: the conservative reading of an OHLC bar), and their horizon at its close. Costs: taker or
maker fee, half the spread and an impact term growing with the traded weight, in bps of the
traded notional; perpetual funding is paid on the position held at a funding time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

# exit reasons in the trade list
STOP, TARGET, HORIZON, SIGNAL, END = 1, 2, 3, 4, 5
REASONS = {STOP: "stop", TARGET: "target", HORIZON: "horizon", SIGNAL: "signal", END: "end"}
TRADE_FIELDS = (
    "symbol",
    "entry_bar",
    "exit_bar",
    "direction",
    "weight",
    "entry_price",
    "exit_price",
    "return",
    "reason",
)
MARKET, LIMIT = 0, 1


@dataclass(frozen=True)
class Costs:
    """Cost model in bps of traded notional."""

    taker_bps: float = 10.0
    maker_bps: float = 2.0
    half_spread_bps: float = 2.0
    impact_bps: float = 5.0  # per unit of weight traded (a 0.2 weight change pays 1 bp more)
    # a spot book shorts through the perpetual: only its shorts pay (or earn) funding
    funding_shorts_only: bool = False

    def array(self) -> np.ndarray:
        return np.array(
            [
                self.taker_bps,
                self.maker_bps,
                self.half_spread_bps,
                self.impact_bps,
                1.0 if self.funding_shorts_only else 0.0,
            ]
        )


NO_TIME = np.iinfo(np.int64).max


class Book:
    """All simulation state, in arrays the compiled step reads and writes; `work` holds each
    symbol's working order (target NaN: none): target, kind, limit, stop, take, slices left;
    `work_time` its position expiry and its good-till time (ns)."""

    def __init__(self, n_bars: int, n_symbols: int, max_trades: int | None = None) -> None:
        self.weight = np.zeros(n_symbols)
        self.ref = np.full(n_symbols, np.nan)  # price the weight was last marked at
        self.entry = np.full(n_symbols, np.nan)
        self.entry_bar = np.full(n_symbols, -1, dtype=np.int64)
        self.entry_weight = np.zeros(n_symbols)
        self.stop = np.full(n_symbols, np.nan)
        self.target = np.full(n_symbols, np.nan)
        self.expiry = np.full(n_symbols, np.iinfo(np.int64).max, dtype=np.int64)
        self.equity = np.ones(2)  # net, gross
        self.equity_curve = np.full((n_bars, 2), np.nan)
        self.weights = np.zeros((n_bars, n_symbols))
        self.traded = np.zeros(n_bars)  # |weight change| per bar
        self.trades = np.zeros((max_trades or 4 * n_bars * max(n_symbols, 1) + 16, 9))
        self.n_trades = np.zeros(1, dtype=np.int64)
        self.work = np.full((n_symbols, 6), np.nan)
        self.work_time = np.full((n_symbols, 2), NO_TIME, dtype=np.int64)

    def working(self) -> np.ndarray:
        """Each symbol's working order's target weight (NaN where none works)."""
        return self.work[:, 0].copy()

    def trade_list(self) -> np.ndarray:
        return self.trades[: self.n_trades[0]]


class Orders:
    """Order intents decided at each bar's close (row t works from bar t + 1); NaN: no order.
    `good_till` (ns): a limit order is cancelled in the first bar starting after it (default:
    it works for one bar only); `slices`: child orders, one per bar."""

    def __init__(self, n_bars: int, n_symbols: int) -> None:
        self.target = np.full((n_bars, n_symbols), np.nan)
        self.kind = np.zeros((n_bars, n_symbols), dtype=np.int64)
        self.limit = np.full((n_bars, n_symbols), np.nan)
        self.stop = np.full((n_bars, n_symbols), np.nan)
        self.take = np.full((n_bars, n_symbols), np.nan)
        self.expiry = np.full((n_bars, n_symbols), NO_TIME, dtype=np.int64)
        self.good_till = np.full((n_bars, n_symbols), -1, dtype=np.int64)  # -1: this bar only
        self.slices = np.ones((n_bars, n_symbols), dtype=np.int64)


@nb.njit(cache=True)
def _close_trade(book_trades, n_trades, s, entry_bar, bar, weight, entry, price, reason):
    k = n_trades[0]
    if k < book_trades.shape[0]:
        direction = 1.0 if weight > 0 else -1.0
        book_trades[k, 0] = s
        book_trades[k, 1] = entry_bar
        book_trades[k, 2] = bar
        book_trades[k, 3] = direction
        book_trades[k, 4] = abs(weight)
        book_trades[k, 5] = entry
        book_trades[k, 6] = price
        book_trades[k, 7] = direction * (price / entry - 1.0)
        book_trades[k, 8] = reason
        n_trades[0] = k + 1


@nb.njit(cache=True)
def step(
    t,
    ts,
    open_,
    high,
    low,
    close,
    funding,
    o_target,
    o_kind,
    o_limit,
    o_stop,
    o_take,
    o_expiry,
    o_good_till,
    o_slices,
    costs,
    weight,
    ref,
    entry,
    entry_bar,
    entry_weight,
    stop,
    target,
    expiry,
    equity,
    equity_curve,
    weights,
    traded,
    trades,
    n_trades,
    work,
    work_time,
):  # pragma: no cover - compiled
    """Advance the book through bar `t` (orders from row t - 1 start working in it)."""
    n_symbols = weight.shape[0]
    taker, maker, half_spread, impact = costs[0], costs[1], costs[2], costs[3]
    pnl = 0.0
    cost = 0.0
    turnover = 0.0
    for s in range(n_symbols):
        o, h, lo, c = open_[t, s], high[t, s], low[t, s], close[t, s]
        if np.isnan(c):  # no bar for this symbol now: the position waits
            continue
        w = weight[s]
        if np.isnan(ref[s]):
            ref[s] = o
        # 1. an order decided at the previous close replaces the one working
        if t > 0 and not np.isnan(o_target[t - 1, s]):
            work[s, 0] = o_target[t - 1, s]
            work[s, 1] = o_kind[t - 1, s]
            work[s, 2] = o_limit[t - 1, s]
            work[s, 3] = o_stop[t - 1, s]
            work[s, 4] = o_take[t - 1, s]
            work[s, 5] = max(o_slices[t - 1, s], 1)
            work_time[s, 0] = o_expiry[t - 1, s]
            good_till = o_good_till[t - 1, s]
            work_time[s, 1] = ts[t] if good_till < 0 else good_till
        # 2. the working order (or its next slice) at this bar
        if not np.isnan(work[s, 0]):
            final = work[s, 0]
            left = work[s, 5]
            limit_order = work[s, 1] == 1
            new = w + (final - w) / left if left > 1 else final
            fill = o
            filled = True
            fee = taker + half_spread
            if limit_order and new != w:
                if ts[t] > work_time[s, 1]:  # its good-till time has passed: cancelled
                    filled = False
                else:
                    limit = work[s, 2]
                    buying = new > w
                    if buying and lo <= limit:
                        fill = min(o, limit)
                    elif (not buying) and h >= limit:
                        fill = max(o, limit)
                    else:
                        filled = False
                    fee = maker
            if filled and new != w:
                pnl += w * (fill / ref[s] - 1.0)
                ref[s] = fill
                delta = abs(new - w)
                cost += delta * (fee + impact * delta) / 1e4
                turnover += delta
                if w != 0.0 and (new == 0.0 or new * w < 0.0):
                    _close_trade(
                        trades, n_trades, s, entry_bar[s], t, entry_weight[s], entry[s], fill, 4
                    )
                if new != 0.0 and (w == 0.0 or new * w < 0.0):
                    entry[s] = fill
                    entry_bar[s] = t
                    entry_weight[s] = new
                w = new
            if filled and w != 0.0:
                stop[s] = work[s, 3]
                target[s] = work[s, 4]
                expiry[s] = work_time[s, 0]
            if filled:
                work[s, 5] = left - 1.0
            done = filled and (work[s, 5] <= 0.0 or w == final)
            if done or (limit_order and ts[t] >= work_time[s, 1]):
                work[s, 0] = np.nan
        # 3. stop, then target, inside the bar; 4. horizon at the close
        exit_price = np.nan
        reason = 0
        if w > 0.0:
            if not np.isnan(stop[s]) and lo <= stop[s]:
                exit_price, reason = min(stop[s], max(o, lo)), 1
            elif not np.isnan(target[s]) and h >= target[s]:
                exit_price, reason = max(target[s], min(o, h)), 2
        elif w < 0.0:
            if not np.isnan(stop[s]) and h >= stop[s]:
                exit_price, reason = max(stop[s], min(o, h)), 1
            elif not np.isnan(target[s]) and lo <= target[s]:
                exit_price, reason = min(target[s], max(o, lo)), 2
        if reason == 0 and w != 0.0 and ts[t] >= expiry[s]:
            exit_price, reason = c, 3
        if reason != 0:
            pnl += w * (exit_price / ref[s] - 1.0)
            fee = maker if reason == 2 else taker + half_spread
            cost += abs(w) * (fee + impact * abs(w)) / 1e4
            turnover += abs(w)
            _close_trade(
                trades, n_trades, s, entry_bar[s], t, entry_weight[s], entry[s], exit_price, reason
            )
            w = 0.0
            ref[s] = c
        else:
            pnl += w * (c / ref[s] - 1.0)
            ref[s] = c
        # funding paid by longs (received by shorts) when the rate is positive
        if w != 0.0 and not np.isnan(funding[t, s]) and (w < 0.0 or costs[4] == 0.0):
            pnl -= w * funding[t, s]
        weight[s] = w
        weights[t, s] = w
    equity[0] *= 1.0 + pnl - cost
    equity[1] *= 1.0 + pnl
    equity_curve[t, 0] = equity[0]
    equity_curve[t, 1] = equity[1]
    traded[t] = turnover


@nb.njit(cache=True)
def _run(
    ts,
    open_,
    high,
    low,
    close,
    funding,
    o_target,
    o_kind,
    o_limit,
    o_stop,
    o_take,
    o_expiry,
    o_good_till,
    o_slices,
    costs,
    weight,
    ref,
    entry,
    entry_bar,
    entry_weight,
    stop,
    target,
    expiry,
    equity,
    equity_curve,
    weights,
    traded,
    trades,
    n_trades,
    work,
    work_time,
):  # pragma: no cover - compiled
    for t in range(ts.shape[0]):
        step(
            t,
            ts,
            open_,
            high,
            low,
            close,
            funding,
            o_target,
            o_kind,
            o_limit,
            o_stop,
            o_take,
            o_expiry,
            o_good_till,
            o_slices,
            costs,
            weight,
            ref,
            entry,
            entry_bar,
            entry_weight,
            stop,
            target,
            expiry,
            equity,
            equity_curve,
            weights,
            traded,
            trades,
            n_trades,
            work,
            work_time,
        )


class Market:
    """Bars of several symbols on one time grid (T x S arrays; NaN where a symbol has no bar)."""

    def __init__(
        self,
        ts_ns: np.ndarray,
        open_: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        funding: np.ndarray | None = None,
    ) -> None:
        self.ts = np.ascontiguousarray(ts_ns, dtype=np.int64)
        self.open, self.high, self.low, self.close = (
            np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close)
        )
        self.funding = (
            np.full_like(self.close, np.nan)
            if funding is None
            else np.ascontiguousarray(funding, dtype=np.float64)
        )

    def args(self) -> tuple:
        return self.ts, self.open, self.high, self.low, self.close, self.funding


def _book_args(book: Book) -> tuple:
    return (
        book.weight,
        book.ref,
        book.entry,
        book.entry_bar,
        book.entry_weight,
        book.stop,
        book.target,
        book.expiry,
        book.equity,
        book.equity_curve,
        book.weights,
        book.traded,
        book.trades,
        book.n_trades,
        book.work,
        book.work_time,
    )


def _order_args(orders: Orders) -> tuple:
    return (
        orders.target,
        orders.kind,
        orders.limit,
        orders.stop,
        orders.take,
        orders.expiry,
        orders.good_till,
        orders.slices,
    )


def simulate(market: Market, orders: Orders, costs: Costs) -> Book:
    """Run every bar through the compiled step; the orders are known in advance."""
    book = Book(*market.close.shape)
    _run(*market.args(), *_order_args(orders), costs.array(), *_book_args(book))
    return book


def step_bar(t: int, market: Market, orders: Orders, costs: Costs, book: Book) -> None:
    """Advance `book` through bar `t` only: for a decision loop that reacts to each bar's fills."""
    step(t, *market.args(), *_order_args(orders), costs.array(), *_book_args(book))
