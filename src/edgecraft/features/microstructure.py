"""Order-book and tick-trade measures, and their aggregation to a bar grid.

Snapshots (L2 top-N, as in ``microstructure/*_l2_top20_*.parquet``) give the bid-ask spread, the
order-book imbalance over the top N levels ``(bid qty - ask qty) / (bid qty + ask qty)`` and the
depth-weighted mid ``(vwap_bid * Q_ask + vwap_ask * Q_bid) / (Q_bid + Q_ask)`` (the micro-price
generalised to N levels, with Q the summed quantities of each side). Tick trades give taker-buy and
taker-sell volume (``is_buyer_maker`` False = the buyer was the aggressor).

A bar stamped ``ts`` (its close) covers ``[ts - bar, ts)`` by the time the data was *known*: the
local receive time ``local_ts`` when the recording has it, else the exchange time. So a bar's
values use only data received before its close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.core.timeframes import timeframe_delta


def _side(l2: pd.DataFrame, side: str, levels: int) -> tuple[np.ndarray, np.ndarray]:
    px_cols = [f"{side}_px_{i}" for i in range(1, levels + 1)]
    missing = [c for c in px_cols if c not in l2]
    if missing:
        raise ValueError(f"the book has fewer than {levels} levels: no columns {missing}")
    px = l2[px_cols].to_numpy(dtype=np.float64)
    qty = l2[[f"{side}_qty_{i}" for i in range(1, levels + 1)]].to_numpy(dtype=np.float64)
    qty = np.where(np.isfinite(px) & np.isfinite(qty), qty, 0.0)  # an empty level holds nothing
    return np.nan_to_num(px), qty


def imbalance(bid_qty: np.ndarray, ask_qty: np.ndarray) -> np.ndarray:
    """(bid - ask) / (bid + ask) per row; NaN for an empty book."""
    bid, ask = np.asarray(bid_qty, dtype=np.float64), np.asarray(ask_qty, dtype=np.float64)
    total = bid + ask
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (bid - ask) / total, np.nan)


def book_measures(l2: pd.DataFrame, levels: int = 10) -> pd.DataFrame:
    """Per snapshot: mid, spread (quote units and bps of mid), top-`levels` imbalance, the
    depth-weighted mid and its distance from mid in bps (`pressure`)."""
    bid_px, bid_qty = _side(l2, "bid", levels)
    ask_px, ask_qty = _side(l2, "ask", levels)
    best_bid, best_ask = bid_px[:, 0], ask_px[:, 0]
    mid = (best_bid + best_ask) / 2.0
    q_bid, q_ask = bid_qty.sum(axis=1), ask_qty.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap_bid = (bid_px * bid_qty).sum(axis=1) / q_bid
        vwap_ask = (ask_px * ask_qty).sum(axis=1) / q_ask
        weighted = (vwap_bid * q_ask + vwap_ask * q_bid) / (q_bid + q_ask)
        spread = best_ask - best_bid
        out = pd.DataFrame(
            {
                "mid": mid,
                "spread": spread,
                "spread_bps": spread / mid * 1e4,
                "imbalance": imbalance(q_bid, q_ask),
                "weighted_mid": weighted,
                "pressure_bps": (weighted - mid) / mid * 1e4,
            },
            index=l2.index,
        )
    two_sided = (bid_qty[:, 0] > 0) & (ask_qty[:, 0] > 0)
    out[~two_sided] = np.nan  # a one-sided book has no spread, mid or imbalance
    return out


def _known_time(frame: pd.DataFrame) -> pd.DatetimeIndex:
    column = "local_ts" if "local_ts" in frame else "timestamp"
    return pd.DatetimeIndex(pd.to_datetime(frame[column], utc=True))


def _bar_close(known: pd.DatetimeIndex, bar: str) -> pd.DatetimeIndex:
    step = timeframe_delta(bar)
    # [close - bar, close): a value received exactly at a close belongs to the next bar
    return known.floor(step) + step


def book_bars(l2: pd.DataFrame, bar: str = "1h", levels: int = 10) -> pd.DataFrame:
    """Snapshots aggregated to bars stamped by close time: mean spread (bps and quote units),
    imbalance and pressure at the bar's last snapshot, the imbalance change within the bar
    (last - first) and the snapshot count."""
    if l2.empty:
        columns = ["spread_bps", "spread", "imbalance", "imbalance_change", "pressure_bps"]
        return pd.DataFrame(columns=[*columns, "snapshots"])
    measures = book_measures(l2, levels)
    measures.index = _bar_close(_known_time(l2), bar)
    grouped = measures.groupby(level=0, sort=True)
    last, first = grouped.last(), grouped.first()
    out = pd.DataFrame(
        {
            "spread_bps": grouped["spread_bps"].mean(),
            "spread": grouped["spread"].mean(),
            "imbalance": last["imbalance"],
            "imbalance_change": last["imbalance"] - first["imbalance"],
            "pressure_bps": last["pressure_bps"],
            "snapshots": grouped.size(),
        }
    )
    out.index.name = "ts"
    return out


def trade_bars(trades: pd.DataFrame, bar: str = "1h") -> pd.DataFrame:
    """Tick trades aggregated to bars stamped by close time: volume, taker-buy volume, trade-flow
    imbalance (buy - sell) / volume, trade count and VWAP."""
    qty = trades["qty"].to_numpy(dtype=np.float64)
    buy = np.where(trades["is_buyer_maker"].to_numpy(dtype=bool), 0.0, qty)
    frame = pd.DataFrame(
        {
            "volume": qty,
            "taker_buy_volume": buy,
            "notional": qty * trades["price"].to_numpy(dtype=np.float64),
        },
        index=_bar_close(_known_time(trades), bar),
    )
    sums = frame.groupby(level=0, sort=True).sum()
    buy, sell = sums["taker_buy_volume"], sums["volume"] - sums["taker_buy_volume"]
    sums["trade_imbalance"] = np.nan_to_num(imbalance(buy, sell), nan=0.0)  # no volume: 0
    with np.errstate(invalid="ignore", divide="ignore"):
        sums["vwap"] = sums["notional"] / sums["volume"]
    sums["trades"] = frame.groupby(level=0, sort=True).size()
    sums.index.name = "ts"
    return sums.drop(columns="notional")


def book_channels(
    l2: pd.DataFrame | None, trades: pd.DataFrame | None, bar: str, levels: int
) -> dict[str, pd.Series]:
    """The `CHANNELS` series a symbol's recordings give on the `bar` grid (stamped at close)."""
    out: dict[str, pd.Series] = {}
    if l2 is not None and len(l2):
        books = book_bars(l2, bar, levels)
        out["book_spread"] = books["spread_bps"]
        out["book_imbalance"] = books["imbalance"]
        out["book_pressure"] = books["pressure_bps"]
    if trades is not None and len(trades):
        out["trade_imbalance"] = trade_bars(trades, bar)["trade_imbalance"]
    return {k: v.dropna() for k, v in out.items()}
