"""Purged walk-forward splits: train on the past only, drop labels reaching into the test window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Window:
    """One walk-forward step: train and test row positions and the test window's time span."""

    number: int
    train: np.ndarray
    test: np.ndarray
    test_start: pd.Timestamp
    test_end: pd.Timestamp


@dataclass(frozen=True)
class PurgedWalkForward:
    """Walk-forward over fixed-length test windows, with purging by `t1` and an embargo.

    Parameters
    ----------
    test_length:
        Length of each test window ("90d"). Windows tile the time after `min_train`.
    train_length:
        None: expanding training window (all the past). Otherwise a rolling window ("365d").
    min_train:
        Time before the first test window ("365d"), so the first model has enough history.
    embargo:
        Rows whose ts lies within `embargo` before a test window are dropped from its training set
        as well, beyond the purge: serially correlated features near the boundary cannot leak.
    purge:
        Drop training rows whose label is not known before the test window starts (t1 >= start).
        Always on in real runs; off only to show, in tests, what leakage looks like.
    """

    test_length: str = "90d"
    train_length: str | None = None
    min_train: str = "365d"
    embargo: str = "24h"
    purge: bool = True

    def split(self, ts: pd.Index, t1: pd.Series) -> Iterator[Window]:
        """Yield windows over rows with event times `ts` and label-known times `t1` (same order)."""
        times = pd.DatetimeIndex(ts)
        known = pd.DatetimeIndex(t1)
        if len(times) == 0:
            return
        step = pd.Timedelta(self.test_length)
        start = times.min() + pd.Timedelta(self.min_train)
        last = times.max()
        embargo = pd.Timedelta(self.embargo)
        number = 0
        while start <= last:
            end = start + step  # test window is [start, end)
            test = np.flatnonzero((times >= start) & (times < end))
            train_mask = times < start - embargo
            if self.train_length is not None:
                train_mask &= times >= start - pd.Timedelta(self.train_length)
            if self.purge:
                train_mask &= known < start  # NaT (unknown label) compares False: dropped
            train = np.flatnonzero(train_mask)
            if len(test) and len(train):
                yield Window(number, train, test, start, min(end, last + pd.Timedelta(1)))
                number += 1
            start = end


@dataclass(frozen=True)
class UnpurgedKFold:
    """Shuffled K-fold, no purge, no embargo: the classic leak, kept only as a test baseline."""

    n_splits: int = 5
    seed: int = 0

    def split(self, ts: pd.Index, t1: pd.Series) -> Iterator[Window]:
        order = np.random.default_rng(self.seed).permutation(len(ts))
        times = pd.DatetimeIndex(ts)
        for number, test in enumerate(np.array_split(order, self.n_splits)):
            train = np.setdiff1d(order, test)
            test = np.sort(test)
            yield Window(number, train, test, times[test].min(), times[test].max())


def purged_complement(
    ts: pd.Index, t1: pd.Series, test: np.ndarray, embargo: str | pd.Timedelta
) -> np.ndarray:
    """Rows outside the boolean `test` block that may train a model judged on it, in any order
    of time (López de Prado, AFML 7.4): a row whose label span [ts, t1] overlaps the block's
    [first ts, last t1] is purged, and so is a row starting within `embargo` after the block, or
    with no known label. Returns a boolean mask."""
    times, known = pd.DatetimeIndex(ts), pd.DatetimeIndex(t1)
    test = np.asarray(test, dtype=bool)
    if not test.any():
        return ~test & ~known.isna()
    first = times[test].min()
    last = (
        max(known[test].max(), times[test].max())
        if known[test].notna().any()
        else times[test].max()
    )
    overlaps = np.asarray((times <= last) & (known >= first))
    embargoed = np.asarray((times > last) & (times <= last + pd.Timedelta(embargo)))
    return ~test & ~overlaps & ~embargoed & ~np.asarray(known.isna())


SPLITTERS = {"walk_forward": PurgedWalkForward, "unpurged_kfold": UnpurgedKFold}
