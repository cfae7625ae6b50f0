"""`edgecraft run | search | backtest`: purged walk-forward research on a data folder."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated

import typer

from edgecraft.cli.app import (
    DataOption,
    ExecutorOption,
    SchedulerOption,
    TrackingOption,
    WorkersOption,
    app,
    fail,
    out_console,
    print_metrics,
    with_progress,
)
from edgecraft.core.errors import ConfigError, DataError
from edgecraft.research.config import load_run_config


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
    from edgecraft.research.experiment import run_experiment

    settings, pool = _config_and_executor(config, executor, scheduler, workers)
    try:
        flow = functools.partial(run_experiment, executor=pool, resume=resume)
        folder = with_progress(flow, settings, data, out)
    finally:
        pool.close()
    out_console.print(f"run folder: {folder}", highlight=False, soft_wrap=True)
    print_metrics(folder)
    if track:
        from edgecraft.operations.tracking import log_run
        from edgecraft.operations.tracking import tracking_uri as tracking_uri_of

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
    from edgecraft.research.search import search as run_search

    settings, pool = _config_and_executor(config, executor, scheduler, workers)
    try:
        summary = run_search(settings, data, out, trials, pool, metric, storage)
    except (DataError, ConfigError, ValueError) as exc:
        raise fail(exc) from exc
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
    from edgecraft.research.experiment import backtest_run

    folder = with_progress(backtest_run, run_dir, data, start, out)
    out_console.print(f"backtest folder: {folder}", highlight=False, soft_wrap=True)
    print_metrics(folder)


def _config_and_executor(config: Path | None, executor: str, scheduler, workers: int):
    """The run config and the executor a command asked for; a bad one ends it with exit 1."""
    from edgecraft.research.executor import make_executor

    try:
        return load_run_config(config), make_executor(executor, scheduler, workers)
    except (ConfigError, ValueError) as exc:
        raise fail(exc) from exc


@app.command()
def headline(
    runs: Annotated[list[Path], typer.Argument(help="Finished run or backtest folders.")],
) -> None:
    """The headline table of finished runs (walk-forward signals and the trading backtest),
    and where each report is."""
    signal_keys = (
        "rank_ic",
        "cross_sectional_rank_ic",
        "ir",
        "profit_factor",
        "sharpe",
        "calmar",
        "max_drawdown",
        "turnover_per_bar",
        "cost_drag_annual",
        "dsr",
        "profit_factor_close_fill",
    )
    from edgecraft.research.report import BOOK_SHOWN

    trading_keys = ("profit_factor", "sharpe", "calmar", "max_drawdown")
    signal_rows, trading_rows, book_rows, overfitting_rows, reports = [], [], [], [], []
    for folder in runs:
        try:
            metrics = json.loads((folder / "metrics.json").read_text())
        except (OSError, ValueError) as exc:
            raise fail(ConfigError(f"{folder}: not a finished run ({exc})")) from exc
        for horizon, m in metrics["horizons"].items():
            signal_rows.append([folder.name, horizon, *(_cell(m.get(k)) for k in signal_keys)])
            for name, b in m.get("books", {}).items():
                cells = [_cell(b.get(k)) for k in BOOK_SHOWN]
                book_rows.append([folder.name, horizon, name, *cells])
            for name, b in m.get("cpcv", {}).get("books", {}).items():
                overfitting_rows.append(
                    [folder.name, f"CPCV {horizon} {name}"]
                    + [_cell(b.get(k)) for k in ("sharpe_mean", "sharpe_min")]
                    + [_cell(b.get("share_paths_profitable"))]
                )
        pbo = metrics.get("overfitting") or {}
        if pbo:
            overfitting_rows.append(
                [folder.name, f"PBO over {pbo.get('configurations')} configurations"]
                + [_cell(pbo.get("pbo")), "-", "-"]
            )
        book = metrics.get("backtest") or {}
        net = book.get("net", {})
        trading_rows.append(
            [folder.name, str(book.get("horizon", "-")), _cell(book.get("trades"))]
            + [_cell(net.get(k)) for k in trading_keys]
            + [
                _cell(book.get("turnover_per_bar")),
                _cell(book.get("gross", {}).get("profit_factor")),
            ]
        )
        reports.append(folder / "report.html")
    _table(
        "walk-forward signals (out of sample; signal portfolio traded at the next bar's open, "
        "net of costs; the last column fills at the signal bar's own close, for comparison)",
        ["run", "horizon", "rank IC", "XS rank IC", "IR", "PF net", "Sharpe net", "Calmar"]
        + ["max DD", "turnover/bar", "cost drag/yr", "DSR", "PF close-fill"],
        signal_rows,
    )
    _table(
        "trading backtest (risk manager, next-open fills, net of costs)",
        ["run", "horizon", "trades", "PF net", "Sharpe net", "Calmar", "max DD"]
        + ["turnover/bar", "PF gross"],
        trading_rows,
    )
    if book_rows:
        _table(
            "books (out of sample, next-open fills, net of fees, spread, impact and funding; "
            "signal_meta_rows: the primary alone on the meta book's rows)",
            ["run", "horizon", "book", *BOOK_SHOWN],
            book_rows,
        )
    if overfitting_rows:
        _table(
            "overfitting (CPCV paths: net Sharpe mean, min, share of paths with PF > 1; PBO)",
            ["run", "what", "Sharpe mean / PBO", "Sharpe min", "paths PF > 1"],
            overfitting_rows,
        )
    for report in reports:
        out_console.print(f"report: {report.resolve()}", highlight=False, soft_wrap=True)


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A plain aligned table (logs and pipes keep every column, unlike a terminal-wide box)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out_console.print(title, highlight=False, soft_wrap=True)
    for row in [header, *rows]:
        cells = [
            f"{c:<{w}}" if i < 2 else f"{c:>{w}}"
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out_console.print("  ".join(cells), highlight=False, soft_wrap=True)


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "-" if value is None else str(value)


@app.command()
def lookahead(
    config: Annotated[Path | None, typer.Option(help="YAML RunConfig (default: built-in).")] = None,
    data: DataOption = None,
    cuts: Annotated[int, typer.Option(min=1, help="Random cut times (seeded).")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the cut times.")] = 0,
    window: Annotated[
        str, typer.Option(help="Bars before each cut whose signals are compared.")
    ] = ("7d"),
) -> None:
    """Recompute features, labels and signals on the data cut at random times; list every
    column, label or signal that changes before a cut (exit 1 when anything does)."""
    from edgecraft.research.lookahead import lookahead_check

    try:
        settings = load_run_config(config)
    except ConfigError as exc:
        raise fail(exc) from exc
    check = functools.partial(lookahead_check, cuts=cuts, seed=seed, window=window)
    result = with_progress(lambda s, d, progress: check(s, d, progress=progress), settings, data)
    findings = result["findings"]
    for f in findings:
        out_console.print(
            f"LOOKAHEAD {f['kind']} {f['name']}: {f['rows']} row(s) at or before the cut "
            f"{f['cut']} change (first {f['first']})",
            highlight=False,
            soft_wrap=True,
        )
    checked = result["checked"]
    out_console.print(
        f"{len(findings)} finding(s): {checked['features']} feature columns, the labels and the "
        f"signals of {checked['symbols']} symbol(s) checked at cuts {', '.join(result['cuts'])}",
        highlight=False,
        soft_wrap=True,
    )
    if findings:
        raise typer.Exit(1)
