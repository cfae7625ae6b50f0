"""Pollers that keep a live service fed while it runs: closed candles through CCXT."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pandas as pd

from edgecraft.core.contracts import Bar
from edgecraft.core.timeframes import timeframe_seconds
from edgecraft.data.download import Downloader, make_exchange
from edgecraft.live.service import LiveService

log = logging.getLogger(__name__)


class Poller:
    """Pulls closed candles through CCXT for users online and feeds them to a LiveService."""

    def __init__(
        self,
        service: LiveService,
        downloader: Downloader,
        now: Callable[[], pd.Timestamp] = lambda: pd.Timestamp.now(tz="UTC"),
        first: pd.Timestamp | None = None,
    ) -> None:
        self.service = service
        self.downloader = downloader
        self.now = now
        self.first = first  # where a symbol with no state starts
        config = service.config
        self.symbols = sorted(set(config.symbols) | set(config.features.references))

    def poll_once(self) -> int:
        """Fetch every bar closed since each symbol's last one; ingest them a ts at a time."""
        config = self.service.config
        timeframe = config.features.base_timeframe
        step = pd.Timedelta(seconds=timeframe_seconds(timeframe))
        now = self.now()
        rows = []
        for symbol in self.symbols:
            last = self.service.engine.features.symbol_stream(symbol).last_ts
            start = pd.Timestamp(last, tz="UTC") if last > 0 else (self.first or now - 500 * step)
            page = self.downloader.fetch_klines(config.market, timeframe, symbol, start)
            page = page[page["timestamp"] + step <= now]  # closed bars only
            # the taker-buy volume the flow features read (NaN where the exchange gives none)
            taker = page.get("taker_buy_volume", pd.Series(float("nan"), index=page.index))
            rows += [
                Bar(t + step, symbol, o, h, lo, c, v, float(b))
                for t, o, h, lo, c, v, b in zip(
                    page["timestamp"],
                    page["open"],
                    page["high"],
                    page["low"],
                    page["close"],
                    page["volume"],
                    taker,
                    strict=True,
                )
            ]
        by_ts: dict[pd.Timestamp, list[Bar]] = {}
        for bar in rows:
            by_ts.setdefault(bar.ts, []).append(bar)
        for ts in sorted(by_ts):
            self.service.ingest(by_ts[ts])
        return len(rows)

    def run(self, interval_s: float, stop: threading.Event) -> None:
        """Poll until `stop` is set; a failed poll is logged and retried at the next interval."""
        while not stop.wait(interval_s):
            try:
                self.poll_once()
            except Exception as exc:  # keep serving: the next poll resumes from the last bar
                log.warning("poll failed: %s", exc)


def start_poller(service: LiveService, exchange: str, interval_s: float) -> threading.Event:
    """Poll `exchange` in a background thread; set the returned event to stop it."""
    stop = threading.Event()
    poller = Poller(service, Downloader(make_exchange(exchange), None))
    threading.Thread(target=poller.run, args=(interval_s, stop), daemon=True).start()
    return stop
