"""A finished run's models as they are deployed: ONNX graphs and JSON, run by ONNX Runtime over
whole frames (`edgecraft backtest`, paper A/B, the drift monitor) as the server runs them one bar
close at a time. Nothing here unpickles: a run folder holds no pickle.

`Deployed` answers what a fitted `Scorer` or `EnsembleScorer` answers where a run is judged:
`predict(X, rows)` (score and calibrated P(up); an ensemble's members too), `agent.positions`
(the sizing policy rolled along each symbol), `feature_importance()` (recorded at training), and
the Engine's `on_rows`. A graph run (an ensemble, a sequence model) is computed by streaming the
rows through the same `LiveEnsemble` the server runs, so the backtest is the server's arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from edgecraft.signals.live_ensemble import LiveEnsemble
from edgecraft.signals.onnx_scorer import OnnxScorer


@dataclass
class Deployed:
    """One horizon of a finished run: a single tabular graph (`OnnxScorer`) or a stream."""

    scorer: OnnxScorer | LiveEnsemble
    importance: pd.Series | None = None

    @property
    def columns(self) -> list[str]:
        return self.scorer.columns

    @property
    def horizon(self) -> str:
        return self.scorer.horizon

    @property
    def agent(self) -> StreamSizing | None:
        sizing = getattr(self.scorer, "sizing", None)
        return None if sizing is None else StreamSizing(self.scorer)

    def feature_importance(self) -> pd.Series | None:
        return self.importance

    def on_rows(self, ts, symbols, x: np.ndarray, close):
        """The Engine's call for one bar close (the stream keeps its state between calls)."""
        return self.scorer.on_rows(ts, symbols, x, close)

    def predict(self, X: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
        """score and calibrated p_up for `rows` of X (default: all), and an ensemble's member
        scores and P(up); the rows before them in X are a sequence member's windows."""
        rows = np.arange(len(X)) if rows is None else np.asarray(rows, dtype=np.int64)
        if isinstance(self.scorer, OnnxScorer):
            return self.scorer.predict(X.iloc[rows])
        return stream_predict(self.scorer, X, rows)


def _closes(X: pd.DataFrame, positions: np.ndarray):
    """(ts, row positions) per bar close among `positions`, in time order."""
    ts = X.index.get_level_values("ts")
    order = positions[np.argsort(ts.asi8[positions], kind="stable")]
    if not len(order):
        return
    cuts = np.flatnonzero(np.diff(ts.asi8[order])) + 1
    for part in np.split(order, cuts):
        yield ts[part[0]], part


def stream_predict(live: LiveEnsemble, X: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """What `EnsembleScorer.predict` (or a sequence `Scorer.predict`) computes for `rows` of X,
    computed by streaming them, bar close by bar close, through a fresh copy of `live`: the rows
    a window reaches back to fill the windows first, and then no held score survives, so the
    first row scores as a batch starting there does."""
    stream = live.fresh(sizing=False)
    values = X[live.columns].to_numpy(np.float64)
    symbols = X.index.get_level_values("symbol")
    ts = X.index.get_level_values("ts").asi8
    if not len(rows):
        return pd.DataFrame({"score": [], "p_up": []}, index=X.index[rows])
    reach = max((m.lookback * m.bar_ns for m in live.members if m.lookback > 1), default=0)
    first = ts[rows].min()
    context = np.flatnonzero((ts >= first - reach) & (ts < first))
    for t, part in _closes(X, context):
        stream.members_at(t, list(symbols[part]), values[part])
    stream.forget_scores()
    order, S, P = [], [], []
    for t, part in _closes(X, rows):
        s, p = stream.members_at(t, list(symbols[part]), values[part])
        order.append(part)
        S.append(s)
        P.append(p)
    S, P = np.vstack(S), np.vstack(P)
    out = {"score": live.score_of(S, P), "p_up": live.head(S, P)}
    if live.mode != "single":
        for k, m in enumerate(live.members):
            out[f"score_{m.key}"] = S[:, k]
            out[f"p_up_{m.key}"] = P[:, k]
    frame = pd.DataFrame(out, index=X.index[np.concatenate(order)])
    return frame.reindex(X.index[rows])


@dataclass
class StreamSizing:
    """The sizing policy of a served ensemble as `SizingAgent.positions` rolls it: each symbol's
    book starts flat, follows the policy's own actions and settles on the next bar's return."""

    live: LiveEnsemble

    def positions(self, frame: pd.DataFrame) -> pd.Series:
        """Target position in [-1, 1] for every row of `frame` (p_up, next_return)."""
        book = self.live.fresh()
        symbols = frame.index.get_level_values("symbol")
        p_up = frame["p_up"].to_numpy(np.float64)
        following = frame["next_return"].to_numpy(np.float64)
        out = np.zeros(len(frame))
        level: dict[str, float] = {}  # each symbol's price relative to its first row
        pending: dict[str, float] = {}  # and the return to its next row
        for _, part in _closes(frame, np.arange(len(frame))):
            names = list(symbols[part])
            for symbol in names:  # the book settles on level * (1 + r) / level - 1 = r
                level[symbol] = level.get(symbol, 1.0) * (1.0 + pending.get(symbol, 0.0))
            close = np.array([level[symbol] for symbol in names])
            out[part] = book.size(names, p_up[part], close)
            pending.update(zip(names, following[part], strict=True))
        alone = pd.Series(symbols).map(pd.Series(symbols).value_counts()).to_numpy() == 1
        out[alone] = 0.0  # one row: no return to size on, as the batch agent does
        return pd.Series(out, index=frame.index)
