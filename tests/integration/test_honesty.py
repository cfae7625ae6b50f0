"""Honesty tests: the pipeline finds nothing in noise, recovers a planted signal, and a leaky
variant visibly beats the honest one on noise (so these tests can fail)."""

from __future__ import annotations

import numpy as np
import pytest

from edgecraft.research.config import RunConfig
from edgecraft.research.fitting import make_labels
from edgecraft.research.run import evaluate_horizon, prepare, score_signals, walk_forward
from tests.factories import synthetic_data_folder

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT"]
FEATURES = {
    "timeframes": ["1h", "4h"],
    "features": [
        {"name": n}
        for n in ("logret", "rsi", "macd", "bbands", "atr", "volz", "clv", "versus_reference")
    ],
}


def _config(horizon: str, method: str = "walk_forward", **extra) -> RunConfig:
    return RunConfig(
        features=FEATURES,
        label={"horizons": [horizon]},
        model={
            "name": "lgbm",
            "params": {
                "n_estimators": 60,
                "min_child_samples": 200,
                "num_leaves": 7,
                "learning_rate": 0.1,
            },
        },
        validation={"method": method, "test_length": "60d", "min_train": "120d", "embargo": "24h"},
        **extra,
    )


def _metrics(config: RunConfig, folder, shuffle_seed: int | None = None) -> dict:
    prepared = prepare(config, folder)
    horizon = config.label.horizons[0]
    labels = make_labels(config, prepared.bars, prepared.X, horizon)
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(labels))
        labels = labels.assign(ret=labels["ret"].to_numpy()[order], y=labels["y"].to_numpy()[order])
    predictions = walk_forward(config, prepared.X, labels, horizon)
    frame = score_signals(config, predictions, prepared.bars, prepared.X, labels, horizon)
    return evaluate_horizon(config, frame, horizon)


@pytest.fixture(scope="module")
def null_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("null")
    synthetic_data_folder(folder, 24 * 365, SYMBOLS, seed=11)
    return folder


def test_null_random_walk_has_no_ic_and_no_deflated_sharpe(null_folder):
    metrics = _metrics(_config("1h"), null_folder)
    assert abs(metrics["rank_ic"]) < 0.02 and abs(metrics["ic"]) < 0.02, metrics
    assert metrics["dsr"] < 0.95


def test_shuffled_labels_on_real_features_have_no_ic(layout):
    config = _config(
        "4h", symbols=["BTC/USDT", "ETH/USDT", "SOL/USDT"], start="2022-06-01", end="2024-06-01"
    )
    metrics = _metrics(config, layout.root, shuffle_seed=5)
    assert abs(metrics["rank_ic"]) < 0.02, metrics


def test_planted_signal_is_recovered(tmp_path):
    synthetic_data_folder(tmp_path, 24 * 365, SYMBOLS, seed=12, planted_ic=0.1)
    metrics = _metrics(_config("1h"), tmp_path)
    assert metrics["rank_ic"] == pytest.approx(0.1, abs=0.03), metrics
    assert metrics["hit_rate"] > 0.52


def test_leaky_validation_shows_skill_on_noise_that_honest_validation_does_not(null_folder):
    honest = _metrics(_config("24h"), null_folder)
    leaky = _metrics(_config("24h", "unpurged_kfold"), null_folder)
    assert abs(honest["rank_ic"]) < 0.03, honest
    assert leaky["rank_ic"] > honest["rank_ic"] + 0.05, (leaky["rank_ic"], honest["rank_ic"])
