"""Feast over edgecraft's feature files: point-in-time joins and online reads equal our frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.live.service import LiveService
from edgecraft.operations.feature_store import FeatureRepo, family_of, publish
from edgecraft.serving.app import create_app


@pytest.fixture(scope="module")
def feature_files(layout, tmp_path_factory):
    """`edgecraft features` output for two pairs, cut to its last 30 days (Feast's file store
    reads every row on each join; the full history only makes the test slow)."""
    out = tmp_path_factory.mktemp("features")
    result = CliRunner().invoke(
        app,
        [
            "features",
            "--data",
            str(layout.root),
            "--out",
            str(out),
            "-s",
            "BTC/USDT",
            "-s",
            "ETH/USDT",
        ],
    )
    assert result.exit_code == 0, result.output
    folder = out / "features_spot_1h"
    for path in folder.glob("*.parquet"):
        frame = pd.read_parquet(path)
        frame[frame["ts"] > frame["ts"].max() - pd.Timedelta("30D")].to_parquet(path, index=False)
    own = pd.concat(pd.read_parquet(p) for p in folder.glob("*.parquet"))
    return folder, own.set_index(["ts", "symbol"]).sort_index()


@pytest.mark.parametrize("online", ["sqlite", "redis://127.0.0.1:6379/13"])
def test_point_in_time_join_and_online_values_equal_our_features(feature_files, tmp_path, online):
    folder, own = feature_files
    if online.startswith("redis"):
        redis.Redis(db=13).flushdb()
    repo = publish(folder, tmp_path / "repo", online, window="2d")
    assert {name.split(":")[0] for name in repo.features()} == {family_of(c) for c in own.columns}

    # entity rows at exact bar closes, and between closes (the join takes the newest at or before)
    sample = own.sample(150, random_state=0).reset_index()[["ts", "symbol"]]
    between = sample.assign(ts=sample["ts"] + pd.Timedelta("30min"))
    for entities in (sample, between):
        joined = repo.historical(entities)
        keys = list(zip(sample["ts"], sample["symbol"], strict=True))
        expected = own.loc[keys, joined.columns].sort_index()
        np.testing.assert_array_equal(joined.to_numpy(float), expected.to_numpy(float))

    online_rows = repo.online(["BTC/USDT", "ETH/USDT"])
    last = own.groupby(level="symbol").tail(1).droplevel("ts").loc[online_rows.index]
    np.testing.assert_array_equal(online_rows[last.columns].to_numpy(float), last.to_numpy(float))


def test_bad_online_store_is_refused(tmp_path, feature_files):
    with pytest.raises(ValueError, match="online store"):
        FeatureRepo(tmp_path).write(feature_files[0], "memcached://x")


def test_the_server_reads_online_features(feature_files, finished_run, layout, tmp_path):
    folder, own = feature_files
    repo = publish(folder, tmp_path / "repo", "sqlite", window="2d")
    client = TestClient(create_app(LiveService(finished_run, None, layout), repo.online))
    body = client.get("/features/BTC/USDT").json()
    last = own.xs("BTC/USDT", level="symbol").iloc[-1]
    assert body["symbol"] == "BTC/USDT"
    assert {k: v for k, v in body["features"].items() if v is not None} == {
        k: float(v) for k, v in last.items() if pd.notna(v)
    }
    assert client.get("/features/NOPE/USDT").status_code == 404
    bare = TestClient(create_app(LiveService(finished_run, None, layout)))
    assert "--feast" in bare.get("/features/BTC/USDT").json()["detail"]
