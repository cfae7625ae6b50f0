"""Triple-barrier labels (López de Prado): ATR-scaled profit and stop barriers, a time barrier."""

from __future__ import annotations

import numba as nb
import numpy as np
import pandas as pd


@nb.njit(cache=True)
def _first_touch(high, low, close, up, down, bars_ahead):  # pragma: no cover - compiled
    # For each bar i: scan bars i+1..i+bars_ahead; +1 if the high reaches close*(1+up) first,
    # -1 if the low reaches close*(1-down) first (-1 when both in one bar: the stop is assumed
    # first), 0 when the time barrier ends it. Returns (label, offset of the deciding bar, return).
    n = close.shape[0]
    label = np.zeros(n, dtype=np.int64)
    offset = np.full(n, -1, dtype=np.int64)
    ret = np.full(n, np.nan)
    for i in range(n):
        if np.isnan(up[i]) or np.isnan(down[i]) or i + bars_ahead >= n:
            continue
        upper = close[i] * (1.0 + up[i])
        lower = close[i] * (1.0 - down[i])
        for j in range(i + 1, i + bars_ahead + 1):
            if low[j] <= lower:
                label[i], offset[i], ret[i] = -1, j - i, np.log(lower / close[i])
                break
            if high[j] >= upper:
                label[i], offset[i], ret[i] = 1, j - i, np.log(upper / close[i])
                break
        if offset[i] < 0:
            offset[i] = bars_ahead
            ret[i] = np.log(close[i + bars_ahead] / close[i])
    return label, offset, ret


def triple_barrier(
    bars: pd.DataFrame,
    atr_rel: pd.Series,
    horizon: str,
    timeframe: str,
    up: float = 2.0,
    down: float = 2.0,
) -> pd.DataFrame:
    """Label each bar by which barrier its path touches first within `horizon`.

    Barriers sit `up` and `down` ATRs (``atr_rel`` = ATR / close at the bar, known then) from the
    close. ``t1`` is the close time of the bar that decided the label. Bars counted per symbol;
    horizon in bars = horizon / timeframe. Rows without a full horizon ahead get ``y`` = NaN.
    """
    bars_ahead = int(pd.Timedelta(horizon) / pd.Timedelta(timeframe))
    if bars_ahead < 1:
        raise ValueError(f"horizon {horizon} is shorter than one {timeframe} bar")
    parts = []
    for _, one in bars.groupby(level="symbol", sort=False):
        rel = atr_rel.reindex(one.index).to_numpy(dtype=np.float64)
        label, offset, ret = _first_touch(
            one["high"].to_numpy(),
            one["low"].to_numpy(),
            one["close"].to_numpy(),
            up * rel,
            down * rel,
            bars_ahead,
        )
        ts = one.index.get_level_values("ts")
        decided = offset >= 0
        t1 = pd.Series(pd.NaT, index=one.index, dtype=ts.dtype)
        t1[decided] = ts[np.flatnonzero(decided) + offset[decided]]
        parts.append(
            pd.DataFrame(
                {"y": np.where(decided, label, np.nan), "ret": ret, "t1": t1}, index=one.index
            )
        )
    return pd.concat(parts).reindex(bars.index)
