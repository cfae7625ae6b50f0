"""The fill simulator one bar close at a time, for an engine that runs live (`serve --paper`).

`replay` steps the simulator over a history it holds whole; a `PaperBroker` does the same step as
each bar close arrives: the orders queued at the previous close work in this bar, then the risk
manager hears the fills (and the orders still working) before the engine decides. A served paper
book therefore makes the decisions the backtest makes over the same bars.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.backtest.replay import queue_intent
from edgecraft.backtest.simulator import Book, Costs, Market, Orders, step_bar
from edgecraft.core.contracts import Bar, OrderIntent


class PaperBroker:
    """A book of `symbols` filled by the simulator from live bars (two-row market: the order
    row and the bar that executes it)."""

    def __init__(
        self, symbols: list[str], costs: Costs, funding: dict[str, pd.Series] | None = None
    ) -> None:
        self.symbols = list(symbols)
        self.column = {s: j for j, s in enumerate(self.symbols)}
        self.costs = costs
        self.attach_funding(funding)
        self.book = Book(2, len(self.symbols))
        self.orders = Orders(2, len(self.symbols))

    def __getstate__(self) -> dict:
        """The book and its orders; not the funding history, which the service re-attaches
        (`attach_funding`), so the shared state stays small."""
        return {k: v for k, v in self.__dict__.items() if k != "funding"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.funding = {}

    def attach_funding(self, funding: dict[str, pd.Series] | None) -> None:
        self.funding = {s: f for s, f in (funding or {}).items() if s in self.column}

    def on_bars(self, ts: pd.Timestamp, bars: list[Bar]) -> None:
        """Execute what was queued in this bar close's bars (symbols without a bar wait)."""
        n = len(self.symbols)
        prices = {k: np.full((2, n), np.nan) for k in ("open", "high", "low", "close")}
        funding = np.full((2, n), np.nan)
        for bar in bars:
            j = self.column.get(bar.symbol)
            if j is None:
                continue
            for k in prices:
                prices[k][1, j] = getattr(bar, k)
            series = self.funding.get(bar.symbol)
            if series is not None and ts in series.index:
                funding[1, j] = float(series.loc[ts])
        market = Market(
            np.array([ts.value - 1, ts.value], dtype=np.int64),
            prices["open"],
            prices["high"],
            prices["low"],
            prices["close"],
            funding,
        )
        step_bar(1, market, self.orders, self.costs, self.book)
        self.orders = Orders(2, n)  # executed or now working in the book

    def queue(self, intents: list[OrderIntent]) -> None:
        """Orders decided at this close, to work from the next bar on."""
        for intent in intents:
            if intent.side != "none" and intent.symbol in self.column:
                queue_intent(self.orders, 0, self.column[intent.symbol], intent)

    @property
    def equity(self) -> float:
        return float(self.book.equity[0])

    def weights(self) -> dict[str, float]:
        return {s: float(self.book.weight[j]) for s, j in self.column.items()}

    def working(self) -> dict[str, float]:
        targets = self.book.working()
        return {s: float(targets[j]) for s, j in self.column.items() if not np.isnan(targets[j])}
