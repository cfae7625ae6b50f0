"""The folder layout of edgecraft's data directory (../shared/data, or a user's own copy of it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from edgecraft.core.errors import ConfigError
from edgecraft.data.bars import checked, load_bar_file, parse_bar_file_name
from edgecraft.data.schemas import FEAR_GREED, FUNDING
from edgecraft.data.symbols import exchange_id, unify
from edgecraft.data.validate import validate_file

MARKETS = {"spot": "spot", "perp": "usdm"}  # edgecraft market name -> file-name infix
DEFAULT_DATA = Path("..") / "shared" / "data"  # beside the checkout, relative to where it runs


def default_data_dir() -> Path:
    """Return `EDGECRAFT_DATA` if set, else ../shared/data (relative to the working directory)."""
    return Path(os.environ.get("EDGECRAFT_DATA") or DEFAULT_DATA).resolve()


@dataclass(frozen=True)
class DataLayout:
    """Finds and loads the files of a data directory laid out like ../shared/data (see its README).

    ``ohlcv/{spot,perp}_{timeframe}/binance_{spot,usdm}_{SYMBOL}_{timeframe}.parquet``,
    ``funding/binance_usdm_{SYMBOL}_funding.parquet``,
    ``sentiment/fear_greed_alternative_me_daily.parquet``.
    """

    root: Path

    def bar_files(self, market: str = "spot", timeframe: str = "1h") -> dict[str, Path]:
        """Return {unified symbol: file} for one market and timeframe."""
        if market not in MARKETS:
            raise ConfigError(f"market must be one of {sorted(MARKETS)}, was {market!r}")
        folder = self.root / "ohlcv" / f"{market}_{timeframe}"
        if not folder.is_dir():
            raise ConfigError(f"no {market} {timeframe} bars: folder {folder} does not exist")
        files = {}
        for path in sorted(folder.glob("*")):
            symbol, _ = parse_bar_file_name(path)
            if symbol and path.suffix in (".parquet", ".csv", ".feather"):
                files[symbol] = path
        return files

    def load_bars(
        self, market: str = "spot", timeframe: str = "1h", symbols: list[str] | None = None
    ) -> pd.DataFrame:
        """Load validated bars of several symbols into one (ts, symbol) frame."""
        files = self.bar_files(market, timeframe)
        wanted = [unify(s) for s in symbols] if symbols else list(files)
        missing = [s for s in wanted if s not in files]
        if missing:
            raise ConfigError(f"no {market} {timeframe} file for {missing}; have {sorted(files)}")
        frames = [load_bar_file(files[s], s, timeframe) for s in wanted]
        return pd.concat(frames).sort_index()

    def load_funding(self, symbol: str) -> pd.Series | None:
        """Return the perpetual funding rate of `symbol`'s base pair by funding time, or None."""
        path = self.root / "funding" / f"binance_usdm_{exchange_id(symbol)}_funding.parquet"
        if not path.exists():
            return None
        frame = checked(validate_file(path, FUNDING))
        return pd.Series(
            frame["funding_rate"].to_numpy(),
            index=pd.DatetimeIndex(frame["timestamp"], name="ts"),
            name="funding_rate",
        )

    def load_fear_greed(self) -> pd.Series | None:
        """Return alternative.me's daily Fear & Greed value by its date (00:00 UTC), or None."""
        path = self.root / "sentiment" / "fear_greed_alternative_me_daily.parquet"
        if not path.exists():
            return None
        frame = checked(validate_file(path, FEAR_GREED))
        return pd.Series(
            frame["value"].to_numpy(dtype="float64"),
            index=pd.DatetimeIndex(frame["date"], name="ts"),
            name="fear_greed",
        )
