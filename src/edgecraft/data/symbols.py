"""Symbol names: exchange ids (BTCUSDT) to edgecraft's unified form (BTC/USDT), and back."""

from __future__ import annotations

import re
from pathlib import Path

from edgecraft.core.errors import ConfigError

_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD", "EUR", "BTC", "ETH", "BNB")


def unify(symbol: str) -> str:
    """Return the unified "BASE/QUOTE" form of `symbol` ("BTCUSDT", "BTC_USDT", "BTC/USDT:USDT")."""
    text = symbol.strip().upper().split(":")[0]
    if "/" in text:
        base, quote = text.split("/", 1)
    elif "_" in text or "-" in text:
        base, quote = re.split(r"[_-]", text, maxsplit=1)
    else:
        quote = next((q for q in _QUOTES if text.endswith(q) and len(text) > len(q)), "")
        base = text[: len(text) - len(quote)]
    if not re.fullmatch(r"[A-Z0-9]+", base or "-") or not re.fullmatch(r"[A-Z0-9]+", quote or "-"):
        raise ConfigError(f"cannot read a BASE/QUOTE pair from symbol {symbol!r}")
    return f"{base}/{quote}"


def exchange_id(symbol: str) -> str:
    """Return the concatenated exchange id of a unified symbol: "BTC/USDT" -> "BTCUSDT"."""
    return unify(symbol).replace("/", "")


# binance_spot_BTCUSDT_1h, BTC_USDT-1h, and exports with words after the timeframe
# (binance_spot_BTCUSDT_1h_klines_full)
_NAME = re.compile(
    r"(?:[a-z0-9]+_(?:spot|usdm)_)?([A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)?)"
    r"[_-](\d+[mhd])(?:_[a-z]+)*$"
)


def parse_bar_file_name(path: Path) -> tuple[str | None, str | None]:
    """Read (symbol, timeframe) from binance_spot_BTCUSDT_1h.parquet or BTC_USDT-1h.csv names."""
    match = _NAME.fullmatch(path.stem)
    if not match:
        return None, None
    try:
        return unify(match.group(1)), match.group(2)
    except ConfigError:
        return None, match.group(2)
