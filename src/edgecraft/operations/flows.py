"""Prefect flows: train, monitor, retrain, paper A/B, and the whole cycle.

They run embedded (a plain call; Prefect keeps its state in a local sqlite database, no server)
or on a schedule (`edgecraft cycle --cron`, which serves the cycle flow with a cron). Tasks that
touch the outside (data files, the MLflow store) retry on transient failures. Aliases move only
after everything before them succeeded, so a crash mid-retrain leaves `champion` untouched.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from prefect import flow, serve, task
from prefect.settings import (
    PREFECT_SERVER_ANALYTICS_ENABLED,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    temporary_settings,
)

from edgecraft.operations.monitor import MonitorSettings, monitor_run
from edgecraft.operations.paper import DEFAULT_LEDGER, PromotionRule, paper_ab
from edgecraft.operations.tracking import (
    CHALLENGER,
    CHAMPION,
    alias_version,
    clear_alias,
    fetch_run,
    log_decision,
    log_run,
    model_name,
    set_alias,
)
from edgecraft.research.artifacts import trained_to
from edgecraft.research.config import load_run_config
from edgecraft.research.experiment import run_experiment

RETRIES = {"retries": 2, "retry_delay_seconds": 2}


def embedded(name: str) -> Callable:
    """A Prefect flow called as a plain function, under the settings of the embedded server:
    no analytics, and time for its first start on 2 busy cores (Prefect's 20 s is not always
    enough). A setting the user has in the environment wins. The flow itself is `.flow`."""

    def wrap(fn: Callable) -> Callable:
        prefect_flow = flow(name=name)(fn)

        @functools.wraps(fn)
        def call(*args, **kwargs):
            updates = {
                setting: value
                for setting, value in (
                    (PREFECT_SERVER_ANALYTICS_ENABLED, False),
                    (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, 180),
                )
                if setting.name not in os.environ
            }
            with temporary_settings(updates=updates):
                return prefect_flow(*args, **kwargs)

        call.flow = prefect_flow
        return call

    return wrap


@task(**RETRIES)
def train_task(config: Path | None, data: Path | None, out: Path, overrides: dict) -> Path:
    return run_experiment(load_run_config(config, **overrides), data, out)


@task(**RETRIES)
def register_task(folder: Path, uri: str | None) -> tuple[str, str]:
    tracked = log_run(folder, uri)
    return tracked.model_name, tracked.version


@task(**RETRIES)
def fetch_task(name: str, alias: str, uri: str | None) -> Path:
    return fetch_run(name, alias, uri)


@embedded("edgecraft-train")
def train_flow(
    config: Path | None,
    data: Path | None,
    out: Path,
    uri: str | None = None,
    alias: str | None = CHAMPION,
    end: str | None = None,
) -> dict:
    """Train a run, log and register it; point `alias` at it (when given)."""
    folder = train_task(config, data, out, {"end": end})
    name, version = register_task(folder, uri)
    if alias:
        set_alias(name, alias, version, uri)
    return {"run": str(folder), "model": name, "version": version, "alias": alias}


@embedded("edgecraft-monitor")
def monitor_flow(
    name: str,
    data: Path | None,
    out: Path,
    uri: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict:
    """Drift of the champion since its training data (up to `until`, a replay's present)."""
    run = fetch_task(name, CHAMPION, uri)
    return monitor_run(run, data, out, MonitorSettings(since=since, until=until))


@embedded("edgecraft-retrain")
def retrain_flow(
    config: Path | None,
    data: Path | None,
    out: Path,
    uri: str | None = None,
    end: str | None = None,
) -> dict:
    """Train a challenger on the data up to `end` (default: the config's), register it as
    `challenger`. The champion alias is not touched."""
    return train_flow(config, data, out, uri, alias=CHALLENGER, end=end)


@embedded("edgecraft-paper")
def paper_flow(
    name: str,
    data: Path | None,
    start: str,
    end: str | None = None,
    uri: str | None = None,
    ledger: str = DEFAULT_LEDGER,
    rule: PromotionRule | None = None,
) -> dict:
    """Champion vs challenger on paper; log the decision; promote when the rule says so."""
    champion = fetch_task(name, CHAMPION, uri)
    challenger = fetch_task(name, CHALLENGER, uri)
    evidence = paper_ab(champion, challenger, data, start, end, ledger, rule or PromotionRule())
    evidence["champion_version"] = alias_version(name, CHAMPION, uri)
    evidence["challenger_version"] = alias_version(name, CHALLENGER, uri)
    evidence["mlflow_run"] = log_decision(f"edgecraft/{name}/promotion", evidence, uri)
    if evidence["decision"] == "promote":
        set_alias(name, "previous-champion", evidence["champion_version"], uri)
        set_alias(name, CHAMPION, evidence["challenger_version"], uri)
    return evidence


@embedded("edgecraft-cycle")
def cycle_flow(
    config: Path,
    data: Path | None,
    out: Path,
    now: str | None = None,
    paper_days: int = 30,
    uri: str | None = None,
    ledger: str = DEFAULT_LEDGER,
    rule: PromotionRule | None = None,
) -> dict:
    """One scheduled step of the loop: monitor the champion; with no challenger on trial, an
    alert trains one on the data up to `now`; a challenger that has traded on paper for
    `paper_days` of bars after its training data meets the champion in the A/B, and the decision
    (promote or keep) ends its trial.

    `now`: the present of a replay (None: live, the last bar in the data)."""
    name = model_name(load_run_config(config).name)
    drift = monitor_flow(name, data, out / "drift", uri, until=now)
    steps: dict = {"now": now, "drift": drift["status"], "drift_checks": drift["checks"]}
    if alias_version(name, CHALLENGER, uri) is None:
        if drift["status"] == "alert":
            steps["retrain"] = retrain_flow(config, data, out / "runs", uri, now)
        return steps
    challenger = fetch_task(name, CHALLENGER, uri)
    last_trained = trained_to(challenger)
    present = pd.Timestamp(now, tz="UTC") if now else pd.Timestamp(drift["current"][1])
    if present - last_trained < pd.Timedelta(days=paper_days):
        steps["paper"] = (
            f"challenger on trial since {last_trained}, decision after {paper_days} days"
        )
        return steps
    start = str(last_trained + pd.Timedelta("1h"))
    steps["paper"] = paper_flow(name, data, start, str(present), uri, ledger, rule)
    clear_alias(name, CHALLENGER, uri)  # its trial is over, whatever the decision
    return steps


def cycle_deployment(
    config: Path,
    data: Path | None,
    out: Path,
    cron: str,
    paper_days: int = 30,
    uri: str | None = None,
    ledger: str = DEFAULT_LEDGER,
):
    """The cycle as a Prefect deployment run on `cron` (`edgecraft cycle --cron` serves it)."""
    return cycle_flow.flow.to_deployment(
        name=f"edgecraft-cycle-{Path(config).stem}",
        cron=cron,
        parameters={
            "config": str(config),
            "data": None if data is None else str(data),
            "out": str(out),
            "paper_days": paper_days,
            "uri": uri,
            "ledger": ledger,
        },
    )


def serve_flows(*deployments) -> None:
    """Run deployments on their schedules until interrupted (Prefect's runner)."""
    serve(*deployments)
