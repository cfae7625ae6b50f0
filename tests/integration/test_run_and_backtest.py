"""`edgecraft run` and `edgecraft backtest` end to end on a slice of the real data."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.core.errors import ConfigError, DataError
from edgecraft.research.artifacts import load_run
from edgecraft.research.config import load_run_config

KEYS = {
    "ic",
    "rank_ic",
    "cross_sectional_rank_ic",
    "ir",
    "hit_rate",
    "profit_factor",
    "sharpe",
    "calmar",
    "max_drawdown",
    "ece",
    "dsr",
    "signals",
    "windows",
    "per_symbol_rank_ic",
}


def test_run_folder_holds_everything(finished_run):
    names = {p.name for p in finished_run.iterdir()}
    assert {
        "config.yaml",
        "feature_spec.json",
        "fingerprint.json",
        "metrics.json",
        "report.html",
        "checksums.json",
        "models",
    } <= names
    metrics = json.loads((finished_run / "metrics.json").read_text())["horizons"]
    assert set(metrics) == {"4h", "24h"}
    for horizon in metrics.values():
        assert KEYS <= set(horizon)
        assert horizon["signals"] > 0 and len(horizon["windows"]) >= 3
        assert -0.2 < horizon["rank_ic"] < 0.2  # honest magnitudes on real data, not a leak
        books = horizon["books"]
        assert {"signal", "long_short", "hysteresis", "meta", "signal_meta_rows"} <= set(books)
        for book in books.values():  # every book costs something and states its trial count
            assert book["cost_drag_annual"] > 0 or book["gross_exposure"] == 0
            assert book["trials"] == 2 * 4
        assert books["long_short"]["gross_exposure"] > 0.5  # one long and one short pair
        assert books["meta"]["rows"] == books["signal_meta_rows"]["rows"] < horizon["rows"]
    summary = json.loads((finished_run / "metrics.json").read_text())
    cpcv = summary["horizons"]["24h"]["cpcv"]
    assert cpcv["splits"] == 6 and cpcv["n_paths"] == 3
    assert len(cpcv["books"]["long_short"]["paths"]) == 3
    overfitting = summary["overfitting"]
    assert overfitting["configurations"] == 8 and 0 <= overfitting["pbo"] <= 1
    trading = summary["backtest"]
    assert trading["horizon"] == "24h" and trading["trades"] > 0
    assert {"profit_factor", "sharpe", "sortino", "calmar", "max_drawdown"} <= set(trading["net"])
    assert trading["final_equity"] <= trading["final_equity_gross"]  # costs only take
    assert sum(trading["decisions"].values()) > 0
    trades = pd.read_parquet(finished_run / "trades.parquet")
    assert set(trades["reason"]) <= {"stop", "target", "horizon", "signal", "end"}
    fingerprint = json.loads((finished_run / "fingerprint.json").read_text())
    assert "binance_spot_BTCUSDT_1h.parquet" in fingerprint["files"]
    report = (finished_run / "report.html").read_text()
    assert "cumulative daily cross-sectional rank IC" in report and "plotly" in report
    assert "Books (out of sample" in report and "Combinatorial purged CV, 24h" in report
    assert "PBO of picking the best" in report
    predictions = pd.read_parquet(finished_run / "predictions_24h.parquet")
    assert {"score", "p_up", "direction", "confidence", "target", "stop"} <= set(
        predictions.columns
    )
    assert predictions["ts"].min() >= pd.Timestamp("2022-08-29", tz="UTC")  # after min_train


def test_backtest_applies_the_saved_model_to_new_bars(finished_run, layout, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--run",
            str(finished_run),
            "--data",
            str(layout.root),
            "--start",
            "2024-07-01",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    metrics = json.loads((folder / "metrics.json").read_text())["horizons"]
    assert KEYS <= set(metrics["24h"])
    assert metrics["24h"]["in_sample"] is False  # the run ended 2024-06-30
    predictions = pd.read_parquet(folder / "predictions_24h.parquet")
    assert predictions["ts"].min() >= pd.Timestamp("2024-07-01", tz="UTC")
    assert predictions["ts"].max() > pd.Timestamp("2025-01-01", tz="UTC")


def test_a_tampered_run_is_refused(finished_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(finished_run, copy)
    model = next((copy / "models").iterdir())
    model.write_bytes(model.read_bytes() + b"x")
    with pytest.raises(DataError, match="checksum mismatch"):
        load_run(copy)


def test_config_rejects_unknown_keys_and_models(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nlabels: {horizons: [4h]}\n")
    with pytest.raises(ConfigError, match="labels"):
        load_run_config(path)
    path.write_text("model: {name: forest}\n")
    with pytest.raises(ConfigError, match="unknown model 'forest'"):
        load_run_config(path)


def test_triple_barrier_labels_with_xgboost_run_end_to_end(layout):
    from edgecraft.research.config import RunConfig
    from edgecraft.research.fitting import make_labels
    from edgecraft.research.run import evaluate_horizon, prepare, score_signals, walk_forward

    config = RunConfig(
        symbols=["BTC/USDT", "ETH/USDT"],
        start="2023-06-01",
        end="2024-06-01",
        label={"kind": "triple_barrier", "horizons": ["24h"]},
        model={"name": "xgb", "params": {"n_estimators": 20}},
        validation={"test_length": "90d", "min_train": "150d"},
    )
    prepared = prepare(config, layout.root)
    labels = make_labels(config, prepared.bars, prepared.X, "24h")
    assert set(labels["y"].dropna().unique()) <= {-1.0, 0.0, 1.0}
    assert (
        labels["t1"].dropna()
        <= labels["t1"].dropna().index.get_level_values("ts") + pd.Timedelta("24h")
    ).all()
    predictions = walk_forward(config, prepared.X, labels, "24h")
    frame = score_signals(config, predictions, prepared.bars, prepared.X, labels, "24h")
    metrics = evaluate_horizon(config, frame, "24h")
    assert metrics["rows"] > 1000 and metrics["signals"] > 0
