"""`edgecraft` commands: validate, download, features. Each calls one pipeline function."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgecraft.core.errors import ConfigError, DataError
from edgecraft.pipeline.checks import validate_paths
from edgecraft.pipeline.config import load_run_config
from edgecraft.pipeline.download import download as download_flow
from edgecraft.pipeline.experiment import backtest_run, run_experiment
from edgecraft.pipeline.features import build_features, load_features_config
from edgecraft.pipeline.live import open_service, start_poller
from edgecraft.serving.app import create_app

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Crypto market data to leak-free features and risk-controlled signals.",
)
out_console = Console()
err_console = Console(stderr=True)

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", envvar="EDGECRAFT_DATA", help="Data folder laid out like ../shared/data."
    ),
]


def _fail(exc: Exception) -> typer.Exit:
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


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to check.")],
    timeframe: Annotated[str | None, typer.Option(help="Bar size when the name lacks it.")] = None,
    max_lines: Annotated[int, typer.Option(help="Problem lines shown per file.")] = 50,
    show_gaps: Annotated[bool, typer.Option(help="List every gap, not just the count.")] = False,
) -> None:
    """Check data files; exit 1 with one line per problem (file, row, what is wrong)."""
    reports = validate_paths(paths, timeframe)
    if not reports:
        err_console.print("no data files found under the given paths")
        raise typer.Exit(1)
    bad = 0
    for report in reports:
        gaps = [n for n in report.notes if n.startswith("gap:")]
        others = [n for n in report.notes if not n.startswith("gap:")]
        if report.ok:
            extra = f", {len(gaps)} gap(s)" if gaps else ""
            out_console.print(
                f"ok   {report.file} ({report.kind}, {report.rows} rows{extra})",
                highlight=False,
                soft_wrap=True,
            )
        else:
            bad += 1
            for problem in report.problems[:max_lines]:
                out_console.print(f"FAIL {problem}", highlight=False, soft_wrap=True)
            if len(report.problems) > max_lines:
                out_console.print(
                    f"FAIL {report.file}: ... and {len(report.problems) - max_lines} "
                    "more problem(s)",
                    highlight=False,
                )
        for note in (gaps if show_gaps else []) + others:
            out_console.print(f"     {report.file}: {note}", highlight=False, soft_wrap=True)
    out_console.print(f"{len(reports) - bad} of {len(reports)} file(s) valid")
    if bad:
        raise typer.Exit(1)


@app.command()
def features(
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the feature Parquet files.")] = Path("out"),
    symbols: Annotated[
        list[str] | None,
        typer.Option(
            "--symbol", "-s", help="Pairs to build (default: every pair in the data folder)."
        ),
    ] = None,
    market: Annotated[str, typer.Option(help="spot or perp.")] = "spot",
    config: Annotated[
        Path | None, typer.Option(help="YAML file with FeaturesConfig fields.")
    ] = None,
) -> None:
    """Build the feature frame of every pair and write it as Parquet."""
    try:
        settings = load_features_config(config)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress:
            task = progress.add_task("loading bars", total=None)
            results = build_features(
                data,
                settings,
                out,
                symbols,
                market,
                lambda s, done, total: progress.update(
                    task, completed=done, total=total, description=s
                ),
            )
    except (DataError, ConfigError) as exc:
        raise _fail(exc) from exc
    total = sum(r.rows for r in results)
    folder = results[0].path.parent if results and results[0].path else out
    out_console.print(
        f"wrote {len(results)} symbol(s), {total} rows x "
        f"{len(settings.build().columns)} features to {folder}",
        highlight=False,
    )


@app.command()
def download(
    symbols: Annotated[list[str], typer.Option("--symbol", "-s", help="Pairs, e.g. BTC/USDT.")],
    data: Annotated[Path, typer.Option(envvar="EDGECRAFT_DATA", help="Data folder to fill.")],
    timeframe: Annotated[str, typer.Option(help="Bar size.")] = "1h",
    market: Annotated[str, typer.Option(help="spot or perp.")] = "spot",
    since: Annotated[str, typer.Option(help="First bar (UTC) when the folder has none.")] = (
        "2018-01-01"
    ),
    funding: Annotated[bool, typer.Option(help="Also fetch perpetual funding rates.")] = False,
    exchange: Annotated[str, typer.Option(help="CCXT exchange id.")] = "binance",
    api_base: Annotated[
        str | None, typer.Option(help="Send REST calls to this base URL instead (mirror or proxy).")
    ] = None,
) -> None:
    """Backfill closed bars from the exchange, resuming from the last stored bar."""
    try:
        results = download_flow(
            data, symbols, timeframe, market, since, funding, exchange, api_base
        )
    except (DataError, ConfigError) as exc:
        raise _fail(exc) from exc
    for r in results:
        extra = f", {r.funding_added} funding rate(s)" if r.funding_added is not None else ""
        out_console.print(
            f"{r.symbol}: {r.bars_added} new {timeframe} bar(s){extra}", highlight=False
        )


def _progress_bar():
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )


def _with_progress(flow, *args) -> Path:
    """Run a pipeline flow that reports (description, done, total) under a progress bar; a data
    or config error ends the command with exit 1 and one clear line."""
    try:
        with _progress_bar() as progress:
            task = progress.add_task("loading bars", total=None)

            def report(description: str, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total, description=description)

            return flow(*args, report)
    except (DataError, ConfigError, ValueError) as exc:
        raise _fail(exc) from exc


@app.command()
def run(
    config: Annotated[Path | None, typer.Option(help="YAML RunConfig (default: built-in).")] = None,
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Folder that receives the run folder.")] = Path(
        "artifacts"
    ),
) -> None:
    """Train with purged walk-forward, emit signals, measure them; write a run folder."""
    try:
        settings = load_run_config(config)
    except ConfigError as exc:
        raise _fail(exc) from exc
    folder = _with_progress(run_experiment, settings, data, out)
    out_console.print(f"run folder: {folder}", highlight=False, soft_wrap=True)
    _print_metrics(folder)


@app.command()
def backtest(
    run_dir: Annotated[Path, typer.Option("--run", help="A finished run folder.")],
    start: Annotated[str, typer.Option(help="First bar (UTC) to score.")],
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the backtest folder.")] = Path("artifacts"),
) -> None:
    """Apply a finished run's saved models, unchanged, to bars from --start on."""
    folder = _with_progress(backtest_run, run_dir, data, start, out)
    out_console.print(f"backtest folder: {folder}", highlight=False, soft_wrap=True)
    _print_metrics(folder)


