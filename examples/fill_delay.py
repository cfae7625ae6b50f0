"""What the fill price does to a finished run's signal portfolio: filled at the signal bar's own
close, at the next bar's open (the run's headline), and one bar late (the next bar's close),
gross and net of the run's costs; and how far the next open lies from the close.

Run: .venv/bin/python examples/fill_delay.py artifacts/default-<time>-<hash> [--data DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from edgecraft.data.layout import DataLayout, default_data_dir
from edgecraft.metrics.evaluation import BookCosts, frame_portfolio
from edgecraft.metrics.returns import profit_factor, sharpe
from edgecraft.research.artifacts import verify
from edgecraft.research.fitting import next_bar_moves
from edgecraft.research.run import hold_and_cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    config = verify(args.run)
    layout = DataLayout(args.data or default_data_dir())
    bars = layout.load_bars(config.market, config.features.base_timeframe, config.symbols or None)
    print("horizon  fill                 PF gross  PF net  Sharpe net")
    for horizon in config.label.horizons:
        frame = pd.read_parquet(args.run / f"predictions_{horizon}.parquet")
        frame = frame.set_index(["ts", "symbol"])
        moves = next_bar_moves(bars, frame.index)
        late = frame["next_return"].groupby(level="symbol").shift(-1)
        fills = {
            "signal close": frame.drop(columns=["next_gap", "next_intrabar"], errors="ignore"),
            "next open": frame.drop(columns=["next_gap", "next_intrabar"], errors="ignore").join(
                moves
            ),
            "next close (late)": frame.drop(
                columns=["next_gap", "next_intrabar"], errors="ignore"
            ).assign(next_return=late),
        }
        hold, cost = hold_and_cost(config, horizon)
        for name, part in fills.items():
            gross = frame_portfolio(part, hold, BookCosts(0.0)).net
            net = frame_portfolio(part, hold, cost).net
            print(
                f"{horizon:<8} {name:<20} {profit_factor(gross):8.3f} {profit_factor(net):7.3f} "
                f"{sharpe(net):11.3f}"
            )
        gap_bps = moves["next_gap"].abs().mean() * 1e4
        print(f"{horizon:<8} mean |next open / close - 1|: {gap_bps:.2f} bps")


if __name__ == "__main__":
    main()
