"""`edgecraft paper`: champion and challenger side by side on the same bars, then a decision.

Each arm scores the same replayed bar stream with its own saved models and trades its signals
through the *champion's* risk manager and cost model (so only the model differs), each with
its own paper account. Trades and daily equity go to a SQL ledger (sqlite by default,
PostgreSQL by URI) in one transaction per session. The promotion rule is statistical:

- at least `min_trades` closed trades in each arm;
- the paired block-bootstrap interval of Sharpe(challenger) - Sharpe(champion) excludes zero
  (its low end above 0);
- the challenger's deflated Sharpe ratio over the session passes `min_dsr`;
- the probability of backtest overfitting of the search that picked the challenger's config (when
  one did: `pbo` in its config) is at most `max_pbo`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from edgecraft.metrics.overfitting import deflated_sharpe, sharpe_difference_interval
from edgecraft.metrics.returns import daily_returns, sharpe
from edgecraft.research.artifacts import load_run, trained_to
from edgecraft.research.fitting import covered
from edgecraft.research.run import Progress, prepare, score_rows
from edgecraft.research.trading import simulate_trading, trade_horizon

DEFAULT_LEDGER = "sqlite:///paper.db"


@dataclass(frozen=True)
class PromotionRule:
    min_trades: int = 30
    confidence: float = 0.95
    resamples: int = 2000
    block_days: int = 5
    min_dsr: float = 0.95
    max_pbo: float = 0.5
    trials: int = 2  # champion and challenger were both tried on this stream


@dataclass
class Arm:
    name: str
    run: Path
    trades: pd.DataFrame
    equity: pd.DataFrame  # hourly net and gross equity
    metrics: dict
    pbo: float | None = None  # of the search that picked the arm's config, when one did

    @property
    def daily(self) -> pd.Series:
        return daily_returns(self.equity["net"])


def play(
    run: Path,
    rules_of: Path,
    data: Path | None,
    start: str,
    end: str | None,
    progress: Progress | None = None,
) -> Arm:
    """Replay bars from `start` to `end` through `run`'s models and `rules_of`'s risk and costs."""
    config, models = load_run(run)
    house = load_run(rules_of)[0] if rules_of != run else config
    config = config.model_copy(update={"risk": house.risk, "costs": house.costs})
    prepared = prepare(config.model_copy(update={"start": None, "end": None}), data, progress)
    X = prepared.X
    ts = X.index.get_level_values("ts")
    begin = pd.Timestamp(start, tz="UTC")
    keep = (ts >= begin) & (ts <= pd.Timestamp(end, tz="UTC") if end else ts >= begin)
    rows = covered(config, X, np.flatnonzero(keep))
    if not len(rows):
        raise ValueError(f"no bars from {start} to {end or 'the end'} to paper-trade")
    horizon = trade_horizon(config)
    scorer = models[horizon]
    frame = score_rows(config, prepared, scorer, rows, horizon)
    bars = prepared.bars[prepared.bars.index.get_level_values("ts") <= ts[rows].max()]
    outcome = simulate_trading(config, bars, X, frame, scorer, prepared.funding)
    return Arm("", run, outcome.trades, outcome.equity, outcome.metrics, config.pbo)


def decide(champion: Arm, challenger: Arm, rule: PromotionRule) -> dict:
    """The promotion decision and its evidence."""
    a, b = challenger.daily, champion.daily
    estimate, low, high = sharpe_difference_interval(
        a, b, rule.confidence, rule.resamples, rule.block_days
    )
    dsr = deflated_sharpe(a, rule.trials)
    checks = {
        "min_trades": bool(
            len(champion.trades) >= rule.min_trades and len(challenger.trades) >= rule.min_trades
        ),
        "sharpe_difference": bool(np.isfinite(low) and low > 0),
        "challenger_dsr": bool(np.isfinite(dsr) and dsr >= rule.min_dsr),
        # a config picked as the best of a search that overfits (PBO above max_pbo) is refused
        "challenger_pbo": challenger.pbo is None or challenger.pbo <= rule.max_pbo,
    }
    return {
        "decision": "promote" if all(checks.values()) else "keep",
        "checks": checks,
        "sharpe_champion": sharpe(b),
        "sharpe_challenger": sharpe(a),
        "sharpe_difference": estimate,
        "sharpe_difference_low": low,
        "sharpe_difference_high": high,
        "challenger_dsr": dsr,
        "challenger_pbo": challenger.pbo,
        "trades_champion": int(len(champion.trades)),
        "trades_challenger": int(len(challenger.trades)),
        "days": int(len(a)),
        "rule": asdict(rule),
    }


class Ledger:
    """Paper sessions, trades and equity in SQL; each session is written in one transaction."""

    def __init__(self, uri: str = DEFAULT_LEDGER) -> None:
        self.engine = sa.create_engine(uri)
        meta = sa.MetaData()
        self.sessions = sa.Table(
            "paper_sessions",
            meta,
            sa.Column("session", sa.String(36), primary_key=True),
            sa.Column("created", sa.DateTime(timezone=True)),
            sa.Column("champion", sa.Text),
            sa.Column("challenger", sa.Text),
            sa.Column("start", sa.Text),
            sa.Column("end", sa.Text),
            sa.Column("decision", sa.Text),
            sa.Column("evidence", sa.Text),
        )
        self.trades = sa.Table(
            "paper_trades",
            meta,
            sa.Column("session", sa.String(36), index=True),
            sa.Column("arm", sa.String(16)),
            sa.Column("symbol", sa.Text),
            sa.Column("entry_ts", sa.DateTime(timezone=True)),
            sa.Column("exit_ts", sa.DateTime(timezone=True)),
            sa.Column("direction", sa.Float),
            sa.Column("weight", sa.Float),
            sa.Column("return", sa.Float),
            sa.Column("reason", sa.Text),
        )
        self.equity = sa.Table(
            "paper_equity",
            meta,
            sa.Column("session", sa.String(36), index=True),
            sa.Column("arm", sa.String(16)),
            sa.Column("ts", sa.DateTime(timezone=True)),
            sa.Column("net", sa.Float),
            sa.Column("gross", sa.Float),
        )
        meta.create_all(self.engine)

    def record(self, arms: list[Arm], start: str, end: str | None, evidence: dict) -> str:
        session = str(uuid.uuid4())
        champion, challenger = arms
        with self.engine.begin() as conn:  # all of it or nothing
            conn.execute(
                self.sessions.insert(),
                [
                    {
                        "session": session,
                        "created": pd.Timestamp.now(tz="UTC").to_pydatetime(),
                        "champion": str(champion.run),
                        "challenger": str(challenger.run),
                        "start": start,
                        "end": end,
                        "decision": evidence["decision"],
                        "evidence": json.dumps(evidence, default=str),
                    }
                ],
            )
            for arm in arms:
                trades = arm.trades
                if len(trades):
                    conn.execute(
                        self.trades.insert(),
                        [
                            {
                                "session": session,
                                "arm": arm.name,
                                "symbol": str(t["symbol"]),
                                "entry_ts": pd.Timestamp(t["entry_ts"]).to_pydatetime(),
                                "exit_ts": pd.Timestamp(t["exit_ts"]).to_pydatetime(),
                                "direction": float(t["direction"]),
                                "weight": float(t["weight"]),
                                "return": float(t["return"]),
                                "reason": str(t["reason"]),
                            }
                            for t in trades.to_dict("records")
                        ],
                    )
                conn.execute(
                    self.equity.insert(),
                    [
                        {
                            "session": session,
                            "arm": arm.name,
                            "ts": ts.to_pydatetime(),
                            "net": float(row.net),
                            "gross": float(row.gross),
                        }
                        for ts, row in arm.equity.iterrows()
                    ],
                )
        return session

    def latest(self) -> dict | None:
        """The newest session (its row, evidence decoded), or None when there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(self.sessions).order_by(self.sessions.c.created.desc()).limit(1)
            ).first()
        if row is None:
            return None
        out = dict(row._mapping)
        out["evidence"] = json.loads(out["evidence"] or "{}")
        return out

    def read(self, table: str, session: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(
                sa.select(getattr(self, table)).where(getattr(self, table).c.session == session),
                conn,
            )


def paper_ab(
    champion: Path,
    challenger: Path,
    data: Path | None,
    start: str,
    end: str | None = None,
    ledger: str = DEFAULT_LEDGER,
    rule: PromotionRule = PromotionRule(),
    progress: Progress | None = None,
) -> dict:
    """Both arms on the same bars, recorded in the ledger; returns the decision with evidence."""
    for run in (champion, challenger):
        last_trained = trained_to(run)
        if pd.Timestamp(start, tz="UTC") <= last_trained:
            raise ValueError(
                f"paper trading from {start} would judge {run.name} on bars it trained on "
                f"(up to {last_trained}); start after it"
            )
    arms = []
    for name, run in (("champion", champion), ("challenger", challenger)):
        arm = play(run, champion, data, start, end, progress)
        arm.name = name
        arms.append(arm)
    evidence = decide(arms[0], arms[1], rule)
    evidence["session"] = Ledger(ledger).record(arms, start, end, evidence)
    evidence["arms"] = {a.name: {"run": str(a.run), **a.metrics["net"]} for a in arms}
    return evidence