@app.command()
def serve(
    run_dir: Annotated[Path, typer.Option("--run", help="A finished run folder.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    redis_url: Annotated[
        str | None, typer.Option(envvar="REDIS_URL", help="Shared state (redis://...).")
    ] = None,
    data: DataOption = None,
    warmup_bars: Annotated[int, typer.Option(help="Bars replayed from --data at start.")] = 0,
    poll: Annotated[float, typer.Option(help="Seconds between CCXT polls (0: off).")] = 0.0,
    exchange: Annotated[str, typer.Option(help="CCXT exchange id for --poll.")] = "binance",
) -> None:
    """Serve the run's signals over HTTP (POST /bars needs EDGECRAFT_TOKEN; GET /docs)."""
    try:
        service = open_service(run_dir, redis_url, data, warmup_bars)
    except (DataError, ConfigError, ValueError) as exc:
        raise _fail(exc) from exc
    stop = start_poller(service, exchange, poll) if poll > 0 else None
    try:
        uvicorn.run(create_app(service), host=host, port=port, log_level="warning")
    finally:
        if stop is not None:
            stop.set()


def _print_metrics(folder: Path) -> None:
    metrics = json.loads((folder / "metrics.json").read_text())["horizons"]
    keys = ["rank_ic", "cross_sectional_rank_ic", "ir", "profit_factor", "calmar", "dsr", "signals"]
    out_console.print("horizon  " + "  ".join(f"{k:>12.12}" for k in keys), highlight=False)
    for horizon, m in metrics.items():
        cells = [f"{m[k]:12.4f}" if isinstance(m[k], float) else f"{m[k]!s:>12}" for k in keys]
        out_console.print(f"{horizon:<8} " + "  ".join(cells), highlight=False)


if __name__ == "__main__":
    app()
