"""The serving tests' shared state: the small run's batch features, and a service's state warmed
on every bar from the run's start to CUTOFF (computed once per session)."""

from __future__ import annotations

import copy
import uuid

import pandas as pd
import pytest

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
