"""An ensemble run served by a running `edgecraft serve` (uvicorn, real HTTP) decides, bar for
bar, as `edgecraft backtest` of the same run over the same bars."""

from __future__ import annotations

import uuid

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.live.service import LiveService
from edgecraft.research.artifacts import trained_to, verify
from edgecraft.serving.app import TOKEN_ENV, create_app
from tests.serving.conftest import running

START = pd.Timestamp("2024-07-01", tz="UTC")  # after the last bar the final model trained on
DAYS = 10


@pytest.fixture
def server(finished_ensemble_run, layout, monkeypatch):
    """A paper-trading server of the ensemble run, warmed on the bars before START."""
    monkeypatch.setenv(TOKEN_ENV, "test-token")
    service = LiveService(finished_ensemble_run, None, layout)
    service.redis.prefix = f"edgecraft-test:{uuid.uuid4().hex}"
    service.warm_up(layout, since="2024-01-01", until=str(START - pd.Timedelta("1h")))
    service.start_paper()
    with running(create_app(service)) as base:
        yield service, base


def test_a_served_ensemble_decides_as_its_backtest(finished_ensemble_run, layout, server, tmp_path):
    service, base = server
    run = finished_ensemble_run
    assert trained_to(run) < START
    result = CliRunner().invoke(
        app,
        ["backtest", "--run", str(run), "--data", str(layout.root), "--start", str(START.date())]
        + ["--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    (folder,) = list(tmp_path.iterdir())
    expected = pd.read_parquet(folder / "decisions.parquet").set_index(["ts", "symbol"])

    config = verify(run)
    bars = layout.load_bars(config.market, "1h", config.symbols)
    ts = bars.index.get_level_values("ts")
    posted = bars[(ts >= START) & (ts < START + pd.Timedelta(days=DAYS))]
    headers = {"Authorization": "Bearer test-token"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for t, group in posted.groupby(level="ts", sort=True):
            body = [
                {"symbol": s, "ts": t.isoformat(), **{k: float(r[k]) for k in r.index}}
                for (_, s), r in group[["open", "high", "low", "close", "volume"]].iterrows()
            ]
            response = client.post("/bars", json={"bars": body})
            assert response.status_code == 200, response.text
        health = client.get("/health").json()
    assert health["horizon"] == "24h" and health["paper"] is not None

    last = posted.index.get_level_values("ts").max()
    compared = orders = sized = 0
    for symbol, records in service.recent_signals.items():
        for record in records:
            if pd.Timestamp(record["ts"]) < START:
                continue  # warm-up
            row = expected.loc[(pd.Timestamp(record["ts"]), symbol)]
            assert record["direction"] == row["direction"], record
            assert record["confidence"] == pytest.approx(row["confidence"], abs=1e-6)
            if record["direction"]:
                assert (record["target"], record["stop"]) == pytest.approx(
                    (row["target"], row["stop"]), rel=1e-6
                )
            decision = record["decision"]
            assert (decision["side"], decision["order_type"], decision["slices"]) == (
                row["side"],
                row["order_type"],
                row["slices"],
            )
            assert decision["target_weight"] == pytest.approx(row["target_weight"], abs=1e-6)
            compared += 1
            orders += decision["side"] != "none"
            sized += 0 < row["size"] < 1
    assert compared == len(posted)
    assert orders > 10 and sized > 10
    equity = pd.read_parquet(folder / "equity.parquet").set_index("ts")["net"]
    assert service.broker.equity == pytest.approx(float(equity.loc[last]), rel=1e-9)
    assert np.isfinite(service.broker.equity)
