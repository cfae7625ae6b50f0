"""Paper A/B: the promotion rule's statistics, the SQL ledger, and the in-sample guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from edgecraft.metrics.overfitting import sharpe_difference_interval
from edgecraft.operations.paper import Arm, Ledger, PromotionRule, decide, paper_ab


def _arm(name: str, daily_mean: float, trades: int, seed: int, days: int = 365) -> Arm:
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2024-01-01", periods=days * 24, freq="h", tz="UTC")
    hourly = rng.normal(daily_mean / 24, 0.01 / np.sqrt(24), len(hours))
    net = np.cumprod(1 + hourly)
    equity = pd.DataFrame({"net": net, "gross": net * 1.001}, index=hours)
    trade_rows = pd.DataFrame(
        {
            "symbol": "BTC/USDT",
            "entry_bar": 0,
            "exit_bar": 1,
            "direction": 1,
            "weight": 0.1,
            "entry_price": 100.0,
            "exit_price": 101.0,
            "return": rng.normal(0, 0.01, trades),
            "reason": "horizon",
            "entry_ts": hours[:trades],
            "exit_ts": hours[1 : trades + 1],
        }
    )
    return Arm(name, f"/runs/{name}", trade_rows, equity, {"net": {}})


def test_bootstrap_interval_covers_a_known_difference():
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=2000, freq="D")
    market = rng.normal(0, 0.01, 2000)
    a = pd.Series(market + rng.normal(0.002, 0.005, 2000), index=days)
    b = pd.Series(market + rng.normal(0.0, 0.005, 2000), index=days)
    estimate, low, high = sharpe_difference_interval(a, b, resamples=500)
    assert low < estimate < high and low > 0  # a real edge: the interval excludes zero
    same, low0, high0 = sharpe_difference_interval(
        b, b.sample(frac=1, random_state=1).set_axis(days)
    )
    assert low0 < 0 < high0


def test_promotion_needs_trades_a_sharpe_edge_and_a_passing_dsr():
    rule = PromotionRule(resamples=500)
    champion = _arm("champion", 0.0, 100, 1)
    better = _arm("challenger", 0.004, 100, 2)
    decision = decide(champion, better, rule)
    assert decision["decision"] == "promote", decision
    assert all(decision["checks"].values())

    alike = decide(champion, _arm("challenger", 0.0, 100, 3), rule)
    assert alike["decision"] == "keep" and not alike["checks"]["sharpe_difference"]

    few = decide(champion, _arm("challenger", 0.004, 5, 2), rule)
    assert few["decision"] == "keep" and few["checks"] == {
        "min_trades": False,
        "sharpe_difference": True,
        "challenger_dsr": True,
        "challenger_pbo": True,
    }
    overfit = _arm("challenger", 0.004, 100, 2)
    overfit.pbo = 0.7  # picked as the best of a search whose best does not hold out of sample
    refused = decide(champion, overfit, rule)
    assert refused["decision"] == "keep" and refused["checks"]["challenger_pbo"] is False


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_ledger_writes_a_session_whole_or_not_at_all(backend, tmp_path, request):
    uri = (
        f"sqlite:///{tmp_path / 'paper.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_db")
    )
    ledger = Ledger(uri)
    arms = [_arm("champion", 0.0, 40, 1, days=30), _arm("challenger", 0.001, 60, 2, days=30)]
    session = ledger.record(arms, "2024-01-01", None, {"decision": "keep"})
    trades = ledger.read("trades", session)
    assert trades.groupby("arm").size().to_dict() == {"challenger": 60, "champion": 40}
    assert len(ledger.read("equity", session)) == 2 * 30 * 24

    broken = _arm("challenger", 0.001, 60, 2, days=30)
    broken.trades["return"] = broken.trades["return"].astype(object)
    broken.trades.loc[10, "return"] = "not a number"  # fails inside the transaction
    with pytest.raises(ValueError):
        ledger.record([arms[0], broken], "2024-02-01", None, {"decision": "keep"})
    with ledger.engine.connect() as conn:
        sessions = conn.execute(sa.select(sa.func.count()).select_from(ledger.sessions)).scalar()
        rows = conn.execute(sa.select(sa.func.count()).select_from(ledger.trades)).scalar()
    assert (sessions, rows) == (1, 100)  # nothing of the failed session was kept


def test_paper_refuses_to_judge_a_model_on_its_training_bars(finished_run, layout, tmp_path):
    with pytest.raises(ValueError, match="bars it trained on"):
        paper_ab(
            finished_run,
            finished_run,
            layout.root,
            "2024-06-01",
            None,
            f"sqlite:///{tmp_path}/p.db",
        )
