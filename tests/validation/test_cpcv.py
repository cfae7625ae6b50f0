"""Combinatorial purged CV: splits, purging and embargo around every test group, and paths."""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest

from edgecraft.validation.cpcv import CombinatorialPurgedCV


def _rows(hours: int, horizon: str = "24h"):
    ts = pd.date_range("2024-01-01", periods=hours, freq="1h", tz="UTC")
    return ts, pd.Series(ts + pd.Timedelta(horizon))


def test_every_split_purges_and_embargoes_around_each_of_its_test_groups():
    ts, t1 = _rows(24 * 60)
    cv = CombinatorialPurgedCV(groups=6, test_groups=2, embargo="12h")
    windows = list(cv.split(ts, t1))
    assert len(windows) == comb(6, 2)
    group = cv.group_of(ts)
    for w in windows:
        assert np.intersect1d(w.train, w.test).size == 0
        for g in np.unique(group[w.test]):
            block = ts[group == g]
            first, last = block.min(), block.max() + pd.Timedelta("24h")
            train_ts, train_t1 = ts[w.train], pd.DatetimeIndex(t1.iloc[w.train])
            # no training label overlaps the block, none starts within the embargo after it
            assert not ((train_ts <= last) & (train_t1 >= first)).any()
            assert not ((train_ts > last) & (train_ts <= last + pd.Timedelta("12h"))).any()
        # and training uses the past and the future of the test groups
        assert ts[w.train].min() < ts[w.test].max() or ts[w.train].max() > ts[w.test].min()


def test_paths_cover_every_group_once_from_splits_that_test_it():
    cv = CombinatorialPurgedCV(groups=6, test_groups=2)
    paths = cv.paths()
    assert len(paths) == cv.n_paths == comb(5, 1)
    used = set()
    for path in paths:
        assert sorted(path) == list(range(6))
        for g, split in path.items():
            assert g in cv.splits[split]
            used.add((g, split))
    assert len(used) == 6 * cv.n_paths  # no (group, split) prediction used twice


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="test_groups"):
        CombinatorialPurgedCV(groups=3, test_groups=3)
    ts = pd.DatetimeIndex([pd.Timestamp("2024-01-01", tz="UTC")] * 3)
    with pytest.raises(ValueError, match="spanning"):
        CombinatorialPurgedCV().group_of(ts)
