"""`edgecraft monitor | paper | retrain | cycle`: drift, challengers, paper A/B and promotion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgecraft.cli.app import (
    DataOption,
    LedgerOption,
    TrackingOption,
    app,
    fail,
    out_console,
    with_progress,
)
from edgecraft.core.errors import ConfigError, DataError


@app.command()
def monitor(
    run_dir: Annotated[Path, typer.Option("--run", help="A finished run folder.")],
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the drift report.")] = Path("drift"),
    since: Annotated[
        str | None, typer.Option(help="First current bar (default: after the training data).")
    ] = None,
    recent: Annotated[str, typer.Option(help="Window judged for drift.")] = "7d",
    psi_warn: Annotated[float, typer.Option(help="PSI warn level.")] = 0.1,
    psi_alert: Annotated[float, typer.Option(help="PSI alert level.")] = 0.25,
) -> None:
    """Drift of a run's features, signals and IC since its training data; exit 2 on alert."""
    from edgecraft.operations.monitor import MonitorSettings, monitor_run

    settings = MonitorSettings(since=since, recent=recent, psi_warn=psi_warn, psi_alert=psi_alert)
    summary = with_progress(monitor_run, run_dir, data, out, settings)
    for check, level in summary["checks"].items():
        out_console.print(f"{level:<6} {check}", highlight=False)
    out_console.print(
        f"drift: {summary['status']} (report {out / 'drift_report.html'})", highlight=False
    )
    if summary["status"] == "alert":
        raise typer.Exit(2)


@app.command()
def paper(
    start: Annotated[str, typer.Option(help="First bar (UTC) both arms trade.")],
    model: Annotated[
        str | None, typer.Option(help="Registered model: its champion vs its challenger.")
    ] = None,
    champion: Annotated[Path | None, typer.Option(help="Champion run folder.")] = None,
    challenger: Annotated[Path | None, typer.Option(help="Challenger run folder.")] = None,
    end: Annotated[str | None, typer.Option(help="Last bar (UTC).")] = None,
    data: DataOption = None,
    ledger: LedgerOption = "sqlite:///paper.db",
    tracking_uri: TrackingOption = None,
) -> None:
    """Champion vs challenger on the same bars, recorded; the promotion decision with evidence
    (with --model: logged to MLflow, and a promotion moves the champion alias)."""
    from edgecraft.operations.flows import paper_flow
    from edgecraft.operations.paper import paper_ab

    try:
        if model is not None:
            evidence = paper_flow(model, data, start, end, tracking_uri, ledger)
        elif champion is not None and challenger is not None:
            evidence = paper_ab(champion, challenger, data, start, end, ledger)
        else:
            raise ConfigError("give --model NAME, or both --champion and --challenger")
    except (DataError, ConfigError, ValueError) as exc:
        raise fail(exc) from exc
    out_console.print(json.dumps(evidence, indent=1, default=str), highlight=False)


@app.command()
def retrain(
    config: Annotated[Path, typer.Option(help="YAML RunConfig of the model.")],
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Folder for run folders.")] = Path("artifacts"),
    end: Annotated[str | None, typer.Option(help="Last bar to train on.")] = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Train a challenger (Prefect flow, embedded) and register it under the alias challenger."""

    from edgecraft.operations.flows import retrain_flow

    try:
        result = retrain_flow(config, data, out, tracking_uri, end)
    except (DataError, ConfigError, ValueError) as exc:
        raise fail(exc) from exc
    out_console.print(json.dumps(result), highlight=False)


@app.command()
def cycle(
    config: Annotated[Path, typer.Option(help="YAML RunConfig of the model.")],
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Folder for drift reports and runs.")] = Path("ops"),
    now: Annotated[str | None, typer.Option(help="A replay's present (default: live).")] = None,
    paper_days: Annotated[int, typer.Option(help="Days a challenger trades on paper.")] = 30,
    ledger: LedgerOption = "sqlite:///paper.db",
    tracking_uri: TrackingOption = None,
    cron: Annotated[
        str | None, typer.Option(help="Serve the cycle on this cron schedule instead.")
    ] = None,
) -> None:
    """One step of monitor → retrain → paper A/B → promotion (--cron: on a schedule)."""

    from edgecraft.operations.flows import cycle_deployment, cycle_flow, serve_flows

    try:
        if cron is not None:
            deployment = cycle_deployment(config, data, out, cron, paper_days, tracking_uri, ledger)
            serve_flows(deployment)
            return
        steps = cycle_flow(config, data, out, now, paper_days, tracking_uri, ledger)
    except (DataError, ConfigError, ValueError) as exc:
        raise fail(exc) from exc
    out_console.print(json.dumps(steps, indent=1, default=str), highlight=False)
