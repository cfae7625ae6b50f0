"""End to end on a replay of the real data with a drift injected: alert → retrain → challenger →
paper A/B → promotion decision, through the Prefect flows, MLflow (sqlite) and the paper ledger.

A copy of the data folder (bars linked, not copied) gets its perpetual funding rates shifted up
by `--shift` standard deviations from `--drift-from` on: a funding regime the champion never saw.

Run: .venv/bin/python examples/drift_cycle.py --out /tmp/cycle [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from edgecraft.data.layout import default_data_dir
from edgecraft.operations.flows import cycle_flow, train_flow
from edgecraft.operations.monitor import shifted_funding_copy

CONFIG = {
    "name": "drift-demo",
    "symbols": ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT"],
    "start": "2021-01-01",
    "end": "2024-03-31",
    "features": {"timeframes": ["1h", "4h"]},
    "label": {"horizons": ["24h"]},
    "model": {"name": "lgbm", "params": {"n_estimators": 60, "min_child_samples": 500}},
    "validation": {"test_length": "180d", "min_train": "365d"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--drift-from", default="2024-05-01")
    parser.add_argument("--shift", type=float, default=3.0)
    parser.add_argument("--now", default="2024-06-30")
    parser.add_argument("--paper-end", default="2024-12-31")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{out / 'mlflow.db'}"
    ledger = f"sqlite:///{out / 'paper.db'}"
    config = out / "drift-demo.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    data = shifted_funding_copy(args.data, out / "data", args.drift_from, args.shift)

    champion = train_flow(config, data, out / "runs", uri)
    print("champion:", json.dumps(champion))
    steps = []
    for now in (args.now, args.paper_end):  # two scheduled steps of the loop
        step = cycle_flow(config, data, out, now=now, uri=uri, ledger=ledger)
        print(json.dumps(step, indent=1, default=str))
        steps.append(step)
    (out / "cycle.json").write_text(json.dumps({"champion": champion, "steps": steps}, default=str))


if __name__ == "__main__":
    main()
