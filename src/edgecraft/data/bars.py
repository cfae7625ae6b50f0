"""Files to the Bars contract: validated, stamped by close time (UTC), indexed (ts, symbol)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from edgecraft.core.contracts import BAR_COLUMNS, Bar
from edgecraft.core.errors import DataError, Problem
from edgecraft.core.timeframes import timeframe_delta
from edgecraft.data.schemas import OHLCV
from edgecraft.data.symbols import parse_bar_file_name, unify
from edgecraft.data.validate import Report, validate_file

log = logging.getLogger(__name__)

TIME_LABELS = ("open", "close")


def checked(report: Report) -> pd.DataFrame:
    """Return the report's typed frame, or raise DataError listing every problem; log the notes."""
    if not report.ok or report.frame is None:
        raise DataError(report.problems)
    gaps = [n for n in report.notes if n.startswith("gap:")]
    if gaps:
        log.info("file=%s gaps=%d (first: %s)", report.file, len(gaps), gaps[0])
    for note in report.notes:
        log.debug("file=%s %s", report.file, note)
    return report.frame


def load_bar_file(
    path: Path, symbol: str | None = None, timeframe: str | None = None, time_label: str = "open"
) -> pd.DataFrame:
    """Load one OHLCV file (CSV, Parquet or Feather) into the Bars contract.

    Parameters
    ----------
    symbol, timeframe:
        Taken from the file name (``binance_spot_BTCUSDT_1h.parquet``, ``BTC_USDT-1h.csv``) or a
        ``symbol`` column when not given.
    time_label:
        What the file's ``timestamp`` marks: ``"open"`` (Binance klines, the default) or
        ``"close"``. Bars are always stamped by close time.
    """
    if time_label not in TIME_LABELS:
        raise ValueError(f"time_label must be one of {TIME_LABELS}, was {time_label!r}")
    name_symbol, name_timeframe = parse_bar_file_name(path)
    timeframe = timeframe or name_timeframe
    if timeframe is None:
        raise DataError(
            [
                Problem(
                    str(path),
                    None,
                    "timeframe unknown: put it in the file name "
                    "(e.g. BTCUSDT-1h.csv) or pass --timeframe",
                )
            ]
        )
    frame = checked(validate_file(path, OHLCV, timeframe))
    if "symbol" in frame:
        symbols = frame["symbol"].map(unify)
    elif symbol or name_symbol:
        symbols = pd.Series(unify(symbol or name_symbol), index=frame.index)
    else:
        raise DataError(
            [
                Problem(
                    str(path),
                    None,
                    "symbol unknown: add a symbol column, name the file after it, or pass --symbol",
                )
            ]
        )
    shift = timeframe_delta(timeframe) if time_label == "open" else pd.Timedelta(0)
    ts = frame["timestamp"] + shift
    columns = [c for c in (*BAR_COLUMNS, "taker_buy_volume") if c in frame]
    bars = frame[columns].astype("float64")
    bars.index = pd.MultiIndex.from_arrays([ts, symbols], names=["ts", "symbol"])
    return bars.sort_index()


def iter_bars(bars: pd.DataFrame) -> list[Bar]:
    """Bar records from a Bars frame, in its (ts, symbol) order: what a live feed delivers."""
    taker = "taker_buy_volume" in bars
    columns = bars[[*BAR_COLUMNS, *(["taker_buy_volume"] if taker else [])]].itertuples(index=False)
    return [
        Bar(ts, symbol, *values) for (ts, symbol), values in zip(bars.index, columns, strict=True)
    ]
