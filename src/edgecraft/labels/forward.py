"""Forward log returns over a horizon, known at `t1` = ts + horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd


def forward_returns(bars: pd.DataFrame, horizon: str) -> pd.DataFrame:
    """Log return from each bar's close to the close `horizon` later, per symbol.

    Returns a frame on the bars' (ts, symbol) index with ``ret`` and ``t1``; rows whose horizon
    runs past the data, or ends on a missing bar (an exchange outage), get NaN ``ret`` and are
    never used for training or scoring.
    """
    step = pd.Timedelta(horizon)
    if step <= pd.Timedelta(0):
        raise ValueError(f"horizon must be positive, was {horizon!r}")
    close = bars["close"]
    ts = bars.index.get_level_values("ts")
    later = pd.MultiIndex.from_arrays([ts + step, bars.index.get_level_values("symbol")])
    future = close.reindex(later).to_numpy()
    ret = np.log(future / close.to_numpy())
    return pd.DataFrame({"ret": ret, "t1": ts + step}, index=bars.index)
