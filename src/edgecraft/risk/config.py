"""RiskConfig: the limits and rules of the risk manager, validated at load time."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RiskConfig(BaseModel):
    """Per-signal rules, sizing, portfolio limits, breakers and execution parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    min_confidence: float = Field(0.52, ge=0.5, le=1.0)
    min_edge_to_cost: float = Field(1.5, ge=0)  # expected edge must beat round-trip costs by this
    kelly_fraction: float = Field(0.25, gt=0, le=1)  # share of the full Kelly bet
    vol_target: float = Field(0.4, gt=0)  # annualized volatility per position
    max_position: float = Field(0.2, gt=0, le=1)  # |weight| per symbol
    max_gross: float = Field(1.0, gt=0)
    max_net: float = Field(0.6, ge=0)
    correlated: list[list[str]] = [["BTC/USDT", "ETH/USDT"]]
    max_correlated: float = Field(0.3, gt=0)  # summed |weight| of a correlated group
    max_drawdown: float = Field(0.2, gt=0, lt=1)  # breaker: flatten everything beyond it
    cooldown: str = "7d"  # stay flat this long after the breaker trips
    market_confidence: float = Field(0.6, ge=0.5, le=1)  # above it, pay the spread (market order)
    limit_offset_bps: float = Field(2.0, ge=0)  # limit price inside the spread otherwise
    limit_ttl: str = "3h"  # a GTC limit order rests this long (from its decision), then cancels
    slice_above: float = Field(0.1, gt=0)  # weight changes above this are sliced, one per bar
    min_trade: float = Field(0.01, ge=0)  # smaller weight changes are not worth an order
