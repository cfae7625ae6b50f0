"""Every book a horizon's signals are judged in, on the same out-of-sample rows, net of costs.

- signal: each signal held for its horizon, symbols equally weighted (`metrics.evaluation`);
- long_short: cross-sectional, dollar-neutral, volatility-scaled, overlapping sub-books with a
  no-trade band (`risk.books.long_short_book`);
- hysteresis: per symbol, enter at one confidence and exit at a lower one;
- meta: the signal book acted on only where the meta-labeling model expects the trade to clear
  its costs, sized by its probability; `signal_meta_rows` is the primary alone on those rows.
"""

from __future__ import annotations

import pandas as pd

from edgecraft.core.timeframes import timeframe_delta
from edgecraft.metrics.evaluation import (
    BookCosts,
    Portfolio,
    book_portfolio,
    frame_portfolio,
    position,
)
from edgecraft.research.config import RunConfig
from edgecraft.research.metalabel import bet_size, meta_probability
from edgecraft.risk.books import hysteresis_book, long_short_book

BOOKS = ("signal", "long_short", "hysteresis", "meta")  # the configurations a run tries


def hold_bars(config: RunConfig, horizon: str) -> int:
    """Bars a signal of `horizon` is held."""
    return max(1, int(pd.Timedelta(horizon) / timeframe_delta(config.features.base_timeframe)))


def _portfolio(frame: pd.DataFrame, positions: pd.DataFrame, costs: BookCosts) -> Portfolio:
    wide = {c: frame[c].unstack("symbol") for c in ("next_return", "next_gap", "next_intrabar")}
    return book_portfolio(
        positions, wide["next_return"], costs, wide["next_gap"], wide["next_intrabar"]
    )


def book_portfolios(
    config: RunConfig,
    frame: pd.DataFrame,
    horizon: str,
    costs: BookCosts,
    X: pd.DataFrame | None = None,
) -> dict[str, tuple[Portfolio, int]]:
    """Each book's portfolio and the number of scored rows it was built on."""
    hold = hold_bars(config, horizon)
    bar = timeframe_delta(config.features.base_timeframe)
    p_up = frame["p_up"].unstack("symbol").astype(float)
    vol = frame["vol"].unstack("symbol")
    books = config.books
    out = {
        "signal": (frame_portfolio(frame, hold, costs), len(frame)),
        "long_short": (
            _portfolio(frame, long_short_book(p_up, vol, hold, bar, books.long_short), costs),
            len(frame),
        ),
        "hysteresis": (
            _portfolio(frame, hysteresis_book(p_up, books.hysteresis), costs),
            len(frame),
        ),
    }
    if X is not None and books.meta.enabled:
        p_meta = meta_probability(config, frame, X, overlap=hold)
        scored = frame[frame["window"] > frame["window"].min()]  # the first window has no past
        if len(scored):
            meta_size = bet_size(p_meta.reindex(scored.index), books.meta.threshold).fillna(0.0)
            acted = scored.assign(size=position(scored).abs() * meta_size)
            out["signal_meta_rows"] = (frame_portfolio(scored, hold, costs), len(scored))
            out["meta"] = (frame_portfolio(acted, hold, costs), len(scored))
    return out
