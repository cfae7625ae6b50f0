"""Symbol names: exchange ids (BTCUSDT) to edgecraft's unified form (BTC/USDT), and back."""

from __future__ import annotations

import re

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
