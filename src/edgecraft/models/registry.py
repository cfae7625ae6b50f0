"""MODELS: every model by name. Adding a model is one line here; contract tests cover it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.models.gbdt import (
    DaskLightGBMClassifier,
    DaskXGBoostClassifier,
    LightGBMClassifier,
    LightGBMRegressor,
    XGBoostClassifier,
    XGBoostRegressor,
)
from edgecraft.models.sequence import LSTMClassifier, TransformerClassifier

MODELS: dict[str, type] = {
    "lgbm": LightGBMClassifier,
    "lgbm_reg": LightGBMRegressor,
    "xgb": XGBoostClassifier,
    "xgb_reg": XGBoostRegressor,
    "lgbm_dask": DaskLightGBMClassifier,
    "xgb_dask": DaskXGBoostClassifier,
    "lstm": LSTMClassifier,
    "transformer": TransformerClassifier,
}


def lookback(model) -> int:
    """Rows of history (per symbol, the row itself included) one prediction reads: 1 for a
    tabular model, the window length for a sequence model."""
    return int(getattr(model, "lookback", 1))


def score(model, X: pd.DataFrame) -> np.ndarray:
    """One number per row, larger = more bullish: P(highest class) - P(lowest class) for a
    classifier (classes are ordered: down < flat < up), the predicted return for a regressor."""
    if getattr(model, "is_classifier", True):
        proba = model.predict_proba(X)
        return proba[:, -1] - proba[:, 0]
    return model.predict(X)
