"""Units of a run's work, runnable on any executor (see `executor.py`).

A window unit is one (horizon, walk-forward window) of a run's symbol set, model and seed: fit on
the window's training rows, score its test rows. With a checkpoint folder each finished unit is
written there (atomically) and an interrupted run resumes from the finished units. A symbol unit
builds one symbol's feature frame (a distributed feature build)."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edgecraft.data.layout import DataLayout
from edgecraft.features.builder import FeatureBuilder
from edgecraft.features.config import FeaturesConfig
from edgecraft.research.config import RunConfig
from edgecraft.research.fitting import make_fitter, next_bar_returns, predict_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
    """One (horizon, walk-forward window): fit on `train`, score `test`."""

    horizon: str
    window: int
    train: np.ndarray  # row positions in the run's feature frame
    test: np.ndarray
    until: pd.Timestamp | None  # no label known at or after it may be read


def unit_key(config: RunConfig, unit: Unit) -> str:
    """A unit's checkpoint name: horizon, window and a digest of the config and its rows."""
    digest = hashlib.sha256(config.model_dump_json().encode())
    digest.update(unit.train.tobytes())
    digest.update(unit.test.tobytes())
    return f"{unit.horizon}-w{unit.window:03d}-{digest.hexdigest()[:12]}"


def run_unit(
    unit: Unit,
    config: RunConfig,
    X: pd.DataFrame,
    labels: pd.DataFrame,
    bars: pd.DataFrame,
    checkpoint: str | None = None,
) -> pd.DataFrame:
    """Fit on the unit's training rows, predict its test rows (or read its checkpoint)."""
    path = Path(checkpoint) / f"{unit_key(config, unit)}.parquet" if checkpoint else None
    if path is not None and path.exists():
        return pd.read_parquet(path)
    fitter = make_fitter(config, bars, X, labels, unit.horizon)
    following = next_bar_returns(bars, X.index) if len(bars) else None
    fitted = fitter(unit.train, unit.until)
    part = predict_rows(fitted, X, unit.test, following).assign(window=unit.window)
    log.info(
        "horizon=%s window=%d train=%d test=%d",
        unit.horizon,
        unit.window,
        len(unit.train),
        len(unit.test),
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        part.to_parquet(temporary)
        temporary.replace(path)
    return part


@functools.lru_cache(maxsize=4)
def _builder(root: str, features_json: str, market: str):
    """One feature builder per worker process and configuration (its kernels compile once)."""
    return FeatureBuilder(
        DataLayout(Path(root)), FeaturesConfig.model_validate_json(features_json), market
    )


def build_symbol(symbol: str, bars: pd.DataFrame, root: str, features, market: str) -> pd.DataFrame:
    """The feature frame of one symbol (a unit of a distributed feature build)."""
    return _builder(root, features.model_dump_json(), market).build(bars, symbol)
