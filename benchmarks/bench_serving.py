"""Benchmark: live decision latency through ONNX Runtime vs the training libraries, and over HTTP.

Run: .venv/bin/python benchmarks/bench_serving.py [--run RUN_DIR | --ensemble]
Without --run it first trains a small run (BTC, ETH, SOL; 2022-2024) into a temporary folder; with
--run (e.g. the default run of `make run`, 17 pairs) it serves that run's pairs; with --ensemble
it trains configs/ensemble.yaml's ensemble (LightGBM, LSTM, Transformer, stacked meta-model,
PPO sizing; the same architectures) on all 17 pairs over one year with fewer epochs and PPO
steps (latency depends on the architecture, not on how long it trained) and serves that.
In-process: one `Engine.on_bars` per bar close (every symbol: streaming feature update, every
model, meta-model, calibration, sizing, signal rule, risk manager), p50/p99, with the ONNX
Runtime graphs and with the training libraries they were exported from (LightGBM, PyTorch
eager, scikit-learn, Stable-Baselines3), in the same run. HTTP: `POST /bars` on loopback at a fixed
200 requests/s for 30 s against uvicorn with state shared in Redis (127.0.0.1:6379).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("EDGECRAFT_TOKEN", "bench")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import uvicorn  # noqa: E402

from edgecraft.data.bars import iter_bars  # noqa: E402
from edgecraft.data.layout import DataLayout, default_data_dir  # noqa: E402
from edgecraft.live.service import LiveService  # noqa: E402
from edgecraft.research.config import load_run_config  # noqa: E402
from edgecraft.research.experiment import run_experiment  # noqa: E402
from edgecraft.serving.app import create_app  # noqa: E402
from edgecraft.signals.ensemble import EnsembleScorer  # noqa: E402
from edgecraft.signals.live_ensemble import eager_ensemble  # noqa: E402

CUTOFF = "2024-06-01"
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def small_run(out: Path, fitted: dict | None = None) -> Path:
    config = load_run_config(
        None,
        name="bench",
        symbols=SYMBOLS,
        start="2022-01-01",
        end="2024-05-31",
        label={"horizons": ["24h"]},
        model={"name": "lgbm", "params": {"n_estimators": 200}},
        validation={"test_length": "180d", "min_train": "365d"},
    )
    return run_experiment(config, None, out, fitted=fitted)


def ensemble_run(out: Path, fitted: dict | None = None) -> Path:
    base = load_run_config(Path(__file__).parents[1] / "configs" / "ensemble.yaml")
    spec = base.ensemble.model_dump()
    for member in spec["members"]:
        if member["name"] in ("lstm", "transformer"):
            member["params"]["epochs"] = 1
    spec["sizing"]["timesteps"] = 2000
    config = base.model_copy(
        update={
            "name": "bench-ensemble",
            "start": "2023-01-01",
            "end": "2024-05-31",
            "ensemble": type(base.ensemble)(**spec),
            "validation": base.validation.model_copy(
                update={"test_length": "120d", "min_train": "365d"}
            ),
            "trials": 1,
        }
    )
    return run_experiment(config, None, out, fitted=fitted)


def later_bars(layout: DataLayout, hours: int, symbols: list[str]) -> dict[pd.Timestamp, list]:
    bars = layout.load_bars("spot", "1h", symbols)
    ts = bars.index.get_level_values("ts")
    part = bars[
        (ts > pd.Timestamp(CUTOFF, tz="UTC"))
        & (ts <= pd.Timestamp(CUTOFF, tz="UTC") + pd.Timedelta(hours=hours))
    ]
    groups: dict[pd.Timestamp, list] = {}
    for bar in iter_bars(part):
        groups.setdefault(bar.ts, []).append(bar)
    return groups


def in_process(run: Path, layout: DataLayout, hours: int, fitted: dict) -> dict[str, np.ndarray]:
    """Per bar close, ms: the run's ONNX graphs, and the training libraries' models when they
    were trained in this invocation (`fitted`; a run folder holds no pickled model)."""
    timings = {}
    for name in ("onnxruntime", "libraries") if fitted else ("onnxruntime",):
        service = LiveService(run, None, layout)
        if name == "libraries":  # the same engine with the training libraries' scorer
            model = fitted[service.scorer.horizon]
            if isinstance(model, EnsembleScorer):
                model = eager_ensemble(model)
            service.engine.scorer = model
        service.warm_up(layout, since="2023-06-01", until=CUTOFF)
        samples = []
        for bars in later_bars(layout, hours, service.config.symbols).values():
            start = time.perf_counter()
            service.engine.on_bars(bars)
            samples.append(time.perf_counter() - start)
        timings[name] = np.array(samples) * 1e3
    return timings


def over_http(run: Path, layout: DataLayout, rate: float, seconds: float) -> tuple:
    service = LiveService(run, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), layout)
    service.redis.prefix = f"edgecraft-bench:{time.time_ns()}"
    service.warm_up(layout, since="2023-06-01", until=CUTOFF)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    groups = list(later_bars(layout, int(rate * seconds) + 10, service.config.symbols).values())
    latencies, errors = [], 0
    headers = {
        "Authorization": f"Bearer {os.environ['EDGECRAFT_TOKEN']}",
        "Content-Type": "application/json",
    }
    # a lean keep-alive client (like wrk), so the figures are the server's, not the client's
    client = http.client.HTTPConnection("127.0.0.1", port)
    fields = ("open", "high", "low", "close", "volume")
    bodies = [
        json.dumps(
            {
                "bars": [
                    {
                        "symbol": b.symbol,
                        "ts": b.ts.isoformat(),
                        **{k: getattr(b, k) for k in fields},
                    }
                    for b in group
                ]
            }
        )
        for group in groups
    ]
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        start = time.perf_counter()
        client.request("POST", "/bars", body=bodies[i], headers=headers)
        response = client.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        errors += response.status != 200
    elapsed = time.perf_counter() - begin
    client.close()
    server.should_exit = True
    redis_state = service.health()["redis"]
    return np.array(latencies) * 1e3, errors, elapsed, redis_state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=Path)
    parser.add_argument("--ensemble", action="store_true")
    parser.add_argument("--keep", type=Path, help="Train into this folder (reuse with --run).")
    parser.add_argument("--in-process-only", action="store_true")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    layout = DataLayout(default_data_dir())
    with tempfile.TemporaryDirectory() as tmp:
        fitted: dict = {}
        run = args.run or (ensemble_run if args.ensemble else small_run)(
            args.keep or Path(tmp), fitted
        )
        timings = in_process(run, layout, 2000, fitted)
        symbols = load_run_config(run / "config.yaml").symbols
        print(
            f"in-process Engine.on_bars, one bar close of {len(symbols)} symbols "
            f"(features + models + calibration + sizing + signal + risk), "
            f"{len(timings['onnxruntime'])} closes:"
        )
        for name, ms in timings.items():
            print(
                f"  {name:12s} p50 {np.percentile(ms, 50):6.3f} ms   p99 "
                f"{np.percentile(ms, 99):6.3f} ms"
            )
        if "libraries" in timings:
            ratio = np.percentile(timings["libraries"], 50) / np.percentile(
                timings["onnxruntime"], 50
            )
            print(f"  ratio libraries / onnxruntime (p50) = {ratio:.2f}x  (target: p99 <= 5 ms)")
        else:
            print("  (the libraries' baseline needs the models trained here: omit --run)")
        if args.in_process_only:
            return
        latencies, errors, elapsed, redis_state = over_http(run, layout, args.rate, args.seconds)
        print(
            f"HTTP POST /bars on loopback at {args.rate:.0f}/s for {elapsed:.1f} s "
            f"({len(latencies)} requests, Redis {redis_state}):"
        )
        print(
            f"  p50 {np.percentile(latencies, 50):6.3f} ms   p99 "
            f"{np.percentile(latencies, 99):6.3f} ms   errors {errors}  (target: p99 <= 10 ms, "
            "0 errors)"
        )


if __name__ == "__main__":
    main()
