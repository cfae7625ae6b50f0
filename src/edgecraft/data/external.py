"""External series by channel: on-chain, market-level, sentiment and stored provider recordings.

A channel series is a float Series indexed by the provider's own stamp (UTC); when it becomes
known (publication lag) is decided by the features' config, not here. Sources, in order:

* ``channels/{channel}/{ASSET}.parquet`` (or ``market.parquet`` for market-wide channels), columns
  ``timestamp, value``: what the provider clients (`edgecraft.data.providers`) record;
* the bundled history of ../shared/data: Coin Metrics daily network metrics (``onchain/``) for
  ``chain_*``, and stablecoin dominance from stablecoin supply and market caps (``onchain/``,
  ``market/``).

Where both cover a stamp, the recorded value wins. `coverage` says, per channel, the span covered
and why values outside it are missing, for the run's feature spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edgecraft.core.errors import DataError, Problem
from edgecraft.data.atomic import write_parquet_atomic
from edgecraft.data.bars import checked
from edgecraft.data.schemas import CHANNEL, DAILY_METRICS, STABLECOINS, Schema
from edgecraft.data.validate import validate_file

MARKET = "market"  # the asset name of market-wide channels
# Coin Metrics community metric -> (channel, log-transform)
COINMETRICS: dict[str, tuple[str, bool]] = {
    "AdrActCnt": ("chain_active", True),
    "TxTfrValAdjUSD": ("chain_transfer", True),
    "CapMVRVCur": ("chain_mvrv", False),
}
DOMINANCE_NOTE = (
    "stablecoin supply / (BTC + ETH market cap + stablecoin supply): a proxy, no total crypto "
    "market cap series is available; Coin Metrics caps to 2020-07-27, then DefiLlama supply with "
    "CoinGecko caps 2021-06-01..2023-02-01; not available (NaN) outside those spans"
)


def coinmetrics_values(metric: str, values: object) -> np.ndarray:
    """A Coin Metrics metric as its channel holds it: numbers, logged where `COINMETRICS` says
    (a non-positive count or value is missing)."""
    out = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    return np.log(np.where(out > 0, out, np.nan)) if COINMETRICS[metric][1] else out


def asset_of(symbol: str) -> str:
    """The base asset of a unified symbol, upper case: BTC/USDT -> BTC."""
    return symbol.split("/")[0].split(":")[0].upper()


def channel_path(root: Path, channel: str, asset: str) -> Path:
    return (
        Path(root)
        / "channels"
        / channel
        / f"{asset.upper() if asset != MARKET else MARKET}.parquet"
    )


def write_channel(root: Path, channel: str, asset: str, series: pd.Series) -> Path:
    """Merge `series` (UTC stamps -> values) into its channel table atomically; new values win."""
    path = channel_path(root, channel, asset)
    new = pd.Series(series.to_numpy(dtype=np.float64), index=pd.DatetimeIndex(series.index))
    if new.index.tz is None:
        raise ValueError(f"{channel}/{asset}: stamps must be timezone-aware (UTC)")
    if path.exists():
        old = read_channel(path)
        new = pd.concat([old[~old.index.isin(new.index)], new])
    new = new[~new.index.duplicated(keep="last")].sort_index()
    frame = pd.DataFrame({"timestamp": new.index.tz_convert("UTC"), "value": new.to_numpy()})
    write_parquet_atomic(frame, path)
    return path


def read_channel(path: Path) -> pd.Series:
    frame = checked(validate_file(path, CHANNEL))
    return pd.Series(
        frame["value"].to_numpy(dtype=np.float64),
        index=pd.DatetimeIndex(frame["timestamp"], name="ts"),
    )


@dataclass(frozen=True)
class Coverage:
    """The span a channel's series covers and what a value outside it means."""

    first: str | None
    last: str | None
    sources: list[str]
    note: str


