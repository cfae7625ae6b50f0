"""A single sequence model trained through the run's `fit`: early stopping purges the run's own
horizon, and a subsampled training set or a test set that starts mid-history still gets windows of
consecutive bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.research.config import RunConfig
from edgecraft.research.train import fit

LAG = 3  # the label follows the feature LAG bars earlier: only a model with memory sees it


def _planted(n: int = 6000, symbols=("AAA/USDT", "BBB/USDT")):
    rng = np.random.default_rng(1)
    ts = pd.date_range("2023-01-01 01:00", periods=n, freq="1h", tz="UTC")
    frames, labels = [], []
    for symbol in symbols:
        x = rng.standard_normal(n)
        index = pd.MultiIndex.from_arrays([ts, [symbol] * n], names=["ts", "symbol"])
        frames.append(pd.DataFrame({"x": x, "noise": rng.standard_normal(n)}, index=index))
        ret = np.r_[np.full(LAG, np.nan), x[:-LAG]] * 0.01 + 0.001 * rng.standard_normal(n)
        labels.append(pd.DataFrame({"ret": ret, "t1": ts + pd.Timedelta("7d")}, index=index))
    X, labels = pd.concat(frames).sort_index(), pd.concat(labels).sort_index()
    labels["y"] = np.sign(labels["ret"])
    labels["weight"] = 1.0
    return X, labels


def _config(**model) -> RunConfig:
    return RunConfig(
        label={"horizons": ["7d"]},
        model={
            "name": "lstm",
            "params": {"lookback": 6, "hidden": 16, "epochs": 10, "learning_rate": 0.01, **model},
        },
        validation={"embargo": "24h"},
        threads=1,
    )


def test_early_stopping_purges_the_runs_horizon_and_subsamples_keep_whole_windows():
    X, labels = _planted()
    ts = X.index.get_level_values("ts")
    train = np.flatnonzero((ts < "2023-07-01") & labels["ret"].notna().to_numpy())
    config = _config().model_copy(
        update={"model": _config().model.model_copy(update={"max_train_rows": 2000})}
    )
    scorer = fit(config, X, labels, train, "7d")
    assert pd.Timedelta(scorer.model.purge) == pd.Timedelta("8d")  # 7d horizon + 24h embargo
    test = np.flatnonzero(ts >= "2023-07-15")
    # scored mid-history, the test rows read the bars before them: as inside the whole frame
    alone = scorer.predict(X, test)
    whole = scorer.predict(X).iloc[test]
    np.testing.assert_allclose(alone["score"].to_numpy(), whole["score"].to_numpy(), atol=1e-6)
    # 2,000 rows drawn from 6,000: trained on windows of consecutive bars, the lag is learned
    rank_ic = alone["score"].corr(labels["ret"].iloc[test], method="spearman")
    assert rank_ic > 0.5, rank_ic
