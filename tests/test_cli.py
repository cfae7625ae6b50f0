"""The `edgecraft` CLI end to end on real data: features written as Parquet, errors as exit 1."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from edgecraft.cli.main import app


def test_features_command_writes_one_parquet_per_symbol(layout, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "features",
            "--data",
            str(layout.root),
            "--out",
            str(tmp_path),
            "-s",
            "SOL/USDT",
            "-s",
            "BTC/USDT",
        ],
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "features_spot_1h"
    assert sorted(p.name for p in folder.iterdir()) == ["BTCUSDT.parquet", "SOLUSDT.parquet"]
    sol = pd.read_parquet(folder / "SOLUSDT.parquet")
    assert list(sol.columns[:2]) == ["ts", "symbol"] and (sol["symbol"] == "SOL/USDT").all()
    assert sol["ts"].is_monotonic_increasing and len(sol) > 40_000
    assert sol.iloc[-1].drop(["ts", "symbol"]).notna().mean() > 0.8


def test_features_command_reports_bad_settings(layout, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("base_timeframe: 1h\nfeatures: [{name: nope}]\n")
    result = CliRunner().invoke(
        app,
        ["features", "--data", str(layout.root), "--config", str(config), "--out", str(tmp_path)],
    )
    assert result.exit_code == 1 and "unknown feature 'nope'" in result.output
    missing = CliRunner().invoke(app, ["features", "--data", str(tmp_path), "--out", str(tmp_path)])
    assert missing.exit_code == 1 and "does not exist" in missing.output
