"""Sample weights from label overlap: each label's average uniqueness (López de Prado, ch. 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def uniqueness(t1: pd.Series) -> pd.Series:
    """Average uniqueness of each label over its life [ts, t1], per symbol.

    At each bar, `c` labels of the same symbol are alive; a label's uniqueness is the mean of
    1/c over the bars it spans. Labels without `t1` get weight 0.
    """
    parts = []
    for _, one in t1.groupby(level="symbol", sort=False):
        ts = one.index.get_level_values("ts").as_unit("ns").asi8
        ends = one.to_numpy(dtype="datetime64[ns]").astype("int64")
        valid = ~np.isnat(one.to_numpy(dtype="datetime64[ns]"))
        last = np.where(valid, np.searchsorted(ts, ends, side="right") - 1, -1)
        start = np.arange(len(ts))
        alive = np.zeros(len(ts) + 1)
        np.add.at(alive, start[valid], 1.0)
        np.add.at(alive, last[valid] + 1, -1.0)
        concurrency = np.cumsum(alive)[:-1]
        inverse = np.where(concurrency > 0, 1.0 / np.maximum(concurrency, 1.0), 0.0)
        cumulative = np.r_[0.0, np.cumsum(inverse)]
        span = np.where(valid, last - start + 1, 1)
        mean_inverse = np.where(valid, (cumulative[last + 1] - cumulative[start]) / span, 0.0)
        parts.append(pd.Series(mean_inverse, index=one.index))
    return pd.concat(parts).reindex(t1.index).rename("weight")
