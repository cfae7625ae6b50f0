"""The user-facing flows: `run` (walk-forward training) and `backtest` (a saved run, new bars)."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from edgecraft.research.artifacts import (
    fingerprint,
    load_run,
    save_run,
    seal,
    trained_to,
    write_json,
)
from edgecraft.research.config import RunConfig
from edgecraft.research.executor import LocalExecutor
from edgecraft.research.fitting import (
    covered,
    make_fitter,
    make_labels,
)
from edgecraft.research.plots import horizon_figure
from edgecraft.research.report import write_report
from edgecraft.research.run import (
    Prepared,
    Progress,
    component_metrics,
    evaluate_horizon,
    funding_grid,
    held_out_rows,
    hold_and_cost,
    prepare,
    run_overfitting,
    score_rows,
    score_signals,
    train_final,
    walk_forward,
)
from edgecraft.research.trading import simulate_trading, trade_horizon

log = logging.getLogger(__name__)


def _run_folder(out: Path, config: RunConfig) -> Path:
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:6]
    folder = out / f"{config.name}-{stamp}-{digest}"
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def _trade(
    folder: Path,
    config: RunConfig,
    prepared: Prepared,
    results: dict[str, pd.DataFrame],
    models: dict,
) -> dict:
    """Run the trade horizon's signals through engine, risk manager and backtester."""
    horizon = trade_horizon(config)
    outcome = simulate_trading(
        config, prepared.bars, prepared.X, results[horizon], models[horizon], prepared.funding
    )
    outcome.trades.to_parquet(folder / "trades.parquet", index=False)
    outcome.equity.reset_index(names="ts").to_parquet(folder / "equity.parquet", index=False)
    outcome.decisions.to_parquet(folder / "decisions.parquet", index=False)
    return outcome.metrics


def _finish(
    folder: Path,
    config: RunConfig,
    results: dict[str, pd.DataFrame],
    metrics: dict[str, dict],
    models: dict,
    title: str,
    trading: dict,
    funding: dict[str, pd.Series],
    overfitting: dict | None = None,
) -> None:
    figures = {}
    for horizon, frame in results.items():
        fitted = models.get(horizon)
        importance = fitted.feature_importance() if fitted is not None else None
        hold, costs = hold_and_cost(config, horizon, funding_grid(config, funding, frame))
        figures[horizon] = horizon_figure(frame, importance, hold, costs, f"{title} — {horizon}")
        frame.reset_index().to_parquet(folder / f"predictions_{horizon}.parquet", index=False)
    summary = {"horizons": metrics, "backtest": trading}
    if overfitting is not None:
        summary["overfitting"] = overfitting
    write_json(folder / "metrics.json", summary)
    equity = pd.read_parquet(folder / "equity.parquet").set_index("ts")
    write_report(folder / "report.html", title, metrics, figures, trading, equity, overfitting)