class ExternalSources:
    """Channel series for one data folder; each file is read and validated once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[tuple[str, str], pd.Series | None] = {}
        self._sources: dict[tuple[str, str], list[str]] = {}
        self._files: dict[Path, pd.DataFrame | None] = {}

    def series(self, channel: str, asset: str) -> pd.Series | None:
        """The channel's series for `asset` (upper case) or `MARKET`; None when none covers it."""
        key = (channel, asset)
        if key not in self._cache:
            parts, sources = [], []
            bundled = self._bundled(channel, asset)
            if bundled is not None:
                parts.append(bundled)
                sources.append(bundled.name)
            recorded = channel_path(self.root, channel, asset)
            if recorded.exists():
                parts.append(read_channel(recorded))
                sources.append(str(recorded))
            merged = None
            if parts:
                merged = pd.concat(parts)
                merged = merged[~merged.index.duplicated(keep="last")].sort_index().dropna()
                merged.name = channel
            self._cache[key] = merged
            self._sources[key] = sources
        return self._cache[key]

    def coverage(self, channel: str, asset: str) -> Coverage:
        series = self.series(channel, asset)
        sources = self._sources.get((channel, asset), [])
        if series is None or series.empty:
            return Coverage(None, None, sources, f"no source for {asset}: the feature is NaN")
        note = DOMINANCE_NOTE if channel == "stable_dominance" else "NaN outside this span"
        return Coverage(str(series.index[0]), str(series.index[-1]), sources, note)

    # bundled history ---------------------------------------------------------------------
    def _bundled(self, channel: str, asset: str) -> pd.Series | None:
        if channel == "stable_dominance" and asset == MARKET:
            return self._dominance()
        metric = next((m for m, (ch, _) in COINMETRICS.items() if ch == channel), None)
        if metric is None:
            return None
        frame = self._daily(self.root / "onchain" / f"coinmetrics_{asset.lower()}_daily.parquet")
        if frame is None or metric not in frame:
            return None
        values = coinmetrics_values(metric, frame[metric])
        return pd.Series(values, index=frame.index, name=f"coinmetrics:{metric}")

    def _daily(self, path: Path, schema: Schema = DAILY_METRICS) -> pd.DataFrame | None:
        if path not in self._files:
            frame = checked(validate_file(path, schema)) if path.exists() else None
            if frame is not None:
                frame = frame.set_index(pd.DatetimeIndex(frame.pop("date"), name="ts"))
            self._files[path] = frame
        return self._files[path]

    def _dominance(self) -> pd.Series | None:
        parts = []
        onchain, market = self.root / "onchain", self.root / "market"
        stables = self._daily(onchain / "coinmetrics_stablecoins_daily.parquet", STABLECOINS)
        caps = [self._daily(onchain / f"coinmetrics_{a}_daily.parquet") for a in ("btc", "eth")]
        if stables is not None and all(c is not None and "CapMrktCurUSD" in c for c in caps):
            supply = stables.groupby(level="ts")["market_cap_usd"].sum(min_count=1)
            majors = caps[0]["CapMrktCurUSD"].add(caps[1]["CapMrktCurUSD"])  # NaN unless both
            parts.append(supply / (majors + supply.reindex(majors.index)))
        llama = self._daily(market / "stablecoin_total_supply_defillama_daily.parquet")
        gecko = self._daily(market / "btc_eth_market_cap_coingecko_daily.parquet")
        if llama is not None and gecko is not None:
            supply = llama["total_circulating_usd"]
            majors = gecko["btc_market_cap_usd"] + gecko["eth_market_cap_usd"]
            both = majors.index.intersection(supply.index)
            parts.append(supply[both] / (majors[both] + supply[both]))
        if not parts:
            return None
        out = pd.concat(parts).dropna()
        out = out[(out > 0) & (out < 1)]
        if out.index.duplicated().any():
            raise DataError([Problem(str(self.root / "market"), None, "stablecoin spans overlap")])
        return out.rename("bundled:stablecoin dominance").sort_index()
