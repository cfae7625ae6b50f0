"""A FeatureSet: features at several timeframes plus rolling normalization, in batch and live."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import numba as nb
import numpy as np
import pandas as pd

from edgecraft.core.errors import ConfigError
from edgecraft.core.timeframes import bucket_end_ns, timeframe_seconds
from edgecraft.features import kernels
from edgecraft.features.base import OHLCV_INPUTS, Feature
from edgecraft.features.inputs import LAYOUT

HTF_LAYOUT = {name: i for i, name in enumerate(OHLCV_INPUTS)}
_OHLCV_POS = np.array([LAYOUT[c] for c in OHLCV_INPUTS])


@dataclass(frozen=True)
class Group:
    """Features computed on one timeframe's bars; its columns sit at `start` in the output row."""

    timeframe: str
    features: tuple[Feature, ...]
    layout: dict[str, int]
    start: int
    slots: tuple[tuple[int, int], ...]  # each feature's [begin, end) within the group
    columns: tuple[str, ...]
    z_sources: tuple[int, ...]  # group-relative columns that get a rolling z-score
    z_window: int

    @property
    def width(self) -> int:
        return len(self.columns)

    def z_params(self) -> np.ndarray:
        return np.array([self.z_window, len(self.z_sources), *self.z_sources], dtype=np.float64)

    def z_state(self) -> np.ndarray:
        return np.zeros(len(self.z_sources) * (self.z_window + kernels.RING))

    def run(self, x: np.ndarray, out: np.ndarray) -> None:
        """Run every feature of the group over `x` into `out` (rows x group width), from scratch."""
        for feature, (a, b) in zip(self.features, self.slots, strict=True):
            type(feature).kernel(feature.new_state(), feature.params(self.layout), x, out[:, a:b])
        if self.z_sources:
            z0 = self.slots[-1][1] if self.slots else 0
            kernels.rolling_zscore(self.z_state(), self.z_params(), out, out[:, z0:])


class FeatureSet:
    """Technical features at each timeframe, cross-asset and external features at the base one.

    Higher-timeframe bars are built from the base bars and used only once closed: a row at `ts`
    sees the last higher-timeframe bar whose close time is <= `ts`. Columns matching a
    `normalize` pattern also get a rolling z-score over `normalize_window` bars of their timeframe.
    """

    def __init__(
        self,
        base_timeframe: str,
        timeframes: list[str],
        bar_features: list[Feature],
        row_features: list[Feature],
        normalize: list[str],
        normalize_window: int = 48,
    ) -> None:
        base_s = timeframe_seconds(base_timeframe)
        for tf in timeframes:
            if timeframe_seconds(tf) % base_s or timeframe_seconds(tf) < base_s:
                raise ConfigError(f"timeframe {tf} is not a multiple of the base {base_timeframe}")
        bad = [f.name for f in bar_features if not set(f.inputs) <= set(OHLCV_INPUTS)]
        if bad:
            raise ConfigError(f"bar features must read only OHLCV, not so: {bad}")
        self.base_timeframe = base_timeframe
        self.normalize_window = normalize_window
        higher = [tf for tf in dict.fromkeys(timeframes) if tf != base_timeframe]
        groups, start = [], 0
        plan = [
            (
                base_timeframe,
                [*(bar_features if base_timeframe in timeframes else []), *row_features],
                LAYOUT,
            )
        ]
        plan += [(tf, list(bar_features), HTF_LAYOUT) for tf in higher]
        for tf, features, layout in plan:
            group = _group(tf, features, layout, start, normalize, normalize_window)
            groups.append(group)
            start += group.width
        self.groups: tuple[Group, ...] = tuple(groups)
        self.columns: list[str] = [c for g in self.groups for c in g.columns]

    @property
    def warmup(self) -> int:
        """Base bars before every column can be non-NaN (external series aside)."""
        base_s = timeframe_seconds(self.base_timeframe)
        need = 0
        for g in self.groups:
            ratio = timeframe_seconds(g.timeframe) // base_s
            bars = max((f.warmup for f in g.features), default=0)
            bars += self.normalize_window if g.z_sources else 0
            need = max(need, (bars + 1) * ratio)
        return need

    def batch(self, ts_ns: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Compute every column for one symbol's rows (close times `ts_ns`, inputs `x`)."""
        if len(ts_ns) and np.any(np.diff(ts_ns) <= 0):
            raise ValueError("bar times must be strictly increasing")
        out = np.full((len(ts_ns), len(self.columns)), np.nan)
        x = np.ascontiguousarray(x, dtype=np.float64)
        for g in self.groups:
            if g.timeframe == self.base_timeframe:
                g.run(x, out[:, g.start : g.start + g.width])
                continue
            ends, bars = aggregate(ts_ns, x[:, _OHLCV_POS], bucket_end_ns(ts_ns, g.timeframe))
            values = np.empty((len(ends), g.width))
            g.run(bars, values)
            idx = np.searchsorted(ends, ts_ns, side="right") - 1
            seen = idx >= 0
            out[seen, g.start : g.start + g.width] = values[idx[seen]]
        return out

    def frame(self, index: pd.Index, x: np.ndarray) -> pd.DataFrame:
        """`batch` as a DataFrame on `index` (a ts index of close times)."""
        ts = index.get_level_values("ts") if isinstance(index, pd.MultiIndex) else index
        return pd.DataFrame(self.batch(ts.as_unit("ns").asi8, x), index=index, columns=self.columns)


def _group(
    tf: str,
    features: list[Feature],
    layout: dict[str, int],
    start: int,
    normalize: list[str],
    window: int,
) -> Group:
    slots, columns, at = [], [], 0
    suffix = tf
    for f in features:
        names = f.columns(suffix if set(f.inputs) <= set(OHLCV_INPUTS) else "")
        slots.append((at, at + len(names)))
        columns += names
        at += len(names)
    z_sources = [
        i for i, c in enumerate(columns) if any(fnmatch.fnmatchcase(c, p) for p in normalize)
    ]
    columns += [f"{columns[i]}_z{window}" for i in z_sources]
    return Group(
        tf,
        tuple(features),
        dict(layout),
        start,
        tuple(slots),
        tuple(columns),
        tuple(z_sources),
        window,
    )


@nb.njit(cache=True)
def _aggregate(x, starts, stops, out):  # pragma: no cover - compiled
    for b in range(starts.shape[0]):
        a, z = starts[b], stops[b]
        out[b, 0] = x[a, 0]
        h = x[a, 1]
        lo = x[a, 2]
        v = 0.0
        for i in range(a, z):
            if x[i, 1] > h:
                h = x[i, 1]
            if x[i, 2] < lo:
                lo = x[i, 2]
            v += x[i, 4]
        out[b, 1] = h
        out[b, 2] = lo
        out[b, 3] = x[z - 1, 3]
        out[b, 4] = v


def aggregate(
    ts_ns: np.ndarray, ohlcv: np.ndarray, ends_ns: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge consecutive bars sharing a bucket end into one bar each; return (ends, bars)."""
    if not len(ts_ns):
        return ends_ns[:0], np.empty((0, 5))
    starts = np.flatnonzero(np.r_[True, ends_ns[1:] != ends_ns[:-1]])
    stops = np.r_[starts[1:], len(ts_ns)]
    out = np.empty((len(starts), 5))
    _aggregate(np.ascontiguousarray(ohlcv), starts, stops, out)
    return ends_ns[starts], out
