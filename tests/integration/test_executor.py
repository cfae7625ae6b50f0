"""The executor seam: Dask gives the local executor's results; an interrupted run resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import psutil
import yaml
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.research.config import RunConfig
from edgecraft.research.executor import DaskExecutor, LocalExecutor
from edgecraft.research.fitting import make_labels
from edgecraft.research.run import prepare, walk_forward

SMALL = {
    "name": "executor",
    "symbols": ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
    "start": "2023-01-01",
    "end": "2024-06-30",
    "features": {"timeframes": ["1h", "4h"]},
    "label": {"horizons": ["24h"]},
    "model": {"name": "lgbm", "params": {"n_estimators": 30, "min_child_samples": 300}},
    "validation": {"test_length": "90d", "min_train": "240d"},
}


def _children() -> set[int]:
    """Child processes, less Python's own multiprocessing resource tracker (it lives as long as
    the interpreter, whoever started it)."""
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(p.cmdline())
    }


def _run(layout, settings: dict, out, executor: str, workers: int) -> Path:
    """`edgecraft run` of `settings` on `executor`; returns the run folder."""
    config = out.parent / f"{out.name}.yaml"
    config.write_text(yaml.safe_dump(settings))
    result = CliRunner().invoke(
        app,
        [
            *("run", "--config", str(config), "--data", str(layout.root), "--out", str(out)),
            *("--no-track", "--executor", executor, "--workers", str(workers)),
        ],
    )
    assert result.exit_code == 0, result.output
    (folder,) = list(out.iterdir())
    return folder


def test_dask_run_gives_the_local_metrics_and_leaves_no_process(layout, tmp_path):
    before = _children()
    folders = {
        executor: _run(layout, SMALL, tmp_path / executor, executor, workers)
        for executor, workers in (("local", 1), ("dask", 2))
    }
    local, dask = (json.loads((folders[k] / "metrics.json").read_text()) for k in ("local", "dask"))
    assert local["horizons"] == dask["horizons"]
    assert local["backtest"] == dask["backtest"]
    pd.testing.assert_frame_equal(
        pd.read_parquet(folders["local"] / "predictions_24h.parquet"),
        pd.read_parquet(folders["dask"] / "predictions_24h.parquet"),
    )
    assert not (folders["dask"] / "units").exists()  # checkpoints go once the run is sealed
    assert _children() <= before  # the LocalCluster is closed with its workers


def test_an_interrupted_walk_forward_resumes_from_its_finished_units(layout, tmp_path):
    config = RunConfig(**SMALL)
    prepared = prepare(config, layout.root)
    labels = make_labels(config, prepared.bars, prepared.X, "24h")
    units = tmp_path / "units"
    args = (config, prepared.X, labels, "24h")
    first = walk_forward(*args, executor=LocalExecutor(), bars=prepared.bars, checkpoint=units)
    files = sorted(units.glob("*.parquet"))
    assert len(files) == first["window"].nunique() >= 3
    files[-1].unlink()  # the run died before its last unit finished
    kept = {p: p.stat().st_mtime_ns for p in files[:-1]}
    executor = DaskExecutor(workers=1)
    try:
        again = walk_forward(*args, executor=executor, bars=prepared.bars, checkpoint=units)
    finally:
        executor.close()
    pd.testing.assert_frame_equal(first, again)
    assert {p: p.stat().st_mtime_ns for p in files[:-1]} == kept  # read back, not recomputed
    assert files[-1].exists()
    pooled = walk_forward(*args, executor=LocalExecutor(workers=2), bars=prepared.bars)
    pd.testing.assert_frame_equal(first, pooled)  # local processes: the same numbers


def test_resume_refuses_what_it_cannot_continue(layout, tmp_path, finished_run):
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    base = ["run", "--config", str(config), "--data", str(layout.root), "--no-track"]
    finished = CliRunner().invoke(app, [*base, "--resume", str(finished_run)])
    assert finished.exit_code == 1 and "finished run" in finished.output
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = CliRunner().invoke(app, [*base, "--resume", str(empty)])
    assert missing.exit_code == 1 and "no units/" in missing.output


def test_search_counts_every_trial_and_keeps_the_best(layout, tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump({**SMALL, "trials": 2}))
    out = tmp_path / "search"
    result = CliRunner().invoke(
        app,
        [
            "search",
            "--config",
            str(config),
            "--data",
            str(layout.root),
            "--out",
            str(out),
            "--trials",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "search.json").read_text())
    values = [t["value"] for t in summary["trials"]]
    assert len(values) == 3 and len({json.dumps(t["params"]) for t in summary["trials"]}) == 3
    assert summary["best"]["value"] == max(values)
    best = RunConfig(**yaml.safe_load((out / "best.yaml").read_text()))
    assert best.trials == 2 + 3  # earlier tries plus every trial of this search
    assert best.model.params["num_leaves"] == summary["best"]["params"]["num_leaves"]
    overfitting = summary["overfitting"]  # picking the best of 3 trials: its PBO
    assert overfitting["configurations"] == 3 and 0.0 <= overfitting["pbo"] <= 1.0
    assert best.pbo == overfitting["pbo"]  # carried into the chosen config for the promotion


def test_lightgbm_trains_across_the_cluster_when_the_config_says_so(layout, tmp_path):
    settings = {**SMALL, "model": {**SMALL["model"], "name": "lgbm_dask"}}
    folder = _run(layout, settings, tmp_path / "runs", "dask", 2)
    metrics = json.loads((folder / "metrics.json").read_text())["horizons"]["24h"]
    assert metrics["rank_ic"] is not None and len(metrics["windows"]) >= 3
    assert json.loads((folder / "onnx_export.json").read_text())["24h"] == "ok"
