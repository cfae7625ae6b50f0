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

from edgecraft.features.inputs import INPUT_COLUMNS, EventCursor

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

    def __init__(
        self,
        feeds: list[Feed],
        now: Clock | None = None,
        passive: dict[str, EventCursor] | None = None,
    ) -> None:
        """`passive`: channels the features read that nothing here polls (their age shows on
        /health all the same, so a user sees when they go stale)."""
        self.feeds = feeds
        self.now = now or (lambda: pd.Timestamp.now(tz="UTC"))
        self.passive = dict(passive or {})

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
        out = {feed.name: {**feed.status(now), "polled": True} for feed in self.feeds}
        for name, cursor in sorted(self.passive.items()):
            status = Feed(name, cursor, lambda since: pd.Series(dtype=float)).status(now)
            out[name] = {**status, "polled": False}
        return out

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


def open_interest_feed(downloader, symbol: str, cursor: EventCursor) -> Feed:
    """A perpetual's open interest through CCXT (`Downloader.fetch_open_interest`)."""

    def fetch(since: pd.Timestamp | None) -> pd.Series:
        start = since if since is not None else pd.Timestamp.now(tz="UTC") - pd.Timedelta("2D")
        return downloader.fetch_open_interest(symbol, start)

    return Feed(f"open_interest:{symbol}", cursor, fetch)


def fear_greed_feed(client, cursor: EventCursor) -> Feed:
    """alternative.me's daily Fear & Greed (`FearGreedClient.latest`)."""
    return Feed("fear_greed", cursor, lambda since: client.latest(10))


LIVE_SOURCES = {"open_interest": open_interest_feed}  # channels with a live (CCXT) source


def service_feeds(service, downloader=None, fear_greed_client=None) -> list[Feed]:
    """A feed for every funding, Fear & Greed and open-interest cursor the service's features
    read (see `unpolled_channels` for the rest)."""
    stream = service.engine.features
    feeds = []
    if downloader is not None:
        feeds += [funding_feed(downloader, s, c) for s, c in sorted(stream.funding.items())]
        for symbol, cursors in sorted(stream.channels.items()):
            for at, cursor in cursors:
                source = LIVE_SOURCES.get(INPUT_COLUMNS[at])
                if source is not None:
                    feeds.append(source(downloader, symbol, cursor))
    if fear_greed_client is not None and stream.fear_greed is not None:
        feeds.append(fear_greed_feed(fear_greed_client, stream.fear_greed))
    return feeds


def unpolled_channels(service, feeds: list[Feed]) -> dict[str, EventCursor]:
    """The channel cursors the features read that no feed keeps fresh (on-chain, social,
    news, market-wide series: their providers need keys and are recorded offline)."""
    stream = service.engine.features
    polled = {id(feed.cursor) for feed in feeds}
    out = {}
    for symbol, cursors in stream.channels.items():
        for at, cursor in cursors:
            if id(cursor) not in polled:
                out[f"{INPUT_COLUMNS[at]}:{symbol}"] = cursor
    for at, cursor in stream.market:
        if id(cursor) not in polled:
            out[INPUT_COLUMNS[at]] = cursor
    return out


def start_inputs(service, poller: InputPoller, interval_s: float) -> threading.Event:
    """Poll the inputs in a background thread, reported in the service's `/health`; set the
    returned event to stop."""
    stop = threading.Event()
    service.inputs = poller
    threading.Thread(target=poller.run, args=(interval_s, stop), daemon=True).start()
    return stop
