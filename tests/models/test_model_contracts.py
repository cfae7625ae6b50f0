"""Contracts every registered model meets: sklearn shape, probabilities, determinism, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from edgecraft.models.registry import MODELS, lookback, score
from edgecraft.models.sequence import SequenceClassifier

FAST = {"n_estimators": 20, "min_child_samples": 20, "threads": 1}
FAST_SEQUENCE = {
    "lookback": 8,
    "hidden": 16,
    "epochs": 10,
    "batch_size": 32,
    "valid_fraction": 0.0,
    "threads": 1,
}


def fast(name: str) -> dict:
    return FAST_SEQUENCE if issubclass(MODELS[name], SequenceClassifier) else FAST


@pytest.fixture(scope="module")
def toy():
    """Features on the (ts, symbol) index of the Features contract: 300 hours x 2 symbols."""
    rng = np.random.default_rng(0)
    ts = pd.date_range("2024-01-01", periods=300, freq="h", tz="UTC")
    index = pd.MultiIndex.from_product([ts, ["BTC/USDT", "ETH/USDT"]], names=["ts", "symbol"])
    X = pd.DataFrame(rng.normal(size=(600, 5)), columns=[f"f{i}" for i in range(5)], index=index)
    X.iloc[::7, 2] = np.nan  # models must take missing feature values
    ret = 0.5 * X["f0"] + pd.Series(rng.normal(size=600), index=index)
    weight = pd.Series(rng.uniform(0.5, 1.0, 600), index=index)
    return X, ret, weight


@pytest.fixture(scope="module")
def cluster():
    """A 2-worker Dask cluster for the models that train across one (closed afterwards)."""
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        yield client


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_contract(name, toy, request):
    X, ret, weight = toy
    if getattr(MODELS[name], "distributed", False):
        request.getfixturevalue("cluster")
    model = MODELS[name](**fast(name))
    y = (ret > 0).astype(int) if model.is_classifier else ret
    assert model.fit(X, y, weight) is model
    s = score(model, X)
    assert s.shape == (len(X),) and np.isfinite(s).all()
    assert np.corrcoef(s, X["f0"])[0, 1] > 0.3  # it learned the planted feature
    if model.is_classifier:
        proba = model.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        assert list(model.classes_) == [0, 1]
        if lookback(model) == 1:  # a row alone scores as in the batch
            np.testing.assert_allclose(model.predict_proba(X.iloc[[-1]]), proba[[-1]], rtol=1e-6)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(score(clone, X), s)
    again = MODELS[name](**fast(name)).fit(X, y, weight)
    if getattr(MODELS[name], "distributed", False):
        # data-parallel training depends on which worker holds which rows: close, not equal
        assert np.corrcoef(score(again, X), s)[0, 1] > 0.9
    else:
        np.testing.assert_array_equal(score(again, X), s)  # deterministic given the seed
    assert lookback(model) >= 1
    importance = model.feature_importance()
    if lookback(model) == 1:  # tabular models explain themselves by gain
        assert list(importance.index) == list(X.columns)
        assert importance.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["lgbm", "xgb"])
def test_three_class_score_is_up_minus_down(name, toy):
    X, ret, _ = toy
    y = np.sign(ret.round(0)).astype(int)
    model = MODELS[name](**FAST).fit(X, y)
    proba = model.predict_proba(X)
    assert list(model.classes_) == [-1, 0, 1]
    np.testing.assert_allclose(score(model, X), proba[:, 2] - proba[:, 0])
