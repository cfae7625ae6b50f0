"""`edgecraft serve`: live signals equal batch ones, Redis shares and resumes state, bad input
and tampered runs are refused, and the server keeps answering when Redis is down."""

from __future__ import annotations

import copy
import json
import shutil
import socket
import threading
import time

import httpx
import numpy as np
import pandas as pd
import pytest
import redis
import uvicorn
from fastapi.testclient import TestClient

from edgecraft.core.errors import DataError
from edgecraft.live.service import LiveService
from edgecraft.research.artifacts import load_onnx_scorer
from edgecraft.research.config import atr_columns
from edgecraft.serving.app import TOKEN_ENV, create_app
from edgecraft.signals.build import build_signals
from tests.serving.conftest import CUTOFF, _bars_after, _service

REDIS = "redis://127.0.0.1:6379/0"
AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "test-token")


def test_live_features_and_signals_equal_batch(finished_run, layout, batch, warm):
    config, prepared = batch
    service = _service(finished_run, layout, warm_state=warm)
    client = TestClient(create_app(service))
    posted = _bars_after(prepared, CUTOFF, 24)
    for ts in sorted({b["ts"] for b in posted}):
        response = client.post(
            "/bars", json={"bars": [b for b in posted if b["ts"] == ts]}, headers=AUTH
        )
        assert response.status_code == 200, response.text
    horizon = service.scorer.horizon
    onnx = load_onnx_scorer(finished_run, horizon)
    last = pd.Timestamp(posted[-1]["ts"])
    rows = prepared.X.xs(last, level="ts", drop_level=False)
    expected = build_signals(
        onnx.predict(rows)["p_up"],
        prepared.bars["close"],
        prepared.X[atr_columns(config)[0]],
        horizon,
        config.signals.min_confidence,
        config.signals.target_atr,
        config.signals.stop_atr,
    )
    for (_, symbol), row in expected.iterrows():
        live = client.get(f"/signals/{symbol}").json()
        assert live["ts"] == last.isoformat()
        assert live["direction"] == row["direction"]
        assert live["confidence"] == pytest.approx(row["confidence"], rel=1e-12)
        vector = np.array(service.latest.vectors[symbol])
        np.testing.assert_allclose(
            vector, np.nan_to_num(rows.xs(symbol, level="symbol").to_numpy()[0]), rtol=1e-9
        )


