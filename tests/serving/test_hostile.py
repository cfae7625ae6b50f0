"""The signal service against hostile and unlucky input: oversize bodies (413), tokens (constant
time, required for writes, optional for reads), reads that answer while a write waits, and bad
bars that leave the state byte for byte as it was."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from edgecraft.live.codec import encode
from edgecraft.live.service import LiveService
from edgecraft.serving.app import MAX_BODY, TOKEN_ENV, create_app
from tests.serving.conftest import CUTOFF, _bars_after, _service, running

AUTH = {"Authorization": "Bearer hostile-token"}


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "hostile-token")


def fingerprint(service: LiveService) -> str:
    return hashlib.sha256(encode(service.snapshot())).hexdigest()


def test_oversize_bodies_get_413_and_change_nothing(finished_run, layout, warm):
    service = _service(finished_run, layout, warm_state=warm)
    client = TestClient(create_app(service))
    before = fingerprint(service)
    big = b'{"bars": [' + b" " * (MAX_BODY + 10) + b"]}"
    said = client.post("/bars", content=big, headers={**AUTH, "Content-Type": "application/json"})
    assert said.status_code == 413, said.text

    def chunks():  # no Content-Length: the limit counts what streams in
        yield b'{"bars": ['
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536
        yield b"]}"

    streamed = client.post(
        "/bars", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text
    assert fingerprint(service) == before


def test_tokens_guard_writes_and_optionally_reads(finished_run, layout, batch, warm, monkeypatch):
    _, prepared = batch
    service = _service(finished_run, layout, warm_state=warm)
    bars = {"bars": _bars_after(prepared, CUTOFF, 1)}
    client = TestClient(create_app(service, public_reads=False))
    assert client.post("/bars", json=bars).status_code == 401
    assert (
        client.post("/bars", json=bars, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    assert client.get("/signals").status_code == 401  # reads need the token too here
    assert client.post("/bars", json=bars, headers=AUTH).status_code == 200
    assert client.get("/signals", headers=AUTH).status_code == 200
    assert client.get("/health").status_code == 200  # health stays public

    monkeypatch.delenv(TOKEN_ENV)
    closed = TestClient(create_app(_service(finished_run, layout, warm_state=warm)))
    response = closed.post("/bars", json=bars)
    assert response.status_code == 503 and TOKEN_ENV in response.json()["detail"]
    opened = TestClient(create_app(_service(finished_run, layout, warm_state=warm), insecure=True))
    assert opened.post("/bars", json=bars).status_code == 200


def test_reads_answer_while_a_write_waits_for_the_lock(finished_run, layout, batch, warm):
    _, prepared = batch
    service = _service(finished_run, layout, warm_state=warm)
    with running(create_app(service)) as base:
        service._writer.acquire()  # another request is applying bars, slowly
        outcome = {}

        def write():
            outcome["response"] = httpx.post(
                f"{base}/bars",
                json={"bars": _bars_after(prepared, CUTOFF, 1)},
                headers=AUTH,
                timeout=30,
            )

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)  # the write is in, waiting for the lock
        assert writer.is_alive()
        start = time.perf_counter()
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
        assert httpx.get(f"{base}/signals", timeout=5).status_code == 200
        assert time.perf_counter() - start < 1.0  # answered, not queued behind the write
        service._writer.release()
        writer.join(30)
        assert outcome["response"].status_code == 200


def test_every_bad_bar_leaves_the_state_unchanged(finished_run, layout, batch, warm):
    _, prepared = batch
    service = _service(finished_run, layout, warm_state=warm)
    service.redis.prefix = f"edgecraft-test:{uuid.uuid4().hex}"
    client = TestClient(create_app(service))
    good = _bars_after(prepared, CUTOFF, 1)
    before = fingerprint(service)
    bad = [
        [{**good[0], "high": good[0]["low"] - 1.0}],  # high below low
        [{**good[0], "close": -1.0}],
        [{**good[0], "volume": -5.0}],
        [{**good[0], "ts": "2024-06-20T00:30:00+00:00"}],  # off the grid
        [{**good[0], "ts": "2020-01-01T00:00:00+00:00"}],  # out of order
        [{**good[0], "symbol": "NOPE/USDT"}],
        [good[0], {**good[1], "open": 0.0}],  # one good, one bad: none applied
        [{**good[0], "ts": "2024-06-20T01:00:00"}],  # no timezone
    ]
    for bars in bad:
        response = client.post("/bars", json={"bars": bars}, headers=AUTH)
        assert 400 <= response.status_code < 500, (bars, response.text)
        assert fingerprint(service) == before, bars
    assert client.post("/bars", json={"bars": good}, headers=AUTH).status_code == 200
    assert fingerprint(service) != before


def test_a_short_mixed_load_is_answered_in_full(finished_run, layout, batch, warm):
    """The suite's short version of benchmarks/bench_load.py: four clients reading GET /signals
    as fast as they are answered while 200 bar closes are posted in order; every request is
    answered 200 and the last close is served."""
    _, prepared = batch
    service = _service(finished_run, layout, warm_state=warm)
    posted = _bars_after(prepared, CUTOFF, 200)
    hours = sorted({b["ts"] for b in posted})
    statuses: list[int] = []
    stop = threading.Event()

    def read():
        with httpx.Client(base_url=base, timeout=10) as client:
            while not stop.is_set():
                statuses.append(client.get("/signals").status_code)

    with running(create_app(service)) as base:
        readers = [threading.Thread(target=read) for _ in range(4)]
        for reader in readers:
            reader.start()
        with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
            for hour in hours:
                bars = [b for b in posted if b["ts"] == hour]
                statuses.append(client.post("/bars", json={"bars": bars}).status_code)
        stop.set()
        for reader in readers:
            reader.join(10)
    assert len(statuses) > len(hours) + 200
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert service.latest.signals[posted[-1]["symbol"]]["ts"] == hours[-1]
