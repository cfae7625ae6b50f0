"""Timeframe strings ("5m", "1h", "4h", "1d") to durations, and bucketing of bar close times."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from edgecraft.core.errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^(\d+)([smhd])$")


def timeframe_seconds(timeframe: str) -> int:
    """Return the length of `timeframe` in seconds; e.g. "4h" -> 14400."""
    match = _PATTERN.match(timeframe)
    if not match or int(match.group(1)) == 0:
        raise ConfigError(f"timeframe must look like 5m, 1h, 4h or 1d, was {timeframe!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """Return `timeframe` as a Timedelta."""
    return pd.Timedelta(seconds=timeframe_seconds(timeframe))


def bucket_end_ns(close_ns: np.ndarray, timeframe: str) -> np.ndarray:
    """Map bar close times (int64 ns since the epoch, UTC) to their `timeframe` bucket's close.

    Buckets are aligned on the epoch, so 4h buckets close at 00:00, 04:00, ... and 1d buckets at
    00:00 UTC. A bar closing exactly on a boundary is the last bar of the bucket that closes then.
    """
    step = np.int64(timeframe_seconds(timeframe)) * np.int64(1_000_000_000)
    return -((-close_ns) // step) * step
