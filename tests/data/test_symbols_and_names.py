"""Symbol and file-name parsing, and timeframe bucketing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edgecraft.core.errors import ConfigError
from edgecraft.core.timeframes import bucket_end_ns, timeframe_seconds
from edgecraft.data.bars import parse_bar_file_name
from edgecraft.data.symbols import exchange_id, unify


@pytest.mark.parametrize(
    ("text", "unified"),
    [
        ("BTCUSDT", "BTC/USDT"),
        ("btc_usdt", "BTC/USDT"),
        ("ETH/USDT:USDT", "ETH/USDT"),
        ("1000PEPEUSDT", "1000PEPE/USDT"),
        ("ETHBTC", "ETH/BTC"),
    ],
)
def test_unify_symbols(text, unified):
    assert unify(text) == unified
    assert exchange_id(unified) == unified.replace("/", "")


@pytest.mark.parametrize("bad", ["", "USDT", "BTC/", "B-T-C", "BTC USDT"])
def test_unify_rejects_what_is_not_a_pair(bad):
    with pytest.raises(ConfigError):
        unify(bad)


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("binance_spot_BTCUSDT_1h.parquet", ("BTC/USDT", "1h")),
        ("binance_usdm_ETHUSDT_15m.parquet", ("ETH/USDT", "15m")),
        ("BTC_USDT-4h.csv", ("BTC/USDT", "4h")),
        ("SOLUSDT_5m.csv", ("SOL/USDT", "5m")),
        ("prices.csv", (None, None)),
    ],
)
def test_bar_file_names(name, parsed):
    assert parse_bar_file_name(Path(name)) == parsed


def test_timeframes_and_buckets():
    assert timeframe_seconds("15m") == 900 and timeframe_seconds("1d") == 86400
    with pytest.raises(ConfigError):
        timeframe_seconds("0h")
    ts = pd.to_datetime(
        ["2024-01-01 01:00", "2024-01-01 04:00", "2024-01-01 05:00", "2024-01-02 00:00"], utc=True
    )
    ends = bucket_end_ns(ts.as_unit("ns").asi8, "4h")
    expected = (
        pd.to_datetime(
            ["2024-01-01 04:00", "2024-01-01 04:00", "2024-01-01 08:00", "2024-01-02 00:00"],
            utc=True,
        )
        .as_unit("ns")
        .asi8
    )
    np.testing.assert_array_equal(ends, expected)
