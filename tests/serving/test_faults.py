"""Faults against real processes: Redis killed during a load run and restarted, a worker killed
mid-request while another shares its Redis, a server killed and restarted, and a tampered
champion offered to a running server. Nothing is lost
or duplicated and every survivor's state is the one a fault-free server would have."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest
import redis

from edgecraft.serving.app import TOKEN_ENV, create_app
from tests.serving.conftest import CUTOFF, _bars_after, _service, free_port, running

TOKEN = "fault-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class RedisProcess:
    """A redis-server of our own on a free port, to kill and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)


@pytest.fixture
def own_redis():
    server = RedisProcess()
    server.start()
    yield server
    if server.proc.poll() is None:
        server.kill()


def _hours(prepared, n: int) -> list[list[dict]]:
    posted = _bars_after(prepared, CUTOFF, n)
    hours = sorted({b["ts"] for b in posted})
    return [[b for b in posted if b["ts"] == h] for h in hours]


def _reference(finished_run, layout, warm, hours) -> dict:
    reference = _service(finished_run, layout, warm_state=warm)
    from edgecraft.serving.app import BarIn

    for bars in hours:
        reference.ingest([BarIn(**b).record() for b in bars])
    return reference.latest.signals


def test_redis_killed_during_load_and_restarted(
    finished_run, layout, batch, warm, own_redis, monkeypatch
):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    _, prepared = batch
    hours = _hours(prepared, 24)
    service = _service(finished_run, layout, own_redis.url, warm)
    events: list[tuple[str, str]] = []
    connected = threading.Event()

    def listen():
        try:
            with httpx.stream("GET", f"{base}/stream", timeout=60) as response:
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        connected.set()
                    if line.startswith("data: "):
                        record = json.loads(line[6:])
                        events.append((record["ts"], record["symbol"]))
        except httpx.HTTPError:
            return  # the server stopped at the end of the test

    with running(create_app(service)) as base:
        threading.Thread(target=listen, daemon=True).start()
        assert connected.wait(10)
        states = []
        with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
            for k, bars in enumerate(hours):
                if k == 8:
                    own_redis.kill()  # mid-load
                if k == 16:
                    own_redis.start()  # back, empty: the server writes its state again
                response = client.post("/bars", json={"bars": bars})
                assert response.status_code == 200, (k, response.text)
                states.append(client.get("/health").json()["state"])
        assert states[:8] == ["shared"] * 8
        assert set(states[8:16]) == {"in-process"}
        assert states[16:] == ["shared"] * 8
        time.sleep(0.5)
        expected = [(b["ts"], b["symbol"]) for bars in hours for b in bars]
        assert sorted(events) == sorted(expected)  # every signal once: none lost, none doubled
        assert service.latest.signals == _reference(finished_run, layout, warm, hours)
        # the resynced Redis holds the whole state: a new worker takes it as it is
        fresh = _service(finished_run, layout, own_redis.url, warm)
        fresh.redis.prefix = service.redis.prefix
        fresh.resume()
        assert fresh.version == service.version
        assert fresh.latest.signals == service.latest.signals


