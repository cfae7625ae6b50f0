"""Score a set of signals against what happened: IC family, P&L after costs, calibration, DSR."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from edgecraft.core.numbers import json_safe
from edgecraft.metrics.calibration import brier, expected_calibration_error, reliability
from edgecraft.metrics.ic import ic, ic_by, information_ratio
from edgecraft.metrics.overfitting import deflated_sharpe, probabilistic_sharpe
from edgecraft.metrics.returns import (
    calmar,
    hit_rate,
    max_drawdown,
    profit_factor,
    sharpe,
    sortino,
    turnover,
)


@dataclass(frozen=True)
class Portfolio:
    """Daily returns of the signals' equal-weight portfolio, gross and net, and buy-and-hold."""

    gross: pd.Series
    net: pd.Series
    buy_and_hold: pd.Series
    positions: pd.DataFrame


def signal_portfolio(
    direction: pd.Series,
    next_return: pd.Series,
    hold_bars: int,
    cost_bps: float,
    next_gap: pd.Series | None = None,
    next_intrabar: pd.Series | None = None,
) -> Portfolio:
    """Hold each signal for `hold_bars` bars with 1/`hold_bars` of the symbol's capital.

    `direction` is a signed size in [-1, 1] on the (ts, symbol) index (a signal's side times
    the share of its capital it uses); `next_return` is each symbol's simple return from that
    bar's close to the next bar's close. Symbols are equally weighted among those with a signal
    at each ts; `cost_bps` (fee + half-spread) is charged on every change of position. Hourly P&L
    is summed into UTC days.

    Execution: with `next_gap` (close to the next bar's open) and `next_intrabar` (that bar's open
    to its close), a position decided at a bar's close is traded at the next bar's open, the
    price one could have traded at: until then the book held before earns the gap. Without them
    it fills at the signal bar's own close (an upper bound, reported as such).
    """
    d = direction.unstack("symbol").astype(float)
    r = next_return.unstack("symbol").reindex(index=d.index, columns=d.columns)
    active = d.notna() & r.notna()
    weight = active.div(active.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    held = d.fillna(0.0).rolling(hold_bars, min_periods=1).sum() / hold_bars
    positions = held * weight
    if next_gap is not None and next_intrabar is not None:
        gap, intrabar = (
            s.unstack("symbol").reindex(index=d.index, columns=d.columns).fillna(0.0)
            for s in (next_gap, next_intrabar)
        )
        before = positions.shift(1).fillna(0.0)
        gross = (before * gap + positions * intrabar).sum(axis=1)
    else:
        gross = (positions * r.fillna(0.0)).sum(axis=1)
    costs = positions.diff().abs().sum(axis=1).fillna(positions.abs().sum(axis=1))
    net = gross - costs * cost_bps / 1e4
    hold = (weight * r.fillna(0.0)).sum(axis=1)
    day = d.index.floor("D")
    return Portfolio(
        gross.groupby(day).sum(), net.groupby(day).sum(), hold.groupby(day).sum(), positions
    )


def frame_portfolio(frame: pd.DataFrame, hold_bars: int, cost_bps: float) -> Portfolio:
    """The signal portfolio of a scored frame (direction, size, next_return, and next_gap and
    next_intrabar when it has them: then traded at the next bar's open)."""
    return signal_portfolio(
        position(frame),
        frame["next_return"],
        hold_bars,
        cost_bps,
        frame.get("next_gap"),
        frame.get("next_intrabar"),
    )


def position(frame: pd.DataFrame) -> pd.Series:
    """Each signal's side times its size (`size` column, default 1)."""
    if "size" in frame:
        return frame["direction"] * frame["size"].fillna(0.0)
    return frame["direction"].astype(float)


def evaluate(frame: pd.DataFrame, hold_bars: int, cost_bps: float, trials: int) -> dict:
    """Metrics of one horizon's out-of-sample predictions.

    `frame` (index (ts, symbol)) holds: score (raw model output), p_up (calibrated), direction,
    ret (realized forward log return at the horizon), next_return (simple, one bar), window;
    and next_gap, next_intrabar (the next bar's open against this close, and its close against
    its open). P&L figures trade at the next bar's open, net of `cost_bps` per unit of position
    change; the `*_close_fill` figures fill at the signal bar's own close, for comparison only.
    """
    score, ret = frame["score"], frame["ret"]
    month = pd.Series(frame.index.get_level_values("ts").strftime("%Y-%m"), index=frame.index)
    monthly = ic_by(score, ret, month, "spearman", min_count=30)
    cross = ic_by(score, ret, "ts", "spearman", min_count=3)
    per_symbol = ic_by(score, ret, "symbol", "spearman", min_count=30)
    book = frame_portfolio(frame, hold_bars, cost_bps)
    at_close = signal_portfolio(position(frame), frame["next_return"], hold_bars, cost_bps)
    up = (ret > 0).astype(float).where(ret.notna())
    traded = frame["direction"] != 0
    out = {
        "ic": ic(score, ret, "pearson"),
        "rank_ic": ic(score, ret, "spearman"),
        "cross_sectional_rank_ic": float(cross.mean()) if len(cross) else float("nan"),
        "cross_sectional_ir": information_ratio(cross),
        "symbol_rank_ic_mean": float(per_symbol.mean()) if len(per_symbol) else float("nan"),
        "ir": information_ratio(monthly),
        "months": int(len(monthly)),
        "hit_rate": hit_rate(frame["direction"], ret),
        "signals": int(traded.sum()),
        "rows": int(len(frame)),
        "profit_factor": profit_factor(book.net),
        "profit_factor_gross": profit_factor(book.gross),
        "sharpe": sharpe(book.net),
        "sharpe_gross": sharpe(book.gross),
        "sortino": sortino(book.net),
        "calmar": calmar(book.net),
        "max_drawdown": max_drawdown(book.net),
        "total_return": float((1 + book.net).prod() - 1),
        "buy_and_hold_sharpe": sharpe(book.buy_and_hold),
        "turnover_per_bar": turnover(book.positions),
        # what costs took, per year: mean daily gross minus net return, times 365
        "cost_drag_annual": float((book.gross - book.net).mean() * 365),
        "profit_factor_close_fill": profit_factor(at_close.net),
        "sharpe_close_fill": sharpe(at_close.net),
        "brier": brier(frame["p_up"], up),
        "ece": expected_calibration_error(frame["p_up"], up),
        "psr": probabilistic_sharpe(book.net),
        "dsr": deflated_sharpe(book.net, trials),
        "trials": trials,
    }
    out = json_safe(out)
    out["per_symbol_rank_ic"] = {str(k): float(v) for k, v in per_symbol.items()}
    return out


def per_window(frame: pd.DataFrame) -> list[dict]:
    """IC, rank IC and hit rate of each walk-forward test window."""
    rows = []
    for number, part in frame.groupby("window"):
        ts = part.index.get_level_values("ts")
        rows.append(
            {
                "window": int(number),
                "start": str(ts.min()),
                "end": str(ts.max()),
                "rows": int(len(part)),
                "ic": ic(part["score"], part["ret"]),
                "rank_ic": ic(part["score"], part["ret"], "spearman"),
                "hit_rate": hit_rate(part["direction"], part["ret"]),
            }
        )
    return json_safe(rows)


def calibration_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Reliability table of the calibrated P(up) against realized up-moves."""
    up = (frame["ret"] > 0).astype(float).where(frame["ret"].notna())
    return reliability(frame["p_up"], up)
