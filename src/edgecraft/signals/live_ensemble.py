"""The ensemble bar by bar: what `EnsembleScorer.predict` computes over a frame, computed one bar
close at a time from state kept between closes, so it can be served.

Per member and symbol the state holds the newest score and when it was made (a slower member's
prediction holds until its next bar, as in batch), and for a sequence member the symbol's last
`lookback` rows on the member's bar, already scaled as `models.sequence.Windows` scales them
(zeros, i.e. the median, before the symbol's first row). The sizing agent's own book per symbol
(position, equity, peak, recent returns) follows its actions as `SizingAgent.positions` does.

The arithmetic is run by `Runner`s: the training libraries' (`eager_ensemble`: PyTorch,
LightGBM, scikit-learn, Stable-Baselines3) or ONNX Runtime's (`signals.onnx_ensemble`). A test
holds the eager stream equal to the batch predictions, and the ONNX stream to the eager one.
The state is plain numbers and float32 arrays (`snapshot` / `restore`), stored by `live.codec`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from edgecraft.signals.ensemble import EnsembleScorer

# (n, features) rows or (n, lookback, features) scaled windows -> (score, member P(up))
MemberRun = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class LiveMember:
    """One member as the stream runs it: its bar, its window, and the function that scores."""

    key: str
    bar_ns: int
    run: MemberRun
    lookback: int = 1  # 1: tabular, scores the row itself
    center: np.ndarray | None = None  # a sequence member's scaling (median, IQR)
    spread: np.ndarray | None = None

    def scale(self, x: np.ndarray) -> np.ndarray:
        scaled = (np.asarray(x, dtype=np.float32) - self.center) / self.spread
        return np.clip(np.nan_to_num(scaled, nan=0.0), -5.0, 5.0).astype(np.float32)


@dataclass
class Sizing:
    """The sizing agent as the stream runs it: `act(obs)` -> target positions in [-1, 1]."""

    act: Callable[[np.ndarray], np.ndarray]
    cost: float  # per unit of position change, as a fraction


@dataclass
class LiveEnsemble:
    """`on_rows(ts, symbols, x)`: the ensemble's score, P(up) and sizing position for one close.

    `head(S, P)`: from member scores S (n, k; NaN where a member has none yet) and their
    calibrated P(up) P, the calibrated ensemble P(up) (NaN where it has no value); `score_of(S,
    P)`: the uncalibrated score a frame's `score` column holds (an ensemble's P(up) - 1/2, a single
    model's own score). `mode` "single": one member, the run's model itself."""

    members: list[LiveMember]
    head: Callable[[np.ndarray, np.ndarray], np.ndarray]
    columns: list[str]
    horizon: str
    sizing: Sizing | None = None
    state: dict = field(default_factory=dict)
    score_of: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    mode: str = "stack"

    def __post_init__(self) -> None:
        if not self.state:
            self.state = {"members": {m.key: {} for m in self.members}, "sizing": {}}

    # state ---------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The stream's state as plain values: numbers, lists and float32 windows."""
        members = {
            key: {
                symbol: {
                    "ts": s["ts"],
                    "score": _num(s["score"]),
                    "p": _num(s["p"]),
                    **({"window": s["window"].copy()} if "window" in s else {}),
                }
                for symbol, s in by_symbol.items()
            }
            for key, by_symbol in self.state["members"].items()
        }
        return {"members": members, "sizing": _copy(self.state["sizing"])}

    def restore(self, state: dict) -> None:
        """Take a `snapshot`; a member or shape it does not know is refused (ValueError)."""
        known = {m.key: m for m in self.members}
        if set(state.get("members", {})) != set(known):
            raise ValueError(
                f"ensemble state for members {sorted(state.get('members', {}))}, "
                f"this ensemble has {sorted(known)}"
            )
        members = {}
        for key, by_symbol in state["members"].items():
            m = known[key]
            members[key] = {}
            for symbol, s in by_symbol.items():
                entry = {"ts": int(s["ts"]), "score": _float(s["score"]), "p": _float(s["p"])}
                if m.lookback > 1:
                    window = np.asarray(s["window"], dtype=np.float32)
                    if window.shape != (m.lookback, len(self.columns)):
                        raise ValueError(
                            f"member {key}, {symbol}: window of shape {window.shape}, "
                            f"expected {(m.lookback, len(self.columns))}"
                        )
                    entry["window"] = window
                members[key][symbol] = entry
        self.state = {"members": members, "sizing": _copy(state.get("sizing", {}))}

    def reset_sizing(self) -> None:
        """Start the sizing agent's book afresh (flat, equity 1, no return history), as a
        backtest starting now does."""
        self.state["sizing"] = {}

    # one close -----------------------------------------------------------------------------
    def on_rows(
        self, ts: pd.Timestamp, symbols: list[str], x: np.ndarray, close: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """One bar close: rows `x` (in `columns` order) and closes of `symbols` at `ts` ->
        (P(up), the sizing agent's target position, or None without an agent)."""
        p_up = np.asarray(self.head(*self.members_at(ts, symbols, x)), dtype=np.float64)
        if self.sizing is None:
            return p_up, None
        return p_up, self.size(symbols, p_up, np.asarray(close, dtype=np.float64))

    def members_at(
        self, ts: pd.Timestamp, symbols: list[str], x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One bar close through the members: (scores S, calibrated P(up) P), (n, members), the
        newest of each member's, NaN where it has none (yet, or a bar old)."""
        ts_ns = int(ts.value)
        n = len(symbols)
        S = np.full((n, len(self.members)), np.nan)
        P = np.full((n, len(self.members)), np.nan)
        for k, member in enumerate(self.members):
            own = self.state["members"][member.key]
            if ts_ns % member.bar_ns == 0:  # the member's own bar: it scores
                if member.lookback > 1:
                    scaled = member.scale(x)  # every symbol's row at once
                    inputs = np.stack(
                        [self._push(own, s, member, scaled[i]) for i, s in enumerate(symbols)]
                    )
                else:
                    inputs = np.asarray(x, dtype=np.float32)
                score, p = member.run(inputs)
                for i, symbol in enumerate(symbols):
                    own.setdefault(symbol, {}).update(
                        ts=ts_ns, score=float(score[i]), p=float(p[i])
                    )
            for i, symbol in enumerate(symbols):  # the newest score, until it is a bar old
                entry = own.get(symbol)
                if entry and "score" in entry and 0 <= ts_ns - entry["ts"] < member.bar_ns:
                    S[i, k], P[i, k] = entry["score"], entry["p"]
        return S, P

    def forget_scores(self) -> None:
        """Drop every held member score (the windows stay): the stream then starts scoring as a
        batch prediction starting at the next close does."""
        for by_symbol in self.state["members"].values():
            for entry in by_symbol.values():
                entry.update(ts=-1, score=np.nan, p=np.nan)

    def fresh(self, sizing: bool = True) -> LiveEnsemble:
        """The same graphs with an empty state (and without the agent unless `sizing`)."""
        return LiveEnsemble(
            self.members,
            self.head,
            self.columns,
            self.horizon,
            self.sizing if sizing else None,
            score_of=self.score_of,
            mode=self.mode,
        )

    def _push(self, own: dict, symbol: str, member: LiveMember, scaled: np.ndarray) -> np.ndarray:
        """Append a scaled row to the symbol's window (the oldest row drops out)."""
        entry = own.setdefault(symbol, {"ts": -1, "score": np.nan, "p": np.nan})
        window = entry.get("window")
        if window is None:
            window = np.zeros((member.lookback, len(scaled)), dtype=np.float32)
        entry["window"] = np.concatenate([window[1:], scaled[None, :]])
        return entry["window"]

    def size(self, symbols: list[str], p_up: np.ndarray, close: np.ndarray) -> np.ndarray:
        """The agent's target per symbol. Each symbol's book is first settled at this close
        (the last bar's return on the position chosen then, less its cost), then observed as
        `SizingEnv` observes it; the state follows the agent's own actions."""
        from edgecraft.models.rl import VOL_BARS, VOL_CAP

        books = self.state["sizing"]
        obs = np.empty((len(symbols), 5), dtype=np.float32)
        history = np.full((len(symbols), VOL_BARS), np.nan)
        for i, symbol in enumerate(symbols):
            book = books.setdefault(
                symbol,
                {
                    "close": None,
                    "position": 0.0,
                    "cost": 0.0,
                    "equity": 1.0,
                    "peak": 1.0,
                    "returns": [],
                },
            )
            if book["close"] is not None:
                r = close[i] / book["close"] - 1.0
                r = 0.0 if not np.isfinite(r) else float(r)
                pnl = book["position"] * r - book["cost"]
                book["equity"] *= max(1.0 + pnl, 1e-6)
                book["peak"] = max(book["peak"], book["equity"])
                book["returns"] = [*book["returns"], r][-VOL_BARS:]
            returns = book["returns"]
            if returns:
                history[i, : len(returns)] = returns
            p = 0.0 if not np.isfinite(p_up[i]) else 2.0 * p_up[i] - 1.0
            p = min(max(p, -1.0), 1.0)
            obs[i, 0], obs[i, 1] = p, abs(p)
            obs[i, 2] = book["position"]
            obs[i, 4] = book["equity"] / book["peak"] - 1.0
        known = np.isfinite(history).sum(axis=1)
        with warnings.catch_warnings():  # fewer than two returns: the neutral 1 % instead
            warnings.simplefilter("ignore", RuntimeWarning)
            vol = np.where(known >= 2, np.nanstd(history, axis=1, ddof=1), 0.01)
        obs[:, 3] = np.minimum(vol / 0.01, VOL_CAP)
        target = np.clip(np.asarray(self.sizing.act(obs), dtype=np.float64), -1.0, 1.0)
        for i, symbol in enumerate(symbols):
            book = books[symbol]
            book["cost"] = self.sizing.cost * abs(target[i] - book["position"])
            book["position"] = float(target[i])
            book["close"] = float(close[i])
        return target


def eager_member(key: str, model, calibrator, bar_ns: int) -> LiveMember:
    """One fitted model and its calibrator as a stream member, on the training library."""
    lookback = int(getattr(model, "lookback", 1))
    if lookback <= 1:

        def run(rows, model=model):
            raw = model.score_array(rows)
            return raw, calibrator.predict(raw)

        return LiveMember(key, bar_ns, run)
    import torch

    net = model.net_

    def run(windows):
        with torch.no_grad():
            proba = torch.softmax(net(torch.from_numpy(windows)), dim=1).numpy()
        raw = proba[:, -1].astype(np.float64) - proba[:, 0].astype(np.float64)
        return raw, calibrator.predict(raw)

    return LiveMember(key, bar_ns, run, lookback, model.center_, model.spread_)


def eager_ensemble(scorer: EnsembleScorer) -> LiveEnsemble:
    """The stream on the training libraries themselves (what ONNX Runtime is checked against)."""
    from edgecraft.models.rl import LEVELS

    members = [eager_member(m.key, m.model, m.calibrator, m.bar.value) for m in scorer.members]

    def combined(S: np.ndarray, P: np.ndarray) -> np.ndarray:
        return scorer.combine(pd.DataFrame(S, columns=[m.key for m in scorer.members])) - 0.5

    def head(S: np.ndarray, P: np.ndarray) -> np.ndarray:
        p = combined(S, P) + 0.5
        known = np.isfinite(p)
        return np.where(known, scorer.calibrator.predict(np.nan_to_num(p, nan=0.5)), np.nan)

    sizing = None
    if scorer.agent is not None:
        agent = scorer.agent
        model = agent._loaded()

        def act(obs: np.ndarray) -> np.ndarray:
            action, _ = model.predict(obs, deterministic=True)
            if agent.algo == "ppo":
                return LEVELS[np.asarray(action, dtype=np.int64).reshape(-1)]
            return np.asarray(action, dtype=np.float64).reshape(len(obs), -1)[:, 0]

        sizing = Sizing(act, agent.cost_bps / 1e4)
    return LiveEnsemble(
        members, head, list(scorer.columns), scorer.horizon, sizing, score_of=combined
    )


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _float(value) -> float:
    return np.nan if value is None else float(value)


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value
