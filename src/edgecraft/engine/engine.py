"""Engine: live and replayed bars go through the same features, model, signal rule and risk."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from edgecraft.core.contracts import Bar, OrderIntent, Signal
from edgecraft.features.stream import FeatureStream
from edgecraft.risk.manager import RiskManager
from edgecraft.signals.build import levels, make_signals, position_size
from edgecraft.signals.scorer import Scorer

if TYPE_CHECKING:
    from edgecraft.signals.live_ensemble import LiveEnsemble

ATR_TO_STD = 1.25  # mean true range is about 1.25 standard deviations of a bar's return


@dataclass(frozen=True)
class SignalRule:
    """How P(up) becomes a Signal: confidence filter and ATR multiples (see signals.build)."""

    min_confidence: float = 0.52
    target_atr: float = 2.0
    stop_atr: float = 2.0
    full_size_confidence: float | None = None  # the size ramp of signals.build.position_size


@dataclass(frozen=True)
class Decision:
    """What one bar close produced: the signals and the order intents, with reasons."""

    ts: pd.Timestamp
    signals: list[Signal]
    intents: list[OrderIntent]


class Engine:
    """`on_bars`: update streaming features, score, build signals, decide; one path for all uses.

    The scorer is anything with `columns`, `horizon` and `on_rows(ts, symbols, x, close)` ->
    (P(up), the model's own sizing position or None): a single model (`Scorer`, `OnnxScorer`)
    or an ensemble streamed bar by bar (`LiveEnsemble`, on ONNX Runtime or the libraries).

    `decide` is the tail of that path (signal rule + risk manager) for model outputs already
    computed; the backtester replays walk-forward scores through it.
    """

    def __init__(
        self,
        features: FeatureStream,
        scorer: Scorer | LiveEnsemble,
        risk: RiskManager,
        rule: SignalRule,
        atr_column: str,
        atr_rel_column: str,
        bars_per_year: float,
        model_id: str = "model",
        history: int = 0,
    ) -> None:
        """`history`: bar closes of feature rows kept in process (`recent`), from which a new
        scorer's windows are filled when it replaces this one (`swap_scorer`)."""
        self.features = features
        self.risk = risk
        self.rule = rule
        columns = features.features.columns
        self._atr = columns.index(atr_column)
        self._atr_rel = columns.index(atr_rel_column)
        self._vol_scale = math.sqrt(bars_per_year) / ATR_TO_STD
        self.recent: deque = deque(maxlen=history)  # (ts, symbols, feature matrix)
        self._use(scorer, model_id, self._columns_of(scorer))

    def _columns_of(self, scorer) -> np.ndarray:
        """Where the scorer's input columns are in the feature rows (ValueError: missing)."""
        columns = self.features.features.columns
        missing = [c for c in scorer.columns if c not in columns]
        if missing:
            raise ValueError(f"the scorer reads features this engine does not compute: {missing}")
        return np.array([columns.index(c) for c in scorer.columns])

    def _use(self, scorer, model_id: str, take: np.ndarray) -> None:
        self.scorer = scorer
        self.model_id = model_id
        self.horizon = pd.Timedelta(scorer.horizon)
        self._take = take

    def swap_scorer(self, scorer, model_id: str, warm: bool = True) -> int:
        """Score with `scorer` from the next bar on (ValueError: it reads features this engine
        lacks). With `warm`, a stream's windows and held scores are first filled from the kept
        feature rows and its sizing agent starts flat; returns how many bar closes that
        replayed."""
        take = self._columns_of(scorer)
        replayed = 0
        if warm and hasattr(scorer, "members_at"):
            for ts, symbols, matrix in self.recent:
                scorer.members_at(ts, symbols, matrix[:, take])
                replayed += 1
            scorer.reset_sizing()
        self._use(scorer, model_id, take)
        return replayed

    def on_bar(self, bar: Bar) -> Decision:
        """One closed bar. Cross-asset features see only the reference bars already given for
        its ts, so feed a ts's bars together through `on_bars` when references matter."""
        return self.on_bars([bar])[0]

    def on_bars(self, bars: Iterable[Bar]) -> list[Decision]:
        """Closed bars of one or more ts (all symbols of a ts together) -> one Decision per ts."""
        by_ts: dict[pd.Timestamp, list[tuple[Bar, np.ndarray]]] = {}
        for bar, row in self.features.on_bars(bars):
            by_ts.setdefault(bar.ts, []).append((bar, row))
        decisions = []
        for ts, rows in by_ts.items():
            matrix = np.vstack([row for _, row in rows])
            symbols = [bar.symbol for bar, _ in rows]
            close = np.array([bar.close for bar, _ in rows])
            if self.recent.maxlen:
                self.recent.append((ts, symbols, matrix))
            p_up, position = self.scorer.on_rows(ts, symbols, matrix[:, self._take], close)
            atr = matrix[:, self._atr]
            size = None
            if position is not None or self.rule.full_size_confidence is not None:
                r = self.rule
                direction, confidence, _, _ = levels(
                    p_up, close, atr, r.min_confidence, r.target_atr, r.stop_atr
                )
                size = position_size(direction, confidence, position, r.full_size_confidence)
            decisions.append(
                self.decide(ts, symbols, p_up, close, atr, matrix[:, self._atr_rel], size)
            )
        return decisions

    def decide(
        self, ts: pd.Timestamp, symbols: list[str], p_up, close, atr, atr_rel, size=None
    ) -> Decision:
        """Signal rule and risk manager for the model outputs of one bar close (`size`: the
        model's own sizing per symbol, e.g. an RL agent's; None = full)."""
        signals = make_signals(
            ts,
            symbols,
            p_up,
            close,
            atr,
            self.horizon,
            self.model_id,
            self.rule.min_confidence,
            self.rule.target_atr,
            self.rule.stop_atr,
            size,
        )
        vols = {s: float(r) * self._vol_scale for s, r in zip(symbols, atr_rel, strict=True)}
        return Decision(ts, signals, self.risk.decide(ts, signals, vols))
