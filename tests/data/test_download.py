"""`Downloader` against a local server replaying Binance's REST API: pages, 429, timeout, resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.data.download import Downloader, RetryPolicy, make_exchange
from edgecraft.data.external import read_channel
from edgecraft.data.layout import DataLayout
from edgecraft.data.store import ParquetStore
from tests.replay_binance import BinanceReplay

START = pd.Timestamp("2024-01-01", tz="UTC")


@pytest.fixture(scope="module")
def real_klines(layout):
    path = layout.bar_files("spot", "1h")["BTC/USDT"]
    frame = pd.read_parquet(path)
    frame = frame[(frame["timestamp"] >= START) & (frame["timestamp"] < "2024-04-01")]
    funding = pd.read_parquet(layout.root / "funding" / "binance_usdm_BTCUSDT_funding.parquet")
    return frame.reset_index(drop=True), funding[funding["timestamp"] >= START]


def _downloader(server, store, now, timeout_ms=2000):
    exchange = make_exchange("binance", api_base=server.url, timeout_ms=timeout_ms)
    exchange.enableRateLimit = False
    waits: list[float] = []
    return Downloader(
        exchange,
        store,
        page_limit=500,
        policy=RetryPolicy(attempts=4, backoff_s=0.01),
        now=lambda: now,
        sleep=waits.append,
    ), waits


def test_backfill_pages_retries_429_and_timeout_and_keeps_only_closed_bars(tmp_path, real_klines):
    klines, funding = real_klines
    now = pd.Timestamp("2024-02-15 10:30", tz="UTC")
    with BinanceReplay({"BTCUSDT": klines}, {"BTCUSDT": funding}, now) as server:
        server.faults = [("/api/v3/klines", "429"), ("/api/v3/klines", "timeout:1.5")]
        downloader, waits = _downloader(server, ParquetStore(tmp_path), now, timeout_ms=700)
        added = downloader.bars("spot", "1h", "BTC/USDT", START)
    stored = pd.read_parquet(ParquetStore(tmp_path).bars_path("spot", "1h", "BTC/USDT"))
    expected = klines[klines["timestamp"] <= "2024-02-15 09:00"].reset_index(drop=True)
    assert added == len(expected) == len(stored)
    pd.testing.assert_frame_equal(stored[expected.columns], expected, check_dtype=False)
    assert (stored["taker_buy_volume"] == stored["volume"] / 2).all()
    assert len(waits) == 2  # one backoff for the 429, one for the timeout
    kline_calls = [q for p, q in server.requests if p == "/api/v3/klines"]
    assert len(kline_calls) >= 4 and all(q["limit"] == "500" for q in kline_calls)


def test_download_resumes_from_the_last_stored_bar(tmp_path, real_klines):
    klines, funding = real_klines
    store = ParquetStore(tmp_path)
    first_now = pd.Timestamp("2024-01-10 00:00", tz="UTC")
    with BinanceReplay({"BTCUSDT": klines}, {"BTCUSDT": funding}, first_now) as server:
        _downloader(server, store, first_now)[0].bars("spot", "1h", "BTC/USDT", START)
    later = pd.Timestamp("2024-01-20 00:00", tz="UTC")
    with BinanceReplay({"BTCUSDT": klines}, {"BTCUSDT": funding}, later) as server:
        added = _downloader(server, store, later)[0].bars("spot", "1h", "BTC/USDT", START)
        first_call = next(q for p, q in server.requests if p == "/api/v3/klines")
    assert added == 240
    # the first run stored up to the bar opened 23:00 (closed at first_now): resume after it
    assert pd.Timestamp(int(first_call["startTime"]), unit="ms", tz="UTC") == first_now
    bars = DataLayout(tmp_path).load_bars("spot", "1h")
    assert bars.index.get_level_values("ts")[-1] == later  # the bar that closed at `later`
    assert bars.index.is_unique


def test_funding_history_is_downloaded_rounded_and_resumed(tmp_path, real_klines):
    klines, funding = real_klines
    now = pd.Timestamp("2024-03-01", tz="UTC")
    store = ParquetStore(tmp_path)
    with BinanceReplay({"BTCUSDT": klines}, {"BTCUSDT": funding}, now) as server:
        server.faults = [("/fapi/v1/fundingRate", "429")]
        downloader, waits = _downloader(server, store, now)
        assert downloader.funding("BTC/USDT", START) == 181
        assert downloader.funding("BTC/USDT", START) == 0
    assert len(waits) == 1
    series = DataLayout(tmp_path).load_funding("BTC/USDT")
    expected = funding.set_index("timestamp")["funding_rate"]
    pd.testing.assert_series_equal(
        series, expected.loc[:now].rename_axis("ts"), check_freq=False, check_index_type=False
    )


def test_open_interest_fills_its_channel_from_the_last_30_days_and_resumes(tmp_path, real_klines):
    klines, funding = real_klines
    now = pd.Timestamp("2024-03-20", tz="UTC")
    store = ParquetStore(tmp_path)
    with BinanceReplay({"BTCUSDT": klines}, {"BTCUSDT": funding}, now) as server:
        server.faults = [("/futures/data/openInterestHist", "429")]
        downloader, waits = _downloader(server, store, now)
        fetched = downloader.open_interest("BTC/USDT", START)
        again = downloader.open_interest("BTC/USDT", START)
    assert len(waits) == 1 and again == 0
    series = read_channel(tmp_path / "channels" / "open_interest" / "BTC.parquet")
    assert fetched == len(series) and 29 * 24 - 2 <= len(series) <= 29 * 24 + 1
    assert series.index[0] >= now - pd.Timedelta("29D") and series.index[-1] <= now
    served = klines.set_index("timestamp")["volume"].cumsum()
    np.testing.assert_allclose(np.exp(series.to_numpy()), served.reindex(series.index), rtol=1e-8)


def test_persistent_rate_limit_gives_up_with_the_exchange_error(tmp_path, real_klines):
    klines, funding = real_klines
    now = pd.Timestamp("2024-01-05", tz="UTC")
    with BinanceReplay({"BTCUSDT": klines}, {}, now) as server:
        server.faults = [("/api/v3/klines", "429")] * 4
        downloader, _ = _downloader(server, ParquetStore(tmp_path), now)
        with pytest.raises(Exception, match="429|Too many"):
            downloader.bars("spot", "1h", "BTC/USDT", START)


def test_cli_download_fills_a_data_folder_that_features_can_read(tmp_path, real_klines):
    from typer.testing import CliRunner

    from edgecraft.cli.main import app

    klines, funding = real_klines
    now = pd.Timestamp.now(tz="UTC")  # the CLI uses the real clock: every replayed bar is closed
    with BinanceReplay({"BTCUSDT": klines, "ETHUSDT": klines}, {"BTCUSDT": funding}, now) as server:
        result = CliRunner().invoke(
            app,
            [
                "download",
                "-s",
                "BTC/USDT",
                "-s",
                "ETH/USDT",
                "--data",
                str(tmp_path),
                "--since",
                "2024-01-01",
                "--funding",
                "--api-base",
                server.url,
            ],
        )
    assert result.exit_code == 0, result.output
    assert f"BTC/USDT: {len(klines)} new 1h bar(s), {len(funding)} funding rate(s)" in result.output
    assert DataLayout(tmp_path).load_bars("spot", "1h").shape[0] == 2 * len(klines)


def test_a_live_open_interest_feed_appends_the_newest_snapshots_as_the_clock_moves(real_klines):
    from edgecraft.features.inputs import EventCursor
    from edgecraft.live.inputs import InputPoller, open_interest_feed

    klines, funding = real_klines
    clock = {"now": pd.Timestamp("2024-03-20", tz="UTC")}
    served = np.log(klines.set_index("timestamp")["volume"].cumsum())
    known = served[served.index <= clock["now"] - pd.Timedelta("6h")]
    cursor = EventCursor(known, max_age=pd.Timedelta("3h"))
    with BinanceReplay({"BTCUSDT": klines}, {"BTCUSDT": funding}, clock["now"]) as server:
        downloader, _ = _downloader(server, None, clock["now"])
        poller = InputPoller(
            [open_interest_feed(downloader, "BTC/USDT", cursor)], lambda: clock["now"]
        )
        assert poller.health()["open_interest:BTC/USDT"]["stale"] is True  # 6 h old, 3 h max
        assert poller.poll_once() == {"open_interest:BTC/USDT": 6}  # the six hours since
        assert cursor.last_stamp_ns == clock["now"].value
        clock["now"] = server.now = clock["now"] + pd.Timedelta("2h")
        assert poller.poll_once() == {"open_interest:BTC/USDT": 2}
    value, _ = cursor.asof(int(clock["now"].value))
    assert value == pytest.approx(served[clock["now"]], rel=1e-12)
    assert poller.health()["open_interest:BTC/USDT"]["stale"] is False
