"""The local store: Parquet files in the data-folder layout, atomic writes, DuckDB queries.

The store *is* a data folder: what `edgecraft download` writes, `edgecraft features` and
`edgecraft validate` read. Files keep the exchange's convention (bars stamped by open time).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from edgecraft.core.errors import DataError
from edgecraft.data.atomic import write_parquet_atomic
from edgecraft.data.layout import MARKETS
from edgecraft.data.schemas import FUNDING, OHLCV, Schema
from edgecraft.data.symbols import exchange_id
from edgecraft.data.validate import validate_file, validate_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppendResult:
    """What an append did: rows added, rows whose values changed, rows in the file after it."""

    path: Path
    added: int
    replaced: int
    rows: int


class ParquetStore:
    """Bars and funding rates under `root`, laid out as ../shared/data is."""

    def __init__(self, root: Path, exchange: str = "binance") -> None:
        self.root = Path(root)
        self.exchange = exchange

    def bars_path(self, market: str, timeframe: str, symbol: str) -> Path:
        infix = MARKETS[market]
        name = f"{self.exchange}_{infix}_{exchange_id(symbol)}_{timeframe}.parquet"
        return self.root / "ohlcv" / f"{market}_{timeframe}" / name

    def funding_path(self, symbol: str) -> Path:
        return self.root / "funding" / f"{self.exchange}_usdm_{exchange_id(symbol)}_funding.parquet"

    def append_bars(
        self, market: str, timeframe: str, symbol: str, rows: pd.DataFrame
    ) -> AppendResult:
        """Merge klines (`timestamp` = open time, OHLCV columns) into the symbol's file."""
        return self._append(self.bars_path(market, timeframe, symbol), rows, OHLCV, timeframe)

    def append_funding(self, symbol: str, rows: pd.DataFrame) -> AppendResult:
        """Merge funding rates (`timestamp`, `funding_rate`) into the symbol's file."""
        return self._append(self.funding_path(symbol), rows, FUNDING, None)

    def last_time(self, path: Path) -> pd.Timestamp | None:
        """The latest `timestamp` in a store file, read by DuckDB; None when there is no file."""
        if not path.exists():
            return None
        with duckdb.connect() as con:
            value = con.execute(
                "select max(timestamp) from read_parquet(?)", [str(path)]
            ).fetchone()
        return (
            None if value is None or value[0] is None else pd.Timestamp(value[0]).tz_convert("UTC")
        )

    def query(self, sql: str, params: list[object] | None = None) -> pd.DataFrame:
        """Run SQL over the store; views `bars` (every OHLCV file, with its path as `filename`)
        and `funding` exist when the store holds such files."""
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            for view, pattern in (("bars", "ohlcv/*/*.parquet"), ("funding", "funding/*.parquet")):
                if any(self.root.glob(pattern)):
                    glob = str(self.root / pattern).replace("'", "''")
                    con.execute(
                        f"create view {view} as select * from read_parquet('{glob}', "
                        "filename = true, union_by_name = true)"
                    )
            return con.execute(sql, params or []).df()

    def _append(
        self, path: Path, rows: pd.DataFrame, schema: Schema, timeframe: str | None
    ) -> AppendResult:
        new = rows.sort_values("timestamp").reset_index(drop=True)
        fresh = validate_frame(new, schema, f"new rows for {path.name}", timeframe)
        if not fresh.ok:
            raise DataError(fresh.problems)
        if path.exists():
            current = validate_file(path, schema, timeframe)
            if not current.ok:
                raise DataError(current.problems)
            old = pd.read_parquet(path)
        else:
            old = new.iloc[:0]
        merged = pd.concat([old, new], ignore_index=True)
        merged = merged.drop_duplicates(subset="timestamp", keep="last")
        merged = merged.sort_values("timestamp").reset_index(drop=True)
        added = len(merged) - len(old)
        overlap = old.merge(new, on="timestamp", suffixes=("_old", "_new"))
        value_columns = [c for c in new.columns if c != "timestamp" and c in old.columns]
        replaced = (
            int(
                sum((overlap[f"{c}_old"] != overlap[f"{c}_new"]).to_numpy() for c in value_columns)
                .astype(bool)
                .sum()
            )
            if len(overlap) and value_columns
            else 0
        )
        if replaced:
            log.warning(
                "file=%s replaced=%d rows whose values changed at the source", path, replaced
            )
        write_parquet_atomic(merged, path)
        return AppendResult(path, added, replaced, len(merged))
