"""Shared fixtures: the real data folder (required) and real bars loaded once per session."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from edgecraft.data.layout import DataLayout, default_data_dir
from edgecraft.features.inputs import LAYOUT, EventCursor, build_inputs

os.environ.setdefault("NUMBA_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def layout() -> DataLayout:
    root = default_data_dir()
    if not (root / "ohlcv").is_dir():
        pytest.fail(f"real data not found at {root}; set EDGECRAFT_DATA to ../shared/data")
    return DataLayout(root)


@pytest.fixture(scope="session")
def real_bars(layout: DataLayout) -> pd.DataFrame:
    """Full 1h spot history of BTC, ETH, SOL and LINK (gaps, a flash crash and late listings)."""
    return layout.load_bars("spot", "1h", ["BTC/USDT", "ETH/USDT", "SOL/USDT", "LINK/USDT"])


@pytest.fixture(scope="session")
def eth_inputs(layout: DataLayout, real_bars: pd.DataFrame):
    """ETH/USDT's full input matrix (bars, BTC and ETH closes, funding, Fear & Greed) and its ts."""
    eth = real_bars.xs("ETH/USDT", level="symbol")
    x = build_inputs(
        eth,
        real_bars.xs("BTC/USDT", level="symbol")["close"],
        eth["close"],
        EventCursor(layout.load_funding("ETH/USDT")),
        EventCursor(layout.load_fear_greed(), pd.Timedelta("1h")),
    )
    return eth.index.as_unit("ns").asi8, x, LAYOUT
