"""Cross-asset features: each pair against BTC, and the BTC/ETH relationship as a market feature."""

from __future__ import annotations

from dataclasses import dataclass

from edgecraft.features import kernels
from edgecraft.features.base import Feature


@dataclass(frozen=True)
class _PairStats(Feature):
    window: int = 168  # bars of returns in the correlation and beta
    rs_windows: tuple[int, int] = (24, 168)
    kernel = kernels.pair_stats

    def __post_init__(self) -> None:
        if self.window < 2 or len(self.rs_windows) != 2 or min(self.rs_windows) < 1:
            raise ValueError(
                f"need window >= 2 and two positive rs_windows, was {self.window}, "
                f"{self.rs_windows}"
            )

    @property
    def outputs(self) -> tuple[str, ...]:
        return (f"corr_{self.window}", f"beta_{self.window}", *(f"rs_{w}" for w in self.rs_windows))

    @property
    def warmup(self) -> int:
        return max(self.window, *self.rs_windows)

    @property
    def state_size(self) -> int:
        return 6 + 2 * self.window + max(self.rs_windows) + 1

    def own_params(self) -> list[float]:
        return [float(self.window), *map(float, self.rs_windows)]


@dataclass(frozen=True)
class VersusReference(_PairStats):
    """The pair's rolling correlation and beta to the reference (BTC) and its relative strength."""

    family = "cross"
    inputs = ("close", "ref_close")

    @property
    def name(self) -> str:
        return "ref"


@dataclass(frozen=True)
class MarketPair(_PairStats):
    """The second reference (ETH) against the first (BTC): a market-wide regime feature."""

    family = "cross"
    inputs = ("ref2_close", "ref_close")

    @property
    def name(self) -> str:
        return "market"
