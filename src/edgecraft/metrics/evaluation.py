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
    """Daily returns of a book, gross and net (of costs and funding), buy-and-hold, its
    positions (weights per bar and symbol) and the funding it paid per day."""

    gross: pd.Series
    net: pd.Series
    buy_and_hold: pd.Series
    positions: pd.DataFrame
    funding: pd.Series | None = None


@dataclass(frozen=True)
class BookCosts:
    """What trading a book costs: `bps` (fee + half spread) per unit of weight changed, plus
    `impact_bps` times that change; funding rates per bar and symbol (`funding_by_bar`), paid
    by longs and earned by shorts, or only by shorts (`shorts_only`: a spot book shorting
    through the perpetual)."""

    bps: float
    impact_bps: float = 0.0
    funding: pd.DataFrame | None = None
    shorts_only: bool = False


def _wide(series: pd.Series | None, like: pd.DataFrame) -> pd.DataFrame | None:
    if series is None:
        return None
    return series.unstack("symbol").reindex(index=like.index, columns=like.columns)


def held_signals(direction: pd.DataFrame, hold_bars: int) -> pd.DataFrame:
    """Weights of the signal book: each signal held `hold_bars` bars with 1/`hold_bars` of its
    symbol's capital, symbols equally weighted among those with a signal at each bar."""
    active = direction.notna()
    weight = active.div(active.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    return direction.fillna(0.0).rolling(hold_bars, min_periods=1).sum() / hold_bars * weight


def book_portfolio(
    positions: pd.DataFrame,
    next_return: pd.DataFrame,
    costs: BookCosts,
    next_gap: pd.DataFrame | None = None,
    next_intrabar: pd.DataFrame | None = None,
) -> Portfolio:
    """Daily P&L of a book of weights (index ts, one column per symbol) decided at bar closes.

    Execution: with `next_gap` (close to the next bar's open) and `next_intrabar` (that bar's
    open to its close), a weight decided at a bar's close is traded at the next bar's open, the
    price one could have traded at: until then the book held before earns the gap. Without them
    it fills at the signal bar's own close (an upper bound, reported as such). Each change of
    weight d pays d * (bps + impact_bps * d) / 1e4; funding is paid by the weight held through
    its settlement (see `BookCosts`). Hourly P&L is summed into UTC days.
    """
    r = next_return.reindex(index=positions.index, columns=positions.columns)
    if next_gap is not None and next_intrabar is not None:
        gap, intrabar = (
            f.reindex(index=positions.index, columns=positions.columns).fillna(0.0)
            for f in (next_gap, next_intrabar)
        )
        before = positions.shift(1).fillna(0.0)
        gross = (before * gap + positions * intrabar).sum(axis=1)
    else:
        gross = (positions * r.fillna(0.0)).sum(axis=1)
    delta = positions.diff().abs()
    delta.iloc[:1] = positions.iloc[:1].abs()
    traded = (delta * (costs.bps + costs.impact_bps * delta)).sum(axis=1) / 1e4
    paid = pd.Series(0.0, index=positions.index)
    if costs.funding is not None:
        rates = costs.funding.reindex(index=positions.index, columns=positions.columns)
        funded = positions.clip(upper=0.0) if costs.shorts_only else positions
        paid = (funded * rates.fillna(0.0)).sum(axis=1)
    net = gross - traded - paid
    active = r.notna()
    share = active.div(active.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    hold = (share * r.fillna(0.0)).sum(axis=1)
    day = positions.index.floor("D")
    return Portfolio(
        gross.groupby(day).sum(),
        net.groupby(day).sum(),
        hold.groupby(day).sum(),
        positions,
        paid.groupby(day).sum(),
    )


def funding_by_bar(
    rates: dict[str, pd.Series],
    index: pd.DatetimeIndex,
    bar: pd.Timedelta,
    symbols: list[str],
) -> pd.DataFrame:
    """Funding rates on the bar grid (index: bar close times, one column per symbol): a
    settlement at T is charged to the row whose weight is held through it, the one decided at
    the last close before T (traded at the next open, held until the next close at or after T),
    as the simulator charges it."""
    out = pd.DataFrame(0.0, index=index, columns=symbols)
    for symbol in symbols:
        series = rates.get(symbol)
        if series is None or series.empty:
            continue
        when = pd.DatetimeIndex(series.index).ceil(bar) - bar
        per_bar = pd.Series(series.to_numpy(np.float64), index=when).groupby(level=0).sum()
        out[symbol] = per_bar.reindex(index).fillna(0.0).to_numpy()
    return out


def signal_portfolio(
    direction: pd.Series,
    next_return: pd.Series,
    hold_bars: int,
    costs: BookCosts,
    next_gap: pd.Series | None = None,
    next_intrabar: pd.Series | None = None,
) -> Portfolio:
    """The signal book of `direction` (a signed size in [-1, 1] on the (ts, symbol) index),
    traded at the next open when `next_gap` and `next_intrabar` are given (see `book_portfolio`)."""
    d = direction.unstack("symbol").astype(float)
    r = _wide(next_return, d)
    positions = held_signals(d.where(r.notna()), hold_bars)
    return book_portfolio(positions, r, costs, _wide(next_gap, d), _wide(next_intrabar, d))


def frame_portfolio(frame: pd.DataFrame, hold_bars: int, costs: BookCosts) -> Portfolio:
    """The signal portfolio of a scored frame (direction, size, next_return, and next_gap and
    next_intrabar when it has them: then traded at the next bar's open)."""
    return signal_portfolio(
        position(frame),
        frame["next_return"],
        hold_bars,
        costs,
        frame.get("next_gap"),
        frame.get("next_intrabar"),
    )


def position(frame: pd.DataFrame) -> pd.Series:
    """Each signal's side times its size (`size` column, default 1)."""
    if "size" in frame:
        return frame["direction"] * frame["size"].fillna(0.0)
    return frame["direction"].astype(float)


def book_metrics(book: Portfolio, trials: int) -> dict:
    """What a book earned: net (and gross) profit factor and Sharpe, Sortino, Calmar, drawdown,
    turnover, what costs and funding took per year, PSR and the DSR over `trials`."""
    funding = book.funding if book.funding is not None else pd.Series(0.0, index=book.net.index)
    return json_safe(
        {
            "profit_factor": profit_factor(book.net),
            "profit_factor_gross": profit_factor(book.gross),
            "sharpe": sharpe(book.net),
            "sharpe_gross": sharpe(book.gross),
            "sortino": sortino(book.net),
            "calmar": calmar(book.net),
            "max_drawdown": max_drawdown(book.net),
            "total_return": float((1 + book.net).prod() - 1),
            "turnover_per_bar": turnover(book.positions),
            "gross_exposure": float(book.positions.abs().sum(axis=1).mean()),
            # what costs (and funding) took, per year: mean daily gross minus net, times 365
            "cost_drag_annual": float((book.gross - book.net - funding).mean() * 365),
            "funding_annual": float(funding.mean() * 365),
            "psr": probabilistic_sharpe(book.net),
            "dsr": deflated_sharpe(book.net, trials),
            "trials": int(trials),
            "days": int(len(book.net)),
        }
    )


def evaluate(
    frame: pd.DataFrame,
    hold_bars: int,
    costs: BookCosts,
    trials: int,
    book: Portfolio | None = None,
) -> dict:
    """Metrics of one horizon's out-of-sample predictions.

    `frame` (index (ts, symbol)) holds: score (raw model output), p_up (calibrated), direction,
    ret (realized forward log return at the horizon), next_return (simple, one bar), window;
    and next_gap, next_intrabar (the next bar's open against this close, and its close against
    its open). P&L figures trade at the next bar's open, net of `costs` (fees, spread, impact,
    funding); `book`, when given, is that signal book already computed (`frame_portfolio`);
    the `*_close_fill` figures fill at the signal bar's own close, for comparison only.
    """
    score, ret = frame["score"], frame["ret"]
    ts = frame.index.get_level_values("ts")
    month = pd.Series(ts.year * 100 + ts.month, index=frame.index)  # yyyymm
    monthly = ic_by(score, ret, month, "spearman", min_count=30)
    cross = ic_by(score, ret, "ts", "spearman", min_count=3)
    per_symbol = ic_by(score, ret, "symbol", "spearman", min_count=30)
    book = book if book is not None else frame_portfolio(frame, hold_bars, costs)
    at_close = signal_portfolio(position(frame), frame["next_return"], hold_bars, costs)
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
        **book_metrics(book, trials),
        "buy_and_hold_sharpe": sharpe(book.buy_and_hold),
        "profit_factor_close_fill": profit_factor(at_close.net),
        "sharpe_close_fill": sharpe(at_close.net),
        "brier": brier(frame["p_up"], up),
        "ece": expected_calibration_error(frame["p_up"], up),
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
