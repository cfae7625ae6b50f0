"""Technical indicators on one symbol's OHLCV bars at any timeframe: RSI, MACD, Bollinger, ATR..."""

from __future__ import annotations

from dataclasses import dataclass

from edgecraft.features import kernels
from edgecraft.features.base import OHLCV_INPUTS, Feature, ema_warmup


@dataclass(frozen=True)
class LogReturns(Feature):
    """Log return of the close over each of `windows` bars."""

    windows: tuple[int, ...] = (1, 4, 24)
    family = "tech"
    inputs = ("close",)
    kernel = kernels.log_returns

    def __post_init__(self) -> None:
        if not self.windows or min(self.windows) < 1:
            raise ValueError(f"windows must be positive bar counts, was {self.windows}")

    @property
    def name(self) -> str:
        return "logret"

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(str(w) for w in self.windows)

    @property
    def warmup(self) -> int:
        return max(self.windows)

    @property
    def state_size(self) -> int:
        return 2 + max(self.windows) + 1

    def own_params(self) -> list[float]:
        return [*map(float, self.windows), float(self.warmup)]


@dataclass(frozen=True)
class Rsi(Feature):
    """Relative Strength Index (Wilder, as TA-Lib), in [0, 100]."""

    period: int = 14
    family = "tech"
    inputs = ("close",)
    kernel = kernels.rsi

    @property
    def name(self) -> str:
        return f"rsi_{self.period}"

    @property
    def warmup(self) -> int:
        return ema_warmup(1.0 / self.period, self.period)

    @property
    def state_size(self) -> int:
        return 4

    def own_params(self) -> list[float]:
        return [float(self.period), float(self.warmup)]


@dataclass(frozen=True)
class Macd(Feature):
    """MACD line, signal and histogram (as TA-Lib), in price units."""

    fast: int = 12
    slow: int = 26
    signal: int = 9
    family = "tech"
    inputs = ("close",)
    kernel = kernels.macd

    def __post_init__(self) -> None:
        if not 1 < self.fast < self.slow or self.signal < 1:
            raise ValueError(
                f"need 1 < fast < slow and signal >= 1, was {self.fast}, {self.slow}, {self.signal}"
            )

    @property
    def name(self) -> str:
        return f"macd_{self.fast}_{self.slow}_{self.signal}"

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("line", "signal", "hist")

    @property
    def warmup(self) -> int:
        slow = ema_warmup(2.0 / (self.slow + 1), self.slow)
        return slow + ema_warmup(2.0 / (self.signal + 1), self.signal)

    @property
    def state_size(self) -> int:
        return 7

    def own_params(self) -> list[float]:
        return [float(self.fast), float(self.slow), float(self.signal), float(self.warmup)]


@dataclass(frozen=True)
class Bollinger(Feature):
    """Bollinger %B ((close - lower) / (upper - lower)) and width ((upper - lower) / middle)."""

    period: int = 20
    nbdev: float = 2.0
    family = "tech"
    inputs = ("close",)
    kernel = kernels.bollinger

    @property
    def name(self) -> str:
        return f"bb_{self.period}"

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("pctb", "width")

    @property
    def warmup(self) -> int:
        return self.period - 1

    @property
    def state_size(self) -> int:
        return 2 + self.period

    def own_params(self) -> list[float]:
        return [float(self.period), float(self.nbdev), float(self.warmup)]


@dataclass(frozen=True)
class Atr(Feature):
    """Average True Range (Wilder, as TA-Lib) in price units, and as a fraction of the close."""

    period: int = 14
    family = "tech"
    inputs = ("high", "low", "close")
    kernel = kernels.atr

    @property
    def name(self) -> str:
        return f"atr_{self.period}"

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("", "rel")

    @property
    def warmup(self) -> int:
        return ema_warmup(1.0 / self.period, self.period)

    @property
    def state_size(self) -> int:
        return 3

    def own_params(self) -> list[float]:
        return [float(self.period), float(self.warmup)]


@dataclass(frozen=True)
class VolumeZ(Feature):
    """z-score of log(1 + volume) against the last `window` bars."""

    window: int = 48
    family = "tech"
    inputs = ("volume",)
    kernel = kernels.log_volume_zscore

    @property
    def name(self) -> str:
        return f"volz_{self.window}"

    @property
    def warmup(self) -> int:
        return self.window - 1

    @property
    def state_size(self) -> int:
        return kernels.RING + self.window

    def own_params(self) -> list[float]:
        return [float(self.window)]


@dataclass(frozen=True)
class CloseLocation(Feature):
    """Close-location value: where the close sits in the bar's range, in [-1, 1]."""

    family = "tech"
    inputs = ("high", "low", "close")
    kernel = kernels.close_location

    @property
    def name(self) -> str:
        return "clv"

    @property
    def warmup(self) -> int:
        return 0

    @property
    def state_size(self) -> int:
        return 1


TECHNICAL = (LogReturns, Rsi, Macd, Bollinger, Atr, VolumeZ, CloseLocation)
assert all(set(f.inputs) <= set(OHLCV_INPUTS) for f in TECHNICAL)
