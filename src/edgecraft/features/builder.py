"""Build the feature frame of every pair from a data folder and write it as Parquet."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from pydantic import ValidationError

from edgecraft.core.errors import ConfigError
from edgecraft.data.atomic import write_parquet_atomic
from edgecraft.data.external import MARKET, asset_of
from edgecraft.data.layout import DataLayout, default_data_dir
from edgecraft.data.symbols import exchange_id, unify
from edgecraft.features.config import MARKET_CHANNELS, FeaturesConfig
from edgecraft.features.featureset import FeatureSet
from edgecraft.features.inputs import build_inputs
from edgecraft.features.microstructure import book_channels

BOOK_CHANNELS = ("book_spread", "book_imbalance", "book_pressure", "trade_imbalance")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SymbolFeatures:
    """One symbol's feature frame and where it was written."""

    symbol: str
    rows: int
    path: Path | None


class FeatureBuilder:
    """Loads bars and external series from a data folder and builds each symbol's features."""

    def __init__(self, layout: DataLayout, config: FeaturesConfig, market: str = "spot") -> None:
        self.layout = layout
        self.config = config
        self.market = market
        self.features: FeatureSet = config.build()
        self._fear_greed = layout.load_fear_greed()
        self.channels = config.used_channels()

    def symbols(self) -> list[str]:
        return list(self.layout.bar_files(self.market, self.config.base_timeframe))

    def load(self, symbols: list[str]) -> pd.DataFrame:
        """Bars of `symbols` and of the references (needed for cross-asset features)."""
        wanted = list(dict.fromkeys([*symbols, *self.config.references]))
        available = set(self.symbols())
        missing_refs = [s for s in self.config.references if s not in available]
        if missing_refs:
            raise ConfigError(
                f"reference symbols {missing_refs} have no {self.market} "
                f"{self.config.base_timeframe} bars in {self.layout.root}"
            )
        return self.layout.load_bars(self.market, self.config.base_timeframe, wanted)

    def build(self, bars: pd.DataFrame, symbol: str) -> pd.DataFrame:
        """The feature frame of one symbol, indexed by (ts, symbol)."""
        own = bars.xs(symbol, level="symbol")
        ref, ref2 = (bars.xs(s, level="symbol")["close"] for s in self.config.references)
        x = build_inputs(
            own,
            ref,
            ref2,
            self.config.funding_cursor(self.layout.load_funding(symbol)),
            self.config.fear_greed_cursor(self._fear_greed),
            {
                channel: self.config.channel_cursor(channel, series)
                for channel, series in self.external(symbol).items()
            },
        )
        index = pd.MultiIndex.from_arrays([own.index, [symbol] * len(own)], names=["ts", "symbol"])
        return self.features.frame(index, x)

    def external(self, symbol: str) -> dict[str, pd.Series]:
        """The symbol's series of every channel its features read (market-wide ones included)."""
        return external_series(self.layout, self.config, self.market, symbol, self.channels)

    def coverage(self, symbols: list[str]) -> dict[str, dict]:
        """Per channel read, per asset: the span its data covers and what NaN means outside it
        (recorded in the run's feature spec)."""
        sources = self.layout.external
        out: dict[str, dict] = {}
        for channel in self.channels:
            if channel in BOOK_CHANNELS:
                out[channel] = {"note": "per-bar aggregates of recorded L2 books and trades"}
                continue
            assets = [MARKET] if channel in MARKET_CHANNELS else sorted(map(asset_of, symbols))
            out[channel] = {a: vars(sources.coverage(channel, a)) for a in dict.fromkeys(assets)}
        return out


def external_series(
    layout: DataLayout,
    config: FeaturesConfig,
    market: str,
    symbol: str,
    channels: list[str] | None = None,
) -> dict[str, pd.Series]:
    """`symbol`'s channel series from `layout`: its asset's on-chain and sentiment series, the
    market-wide ones, and per-bar aggregates of its recorded order books and trades."""
    wanted = config.used_channels() if channels is None else channels
    out: dict[str, pd.Series] = {}
    if any(c in BOOK_CHANNELS for c in wanted):
        l2, trades = layout.recordings(market, symbol)
        books = book_channels(l2, trades, config.base_timeframe, config.book_levels)
        out.update({c: books[c] for c in wanted if c in books})
    for channel in wanted:
        if channel in BOOK_CHANNELS:
            continue
        asset = MARKET if channel in MARKET_CHANNELS else asset_of(symbol)
        series = layout.external.series(channel, asset)
        if series is not None:
            out[channel] = series
    return out


def load_features_config(path: Path | None) -> FeaturesConfig:
    """Read FeaturesConfig fields from a YAML file; the defaults when `path` is None."""
    if path is None:
        return FeaturesConfig()
    try:
        fields = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(fields, dict):
        raise ConfigError(f"config {path} must be a mapping of FeaturesConfig fields")
    try:
        return FeaturesConfig(**fields)
    except ValidationError as exc:
        raise ConfigError(f"config {path}: {exc}") from exc


def build_features(
    data: Path | None,
    config: FeaturesConfig,
    out: Path | None,
    symbols: list[str] | None = None,
    market: str = "spot",
    progress: Callable[[str, int, int], None] | None = None,
) -> list[SymbolFeatures]:
    """Build (and, with `out`, write) the features of `symbols` (default: every pair in the folder).

    `data` is the data folder (default: `EDGECRAFT_DATA`, else ../shared/data). Files are written
    to ``out/features_{market}_{timeframe}/{SYMBOL}.parquet``, one per symbol, each atomically;
    DuckDB or pandas read the folder as one table. `progress(symbol, done, total)` is called after
    each symbol.
    """
    builder = FeatureBuilder(DataLayout(data or default_data_dir()), config, market)
    chosen = [unify(s) for s in symbols] if symbols else builder.symbols()
    bars = builder.load(chosen)
    results = []
    for symbol in chosen:
        frame = builder.build(bars, symbol)
        path = None
        if out is not None:
            path = (
                out
                / f"features_{market}_{config.base_timeframe}"
                / f"{exchange_id(symbol)}.parquet"
            )
            write_parquet_atomic(frame.reset_index(), path)
        log.info("symbol=%s rows=%d columns=%d", symbol, len(frame), frame.shape[1])
        results.append(SymbolFeatures(symbol, len(frame), path))
        if progress:
            progress(symbol, len(results), len(chosen))
    return results
