"""Gradient-boosted trees: LightGBM and XGBoost, as classifiers and as return regressors."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb


class _Trees:
    """Shared hyperparameters; subclasses build the library's estimator in `_estimator`."""

    is_classifier = True
    distributed = False  # True: trains across the Dask cluster of the current client

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 500,
        subsample: float = 0.7,
        colsample: float = 0.7,
        reg_lambda: float = 1.0,
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample = colsample
        self.reg_lambda = reg_lambda
        self.threads = threads
        self.seed = seed

    def _estimator(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def fit(self, X: pd.DataFrame, y: pd.Series, sample_weight: pd.Series | None = None):
        """Fit on features `X` and labels `y` (classes, or returns for regressors)."""
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.columns_ = list(X.columns)
        target = np.asarray(y)
        if self.is_classifier:
            self.classes_, target = np.unique(target, return_inverse=True)
            if len(self.classes_) < 2:
                raise ValueError(f"need at least two classes to fit, found {self.classes_}")
        self.estimator_ = self._fit_estimator(X.to_numpy(np.float32), target, weight)
        return self

    def _fit_estimator(self, matrix: np.ndarray, target: np.ndarray, weight):
        return self._estimator().fit(matrix, target, sample_weight=weight)

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        return X[self.columns_].to_numpy(np.float32)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, k) class probabilities, columns in `classes_` order."""
        return np.asarray(self.estimator_.predict_proba(self._matrix(X)), dtype=np.float64)

    def score_array(self, x: np.ndarray) -> np.ndarray:
        """The registry's `score` on a float matrix in `columns_` order, without pandas (live)."""
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted return (regressors) or most likely class (classifiers)."""
        if self.is_classifier:
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        return np.asarray(self.estimator_.predict(self._matrix(X)), dtype=np.float64)

    def feature_importance(self) -> pd.Series:
        """Gain importance per feature, summing to 1."""
        gains = np.asarray(self._gains(), dtype=np.float64)
        total = gains.sum()
        return pd.Series(gains / total if total else gains, index=self.columns_)

    def _gains(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError


class LightGBMClassifier(_Trees):
    """LightGBM gradient-boosted trees classifier."""

    def _estimator(self) -> lgb.LGBMClassifier:
        return lgb.LGBMClassifier(**self._lgb_params())

    def _lgb_params(self) -> dict:
        return dict(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample,
            reg_lambda=self.reg_lambda,
            n_jobs=self.threads,
            random_state=self.seed,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def _gains(self) -> np.ndarray:
        return self.estimator_.booster_.feature_importance("gain")

    def score_array(self, x: np.ndarray) -> np.ndarray:
        raw = np.asarray(self.estimator_.booster_.predict(np.asarray(x, dtype=np.float32)))
        if not self.is_classifier:
            return raw.astype(np.float64)
        if raw.ndim == 1:  # binary: P(second class)
            return (2.0 * raw - 1.0).astype(np.float64)
        return (raw[:, -1] - raw[:, 0]).astype(np.float64)


class LightGBMRegressor(LightGBMClassifier):
    """LightGBM regressor of forward returns."""

    is_classifier = False

    def _estimator(self) -> lgb.LGBMRegressor:
        return lgb.LGBMRegressor(**self._lgb_params())


class XGBoostClassifier(_Trees):
    """XGBoost histogram-tree classifier."""

    def _estimator(self) -> xgb.XGBClassifier:
        return xgb.XGBClassifier(**self._xgb_params())

    def _xgb_params(self) -> dict:
        return dict(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            max_leaves=self.num_leaves,
            max_depth=0,
            grow_policy="lossguide",
            min_child_weight=float(self.min_child_samples) / 100.0,
            subsample=self.subsample,
            colsample_bytree=self.colsample,
            reg_lambda=self.reg_lambda,
            n_jobs=self.threads,
            random_state=self.seed,
            tree_method="hist",
        )

    def _gains(self) -> np.ndarray:
        scores = self.estimator_.get_booster().get_score(importance_type="total_gain")
        return np.array([scores.get(f"f{i}", 0.0) for i in range(len(self.columns_))])

    def score_array(self, x: np.ndarray) -> np.ndarray:
        matrix = np.asarray(x, dtype=np.float32)
        if not self.is_classifier:
            return np.asarray(self.estimator_.predict(matrix), dtype=np.float64)
        proba = np.asarray(self.estimator_.predict_proba(matrix), dtype=np.float64)
        return proba[:, -1] - proba[:, 0]


class XGBoostRegressor(XGBoostClassifier):
    """XGBoost regressor of forward returns."""

    is_classifier = False

    def _estimator(self) -> xgb.XGBRegressor:
        return xgb.XGBRegressor(**self._xgb_params())


def _on_cluster(matrix: np.ndarray, target: np.ndarray, weight, name: str):
    """The current Dask client and the training data as dask arrays spread over its workers."""
    import dask.array as da
    from distributed import default_client

    try:
        client = default_client()
    except ValueError as exc:
        raise ValueError(f"{name} trains on a Dask cluster: run with --executor dask") from exc
    parts = max(len(client.scheduler_info()["workers"]), 1)
    chunk = -(-len(matrix) // parts)
    weight = np.ones(len(matrix)) if weight is None else weight
    arrays = (
        da.from_array(matrix, chunks=(chunk, -1)),
        da.from_array(np.asarray(target), chunks=chunk),
        da.from_array(np.asarray(weight, dtype=np.float64), chunks=chunk),
    )
    return client, client.persist(arrays)


class DaskLightGBMClassifier(LightGBMClassifier):
    """LightGBM trained data-parallel across the Dask cluster (`lightgbm.DaskLGBMClassifier`),
    for training sets larger than one worker's memory; the fitted model is brought back local,
    so scoring, importance and the ONNX export are those of LightGBMClassifier."""

    distributed = True

    def _fit_estimator(self, matrix, target, weight):
        client, (X, y, w) = _on_cluster(matrix, target, weight, "lgbm_dask")
        model = lgb.DaskLGBMClassifier(client=client, **self._lgb_params())
        return model.fit(X, y, sample_weight=w).to_local()


class DaskXGBoostClassifier(XGBoostClassifier):
    """XGBoost trained across the Dask cluster (`xgboost.dask`), brought back as a local model."""

    distributed = True

    def _fit_estimator(self, matrix, target, weight):
        import xgboost.dask

        client, (X, y, w) = _on_cluster(matrix, target, weight, "xgb_dask")
        model = xgboost.dask.DaskXGBClassifier(**self._xgb_params())
        model.client = client
        model.fit(X, y, sample_weight=w)
        local = xgb.XGBClassifier(**self._xgb_params())
        local.load_model(bytearray(model.get_booster().save_raw("json")))
        return local
