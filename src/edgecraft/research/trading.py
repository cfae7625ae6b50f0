"""Trade a horizon's out-of-sample signals through the Engine, risk manager and backtester."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from edgecraft.backtest.replay import decision_frame, market_grid, replay
from edgecraft.backtest.simulator import REASONS, TRADE_FIELDS, Costs
from edgecraft.core.numbers import json_safe
from edgecraft.core.timeframes import timeframe_delta
from edgecraft.engine.engine import Engine, SignalRule
from edgecraft.features.config import MARKET_CHANNELS
from edgecraft.features.stream import FeatureStream
from edgecraft.metrics.returns import (
    calmar,
    daily_returns,
    max_drawdown,
    profit_factor,
    sharpe,
    sortino,
)
from edgecraft.research.config import RunConfig, atr_columns
from edgecraft.risk.manager import RiskManager
from edgecraft.signals.scorer import Scorer


@dataclass
class TradingResult:
    metrics: dict
    trades: pd.DataFrame
    equity: pd.DataFrame
    decisions: pd.DataFrame  # every signal and the intent for it (backtest.replay.decision_frame)


def trade_horizon(config: RunConfig) -> str:
    horizons = config.label.horizons
    return config.trade_horizon or max(horizons, key=pd.Timedelta)


def costs_of(config: RunConfig) -> Costs:
    """The simulator's costs; a spot run's shorts go through the perpetual and pay its funding."""
    c = config.costs
    return Costs(c.fee_bps, c.maker_bps, c.half_spread_bps, c.impact_bps, config.market != "perp")


def build_engine(
    config: RunConfig,
    scorer: Scorer,
    funding: dict[str, pd.Series] | None = None,
    fear_greed: pd.Series | None = None,
    channels: dict[str, dict[str, pd.Series]] | None = None,
    history: int = 0,
) -> Engine:
    """The Engine a run deploys: its feature set, scorer, signal rule and risk manager.
    `channels`: per symbol, its external channel series (see `external_series`); `history`: bar
    closes of feature rows the Engine keeps to warm a scorer that replaces this one."""
    features = config.features.build()
    fc = config.features
    market: dict[str, pd.Series] = {}  # market-wide channels: every symbol, known or not
    for by_channel in (channels or {}).values():
        market.update({ch: s for ch, s in by_channel.items() if ch in MARKET_CHANNELS})
    stream = FeatureStream(
        features,
        fc.references,
        {s: fc.funding_cursor(f) for s, f in (funding or {}).items()},
        fc.fear_greed_cursor(fear_greed),
        {
            symbol: {
                ch: fc.channel_cursor(ch, series)
                for ch, series in by_channel.items()
                if ch not in MARKET_CHANNELS
            }
            for symbol, by_channel in (channels or {}).items()
        },
        {ch: fc.channel_cursor(ch, series) for ch, series in market.items()},
    )
    risk = RiskManager(config.risk, config.costs.fee_bps + config.costs.half_spread_bps)
    sig = config.signals
    rule = SignalRule(sig.min_confidence, sig.target_atr, sig.stop_atr, sig.full_size_confidence)
    bars_per_year = pd.Timedelta("365D") / timeframe_delta(config.features.base_timeframe)
    return Engine(
        stream,
        scorer,
        risk,
        rule,
        *atr_columns(config),
        bars_per_year,
        model_id=f"{config.name}:{scorer.horizon}",
        history=history,
    )


def simulate_trading(
    config: RunConfig,
    bars: pd.DataFrame,
    X: pd.DataFrame,
    predictions: pd.DataFrame,
    scorer: Scorer,
    funding: dict[str, pd.Series] | None = None,
) -> TradingResult:
    """Replay out-of-sample P(up) through the engine's decision path and the fill simulator."""
    index = predictions.index
    atr_col, atr_rel_col = atr_columns(config)
    scored = pd.DataFrame(
        {
            "p_up": predictions["p_up"],
            "close": bars["close"].reindex(index),
            "atr": X[atr_col].reindex(index).astype(float),
            "atr_rel": X[atr_rel_col].reindex(index).astype(float),
        }
    )
    if "size" in predictions:  # the model's own sizing (RL agent, confidence ramp)
        scored["size"] = predictions["size"].astype(float)
    symbols = sorted(index.get_level_values("symbol").unique())
    start = index.get_level_values("ts").min()
    window = bars[bars.index.get_level_values("ts") >= start]
    market = market_grid(window, symbols, funding)
    engine = build_engine(config, scorer)
    result = replay(engine, market, symbols, scored, costs_of(config))
    book = result.book
    equity = pd.DataFrame(book.equity_curve, index=result.ts, columns=["net", "gross"]).ffill()
    returns = {side: daily_returns(equity[side]) for side in ("net", "gross")}
    trades = pd.DataFrame(book.trade_list(), columns=list(TRADE_FIELDS))
    trades["symbol"] = [symbols[int(i)] for i in trades["symbol"]]
    trades["entry_ts"] = result.ts[trades["entry_bar"].astype(int)]
    trades["exit_ts"] = result.ts[trades["exit_bar"].astype(int)]
    trades["reason"] = [REASONS[int(r)] for r in trades["reason"]]
    gross_weight = np.abs(book.weights).sum(axis=1)
    metrics = {
        "horizon": scorer.horizon,
        "trades": int(len(trades)),
        "trade_win_rate": float((trades["return"] > 0).mean()) if len(trades) else None,
        "exits": trades["reason"].value_counts().to_dict(),
        "exposure_mean_gross": float(gross_weight.mean()),
        "turnover_per_bar": float(book.traded.mean()),
        "final_equity": float(book.equity[0]),
        "final_equity_gross": float(book.equity[1]),
        "decisions": dict(sorted(_by_rule(result.reasons).items())),
    }
    for name, series in (("net", returns["net"]), ("gross", returns["gross"])):
        metrics[name] = json_safe(
            {
                "profit_factor": profit_factor(series),
                "sharpe": sharpe(series),
                "sortino": sortino(series),
                "calmar": calmar(series),
                "max_drawdown": max_drawdown(series),
            }
        )
    return TradingResult(metrics, trades, equity, decision_frame(result.decisions))


def _by_rule(reasons: Counter) -> Counter:
    """Count decisions by rule, with the numbers in their reasons blanked out."""
    rules: Counter = Counter()
    for reason, count in reasons.items():
        rules[re.sub(r"[-+]?\d[\d.e+:-]*", "#", reason)] += count
    return rules
