"""The Feature contract: a compiled kernel plus its parameters, run over history or bar by bar."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import ClassVar

import numpy as np

OHLCV_INPUTS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
RESIDUAL = 1e-6  # a recursive feature's warm-up leaves at most this share of its starting state


def family_of(column: str) -> str:
    """A feature column's family: its name up to the first underscore (tech_rsi_14_1h -> tech)."""
    return column.split("_", 1)[0]


def ema_warmup(alpha: float, seed: int) -> int:
    """Bars until an average seeded after `seed` bars forgets its seed to `RESIDUAL`."""
    return seed + math.ceil(math.log(RESIDUAL) / math.log(1.0 - alpha))


class Feature:
    """A feature: one compiled kernel (see `kernels`), its parameters and its output names.

    Subclasses set `family`, `inputs`, `kernel`, and implement `outputs`, `own_params`,
    `state_size` and `warmup` from their hyperparameters. `batch` runs the kernel over all rows at
    once; `stream` returns a `Stream` that runs it one row at a time. Both run the same code.
    """

    family: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]
    kernel: ClassVar[Callable[..., None]]

    @property
    def name(self) -> str:
        raise NotImplementedError

    @property
    def outputs(self) -> tuple[str, ...]:
        """Suffixes of the output columns; "" for a single output."""
        return ("",)

    @property
    def warmup(self) -> int:
        """Rows seen before the first non-NaN value (this feature's own timeframe)."""
        raise NotImplementedError

    @property
    def state_size(self) -> int:
        raise NotImplementedError

    def own_params(self) -> list[float]:
        return []

    def columns(self, suffix: str = "") -> list[str]:
        """Output column names: ``family_name[_output][_suffix]``."""
        base = f"{self.family}_{self.name}"
        return ["_".join(p for p in (base, out, suffix) if p) for out in self.outputs]

    def params(self, layout: Mapping[str, int]) -> np.ndarray:
        """The kernel's params for input columns placed at `layout` positions."""
        missing = [c for c in self.inputs if c not in layout]
        if missing:
            raise KeyError(f"feature {self.name} needs input columns {missing}")
        return np.array([layout[c] for c in self.inputs] + self.own_params(), dtype=np.float64)

    def new_state(self) -> np.ndarray:
        return np.zeros(self.state_size, dtype=np.float64)

    def batch(self, x: np.ndarray, layout: Mapping[str, int]) -> np.ndarray:
        """Run over all rows of `x` (n, m) at once; return (n, len(outputs))."""
        out = np.empty((x.shape[0], len(self.outputs)), dtype=np.float64)
        type(self).kernel(self.new_state(), self.params(layout), np.ascontiguousarray(x), out)
        return out

    def stream(self, layout: Mapping[str, int]) -> Stream:
        return Stream(self, layout)


class Stream:
    """A feature running live: `update(row)` consumes one input row in O(1), returns its outputs."""

    def __init__(self, feature: Feature, layout: Mapping[str, int]) -> None:
        self._kernel = type(feature).kernel
        self._params = feature.params(layout)
        self._state = feature.new_state()
        self._x = np.empty((1, max(layout.values()) + 1), dtype=np.float64)
        self._out = np.empty((1, len(feature.outputs)), dtype=np.float64)

    def update(self, row: np.ndarray) -> np.ndarray:
        self._x[0, :] = row
        self._kernel(self._state, self._params, self._x, self._out)
        return self._out[0]
