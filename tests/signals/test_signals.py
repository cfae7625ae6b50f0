"""Signals: direction from calibrated P(up), confidence filter, ATR targets and stops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.core.contracts import Direction, Signal
from edgecraft.signals.build import build_signals, to_records
from edgecraft.signals.calibration import Calibrator


def _index(n):
    ts = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")
    return pd.MultiIndex.from_arrays([ts, ["BTC/USDT"] * n], names=["ts", "symbol"])


def test_direction_confidence_target_and_stop():
    index = _index(4)
    p = pd.Series([0.70, 0.30, 0.51, np.nan], index=index)
    close = pd.Series(100.0, index=index)
    atr = pd.Series(2.0, index=index)
    s = build_signals(p, close, atr, "24h", min_confidence=0.55, target_atr=3.0, stop_atr=1.5)
    assert s["direction"].tolist() == [1, -1, 0, 0]
    assert s["confidence"].iloc[:3].tolist() == pytest.approx([0.70, 0.70, 0.51])
    assert s["target"].iloc[0] == pytest.approx(106.0) and s["stop"].iloc[0] == pytest.approx(97.0)
    assert s["target"].iloc[1] == pytest.approx(94.0) and s["stop"].iloc[1] == pytest.approx(103.0)
    assert s["target"].iloc[2:].isna().all()
    records = to_records(s, "m1")
    assert records[0].direction is Direction.LONG and records[2].target is None
    assert records[0].horizon == pd.Timedelta("24h")


def test_signal_record_rejects_inconsistent_levels():
    ts = pd.Timestamp("2024-01-01", tz="UTC")
    with pytest.raises(ValueError, match="opposite sides"):
        Signal(ts, "BTC/USDT", Direction.LONG, 0.6, pd.Timedelta("4h"), 100.0, 95.0, 105.0, "m")
    with pytest.raises(ValueError, match="confidence"):
        Signal(ts, "BTC/USDT", Direction.FLAT, 1.5, pd.Timedelta("4h"), 100.0, None, None, "m")
    with pytest.raises(ValueError, match="no target"):
        Signal(ts, "BTC/USDT", Direction.FLAT, 0.5, pd.Timedelta("4h"), 100.0, 101.0, None, "m")


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrator_is_monotone_bounded_and_calibrated(method):
    rng = np.random.default_rng(3)
    score = rng.normal(size=20_000)
    up = rng.uniform(size=20_000) < 1 / (1 + np.exp(-2 * score))
    calibrator = Calibrator(method).fit(score, up)
    grid = np.linspace(-4, 4, 50)
    p = calibrator.predict(grid)
    assert ((p >= 0) & (p <= 1)).all() and (np.diff(p) >= -1e-12).all()
    assert calibrator.predict(np.array([0.0]))[0] == pytest.approx(0.5, abs=0.05)
    assert calibrator.predict(np.array([1.0]))[0] == pytest.approx(1 / (1 + np.exp(-2)), abs=0.05)


def test_a_failed_onnx_parity_check_fails_the_run_with_a_clear_message(tmp_path, monkeypatch):
    from edgecraft.models.gbdt import LightGBMClassifier
    from edgecraft.research.artifacts import save_run
    from edgecraft.research.config import RunConfig
    from edgecraft.signals import onnx_scorer
    from edgecraft.signals.scorer import Scorer

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 4)), columns=list("abcd"))
    y = (X["a"] + rng.normal(size=3000) > 0).astype(int)
    model = LightGBMClassifier(n_estimators=20, min_child_samples=50).fit(X, y)
    raw = model.predict_proba(X)[:, 1] - model.predict_proba(X)[:, 0]
    scorer = Scorer(model, Calibrator("sigmoid").fit(raw, y.to_numpy()), list(X.columns), "24h")
    config = RunConfig()
    features = config.features.build()
    held_out = pd.DataFrame(rng.normal(size=(500, 4)), columns=list("abcd"))
    save_run(tmp_path / "ok", config, features, {"24h": scorer}, {"files": {}}, {"24h": held_out})
    assert (tmp_path / "ok" / "models" / "model_24h.onnx").exists()
    monkeypatch.setattr(onnx_scorer, "PARITY", 0.0)  # float32 rounding now counts as a miss
    with pytest.raises(onnx_scorer.ParityError, match="differs from the trained model"):
        save_run(
            tmp_path / "bad", config, features, {"24h": scorer}, {"files": {}}, {"24h": held_out}
        )
