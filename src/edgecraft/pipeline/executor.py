"""Where the walk-forward's units of work run: this process, or a Dask cluster.

A unit is one (horizon, walk-forward window) of a run's symbol set, model and seed: fit on the
window's training rows, score its test rows. Units share the run's feature frame, labels and
bars; a Dask executor scatters those to every worker once (not per task), retries a unit whose
worker died, and gathers the parts in order. With a checkpoint folder each finished unit is
written there (atomically) and an interrupted run resumes from the finished units.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edgecraft.pipeline.config import RunConfig

Done = Callable[[int, int], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
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
    from edgecraft.pipeline.run import make_fitter, next_bar_returns, predict_rows

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
    from edgecraft.data.layout import DataLayout
    from edgecraft.features.config import FeaturesConfig
    from edgecraft.pipeline.features import FeatureBuilder

    return FeatureBuilder(
        DataLayout(Path(root)), FeaturesConfig.model_validate_json(features_json), market
    )


def build_symbol(symbol: str, bars: pd.DataFrame, root: str, features, market: str) -> pd.DataFrame:
    """The feature frame of one symbol (a unit of a distributed feature build)."""
    return _builder(root, features.model_dump_json(), market).build(bars, symbol)


class LocalExecutor:
    """Units on this machine: one after another in this process (`workers=1`, the default and
    the reference), or over `workers` processes (joblib's loky pool)."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def map(self, fn: Callable, units: list, shared: dict, done: Done | None = None) -> list:
        """fn(unit, **shared) for every unit, in order; done(finished, total) after each."""
        if self.workers <= 1 or len(units) <= 1:
            results = (fn(unit, **shared) for unit in units)
        else:
            from joblib import Parallel, delayed

            pool = Parallel(
                n_jobs=self.workers, backend="loky", max_nbytes=None, return_as="generator"
            )
            results = pool(delayed(fn)(unit, **shared) for unit in units)
        out = []
        for result in results:
            out.append(result)
            if done:
                done(len(out), len(units))
        return out

    def close(self) -> None:
        pass


class DaskExecutor:
    """Units on a Dask cluster: `scheduler` (tcp://host:8786), or a LocalCluster of `workers`
    single-threaded processes started here and closed with the executor."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int = 2) -> None:
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"},
            )
            self.client = Client(self.cluster)

    def map(self, fn: Callable, units: list, shared: dict, done: Done | None = None) -> list:
        """fn(unit, **shared) for every unit, in order; frames in `shared` go to each worker
        once (scatter), a unit whose worker dies is retried twice; done(finished, total) as
        units finish."""
        from dask.distributed import as_completed

        scattered = {
            k: self.client.scatter(v, broadcast=True) if isinstance(v, pd.DataFrame) else v
            for k, v in shared.items()
        }
        futures = [
            self.client.submit(fn, unit, **scattered, retries=2, pure=False) for unit in units
        ]
        for finished, _ in enumerate(as_completed(futures), 1):
            if done:
                done(finished, len(units))
        return self.client.gather(futures)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(name: str = "local", scheduler: str | None = None, workers: int = 1):
    """`local` (this machine; `workers` processes) or `dask` (`scheduler`, or a LocalCluster of
    `workers` processes)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, was {workers}")
    if name == "local":
        return LocalExecutor(workers)
    if name == "dask":
        return DaskExecutor(scheduler, workers)
    raise ValueError(f"executor must be 'local' or 'dask', was {name!r}")
