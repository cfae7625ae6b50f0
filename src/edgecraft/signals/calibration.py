"""Map a model's raw score to a calibrated P(up), fitted on training-period data only."""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

METHODS = ("isotonic", "sigmoid")


class Calibrator:
    """Isotonic regression or Platt scaling of score -> P(realized return > 0)."""

    def __init__(self, method: str = "isotonic") -> None:
        if method not in METHODS:
            raise ValueError(f"calibration method must be one of {METHODS}, was {method!r}")
        self.method = method

    def fit(
        self, score: np.ndarray, up: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> Calibrator:
        s = np.asarray(score, dtype=np.float64)
        y = np.asarray(up, dtype=np.float64)
        if len(np.unique(y)) < 2:
            raise ValueError("calibration needs both up and down outcomes")
        if self.method == "isotonic":
            self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
                s, y, sample_weight=sample_weight
            )
        else:
            self.model_ = LogisticRegression(C=1e6).fit(
                s.reshape(-1, 1), y, sample_weight=sample_weight
            )
        return self

    def predict(self, score: np.ndarray) -> np.ndarray:
        """Calibrated P(up) in [0, 1]."""
        s = np.asarray(score, dtype=np.float64)
        if self.method == "isotonic":  # the fitted step function, read without sklearn overhead
            model = self.model_
            return np.clip(np.interp(s, model.X_thresholds_, model.y_thresholds_), 0.0, 1.0)
        return self.model_.predict_proba(s.reshape(-1, 1))[:, 1]
