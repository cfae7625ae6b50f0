"""Heterogeneous ensembles: base models on their own bar and horizon, aligned on the decision
time, combined by a stacking meta-model or by rules into one calibrated P(up).

`Member` wraps one fitted base model. It predicts on the rows of its own bar (a multiple of the
base timeframe: a 4h member scores the 00:00, 04:00, ... rows) and its latest prediction holds
until its next bar, so every decision row reads, per member, the newest prediction made at or
before it. Sequence members read their window from the earlier rows of the same frame.

`EnsembleScorer` is what a run deploys per horizon when its config has an `ensemble`:
- stack: a logistic regression on the members' standardized scores, trained only on
  out-of-fold predictions (inner purged folds);
- rules: the filter member rejects signals it does not confirm (its calibrated confidence on the
  same side below `filter_confidence`), the direction member gives the side.
Either way the final P(up) passes a calibrator fitted on out-of-fold predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from edgecraft.models.registry import lookback, score_rows
from edgecraft.signals.calibration import Calibrator


def confirm_rule(p: np.ndarray, q: np.ndarray, filter_confidence: float) -> np.ndarray:
    """Rules mode: the direction member's P(up) `p` where the filter member's P(up) `q` is on
    the same side with at least `filter_confidence`, else 0.5; NaN where either is NaN."""
    known = np.isfinite(p) & np.isfinite(q)
    confirmed = (np.sign(q - 0.5) == np.sign(p - 0.5)) & (np.maximum(q, 1 - q) >= filter_confidence)
    return np.where(known, np.where(confirmed, p, 0.5), np.nan)


@dataclass
class Member:
    """One fitted base model, its bar, the horizon it learned, and its OOF calibrator."""

    key: str
    model: object
    bar: pd.Timedelta
    base: pd.Timedelta
    horizon: str
    calibrator: Calibrator | None = None

    def frame_rows(self, X: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """The rows among `rows` on this member's bar."""
        ts = X.index.get_level_values("ts").asi8[rows]
        return rows[ts % self.bar.value == 0]

    def raw(self, X: pd.DataFrame, rows: np.ndarray) -> pd.Series:
        """Scores on this member's own rows among `rows` (index: those rows' (ts, symbol))."""
        return score_rows(self.model, X, self.frame_rows(X, rows), self.bar)

    def scores(self, X: pd.DataFrame, rows: np.ndarray) -> pd.Series:
        """The newest score made at or before each of `rows` (NaN once it is a bar old)."""
        own = self.raw(X, rows)
        index = X.index[rows]
        if self.bar == self.base:
            return own.reindex(index)
        steps = int(self.bar / self.base)
        wide = own.unstack("symbol")
        all_ts = index.get_level_values("ts").unique().union(wide.index)
        filled = wide.reindex(all_ts).ffill(limit=steps - 1)
        return filled.stack().reindex(index)


@dataclass
class EnsembleScorer:
    """The members, their combination, the final calibrator and an optional sizing agent."""

    members: list[Member]
    mode: str
    columns: list[str]
    horizon: str
    calibrator: Calibrator
    meta: LogisticRegression | None = None
    scale: tuple[np.ndarray, np.ndarray] | None = None  # meta inputs' mean and std
    without: dict[str, tuple] = field(default_factory=dict)  # key -> (meta, scale), stack only
    filter: str | None = None
    direction: str | None = None
    filter_confidence: float = 0.52
    agent: object | None = None  # a SizingAgent; applied where next-bar returns are known

    @property
    def model(self):
        """The first tabular member (its importance goes in the report)."""
        tabular = [m.model for m in self.members if lookback(m.model) <= 1]
        return tabular[0] if tabular else self.members[0].model

    def feature_importance(self) -> pd.Series | None:
        return self.model.feature_importance()

    def member_scores(self, X: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({m.key: m.scores(X, rows) for m in self.members})

    def combine(self, S: pd.DataFrame, keys: list[str] | None = None) -> np.ndarray:
        """Uncalibrated ensemble P(up) from member scores (stack: the meta-model)."""
        if self.mode == "stack":
            meta, (mean, std) = (
                (self.meta, self.scale) if keys is None else self.without[tuple(keys)]
            )
            z = np.nan_to_num((S[keys or S.columns].to_numpy() - mean) / std)
            return meta.predict_proba(z)[:, 1]
        by_key = {m.key: m for m in self.members}
        direction, confirm = S[self.direction].to_numpy(), S[self.filter].to_numpy()
        p = by_key[self.direction].calibrator.predict(np.nan_to_num(direction))
        q = by_key[self.filter].calibrator.predict(np.nan_to_num(confirm))
        p = np.where(np.isfinite(direction), p, np.nan)
        return confirm_rule(p, np.where(np.isfinite(confirm), q, np.nan), self.filter_confidence)

    def predict(self, X: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
        """score and calibrated p_up of the ensemble, and each member's score and calibrated
        P(up), for `rows` of X (default all); earlier rows of X are the sequence context."""
        rows = np.arange(len(X)) if rows is None else np.asarray(rows)
        S = self.member_scores(X, rows)
        p = self.combine(S)
        p_up = np.where(np.isfinite(p), self.calibrator.predict(np.nan_to_num(p, nan=0.5)), np.nan)
        out = {"score": p - 0.5, "p_up": p_up}
        for m in self.members:
            out[f"score_{m.key}"] = S[m.key].to_numpy()
            known = S[m.key].notna().to_numpy()
            calibrated = m.calibrator.predict(S[m.key].fillna(0.0).to_numpy())
            out[f"p_up_{m.key}"] = np.where(known, calibrated, np.nan)
        for keys in self.without:
            (dropped,) = set(S.columns) - set(keys)
            out[f"p_without_{dropped}"] = self.combine(S, list(keys))
        return pd.DataFrame(out, index=X.index[rows])
