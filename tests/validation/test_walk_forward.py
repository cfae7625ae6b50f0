"""Purged walk-forward: no training label reaches into a test window, for any label lengths."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from edgecraft.validation.walk_forward import PurgedWalkForward, UnpurgedKFold


def _rows(n_hours: int, symbols: int, lengths: list[int]) -> tuple[pd.Index, pd.Series]:
    ts = pd.date_range("2024-01-01", periods=n_hours, freq="h", tz="UTC").repeat(symbols)
    hours = np.resize(np.asarray(lengths, dtype=int), len(ts))
    t1 = pd.Series(ts + pd.to_timedelta(hours, unit="h"))
    t1[hours < 0] = pd.NaT  # labels never known (end of data)
    return pd.DatetimeIndex(ts), t1


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(-1, 200), min_size=1, max_size=50),
    symbols=st.integers(1, 3),
    test_hours=st.integers(24, 400),
    embargo_hours=st.integers(0, 48),
    rolling=st.booleans(),
)
def test_no_training_label_intersects_a_test_window(
    lengths, symbols, test_hours, embargo_hours, rolling
):
    ts, t1 = _rows(2000, symbols, lengths)
    splitter = PurgedWalkForward(
        test_length=f"{test_hours}h",
        min_train="300h",
        embargo=f"{embargo_hours}h",
        train_length="500h" if rolling else None,
    )
    windows = list(splitter.split(ts, t1))
    assert windows or max(lengths) < 0
    for w in windows:
        start, end = w.test_start, w.test_end
        assert ((ts[w.test] >= start) & (ts[w.test] < end)).all()
        train_ts, train_t1 = ts[w.train], pd.DatetimeIndex(t1.iloc[w.train])
        assert train_t1.notna().all()
        # the label interval [ts, t1] of every training row ends before the test window
        assert (train_t1 < start).all() and (
            train_ts < start - pd.Timedelta(f"{embargo_hours}h")
        ).all()
        if rolling:
            assert (train_ts >= start - pd.Timedelta("500h")).all()
    tested = np.concatenate([w.test for w in windows] or [np.array([], dtype=int)])
    assert len(tested) == len(np.unique(tested))  # test windows do not overlap


def test_test_windows_tile_the_time_after_min_train():
    ts, t1 = _rows(24 * 100, 2, [24])
    windows = list(PurgedWalkForward("10d", min_train="30d", embargo="0h").split(ts, t1))
    assert len(windows) == 7
    assert windows[0].test_start == ts[0] + pd.Timedelta("30d")
    assert sum(len(w.test) for w in windows) == 2 * 24 * 70


def test_without_purge_training_labels_reach_into_the_test_window():
    ts, t1 = _rows(24 * 60, 1, [48])
    splitter = PurgedWalkForward("10d", min_train="20d", embargo="0h", purge=False)
    leaked = [w for w in splitter.split(ts, t1) if (t1.iloc[w.train] >= w.test_start).any()]
    assert leaked


def test_unpurged_kfold_covers_every_row_once():
    ts, t1 = _rows(500, 1, [10])
    tests = np.concatenate([w.test for w in UnpurgedKFold(5).split(ts, t1)])
    assert sorted(tests) == list(range(500))


def test_purged_complement_drops_overlapping_labels_on_both_sides_and_the_embargo():
    from edgecraft.validation.walk_forward import purged_complement

    ts = pd.date_range("2024-01-01", periods=24 * 40, freq="1h", tz="UTC")
    t1 = pd.Series(ts + pd.Timedelta("24h"))
    test = np.asarray((ts >= "2024-01-15") & (ts < "2024-01-25"))
    train = purged_complement(ts, t1, test, "12h")
    first, last = ts[test].min(), t1[test].max()
    assert not (train & test).any()
    overlaps = (ts <= last) & (t1.to_numpy() >= first)
    assert (~test & overlaps).any()  # the plain complement would train on these
    assert not (train & overlaps).any()
    after = ts > last
    assert not (train & after & (ts <= last + pd.Timedelta("12h"))).any()  # embargoed
    assert train[ts > last + pd.Timedelta("12h")].all()  # later rows train it too
    assert train[ts < first - pd.Timedelta("24h")].all()  # labels known before the block
    t1_unknown = t1.copy()
    t1_unknown.iloc[0] = pd.NaT
    assert not purged_complement(ts, t1_unknown, test, "12h")[0]
