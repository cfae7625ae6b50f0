"""The file schemas edgecraft reads, and how a file's kind is recognised from its columns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# column types: "time" (timestamp), "float", "int", "bool", "str"


@dataclass(frozen=True)
class Schema:
    """What one kind of file must hold; `validate` checks a frame against it."""

    kind: str
    time: str  # the event-time column
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    pattern: tuple[str, str] | None = None  # (regex, type) for numbered columns like bid_px_1
    open_columns: str | None = None  # type of any further column ("float" for metric tables)
    unique_time: bool = True  # timestamps strictly increasing (within `group`)
    group: str | None = None  # long tables: uniqueness and order hold per value of this column
    sequence: str | None = None  # event streams: this id must strictly increase
    positive: tuple[str, ...] = ()
    non_negative: tuple[str, ...] = ()
    ohlc: bool = False
    grid: str | None = None  # expected spacing of timestamps, e.g. "8h"; None: from the file name
    nullable: tuple[
        str, ...
    ] = ()  # metric columns where a missing value is real (counted in notes)
    open_nullable: bool = False  # columns matched by `open_columns` may hold missing values

    def is_nullable(self, column: str) -> bool:
        known = column == self.time or column in self.required or column in self.optional
        return column in self.nullable or (self.open_nullable and not known)

    def column_type(self, column: str) -> str | None:
        if column == self.time:
            return "time"
        if column in self.required:
            return self.required[column]
        if column in self.optional:
            return self.optional[column]
        if self.pattern and re.fullmatch(self.pattern[0], column):
            return self.pattern[1]
        return self.open_columns


OHLCV = Schema(
    kind="ohlcv",
    time="timestamp",
    required={
        "open": "float",
        "high": "float",
        "low": "float",
        "close": "float",
        "volume": "float",
    },
    optional={
        "taker_buy_volume": "float",
        "quote_volume": "float",
        "taker_buy_quote_volume": "float",
        "trades": "int",
        "symbol": "str",  # long files hold several symbols; order and uniqueness hold per symbol
    },
    group="symbol",
    positive=("open", "high", "low", "close"),
    non_negative=("volume", "taker_buy_volume", "quote_volume", "taker_buy_quote_volume", "trades"),
    ohlc=True,
)
FUNDING = Schema(kind="funding", time="timestamp", required={"funding_rate": "float"}, grid="8h")
FEAR_GREED = Schema(kind="fear_greed", time="date", required={"value": "int"}, grid="1d")
FEAR_GREED_CMC = Schema(
    kind="fear_greed_cmc",
    time="timestamp",
    required={"value": "int", "classification": "str"},
    optional={"btc_price_usd": "float", "btc_volume_usd_24h": "float"},
    nullable=("btc_price_usd", "btc_volume_usd_24h"),
)
STABLECOINS = Schema(
    kind="stablecoins",
    time="date",
    required={"asset": "str", "market_cap_usd": "float", "supply": "float"},
    optional={"active_addresses": "float", "tx_count": "float"},
    group="asset",
    non_negative=("market_cap_usd", "supply"),
    nullable=("market_cap_usd", "supply", "active_addresses", "tx_count"),
    grid="1d",
)
DAILY_METRICS = Schema(
    kind="daily_metrics",
    time="date",
    required={},
    open_columns="float",
    grid="1d",
    open_nullable=True,
)
L2_BOOK = Schema(
    kind="l2_book",
    time="timestamp",
    required={"local_ts": "time", "update_id": "int"},
    pattern=(r"(bid|ask)_(px|qty)_\d+", "float"),
    unique_time=False,
    sequence="update_id",
)
TRADES = Schema(
    kind="trades",
    time="timestamp",
    required={
        "local_ts": "time",
        "trade_id": "int",
        "price": "float",
        "qty": "float",
        "is_buyer_maker": "bool",
    },
    unique_time=False,
    sequence="trade_id",
    positive=("price", "qty"),
)
BBO = Schema(
    kind="bbo",
    time="local_ts",
    required={
        "update_id": "int",
        "bid_px": "float",
        "bid_qty": "float",
        "ask_px": "float",
        "ask_qty": "float",
    },
    optional={"timestamp": "time"},
    unique_time=False,
    sequence="update_id",
    non_negative=("bid_qty", "ask_qty"),
)

TAKER_FLOW = Schema(
    kind="taker_flow",
    time="timestamp",
    required={"taker_buy_volume": "float"},
    optional={"symbol": "str", "trades": "int"},
    open_columns="float",
    group="symbol",
    non_negative=("taker_buy_volume",),
)
CHANNEL = Schema(kind="channel", time="timestamp", required={"value": "float"})

SCHEMAS: dict[str, Schema] = {
    s.kind: s
    for s in (
        OHLCV,
        FUNDING,
        FEAR_GREED,
        FEAR_GREED_CMC,
        STABLECOINS,
        DAILY_METRICS,
        L2_BOOK,
        TRADES,
        BBO,
        TAKER_FLOW,
        CHANNEL,
    )
}


def schema_of_path(path) -> Schema | None:
    """The schema a file's place in the data layout says it follows (the one its loader reads it
    with), or None where only its columns can tell: so `edgecraft validate` checks a file as the
    loader will read it, and the two never disagree."""
    from pathlib import Path

    path = Path(path)
    folder, name = path.parent.name, path.name
    if path.parent.parent.name == "ohlcv":
        return OHLCV
    if path.parent.parent.name == "channels":
        return CHANNEL
    by_folder = {"funding": FUNDING, "taker_flow": TAKER_FLOW}
    if folder in by_folder:
        return by_folder[folder]
    if folder == "sentiment":
        if name.startswith("fear_greed_alternative_me"):
            return FEAR_GREED
        if name.startswith("fear_greed_coinmarketcap"):
            return FEAR_GREED_CMC
    if folder == "microstructure":
        for marker, schema in (("_trades_", TRADES), ("_l2_top", L2_BOOK), ("_bbo_", BBO)):
            if marker in name:
                return schema
    return None


def detect_schema(columns: list[str]) -> Schema | None:
    """Return the schema a file with these columns is meant to follow, or None.

    Detection reads signature columns, so a file that lost one required column is still checked
    against the schema it was meant for (and the missing column is reported).
    """
    cols = set(columns)
    if cols & {"open", "high", "low", "close"}:
        return OHLCV
    if "funding_rate" in cols:
        return FUNDING
    if "taker_buy_volume" in cols:
        return TAKER_FLOW
    if cols == {"timestamp", "value"}:
        return CHANNEL
    if cols & {"trade_id", "is_buyer_maker"}:
        return TRADES
    if any(re.fullmatch(r"(bid|ask)_(px|qty)_\d+", c) for c in cols):
        return L2_BOOK
    if cols & {"bid_px", "ask_px"}:
        return BBO
    if "asset" in cols:
        return STABLECOINS
    if "classification" in cols:
        return FEAR_GREED_CMC
    if "value" in cols and cols <= {"date", "value"}:
        return FEAR_GREED
    if "date" in cols:
        return DAILY_METRICS
    return None
