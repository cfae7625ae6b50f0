"""Fit one model with its calibrator on a training set, and score new rows with them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.labels.targets import training_target
from edgecraft.models.registry import MODELS, score
from edgecraft.research.config import RunConfig
from edgecraft.signals.calibration import Calibrator
from edgecraft.signals.scorer import Scorer


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
    cls = MODELS[config.model.name]
    # a classifier learns classes (rows without a known label are never in fit_rows), a
    # regressor the return itself
    target = (
        training_target(labels, config.label.kind).iloc[fit_rows].astype(int)
        if cls.is_classifier
        else labels["ret"].iloc[fit_rows]
    )
    model = cls(**params).fit(X.iloc[fit_rows], target, labels["weight"].iloc[fit_rows])
    raw = score(model, X.iloc[calib_rows])
    calibrator = Calibrator(config.calibration.method).fit(
        raw, (labels["ret"].iloc[calib_rows] > 0).to_numpy()
    )
    return Scorer(model, calibrator, list(X.columns), horizon)
