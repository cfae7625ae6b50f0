"""Benchmark: `edgecraft serve` under load, with 1 and 2 worker processes sharing one Redis.

Run: .venv/bin/python benchmarks/bench_load.py [--run RUN_DIR] [--seconds 60]
Without --run it first trains the small 3-pair run of bench_serving.py. Each worker is a real
`edgecraft serve` process (warmed on the data folder's last 2000 bars; state in Redis at
127.0.0.1:6379); with 2 workers the requests alternate between them, as behind a round-robin
balancer. The load is open-loop: request i is due at start + i / rate and its latency counts from
then (a late sender shows as latency, not as a lower rate); a request unanswered 10 s after its
phase ends counts as an error. One in five requests is a POST /bars
(the next bar close of every pair, a random walk continuing the data, sent in order on one
connection); the rest are GET /signals on 32 connections.

Phases: `--rate` (default 500/s) for `--seconds`; then a step test from 250/s upward (x1.5 per
10 s step) until a step has errors or p99 > 50 ms: the knee is the last step that had neither.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_serving import small_run  # noqa: E402

from edgecraft.data.layout import DataLayout, default_data_dir  # noqa: E402
from edgecraft.research.config import load_run_config  # noqa: E402

TOKEN = "bench-load"
POST_SHARE = 5  # every 5th request is a POST /bars
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(run: Path, data: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgecraft.cli.main", "serve", "--run", str(run)]
        + ["--redis-url", REDIS, "--port", str(port), "--data", str(data)]
        + ["--warmup-bars", "2000"],
        env={**os.environ, "EDGECRAFT_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode()[-2000:])
    raise RuntimeError("edgecraft serve did not come up")


class Bars:
    """Bar closes after the data's last: every pair a seeded random walk from its last close."""

    def __init__(self, layout: DataLayout, symbols: list[str]) -> None:
        bars = layout.load_bars("spot", "1h", symbols)
        self.last = bars.index.get_level_values("ts").max()
        self.close = bars.xs(self.last, level="ts")["close"].to_dict()
        self.rng = np.random.default_rng(0)
        self.k = 0

    def next_body(self) -> bytes:
        self.k += 1
        ts = (self.last + pd.Timedelta(hours=self.k)).isoformat()
        out = []
        for symbol, c in self.close.items():
            r = self.rng.normal(0.0, 0.01)
            new = c * float(np.exp(r))
            wick = abs(self.rng.normal(0.0, 0.004))
            out.append(
                {
                    "symbol": symbol,
                    "ts": ts,
                    "open": c,
                    "high": max(c, new) * (1 + wick),
                    "low": min(c, new) * (1 - wick),
                    "close": new,
                    "volume": float(self.rng.uniform(10, 100)),
                }
            )
            self.close[symbol] = new
        return json.dumps({"bars": out}).encode()


class Connection:
    """One keep-alive HTTP/1.1 connection on raw asyncio streams: a load generator lean enough
    (like wrk) that the figures are the server's, not the client's."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def phase(bases: list[str], bars: Bars, rate: float, seconds: float) -> dict:
    """Open-loop mixed load; latency from each request's due time."""
    n = int(rate * seconds)
    latencies: list[float] = []
    statuses: dict = {}
    gets: asyncio.Queue = asyncio.Queue()
    posts: asyncio.Queue = asyncio.Queue()
    begin = time.perf_counter() + 0.2
    deadline = begin + seconds + 10.0

    def record(due: float, status: int | None) -> None:
        latencies.append(time.perf_counter() - due)
        statuses[status] = statuses.get(status, 0) + 1

    async def worker(queue: asyncio.Queue, base: str, make_body) -> None:
        connection = Connection(base)
        try:
            while True:
                due = await queue.get()
                if due is None or time.perf_counter() > deadline:
                    return
                method, path, body = make_body()
                try:
                    record(due, await connection.request(method, path, body))
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    record(due, None)
                    connection.close()
                    connection = Connection(base)
        finally:
            connection.close()

    readers = [
        asyncio.create_task(worker(gets, bases[k % len(bases)], lambda: ("GET", "/signals", b"")))
        for k in range(16)
    ]

    async def poster() -> None:  # bar closes in order, alternating between the workers
        connections = [Connection(base) for base in bases]
        k = 0
        try:
            while True:
                due = await posts.get()
                if due is None or time.perf_counter() > deadline:
                    return
                connection = connections[k % len(connections)]
                k += 1
                try:
                    record(due, await connection.request("POST", "/bars", bars.next_body()))
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    record(due, None)
        finally:
            for connection in connections:
                connection.close()

    posters = [asyncio.create_task(poster())]
    for i in range(n):
        due = begin + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        (posts if i % POST_SHARE == 0 else gets).put_nowait(due)
    for _ in readers:
        gets.put_nowait(None)
    posts.put_nowait(None)
    await asyncio.wait([*readers, *posters], timeout=max(0.0, deadline - time.perf_counter()) + 1.0)
    for task in [*readers, *posters]:
        task.cancel()
    unanswered = n - len(latencies)  # still unanswered 10 s after the phase: errors
    statuses[None] = statuses.get(None, 0) + unanswered
    errors = sum(c for s, c in statuses.items() if s != 200)
    ms = np.array(latencies or [np.nan]) * 1e3
    return {
        "rate": rate,
        "requests": n,
        "errors": errors,
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "statuses": statuses,
    }


def line(result: dict) -> str:
    return (
        f"  {result['rate']:7.0f}/s  {result['requests']:6d} requests  errors "
        f"{result['errors']:4d}  p50 {result['p50']:8.2f} ms  p99 {result['p99']:8.2f} ms"
    )


def bench(run: Path, layout: DataLayout, workers: int, rate: float, seconds: float) -> None:
    import redis

    redis.Redis.from_url(REDIS).delete(
        *(redis.Redis.from_url(REDIS).keys(f"edgecraft:{run.name}:*") or [b"none"])
    )
    procs = []
    try:
        first = start_worker(run, layout.root)  # warms up and writes the shared state
        procs.append(first)
        if workers == 2:
            procs.append(start_worker(run, layout.root))  # resumes from Redis
        bases = [base for _, base in procs]
        symbols = load_run_config(run / "config.yaml").symbols
        bars = Bars(layout, symbols)
        print(f"{workers} worker(s), {len(symbols)} pairs, 1 in {POST_SHARE} requests POST /bars:")
        print(line(asyncio.run(phase(bases, bars, rate, seconds))))
        print("  step test (10 s steps) until errors or p99 > 50 ms:")
        step, knee = 250.0, None
        while step <= 8000:
            result = asyncio.run(phase(bases, bars, step, 10.0))
            print(line(result))
            if result["errors"] or result["p99"] > 50.0:
                break
            knee = step
            step *= 1.5
        print(f"  knee: {knee:.0f}/s" if knee else "  knee: below 250/s")
    finally:
        for proc, _ in procs:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=Path)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    layout = DataLayout(default_data_dir())
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run or small_run(Path(tmp))
        for workers in args.workers:
            bench(run, layout, workers, args.rate, args.seconds)


if __name__ == "__main__":
    main()
