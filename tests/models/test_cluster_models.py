"""Models that train across a Dask cluster refuse to train without one, and say how."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.models.registry import MODELS


@pytest.mark.parametrize("name", ["lgbm_dask", "xgb_dask"])
def test_a_cluster_model_without_a_cluster_says_so(name):
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=["a", "b", "c"])
    with pytest.raises(ValueError, match="--executor dask"):
        MODELS[name](n_estimators=5, threads=1).fit(X, (X["a"] > 0).astype(int))
