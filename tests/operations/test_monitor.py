"""`edgecraft monitor` on real data: a drill shift in funding is flagged; the exit code says so."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.operations.monitor import MonitorSettings, monitor_run, shifted_funding_copy


@pytest.fixture(scope="module")
def drilled(layout, tmp_path_factory):
    return shifted_funding_copy(layout.root, tmp_path_factory.mktemp("drill"), "2024-08-01", 3.0)


def test_a_funding_shift_is_flagged_and_the_command_exits_2(finished_run, drilled, tmp_path):
    out = tmp_path / "drift"
    result = CliRunner().invoke(
        app, ["monitor", "--run", str(finished_run), "--data", str(drilled), "--out", str(out)]
    )
    summary = json.loads((out / "drift.json").read_text())
    assert summary["status"] == "alert" and result.exit_code == 2, result.output
    assert "funding_rate" in summary["psi_alert_features"]
    assert "funding_rate" in summary["shifted_features"]
    assert (out / "drift_report.html").stat().st_size > 10_000
    assert "feature_psi" in result.output


def test_the_shift_is_seen_within_a_day_and_not_before(finished_run, layout, drilled, tmp_path):
    day_after = MonitorSettings(since="2024-07-15", until="2024-08-01 23:00", recent="1d")
    flagged = monitor_run(finished_run, drilled, tmp_path / "a", day_after)
    assert "funding_rate" in flagged["shifted_features"]  # its first 24 bars
    before = MonitorSettings(since="2024-07-15", until="2024-07-31 23:00", recent="7d")
    quiet = monitor_run(finished_run, drilled, tmp_path / "b", before)
    assert "funding_rate" not in quiet["shifted_features"]
    same = monitor_run(finished_run, layout.root, tmp_path / "c", day_after)
    assert "funding_rate" not in same["shifted_features"]  # the untouched data: no alarm
