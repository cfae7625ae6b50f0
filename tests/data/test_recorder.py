"""`BookRecorder` (CCXT REST polling and CCXT Pro websockets) against local servers replaying
Binance's depth, aggregate trades and market streams from the recorded BTC/USDT book and ticks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.core.errors import DataError
from edgecraft.data.download import RetryPolicy, make_exchange
from edgecraft.data.layout import DataLayout
from edgecraft.data.providers.recorder import BookRecorder
from edgecraft.data.schemas import L2_BOOK, TRADES
from edgecraft.data.validate import validate_file
from edgecraft.features.microstructure import book_measures
from tests.replay_binance import BinanceReplay

STEP = 200  # recorded snapshots between two polls (about 20 s of the spot book)


@pytest.fixture(scope="module")
def recorded(layout):
    l2, trades = layout.recordings("spot", "BTC/USDT")
    klines = pd.read_parquet(layout.bar_files("spot", "1h")["BTC/USDT"]).tail(3)
    return l2, trades, klines


def _replay(recorded) -> BinanceReplay:
    l2, trades, klines = recorded
    return BinanceReplay(
        {"BTCUSDT": klines},
        {},
        pd.Timestamp("2024-08-09 01:00", tz="UTC"),
        books={"BTCUSDT": l2},
        trades={"BTCUSDT": trades},
        book_step=STEP,
    )


def _recorder(server, root, l2):
    exchange = make_exchange("binance", api_base=server.url, timeout_ms=2000)
    exchange.enableRateLimit = False
    waits: list[float] = []
    served = iter(range(0, len(l2), STEP))

    def clock() -> int:  # the receive time of the snapshot being served
        return int(l2["local_ts"].iloc[min(next(served), len(l2) - 1)].value)

    recorder = BookRecorder(
        exchange,
        root,
        "spot",
        levels=20,
        policy=RetryPolicy(attempts=3, backoff_s=0.01),
        clock_ns=clock,
        sleep=waits.append,
    )
    return recorder, waits


def test_recorder_stores_snapshots_and_trades_as_the_exchange_sent_them(tmp_path, recorded):
    l2, trades, _ = recorded
    with _replay(recorded) as server:
        server.faults = [("/api/v3/depth", "429")]
        recorder, waits = _recorder(server, tmp_path, l2)
        written = recorder.record(["BTC/USDT"], polls=5, interval_s=20)
    assert waits.count(20) == 4 and len(waits) == 5  # four intervals, one backoff for the 429
    assert len(written) == 2
    layout = DataLayout(tmp_path)
    books, ticks = layout.recordings("spot", "BTC/USDT")
    served = l2.iloc[[0, STEP, 2 * STEP, 3 * STEP, 4 * STEP]].reset_index(drop=True)
    assert list(books["update_id"]) == list(served["update_id"])
    levels = [c for c in served.columns if c.startswith(("bid_", "ask_"))]
    np.testing.assert_allclose(books[levels].to_numpy(), served[levels].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        book_measures(books, 10)["imbalance"], book_measures(served, 10)["imbalance"]
    )
    # every tick up to the last snapshot's time, once, with the aggressor's side kept
    until = served["timestamp"].iloc[-1]
    first = served["local_ts"].iloc[0] - pd.Timedelta("60s")
    expected = trades[(trades["timestamp"] >= first.floor("ms")) & (trades["timestamp"] <= until)]
    assert len(expected) > 1000
    assert list(ticks["trade_id"]) == list(expected["trade_id"])
    assert (ticks["is_buyer_maker"].to_numpy() == expected["is_buyer_maker"].to_numpy()).all()
    for kind, schema in (("l2_top20", L2_BOOK), ("trades", TRADES)):
        path = tmp_path / "microstructure" / f"binance_spot_BTCUSDT_{kind}_20240808.parquet"
        assert validate_file(path, schema).ok


def test_a_second_session_merges_into_the_day_file(tmp_path, recorded):
    l2 = recorded[0]
    for _ in range(2):
        with _replay(recorded) as server:
            recorder, _ = _recorder(server, tmp_path, l2)
            recorder.record(["BTC/USDT"], polls=3, interval_s=1)
    books, _ = DataLayout(tmp_path).recordings("spot", "BTC/USDT")
    assert books["update_id"].is_unique and len(books) == 3  # the same snapshots, once


def test_a_corrupt_day_file_is_refused_and_left_as_it_was(tmp_path, recorded):
    l2 = recorded[0]
    path = tmp_path / "microstructure" / "binance_spot_BTCUSDT_l2_top20_20240808.parquet"
    path.parent.mkdir(parents=True)
    bad = l2.head(3).copy()
    bad.loc[1, "update_id"] = bad.loc[0, "update_id"]  # the sequence must increase
    bad.to_parquet(path, index=False)
    before = path.read_bytes()
    with _replay(recorded) as server:
        recorder, _ = _recorder(server, tmp_path, l2)
        with pytest.raises(DataError, match="update_id"):
            recorder.record(["BTC/USDT"], polls=2, interval_s=1)
    assert path.read_bytes() == before


def test_cli_record_book_then_validate_the_files(tmp_path, recorded):
    from typer.testing import CliRunner

    from edgecraft.cli.main import app

    runner = CliRunner()
    with _replay(recorded) as server:
        args = ["record-book", "-s", "BTC/USDT", "--data", str(tmp_path), "--polls", "3"]
        result = runner.invoke(app, [*args, "--interval", "0", "--api-base", server.url])
    assert result.exit_code == 0, result.output
    # on the real clock the recorder asks for the last minute's trades: the replay's are from 2024
    assert "3 row(s)" in result.output and "trades" not in result.output
    checked = runner.invoke(app, ["validate", str(tmp_path / "microstructure")])
    assert checked.exit_code == 0, checked.output


def test_streaming_recorder_rebuilds_each_recorded_book_from_snapshot_and_diffs(tmp_path, recorded):
    """CCXT Pro's watch_order_book over a websocket replay of Binance's diff-depth stream (built
    from the recorded books) and its REST snapshot: every book it hands over is a recorded one."""
    from tests.replay_binance_ws import BinanceStreamReplay

    l2, trades, _ = recorded
    with _replay(recorded) as rest, BinanceStreamReplay(l2, trades, "BTCUSDT", 60, 0.005) as ws:
        rest.book_step = 0  # the REST depth snapshot is the first recorded book
        # CCXT Pro tells Binance's spot streams by "/stream" in the URL (stream.binance.com)
        ws_base = f"{ws.url}/stream"
        exchange = make_exchange("binance", api_base=rest.url, pro=True, ws_base=ws_base)
        exchange.enableRateLimit = False
        # the replay's receive clock: from the first recorded book's, 1 ms per reading
        ticks_ns = iter(range(l2["local_ts"].iloc[0].value, 2**62, 1_000_000))
        recorder = BookRecorder(exchange, tmp_path, "spot", 20, clock_ns=lambda: next(ticks_ns))
        written = recorder.stream(["BTC/USDT"], updates=20, timeout_s=60)
    assert any("@depth" in s for s in ws.subscriptions) and any(
        "@trade" in s for s in ws.subscriptions
    )
    books, ticks = DataLayout(tmp_path).recordings("spot", "BTC/USDT")
    assert len(books) == 20 and any("l2_top20" in p for p in written)
    real = l2.set_index("update_id")
    levels = [c for c in l2.columns if c.startswith(("bid_", "ask_"))]
    for _, row in books.iterrows():  # each state handed over equals the recorded book of its id
        np.testing.assert_allclose(
            row[levels].to_numpy(float), real.loc[row["update_id"], levels].to_numpy(float)
        )
    assert ticks is not None and ticks["trade_id"].is_unique and len(ticks) > 0
    later = trades[trades["timestamp"] > l2["timestamp"].iloc[0]]
    expected = later.set_index("trade_id").loc[ticks["trade_id"]]
    assert (ticks["is_buyer_maker"].to_numpy() == expected["is_buyer_maker"].to_numpy()).all()


def test_cli_record_book_streams_with_ccxt_pro(tmp_path, recorded):
    from typer.testing import CliRunner

    from edgecraft.cli.main import app
    from tests.replay_binance_ws import BinanceStreamReplay

    l2, trades, _ = recorded
    stream = BinanceStreamReplay(l2, trades, "BTCUSDT", 30, 0.005, at_now=True)
    with _replay(recorded) as rest, stream as ws:  # the CLI reads the real clock
        rest.book_step = 0
        args = ["record-book", "-s", "BTC/USDT", "--data", str(tmp_path), "--polls", "10"]
        args += ["--stream", "--api-base", rest.url, "--ws-base", f"{ws.url}/stream"]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    books, _ = DataLayout(tmp_path).recordings("spot", "BTC/USDT")
    assert len(books) == 10 and set(books["update_id"]) <= set(l2["update_id"])
