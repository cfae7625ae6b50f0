"""A running server's champion replaced over HTTP (real uvicorn): a run whose files were tampered
with is refused and the old champion keeps serving, bar for bar; a whole one is served from the
next bar on, its stream warmed from the bars already seen, and reaches a second worker through
Redis."""

from __future__ import annotations

import copy
import json
import shutil
import uuid

import httpx
import pandas as pd
import pytest

from edgecraft.live.service import LiveService
from edgecraft.research.artifacts import seal, verify
from edgecraft.serving.app import TOKEN_ENV, create_app
from tests.serving.conftest import running

START = pd.Timestamp("2024-07-01", tz="UTC")
HEADERS = {"Authorization": "Bearer test-token"}


@pytest.fixture(scope="module")
def runs(finished_ensemble_run, tmp_path_factory):
    """The ensemble run served (`a`), a copy of it (`b`), and copies tampered with: a changed
    byte in a member graph (`c`); a manifest changed and the checksums sealed again (`d`)."""
    root = tmp_path_factory.mktemp("runs")
    for name in "abcd":
        shutil.copytree(finished_ensemble_run, root / name)
    graph = next((root / "c" / "models" / "ensemble_24h").glob("member_*.onnx"))
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    manifest = root / "d" / "models" / "ensemble_24h" / "ensemble.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "version": 99}))
    seal(root / "d")
    return root


@pytest.fixture(scope="module")
def warmed(runs, layout):
    """A service of `a` fed the bars of the month before START (its kept feature rows too)."""
    service = LiveService(runs / "a", None, layout)
    service.warm_up(layout, since="2024-06-01", until=str(START - pd.Timedelta("1h")))
    return service


def _bodies(layout, config, hours: int) -> list[list[dict]]:
    bars = layout.load_bars(config.market, "1h", config.symbols)
    ts = bars.index.get_level_values("ts")
    part = bars[(ts >= START) & (ts < START + pd.Timedelta(hours=hours))]
    return [
        [
            {"symbol": s, "ts": t.isoformat(), **{k: float(r[k]) for k in r.index}}
            for (_, s), r in group[["open", "high", "low", "close", "volume"]].iterrows()
        ]
        for t, group in part.groupby(level="ts", sort=True)
    ]


def _like(warmed: LiveService, layout, redis_url: str | None = None, prefix: str | None = None):
    """A service in `warmed`'s state (Redis keys of its own unless `prefix` is shared)."""
    service = LiveService(warmed.run, redis_url, layout)
    service.redis.prefix = prefix or f"edgecraft-test:{uuid.uuid4().hex}"
    service.restore(copy.deepcopy(warmed.snapshot()))
    service.engine.recent.extend(warmed.engine.recent)  # the same kept feature rows
    return service


def _post(client: httpx.Client, bodies: list[list[dict]]) -> list[dict]:
    signals = []
    for body in bodies:
        response = client.post("/bars", json={"bars": body})
        assert response.status_code == 200, response.text
        signals += [s for d in response.json()["decisions"] for s in d["signals"]]
    return signals


def _calls(signals: list[dict]) -> list[tuple]:
    return [(s["ts"], s["symbol"], s["direction"], round(s["confidence"], 9)) for s in signals]


def test_a_tampered_champion_is_refused_and_the_old_one_keeps_serving(
    runs, warmed, layout, monkeypatch
):
    monkeypatch.setenv(TOKEN_ENV, "test-token")
    bodies = _bodies(layout, warmed.config, 48)
    reference = _like(warmed, layout)  # never asked to change champion
    expected = [s for body in bodies for d in reference.ingest(_records(body)) for s in d.signals]
    service = _like(warmed, layout)
    with (
        running(create_app(service)) as base,
        httpx.Client(base_url=base, headers=HEADERS, timeout=60) as client,
    ):
        before = client.get("/health").json()
        changed = client.post("/champion", json={"run": "c"})
        assert changed.status_code == 409, changed.text
        assert "checksum mismatch" in changed.text and "member_" in changed.text
        resealed = client.post("/champion", json={"run": "d"})
        assert resealed.status_code == 409 and "version 99" in resealed.text
        assert client.post("/champion", json={"run": "../../etc"}).status_code == 422
        assert httpx.post(f"{base}/champion", json={"run": "b"}).status_code == 401
        health = client.get("/health").json()
        assert health["champion"] == before["champion"] == "a"
        assert health["champion_refused"]["run"] == "d"
        served = _post(client, bodies)
    assert len(served) == len(expected) == 48 * 3  # no signal lost or duplicated
    assert _calls(served) == [
        (s.ts.isoformat(), s.symbol, int(s.direction), round(s.confidence, 9)) for s in expected
    ]


def _records(body: list[dict]):
    from edgecraft.serving.app import BarsIn

    return [b.record() for b in BarsIn(bars=body).bars]


def test_a_whole_champion_serves_from_the_next_bar_and_reaches_the_other_worker(
    runs, warmed, layout, monkeypatch
):
    monkeypatch.setenv(TOKEN_ENV, "test-token")
    bodies = _bodies(layout, warmed.config, 24)
    reference = _like(warmed, layout)
    expected = [s for body in bodies for d in reference.ingest(_records(body)) for s in d.signals]
    prefix = f"edgecraft-test:{uuid.uuid4().hex}"
    first = _like(warmed, layout, "redis://127.0.0.1:6379/0", prefix)
    second = _like(warmed, layout, "redis://127.0.0.1:6379/0", prefix)
    with running(create_app(first)) as a, running(create_app(second)) as b:
        with (
            httpx.Client(base_url=a, headers=HEADERS, timeout=60) as one,
            httpx.Client(base_url=b, headers=HEADERS, timeout=60) as two,
        ):
            promoted = one.post("/champion", json={"run": "b"})
            assert promoted.status_code == 200, promoted.text
            # the transformer member reads 42 4h bars: its window is filled from kept rows
            assert promoted.json()["warmed_bars"] >= 42 * 4
            served = _post(one, bodies[:12]) + _post(two, bodies[12:])
            assert two.get("/health").json()["champion"] == "b"
            assert one.get("/health").json()["champion_refused"] is None
    assert verify(runs / "b") == verify(runs / "a")  # the same model, so the same calls
    assert len(served) == len(expected)
    assert _calls(served) == [
        (s.ts.isoformat(), s.symbol, int(s.direction), round(s.confidence, 9)) for s in expected
    ]
