"""The whole feature frame: batch equals live on real data, no look-ahead, closed bars only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.data.bars import iter_bars
from edgecraft.features.config import FeaturesConfig
from edgecraft.features.inputs import EventCursor, build_inputs
from edgecraft.features.stream import FeatureStream

REFS = ("BTC/USDT", "ETH/USDT")


@pytest.fixture(scope="module")
def setup(layout, real_bars):
    config = FeaturesConfig()
    funding = {s: EventCursor(layout.load_funding(s)) for s in ["BTC/USDT", "ETH/USDT", "SOL/USDT"]}
    fear_greed = layout.load_fear_greed()
    return config, config.build(), funding, fear_greed


def batch_frame(features, bars, symbol, funding, fear_greed, lag="1h") -> pd.DataFrame:
    own = bars.xs(symbol, level="symbol")
    x = build_inputs(
        own,
        bars.xs(REFS[0], level="symbol")["close"],
        bars.xs(REFS[1], level="symbol")["close"],
        funding.get(symbol),
        EventCursor(fear_greed, pd.Timedelta(lag)),
    )
    return features.frame(own.index, x)


def test_featureset_live_equals_batch_on_real_data(setup, real_bars):
    config, features, funding, fear_greed = setup
    bars = real_bars[real_bars.index.get_level_values("ts") >= "2021-01-01"]
    stream = FeatureStream(features, REFS, funding, EventCursor(fear_greed, pd.Timedelta("1h")))
    records = iter_bars(bars)
    live: dict[str, list[np.ndarray]] = {}
    for bar, row in stream.on_bars(records):
        live.setdefault(bar.symbol, []).append(row)
    for symbol, rows in live.items():
        expected = batch_frame(features, bars, symbol, funding, fear_greed).to_numpy()
        got = np.array(rows)
        assert got.shape == expected.shape
        mismatch = ~(
            (np.isnan(got) & np.isnan(expected)) | np.isclose(got, expected, rtol=1e-9, atol=0)
        )
        bad = sorted({features.columns[j] for j in np.flatnonzero(mismatch.any(axis=0))})
        assert not bad, f"{symbol}: live differs from batch in {bad}"
        assert np.isfinite(expected[-1]).mean() > 0.8


@pytest.mark.parametrize(
    "cut", ["2022-03-01 02:00", "2023-07-15 13:00", "2024-11-30 23:00", "2025-01-01 00:00"]
)
def test_featureset_row_at_t_is_the_same_without_data_after_t(setup, real_bars, cut):
    _, features, funding, fear_greed = setup
    full = batch_frame(features, real_bars, "SOL/USDT", funding, fear_greed)
    cut_ts = pd.Timestamp(cut, tz="UTC")
    past = real_bars[real_bars.index.get_level_values("ts") <= cut_ts]
    truncated = batch_frame(features, past, "SOL/USDT", funding, fear_greed)
    pd.testing.assert_frame_equal(truncated, full.loc[:cut_ts], check_exact=True)


def test_higher_timeframe_bar_is_used_only_after_it_closes(setup, real_bars):
    _, features, funding, fear_greed = setup
    frame = batch_frame(features, real_bars, "ETH/USDT", funding, fear_greed)
    close = real_bars.xs("ETH/USDT", level="symbol")["close"]
    day = pd.Timestamp("2024-03-05", tz="UTC")
    ret4h = frame["tech_logret_1_4h"]
    # the 4h bar closing at 12:00 is first seen at 12:00 and held until 16:00
    expected = np.log(close[day + pd.Timedelta("12h")] / close[day + pd.Timedelta("8h")])
    for hour in (12, 13, 14, 15):
        assert ret4h[day + pd.Timedelta(hours=hour)] == pytest.approx(expected, rel=1e-12)
    assert ret4h[day + pd.Timedelta("11h")] != pytest.approx(expected)
    ret1d = frame["tech_logret_1_1d"]
    expected_day = np.log(close[day] / close[day - pd.Timedelta("1d")])
    assert ret1d[day + pd.Timedelta("23h")] == pytest.approx(expected_day, rel=1e-12)
    assert ret1d[day + pd.Timedelta("24h")] != pytest.approx(expected_day)


def test_funding_is_used_from_its_funding_time_on(setup, layout, real_bars):
    _, features, funding, fear_greed = setup
    frame = batch_frame(features, real_bars, "BTC/USDT", funding, fear_greed)
    rates = layout.load_funding("BTC/USDT")
    at = pd.Timestamp("2024-06-01 08:00", tz="UTC")
    assert frame.loc[at, "funding_rate"] == rates[at]
    assert frame.loc[at - pd.Timedelta("1h"), "funding_rate"] == rates[at - pd.Timedelta("8h")]
    assert frame.loc[at, "funding_rate_change"] == pytest.approx(
        rates[at] - rates[at - pd.Timedelta("8h")]
    )


def test_fear_greed_is_used_only_after_its_publication_lag(setup, layout, real_bars):
    _, features, funding, fear_greed = setup
    frame = batch_frame(features, real_bars, "BTC/USDT", funding, fear_greed)
    day = pd.Timestamp("2024-02-10", tz="UTC")
    assert frame.loc[day, "sentiment_fng"] == fear_greed[day - pd.Timedelta("1d")]
    assert frame.loc[day + pd.Timedelta("1h"), "sentiment_fng"] == fear_greed[day]


def test_cross_asset_is_nan_when_the_reference_has_no_bar(setup, real_bars):
    _, features, funding, fear_greed = setup
    sol = real_bars.xs("SOL/USDT", level="symbol")
    hole = sol.index[len(sol) // 2]
    bars = real_bars.drop(index=(hole, "BTC/USDT"))
    frame = batch_frame(features, bars, "SOL/USDT", funding, fear_greed)
    assert np.isnan(frame.loc[hole, "cross_ref_corr_168"])
    assert np.isfinite(frame.loc[hole + pd.Timedelta("1h"), "cross_ref_corr_168"])


def test_config_rejects_unknown_feature_and_bad_timeframe():
    with pytest.raises(ValueError, match="unknown feature 'rsj'"):
        FeaturesConfig(features=[{"name": "rsj"}])
    with pytest.raises(ValueError, match="timeframe"):
        FeaturesConfig(base_timeframe="1x")
    with pytest.raises(ValueError, match="not a multiple"):
        FeaturesConfig(base_timeframe="1h", timeframes=["1h", "90m"]).build()
    with pytest.raises(ValueError, match="extra"):
        FeaturesConfig(normalise=["x"])


def test_featureset_runs_on_15m_base_bars(layout):
    bars = layout.load_bars("perp", "15m", ["BTC/USDT"])
    config = FeaturesConfig(
        base_timeframe="15m",
        timeframes=["15m", "1h", "4h"],
        features=[{"name": "rsi"}, {"name": "logret"}],
    )
    features = config.build()
    own = bars.xs("BTC/USDT", level="symbol")
    frame = features.frame(own.index, build_inputs(own))
    assert {"tech_rsi_14_15m", "tech_rsi_14_1h", "tech_rsi_14_4h"} <= set(frame.columns)
    assert frame.iloc[-1].notna().all()


def test_external_series_are_not_carried_past_their_max_age(layout, real_bars):
    config = FeaturesConfig()
    features = config.build()
    btc = real_bars.xs("BTC/USDT", level="symbol")
    x = build_inputs(
        btc,
        btc["close"],
        real_bars.xs("ETH/USDT", level="symbol")["close"],
        config.funding_cursor(layout.load_funding("BTC/USDT")),
        config.fear_greed_cursor(layout.load_fear_greed()),
    )
    frame = features.frame(btc.index, x)
    last_published = layout.load_fear_greed().index[-1]  # the file ends 2025-03-02
    fresh = last_published + pd.Timedelta("1h")
    assert np.isfinite(frame.loc[fresh, "sentiment_fng"])
    assert np.isfinite(frame.loc[fresh + pd.Timedelta("71h"), "sentiment_fng"])
    assert frame.loc[fresh + pd.Timedelta("73h") :, "sentiment_fng"].isna().all()
    assert frame["funding_rate"].iloc[-1] == layout.load_funding("BTC/USDT").iloc[-1]
