"""`edgecraft` commands: validate, download, features. Each calls one pipeline function."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgecraft.core.errors import ConfigError, DataError, EdgecraftError
from edgecraft.pipeline.config import load_run_config

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
    from edgecraft.pipeline.checks import validate_paths

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
    feast: Annotated[
        Path | None,
        typer.Option(help="Feast repository to register the files in and materialize."),
    ] = None,
    online: Annotated[
        str, typer.Option(help="Feast online store: sqlite, or redis://host:port/db.")
    ] = "sqlite",
) -> None:
    """Build the feature frame of every pair and write it as Parquet (and publish to Feast)."""
    from edgecraft.pipeline.features import build_features, load_features_config

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
    if feast is not None and results:
        from edgecraft.pipeline.feature_store import publish  # Feast loads slowly: only here

        try:
            publish(folder, feast, online)
        except ValueError as exc:
            raise _fail(exc) from exc
        out_console.print(f"feast: registered and materialized in {feast}", highlight=False)
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
    open_interest: Annotated[
        bool, typer.Option(help="Also fetch perpetual open interest (last 30 days).")
    ] = False,
) -> None:
    """Backfill closed bars from the exchange, resuming from the last stored bar."""
    from edgecraft.pipeline.download import download as download_flow

    try:
        results = download_flow(
            data, symbols, timeframe, market, since, funding, exchange, api_base, open_interest
        )
    except (DataError, ConfigError) as exc:
        raise _fail(exc) from exc
    for r in results:
        extra = f", {r.funding_added} funding rate(s)" if r.funding_added is not None else ""
        if r.open_interest is not None:
            extra += f", {r.open_interest} open-interest stamp(s)"
        out_console.print(
            f"{r.symbol}: {r.bars_added} new {timeframe} bar(s){extra}", highlight=False
        )


@app.command()
def fetch(
    provider: Annotated[
        str,
        typer.Argument(help="coinmetrics, cryptoquant, whalealert, lunarcrush or cryptopanic."),
    ],
    assets: Annotated[list[str], typer.Option("--asset", "-a", help="Base assets, e.g. BTC.")],
    data: Annotated[Path, typer.Option(envvar="EDGECRAFT_DATA", help="Data folder to fill.")],
    start: Annotated[str, typer.Option(help="First stamp (UTC).")],
    end: Annotated[str | None, typer.Option(help="Last stamp (UTC); default now.")] = None,
    api_base: Annotated[str | None, typer.Option(help="Send calls to this base URL.")] = None,
) -> None:
    """Fetch on-chain, social or news series into the data folder's channels/ (keys from the
    environment: CRYPTOQUANT_API_KEY, WHALE_ALERT_API_KEY, LUNARCRUSH_API_KEY,
    CRYPTOPANIC_API_KEY; COINMETRICS_API_KEY optional)."""
    from edgecraft.pipeline.download import fetch_external

    try:
        counts = fetch_external(data, provider, assets, start, end, api_base)
    except EdgecraftError as exc:  # bad data or config, or the provider refused
        raise _fail(exc) from exc
    for asset, channels in counts.items():
        shown = ", ".join(f"{c} {n}" for c, n in channels.items()) or "nothing"
        out_console.print(f"{asset}: {shown}", highlight=False)


@app.command("record-book")
def record_book(
    symbols: Annotated[list[str], typer.Option("--symbol", "-s", help="Pairs, e.g. BTC/USDT.")],
    data: Annotated[Path, typer.Option(envvar="EDGECRAFT_DATA", help="Data folder to fill.")],
    polls: Annotated[
        int, typer.Option(min=1, help="Snapshots per symbol (book updates with --stream).")
    ] = 60,
    interval: Annotated[float, typer.Option(min=0, help="Seconds between snapshots.")] = 1.0,
    market: Annotated[str, typer.Option(help="spot or perp.")] = "spot",
    levels: Annotated[int, typer.Option(min=1, help="Book levels per side.")] = 20,
    exchange: Annotated[str, typer.Option(help="CCXT exchange id.")] = "binance",
    api_base: Annotated[str | None, typer.Option(help="Send REST calls here instead.")] = None,
    stream: Annotated[
        bool, typer.Option(help="Follow the websocket streams (CCXT Pro) instead of polling.")
    ] = False,
    ws_base: Annotated[str | None, typer.Option(help="Websocket base URL instead.")] = None,
) -> None:
    """Record top-N order-book snapshots and tick trades into the data folder's microstructure/."""
    from edgecraft.pipeline.download import record_books

    try:
        written = record_books(
            data, symbols, polls, interval, market, levels, exchange, api_base, stream, ws_base
        )
    except (DataError, ConfigError) as exc:
        raise _fail(exc) from exc
    for path, rows in written.items():
        out_console.print(f"{path}: {rows} row(s)", highlight=False)


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
    tracking_uri: TrackingOption = None,
    track: Annotated[bool, typer.Option(help="Log to MLflow and register a version.")] = True,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 1,
    resume: Annotated[
        Path | None, typer.Option(help="An interrupted run folder to finish.")
    ] = None,
) -> None:
    """Train with purged walk-forward, emit signals, measure them; write a run folder."""
    from edgecraft.pipeline.experiment import run_experiment

    settings, pool = _config_and_executor(config, executor, scheduler, workers)
    try:
        flow = functools.partial(run_experiment, executor=pool, resume=resume)
        folder = _with_progress(flow, settings, data, out)
    finally:
        pool.close()
    out_console.print(f"run folder: {folder}", highlight=False, soft_wrap=True)
    _print_metrics(folder)
    if track:
        from edgecraft.pipeline.tracking import log_run
        from edgecraft.pipeline.tracking import tracking_uri as tracking_uri_of

        tracked = log_run(folder, tracking_uri)
        out_console.print(
            f"mlflow: run {tracked.run_id}, registered {tracked.model_name} "
            f"version {tracked.version} ({tracking_uri_of(tracking_uri)})",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def search(
    config: Annotated[Path, typer.Option(help="YAML RunConfig whose model is tuned.")],
    trials: Annotated[int, typer.Option(help="Optuna trials (each a full walk-forward).")] = 20,
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Folder for search.json and best.yaml.")] = Path(
        "search"
    ),
    metric: Annotated[str, typer.Option(help="OOS metric to maximize.")] = (
        "cross_sectional_rank_ic"
    ),
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 1,
    storage: Annotated[
        str | None, typer.Option(help="Optuna storage URL (resume or share a study).")
    ] = None,
) -> None:
    """Tune the model with Optuna over purged walk-forwards; best.yaml counts every trial."""
    from edgecraft.pipeline.search import search as run_search

    settings, pool = _config_and_executor(config, executor, scheduler, workers)
    try:
        summary = run_search(settings, data, out, trials, pool, metric, storage)
    except (DataError, ConfigError, ValueError) as exc:
        raise _fail(exc) from exc
    finally:
        pool.close()
    best = summary["best"]
    out_console.print(
        f"best trial {best['number']}: {metric} {best['value']:.4f} {best['params']}; "
        f"{out / 'best.yaml'} counts {summary['trials_counted_in_dsr']} trials for the DSR",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def backtest(
    run_dir: Annotated[Path, typer.Option("--run", help="A finished run folder.")],
    start: Annotated[str, typer.Option(help="First bar (UTC) to score.")],
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the backtest folder.")] = Path("artifacts"),
) -> None:
    """Apply a finished run's saved models, unchanged, to bars from --start on."""
    from edgecraft.pipeline.experiment import backtest_run

    folder = _with_progress(backtest_run, run_dir, data, start, out)
    out_console.print(f"backtest folder: {folder}", highlight=False, soft_wrap=True)
    _print_metrics(folder)


@app.command()
def serve(
    run_dir: Annotated[Path | None, typer.Option("--run", help="A finished run folder.")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="A registered model by alias instead of --run: NAME@champion."),
    ] = None,
    tracking_uri: TrackingOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    redis_url: Annotated[
        str | None, typer.Option(envvar="REDIS_URL", help="Shared state (redis://...).")
    ] = None,
    data: DataOption = None,
    warmup_bars: Annotated[int, typer.Option(help="Bars replayed from --data at start.")] = 0,
    poll: Annotated[float, typer.Option(help="Seconds between CCXT polls (0: off).")] = 0.0,
    exchange: Annotated[str, typer.Option(help="CCXT exchange id for --poll.")] = "binance",
    feast: Annotated[
        Path | None, typer.Option(help="Feast repository for GET /features (online store).")
    ] = None,
    paper_ledger: Annotated[
        str | None,
        typer.Option(
            help="Paper ledger (SQLAlchemy URL) whose newest session the dashboard shows."
        ),
    ] = None,
    drift: Annotated[
        Path | None, typer.Option(help="Folder of `edgecraft monitor` reports for the dashboard.")
    ] = None,
) -> None:
    """Serve the run's signals over HTTP: the dashboard at /dashboard, the API at /docs
    (POST /bars needs EDGECRAFT_TOKEN)."""
    import uvicorn

    from edgecraft.pipeline.live import open_service, start_poller
    from edgecraft.serving.app import create_app

    try:
        run_dir = _resolve_run(run_dir, model, tracking_uri)
        service = open_service(run_dir, redis_url, data, warmup_bars)
    except (DataError, ConfigError, ValueError) as exc:
        raise _fail(exc) from exc
    stop = start_poller(service, exchange, poll) if poll > 0 else None
    try:
        online = None
        if feast is not None:
            from edgecraft.pipeline.feature_store import FeatureRepo

            online = FeatureRepo(feast).online
        err_console.print(f"dashboard: http://{host}:{port}/dashboard", highlight=False)
        uvicorn.run(
            create_app(service, online, paper_ledger, drift),
            host=host,
            port=port,
            log_level="warning",
        )
    finally:
        if stop is not None:
            stop.set()


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
    from edgecraft.pipeline.monitor import MonitorSettings, monitor_run

    settings = MonitorSettings(since=since, recent=recent, psi_warn=psi_warn, psi_alert=psi_alert)
    summary = _with_progress(monitor_run, run_dir, data, out, settings)
    for check, level in summary["checks"].items():
        out_console.print(f"{level:<6} {check}", highlight=False)
    out_console.print(
        f"drift: {summary['status']} (report {out / 'drift_report.html'})", highlight=False
    )
    if summary["status"] == "alert":
        raise typer.Exit(2)


