"""Benchmark: batch technical features for all spot pairs vs the `ta` package and TA-Lib; streaming.

Run: .venv/bin/python benchmarks/bench_features.py  (or `make bench`). Prints ratios measured in one
run against baselines computing the same indicators: log returns (1, 4, 24), RSI 14, MACD 12/26/9,
Bollinger 20 %B and width, ATR 14 (price and relative), log-volume z-score 48, close-location value.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import ta  # noqa: E402
import talib  # noqa: E402

from edgecraft.core.contracts import Bar  # noqa: E402
from edgecraft.data.bars import iter_bars  # noqa: E402
from edgecraft.data.layout import DataLayout, default_data_dir  # noqa: E402
from edgecraft.features.config import FeaturesConfig  # noqa: E402
from edgecraft.features.inputs import EventCursor, build_inputs  # noqa: E402
from edgecraft.features.stream import FeatureStream  # noqa: E402

TECHNICAL = [{"name": n} for n in ("logret", "rsi", "macd", "bbands", "atr", "volz", "clv")]


def ours(features, frames):
    return [features.batch(ts, x) for ts, x in frames]


def _volz(volume: pd.Series) -> pd.Series:
    lv = np.log1p(volume)
    roll = lv.rolling(48)
    return (lv - roll.mean()) / roll.std(ddof=0)


def _clv(h, lo, c):
    rng = h - lo
    return np.where(rng > 0, ((c - lo) - (h - c)) / np.where(rng > 0, rng, 1), 0.0)


def with_ta(bars_by_symbol):
    out = []
    for df in bars_by_symbol:
        c, h, lo, v = df["close"], df["high"], df["low"], df["volume"]
        macd = ta.trend.MACD(c, 26, 12, 9)
        bb = ta.volatility.BollingerBands(c, 20, 2)
        atr = ta.volatility.AverageTrueRange(h, lo, c, 14).average_true_range()
        cols = {f"logret_{w}": np.log(c / c.shift(w)) for w in (1, 4, 24)}
        cols |= {
            "rsi": ta.momentum.RSIIndicator(c, 14).rsi(),
            "macd": macd.macd(),
            "signal": macd.macd_signal(),
            "hist": macd.macd_diff(),
            "pctb": bb.bollinger_pband(),
            "width": bb.bollinger_wband() / 100,
            "atr": atr,
            "atr_rel": atr / c,
            "volz": _volz(v),
            "clv": _clv(h, lo, c),
        }
        out.append(pd.DataFrame(cols))
    return out


def with_talib(arrays):
    out = []
    for _, h, lo, c, v in arrays:
        line, signal, hist = talib.MACD(c, 12, 26, 9)
        upper, middle, lower = talib.BBANDS(c, 20, 2.0, 2.0, 0)
        atr = talib.ATR(h, lo, c, 14)
        rets = [np.r_[np.full(w, np.nan), np.log(c[w:] / c[:-w])] for w in (1, 4, 24)]
        out.append(
            np.column_stack(
                [
                    *rets,
                    talib.RSI(c, 14),
                    line,
                    signal,
                    hist,
                    (c - lower) / (upper - lower),
                    (upper - lower) / middle,
                    atr,
                    atr / c,
                    _volz(pd.Series(v)).to_numpy(),
                    _clv(h, lo, c),
                ]
            )
        )
    return out


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stream-bars", type=int, default=20_000, help="ts per symbol streamed")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    layout = DataLayout(default_data_dir())
    bars = layout.load_bars("spot", "1h")
    symbols = list(bars.index.get_level_values("symbol").unique())
    per_symbol = [bars.xs(s, level="symbol") for s in symbols]
    n_rows = sum(len(b) for b in per_symbol)
    frames = [(b.index.as_unit("ns").asi8, build_inputs(b)) for b in per_symbol]
    arrays = [
        tuple(b[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
        for b in per_symbol
    ]

    one_tf = FeaturesConfig(timeframes=["1h"], features=TECHNICAL, normalize=[]).build()
    three_tf = FeaturesConfig(features=TECHNICAL).build()
    ours(one_tf, frames[:1])  # compile / load the kernels before timing
    t_ours = best_of(lambda: ours(one_tf, frames), args.repeat)
    t_ta = best_of(lambda: with_ta(per_symbol), args.repeat)
    t_talib = best_of(lambda: with_talib(arrays), args.repeat)
    t_three = best_of(lambda: ours(three_tf, frames), args.repeat)

    print(
        f"batch, {len(symbols)} spot pairs x full 1h history = {n_rows} bars, "
        f"{len(one_tf.columns)} technical columns, best of {args.repeat}"
    )
    print(f"  edgecraft (numba kernels)     {t_ours:8.3f} s")
    print(
        f"  ta 0.11 (pandas)              {t_ta:8.3f} s   ratio ta / edgecraft     = "
        f"{t_ta / t_ours:6.1f}x  (target >= 5x)"
    )
    print(
        f"  TA-Lib 0.8 (C) + numpy        {t_talib:8.3f} s   ratio edgecraft / TA-Lib = "
        f"{t_ours / t_talib:6.2f}x  (target <= 2x)"
    )
    print(f"  edgecraft 1h+4h+1d + z-scores {t_three:8.3f} s   ({len(three_tf.columns)} columns)")

    full = FeaturesConfig()
    features = full.build()
    refs = full.references
    stream_symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT"]
    sub = bars[bars.index.get_level_values("symbol").isin(stream_symbols)]
    last_ts = sub.index.get_level_values("ts").unique()[-args.stream_bars :]
    sub = sub[sub.index.get_level_values("ts").isin(last_ts)]
    records = iter_bars(sub)
    funding = {
        s: EventCursor(f) for s in stream_symbols if (f := layout.load_funding(s)) is not None
    }
    stream = FeatureStream(
        features, refs, funding, EventCursor(layout.load_fear_greed(), full.fear_greed_delay())
    )
    by_ts: dict[pd.Timestamp, list[Bar]] = {}
    for bar in records:
        by_ts.setdefault(bar.ts, []).append(bar)
    start = time.perf_counter()
    for group in by_ts.values():
        stream.on_bars(group)
    elapsed = time.perf_counter() - start
    print(
        f"streaming, all {len(features.columns)} columns (technical at 1h/4h/1d, cross-asset, "
        f"funding, sentiment, z-scores), {len(records)} bars of {len(stream_symbols)} symbols:"
    )
    print(f"  {elapsed / len(records) * 1e6:6.1f} us per bar per symbol  (target <= 20 us)")


if __name__ == "__main__":
    main()
