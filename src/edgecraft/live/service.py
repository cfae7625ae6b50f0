"""The live service behind `edgecraft serve`: one run's Engine on ONNX Runtime, state in Redis.

Feature state, the risk manager's book and the latest feature vectors and signals are kept in
process and mirrored in Redis (keys under ``edgecraft:<run>:``), so several server workers share
them and a restarted server resumes without replaying history. Before applying bars, a worker
takes Redis's state when it is newer than its own; when Redis is unreachable it goes on from its
in-process state and says so in `health`.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from itertools import groupby
from pathlib import Path

import numpy as np
import pandas as pd

from edgecraft.backtest.paper import PaperBroker
from edgecraft.core.contracts import Bar
from edgecraft.core.errors import DataError
from edgecraft.core.timeframes import timeframe_seconds
from edgecraft.data.bars import iter_bars
from edgecraft.data.layout import DataLayout, default_data_dir
from edgecraft.data.schemas import OHLCV
from edgecraft.data.validate import value_problems
from edgecraft.engine.engine import Decision, Engine
from edgecraft.features.builder import external_series
from edgecraft.live.state import Latest, RedisState, RejectedBarError
from edgecraft.research.artifacts import load_onnx_scorer, verify
from edgecraft.research.trading import build_engine, costs_of, trade_horizon
from edgecraft.risk.manager import PortfolioState
from edgecraft.signals.live_ensemble import LiveEnsemble
from edgecraft.signals.onnx_scorer import OnnxScorer

log = logging.getLogger(__name__)


class ChampionRefusedError(ValueError):
    """A model that may not replace the champion (changed files, other features)."""


RECENT_BARS = 500  # bars and signals per symbol kept for the dashboard
LOCK_WAIT_S = 5.0  # how long a request waits for another one's bars before it gets 503


class LiveService:
    """Validates closed bars, runs them through the Engine, keeps the latest signals."""

    def __init__(
        self,
        run: Path,
        redis_url: str | None = None,
        layout: DataLayout | None = None,
        threads: int = 1,
    ) -> None:
        """`layout`: the data folder whose funding, Fear & Greed and channel series the features
        read (the same external inputs the run trained on); without it those features are NaN.
        `start_paper` (after any warm-up) fills the risk manager's orders with the backtest's
        simulator as bars arrive, so the served decisions are the backtest's."""
        self.config = verify(run)  # refuses a run whose files changed
        self.run = run
        self.run_id = run.name
        # what a dashboard draws: recent bars and signals per symbol (this process's view)
        self.recent_bars: dict[str, deque] = {}
        self.recent_signals: dict[str, deque] = {}
        horizon = trade_horizon(self.config)
        self.scorer = load_onnx_scorer(run, horizon, threads)
        funding, fear_greed, channels = {}, None, {}
        if layout is not None:
            known = self.config.symbols or list(
                layout.bar_files(self.config.market, self.config.features.base_timeframe)
            )
            for symbol in set(known) | set(self.config.features.references):
                series = layout.load_funding(symbol)
                if series is not None:
                    funding[symbol] = series
            fear_greed = layout.load_fear_greed()
            channels = {
                symbol: external_series(layout, self.config.features, self.config.market, symbol)
                for symbol in known
            }
        self.engine: Engine = build_engine(
            self.config, self.scorer, funding, fear_greed, channels, history=RECENT_BARS
        )
        self.threads = threads
        self.champion = run.resolve()  # whose model scores (`promote` replaces it; rules stay)
        self.champion_refused: dict | None = None  # the last champion refused, and why
        self.funding = funding
        self.broker: PaperBroker | None = None
        self.symbols = set(self.config.symbols) or None  # None: any symbol the run knows
        self.step_ns = timeframe_seconds(self.config.features.base_timeframe) * 1_000_000_000
        self.latest = Latest()
        self.version = -1
        self.redis = RedisState(redis_url, f"edgecraft:{self.run_id}")
        self.listeners: list[Callable[[dict], None]] = []
        self._writer = threading.Lock()
        self._signals_cache: tuple = (None, b"")
        self.inputs = None  # an InputPoller keeping funding / Fear & Greed fresh (live/inputs.py)
        self.resume()

    # state -------------------------------------------------------------------------------
    def start_paper(self) -> None:
        """Start a paper book now: flat, equity 1, the risk manager's state fresh (decisions made
        while warming up assumed fills that never happened)."""
        self.broker = PaperBroker(self._book_symbols(), costs_of(self.config), self.funding)
        self.engine.risk.state = PortfolioState()
        if hasattr(self.scorer, "reset_sizing"):  # an ensemble's sizing agent starts flat too
            self.scorer.reset_sizing()

    def _book_symbols(self) -> list[str]:
        return sorted(set(self.config.symbols) | set(self.config.features.references))

    def snapshot(self) -> dict:
        return {
            "features": self.engine.features.snapshot(),
            "risk": self.engine.risk.state,
            "latest": {"signals": self.latest.signals, "vectors": self.latest.vectors},
            "broker": self.broker,
            # an ensemble's stream: held member scores, window buffers, the sizing agent's book
            "scorer": self.scorer.snapshot() if hasattr(self.scorer, "snapshot") else None,
            "champion": str(self.champion),
        }

    def restore(self, state: dict) -> None:
        """Continue from a `snapshot` (TypeError / KeyError / ValueError for one of another
        shape; `_adopt` then puts the previous state back)."""
        if not isinstance(state.get("risk"), PortfolioState):
            raise TypeError("the risk state is not a PortfolioState")
        broker = state.get("broker")
        if broker is not None and (
            not isinstance(broker, PaperBroker) or broker.symbols != self._book_symbols()
        ):
            raise TypeError("the paper book is not one of this run's symbols")
        champion = Path(state.get("champion") or self.champion).resolve()
        scorer, model_id = self.scorer, self.engine.model_id
        if champion != self.champion:  # another worker promoted a model: serve it too
            scorer, model_id = self._load_champion(champion)
        if state.get("scorer") is not None:
            scorer.restore(state["scorer"])
        self.engine.features.restore(state["features"])
        self.engine.risk.state = state["risk"]
        self.latest = Latest(**state["latest"])
        if scorer is not self.scorer:  # its stream as the promoting worker left it
            self.engine.swap_scorer(scorer, model_id, warm=False)
            self.scorer, self.champion = scorer, champion
        if state.get("broker") is not None:
            self.broker = state["broker"]
            self.broker.attach_funding(self.funding)

    def _load_champion(self, run: Path) -> tuple[OnnxScorer | LiveEnsemble, str]:
        """A run's scorer, if it is whole (checksums) and fits this service: the same features,
        market and symbols. DataError / ValueError say why not; nothing changes here."""
        config = verify(run)
        for what in ("features", "market", "symbols"):
            if getattr(config, what) != getattr(self.config, what):
                raise ValueError(
                    f"{run}: its {what} differ from the served run's; serve it on its own"
                )
        scorer = load_onnx_scorer(run, trade_horizon(config), self.threads)
        return scorer, f"{config.name}:{scorer.horizon}"

    def promote(self, run: Path) -> dict:
        """Score with `run`'s model from the next bar on, keeping this service's rules (risk,
        costs, signal rule), features and book; a stream starts from the kept feature rows.
        A run that is not whole or does not fit is refused (`ChampionRefusedError`, recorded in
        `health`) and the current champion keeps serving. The change reaches the other workers
        with the shared state."""
        if not self._writer.acquire(timeout=LOCK_WAIT_S):
            raise RejectedBarError("another request is applying bars; retry", 503)
        try:
            token, remote = self.redis.begin()
            try:
                if remote > self.version:
                    self._adopt(remote)
                try:
                    scorer, model_id = self._load_champion(run)
                    replayed = self.engine.swap_scorer(scorer, model_id)
                except (DataError, ValueError, KeyError, OSError) as exc:
                    self.champion_refused = {"run": run.name, "error": str(exc)}
                    log.error("champion %s refused (%s): %s keeps serving", run, exc, self.champion)
                    raise ChampionRefusedError(str(exc)) from exc
                self.scorer, self.champion, self.champion_refused = scorer, run, None
                self.version += 1
                if token is not None:
                    self.redis.commit(token, self.snapshot(), self.version, self.latest, set())
                    token = None
                return {"champion": run.name, "model": model_id, "warmed_bars": replayed}
            finally:
                if token is not None:
                    self.redis.release(token)
        finally:
            self._writer.release()

    def resume(self) -> None:
        """Take Redis's state when it is newer than ours (another worker, or a restart)."""
        remote = self.redis.version()
        if remote > self.version:
            self._adopt(remote)

    def _adopt(self, remote: int) -> None:
        """Take the shared state of version `remote`, whole or not at all: a blob that does not
        decode, or does not fit this run, is refused and the in-process state stays."""
        state = self.redis.load()
        if state is None:
            return
        own = self.snapshot()
        try:
            self.restore(state)
        except (DataError, KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            self.restore(own)
            self.redis.refuse(f"it does not fit this run: {type(exc).__name__}: {exc}")
            return
        self.version = remote

    def warm_up(
        self,
        layout: DataLayout,
        since: str | None = None,
        until: str | None = None,
        bars: int | None = None,
    ) -> int:
        """Feed closed bars of the run's symbols from a data folder: from `since` (or the last
        `bars` bar closes) up to `until`, so the features are warm before live bars arrive."""
        config = self.config
        data = layout.load_bars(
            config.market,
            config.features.base_timeframe,
            sorted(set(config.symbols) | set(config.features.references))
            if config.symbols
            else None,
        )
        ts = data.index.get_level_values("ts")
        keep = np.ones(len(data), dtype=bool)
        if since is not None:
            keep &= ts >= pd.Timestamp(since, tz="UTC")
        if until is not None:
            keep &= ts <= pd.Timestamp(until, tz="UTC")
        data = data[keep]
        if bars is not None:
            last = data.index.get_level_values("ts").unique()[-bars:]
            data = data[data.index.get_level_values("ts").isin(last)]
        self.ingest(iter_bars(data), publish=False)
        return len(data)

    # bars --------------------------------------------------------------------------------
    def check(self, bars: list[Bar]) -> None:
        """Reject the whole request, changing nothing, if any bar is bad: the values by the
        rules `edgecraft validate` applies to bar files, then symbol, grid and order."""
        if not bars:
            return
        taker = np.array([b.taker_buy_volume for b in bars], dtype=np.float64)
        columns = {
            k: np.array([getattr(b, k) for b in bars], dtype=np.float64)
            for k in ("open", "high", "low", "close", "volume")
        }
        columns["taker_buy_volume"] = np.where(np.isnan(taker), 0.0, taker)  # NaN: not given
        problems = value_problems(columns, OHLCV, "bars")
        if problems:
            bar = bars[problems[0].row - 1]
            raise RejectedBarError(f"bar {bar.symbol} at {bar.ts}: {problems[0].message}")
        seen: dict[str, int] = {}
        for bar in bars:
            where = f"bar {bar.symbol} at {bar.ts}"
            if self.symbols is not None and bar.symbol not in self.symbols | set(
                self.config.features.references
            ):
                raise RejectedBarError(
                    f"{where}: unknown symbol; this run serves {sorted(self.symbols)}", 404
                )
            ts_ns = int(bar.ts.value)
            if ts_ns % self.step_ns:
                raise RejectedBarError(
                    f"{where}: ts must be a bar close on the "
                    f"{self.config.features.base_timeframe} grid"
                )
            last = max(
                seen.get(bar.symbol, -(2**62)),
                self.engine.features.symbol_stream(bar.symbol).last_ts,
            )
            if ts_ns <= last:
                closed = pd.Timestamp(last, tz="UTC")
                raise RejectedBarError(
                    f"{where}: out of order, the last bar of {bar.symbol} closed at {closed}", 409
                )
            seen[bar.symbol] = ts_ns

    def ingest(self, bars: list[Bar], publish: bool = True) -> list[Decision]:
        """Apply closed bars (all symbols of a ts together) and return the decisions. One
        request at a time per process (the HTTP shell calls it from worker threads), one at a
        time across processes (Redis's lock)."""
        if not self._writer.acquire(timeout=LOCK_WAIT_S):
            raise RejectedBarError("another request is applying bars; retry", 503)
        try:
            return self._ingest(bars, publish)
        finally:
            self._writer.release()

    def _ingest(self, bars: list[Bar], publish: bool) -> list[Decision]:
        token, remote = self.redis.begin()
        committed = False
        try:
            if remote > self.version:  # another worker (or our past self) is ahead: take it
                self._adopt(remote)
            self.check(bars)
            decisions = self._decide(bars)
            for bar in bars:
                self.recent_bars.setdefault(bar.symbol, deque(maxlen=RECENT_BARS)).append(
                    (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume)
                )
            for decision in decisions:
                self._remember(decision, publish)
            self.version += 1
            if token is not None:
                changed = {s.symbol for d in decisions for s in d.signals}
                self.redis.commit(token, self.snapshot(), self.version, self.latest, changed)
                committed = True
            return decisions
        finally:
            if token is not None and not committed:
                self.redis.release(token)

    def _decide(self, bars: list[Bar]) -> list[Decision]:
        """The engine's decisions; with a paper book, each bar close first executes the orders
        of the one before and tells the risk manager the fills, as the backtest does."""
        if self.broker is None:
            return self.engine.on_bars(bars)
        decisions = []
        for ts, group in groupby(sorted(bars, key=lambda b: b.ts), key=lambda b: b.ts):
            group = list(group)
            broker = self.broker
            broker.on_bars(ts, group)
            self.engine.risk.on_fills(ts, broker.equity, broker.weights(), broker.working())
            for decision in self.engine.on_bars(group):
                broker.queue(decision.intents)
                decisions.append(decision)
        return decisions

    def _remember(self, decision: Decision, publish: bool) -> None:
        intents = {i.symbol: i for i in decision.intents}
        for signal in decision.signals:
            intent = intents.get(signal.symbol)
            record = {
                "ts": signal.ts.isoformat(),
                "symbol": signal.symbol,
                "direction": int(signal.direction),
                "confidence": signal.confidence,
                "horizon": str(signal.horizon),
                "entry": signal.entry,
                "target": signal.target,
                "stop": signal.stop,
                "model_id": signal.model_id,
                "decision": None
                if intent is None
                else {
                    "side": intent.side,
                    "target_weight": intent.target_weight,
                    "size": intent.size,
                    "order_type": intent.order_type,
                    "limit_price": intent.limit_price,
                    "time_in_force": intent.time_in_force,
                    "good_till": None if intent.good_till is None else str(intent.good_till),
                    "slices": intent.slices,
                    "reason": intent.reason,
                },
            }
            self.latest.signals[signal.symbol] = record
            self.recent_signals.setdefault(signal.symbol, deque(maxlen=RECENT_BARS)).append(record)
            self.latest.vectors[signal.symbol] = self.engine.features.symbol_stream(
                signal.symbol
            ).row.copy()
            if publish:
                for listener in list(self.listeners):
                    listener(record)

    def signals_json(self) -> bytes:
        """`{"signals": latest per symbol}` as JSON, encoded once per state version (reads far
        outnumber writes); a non-finite number is written as null."""
        key = (self.version, id(self.latest))
        if self._signals_cache[0] != key:
            body = {"signals": _finite(dict(self.latest.signals))}
            self._signals_cache = (key, json.dumps(body, allow_nan=False, default=str).encode())
        return self._signals_cache[1]

    def health(self) -> dict:
        return {
            "status": "ok",
            "run": self.run_id,
            "horizon": self.scorer.horizon,
            "redis": self.redis.status,
            "state": "shared" if self.redis.status == "up" else "in-process",
            "state_refused": self.redis.refused,  # why Redis's state was not taken, if it was not
            "champion": self.champion.name,  # the run folder whose model scores
            "model": self.engine.model_id,
            "champion_refused": self.champion_refused,
            "version": self.version,
            "symbols": sorted(self.latest.signals),
            # each polled input channel: its newest event, age, max age and whether it is stale
            "channels": self.inputs.health() if self.inputs is not None else {},
            "paper": None
            if self.broker is None
            else {"equity": self.broker.equity, "weights": self.broker.weights()},
        }


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def open_service(
    run: Path,
    redis_url: str | None,
    data: Path | None = None,
    warmup_bars: int = 0,
    paper: bool = False,
) -> LiveService:
    """A LiveService for `run`, warmed up on the last `warmup_bars` bars of `data` if asked;
    `paper`: then a paper book starts (unless Redis already holds this run's)."""
    layout = DataLayout(data or default_data_dir())
    service = LiveService(run, redis_url, layout)
    fresh = service.version < 0  # Redis had no state for this run
    if warmup_bars and fresh:
        service.warm_up(layout, bars=warmup_bars)
    if paper and service.broker is None:
        service.start_paper()
    return service