def _ablation(config, prepared, labels, horizon, predictions, executor, progress) -> dict:
    from edgecraft.research.ablation import family_ablation

    def walk(variant: RunConfig, X: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
        return walk_forward(variant, X, labels, horizon, progress, executor, prepared.bars)

    return family_ablation(config, prepared.X, labels, horizon, walk, predictions)


def _step(progress: Progress | None, description: str) -> None:
    """Name a long step without a count of its own on the progress bar."""
    if progress:
        progress(description, 0, 1)


def run_experiment(
    config: RunConfig,
    data: Path | None,
    out: Path,
    progress: Progress | None = None,
    executor=None,
    resume: Path | None = None,
    fitted: dict | None = None,
) -> Path:
    """Features, labels, purged walk-forward, signals, metrics; then a final model per horizon.

    The walk-forward windows run as units on `executor` (default: this process), each
    checkpointed in the run folder's `units/` until the run is sealed; `resume` continues an
    interrupted run folder from its finished units. `fitted`, when given, receives the final
    models as trained, per horizon (the run folder holds their ONNX form only)."""
    executor = executor or LocalExecutor()
    prepared: Prepared = prepare(config, data, progress, executor)
    if resume is not None:
        if (resume / "checksums.json").exists():
            raise ValueError(f"{resume} is a finished run: nothing to resume")
        if not (resume / "units").is_dir():
            raise ValueError(f"{resume} has no units/ checkpoint folder to resume from")
        folder = resume
    else:
        folder = _run_folder(out, config)
    # the resolved config names the pairs it trained on: serving accepts exactly those
    config = config.model_copy(update={"symbols": prepared.symbols})
    results, metrics, models = {}, {}, {}
    daily: dict[str, pd.Series] = {}  # every horizon and book's daily net returns, for the PBO
    samples: dict[str, pd.DataFrame] = {}  # rows each final model did not train on (ONNX parity)
    for horizon in config.label.horizons:
        labels = make_labels(config, prepared.bars, prepared.X, horizon)
        fitter = make_fitter(config, prepared.bars, prepared.X, labels, horizon)
        predictions = walk_forward(
            config,
            prepared.X,
            labels,
            horizon,
            progress,
            executor=executor,
            bars=prepared.bars,
            checkpoint=folder / "units",
        )
        frame = score_signals(config, predictions, prepared.bars, prepared.X, labels, horizon)
        results[horizon] = frame
        metrics[horizon] = evaluate_horizon(
            config, frame, horizon, prepared.X, prepared.funding, daily
        )
        if config.ensemble is not None:
            metrics[horizon]["components"] = component_metrics(
                config, frame, prepared.bars, prepared.X, labels, horizon
            )
        if config.validation.cpcv is not None and horizon == trade_horizon(config):
            from edgecraft.research.cpcv import cpcv_paths

            metrics[horizon]["cpcv"] = cpcv_paths(
                config, prepared, labels, horizon, progress, executor
            )
        if config.ablation and horizon == trade_horizon(config):
            metrics[horizon]["ablation"] = _ablation(
                config, prepared, labels, horizon, predictions, executor, progress
            )
        _step(progress, f"final model {horizon} (all rows)")
        models[horizon] = train_final(config, prepared.X, labels, fitter)
        samples[horizon] = held_out_rows(config, prepared.X, labels)
        log.info("horizon=%s rank_ic=%s", horizon, metrics[horizon]["rank_ic"])
    _step(progress, "ONNX export and parity check")
    save_run(
        folder,
        config,
        config.features.build(),
        models,
        fingerprint(prepared.files, prepared.bars),
        samples,
        prepared.coverage,
    )
    _step(progress, "trading backtest and report")
    trading = _trade(folder, config, prepared, results, models)
    title = f"edgecraft run {folder.name}"
    overfitting = run_overfitting(daily)
    _finish(folder, config, results, metrics, models, title, trading, prepared.funding, overfitting)
    shutil.rmtree(folder / "units", ignore_errors=True)  # the predictions now hold them
    seal(folder)
    if fitted is not None:
        fitted.update(models)
    return folder


def backtest_run(
    run: Path, data: Path | None, start: str, out: Path, progress: Progress | None = None
) -> Path:
    """Apply a finished run's saved models, unchanged, to the bars from `start` on.

    Features are computed over the whole history so they are warm at `start`; only rows from
    `start` on are scored, so nothing the models trained on is judged again unless `start` says so.
    """
    config, models = load_run(run)
    prepared = prepare(config.model_copy(update={"start": None, "end": None}), data, progress)
    begin = (
        pd.Timestamp(start, tz="UTC")
        if pd.Timestamp(start).tzinfo is None
        else (pd.Timestamp(start))
    )
    keep = prepared.X.index.get_level_values("ts") >= begin
    if not keep.any():
        raise ValueError(f"no bars at or after {begin} in the data")
    last_trained = trained_to(run)
    in_sample = begin <= last_trained
    if in_sample:
        log.warning(
            "start=%s is not after the run's last training bar %s: these rows were "
            "trained on, so the metrics are in-sample",
            begin,
            last_trained,
        )
    folder = out / f"backtest-{run.name}-{begin:%Y%m%d}"
    folder.mkdir(parents=True, exist_ok=True)
    results, metrics = {}, {}
    for horizon, fitted in models.items():
        rows = covered(config, prepared.X, np.flatnonzero(keep))
        frame = score_rows(config, prepared, fitted, rows, horizon)
        results[horizon] = frame
        metrics[horizon] = {
            **evaluate_horizon(
                config, frame.dropna(subset=["ret"]), horizon, prepared.X, prepared.funding
            ),
            "scored_rows": int(len(frame)),
            "in_sample": bool(in_sample),
            "trained_to": str(last_trained),
            "start": str(begin),
        }
    trading = _trade(folder, config, prepared, results, models)
    title = f"edgecraft backtest of {run.name}"
    _finish(folder, config, results, metrics, models, title, trading, prepared.funding)
    seal(folder)
    return folder
