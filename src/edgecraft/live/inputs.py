"""Live inputs that stay fresh while the server runs.

The features read funding and Fear & Greed through cursors (`features.inputs.EventCursor`) that
apply the same publication lag and maximum age as in training; at start they hold the data
folder's history. A `Feed` keeps one cursor fresh from its source (funding through CCXT, Fear &
Greed from alternative.me), appending only events newer than the newest it holds; an
`InputPoller` polls every feed the served run reads and reports, for `/health`, each channel's
age and whether it is past its maximum (then the features read it as missing, as they would have
in training).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from edgecraft.features.inputs import EventCursor

log = logging.getLogger(__name__)
Clock = Callable[[], pd.Timestamp]


@dataclass
class Feed:
    """One channel: `fetch(since)` returns its events stamped at or after `since` (None: the
    newest few), as a Series of values by stamp."""

    name: str
    cursor: EventCursor
    fetch: Callable[[pd.Timestamp | None], pd.Series]
    error: str | None = None

    def poll(self) -> int:
        """Append the events newer than the cursor's newest; the number appended."""
        last = self.cursor.last_stamp_ns
        since = None if last is None else pd.Timestamp(last, tz="UTC")
        events = self.fetch(since).sort_index()
        stamps = pd.DatetimeIndex(events.index).as_unit("ns").asi8
        added = 0
        for stamp, value in zip(stamps, events.to_numpy(dtype=float), strict=True):
            if (last is None or stamp > last) and value == value:  # skip NaN
                self.cursor.append(int(stamp), float(value))
                last = int(stamp)
                added += 1
        return added

    def status(self, now: pd.Timestamp) -> dict:
        age = self.cursor.age_s(int(now.value))
        last = self.cursor.last_stamp_ns
        return {
            "last": None if last is None else pd.Timestamp(last, tz="UTC").isoformat(),
            "age_s": None if age is None else round(age, 1),
            "max_age_s": None if self.cursor.max_age_ns is None else self.cursor.max_age_ns / 1e9,
            "stale": self.cursor.stale(int(now.value)),
            "error": self.error,
        }


class InputPoller:
    """Polls every feed; a feed that fails keeps its last values (and says so) while the
    others go on."""

    def __init__(self, feeds: list[Feed], now: Clock | None = None) -> None:
        self.feeds = feeds
        self.now = now or (lambda: pd.Timestamp.now(tz="UTC"))

    def poll_once(self) -> dict[str, int]:
        added = {}
        for feed in self.feeds:
            try:
                added[feed.name] = feed.poll()
                feed.error = None
            except Exception as exc:  # a source down must not stop the others or the server
                feed.error = f"{type(exc).__name__}: {exc}"
                log.warning("input %s: poll failed: %s", feed.name, exc)
        return added

    def health(self) -> dict[str, dict]:
        now = self.now()
        return {feed.name: feed.status(now) for feed in self.feeds}

    def run(self, interval_s: float, stop: threading.Event) -> None:
        self.poll_once()
        while not stop.wait(interval_s):
            self.poll_once()


def funding_feed(downloader, symbol: str, cursor: EventCursor) -> Feed:
    """A perpetual's funding rates through CCXT (`Downloader.fetch_funding`)."""

    def fetch(since: pd.Timestamp | None) -> pd.Series:
        start = since if since is not None else pd.Timestamp.now(tz="UTC") - pd.Timedelta("3D")
        page = downloader.fetch_funding(symbol, start)
        return pd.Series(page["funding_rate"].to_numpy(), index=pd.DatetimeIndex(page["timestamp"]))

    return Feed(f"funding:{symbol}", cursor, fetch)


def fear_greed_feed(client, cursor: EventCursor) -> Feed:
    """alternative.me's daily Fear & Greed (`FearGreedClient.latest`)."""
    return Feed("fear_greed", cursor, lambda since: client.latest(10))


def service_feeds(service, downloader=None, fear_greed_client=None) -> list[Feed]:
    """A feed for every funding and Fear & Greed cursor the service's features read."""
    stream = service.engine.features
    feeds = []
    if downloader is not None:
        feeds += [funding_feed(downloader, s, c) for s, c in sorted(stream.funding.items())]
    if fear_greed_client is not None and stream.fear_greed is not None:
        feeds.append(fear_greed_feed(fear_greed_client, stream.fear_greed))
    return feeds


def start_inputs(service, poller: InputPoller, interval_s: float) -> threading.Event:
    """Poll the inputs in a background thread, reported in the service's `/health`; set the
    returned event to stop."""
    stop = threading.Event()
    service.inputs = poller
    threading.Thread(target=poller.run, args=(interval_s, stop), daemon=True).start()
    return stop
