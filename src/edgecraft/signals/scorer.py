"""A trained model with its calibrator: features in, raw score and calibrated P(up) out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from edgecraft.models.registry import score_rows
from edgecraft.signals.calibration import Calibrator


@dataclass
class Scorer:
    """What a run deploys per horizon: the model, its calibrator and its input columns."""

    model: object
    calibrator: Calibrator
    columns: list[str]
    horizon: str

    def predict(self, X: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Raw score and calibrated P(up) for `rows` of `X` (default: every row); a sequence
        model's windows read the rows of X before them."""
        rows = np.arange(len(X)) if rows is None else np.asarray(rows)
        raw = score_rows(self.model, X, rows, columns=self.columns).to_numpy()
        return pd.DataFrame(
            {"score": raw, "p_up": self.calibrator.predict(raw)}, index=X.index[rows]
        )

    def feature_importance(self) -> pd.Series | None:
        return self.model.feature_importance()

    def predict_array(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(score, P(up)) for rows of a float matrix in `columns` order: the live fast path."""
        raw = self.model.score_array(x)
        return raw, self.calibrator.predict(raw)

    def on_rows(self, ts, symbols, x: np.ndarray, close) -> tuple[np.ndarray, None]:
        """The Engine's call for one bar close: P(up) per row; a single model sizes nothing."""
        return self.predict_array(x)[1], None
