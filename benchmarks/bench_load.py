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


async def phase(bases: list[str], bars: Bars, rate: float, seconds: float) -> dict:
    """Open-loop mixed load; latency from each request's due time."""
    n = int(rate * seconds)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    readers = [httpx.AsyncClient(base_url=b, limits=limits, timeout=10) for b in bases]
    writers = [httpx.AsyncClient(base_url=b, timeout=10) for b in bases]
    latencies, errors, statuses = [], 0, {}
    post_queue: asyncio.Queue = asyncio.Queue()
    begin = time.perf_counter() + 0.2

    def record(due: float, status: int | None) -> None:
        nonlocal errors
        latencies.append(time.perf_counter() - due)
        statuses[status] = statuses.get(status, 0) + 1
        errors += status != 200

    async def get(i: int, due: float) -> None:
        try:
            response = await readers[i % len(bases)].get("/signals")
            record(due, response.status_code)
        except httpx.HTTPError:
            record(due, None)

    async def poster() -> None:  # bar closes in order, on one connection per worker
        k = 0
        while True:
            due = await post_queue.get()
            if due is None:
                return
            body = bars.next_body()
            try:
                response = await writers[k % len(bases)].post(
                    "/bars", content=body, headers=headers
                )
                record(due, response.status_code)
            except httpx.HTTPError:
                record(due, None)
            k += 1

    post_task = asyncio.create_task(poster())
    tasks = []
    for i in range(n):
        due = begin + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if i % POST_SHARE == 0:
            post_queue.put_nowait(due)
        else:
            tasks.append(asyncio.create_task(get(i, due)))
    # requests still unanswered 10 s after the phase's end count as errors (status None)
    deadline = begin + seconds + 10.0
    post_queue.put_nowait(None)
    _, late = await asyncio.wait(
        [*tasks, post_task], timeout=max(0.0, deadline - time.perf_counter())
    )
    for task in late:
        task.cancel()
    unanswered = n - len(latencies)
    errors += unanswered
    statuses[None] = statuses.get(None, 0) + unanswered
    for client in readers + writers:
        await client.aclose()
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
