"""MLflow tracking and registry against real stores: sqlite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.operations.tracking import (
    CHAMPION,
    alias_version,
    fetch_run,
    log_run,
    set_alias,
)
from edgecraft.research.artifacts import verify


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a database-backed store puts its artifacts
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mlflow.db'}"
    return request.getfixturevalue("postgres_db")


def test_a_run_is_logged_registered_and_served_back_by_alias(finished_run, store, tmp_path):
    tracked = log_run(finished_run, store)
    client = MlflowClient(store)
    logged = client.get_run(tracked.run_id).data
    metrics = json.loads((finished_run / "metrics.json").read_text())["horizons"]
    assert logged.metrics["24h.rank_ic"] == pytest.approx(metrics["24h"]["rank_ic"])
    assert logged.params["model.name"] == '"lgbm"'
    assert logged.tags["edgecraft.data_sha256"]
    windows = client.get_metric_history(tracked.run_id, "24h.window.rank_ic")
    assert len(windows) == len(metrics["24h"]["windows"])
    artifacts = {a.path for a in client.list_artifacts(tracked.run_id)}
    assert client.get_run(tracked.run_id).info.artifact_uri.startswith(
        (tmp_path / "mlartifacts").as_uri()
    )  # beside the sqlite file, or in the working directory (PostgreSQL)
    assert {"report.html", "onnx", "run", "fingerprint.json"} <= artifacts

    assert alias_version(tracked.model_name, CHAMPION, store) is None
    set_alias(tracked.model_name, CHAMPION, tracked.version, store)
    assert alias_version(tracked.model_name, CHAMPION, store) == tracked.version
    second = log_run(finished_run, store)
    assert int(second.version) == int(tracked.version) + 1
    local = fetch_run(tracked.model_name, CHAMPION, store, tmp_path / "served")
    assert verify(local).name == "small"  # every checksum of the run folder holds
    assert (local / "models" / "model_24h.onnx").read_bytes() == (
        finished_run / "models" / "model_24h.onnx"
    ).read_bytes()


def test_serve_needs_one_run_source_and_a_known_alias(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.delenv("EDGECRAFT_TOKEN", raising=False)
    tokenless = runner.invoke(app, ["serve", "--model", "edgecraft-small@champion"])
    assert tokenless.exit_code == 1 and "EDGECRAFT_TOKEN is not set" in tokenless.output
    assert "--insecure" in tokenless.output
    monkeypatch.setenv("EDGECRAFT_TOKEN", "a-secret-token")
    neither = runner.invoke(app, ["serve"])
    assert neither.exit_code == 1 and "exactly one of --run" in neither.output
    malformed = runner.invoke(app, ["serve", "--model", "edgecraft-small"])
    assert malformed.exit_code == 1 and "NAME@ALIAS" in malformed.output
    unknown = runner.invoke(
        app,
        [
            "serve",
            "--model",
            "edgecraft-nothing@champion",
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'empty.db'}",
        ],
    )
    assert (
        unknown.exit_code == 1 and "no model version edgecraft-nothing@champion" in unknown.output
    )
    assert not any("a-secret-token" in r.output for r in (neither, malformed, unknown))
