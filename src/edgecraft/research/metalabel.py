"""Meta-labeling (López de Prado, AFML ch. 3): should one act on the primary model's side?

The primary's out-of-sample signals of the walk-forward (each from a model trained before its
window) are the secondary model's training set: for test window k it learns, on the signals of
windows before k whose labels were known (and past the embargo) before k starts, whether acting
on the primary's side cleared the round-trip cost within the horizon; Platt scaling on the
newest share of those rows calibrates it. Its probability decides trade or no trade and sizes
the bet (AFML ch. 10: size = 2 Phi(z) - 1, z = (p - 1/2) / sqrt(p (1 - p))).

A secondary model that shows no skill on those calibration rows (its AUC not `MIN_AUC_Z` standard
errors above 1/2 under the null) is not used: that window's signals are not taken at all, so
a meta model fitted to noise abstains instead of trading its noise.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from edgecraft.models.gbdt import LightGBMClassifier
from edgecraft.research.config import RunConfig
from edgecraft.signals.calibration import Calibrator

log = logging.getLogger(__name__)
MIN_ROWS = 500  # fewer past signals (or one outcome only): no meta model for that window
MIN_AUC_Z = 2.0


def skill_z(p: np.ndarray, y: np.ndarray, overlap: float = 1.0) -> float:
    """(AUC - 1/2) over its standard error when there is no skill (Hanley & McNeil), counting
    outcomes whose label spans overlap `overlap` rows each as one (hourly rows of a 24h label
    are 24 looks at one outcome)."""
    y = np.asarray(y, dtype=bool)
    positives, negatives = y.sum() / overlap, (~y).sum() / overlap
    if positives < 1 or negatives < 1:
        return 0.0
    se = np.sqrt((positives + negatives + 1) / (12.0 * positives * negatives))
    return float((roc_auc_score(y, p) - 0.5) / se)


def meta_features(frame: pd.DataFrame, X: pd.DataFrame) -> pd.DataFrame:
    """What the secondary model sees at a signal: the features, the primary's side and
    probability, and the volatility."""
    extra = pd.DataFrame(
        {
            "primary_side": np.sign(frame["direction"]).astype(float),
            "primary_p_up": frame["p_up"].astype(float),
            "primary_edge": (frame["p_up"] - 0.5).abs().astype(float),
            "primary_vol": frame["vol"].astype(float),
        },
        index=frame.index,
    )
    return pd.concat([X.reindex(frame.index), extra], axis=1)


def meta_target(frame: pd.DataFrame, round_trip: float) -> pd.Series:
    """1 where acting on the primary's side earned more than `round_trip` (log return) by the
    time the label was known, 0 where not, NaN without a side or a known return."""
    side = np.sign(frame["direction"])
    edge = side * frame["ret"]
    return (edge > round_trip).astype(float).where((side != 0) & edge.notna())


def bet_size(p: pd.Series, threshold: float) -> pd.Series:
    """AFML's size from a probability of success, 0 at or below `threshold`."""
    q = p.clip(1e-9, 1 - 1e-9)
    size = 2.0 * stats.norm.cdf((q - 0.5) / np.sqrt(q * (1 - q))) - 1.0
    return pd.Series(np.where(p > threshold, size, 0.0), index=p.index).where(p.notna())


def meta_probability(
    config: RunConfig, frame: pd.DataFrame, X: pd.DataFrame, overlap: float = 1.0
) -> pd.Series:
    """The secondary model's calibrated P(success) of every primary signal in `frame` (scored
    OOS rows with window, direction, p_up, vol, ret, t1); NaN in the first windows (no purged
    past to learn from) and on rows without a side; 0 in a window whose model showed no skill.
    `overlap`: rows per independent outcome (the label horizon in bars)."""
    cfg = config.books.meta
    round_trip = 2.0 * (config.costs.fee_bps + config.costs.half_spread_bps) / 1e4
    target = meta_target(frame, round_trip)
    features = meta_features(frame, X)
    ts = frame.index.get_level_values("ts")
    t1 = pd.DatetimeIndex(frame["t1"])
    embargo = pd.Timedelta(config.validation.embargo)
    window = frame["window"].to_numpy()
    out = pd.Series(np.nan, index=frame.index, name="p_meta")
    rng = np.random.default_rng(config.seed)
    for k in np.unique(window):
        test = (window == k) & (frame["direction"].to_numpy() != 0)
        start = ts[window == k].min()
        known = np.asarray(t1 < start) & np.asarray(ts < start - embargo)
        train = np.flatnonzero(known & (window < k) & target.notna().to_numpy())
        if len(train) < MIN_ROWS or target.iloc[train].nunique() < 2 or not test.any():
            continue
        if len(train) > cfg.max_train_rows:
            train = np.sort(rng.choice(train, cfg.max_train_rows, replace=False))
        cut = ts[train].min() + (ts[train].max() - ts[train].min()) * (
            1.0 - cfg.calibration_fraction
        )
        fit_rows = train[np.asarray(t1[train] < cut - embargo)]
        calib_rows = train[np.asarray(ts[train] >= cut)]
        if (
            len(fit_rows) < MIN_ROWS
            or target.iloc[fit_rows].nunique() < 2
            or target.iloc[calib_rows].nunique() < 2
        ):
            continue
        model = LightGBMClassifier(**{"threads": config.threads, "seed": config.seed, **cfg.params})
        model.fit(features.iloc[fit_rows], target.iloc[fit_rows].astype(int))
        held_out = model.predict_proba(features.iloc[calib_rows])[:, 1]
        z = skill_z(held_out, target.iloc[calib_rows].to_numpy(), overlap)
        rows = np.flatnonzero(test)
        if z < MIN_AUC_Z:
            out.iloc[rows] = 0.0  # no skill shown: take none of this window's signals
            log.info("meta window %s: AUC z %.2f < %.1f, abstains", k, z, MIN_AUC_Z)
            continue
        calibrator = Calibrator("sigmoid").fit(held_out, target.iloc[calib_rows])
        out.iloc[rows] = calibrator.predict(model.predict_proba(features.iloc[rows])[:, 1])
        log.debug("meta window %s: %d train rows, AUC z %.2f", k, len(fit_rows), z)
    return out
