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


def test_features_on_a_users_own_csv_folder(tmp_path):
    """A user's CSVs (epoch-ms open times) laid out as ohlcv/spot_1h/<PAIR>-1h.csv just work."""
    from tests.factories import make_bars, to_file_frame

    folder = tmp_path / "mydata" / "ohlcv" / "spot_1h"
    folder.mkdir(parents=True)
    bars = make_bars(400, ("BTC/USDT", "ETH/USDT", "DOGE/USDT"), seed=2)
    for symbol in ("BTC/USDT", "ETH/USDT", "DOGE/USDT"):
        frame = to_file_frame(bars.xs(symbol, level="symbol", drop_level=False))
        frame["timestamp"] = frame["timestamp"].astype("int64") // 1_000_000
        frame.to_csv(folder / f"{symbol.replace('/', '')}-1h.csv", index=False)
    result = CliRunner().invoke(
        app, ["features", "--data", str(tmp_path / "mydata"), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    doge = pd.read_parquet(tmp_path / "out" / "features_spot_1h" / "DOGEUSDT.parquet")
    assert len(doge) == 400 and doge["tech_rsi_14_1h"].notna().sum() > 100
    bad = folder / "DOGEUSDT-1h.csv"
    bad.write_text(bad.read_text().replace("\n1", "\nx1", 1))
    failed = CliRunner().invoke(
        app, ["features", "--data", str(tmp_path / "mydata"), "--out", str(tmp_path / "out")]
    )
    assert failed.exit_code == 1 and "DOGEUSDT-1h.csv: row 1" in failed.output


def test_headline_prints_each_runs_numbers_and_report_path(finished_run, tmp_path):
    import json

    result = CliRunner().invoke(app, ["headline", str(finished_run)], terminal_width=200)
    assert result.exit_code == 0, result.output
    metrics = json.loads((finished_run / "metrics.json").read_text())
    for horizon, m in metrics["horizons"].items():
        row = next(line for line in result.output.splitlines() if f" {horizon} " in line)
        assert f"{m['rank_ic']:.3f}" in row
    assert f"report: {(finished_run / 'report.html').resolve()}" in result.output
    assert str(metrics["backtest"]["trades"]) in result.output
    missing = CliRunner().invoke(app, ["headline", str(tmp_path)])
    assert missing.exit_code == 1 and "not a finished run" in missing.output
