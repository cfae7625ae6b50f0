"""Sequence models: windows stay within a symbol and the past, memory is learned, splits purge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.models.sequence import LSTMClassifier, TransformerClassifier

SMALL = {"lookback": 12, "hidden": 16, "epochs": 8, "batch_size": 64, "threads": 1}


def frame(hours: int, symbols=("BTC/USDT", "ETH/USDT"), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-01-01", periods=hours, freq="h", tz="UTC")
    index = pd.MultiIndex.from_product([ts, list(symbols)], names=["ts", "symbol"])
    return pd.DataFrame(rng.normal(size=(len(index), 3)), index=index, columns=["a", "b", "c"])


def lagged_label(X: pd.DataFrame, lag: int) -> pd.Series:
    """Up when feature `a` of the same symbol `lag` rows ago was positive: only memory sees it."""
    past = X["a"].groupby(level="symbol").shift(lag)
    return (past > 0).astype(float).where(past.notna())


@pytest.mark.parametrize("cls", [LSTMClassifier, TransformerClassifier])
def test_window_reads_only_its_symbols_past(cls):
    X = frame(200)
    model = cls(**{**SMALL, "epochs": 1}).fit(X, lagged_label(X, 3))
    base = model.predict_proba(X)
    row = 2 * 150  # BTC/USDT at hour 150
    changed = X.copy()
    changed.iloc[row + 1 :] = 99.0  # the future of every symbol
    changed.loc[(slice(None), "ETH/USDT"), :] = -99.0  # the other symbol, past included
    after = model.predict_proba(changed)
    np.testing.assert_allclose(after[row], base[row], rtol=1e-6)
    changed.iloc[row - 2 * 5] = 50.0  # its own past, within the window: it must matter
    assert np.abs(model.predict_proba(changed)[row] - base[row]).max() > 1e-6


def test_lstm_learns_what_a_row_alone_cannot_show():
    X, X_test = frame(1500, seed=1), frame(600, seed=2)
    model = LSTMClassifier(**{**SMALL, "epochs": 12, "learning_rate": 3e-3, "hidden": 32})
    model.fit(X, lagged_label(X, 4))
    y = lagged_label(X_test, 4)
    hit = (model.predict_proba(X_test)[:, 1] > 0.5) == (y > 0)
    assert hit[y.notna().to_numpy()].mean() > 0.8  # a tabular model on this row is at 0.5


def test_unlabeled_rows_are_context_not_targets():
    X = frame(400)
    y = lagged_label(X, 2)
    y.iloc[: len(y) // 2] = np.nan  # first half: context only
    model = LSTMClassifier(**{**SMALL, "epochs": 1, "valid_fraction": 0.0}).fit(X, y)
    assert model.epochs_run_ == 1 and list(model.classes_) == [0.0, 1.0]
    with pytest.raises(ValueError, match="at least 100 labeled rows"):
        LSTMClassifier(**SMALL).fit(X, y.where(y.index.get_level_values("ts") < X.index[40][0]))


def test_early_stopping_split_is_purged_and_ordered():
    X = frame(1000)
    model = LSTMClassifier(**{**SMALL, "purge": "24h", "valid_fraction": 0.2})
    ts = X.index.get_level_values("ts")
    train, valid = model._split(ts, np.arange(len(X)))
    assert ts[train].max() + pd.Timedelta("24h") < ts[valid].min()
    assert len(valid) == pytest.approx(0.2 * len(X), rel=0.05)
    fitted = model.fit(X, lagged_label(X, 3))
    assert 1 <= len(fitted.history_) <= SMALL["epochs"]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="lookback"):
        LSTMClassifier(lookback=0)
    with pytest.raises(ValueError, match="valid_fraction"):
        TransformerClassifier(valid_fraction=0.7)
    with pytest.raises(TypeError, match="windows of rows"):
        LSTMClassifier().score_array(np.zeros((1, 3)))
