"""Shared fixtures: the real data folder (required) and real bars loaded once per session."""

from __future__ import annotations

import os
import tempfile
import uuid

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.data.layout import DataLayout, default_data_dir
from edgecraft.features.inputs import LAYOUT, EventCursor, build_inputs

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
# runs log to MLflow by default: keep the suite's store (and Prefect's database) out of the
# checkout, one per session
_STATE = tempfile.mkdtemp(prefix="edgecraft-tests-")
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_STATE}/mlflow.db"
os.environ["PREFECT_HOME"] = f"{_STATE}/prefect"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
POSTGRES = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def postgres_db():
    """A fresh PostgreSQL database (trust auth on 127.0.0.1:5432), dropped afterwards."""
    import psycopg

    name = f"edgecraft_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield f"{POSTGRES}/{name}"
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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


# channels with no stored history in the data folder are fed a real series of their cadence
# (what the contract tests check is the kernel and the as-of alignment, not the provider)
STAND_INS = {
    "open_interest": ("cmc_fear_greed", None),
    "exchange_netflow": ("coinmetrics", "TxCnt"),
    "whale_volume": ("cmc_fear_greed", None),
    "whale_netflow": ("cmc_fear_greed", None),
    "social_sentiment": ("cmc_fear_greed", None),
    "social_volume": ("cmc_fear_greed", None),
    "news_sentiment": ("cmc_fear_greed", None),
    "news_volume": ("cmc_fear_greed", None),
}


@pytest.fixture(scope="session")
def channel_inputs(layout: DataLayout, real_bars: pd.DataFrame, eth_inputs):
    """Real input matrices for every channel: ETH/USDT 1h bars with its on-chain, stablecoin and
    stand-in channels as-of each bar, and 1-second bars of BTC/USDT's recorded L2 book and tick
    trades (spot) with the book and trade channels and taker-buy volume."""
    import numpy as np

    from edgecraft.data.bars import checked
    from edgecraft.data.external import MARKET
    from edgecraft.data.schemas import FEAR_GREED_CMC
    from edgecraft.data.validate import validate_file
    from edgecraft.features.config import MARKET_CHANNELS, FeaturesConfig
    from edgecraft.features.inputs import CHANNELS
    from edgecraft.features.microstructure import book_channels, trade_bars

    config = FeaturesConfig()
    ts, x, _ = eth_inputs
    x = x.copy()
    path = layout.root / "sentiment" / "fear_greed_coinmarketcap.parquet"
    frame = checked(validate_file(path, FEAR_GREED_CMC))
    cmc = pd.Series(frame["value"].to_numpy(float), index=pd.DatetimeIndex(frame["timestamp"]))
    chain = pd.read_parquet(layout.root / "onchain" / "coinmetrics_eth_daily.parquet")
    for channel in CHANNELS:
        if channel.startswith(("book_", "trade_")):
            continue
        if channel in STAND_INS:
            kind, column = STAND_INS[channel]
            series = (
                cmc
                if kind == "cmc_fear_greed"
                else pd.Series(chain[column].to_numpy(float), index=pd.DatetimeIndex(chain["date"]))
            )
        else:
            asset = MARKET if channel in MARKET_CHANNELS else "ETH"
            # ETH has no MVRV in the Coin Metrics archive: BTC's stands in
            series = layout.external.series(channel, asset)
            if series is None:
                series = layout.external.series(channel, "BTC")
        cursor = config.channel_cursor(channel, series)
        x[:, LAYOUT[channel]], x[:, LAYOUT[f"{channel}_time"]] = cursor.asof_many(ts)
    hourly = (ts, x, LAYOUT)

    l2, trades = layout.recordings("spot", "BTC/USDT")
    flow = trade_bars(trades, "1s")
    grid = pd.date_range(flow.index[0], flow.index[-1], freq="1s")
    flow = flow.reindex(grid)
    flow[["volume", "taker_buy_volume"]] = flow[["volume", "taker_buy_volume"]].fillna(0.0)
    sec_ts = grid.as_unit("ns").asi8
    xs = np.full((len(grid), len(LAYOUT)), np.nan)
    xs[:, LAYOUT["volume"]] = flow["volume"].to_numpy()
    xs[:, LAYOUT["taker_buy_volume"]] = flow["taker_buy_volume"].to_numpy()
    for channel, series in book_channels(l2, trades, "1s", config.book_levels).items():
        cursor = EventCursor(series, max_age=pd.Timedelta("5s"))
        xs[:, LAYOUT[channel]], xs[:, LAYOUT[f"{channel}_time"]] = cursor.asof_many(sec_ts)
    return {"hourly": hourly, "seconds": (sec_ts, xs, LAYOUT)}


