"""Fit one model with its calibrator on a training set, and score new rows with them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.labels.targets import training_target
from edgecraft.models.registry import MODELS, lookback, score_rows, window_rows
from edgecraft.models.sequence import SequenceClassifier
from edgecraft.research.config import RunConfig
from edgecraft.signals.calibration import Calibrator
from edgecraft.signals.scorer import Scorer


def make_model(config: RunConfig, name: str, params: dict, horizon: str):
    """A registered model with the run's threads and seed; a sequence model's early stopping
    leaves out the training labels within `horizon` plus the embargo of its validation block."""
    cls = MODELS[name]
    params = {"threads": config.threads, "seed": config.seed, **params}
    if issubclass(cls, SequenceClassifier):
        purge = pd.Timedelta(horizon) + pd.Timedelta(config.validation.embargo)
        params.setdefault("purge", str(purge))
    return cls(**params)


def fit_model(
    model,
    X: pd.DataFrame,
    fit_rows: np.ndarray,
    target: pd.Series,
    weight: pd.Series,
    bar: pd.Timedelta | None = None,
) -> None:
    """Fit `model` on `fit_rows` (sorted positions in X). A sequence model also gets the rows
    between them (on `bar`) as unlabeled context, so its windows hold consecutive bars even when
    `fit_rows` is a subsample."""
    context = window_rows(X, fit_rows, lookback(model), bar)
    if len(context) == len(fit_rows):
        model.fit(X.iloc[fit_rows], target.iloc[fit_rows], weight.iloc[fit_rows])
        return
    y = np.full(len(context), np.nan)
    w = np.zeros(len(context))
    at = np.searchsorted(context, fit_rows)
    y[at] = target.iloc[fit_rows].to_numpy()
    w[at] = weight.iloc[fit_rows].to_numpy()
    model.fit(X.iloc[context], y, w)


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
    model = make_model(config, config.model.name, config.model.params, horizon)
    # a classifier learns classes (rows without a known label are never in fit_rows), a
    # regressor the return itself
    target = (
        training_target(labels, config.label.kind).fillna(0).astype(int)
        if MODELS[config.model.name].is_classifier
        else labels["ret"]
    )
    fit_model(model, X, fit_rows, target, labels["weight"])
    raw = score_rows(model, X, calib_rows).to_numpy()
    calibrator = Calibrator(config.calibration.method).fit(
        raw, (labels["ret"].iloc[calib_rows] > 0).to_numpy()
    )
    return Scorer(model, calibrator, list(X.columns), horizon)
