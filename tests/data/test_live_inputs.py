"""Live input feeds: alternative.me's answers read or refused, a failing feed kept apart."""

from __future__ import annotations

import pandas as pd
import pytest

from edgecraft.data.providers.fear_greed import FearGreedClient
from edgecraft.data.providers.http import Backoff, JsonClient, ProviderError
from edgecraft.features.inputs import EventCursor
from edgecraft.live.inputs import Feed, InputPoller
from tests.replay_providers import ProviderReplay

DAY = pd.Timestamp("2024-06-20", tz="UTC")


def _client(server) -> FearGreedClient:
    return FearGreedClient(client=JsonClient(server.url, backoff=Backoff(attempts=1)))


def test_fear_greed_answers_are_read_oldest_first_and_malformed_ones_refused():
    rows = [{"value": "61", "timestamp": str(int(DAY.timestamp()))}]
    rows.append({"value": "55", "timestamp": str(int((DAY - pd.Timedelta("1D")).timestamp()))})
    with ProviderReplay({"/fng/": lambda q, h: (200, {"data": rows})}) as server:
        series = _client(server).latest()
    assert series.index.tolist() == [DAY - pd.Timedelta("1D"), DAY]
    assert series.tolist() == [55.0, 61.0]
    with ProviderReplay({"/fng/": lambda q, h: (200, {"data": [{"value": "x"}]})}) as server:
        with pytest.raises(ProviderError, match="/fng/"):
            _client(server).latest()


def test_a_failing_feed_keeps_its_values_and_the_others_go_on():
    def broken(since):
        raise ConnectionError("down")

    good = EventCursor(pd.Series([1.0], index=[DAY]), max_age=pd.Timedelta("24h"))
    bad = EventCursor(pd.Series([2.0], index=[DAY]), max_age=pd.Timedelta("24h"))
    newer = pd.Series([1.5, 3.0], index=[DAY, DAY + pd.Timedelta("8h")])
    poller = InputPoller(
        [Feed("good", good, lambda since: newer), Feed("bad", bad, broken)],
        lambda: DAY + pd.Timedelta("9h"),
    )
    assert poller.poll_once() == {"good": 1}  # only the event after the newest held
    assert good.asof(int((DAY + pd.Timedelta("9h")).value))[0] == 3.0
    health = poller.health()
    assert health["bad"]["error"] == "ConnectionError: down" and health["bad"]["age_s"] == 9 * 3600
    assert health["good"]["error"] is None and health["good"]["stale"] is False
    later = InputPoller(poller.feeds, lambda: DAY + pd.Timedelta("25h")).health()
    assert later["bad"]["stale"] is True and later["good"]["stale"] is False


def test_channels_nobody_polls_still_show_their_age():
    from types import SimpleNamespace

    from edgecraft.features.inputs import LAYOUT
    from edgecraft.live.inputs import service_feeds, unpolled_channels

    oi = EventCursor(pd.Series([1.0], index=[DAY]), max_age=pd.Timedelta("3h"))
    chain = EventCursor(pd.Series([5.0], index=[DAY]), max_age=pd.Timedelta("3D"))
    dominance = EventCursor(pd.Series([0.1], index=[DAY]), max_age=pd.Timedelta("3D"))
    stream = SimpleNamespace(
        funding={},
        fear_greed=None,
        channels={"BTC/USDT": [(LAYOUT["open_interest"], oi), (LAYOUT["chain_active"], chain)]},
        market=[(LAYOUT["stable_dominance"], dominance)],
    )
    service = SimpleNamespace(engine=SimpleNamespace(features=stream))
    feeds = service_feeds(service, downloader=object())
    assert [f.name for f in feeds] == ["open_interest:BTC/USDT"]  # the one with a live source
    passive = unpolled_channels(service, feeds)
    assert set(passive) == {"chain_active:BTC/USDT", "stable_dominance"}
    health = InputPoller(feeds, lambda: DAY + pd.Timedelta("4D"), passive).health()
    assert health["chain_active:BTC/USDT"] == {
        **health["chain_active:BTC/USDT"],
        "polled": False,
        "stale": True,
        "age_s": 4 * 86400.0,
    }
    assert health["open_interest:BTC/USDT"]["polled"] is True
