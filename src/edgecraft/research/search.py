"""Hyperparameter search with Optuna on the executor seam; every trial counts in the DSR.

Each trial is a full purged walk-forward of the run's first horizon with sampled model
parameters; its units run on the executor (this process or a Dask cluster), so a trial uses the
whole cluster. The objective is an out-of-sample metric (cross-sectional rank IC by default).
Picking the best of N trials on the same history inflates it: the best config is written with
`trials` raised by N, so its deflated Sharpe ratio is judged against N + earlier tries.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pandas as pd
import yaml

from edgecraft.metrics.overfitting import probability_of_backtest_overfitting
from edgecraft.research.config import RunConfig
from edgecraft.research.fitting import make_labels
from edgecraft.research.run import (
    evaluate_horizon,
    prepare,
    score_signals,
    walk_forward,
)

SPACES = {
    "trees": {
        "n_estimators": ("int", 50, 400),
        "learning_rate": ("log", 0.01, 0.2),
        "num_leaves": ("int", 7, 63),
        "min_child_samples": ("log_int", 200, 3000),
        "subsample": ("float", 0.4, 1.0),
        "colsample": ("float", 0.3, 1.0),
    },
    "sequence": {
        "lookback": ("int", 24, 168),
        "hidden": ("int", 16, 64),
        "learning_rate": ("log", 3e-4, 3e-3),
        "dropout": ("float", 0.0, 0.3),
    },
}
REPORTED = ("rank_ic", "cross_sectional_rank_ic", "ir", "profit_factor", "sharpe", "ece")


def _pbo(daily: dict[int, pd.Series]) -> dict | None:
    """The probability of backtest overfitting of choosing the best of these trials."""
    if len(daily) < 2:
        return None
    try:
        return probability_of_backtest_overfitting(pd.DataFrame(daily))
    except ValueError:  # too short a history to cut into blocks
        return None


def space_of(model: str) -> dict:
    return SPACES["sequence" if model in ("lstm", "transformer") else "trees"]


def suggest(trial: optuna.Trial, space: dict) -> dict:
    params = {}
    for name, (kind, low, high) in space.items():
        if kind == "int":
            params[name] = trial.suggest_int(name, low, high)
        elif kind == "log_int":
            params[name] = trial.suggest_int(name, low, high, log=True)
        elif kind == "log":
            params[name] = trial.suggest_float(name, low, high, log=True)
        else:
            params[name] = trial.suggest_float(name, low, high)
    return params


def search(
    config: RunConfig,
    data: Path | None,
    out: Path,
    trials: int,
    executor,
    metric: str = "cross_sectional_rank_ic",
    storage: str | None = None,
) -> dict:
    """Run `trials` walk-forwards; write `search.json` (every trial) and `best.yaml`."""
    if config.ensemble is not None:
        raise ValueError("search tunes a single model config (`model:`), not an ensemble")
    prepared = prepare(config, data, executor=executor)
    horizon = config.label.horizons[0]
    labels = make_labels(config, prepared.bars, prepared.X, horizon)
    space = space_of(config.model.name)

    daily: dict[int, pd.Series] = {}  # each trial's daily net returns, for the PBO

    def objective(trial: optuna.Trial) -> float:
        params = {**config.model.params, **suggest(trial, space)}
        candidate = config.model_copy(
            update={"model": config.model.model_copy(update={"params": params})}
        )
        predictions = walk_forward(
            candidate, prepared.X, labels, horizon, executor=executor, bars=prepared.bars
        )
        frame = score_signals(candidate, predictions, prepared.bars, prepared.X, labels, horizon)
        nets: dict[str, pd.Series] = {}  # each book's daily net returns (with funding)
        metrics = evaluate_horizon(candidate, frame, horizon, funding=prepared.funding, daily=nets)
        trial.set_user_attr("metrics", {k: metrics[k] for k in REPORTED})
        daily[trial.number] = nets[f"{horizon}/signal"]
        value = metrics[metric]
        return -math.inf if value is None else float(value)

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=config.seed),
        storage=storage,
        study_name=f"edgecraft-{config.name}",
        load_if_exists=storage is not None,
    )
    study.optimize(objective, n_trials=trials)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = study.best_trial
    tried = config.trials + len(done)
    overfitting = _pbo(daily)
    chosen = config.model_copy(
        update={
            "model": config.model.model_copy(
                update={"params": {**config.model.params, **best.params}}
            ),
            "trials": tried,
            "pbo": (overfitting or {}).get("pbo"),
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "best.yaml").write_text(yaml.safe_dump(chosen.model_dump(mode="json"), sort_keys=False))
    summary = {
        "metric": metric,
        "horizon": horizon,
        "best": {"number": best.number, "value": best.value, "params": best.params},
        "trials_counted_in_dsr": tried,
        # over the trials run by this call (a resumed study's earlier ones are not re-run)
        "overfitting": overfitting,
        "trials": [
            {"number": t.number, "value": t.value, "params": t.params, **t.user_attrs} for t in done
        ],
    }
    (out / "search.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary
