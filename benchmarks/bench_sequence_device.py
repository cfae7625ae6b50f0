"""Sequence-model training throughput: CPU (1 thread, as in CI) against CUDA when present.

Synthetic features shaped like a run's (17 symbols, 100 features, hourly rows); the label needs
memory (a lagged feature), so the accuracy line shows the same learning on both devices.
Run: PYTHONPATH=src python benchmarks/bench_sequence_device.py [rows_per_symbol]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import torch

from edgecraft.models.sequence import LSTMClassifier, TransformerClassifier


def data(hours: int, symbols: int = 17, features: int = 100, seed: int = 0):
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2020-01-01", periods=hours, freq="h", tz="UTC")
    index = pd.MultiIndex.from_product(
        [ts, [f"S{i}" for i in range(symbols)]], names=["ts", "symbol"]
    )
    X = pd.DataFrame(rng.normal(size=(len(index), features)).astype(np.float32), index=index)
    X.columns = [f"f{i}" for i in range(features)]
    past = X["f0"].groupby(level="symbol").shift(4)
    return X, (past > 0).astype(float).where(past.notna())


def main() -> None:
    hours = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    X, y = data(hours)
    Xt, yt = data(500, seed=1)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"rows={len(X)} features={X.shape[1]} devices={devices}", flush=True)
    for cls in (LSTMClassifier, TransformerClassifier):
        times = {}
        for device in devices:
            model = cls(
                lookback=48,
                hidden=64,
                epochs=3,
                batch_size=512,
                learning_rate=3e-3,
                valid_fraction=0.0,
                threads=1,
                device=device,
            )
            start = time.perf_counter()
            model.fit(X, y)
            times[device] = time.perf_counter() - start
            start = time.perf_counter()
            proba = model.predict_proba(Xt)
            infer = time.perf_counter() - start
            known = yt.notna().to_numpy()
            acc = ((proba[:, 1] > 0.5) == (yt > 0).to_numpy())[known].mean()
            print(
                f"{cls.__name__:22s} {device:5s} fit {times[device]:7.2f} s "
                f"({3 * len(X) / times[device]:9.0f} samples/s)  predict {len(Xt)} rows "
                f"{infer:6.2f} s  accuracy {acc:.3f}",
                flush=True,
            )
        if "cuda" in times:
            print(
                f"{cls.__name__}: cuda fit {times['cpu'] / times['cuda']:.1f}x "
                "faster than 1 CPU thread"
            )


if __name__ == "__main__":
    main()
