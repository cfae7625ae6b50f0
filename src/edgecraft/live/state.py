"""The live service's state store: snapshots and the writers' lock in Redis, or nothing.

Errors reaching Redis mark it down (the service goes on from its in-process state), never raise.
The state is stored by `live.codec` (versioned MessagePack of known types, never pickle): a blob
it refuses is logged, named on `/health`, and the service keeps its in-process state.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import redis

from edgecraft.live.codec import StateFormatError, decode, encode

log = logging.getLogger(__name__)


class RejectedBarError(ValueError):
    """A bar the service will not apply; `status` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Latest:
    """The newest signal (and its intent) per symbol, as served."""

    signals: dict[str, dict] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # float64 feature rows


class RedisState:
    """Snapshots in Redis, or nothing when no URL is given; errors mark it down, never raise."""

    def __init__(self, url: str | None, prefix: str) -> None:
        self.prefix = prefix
        self.client = (
            redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            if url
            else None
        )
        self.status = "off" if url is None else "unknown"
        self.refused: str | None = None  # why the last shared state read was refused

    def _call(self, action: Callable[[redis.Redis], object]) -> object:
        if self.client is None:
            return None
        try:
            result = action(self.client)
            self.status = "up"
            return result
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            if self.status != "down":
                log.warning("redis=down error=%s: serving from in-process state", exc)
            self.status = "down"
            return None

    def load(self) -> dict | None:
        """The shared state; None when there is none, Redis is down, or the blob is refused."""
        raw = self._call(lambda r: r.get(f"{self.prefix}:state"))
        if not raw:
            return None
        try:
            state = decode(raw)
        except StateFormatError as exc:
            self.refuse(str(exc))
            return None
        if not isinstance(state, dict):
            self.refuse(f"the state is a {type(state).__name__}, not a mapping")
            return None
        self.refused = None
        return state

    def refuse(self, why: str) -> None:
        log.error(
            "redis state %s:state refused (%s): keeping the in-process state", self.prefix, why
        )
        self.refused = why

    def version(self) -> int:
        raw = self._call(lambda r: r.get(f"{self.prefix}:version"))
        return int(raw) if raw else -1

    def begin(self) -> tuple[str | None, int]:
        """Take the writers' lock and read the shared version in one round trip.

        Returns (lock token, version); (None, -1) when Redis is off or down.
        """
        token = uuid.uuid4().hex
        deadline = time.monotonic() + 5.0
        while True:
            result = self._call(
                lambda r: (
                    r.pipeline(transaction=False)
                    .set(f"{self.prefix}:lock", token, nx=True, px=10_000)
                    .get(f"{self.prefix}:version")
                    .execute()
                )
            )
            if result is None:
                return None, -1
            taken, version = result
            if taken:
                return token, int(version) if version else -1
            if time.monotonic() > deadline:
                raise RejectedBarError("another worker holds the state lock; retry", 503)
            time.sleep(0.002)

    def commit(
        self, token: str, state: dict, version: int, latest: Latest, symbols: set[str]
    ) -> None:
        """Write the state, the version and the changed symbols' latest values, and release the
        lock, in one round trip."""
        blob = encode(state)

        def write(r: redis.Redis) -> None:
            pipe = r.pipeline(transaction=False)  # the lock already orders the writers
            pipe.set(f"{self.prefix}:state", blob)
            pipe.set(f"{self.prefix}:version", version)
            for symbol in symbols:
                record = json.dumps(latest.signals[symbol], default=str)
                pipe.hset(f"{self.prefix}:signals", symbol, record)
                pipe.hset(f"{self.prefix}:vectors", symbol, latest.vectors[symbol].tobytes())
            pipe.eval(_RELEASE, 1, f"{self.prefix}:lock", token)
            pipe.execute()

        self._call(write)

    def release(self, token: str) -> None:
        self._call(lambda r: r.eval(_RELEASE, 1, f"{self.prefix}:lock", token))


_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