LedgerOption = Annotated[
    str, typer.Option(help="Paper ledger (SQLAlchemy URL: sqlite:///paper.db, postgresql://...).")
]


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
    from edgecraft.pipeline.flows import paper_flow
    from edgecraft.pipeline.paper import paper_ab

    try:
        if model is not None:
            evidence = paper_flow(model, data, start, end, tracking_uri, ledger)
        elif champion is not None and challenger is not None:
            evidence = paper_ab(champion, challenger, data, start, end, ledger)
        else:
            raise ConfigError("give --model NAME, or both --champion and --challenger")
    except (DataError, ConfigError, ValueError) as exc:
        raise _fail(exc) from exc
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

    from edgecraft.pipeline.flows import retrain_flow

    try:
        result = retrain_flow(config, data, out, tracking_uri, end)
    except (DataError, ConfigError, ValueError) as exc:
        raise _fail(exc) from exc
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

    from edgecraft.pipeline.flows import cycle_deployment, cycle_flow, serve_flows

    try:
        if cron is not None:
            deployment = cycle_deployment(config, data, out, cron, paper_days, tracking_uri, ledger)
            serve_flows(deployment)
            return
        steps = cycle_flow(config, data, out, now, paper_days, tracking_uri, ledger)
    except (DataError, ConfigError, ValueError) as exc:
        raise _fail(exc) from exc
    out_console.print(json.dumps(steps, indent=1, default=str), highlight=False)


