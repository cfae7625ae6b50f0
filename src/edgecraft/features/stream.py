"""Live features: the FeatureSet's kernels fed one closed bar at a time, O(1) per bar."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from itertools import groupby

import numpy as np
import pandas as pd

from edgecraft.core.contracts import Bar
from edgecraft.core.timeframes import timeframe_seconds
from edgecraft.features.featureset import FeatureSet, Group
from edgecraft.features.fused import FusedGroup
from edgecraft.features.inputs import CHANNELS, INPUT_COLUMNS, LAYOUT, EventCursor

assert [LAYOUT[k] for k in ("open", "high", "low", "close", "volume")] == [0, 1, 2, 3, 4]

_NS = 1_000_000_000
_TAKER = LAYOUT["taker_buy_volume"]
_CHANNELS = slice(_TAKER + 1, len(INPUT_COLUMNS))
assert all(LAYOUT[f"{ch}_time"] == LAYOUT[ch] + 1 for ch in CHANNELS)


def _fused(group: Group, row: np.ndarray) -> FusedGroup:
    return FusedGroup(group, row[:, group.start : group.start + group.width])


class SymbolStream:
    """One symbol's live features; `update(ts_ns, inputs)` takes a row of `INPUT_COLUMNS`."""

    def __init__(self, features: FeatureSet) -> None:
        self.columns = features.columns
        self._row = np.full((1, len(features.columns)), np.nan)
        self._x = np.empty((1, len(INPUT_COLUMNS)))
        self._base = _fused(features.groups[0], self._row)
        self._higher = [_Bucketed(g, self._row) for g in features.groups[1:]]
        self._last_ts = -(2**62)

    def update(self, ts_ns: int, inputs: np.ndarray) -> np.ndarray:
        """Consume one closed bar; return the full feature row (a view: copy it to keep it)."""
        if ts_ns <= self._last_ts:
            raise ValueError(
                f"bar at {pd.Timestamp(ts_ns, tz='UTC')} is not after the last "
                f"one at {pd.Timestamp(self._last_ts, tz='UTC')}"
            )
        self._last_ts = ts_ns
        self._x[0, :] = inputs
        self._base.step(self._x)
        if self._higher:
            o, h, lo, c, v = inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]
            for bucketed in self._higher:
                bucketed.add(ts_ns, o, h, lo, c, v)
        return self._row[0]

    @property
    def last_ts(self) -> int:
        return self._last_ts

    @property
    def row(self) -> np.ndarray:
        """The latest feature vector (a view)."""
        return self._row[0]

    def snapshot(self) -> dict:
        """Everything this symbol's features remember, as plain arrays (to cache or persist)."""
        return {
            "last_ts": self._last_ts,
            "row": self._row.copy(),
            "base": self._base.state.copy(),
            "higher": [(b.state.state.copy(), b.end, b.bar.copy()) for b in self._higher],
        }

    def restore(self, snap: dict) -> None:
        """Continue from a `snapshot` (taken from a stream of the same FeatureSet)."""
        self._last_ts = int(snap["last_ts"])
        self._row[:] = snap["row"]
        self._base.state[:] = snap["base"]
        for bucketed, (state, end, bar) in zip(self._higher, snap["higher"], strict=True):
            bucketed.state.state[:] = state
            bucketed.end = end
            bucketed.bar[:] = bar


