"""MODELS: every model by name. Adding a model is one line here; contract tests cover it."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

# name -> (module, class): imported on first use, so reading a config or printing `--help`
# does not load LightGBM, XGBoost and PyTorch
_WHERE = {
    "lgbm": ("edgecraft.models.gbdt", "LightGBMClassifier"),
    "lgbm_reg": ("edgecraft.models.gbdt", "LightGBMRegressor"),
    "xgb": ("edgecraft.models.gbdt", "XGBoostClassifier"),
    "xgb_reg": ("edgecraft.models.gbdt", "XGBoostRegressor"),
    "lgbm_dask": ("edgecraft.models.gbdt", "DaskLightGBMClassifier"),
    "xgb_dask": ("edgecraft.models.gbdt", "DaskXGBoostClassifier"),
    "lstm": ("edgecraft.models.sequence", "LSTMClassifier"),
    "transformer": ("edgecraft.models.sequence", "TransformerClassifier"),
}


class _Registry(Mapping):
    """A read-only name -> model class mapping that imports each class when first asked."""

    def __init__(self, where: dict[str, tuple[str, str]]) -> None:
        self._where = where

    def __getitem__(self, name: str) -> type:
        module, cls = self._where[name]
        return getattr(importlib.import_module(module), cls)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


MODELS: Mapping[str, type] = _Registry(_WHERE)


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
