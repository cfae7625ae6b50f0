"""The Parquet store: atomic writes, appends without duplicates, DuckDB queries, no bad rows."""

from __future__ import annotations

import pandas as pd
import pytest

from edgecraft.core.errors import DataError
from edgecraft.data.layout import DataLayout
from edgecraft.data.store import ParquetStore
from tests.factories import make_bars, to_file_frame


@pytest.fixture
def klines() -> pd.DataFrame:
    return to_file_frame(make_bars(100, seed=5))


def test_append_adds_only_new_rows_and_counts_revisions(tmp_path, klines):
    store = ParquetStore(tmp_path)
    first = store.append_bars("spot", "1h", "BTC/USDT", klines.iloc[:60])
    assert (first.added, first.replaced, first.rows) == (60, 0, 60)
    revised = klines.iloc[50:].copy()
    revised.loc[55, "volume"] += 1.0
    second = store.append_bars("spot", "1h", "BTC/USDT", revised)
    assert (second.added, second.replaced, second.rows) == (40, 1, 100)
    stored = pd.read_parquet(second.path)
    assert stored["timestamp"].is_unique and stored["timestamp"].is_monotonic_increasing
    assert stored.loc[55, "volume"] == revised.loc[55, "volume"]
    again = store.append_bars("spot", "1h", "BTC/USDT", klines)
    assert (again.added, again.rows) == (0, 100)


def test_bad_rows_are_refused_and_the_file_is_untouched(tmp_path, klines):
    store = ParquetStore(tmp_path)
    path = store.append_bars("spot", "1h", "BTC/USDT", klines.iloc[:50]).path
    before = path.read_bytes()
    bad = klines.iloc[50:].copy()
    bad.loc[70, "high"] = bad.loc[70, "low"] / 2
    with pytest.raises(DataError, match="row 21: high .* is below low"):
        store.append_bars("spot", "1h", "BTC/USDT", bad)
    assert path.read_bytes() == before


def test_a_crash_while_writing_leaves_the_old_file_and_no_temp_files(tmp_path, klines, monkeypatch):
    store = ParquetStore(tmp_path)
    path = store.append_bars("spot", "1h", "BTC/USDT", klines.iloc[:50]).path
    before = path.read_bytes()

    def crash(self, target, **kwargs):
        with open(target, "wb") as handle:
            handle.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash)
    with pytest.raises(OSError, match="disk full"):
        store.append_bars("spot", "1h", "BTC/USDT", klines.iloc[50:])
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_store_is_a_data_folder_queried_by_duckdb(tmp_path, klines):
    store = ParquetStore(tmp_path)
    store.append_bars("spot", "1h", "BTC/USDT", klines)
    store.append_bars("spot", "1h", "ETH/USDT", klines.iloc[:30])
    counts = store.query(
        "select regexp_extract(filename, '_([A-Z]+)_1h', 1) as s, count(*) as n "
        "from bars group by 1 order by 1"
    )
    assert counts.to_dict("list") == {"s": ["BTCUSDT", "ETHUSDT"], "n": [100, 30]}
    assert (
        store.last_time(store.bars_path("spot", "1h", "BTC/USDT")) == klines["timestamp"].iloc[-1]
    )
    assert store.last_time(store.bars_path("spot", "1h", "SOL/USDT")) is None
    bars = DataLayout(tmp_path).load_bars("spot", "1h")
    assert len(bars) == 130 and bars.index.get_level_values("ts")[0] == (
        klines["timestamp"].iloc[0] + pd.Timedelta("1h")
    )
