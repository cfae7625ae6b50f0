"""`edgecraft validate | download | fetch | record-book | features`: data in, checked, out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgecraft.cli.app import DataOption, app, err_console, fail, out_console, progress_bar
from edgecraft.core.errors import ConfigError, DataError, EdgecraftError


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to check.")],
    timeframe: Annotated[str | None, typer.Option(help="Bar size when the name lacks it.")] = None,
    max_lines: Annotated[int, typer.Option(help="Problem lines shown per file.")] = 50,
    show_gaps: Annotated[bool, typer.Option(help="List every gap, not just the count.")] = False,
) -> None:
    """Check data files; exit 1 with one line per problem (file, row, what is wrong)."""
    from edgecraft.data.validate import validate_paths

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
    from edgecraft.features.builder import build_features, load_features_config

    try:
        settings = load_features_config(config)
        with progress_bar() as progress:
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
        raise fail(exc) from exc
    total = sum(r.rows for r in results)
    folder = results[0].path.parent if results and results[0].path else out
    if feast is not None and results:
        from edgecraft.operations.feature_store import publish  # Feast loads slowly: only here

        try:
            publish(folder, feast, online)
        except ValueError as exc:
            raise fail(exc) from exc
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
    from edgecraft.data.backfill import download as download_flow

    try:
        results = download_flow(
            data, symbols, timeframe, market, since, funding, exchange, api_base, open_interest
        )
    except (DataError, ConfigError) as exc:
        raise fail(exc) from exc
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
    from edgecraft.data.backfill import fetch_external

    try:
        counts = fetch_external(data, provider, assets, start, end, api_base)
    except EdgecraftError as exc:  # bad data or config, or the provider refused
        raise fail(exc) from exc
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
    from edgecraft.data.backfill import record_books

    try:
        written = record_books(
            data, symbols, polls, interval, market, levels, exchange, api_base, stream, ws_base
        )
    except (DataError, ConfigError) as exc:
        raise fail(exc) from exc
    for path, rows in written.items():
        out_console.print(f"{path}: {rows} row(s)", highlight=False)
