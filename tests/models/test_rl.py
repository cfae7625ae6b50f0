"""The sizing env passes gymnasium's checker; trained agents beat chance on a known answer."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

from edgecraft.models.rl import LEVELS, SizingAgent, market_arrays


def known_answer(hours: int, seed: int) -> pd.DataFrame:
    """The signal tells the next bar's side (P(up) 0.7 or 0.3): the right action follows it."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-01-01", periods=hours, freq="h", tz="UTC")
    index = pd.MultiIndex.from_product([ts, ["BTC/USDT", "ETH/USDT"]], names=["ts", "symbol"])
    side = rng.choice([-1.0, 1.0], size=len(index))
    ret = 0.004 * side + rng.normal(0.0, 0.004, len(index))
    return pd.DataFrame({"p_up": 0.5 + 0.2 * side, "next_return": ret}, index=index)


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_env_passes_gymnasium_checker(algo):
    env = SizingAgent(algo).env(market_arrays(known_answer(300, 0)))
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)


def test_reward_is_pnl_after_costs_minus_risk():
    frame = known_answer(50, 1)
    env = SizingAgent("ppo", cost_bps=10.0, risk_aversion=2.0).env(market_arrays(frame))
    env.reset(seed=0)
    s, t = env.current, env.t
    _, reward, _, _, info = env.step(int(np.flatnonzero(LEVELS == 1.0)[0]))
    expected_pnl = s["ret"][t] - 10.0 / 1e4  # from flat to +1: one unit traded
    assert info["pnl"] == pytest.approx(expected_pnl)
    penalty = 2.0 * s["vol"][t] ** 2
    assert reward == pytest.approx((expected_pnl - penalty) / env.vol_scale)


def test_trained_ppo_beats_a_random_policy():
    agent = SizingAgent("ppo", timesteps=6000, cost_bps=2.0, risk_aversion=0.5).fit(
        known_answer(2000, 2)
    )
    test = known_answer(800, 3)
    positions = agent.positions(test)
    assert positions.between(-1, 1).all() and positions.index.equals(test.index)
    trained = (positions * test["next_return"]).mean()
    rng = np.random.default_rng(4)
    chance = [(rng.uniform(-1, 1, len(test)) * test["next_return"]).mean() for _ in range(50)]
    assert trained > 0.002 and trained > np.max(chance)  # right side most of the time
    clone = pickle.loads(pickle.dumps(agent))  # the saved policy, not the live object
    pd.testing.assert_series_equal(clone.positions(test), positions)


def test_trained_sac_sizes_with_the_signal():
    agent = SizingAgent("sac", timesteps=1200, cost_bps=2.0, risk_aversion=0.5).fit(
        known_answer(1000, 5)
    )
    test = known_answer(300, 6)
    positions = agent.positions(test)
    assert positions.between(-1, 1).all()
    assert np.corrcoef(positions, test["p_up"])[0, 1] > 0.5


def test_unknown_algorithm_is_refused():
    with pytest.raises(ValueError, match="ppo"):
        SizingAgent("dqn")
