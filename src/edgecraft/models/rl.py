"""Reinforcement-learning position sizing (Stable-Baselines3 PPO and SAC on a gymnasium env).

The agent does not predict the market: it reads a signal someone else made (the ensemble's
P(up) and confidence) plus its own state (position, recent volatility, drawdown) and picks a
target position in [-1, 1]. The reward is the step's P&L after the same cost model as the
metrics (`cost_bps` per unit of position change) minus a variance penalty:

    reward = pos * r - cost * |pos - pos_prev| - risk_aversion * (pos * sigma)^2

with r the next bar's simple return and sigma the recent volatility known at the decision.
"""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from gymnasium import spaces
from stable_baselines3 import PPO, SAC

LEVELS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])  # PPO's discrete target positions
VOL_BARS = 24  # bars in the recent-volatility estimate
VOL_CAP = 50.0  # observed volatility is capped at 50 vol_scale units


def market_arrays(frame: pd.DataFrame) -> list[dict[str, np.ndarray]]:
    """Per-symbol arrays the env and the agent read, from a frame indexed (ts, symbol) with
    columns p_up and next_return (the bar's close to the next bar's close)."""
    out = []
    for _, part in frame.groupby(level="symbol", sort=True):
        part = part.sort_index(level="ts")
        r = part["next_return"].to_numpy(np.float64)
        past = pd.Series(r).shift(1)  # the return of the bar that just closed
        # the first bars have no history yet: a neutral 1 %, never a later bar's estimate
        vol = past.rolling(VOL_BARS, min_periods=2).std().fillna(0.01).to_numpy()
        p = part["p_up"].to_numpy(np.float64)
        out.append(
            {
                "signal": np.clip(np.nan_to_num(2.0 * p - 1.0), -1.0, 1.0),
                "confidence": np.clip(np.nan_to_num(np.abs(2.0 * p - 1.0)), 0.0, 1.0),
                "ret": np.nan_to_num(r),
                "vol": vol,
                "index": part.index,
            }
        )
    return out


class SizingEnv(gym.Env):
    """Episodes of `episode_length` bars drawn from the series; see the module docstring."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        series: list[dict[str, np.ndarray]],
        discrete: bool,
        cost_bps: float,
        risk_aversion: float = 1.0,
        episode_length: int = 256,
        vol_scale: float = 0.01,
    ) -> None:
        super().__init__()
        self.series = [s for s in series if len(s["ret"]) > 1]
        if not self.series:
            raise ValueError("the sizing env needs at least one series of two or more bars")
        self.discrete = discrete
        self.cost = cost_bps / 1e4
        self.risk_aversion = risk_aversion
        self.episode_length = episode_length
        self.vol_scale = vol_scale
        self.action_space = (
            spaces.Discrete(len(LEVELS))
            if discrete
            else spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        )
        # signal, confidence, position, volatility (in units of vol_scale), drawdown
        self.observation_space = spaces.Box(
            np.array([-1, 0, -1, 0, -1], dtype=np.float32),
            np.array([1, 1, 1, VOL_CAP, 0], dtype=np.float32),
            dtype=np.float32,
        )

    def target(self, action) -> float:
        if self.discrete:
            return float(LEVELS[int(action)])
        return float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))

    def _obs(self) -> np.ndarray:
        s, t = self.current, self.t
        return np.array(
            [
                s["signal"][t],
                s["confidence"][t],
                self.position,
                min(s["vol"][t] / self.vol_scale, VOL_CAP),
                self.equity / self.peak - 1.0,
            ],
            dtype=np.float32,
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.current = self.series[int(self.np_random.integers(len(self.series)))]
        n = len(self.current["ret"])
        span = min(self.episode_length, n - 1)
        self.t = int(self.np_random.integers(0, n - span))
        self.end = self.t + span
        self.position, self.equity, self.peak = 0.0, 1.0, 1.0
        return self._obs(), {}

    def step(self, action):
        s, t = self.current, self.t
        position = self.target(action)
        pnl = position * s["ret"][t] - self.cost * abs(position - self.position)
        reward = pnl - self.risk_aversion * (position * s["vol"][t]) ** 2
        self.equity *= max(1.0 + pnl, 1e-6)
        self.peak = max(self.peak, self.equity)
        self.position = position
        self.t += 1
        done = self.t >= self.end
        return self._obs(), float(reward / self.vol_scale), done, False, {"pnl": pnl}


class SizingAgent:
    """A PPO (discrete levels) or SAC (continuous) agent that sizes positions from signals."""

    def __init__(
        self,
        algo: str = "ppo",
        timesteps: int = 20_000,
        cost_bps: float = 12.0,
        risk_aversion: float = 1.0,
        episode_length: int = 256,
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        if algo not in ("ppo", "sac"):
            raise ValueError(f"algo must be 'ppo' or 'sac', was {algo!r}")
        self.algo = algo
        self.timesteps = timesteps
        self.cost_bps = cost_bps
        self.risk_aversion = risk_aversion
        self.episode_length = episode_length
        self.threads = threads
        self.seed = seed

    def env(self, series: list[dict[str, np.ndarray]]) -> SizingEnv:
        return SizingEnv(
            series,
            self.algo == "ppo",
            self.cost_bps,
            self.risk_aversion,
            self.episode_length,
        )

    def fit_series(self, series: list[dict[str, np.ndarray]]) -> SizingAgent:
        torch.set_num_threads(self.threads)
        env = self.env(series)
        if self.algo == "ppo":
            model = PPO(
                "MlpPolicy", env, n_steps=1024, batch_size=256, seed=self.seed, device="cpu"
            )
        else:
            model = SAC(
                "MlpPolicy", env, learning_starts=500, batch_size=256, seed=self.seed, device="cpu"
            )
        model.learn(total_timesteps=self.timesteps)
        buffer = io.BytesIO()
        model.save(buffer, exclude=["replay_buffer", "env"])
        self.policy_ = buffer.getvalue()
        self._model = model
        return self

    def fit(self, frame: pd.DataFrame) -> SizingAgent:
        """Train on a frame of out-of-sample signals (p_up, next_return; index (ts, symbol))."""
        return self.fit_series(market_arrays(frame))

    def _loaded(self):
        if getattr(self, "_model", None) is None:
            algo = PPO if self.algo == "ppo" else SAC
            self._model = algo.load(io.BytesIO(self.policy_), device="cpu")
        return self._model

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_model"}

    def positions_series(self, series: dict[str, np.ndarray]) -> np.ndarray:
        """Roll the deterministic policy along one series; the state follows its own actions."""
        torch.set_num_threads(self.threads)
        model = self._loaded()
        env = self.env([series]) if len(series["ret"]) > 1 else None
        n = len(series["ret"])
        out = np.zeros(n)
        if env is None:
            return out
        env.current, env.t, env.end = series, 0, n
        env.position, env.equity, env.peak = 0.0, 1.0, 1.0
        for t in range(n):
            env.t = t
            action, _ = model.predict(env._obs(), deterministic=True)
            out[t] = env.target(action)
            pnl = out[t] * series["ret"][t] - env.cost * abs(out[t] - env.position)
            env.equity *= max(1.0 + pnl, 1e-6)
            env.peak = max(env.peak, env.equity)
            env.position = out[t]
        return out

    def positions(self, frame: pd.DataFrame) -> pd.Series:
        """Target position in [-1, 1] for every row of `frame` (p_up, next_return)."""
        parts = [
            pd.Series(self.positions_series(s), index=s["index"]) for s in market_arrays(frame)
        ]
        return pd.concat(parts).reindex(frame.index)