def _config_and_executor(config: Path | None, executor: str, scheduler, workers: int):
    """The run config and the executor a command asked for; a bad one ends it with exit 1."""
    from edgecraft.pipeline.executor import make_executor

    try:
        return load_run_config(config), make_executor(executor, scheduler, workers)
    except (ConfigError, ValueError) as exc:
        raise _fail(exc) from exc


def _resolve_run(run_dir: Path | None, model: str | None, tracking_uri: str | None) -> Path:
    """--run, or the run folder a registered model alias (NAME@ALIAS) points at."""
    if (run_dir is None) == (model is None):
        raise ConfigError("give exactly one of --run DIR or --model NAME@ALIAS")
    if run_dir is not None:
        return run_dir
    from edgecraft.pipeline.tracking import fetch_run

    name, _, alias = model.partition("@")
    if not name or not alias:
        raise ConfigError(
            f"--model must be NAME@ALIAS (e.g. edgecraft-default@champion), was {model!r}"
        )
    return fetch_run(name, alias, tracking_uri)


def _print_metrics(folder: Path) -> None:
    metrics = json.loads((folder / "metrics.json").read_text())["horizons"]
    keys = ["rank_ic", "cross_sectional_rank_ic", "ir", "profit_factor", "calmar", "dsr", "signals"]
    out_console.print("horizon  " + "  ".join(f"{k:>12.12}" for k in keys), highlight=False)
    for horizon, m in metrics.items():
        cells = [f"{m[k]:12.4f}" if isinstance(m[k], float) else f"{m[k]!s:>12}" for k in keys]
        out_console.print(f"{horizon:<8} " + "  ".join(cells), highlight=False)


if __name__ == "__main__":
    app()
