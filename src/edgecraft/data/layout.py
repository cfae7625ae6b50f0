"""The folder layout of edgecraft's data directory (../shared/data, or a user's own copy of it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from edgecraft.core.errors import ConfigError, DataError
from edgecraft.data.bars import checked, load_bar_file, parse_bar_file_name
from edgecraft.data.schemas import FEAR_GREED, FUNDING, L2_BOOK, TAKER_FLOW, TRADES
from edgecraft.data.symbols import exchange_id, unify
from edgecraft.data.validate import pair_problem, validate_file

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
    ``sentiment/fear_greed_alternative_me_daily.parquet``,
    ``taker_flow/*.parquet`` (hourly taker-buy volume, merged into spot 1h bars),
    ``microstructure/binance_{spot,usdm}_{SYMBOL}_{l2_top20,trades}_{YYYYMMDD}.parquet``,
    ``onchain/``, ``market/`` and ``channels/`` (see `edgecraft.data.external`).
    """

    root: Path

    @cached_property
    def external(self) -> "ExternalSources":  # noqa: F821, UP037 - imported lazily: store imports layout
        """The folder's channel series (read and validated once per file)."""
        from edgecraft.data.external import ExternalSources

        return ExternalSources(self.root)

    def bar_files(self, market: str = "spot", timeframe: str = "1h") -> dict[str, Path]:
        """Return {unified symbol: file} for one market and timeframe."""
        if market not in MARKETS:
            raise ConfigError(f"market must be one of {sorted(MARKETS)}, was {market!r}")
        folder = self.root / "ohlcv" / f"{market}_{timeframe}"
        if not folder.is_dir():
            raise ConfigError(f"no {market} {timeframe} bars: folder {folder} does not exist")
        files = {}
        for path in sorted(folder.glob("*")):
            if path.suffix not in (".parquet", ".csv", ".feather"):
                continue
            problem = pair_problem(path, [])
            if problem is not None:  # refused here as `edgecraft validate` refuses it
                raise DataError([problem])
            files[parse_bar_file_name(path)[0]] = path
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
        bars = pd.concat(frames).sort_index()
        if market == "spot" and timeframe == "1h":
            bars = self._with_taker_flow(bars)
        return bars

    def _with_taker_flow(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Fill `taker_buy_volume` from ``taker_flow/`` tables where the bars lack it."""
        folder = self.root / "taker_flow"
        if not folder.is_dir():
            return bars
        parts = []
        for path in sorted(folder.glob("*.parquet")):
            frame = checked(validate_file(path, TAKER_FLOW))
            symbols = (
                frame["symbol"].map(unify)
                if "symbol" in frame
                else pd.Series(parse_bar_file_name(path)[0], index=frame.index)
            )
            ts = pd.to_datetime(frame["timestamp"], utc=True) + pd.Timedelta("1h")  # open -> close
            parts.append(
                pd.Series(
                    frame["taker_buy_volume"].to_numpy(dtype="float64"),
                    index=pd.MultiIndex.from_arrays([ts, symbols], names=["ts", "symbol"]),
                )
            )
        if not parts:
            return bars
        taker = pd.concat(parts)
        taker = taker[~taker.index.duplicated(keep="last")].reindex(bars.index)
        if "taker_buy_volume" in bars:
            taker = bars["taker_buy_volume"].fillna(taker)
        return bars.assign(taker_buy_volume=taker)

    def recordings(
        self, market: str, symbol: str
    ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """The symbol's recorded L2 snapshots and tick trades (every day found), validated."""
        infix = MARKETS[market]
        found = []
        for kind, schema in (("l2_top*", L2_BOOK), ("trades", TRADES)):
            pattern = f"binance_{infix}_{exchange_id(symbol)}_{kind}_*.parquet"
            paths = sorted((self.root / "microstructure").glob(pattern))
            frames = [checked(validate_file(p, schema)) for p in paths]
            found.append(pd.concat(frames, ignore_index=True) if frames else None)
        return found[0], found[1]

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
