"""Fit one model with its calibrator on a training set, and score new rows with them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.models.registry import MODELS, score
from edgecraft.research.config import RunConfig
from edgecraft.signals.calibration import Calibrator
from edgecraft.signals.scorer import Scorer


def labels_for_model(config: RunConfig, labels: pd.DataFrame) -> pd.Series:
    """What the model learns: up/down classes, barrier classes, or the return itself."""
    if not MODELS[config.model.name].is_classifier:
        return labels["ret"]
    if config.label.kind == "triple_barrier":
        return labels["y"].fillna(0).astype(int)  # unlabeled rows are never trained on
    return (labels["ret"] > 0).astype(int)


def fit(
    config: RunConfig, X: pd.DataFrame, labels: pd.DataFrame, rows: np.ndarray, horizon: str
) -> Scorer:
    """Fit on the first part of `rows` (by time) and calibrate on the last `fraction` of it.

    The fit part is purged against the calibration part (labels known before it starts, minus
    the embargo), so the calibrator sees scores the model did not train on.
    """
    ts = labels.index.get_level_values("ts")[rows]
    start, end = ts.min(), ts.max()
    cut = start + (end - start) * (1.0 - config.calibration.fraction)
    t1 = pd.DatetimeIndex(labels["t1"].iloc[rows])
    embargo = pd.Timedelta(config.validation.embargo)
    fit_rows = rows[(t1 < cut) & (ts < cut - embargo)]
    calib_rows = rows[ts >= cut]
    if len(fit_rows) < 100 or len(calib_rows) < 50:
        raise ValueError(
            f"training window {start}..{end} too small to fit and calibrate "
            f"({len(fit_rows)} fit rows, {len(calib_rows)} calibration rows)"
        )
    cap = config.model.max_train_rows
    if cap is not None and len(fit_rows) > cap:
        chosen = np.random.default_rng(config.seed).choice(len(fit_rows), cap, replace=False)
        fit_rows = fit_rows[np.sort(chosen)]
    params = {"threads": config.threads, "seed": config.seed, **config.model.params}
    target = labels_for_model(config, labels)
    model = MODELS[config.model.name](**params).fit(
        X.iloc[fit_rows], target.iloc[fit_rows], labels["weight"].iloc[fit_rows]
    )
    raw = score(model, X.iloc[calib_rows])
    calibrator = Calibrator(config.calibration.method).fit(
        raw, (labels["ret"].iloc[calib_rows] > 0).to_numpy()
    )
    return Scorer(model, calibrator, list(X.columns), horizon)