class _Bucketed:
    """A higher timeframe: aggregates base bars and steps its group when a bucket closes."""

    def __init__(self, group: Group, row: np.ndarray) -> None:
        self.state = _fused(group, row)
        self.step_ns = timeframe_seconds(group.timeframe) * _NS
        self.end = None
        self.bar = np.empty((1, 5))

    def add(self, ts_ns: int, o: float, h: float, lo: float, c: float, v: float) -> None:
        end = -((-ts_ns) // self.step_ns) * self.step_ns
        if self.end is not None and end != self.end:
            self.state.step(self.bar)
            self.end = None
        bar = self.bar
        if self.end is None:
            self.end = end
            bar[0, 0], bar[0, 1], bar[0, 2], bar[0, 3], bar[0, 4] = o, h, lo, c, 0.0 + v
        else:
            if h > bar[0, 1]:
                bar[0, 1] = h
            if lo < bar[0, 2]:
                bar[0, 2] = lo
            bar[0, 3] = c
            bar[0, 4] += v
        if ts_ns == end:  # the bar that closes the bucket: it is complete now
            self.state.step(self.bar)
            self.end = None


class FeatureStream:
    """Live features for many symbols, with reference closes and as-of external series.

    Feed closed bars in time order, all bars of one `ts` in one `on_bars` call: the reference
    closes of that `ts` are recorded before any symbol is computed, as in the batch path, where a
    row sees the references' bars of its own `ts`. A symbol whose reference has no bar at that
    `ts` gets NaN cross-asset features for the bar, exactly as the batch path does. `on_bar` alone
    sees only the references given so far.
    """

    def __init__(
        self,
        features: FeatureSet,
        references: tuple[str, str],
        funding: Mapping[str, EventCursor] | None = None,
        fear_greed: EventCursor | None = None,
        channels: Mapping[str, Mapping[str, EventCursor]] | None = None,
        market: Mapping[str, EventCursor] | None = None,
    ) -> None:
        """`channels`: per symbol, its `CHANNELS` cursors; `market`: channels every symbol reads."""
        self.features = features
        self.references = references
        self.funding = dict(funding or {})
        self.fear_greed = fear_greed
        self.market = [(LAYOUT[ch], cursor) for ch, cursor in (market or {}).items()]
        self.channels = {
            symbol: [(LAYOUT[ch], cursor) for ch, cursor in cursors.items()]
            for symbol, cursors in (channels or {}).items()
        }
        self._symbols: dict[str, SymbolStream] = {}
        SymbolStream(features)  # compiles the fused kernels now, not on the first live bar
        self._ref_close: dict[str, tuple[int, float]] = {}
        self._row = np.empty(len(INPUT_COLUMNS))

    def on_bar(self, bar: Bar) -> np.ndarray:
        """Update `bar.symbol`'s features with one closed bar; return its feature row (a copy)."""
        ts_ns = int(bar.ts.value)
        if bar.symbol in self.references:
            self._ref_close[bar.symbol] = (ts_ns, bar.close)
        return self._compute(bar, ts_ns)

    def on_bars(self, bars: Iterable[Bar]) -> list[tuple[Bar, np.ndarray]]:
        """Feed bars of one or more `ts`; each `ts` sees every reference bar given for it."""
        ordered = sorted(bars, key=lambda b: (b.ts, b.symbol))
        results = []
        for _, same_ts in groupby(ordered, key=lambda b: b.ts):
            group = list(same_ts)
            ts_ns = int(group[0].ts.value)
            for bar in group:
                if bar.symbol in self.references:
                    self._ref_close[bar.symbol] = (ts_ns, bar.close)
            results += [(bar, self._compute(bar, ts_ns)) for bar in group]
        return results

    def _compute(self, bar: Bar, ts_ns: int) -> np.ndarray:
        row = self._row
        row[0], row[1], row[2], row[3], row[4] = bar.open, bar.high, bar.low, bar.close, bar.volume
        row[5] = self._reference(self.references[0], ts_ns)
        row[6] = self._reference(self.references[1], ts_ns)
        cursor = self.funding.get(bar.symbol)
        row[7], row[8] = cursor.asof(ts_ns) if cursor else (math.nan, math.nan)
        row[9], row[10] = self.fear_greed.asof(ts_ns) if self.fear_greed else (math.nan, math.nan)
        row[_TAKER] = bar.taker_buy_volume
        row[_CHANNELS] = math.nan
        for at, channel in (*self.market, *self.channels.get(bar.symbol, ())):
            row[at], row[at + 1] = channel.asof(ts_ns)
        return self.symbol_stream(bar.symbol).update(ts_ns, row).copy()

    def symbol_stream(self, symbol: str) -> SymbolStream:
        """The live state of one symbol (created empty on first use)."""
        stream = self._symbols.get(symbol)
        if stream is None:
            stream = self._symbols[symbol] = SymbolStream(self.features)
        return stream

    def snapshot(self) -> dict:
        """Reference closes and every symbol's state."""
        return {
            "refs": dict(self._ref_close),
            "symbols": {s: st.snapshot() for s, st in self._symbols.items()},
        }

    def restore(self, snap: dict, symbols: list[str] | None = None) -> None:
        """Continue from a `snapshot`; with `symbols`, restore only those (and the references)."""
        self._ref_close.update(snap.get("refs", {}))
        for symbol, state in snap.get("symbols", {}).items():
            if symbols is None or symbol in symbols:
                self.symbol_stream(symbol).restore(state)

    def _reference(self, symbol: str, ts_ns: int) -> float:
        seen = self._ref_close.get(symbol)
        return seen[1] if seen is not None and seen[0] == ts_ns else math.nan
