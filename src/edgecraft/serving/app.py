"""FastAPI app: POST closed bars, GET the latest signals, stream them as server-sent events."""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from edgecraft.core.contracts import Bar
from edgecraft.live.service import ChampionRefusedError, LiveService
from edgecraft.live.state import RejectedBarError
from edgecraft.serving.dashboard import mount_dashboard

TOKEN_ENV = "EDGECRAFT_TOKEN"
MAX_BODY = 4 * 1024 * 1024  # bytes: 10,000 bars (the most one request may carry) fit in ~2 MB


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes gets 413 before the app sees any of it,
    whether it says its length (Content-Length) or streams it (chunked): the body is read up to
    the limit first, then handed on."""

    def __init__(self, app, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _too_large(send, self.limit)
        messages, seen = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.limit:
                return await _too_large(send, self.limit)
            if not message.get("more_body", False):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"detail": f"request body over {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BarIn(BaseModel):
    """One closed bar; `ts` is its close time with an explicit UTC offset."""

    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(examples=["BTC/USDT"])
    ts: str = Field(examples=["2025-05-16T12:00:00Z"])
    open: float
    high: float
    low: float
    close: float
    volume: float
    taker_buy_volume: float | None = Field(None, ge=0)  # Binance klines carry it

    @field_validator("ts")
    @classmethod
    def _aware(cls, value: str) -> str:
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None:
            raise ValueError(f"ts {value!r} has no timezone; send UTC, e.g. 2025-05-16T12:00:00Z")
        return value

    def record(self) -> Bar:
        return Bar(
            pd.Timestamp(self.ts).tz_convert("UTC"),
            self.symbol,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            math.nan if self.taker_buy_volume is None else self.taker_buy_volume,
        )


class BarsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bars: list[BarIn] = Field(min_length=1, max_length=10_000)


class ChampionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: str = Field(
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*$",
        description="The name of a run folder beside the served one.",
    )


def create_app(
    service: LiveService,
    online_features: Callable[[list[str]], pd.DataFrame] | None = None,
    paper_ledger: str | None = None,
    drift: Path | None = None,
    insecure: bool = False,
    public_reads: bool = True,
) -> FastAPI:
    """The HTTP shell over one LiveService; `online_features(symbols)` (e.g. a Feast
    repository's online read) backs GET /features/{base}/{quote} when given. The dashboard
    (GET /dashboard) shows the paper sessions of `paper_ledger` and the drift reports under
    `drift` when given.

    Writes (POST /bars) need the bearer token of EDGECRAFT_TOKEN, compared in constant time;
    without one they answer 503, unless `insecure` opens them to anyone. Reads (signals,
    features, stream) are public unless `public_reads` is False. The engine runs in a worker
    thread, so reads and /health answer while a write waits for the state lock."""
    app = FastAPI(
        title="edgecraft", version="0.1.0", description=f"Signals of run {service.run_id}"
    )
    subscribers: set[asyncio.Queue] = set()
    loop_holder: dict[str, asyncio.AbstractEventLoop] = {}

    def broadcast(record: dict) -> None:
        loop = loop_holder.get("loop")
        for queue in list(subscribers):
            if loop is not None:
                loop.call_soon_threadsafe(queue.put_nowait, record)

    service.listeners.append(broadcast)

    async def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
        expected = os.environ.get(TOKEN_ENV)
        if not expected:
            if insecure:
                return
            raise HTTPException(503, f"writes are disabled: set {TOKEN_ENV} on the server")
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "missing or wrong bearer token")

    readers = [] if public_reads else [Depends(require_token)]

    @app.get("/health")
    async def health() -> dict:
        return service.health()

    @app.post("/bars", dependencies=[Depends(require_token)])
    async def post_bars(body: BarsIn) -> JSONResponse:
        """Apply closed bars (all or none); returns the signals and decisions they produced."""
        try:
            records = [b.record() for b in body.bars]
            decisions = await run_in_threadpool(service.ingest, records)
        except RejectedBarError as exc:
            raise HTTPException(exc.status, str(exc)) from exc
        return {
            "decisions": [
                {
                    "ts": d.ts.isoformat(),
                    "signals": [service.latest.signals[s.symbol] for s in d.signals],
                }
                for d in decisions
            ]
        }

    @app.post("/champion", dependencies=[Depends(require_token)])
    async def promote(body: ChampionIn) -> dict:
        """Serve another finished run's model from the next bar on (a run folder beside the
        served one, with the same features, market and symbols). A run whose files changed or
        that does not fit is refused (409) and the current champion keeps serving."""
        root = service.run.resolve().parent
        run = (root / body.run).resolve()
        if run.parent != root:  # a link out of the runs' folder
            raise HTTPException(422, f"{body.run!r} is not a run folder beside the served run")
        try:
            return await run_in_threadpool(service.promote, run)
        except ChampionRefusedError as exc:
            raise HTTPException(
                409, f"champion refused, {service.champion.name} keeps serving: {exc}"
            ) from exc
        except RejectedBarError as exc:
            raise HTTPException(exc.status, str(exc)) from exc

    @app.get("/signals", dependencies=readers)
    async def all_signals() -> Response:
        """The latest signal per symbol: `{"signals": {symbol: signal}}`."""
        return Response(service.signals_json(), media_type="application/json")

    @app.get("/signals/{base}/{quote}", dependencies=readers)
    async def one_signal(base: str, quote: str) -> dict:
        symbol = f"{base}/{quote}".upper()
        signal = service.latest.signals.get(symbol)
        if signal is None:
            raise HTTPException(404, f"no signal yet for {symbol}")
        return signal

    @app.get("/features/{base}/{quote}", dependencies=readers)
    async def features(base: str, quote: str) -> dict:
        """The newest feature values of a symbol from the online feature store."""
        if online_features is None:
            raise HTTPException(404, "no online feature store: start serve with --feast REPO")
        symbol = f"{base}/{quote}".upper()
        row = online_features([symbol]).loc[symbol]
        values = {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
        if all(v is None for v in values.values()):
            raise HTTPException(404, f"no online features for {symbol}")
        return {"symbol": symbol, "features": values}

    @app.get("/stream", dependencies=readers)
    async def stream() -> StreamingResponse:
        """Server-sent events: one `signal` event per new signal."""
        loop_holder["loop"] = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        subscribers.add(queue)

        async def events():
            try:
                yield ": connected\n\n"
                while True:
                    record = await queue.get()
                    yield f"event: signal\ndata: {json.dumps(record)}\n\n"
            finally:
                subscribers.discard(queue)

        return StreamingResponse(events(), media_type="text/event-stream")

    mount_dashboard(app, service, paper_ledger, drift)
    app.add_middleware(BodyLimit)
    return app