def test_bad_requests_get_4xx_and_change_nothing(finished_run, layout, batch, warm):
    _, prepared = batch
    service = _service(finished_run, layout, warm_state=warm)
    client = TestClient(create_app(service))
    good = _bars_after(prepared, CUTOFF, 1)
    version = service.version
    cases = [
        ([{**good[0], "symbol": "FOO/USDT"}], 404, "unknown symbol"),
        ([{**good[0], "close": float("nan")}], 422, "close is missing"),
        ([{**good[0], "high": good[0]["low"] / 2}], 422, "is below low"),
        ([{**good[0], "ts": "2024-06-20T00:00:00Z"}], 409, "out of order"),
        ([{**good[0], "ts": "2024-06-20 03:00"}], 422, "no timezone"),
        ([{**good[0], "ts": "2024-06-20T03:30:00Z"}], 422, "grid"),
        ([good[0], {**good[1], "close": -1.0}], 422, "> 0"),
    ]
    for bars, status, text in cases:
        body = json.dumps({"bars": bars}).replace("NaN", "NaN")
        response = client.post(
            "/bars", content=body, headers={**AUTH, "Content-Type": "application/json"}
        )
        assert response.status_code == status, (text, response.text)
        assert text in response.text
        assert service.version == version  # nothing applied, not even the good first bar
    assert client.post("/bars", json={"bars": good}).status_code == 401
    assert (
        client.post(
            "/bars", json={"bars": good}, headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 401
    )
    assert client.post("/bars", json={"bars": good}, headers=AUTH).status_code == 200


def test_redis_shares_state_and_a_restart_resumes(finished_run, layout, batch, warm):
    _, prepared = batch
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.exceptions.ConnectionError:
        pytest.fail("Redis must run at 127.0.0.1:6379 for this test (.ci/run starts it)")
    first = _service(finished_run, layout, REDIS, warm)
    prefix = first.redis.prefix
    posted = _bars_after(prepared, CUTOFF, 3)
    hours = sorted({b["ts"] for b in posted})
    client = TestClient(create_app(first))
    client.post("/bars", json={"bars": [b for b in posted if b["ts"] == hours[0]]}, headers=AUTH)
    assert first.health()["redis"] == "up" and first.health()["state"] == "shared"
    # a second worker (or a restarted server) with no history of its own picks the state up
    second = LiveService(finished_run, None, layout)
    second.redis = type(first.redis)(REDIS, prefix)
    second.resume()
    assert second.version == first.version
    other = TestClient(create_app(second))
    response = other.post(
        "/bars", json={"bars": [b for b in posted if b["ts"] == hours[1]]}, headers=AUTH
    )
    assert response.status_code == 200
    # the first worker takes the newer state before applying the next hour
    client.post("/bars", json={"bars": [b for b in posted if b["ts"] == hours[2]]}, headers=AUTH)
    reference = _service(finished_run, layout, warm_state=warm)
    for hour in hours:
        reference.ingest([b for b in _records(posted) if b.ts.isoformat() == hour])
    assert first.latest.signals == reference.latest.signals
    redis.Redis.from_url(REDIS).delete(*redis.Redis.from_url(REDIS).keys(f"{prefix}:*"))


class _Exploit:
    """What a pickle-reading server would run: `touch` a marker file."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_tampered_state_blob_is_refused_and_runs_no_code(
    finished_run, layout, batch, warm, tmp_path
):
    import pickle

    from edgecraft.live.codec import encode

    _, prepared = batch
    posted = _bars_after(prepared, CUTOFF, 2)
    hours = sorted({b["ts"] for b in posted})
    marker = tmp_path / "pwned"
    broken_state = copy.deepcopy(warm)
    symbol = next(iter(broken_state["features"]["symbols"]))
    broken_state["features"]["symbols"][symbol]["row"] = np.zeros(3)
    blobs = {
        "pickle": pickle.dumps(_Exploit(marker)),
        "garbage": b"\x00\xffnot a state",
        "schema": encode({"x": 1}).replace(b"\xa6schema\x01", b"\xa6schema\x63"),
        "shape": encode(broken_state),
    }
    reference = _service(finished_run, layout, warm_state=warm)
    for hour in hours:
        reference.ingest([b for b in _records(posted) if b.ts.isoformat() == hour])
    r = redis.Redis.from_url(REDIS)
    for name, blob in blobs.items():
        service = _service(finished_run, layout, REDIS, warm)
        prefix = service.redis.prefix
        client = TestClient(create_app(service))
        first = [b for b in posted if b["ts"] == hours[0]]
        assert client.post("/bars", json={"bars": first}, headers=AUTH).status_code == 200
        r.set(f"{prefix}:state", blob)
        r.set(f"{prefix}:version", 10**6)  # "newer" than the worker's own
        second = [b for b in posted if b["ts"] == hours[1]]
        response = client.post("/bars", json={"bars": second}, headers=AUTH)
        assert response.status_code == 200, (name, response.text)
        health = client.get("/health").json()
        assert health["state_refused"], name
        assert service.latest.signals == reference.latest.signals, name  # its own state went on
        r.delete(*r.keys(f"{prefix}:*"))
    assert not marker.exists()  # nothing in the blob ran


def _records(posted):
    from edgecraft.serving.app import BarIn

    return [BarIn(**b).record() for b in posted]


def test_redis_down_keeps_answering_from_process_state(finished_run, layout, batch, warm):
    _, prepared = batch
    service = _service(finished_run, layout, "redis://127.0.0.1:1/0", warm)
    client = TestClient(create_app(service))
    response = client.post("/bars", json={"bars": _bars_after(prepared, CUTOFF, 1)}, headers=AUTH)
    assert response.status_code == 200
    health = client.get("/health").json()
    assert health["redis"] == "down" and health["state"] == "in-process"


def test_a_tampered_run_is_refused(finished_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(finished_run, copy)
    onnx_file = next((copy / "models").glob("*.onnx"))
    onnx_file.write_bytes(onnx_file.read_bytes()[:-1] + b"\x00")
    with pytest.raises(DataError, match="checksum mismatch"):
        LiveService(copy)


def test_server_sent_events_stream_new_signals(finished_run, layout, batch, warm):
    _, prepared = batch
    service = _service(finished_run, layout, warm_state=warm)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        events: list[dict] = []
        connected = threading.Event()

        def listen():
            with httpx.stream("GET", f"{base}/stream", timeout=10) as response:
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        connected.set()
                    if line.startswith("data: "):
                        events.append(json.loads(line[6:]))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert connected.wait(10), "the event stream did not open"
        posted = _bars_after(prepared, CUTOFF, 1)
        assert httpx.post(f"{base}/bars", json={"bars": posted}, headers=AUTH).status_code == 200
        listener.join(5)
        assert events and events[0]["ts"] == posted[0]["ts"]
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "edgecraft"
    finally:
        server.should_exit = True
        thread.join(5)


def test_poller_pulls_closed_candles_like_posted_bars(finished_run, layout, batch, warm):
    from edgecraft.data.download import Downloader, RetryPolicy, make_exchange
    from edgecraft.live.poller import Poller
    from edgecraft.serving.app import BarIn
    from tests.replay_binance import BinanceReplay

    _, prepared = batch
    now = pd.Timestamp(CUTOFF, tz="UTC") + pd.Timedelta("5h30min")
    klines = {}
    for symbol in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
        one = prepared.bars.xs(symbol, level="symbol")
        klines[symbol.replace("/", "")] = pd.DataFrame(
            {
                "timestamp": one.index - pd.Timedelta("1h"),
                **{k: one[k].to_numpy() for k in ("open", "high", "low", "close", "volume")},
            }
        )
    polled = _service(finished_run, layout, warm_state=warm)
    with BinanceReplay(klines, {}, now) as server:
        exchange = make_exchange("binance", api_base=server.url)
        poller = Poller(
            polled, Downloader(exchange, None, policy=RetryPolicy(attempts=2)), now=lambda: now
        )
        assert poller.poll_once() == 15  # 5 closed hours x 3 pairs; the open bar is left out
    posted = _service(finished_run, layout, warm_state=warm)
    bars = [BarIn(**b).record() for b in _bars_after(prepared, CUTOFF, 5)]
    for ts in sorted({b.ts for b in bars}):
        posted.ingest([b for b in bars if b.ts == ts])
    assert polled.latest.signals == posted.latest.signals


def test_inputs_stay_fresh_while_serving_and_a_stale_channel_shows_on_health(
    finished_run, layout, batch, warm
):
    """A server running across a funding time and a Fear & Greed publication serves the new
    values (polled from local replays of Binance and alternative.me with advancing clocks), and
    /health names a channel whose source stopped as stale."""
    from edgecraft.data.download import Downloader, RetryPolicy, make_exchange
    from edgecraft.data.providers.fear_greed import FearGreedClient
    from edgecraft.data.providers.http import Backoff, JsonClient
    from edgecraft.live.inputs import InputPoller, service_feeds
    from edgecraft.serving.app import BarIn
    from tests.replay_binance import BinanceReplay
    from tests.replay_providers import ProviderReplay

    config, prepared = batch
    cutoff = pd.Timestamp(CUTOFF, tz="UTC")
    service = _service(finished_run, layout, warm_state=warm)
    stream = service.engine.features
    # the data folder as a server started just before the cutoff has it: history up to then
    funding = {s: layout.load_funding(s) for s in stream.funding}
    for s, series in funding.items():
        stream.funding[s] = config.features.funding_cursor(series[series.index < cutoff])
    fng = layout.load_fear_greed()
    stream.fear_greed = config.features.fear_greed_cursor(fng[fng.index < cutoff])
    clock = {"binance": cutoff + pd.Timedelta("30min"), "alternative": cutoff}
    clock["now"] = clock["binance"]

    def fear_greed(query, headers):
        days = fng[fng.index <= clock["alternative"]].iloc[-int(query.get("limit", 10)) :]
        rows = [
            {"value": str(int(v)), "timestamp": str(int(t.timestamp()))} for t, v in days.items()
        ]
        return 200, {"name": "Fear and Greed Index", "data": rows[::-1]}

    frames = {
        s.replace("/", ""): pd.DataFrame({"timestamp": f.index, "funding_rate": f.to_numpy()})
        for s, f in funding.items()
    }
    klines = {}  # the markets the exchange lists (its exchangeInfo)
    for symbol in funding:
        one = prepared.bars.xs(symbol, level="symbol")
        klines[symbol.replace("/", "")] = pd.DataFrame(
            {
                "timestamp": one.index - pd.Timedelta("1h"),
                **{k: one[k].to_numpy() for k in ("open", "high", "low", "close", "volume")},
            }
        )
    replays = (
        BinanceReplay(klines, frames, clock["binance"]),
        ProviderReplay({"/fng/": fear_greed}),
    )
    with replays[0] as binance, replays[1] as alternative:
        downloader = Downloader(
            make_exchange("binance", api_base=binance.url),
            None,
            policy=RetryPolicy(attempts=2),
            now=lambda: clock["now"],
        )
        client = FearGreedClient(client=JsonClient(alternative.url, backoff=Backoff(attempts=1)))
        poller = InputPoller(service_feeds(service, downloader, client), lambda: clock["now"])
        service.inputs = poller
        added = poller.poll_once()
        assert not any(c["error"] for c in poller.health().values()), poller.health()
        # the 00:00 funding time and the day's index, both published after the data folder ends
        assert added == {"fear_greed": 1, **{f"funding:{s}": 1 for s in funding}}, added
        health = TestClient(create_app(service)).get("/health").json()["channels"]
        assert set(health) == set(added) and not any(c["stale"] for c in health.values())
        # the next bar (01:00) reads the new values exactly as the batch feature row does
        bars = [BarIn(**b).record() for b in _bars_after(prepared, CUTOFF, 1)]
        service.ingest(bars)
        columns = config.features.build().columns
        polled = [i for i, c in enumerate(columns) if "funding" in c or "fng" in c]
        assert polled
        for bar in bars:
            live = np.array(service.latest.vectors[bar.symbol])[polled]
            expected = prepared.X.loc[(bar.ts, bar.symbol)].to_numpy()[polled]
            np.testing.assert_allclose(live, expected, rtol=1e-9)
            assert (
                stream.funding[bar.symbol].asof(int(bar.ts.value))[0] == funding[bar.symbol][cutoff]
            )
        # three days on, Binance still answering and alternative.me frozen: F&G is stale
        clock["now"] = binance.now = clock["binance"] = cutoff + pd.Timedelta("74h")
        assert poller.poll_once()["fear_greed"] == 0
        health = TestClient(create_app(service)).get("/health").json()["channels"]
        assert health["fear_greed"]["stale"] is True, health["fear_greed"]
        assert health["fear_greed"]["age_s"] > health["fear_greed"]["max_age_s"]
        assert not any(health[f"funding:{s}"]["stale"] for s in funding), health


def test_a_paper_book_served_over_http_decides_as_the_backtest_does(
    finished_run, layout, batch, warm
):
    """Bars posted one close at a time to a paper-trading server give the signals and risk
    decisions of the backtest's replay over the same bars (whose batch twin is `edgecraft
    backtest`, held equal in tests/engine/test_engine_replay.py), and the same book."""
    from edgecraft.backtest.replay import market_grid, replay
    from edgecraft.research.trading import costs_of
    from edgecraft.risk.config import RiskConfig
    from edgecraft.risk.manager import PortfolioState
    from edgecraft.serving.app import BarIn

    config, prepared = batch
    # a risk manager that trades often, with resting limits and sliced orders, so the fills
    # that feed it back matter
    active = RiskConfig(
        min_confidence=0.5, min_edge_to_cost=0.0, market_confidence=0.56, slice_above=0.03
    )
    service = _service(finished_run, layout, warm_state=warm)
    service.engine.risk.config = active
    service.start_paper()
    client = TestClient(create_app(service))
    posted = _bars_after(prepared, CUTOFF, 24 * 10)
    for ts in sorted({b["ts"] for b in posted}):
        response = client.post(
            "/bars", json={"bars": [b for b in posted if b["ts"] == ts]}, headers=AUTH
        )
        assert response.status_code == 200, response.text
    served = {
        (r["ts"], symbol): r for symbol, records in service.recent_signals.items() for r in records
    }

    twin = _service(finished_run, layout, warm_state=warm)  # the same warm features, no book
    twin.engine.risk.config = active
    twin.engine.risk.state = PortfolioState()
    bars = [BarIn(**b).record() for b in posted]
    stream: dict[pd.Timestamp, list] = {}
    for bar in bars:
        stream.setdefault(bar.ts, []).append(bar)
    ts = prepared.bars.index.get_level_values("ts")
    window = prepared.bars[(ts > pd.Timestamp(CUTOFF, tz="UTC")) & (ts <= bars[-1].ts)]
    symbols = service.broker.symbols
    market = market_grid(window, symbols, twin.funding)
    backtest = replay(twin.engine, market, symbols, None, costs_of(config), stream)

    compared = orders = 0
    kinds = set()
    for decision in backtest.decisions:
        intents = {i.symbol: i for i in decision.intents}
        for signal in decision.signals:
            record = served[(signal.ts.isoformat(), signal.symbol)]
            assert record["direction"] == int(signal.direction)
            assert record["confidence"] == pytest.approx(signal.confidence, abs=1e-9)
            intent, live = intents[signal.symbol], record["decision"]
            assert (live["side"], live["order_type"], live["slices"], live["reason"]) == (
                intent.side,
                intent.order_type,
                intent.slices,
                intent.reason,
            )
            assert live["target_weight"] == pytest.approx(intent.target_weight, abs=1e-12)
            compared += 1
            orders += intent.side != "none"
            kinds.add((intent.order_type, intent.slices > 1))
    assert compared == len(bars) and orders > 50, (compared, orders)
    assert {("limit", True), ("market", True), ("limit", False)} <= kinds  # GTC limits, slices
    assert service.broker.equity == pytest.approx(float(backtest.book.equity[0]), rel=1e-12)
    health = client.get("/health").json()["paper"]
    assert health["equity"] == pytest.approx(service.broker.equity)
    # the shared state carries the book, not the funding history, and a restore re-attaches it
    from edgecraft.live.codec import decode, encode

    state = decode(encode(service.snapshot()))
    assert state["broker"].funding == {}
    restored = _service(finished_run, layout, warm_state=state)
    assert restored.broker.funding.keys() == service.broker.funding.keys()
    assert restored.broker.equity == service.broker.equity
