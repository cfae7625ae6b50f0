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


def window_rows(
    X: pd.DataFrame, rows: np.ndarray, need: int, bar: pd.Timedelta | None = None
) -> np.ndarray:
    """`rows` (positions in X, sorted) plus the earlier rows that windows of `need` rows ending
    at them read: every row of X from `need` bars before the first of `rows` to the last, on the
    bar `bar` (default: every row, bars of X's own spacing)."""
    if need <= 1 or not len(rows):
        return rows
    ts = X.index.get_level_values("ts").asi8
    if bar is None:
        steps = np.diff(np.unique(ts))
        step = int(steps.min()) if len(steps) else 0
    else:
        step = bar.value
    lo, hi = ts[rows].min() - need * step, ts[rows].max()
    keep = (ts >= lo) & (ts <= hi)
    if bar is not None:
        keep &= ts % bar.value == 0
    return np.flatnonzero(keep)


def score_rows(
    model,
    X: pd.DataFrame,
    rows: np.ndarray,
    bar: pd.Timedelta | None = None,
    columns: list[str] | None = None,
) -> pd.Series:
    """`score` of `rows` of X (index: those rows' labels) on `columns` (default: all), a sequence
    model's windows reading the rows before them in X, so a subset scores as it would inside the
    whole frame."""
    context = window_rows(X, rows, lookback(model), bar)
    part = X.iloc[context] if columns is None else X.iloc[context][columns]
    values = pd.Series(score(model, part), index=X.index[context])
    return values if len(context) == len(rows) else values.reindex(X.index[rows])


def score(model, X: pd.DataFrame) -> np.ndarray:
    """One number per row, larger = more bullish: P(highest class) - P(lowest class) for a
    classifier (classes are ordered: down < flat < up), the predicted return for a regressor."""
    if getattr(model, "is_classifier", True):
        proba = model.predict_proba(X)
        return proba[:, -1] - proba[:, 0]
    return model.predict(X)
