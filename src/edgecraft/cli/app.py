"""The `edgecraft` typer app, its consoles, shared options and helpers (groups register on it)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgecraft.core.errors import ConfigError, DataError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Crypto market data to leak-free features and risk-controlled signals.",
)

out_console = Console()

err_console = Console(stderr=True)

TrackingOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        envvar="MLFLOW_TRACKING_URI",
        help="MLflow store (default sqlite:///mlflow.db; postgresql://... works).",
    ),
]

ExecutorOption = Annotated[str, typer.Option(help="Where windows run: local or dask.")]

SchedulerOption = Annotated[
    str | None, typer.Option(help="Dask scheduler (tcp://host:8786); default: a LocalCluster.")
]

WorkersOption = Annotated[
    int, typer.Option(help="Worker processes (local) or LocalCluster workers (dask).")
]

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", envvar="EDGECRAFT_DATA", help="Data folder laid out like ../shared/data."
    ),
]

LedgerOption = Annotated[
    str, typer.Option(help="Paper ledger (SQLAlchemy URL: sqlite:///paper.db, postgresql://...).")
]


def fail(exc: Exception) -> typer.Exit:
    """Print one clear error line; the command exits 1."""
    err_console.print(f"error: {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )


def progress_bar():
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )


def with_progress(flow, *args) -> Path:
    """Run a research or operations flow that reports (description, done, total) under a
    progress bar; a data or config error ends the command with exit 1 and one clear line."""
    try:
        with progress_bar() as progress:
            task = progress.add_task("loading bars", total=None)

            def report(description: str, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total, description=description)

            return flow(*args, report)
    except (DataError, ConfigError, ValueError) as exc:
        raise fail(exc) from exc


def print_metrics(folder: Path) -> None:
    metrics = json.loads((folder / "metrics.json").read_text())["horizons"]
    keys = ["rank_ic", "cross_sectional_rank_ic", "ir", "profit_factor", "calmar", "dsr", "signals"]
    out_console.print("horizon  " + "  ".join(f"{k:>12.12}" for k in keys), highlight=False)
    for horizon, m in metrics.items():
        cells = [f"{m[k]:12.4f}" if isinstance(m[k], float) else f"{m[k]!s:>12}" for k in keys]
        out_console.print(f"{horizon:<8} " + "  ".join(cells), highlight=False)