SMALL_RUN = {
    "name": "small",
    "symbols": ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
    "start": "2022-01-01",
    "end": "2024-06-30",
    "features": {"timeframes": ["1h", "4h"]},
    "label": {"horizons": ["4h", "24h"]},
    "model": {"name": "lgbm", "params": {"n_estimators": 30, "min_child_samples": 300}},
    "validation": {
        "test_length": "120d",
        "min_train": "240d",
        "cpcv": {"groups": 4, "test_groups": 2},
    },
    # three pairs: one long, one short in the long-short book
    "books": {"long_short": {"quantile": 0.34, "min_symbols": 3}},
}


@pytest.fixture(scope="session")
def finished_run(layout, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    config = out / "small.yaml"
    config.write_text(yaml.safe_dump(SMALL_RUN))
    result = CliRunner().invoke(
        app, ["run", "--config", str(config), "--data", str(layout.root), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


# a reduced ensemble of every family: LightGBM (4h horizon), XGBoost, LSTM, a Transformer on a
# 4h bar with a 48h horizon, a stacked meta-model and PPO sizing
SEQUENCE = {"hidden": 16, "epochs": 2, "batch_size": 128}
MEMBERS = [
    {"name": "lgbm", "horizon": "4h", "params": {"n_estimators": 30, "min_child_samples": 300}},
    {"name": "xgb", "params": {"n_estimators": 30, "min_child_samples": 300}},
    {"name": "lstm", "params": {"lookback": 24, **SEQUENCE}, "max_train_rows": 4000},
    {
        "name": "transformer",
        "bar": "4h",
        "horizon": "48h",
        "params": {"lookback": 12, **SEQUENCE},
        "max_train_rows": 2000,
    },
]
ENSEMBLE_RUN = {
    "name": "ensemble-small",
    "symbols": ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
    "start": "2023-01-01",
    "end": "2024-06-30",
    "features": {"timeframes": ["1h", "4h"]},
    "label": {"horizons": ["24h"]},
    "ensemble": {
        "inner_folds": 2,
        "members": MEMBERS,
        "sizing": {"algo": "ppo", "timesteps": 3000},
    },
    "signals": {"full_size_confidence": 0.6},
    # a risk manager that trades often, with resting limits and slices, so a served paper book
    # and the backtest have orders and fills to agree on
    "risk": {
        "min_confidence": 0.5,
        "min_edge_to_cost": 0.0,
        "market_confidence": 0.56,
        "slice_above": 0.03,
    },
    "validation": {"test_length": "120d", "min_train": "240d"},
}


@pytest.fixture(scope="session")
def finished_ensemble_run(layout, tmp_path_factory):
    """`edgecraft run` of ENSEMBLE_RUN (about a minute), shared by the ensemble and serving
    tests."""
    out = tmp_path_factory.mktemp("ensemble-runs")
    config = out / "ensemble.yaml"
    config.write_text(yaml.safe_dump(ENSEMBLE_RUN))
    result = CliRunner().invoke(
        app, ["run", "--config", str(config), "--data", str(layout.root), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder
