"""`edgecraft run` steps: features, labels, purged walk-forward, signals, metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edgecraft.core.timeframes import timeframe_delta
from edgecraft.data.layout import DataLayout, default_data_dir
from edgecraft.features.builder import FeatureBuilder
from edgecraft.metrics.evaluation import (
    BookCosts,
    book_metrics,
    evaluate,
    funding_by_bar,
    per_window,
)
from edgecraft.models.registry import MODELS
from edgecraft.research.books import BOOKS, book_portfolios, hold_bars
from edgecraft.research.config import RunConfig, atr_columns
from edgecraft.research.executor import LocalExecutor
from edgecraft.research.fitting import (
    Fitter,
    make_labels,
    next_bar_moves,
    next_bar_returns,
    predict_rows,
    usable_rows,
    windows_of,
)
from edgecraft.research.units import Unit, build_symbol, run_unit
from edgecraft.signals.build import build_signals, position_size
from edgecraft.signals.ensemble import EnsembleScorer
from edgecraft.signals.scorer import Scorer

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


@dataclass
class Prepared:
    """Bars (with the reference symbols) and the feature matrix of the run's symbols."""

    bars: pd.DataFrame
    X: pd.DataFrame
    symbols: list[str]
    files: list[Path]
    funding: dict[str, pd.Series]  # perpetual funding rates by settlement time
    coverage: dict | None = None  # per external channel: span covered, meaning of NaN


def prepare(
    config: RunConfig, data: Path | None, progress: Progress | None = None, executor=None
) -> Prepared:
    """Load validated bars and build the feature matrix of every symbol (one unit per symbol
    on `executor` when given; the bars reach its workers once)."""
    layout = DataLayout(data or default_data_dir())
    builder = FeatureBuilder(layout, config.features, config.market)
    symbols = config.symbols or builder.symbols()
    bars = builder.load(symbols)
    ts = bars.index.get_level_values("ts")
    if config.start:
        bars = bars[ts >= pd.Timestamp(config.start, tz="UTC")]
        ts = bars.index.get_level_values("ts")
    if config.end:
        bars = bars[ts <= pd.Timestamp(config.end, tz="UTC")]
    if executor is not None and executor.name != "local":
        shared = {
            "bars": bars,
            "root": str(layout.root),
            "features": config.features,
            "market": config.market,
        }
        frames = executor.map(build_symbol, list(symbols), shared)
    else:
        frames = []
        for i, symbol in enumerate(symbols):
            frames.append(builder.build(bars, symbol))
            if progress:
                progress(f"features {symbol}", i + 1, len(symbols))
    X = pd.concat(frames).sort_index()
    files = [
        p
        for s, p in layout.bar_files(config.market, config.features.base_timeframe).items()
        if s in set(symbols) | set(config.features.references)
    ]
    # the perpetuals' funding: paid by a perp run's positions, and by a spot run's shorts (which
    # go through the perpetual), in the books and in the trading backtest alike
    funding = {s: f for s in symbols if (f := layout.load_funding(s)) is not None}
    coverage = builder.coverage(list(symbols))
    return Prepared(bars, X, list(symbols), files, funding, coverage)


def walk_forward(
    config: RunConfig,
    X: pd.DataFrame,
    labels: pd.DataFrame,
    horizon: str,
    progress: Progress | None = None,
    executor=None,
    bars: pd.DataFrame | None = None,
    checkpoint: Path | None = None,
) -> pd.DataFrame:
    """Out-of-sample score and P(up) for every test row, each from a model trained before it.

    Each window is a unit of work run on `executor` (default: this process), from the config,
    the frames and `bars` (which an ensemble needs, for its other horizons' labels and its
    sizing agent); finished units are checkpointed in `checkpoint` when given."""
    if config.ensemble is not None and bars is None:
        raise ValueError("an ensemble walk-forward needs the bars")
    rows, windows, purged = windows_of(config, X, labels)
    units = [
        Unit(horizon, w.number, rows[w.train], rows[w.test], w.test_start if purged else None)
        for w in windows
    ]
    shared = {
        "config": config,
        "X": X,
        "labels": labels,
        "bars": bars if bars is not None else pd.DataFrame(),
        "checkpoint": None if checkpoint is None else str(checkpoint),
    }
    names = (
        [config.model.name]
        if config.ensemble is None
        else [m.name for m in config.ensemble.members]
    )
    if executor is None or any(getattr(MODELS[n], "distributed", False) for n in names):
        # the default, or a model that itself trains across the cluster (from this client)
        executor = LocalExecutor()

    def done(finished: int, total: int) -> None:
        if progress:
            progress(f"walk-forward {horizon}", finished, total)

    return pd.concat(executor.map(run_unit, units, shared, done))


def score_signals(
    config: RunConfig,
    predictions: pd.DataFrame,
    bars: pd.DataFrame,
    X: pd.DataFrame,
    labels: pd.DataFrame,
    horizon: str,
) -> pd.DataFrame:
    """Predictions joined with signals, realized returns (`ret`, known at `t1`), the ATR as a
    share of the close (`vol`, known at the bar) and next-bar returns, for evaluation.

    `size` in [0, 1] scales each signal's position: from the sizing agent's `rl_position` when
    the predictions carry one (counted only on the signal's side), else from the confidence, rising
    linearly from 0.5 to full size at `signals.full_size_confidence` (1 everywhere if unset).
    """
    index = predictions.index
    signals = build_signals(
        predictions["p_up"],
        bars["close"],
        X[atr_columns(config)[0]],
        horizon,
        config.signals.min_confidence,
        config.signals.target_atr,
        config.signals.stop_atr,
    )
    frame = (
        predictions.join(signals.drop(columns=["p_up"]))
        .assign(
            ret=labels["ret"].reindex(index),
            t1=labels["t1"].reindex(index),
            vol=X[atr_columns(config)[1]].reindex(index).astype(float),
            next_return=next_bar_returns(bars, index),
        )
        .join(next_bar_moves(bars, index))
    )
    size = position_size(
        frame["direction"],
        frame["confidence"],
        frame["rl_position"] if "rl_position" in frame else None,
        config.signals.full_size_confidence,
    )
    return frame.assign(size=size)


def score_rows(
    config: RunConfig, prepared: Prepared, scorer, rows: np.ndarray, horizon: str
) -> pd.DataFrame:
    """A saved scorer applied, unchanged, to `rows` of the prepared features (earlier rows are
    context for sequence models): predictions, signals and realized returns (`score_signals`)."""
    labels = make_labels(config, prepared.bars, prepared.X, horizon)
    following = next_bar_returns(prepared.bars, prepared.X.index)
    predictions = predict_rows(scorer, prepared.X, rows, following).assign(window=0)
    return score_signals(config, predictions, prepared.bars, prepared.X, labels, horizon)


def hold_and_cost(
    config: RunConfig, horizon: str, funding: pd.DataFrame | None = None
) -> tuple[int, BookCosts]:
    """Bars a signal of `horizon` is held in the signal portfolio, and what trading costs: fee +
    half-spread per unit of weight changed, impact, and `funding` (rates per bar and symbol,
    `funding_grid`): paid by every position in a perp run, by the shorts only in a spot run."""
    hold = hold_bars(config, horizon)
    c = config.costs
    costs = BookCosts(c.fee_bps + c.half_spread_bps, c.impact_bps, funding, config.market != "perp")
    return hold, costs


def funding_grid(
    config: RunConfig, funding: dict[str, pd.Series], frame: pd.DataFrame
) -> pd.DataFrame | None:
    """The funding rates on the bar grid of `frame`'s rows (None without funding data)."""
    if not funding:
        return None
    ts = pd.DatetimeIndex(frame.index.get_level_values("ts").unique()).sort_values()
    symbols = sorted(frame.index.get_level_values("symbol").unique())
    bar = timeframe_delta(config.features.base_timeframe)
    return funding_by_bar(funding, ts, bar, symbols)


def evaluate_horizon(
    config: RunConfig,
    frame: pd.DataFrame,
    horizon: str,
    X: pd.DataFrame | None = None,
    funding: dict[str, pd.Series] | None = None,
    daily: dict[str, pd.Series] | None = None,
) -> dict:
    """The horizon's metrics: IC family and the signal book's P&L at the top level, every book
    (signal, long-short, hysteresis, meta-labeled) under `books`, each net of costs and funding.
    `X` (the features) lets the meta-labeling model train; without it that book is left out.
    `daily`, when given, receives each book's daily net returns (keyed "horizon/book")."""
    hold, costs = hold_and_cost(config, horizon, funding_grid(config, funding or {}, frame))
    trials = run_trials(config)
    books = book_portfolios(config, frame, horizon, costs, X)
    out = {**evaluate(frame, hold, costs, trials, books["signal"][0]), "windows": per_window(frame)}
    out["books"] = {}
    for name, (portfolio, rows) in books.items():
        out["books"][name] = {**book_metrics(portfolio, trials), "rows": rows}
        if daily is not None and name in BOOKS:
            daily[f"{horizon}/{name}"] = portfolio.net
    return out


def run_trials(config: RunConfig) -> int:
    """The DSR's trial count: configurations tried on this data, times horizons, times books."""
    return config.trials * len(config.label.horizons) * len(BOOKS)


def run_overfitting(daily: dict[str, pd.Series]) -> dict:
    """PBO (CSCV) of picking the best of every horizon and book a run tried, from their daily
    net returns on the same dates; the DSR's trial count is that number of configurations."""
    from edgecraft.metrics.overfitting import probability_of_backtest_overfitting

    if len(daily) < 2:
        return {"configurations": len(daily), "pbo": None}
    frame = pd.DataFrame(daily).sort_index()
    try:
        result = probability_of_backtest_overfitting(frame)
    except ValueError as exc:  # too short a history to cut into blocks
        return {"configurations": len(daily), "pbo": None, "why": str(exc)}
    best = frame.mean() / frame.std()
    return {**result, "tried": list(frame.columns), "best_in_sample": str(best.idxmax())}


COMPONENT_METRICS = (
    "ic",
    "rank_ic",
    "cross_sectional_rank_ic",
    "ir",
    "profit_factor",
    "sharpe",
    "calmar",
    "ece",
    "brier",
    "signals",
)


def component_metrics(
    config: RunConfig,
    frame: pd.DataFrame,
    bars: pd.DataFrame,
    X: pd.DataFrame,
    labels: pd.DataFrame,
    horizon: str,
) -> dict:
    """An ensemble's parts on the same OOS rows: each member alone, the ensemble without each
    member (marginal contribution = ensemble minus without), and the ensemble at full size
    (to show what the sizing did). Members and ensemble-without are judged at full size."""

    def judge(score: pd.Series, p_up: pd.Series, sized: bool = False) -> dict:
        predictions = pd.DataFrame({"score": score, "p_up": p_up, "window": frame["window"]})
        if sized and "rl_position" in frame:
            predictions["rl_position"] = frame["rl_position"]
        scored = score_signals(config, predictions, bars, X, labels, horizon)
        if not sized:
            scored["size"] = scored["size"].where(scored["size"] == 0, 1.0)
        hold, costs = hold_and_cost(config, horizon)
        result = evaluate(scored, hold, costs, run_trials(config))  # the signal book only
        return {k: result[k] for k in COMPONENT_METRICS}

    members = [c.removeprefix("p_up_") for c in frame.columns if c.startswith("p_up_")]
    out: dict = {"members": {}, "without": {}, "marginal": {}}
    out["ensemble"] = judge(frame["score"], frame["p_up"], sized=True)
    ensemble = out["ensemble_full_size"] = judge(frame["score"], frame["p_up"])
    for key in members:
        out["members"][key] = judge(frame[f"score_{key}"], frame[f"p_up_{key}"])
        if f"p_without_{key}" in frame:
            p = frame[f"p_without_{key}"]
            without = judge(p - 0.5, p)
            out["without"][key] = without
            out["marginal"][key] = {
                k: None if ensemble[k] is None or without[k] is None else ensemble[k] - without[k]
                for k in ("rank_ic", "cross_sectional_rank_ic", "profit_factor", "sharpe")
            }
    return out


def held_out_rows(
    config: RunConfig, X: pd.DataFrame, labels: pd.DataFrame, rows: int = 2000
) -> pd.DataFrame:
    """Up to `rows` of the newest feature rows the final model never trains on (no label known
    yet at the end of the data, or too few features in the warm-up): the ONNX parity check runs
    on these, not on the model's own training rows."""
    unused = np.setdiff1d(np.arange(len(X)), usable_rows(config, X, labels))
    return X.iloc[unused[-rows:]]


def train_final(
    config: RunConfig, X: pd.DataFrame, labels: pd.DataFrame, fitter: Fitter
) -> Scorer | EnsembleScorer:
    """The model to deploy: trained (and calibrated) on every labeled row of the run."""
    return fitter(usable_rows(config, X, labels), None)
