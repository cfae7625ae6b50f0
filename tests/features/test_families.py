"""The on-chain, market, sentiment and microstructure families through the feature builder on the
real data folder: publication lags, max ages, coverage notes, and batch = live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.data.bars import iter_bars
from edgecraft.data.layout import DataLayout
from edgecraft.features.builder import FeatureBuilder
from edgecraft.features.config import FeaturesConfig, FeatureSpec
from edgecraft.features.stream import FeatureStream

FAMILIES = [
    "logret",
    "funding",
    "fear_greed",
    "onchain_active",
    "onchain_mvrv",
    "stablecoin_dominance",
    "book_spread",
    "book_imbalance",
    "trade_imbalance",
    "taker_flow",
]


@pytest.fixture(scope="module")
def builder(layout):
    config = FeaturesConfig(
        timeframes=["1h"], features=[FeatureSpec(name=n) for n in FAMILIES], normalize=[]
    )
    return FeatureBuilder(layout, config)


def _window(layout: DataLayout, start: str, end: str) -> pd.DataFrame:
    bars = layout.load_bars("spot", "1h", ["BTC/USDT", "ETH/USDT"])
    ts = bars.index.get_level_values("ts")
    return bars[(ts >= start) & (ts <= end)]


def test_daily_on_chain_values_are_used_only_after_publication(builder, layout):
    bars = _window(layout, "2020-07-01", "2020-08-10")
    frame = builder.build(bars, "ETH/USDT").droplevel("symbol")
    daily = pd.read_parquet(layout.root / "onchain" / "coinmetrics_eth_daily.parquet")
    known = pd.Series(
        np.log(daily["AdrActCnt"].to_numpy()),
        index=pd.DatetimeIndex(daily["date"]) + pd.Timedelta("26h"),
    )
    at = frame.index[(frame.index >= "2020-07-05") & (frame.index <= "2020-07-28 00:00")]
    expected = known.reindex(at, method="ffill")
    np.testing.assert_allclose(frame.loc[at, "onchain_active"], expected.to_numpy())
    # the archive ends 2020-07-27 (known 07-28 02:00); 72h later the value is missing, not stale
    assert frame.loc["2020-07-31 01:00", "onchain_active"] == pytest.approx(known.iloc[-1])
    assert np.isnan(frame.loc["2020-07-31 03:00":, "onchain_active"]).all()
    # ETH's archive has no MVRV: NaN, and the coverage note says why
    assert frame["onchain_mvrv"].isna().all()
    assert "no source for ETH" in builder.coverage(["ETH/USDT"])["chain_mvrv"]["ETH"]["note"]


def test_stablecoin_dominance_is_nan_in_the_uncovered_gap_with_its_reason(builder, layout):
    bars = _window(layout, "2020-12-01", "2021-07-15")
    frame = builder.build(bars, "BTC/USDT").droplevel("symbol")
    assert frame.loc["2021-01-01":"2021-05-31", "market_stable_dominance"].isna().all()
    later = frame.loc["2021-06-10":"2021-07-15", "market_stable_dominance"]
    assert later.notna().all() and later.between(0.02, 0.3).all()
    note = builder.coverage(["BTC/USDT"])["stable_dominance"]["market"]["note"]
    assert "not available" in note and "proxy" in note


def test_order_book_families_reach_the_bar_that_closes_after_the_recording(builder, layout):
    bars = _window(layout, "2024-08-08 20:00", "2024-08-09 03:00")
    frame = builder.build(bars, "BTC/USDT").droplevel("symbol")
    l2, _ = layout.recordings("spot", "BTC/USDT")
    from edgecraft.features.microstructure import book_bars

    expected = book_bars(l2, "1h", builder.config.book_levels)
    assert (
        frame.loc["2024-08-09 00:00", "micro_imbalance"]
        == expected.loc["2024-08-09 00:00", "imbalance"]
    )
    assert np.isnan(frame.loc["2024-08-08 23:00", "micro_imbalance"])  # before the recording
    assert np.isnan(frame.loc["2024-08-09 02:00", "micro_imbalance"])  # past its max age
    # no taker-buy volume in these bars: the trade-flow family is NaN, never invented
    assert frame["micro_taker_flow_1"].isna().all()


def test_live_stream_with_channels_equals_the_batch_build(builder, layout):
    bars = _window(layout, "2020-06-15", "2020-08-05")
    batch = {s: builder.build(bars, s).droplevel("symbol") for s in ("BTC/USDT", "ETH/USDT")}
    config = builder.config
    channels = {
        s: {ch: config.channel_cursor(ch, series) for ch, series in builder.external(s).items()}
        for s in batch
    }
    stream = FeatureStream(
        builder.features,
        config.references,
        {s: config.funding_cursor(layout.load_funding(s)) for s in batch},
        config.fear_greed_cursor(layout.load_fear_greed()),
        channels,
    )
    live = {s: [] for s in batch}
    for bar, row in stream.on_bars(iter_bars(bars)):
        live[bar.symbol].append(row)
    for symbol, frame in batch.items():
        got = np.array(live[symbol])
        np.testing.assert_allclose(got, frame.to_numpy(), rtol=1e-9, atol=1e-12)
        assert np.isfinite(frame["onchain_active"]).sum() > 500


def test_a_taker_flow_table_fills_the_bars_and_the_trade_flow_family(layout, tmp_path):
    """A `taker_flow/` table (the layout Binance's hourly taker volumes come in) reaches the spot
    1h bars by open time + 1h and the `taker_flow` feature; here built from the recorded ticks."""
    from edgecraft.features.microstructure import trade_bars

    for entry in layout.root.iterdir():
        (tmp_path / entry.name).symlink_to(entry)
    _, trades = layout.recordings("spot", "BTC/USDT")
    hourly = trade_bars(trades, "1h")  # stamped by close time
    table = pd.DataFrame(
        {
            "timestamp": hourly.index - pd.Timedelta("1h"),  # the table's open-time stamps
            "symbol": "BTCUSDT",
            "volume": hourly["volume"].to_numpy(),
            "taker_buy_volume": hourly["taker_buy_volume"].to_numpy(),
        }
    )
    (tmp_path / "taker_flow").mkdir()
    table.to_parquet(tmp_path / "taker_flow" / "binance_spot_taker_flow_1h.parquet", index=False)
    local = DataLayout(tmp_path)
    bars = _window(local, "2024-08-08 20:00", "2024-08-09 03:00")
    btc = bars.xs("BTC/USDT", level="symbol")
    assert btc["taker_buy_volume"].notna().sum() == 2
    assert btc.loc["2024-08-09 00:00", "taker_buy_volume"] == hourly["taker_buy_volume"].iloc[0]
    config = FeaturesConfig(
        timeframes=["1h"], features=[FeatureSpec(name="taker_flow")], normalize=[]
    )
    frame = FeatureBuilder(local, config).build(bars, "BTC/USDT").droplevel("symbol")
    # the kline-level imbalance uses the bar's own volume, which is the whole hour's
    expected = 2 * hourly["taker_buy_volume"].iloc[0] / btc.loc["2024-08-09 00:00", "volume"] - 1
    assert frame.loc["2024-08-09 00:00", "micro_taker_flow_1"] == pytest.approx(expected)
    assert frame["micro_taker_flow_1"].notna().sum() == 2  # the hours without taker volume: NaN
    assert frame["micro_taker_flow_24"].isna().all()  # 24 bars of taker volume not yet seen
