"""`edgecraft serve`: one run's live service behind the HTTP shell (API, SSE, dashboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgecraft.cli.app import DataOption, TrackingOption, app, err_console, fail
from edgecraft.core.errors import ConfigError, DataError


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
    paper: Annotated[
        bool,
        typer.Option(
            help="Fill the risk manager's orders with the backtest's simulator as bars arrive "
            "(a paper book, reported on /health): the decisions `edgecraft backtest` makes."
        ),
    ] = False,
    poll: Annotated[float, typer.Option(help="Seconds between CCXT polls (0: off).")] = 0.0,
    exchange: Annotated[str, typer.Option(help="CCXT exchange id for --poll.")] = "binance",
    poll_inputs: Annotated[
        float,
        typer.Option(
            help="Seconds between polls of the run's funding and open interest (CCXT) and "
            "Fear & Greed (alternative.me) inputs, reported on /health (0: off; the data "
            "folder's history only, which goes stale)."
        ),
    ] = 0.0,
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
    insecure: Annotated[
        bool,
        typer.Option(
            help="Open POST /bars to anyone when EDGECRAFT_TOKEN is not set (loopback tests "
            "only); without it the server refuses to start with no token."
        ),
    ] = False,
    private_reads: Annotated[
        bool, typer.Option(help="Reads (signals, features, stream) need the token too.")
    ] = False,
) -> None:
    """Serve the run's signals over HTTP: the dashboard at /dashboard, the API at /docs
    (POST /bars needs the bearer token in EDGECRAFT_TOKEN)."""
    import os

    import uvicorn

    from edgecraft.live.poller import start_poller
    from edgecraft.live.service import open_service
    from edgecraft.serving.app import TOKEN_ENV, create_app

    if not os.environ.get(TOKEN_ENV) and not insecure:
        raise fail(
            ConfigError(
                f"{TOKEN_ENV} is not set: POST /bars would be closed. Set it to a secret "
                "token (clients send 'Authorization: Bearer <token>'), or pass --insecure to "
                "accept bars from anyone"
            )
        )
    if private_reads and not os.environ.get(TOKEN_ENV):
        raise fail(ConfigError(f"--private-reads needs {TOKEN_ENV}"))
    try:
        run_dir = _resolve_run(run_dir, model, tracking_uri)
        service = open_service(run_dir, redis_url, data, warmup_bars, paper)
    except (DataError, ConfigError, ValueError) as exc:
        raise fail(exc) from exc
    stop = start_poller(service, exchange, poll) if poll > 0 else None
    inputs = _start_inputs(service, exchange, poll_inputs) if poll_inputs > 0 else None
    try:
        online = None
        if feast is not None:
            from edgecraft.operations.feature_store import FeatureRepo

            online = FeatureRepo(feast).online
        err_console.print(f"dashboard: http://{host}:{port}/dashboard", highlight=False)
        uvicorn.run(
            create_app(
                service,
                online,
                paper_ledger,
                drift,
                insecure=insecure,
                public_reads=not private_reads,
            ),
            host=host,
            port=port,
            log_level="warning",
        )
    finally:
        for event in (stop, inputs):
            if event is not None:
                event.set()


def _start_inputs(service, exchange: str, interval_s: float):
    """Keep the run's funding and Fear & Greed inputs fresh in a background thread."""
    from edgecraft.data.download import Downloader, make_exchange
    from edgecraft.data.providers.fear_greed import FearGreedClient
    from edgecraft.live.inputs import InputPoller, service_feeds, start_inputs, unpolled_channels

    feeds = service_feeds(service, Downloader(make_exchange(exchange), None), FearGreedClient())
    poller = InputPoller(feeds, passive=unpolled_channels(service, feeds))
    return start_inputs(service, poller, interval_s)


def _resolve_run(run_dir: Path | None, model: str | None, tracking_uri: str | None) -> Path:
    """--run, or the run folder a registered model alias (NAME@ALIAS) points at."""
    if (run_dir is None) == (model is None):
        raise ConfigError("give exactly one of --run DIR or --model NAME@ALIAS")
    if run_dir is not None:
        return run_dir
    from edgecraft.operations.tracking import fetch_run

    name, _, alias = model.partition("@")
    if not name or not alias:
        raise ConfigError(
            f"--model must be NAME@ALIAS (e.g. edgecraft-default@champion), was {model!r}"
        )
    return fetch_run(name, alias, tracking_uri)
