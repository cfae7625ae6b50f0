"""The serving tests' shared state: the small run's batch features, and a service's state warmed
on every bar from the run's start to CUTOFF (computed once per session)."""

from __future__ import annotations

import copy
import socket
import threading
import time
import uuid
from contextlib import contextmanager

import pandas as pd
import pytest
import uvicorn

from edgecraft.live.service import LiveService
from edgecraft.research.run import prepare

CUTOFF = "2024-06-20 00:00"


@pytest.fixture(scope="session")
def batch(finished_run, layout):
    from edgecraft.research.artifacts import verify

    config = verify(finished_run)
    prepared = prepare(config, layout.root)
    return config, prepared


def _bars_after(prepared, start: str, hours: int) -> list[dict]:
    bars = prepared.bars
    ts = bars.index.get_level_values("ts")
    part = bars[
        (ts > pd.Timestamp(start, tz="UTC"))
        & (ts <= pd.Timestamp(start, tz="UTC") + pd.Timedelta(hours=hours))
    ]
    return [
        {
            "symbol": s,
            "ts": t.isoformat(),
            **{k: float(r[k]) for k in ("open", "high", "low", "close", "volume")},
        }
        for (t, s), r in part.iterrows()
    ]


@pytest.fixture(scope="session")
def warm(finished_run, layout) -> dict:
    """The state of a service fed every bar from the run's start to CUTOFF (computed once)."""
    service = LiveService(finished_run, None, layout)
    service.warm_up(layout, since="2022-01-01", until=CUTOFF)
    return service.snapshot()


def _service(finished_run, layout, redis_url=None, warm_state=None) -> LiveService:
    service = LiveService(finished_run, redis_url, layout)
    service.redis.prefix = f"edgecraft-test:{uuid.uuid4().hex}"  # isolate each test's keys
    service.restore(copy.deepcopy(warm_state))
    return service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app):
    """`app` behind a real uvicorn server on a free loopback port, in a thread; yields its base
    URL and stops the server on exit."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(5)