def _serve(run, layout, redis_url: str, prefix_run: str, warmup: int) -> tuple:
    port = free_port()
    env = {**os.environ, TOKEN_ENV: TOKEN, "EDGECRAFT_DATA": str(layout.root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgecraft.cli.main", "serve", "--run", str(run)]
        + ["--redis-url", redis_url, "--port", str(port), "--data", str(layout.root)]
        + ["--warmup-bars", str(warmup)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode()[-2000:])
    proc.kill()
    raise RuntimeError("edgecraft serve did not come up")


def _post_until_applied(base: str, bars: list[dict]) -> int:
    """POST, retrying while the lock of a killed worker has not expired (503)."""
    deadline = time.monotonic() + 30
    while True:
        response = httpx.post(f"{base}/bars", json={"bars": bars}, headers=AUTH, timeout=30)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response.status_code
        time.sleep(0.5)


def test_a_worker_killed_mid_request_and_a_server_restarted(finished_run, layout, batch, own_redis):
    """Two `edgecraft serve` processes share one Redis; one is killed while it applies bars; the
    survivor goes on from a consistent state (the killed request applied whole or not at all),
    and a server started after a kill resumes from Redis without replaying history. Every
    signal equals a server that saw no fault."""
    _, prepared = batch
    prefix_run = finished_run.name
    first, a = _serve(finished_run, layout, own_redis.url, prefix_run, 2000)
    second = None
    try:
        second, b = _serve(finished_run, layout, own_redis.url, prefix_run, 2000)
        start = httpx.get(f"{a}/health").json()
        # both workers continue one history: the data folder's last 2000 bars (one warmed,
        # the other took its state from Redis)
        assert start["version"] >= 0
        hours = _hours_after_data(layout, prepared, 6)
        assert _post_until_applied(a, hours[0]) == 200
        assert _post_until_applied(b, hours[1]) == 200
        killer = threading.Timer(0.02, lambda: first.send_signal(signal.SIGKILL))
        killer.start()
        try:
            httpx.post(f"{a}/bars", json={"bars": hours[2]}, headers=AUTH, timeout=10)
        except httpx.HTTPError:
            pass  # killed before it answered
        first.wait(10)
        status = _post_until_applied(b, hours[2])
        assert status in (200, 409)  # applied now, or the killed worker had committed it whole
        assert _post_until_applied(b, hours[3]) == 200
        survivor = httpx.get(f"{b}/signals").json()["signals"]
        assert {r["ts"] for r in survivor.values()} == {hours[3][0]["ts"]}
        # the survivor killed too, and a new server started: it resumes from Redis, no warm-up
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        third, c = _serve(finished_run, layout, own_redis.url, prefix_run, 0)
        second = third
        assert httpx.get(f"{c}/signals").json()["signals"] == survivor
        assert _post_until_applied(c, hours[4]) == 200
        resumed = httpx.get(f"{c}/signals").json()["signals"]
        # a server that saw no fault: the same 2000 warm-up bars and the same hours
        reference = _reference_from_data(finished_run, layout, hours[:5])
        for symbol, record in reference.items():
            assert resumed[symbol]["direction"] == record["direction"]
            assert resumed[symbol]["confidence"] == pytest.approx(record["confidence"], abs=1e-12)
            assert resumed[symbol]["decision"]["reason"] == record["decision"]["reason"]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()


def _hours_after_data(layout, prepared, n: int) -> list[list[dict]]:
    """`n` bar closes after the data folder's last: every pair drifting up from its close."""
    import pandas as pd

    data = layout.load_bars("spot", "1h", sorted(prepared.bars.index.unique("symbol")))
    last = data.index.get_level_values("ts").max()
    close = data.xs(last, level="ts")["close"]
    hours = []
    for k in range(1, n + 1):
        ts = (last + pd.Timedelta(hours=k)).isoformat()
        hours.append(
            [
                {"symbol": s, "ts": ts, "open": c * (1 + 0.001 * k), "volume": 10.0}
                | {"high": c * (1.004 + 0.001 * k), "low": c * (0.998 + 0.001 * k)}
                | {"close": c * (1.002 + 0.001 * k)}
                for s, c in close.items()
            ]
        )
    return hours


def test_a_tampered_champion_is_refused_and_a_promotion_survives_a_restart(
    finished_run, layout, batch, own_redis, tmp_path
):
    """A running `edgecraft serve` offered a run whose model graph changed by one byte: 409,
    the champion keeps serving, and every signal equals a server never offered it. Offered a
    whole run, it serves it; killed (SIGKILL) and restarted with no warm-up, it resumes from
    Redis with that champion."""
    import shutil

    _, prepared = batch
    for name in "abc":
        shutil.copytree(finished_run, tmp_path / name)
    graph = next((tmp_path / "c" / "models").glob("model_*.onnx"))
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    hours = _hours_after_data(layout, prepared, 4)
    proc, base = _serve(tmp_path / "a", layout, own_redis.url, "a", 2000)
    try:
        refused = httpx.post(f"{base}/champion", json={"run": "c"}, headers=AUTH, timeout=30)
        assert refused.status_code == 409 and "checksum mismatch" in refused.text
        assert httpx.get(f"{base}/health").json()["champion_refused"]["run"] == "c"
        assert all(_post_until_applied(base, bars) == 200 for bars in hours[:3])
        served = httpx.get(f"{base}/signals").json()["signals"]
        reference = _reference_from_data(tmp_path / "a", layout, hours[:3])
        assert served.keys() == reference.keys()
        for symbol, record in reference.items():
            assert served[symbol]["ts"] == record["ts"] == hours[2][0]["ts"]
            assert served[symbol]["direction"] == record["direction"]
            assert served[symbol]["confidence"] == pytest.approx(record["confidence"], abs=1e-12)
        promoted = httpx.post(f"{base}/champion", json={"run": "b"}, headers=AUTH, timeout=30)
        assert promoted.status_code == 200, promoted.text
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc, base = _serve(tmp_path / "a", layout, own_redis.url, "a", 0)
        health = httpx.get(f"{base}/health").json()
        assert health["champion"] == "b" and health["state_refused"] is None
        assert httpx.get(f"{base}/signals").json()["signals"] == served
        assert _post_until_applied(base, hours[3]) == 200
    finally:
        if proc.poll() is None:
            proc.kill()


def _reference_from_data(run, layout, hours) -> dict:
    from edgecraft.live.service import LiveService
    from edgecraft.serving.app import BarIn

    service = LiveService(run, None, layout)
    service.redis.prefix = f"edgecraft-test:{uuid.uuid4().hex}"
    service.warm_up(layout, bars=2000)
    for bars in hours:
        service.ingest([BarIn(**b).record() for b in bars])
    return service.latest.signals
