"""Books: from calibrated scores to the weights one holds, built so that an edge survives costs.

Every function takes wide frames (index ts, one column per symbol) and returns target weights
on the same grid, decided at each bar's close from what is known then; `metrics.evaluation`
trades them at the next bar's open, net of costs and funding.

- `long_short_book`: cross-sectional and market-neutral. At each rebalance the scored symbols are
  ranked by P(up); the top `quantile` go long and the bottom `quantile` short, inverse-volatility
  weighted within each leg, each leg half the capital (dollar-neutral, gross 1). A sub-book holds
  for the label horizon; a new one is formed every horizon / `tranches` bars, so each rebalance
  moves only that share of the book (overlapping-horizon averaging, Jegadeesh & Titman 1993).
  A no-trade band leaves a symbol's weight alone until the target has moved more than `band`.
- `hysteresis_book`: per-symbol time series. Enter long at P(up) >= `enter` (short at
  <= 1 - `enter`), hold until the probability falls back through `exit` (1 - `exit`): the gap
  between the two is what keeps a wavering probability from paying the spread every bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator


class LongShortConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    quantile: float = Field(0.3, gt=0, le=0.5)  # share of the scored symbols in each leg
    tranches: int = Field(4, ge=1)  # overlapping sub-books over one horizon
    band: float = Field(0.02, ge=0)  # no-trade band, in weight (share of capital)
    min_symbols: int = Field(4, ge=2)  # fewer scored symbols at a bar: that sub-book is flat


class HysteresisConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    enter: float = Field(0.55, gt=0.5, le=1.0)
    exit: float = Field(0.5, ge=0.5, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> HysteresisConfig:
        if self.exit > self.enter:
            raise ValueError(f"exit ({self.exit}) must not exceed enter ({self.enter})")
        return self


def rebalance_rows(index: pd.DatetimeIndex, every: pd.Timedelta) -> np.ndarray:
    """Rows whose bar opens on a multiple of `every` since the epoch (so rebalance times do not
    depend on where the data starts)."""
    ns = index.asi8
    return (ns % every.value) == 0


def long_short_targets(
    p_up: pd.DataFrame, vol: pd.DataFrame, config: LongShortConfig
) -> pd.DataFrame:
    """The dollar-neutral, inverse-volatility target of every bar (before averaging and band)."""
    p = p_up.to_numpy(np.float64)
    v = vol.reindex(index=p_up.index, columns=p_up.columns).to_numpy(np.float64)
    usable = np.isfinite(p) & np.isfinite(v) & (v > 0)
    inverse = np.where(usable, 1.0 / np.where(usable, v, 1.0), 0.0)
    ranks = pd.DataFrame(np.where(usable, p, np.nan)).rank(axis=1, method="first").to_numpy()
    count = usable.sum(axis=1, keepdims=True)
    leg = np.floor(count * config.quantile)
    long = usable & (ranks > count - leg)
    short = usable & (ranks <= leg)
    out = np.zeros_like(p)
    for side, mask in ((1.0, long), (-1.0, short)):
        raw = np.where(mask, inverse, 0.0)
        total = raw.sum(axis=1, keepdims=True)
        out += side * 0.5 * np.divide(raw, total, out=np.zeros_like(raw), where=total > 0)
    out[(count[:, 0] < config.min_symbols) | (leg[:, 0] < 1)] = 0.0
    return pd.DataFrame(out, index=p_up.index, columns=p_up.columns)


def apply_band(target: np.ndarray, band: float) -> np.ndarray:
    """Hold each weight until its target has moved more than `band` away, then trade to it
    (a target of exactly 0 is always traded to: a position is never left open by the band)."""
    held = np.zeros_like(target)
    current = np.zeros(target.shape[1])
    for t in range(len(target)):
        want = target[t]
        move = (np.abs(want - current) > band) | (want == 0.0)
        current = np.where(move, want, current)
        held[t] = current
    return held


def long_short_book(
    p_up: pd.DataFrame,
    vol: pd.DataFrame,
    hold_bars: int,
    bar: pd.Timedelta,
    config: LongShortConfig | None = None,
) -> pd.DataFrame:
    """Weights of the long-short book: sub-books formed every hold_bars / tranches bars, each
    held `hold_bars` bars, averaged; then the no-trade band."""
    config = config or LongShortConfig()
    tranches = max(1, min(config.tranches, hold_bars))
    step = max(1, hold_bars // tranches)
    targets = long_short_targets(p_up, vol, config)
    formed = rebalance_rows(pd.DatetimeIndex(p_up.index), bar * step)
    sub = targets.where(pd.Series(formed, index=targets.index), 0.0, axis=0)
    averaged = sub.rolling(step * tranches, min_periods=1).sum() / tranches
    held = apply_band(averaged.to_numpy(), config.band)
    return pd.DataFrame(held, index=p_up.index, columns=p_up.columns)


def hysteresis_book(p_up: pd.DataFrame, config: HysteresisConfig | None = None) -> pd.DataFrame:
    """Weights of the per-symbol hysteresis book: side in {-1, 0, 1} per symbol, each symbol
    1 / (number of symbols) of the capital. A missing probability closes the position."""
    config = config or HysteresisConfig()
    p = p_up.to_numpy(np.float64)
    side = np.zeros(p.shape[1])
    held = np.zeros_like(p)
    for t in range(len(p)):
        row = p[t]
        known = np.isfinite(row)
        enter_long = known & (row >= config.enter)
        enter_short = known & (row <= 1.0 - config.enter)
        keep_long = known & (side > 0) & (row >= config.exit)
        keep_short = known & (side < 0) & (row <= 1.0 - config.exit)
        side = np.where(
            enter_long | keep_long & ~enter_short,
            1.0,
            np.where(enter_short | keep_short, -1.0, 0.0),
        )
        held[t] = side
    return pd.DataFrame(held / p.shape[1], index=p_up.index, columns=p_up.columns)
