"""Statistics of a return series: Sharpe, Sortino, drawdown, Calmar, profit factor, hit rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365  # crypto trades every day


def sharpe(returns: pd.Series, periods_per_year: float = DAYS_PER_YEAR) -> float:
    """Annualized mean over standard deviation of periodic simple returns."""
    r = returns.dropna()
    if len(r) < 2 or r.std() == 0:
        return float("nan")
    return float(r.mean() / r.std() * np.sqrt(periods_per_year))


def sortino(returns: pd.Series, periods_per_year: float = DAYS_PER_YEAR) -> float:
    """Annualized mean over downside deviation (root mean square of the negative returns)."""
    r = returns.dropna()
    downside = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)) if len(r) else 0.0
    if len(r) < 2 or downside == 0:
        return float("nan")
    return float(r.mean() / downside * np.sqrt(periods_per_year))


def equity_curve(returns: pd.Series) -> pd.Series:
    """Compounded value of 1 invested, from simple periodic returns."""
    return (1.0 + returns.fillna(0.0)).cumprod()


def max_drawdown(returns: pd.Series) -> float:
    """Largest peak-to-trough fall of the equity curve, as a positive fraction."""
    equity = equity_curve(returns)
    if equity.empty:
        return float("nan")
    peak = np.maximum.accumulate(np.r_[1.0, equity.to_numpy()])[1:]
    return float(np.max(1.0 - equity.to_numpy() / peak))


def annual_return(returns: pd.Series, periods_per_year: float = DAYS_PER_YEAR) -> float:
    """Compound annual growth rate of the equity curve."""
    r = returns.dropna()
    if r.empty:
        return float("nan")
    final = float(equity_curve(r).iloc[-1])
    if final <= 0:
        return -1.0
    return float(final ** (periods_per_year / len(r)) - 1.0)


def calmar(returns: pd.Series, periods_per_year: float = DAYS_PER_YEAR) -> float:
    """Annual return over maximum drawdown."""
    drawdown = max_drawdown(returns)
    if not drawdown or np.isnan(drawdown):
        return float("nan")
    return annual_return(returns, periods_per_year) / drawdown


def profit_factor(pnl: pd.Series) -> float:
    """Gross profit over gross loss (inf when nothing was lost, nan when nothing happened)."""
    p = pnl.dropna()
    gains, losses = p[p > 0].sum(), -p[p < 0].sum()
    if losses == 0:
        return float("inf") if gains > 0 else float("nan")
    return float(gains / losses)


def hit_rate(direction: pd.Series, realized: pd.Series) -> float:
    """Share of non-flat calls whose sign matches the realized return's sign."""
    frame = pd.DataFrame({"d": direction, "r": realized}).dropna()
    taken = frame[frame["d"] != 0]
    if taken.empty:
        return float("nan")
    return float((np.sign(taken["d"]) == np.sign(taken["r"])).mean())


def turnover(positions: pd.DataFrame) -> float:
    """Mean over periods of the summed absolute change in position weights."""
    if positions.empty:
        return float("nan")
    return float(positions.fillna(0.0).diff().abs().sum(axis=1).iloc[1:].mean())


def daily_returns(equity: pd.Series) -> pd.Series:
    """Daily simple returns of an intraday equity curve that starts at 1 (UTC days, last value
    of each day; the first day's return is measured from 1)."""
    daily = equity.groupby(equity.index.floor("D")).last()
    return daily.pct_change().fillna(daily.iloc[0] - 1.0)
