"""Provider clients against local servers answering in each API's documented format: pages, rate
limits (Retry-After), server errors, bad keys, empty pages, and what gets stored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.core.errors import ConfigError
from edgecraft.data.external import ExternalSources, read_channel
from edgecraft.data.providers import record
from edgecraft.data.providers.http import Backoff, ProviderError
from edgecraft.data.providers.onchain import CoinMetrics, CryptoQuant, WhaleAlert
from edgecraft.data.providers.social import CryptoPanic, LunarCrush, NewsScorer
from tests.replay_providers import ProviderReplay

FAST = {"backoff": Backoff(attempts=4, first_s=0.01), "timeout_s": 2.0}


def _client(waits: list[float]) -> dict:
    return {**FAST, "sleep": waits.append}


@pytest.fixture(scope="module")
def eth_metrics(layout):
    """Real Coin Metrics ETH rows, 2020-01-01..2020-03-31, as the v4 API sends them (strings)."""
    frame = pd.read_parquet(layout.root / "onchain" / "coinmetrics_eth_daily.parquet")
    frame = frame[(frame["date"] >= "2020-01-01") & (frame["date"] <= "2020-03-31")]
    return frame.reset_index(drop=True)


def _coinmetrics_route(frame: pd.DataFrame, base: list[str]):
    def route(query, headers):
        metrics = query["metrics"].split(",")
        size = int(query.get("page_size", 100))
        start = int(query.get("page", 0))
        rows = [
            {
                "asset": "eth",
                "time": f"{r['date']:%Y-%m-%dT%H:%M:%S}.000000000Z",
                **{m: str(r[m]) for m in metrics if m in frame},
            }
            for _, r in frame.iloc[start * size : (start + 1) * size].iterrows()
        ]
        body: dict = {"data": rows}
        if (start + 1) * size < len(frame):
            body["next_page_url"] = (
                f"{base[0]}/v4/timeseries/asset-metrics?metrics={query['metrics']}"
                f"&page_size={size}&page={start + 1}"
            )
        return 200, body

    return route


def test_coinmetrics_pages_retries_and_stores_real_network_metrics(tmp_path, eth_metrics):
    base: list[str] = []
    routes = {"/v4/timeseries/asset-metrics": _coinmetrics_route(eth_metrics, base)}
    waits: list[float] = []
    with ProviderReplay(routes) as server:
        base.append(server.url)
        server.faults = [("/v4/timeseries", "429"), ("/v4/timeseries", "500")]
        client = CoinMetrics(f"{server.url}/v4", page_size=30, **_client(waits))  # 4 pages
        counts = record(client, tmp_path, "ETH", pd.Timestamp("2020-01-01"), "2020-03-31")
    assert waits[0] == 2.0  # the server's Retry-After, then an exponential wait for the 500
    assert len(waits) == 2
    pages = [q for p, q in server.requests if p == "/v4/timeseries/asset-metrics"]
    assert len(pages) >= 5
    assert counts["chain_active"] == len(eth_metrics)
    stored = read_channel(tmp_path / "channels" / "chain_active" / "ETH.parquet")
    np.testing.assert_allclose(stored.to_numpy(), np.log(eth_metrics["AdrActCnt"].to_numpy()))
    assert "chain_mvrv" not in counts  # ETH's archive has no MVRV: nothing invented


def test_recorded_channel_extends_the_bundled_history(tmp_path, layout):
    """A recorded table and the bundled archive merge; the recording wins where both speak."""
    for sub in ("onchain", "market"):
        (tmp_path / sub).symlink_to(layout.root / sub)
    later = pd.Series([13.5, 13.6], index=pd.to_datetime(["2020-07-27", "2020-07-28"], utc=True))
    from edgecraft.data.external import write_channel

    write_channel(tmp_path, "chain_active", "ETH", later)
    series = ExternalSources(tmp_path).series("chain_active", "ETH")
    assert series.index[0] == pd.Timestamp("2017-01-01", tz="UTC")
    assert series.loc["2020-07-27"].item() == 13.5 and series.index[-1].day == 28


def test_cryptoquant_needs_its_key_and_names_it_when_refused(monkeypatch):
    monkeypatch.delenv("CRYPTOQUANT_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="CRYPTOQUANT_API_KEY"):
        CryptoQuant("http://127.0.0.1:9")
    monkeypatch.setenv("CRYPTOQUANT_API_KEY", "wrong")
    routes = {
        "/v1/btc/exchange-flows/netflow": lambda q, h: (
            401,
            {"status": {"code": 401, "message": "unauthorized"}},
        )
    }
    with ProviderReplay(routes) as server:
        client = CryptoQuant(f"{server.url}/v1", **FAST)
        with pytest.raises(ProviderError, match="401.*CRYPTOQUANT_API_KEY"):
            client.fetch("BTC", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-10"))


def test_cryptoquant_pages_by_date_until_an_empty_page(monkeypatch):
    monkeypatch.setenv("CRYPTOQUANT_API_KEY", "secret")
    days = pd.date_range("2024-01-01", "2024-01-10", freq="D")

    def route(query, headers):
        assert headers["authorization"] == "Bearer secret"
        start = pd.Timestamp(query["from"])
        rows = [
            {"date": f"{d:%Y-%m-%d}", "netflow_total": float(i) - 4.5}
            for i, d in enumerate(days)
            if d >= start
        ][: int(query["limit"])]
        return 200, {"status": {"code": 200, "message": "success"}, "result": {"data": rows}}

    with ProviderReplay({"/v1/btc/exchange-flows/netflow": route}) as server:
        client = CryptoQuant(f"{server.url}/v1", limit=4, **FAST)
        series = client.fetch("BTC", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-12"))[
            "exchange_netflow"
        ]
    assert len(series) == 10 and series.iloc[0] == -4.5 and series.iloc[-1] == 4.5
    assert len(server.requests) == 4  # 4 + 4 + 2 rows, then an empty page


def _whale_route(transactions: list[dict]):
    def route(query, headers):
        assert query["api_key"] == "whale"
        at = int(query.get("cursor", "0"))
        batch = transactions[at : at + 2]
        body = {"result": "success", "count": len(batch), "transactions": batch}
        if batch:
            body["cursor"] = str(at + 2)
        return 200, body

    return route


def test_whale_alert_follows_cursors_and_aggregates_complete_hours(monkeypatch):
    monkeypatch.setenv("WHALE_ALERT_API_KEY", "whale")
    t0 = int(pd.Timestamp("2024-03-01 10:00", tz="UTC").timestamp())

    def tx(minute: int, usd: float, src: str, dst: str, symbol: str = "btc") -> dict:
        return {
            "blockchain": "bitcoin",
            "symbol": symbol,
            "timestamp": t0 + minute * 60,
            "amount": usd / 60_000,
            "amount_usd": usd,
            "from": {"owner_type": src},
            "to": {"owner_type": dst},
        }

    transactions = [
        tx(5, 1e6, "unknown", "exchange"),  # into an exchange
        tx(20, 3e6, "exchange", "unknown"),  # out of one
        tx(30, 5e6, "unknown", "unknown", "eth"),  # another asset
        tx(70, 2e6, "unknown", "exchange"),  # the next hour
        tx(130, 9e6, "unknown", "exchange"),  # an hour still filling at `end`: not stored
    ]
    with ProviderReplay({"/v1/transactions": _whale_route(transactions)}) as server:
        client = WhaleAlert(f"{server.url}/v1", **FAST)
        out = client.fetch(
            "BTC", pd.Timestamp("2024-03-01 10:00"), pd.Timestamp("2024-03-01 12:30")
        )
    assert len(server.requests) == 4  # three pages of two, then an empty one
    volume, net = out["whale_volume"], out["whale_netflow"]
    assert list(volume.index.hour) == [10, 11]
    np.testing.assert_allclose(np.expm1(volume.to_numpy()), [4e6, 2e6])
    np.testing.assert_allclose(net.to_numpy(), [(1e6 - 3e6) / 4e6, 1.0])


def test_lunarcrush_reads_hourly_buckets_and_skips_the_open_one(monkeypatch):
    monkeypatch.setenv("LUNARCRUSH_API_KEY", "lc")
    start = pd.Timestamp("2024-05-01 00:00", tz="UTC")
    rows = [
        {
            "time": int((start + pd.Timedelta(hours=h)).timestamp()),
            "sentiment": 60 + h,
            "interactions": 1000 * (h + 1),
            "galaxy_score": 50,
        }
        for h in range(4)
    ]

    def route(query, headers):
        assert headers["authorization"] == "Bearer lc" and query["bucket"] == "hour"
        return 200, {"config": {"coin": "btc"}, "data": rows}

    with ProviderReplay({"/api4/public/coins/btc/time-series/v2": route}) as server:
        server.faults = [("/api4", "429")]
        waits: list[float] = []
        client = LunarCrush(f"{server.url}/api4", **_client(waits))
        out = client.fetch("BTC", start, start + pd.Timedelta("3h30min"))
    assert waits == [2.0]
    assert list(out["social_sentiment"]) == [60, 61, 62]  # 03:00 closes after `end`
    np.testing.assert_allclose(np.expm1(out["social_volume"].to_numpy()), [1000, 2000, 3000])


def test_lunarcrush_empty_data_is_no_rows_not_an_error(monkeypatch):
    monkeypatch.setenv("LUNARCRUSH_API_KEY", "lc")
    route = {"/api4/public/coins/sol/time-series/v2": lambda q, h: (200, {"data": []})}
    with ProviderReplay(route) as server:
        out = LunarCrush(f"{server.url}/api4", **FAST).fetch(
            "SOL", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")
        )
    assert all(len(s) == 0 for s in out.values())


def test_news_are_scored_offline_and_bucketed_by_publication_hour(monkeypatch):
    monkeypatch.setenv("CRYPTOPANIC_API_KEY", "cp")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    posts = [
        ("2024-06-01T09:50:00Z", "Bitcoin ETF inflows surge to record, a great win for bulls"),
        ("2024-06-01T09:10:00Z", "Exchange hacked, millions stolen; panic and fear spread"),
        ("2024-06-01T08:30:00Z", "Bitcoin rallies strongly as adoption grows"),
        ("2024-06-01T07:59:00Z", "Terrible crash wipes out traders, huge losses"),
        ("2024-05-31T23:00:00Z", "old news before the window"),
    ]
    pages: list[str] = []

    def route(query, headers):
        assert query.get("auth_token") == "cp"
        at = int(query.get("page", "1"))
        chunk = posts[(at - 1) * 2 : at * 2]
        body = {
            "results": [{"published_at": p, "title": t, "kind": "news"} for p, t in chunk],
            "next": f"{pages[0]}/api/developer/v2/posts/?auth_token=cp&page={at + 1}"
            if at * 2 < len(posts)
            else None,
        }
        return 200, body

    with ProviderReplay({"/api/developer/v2/posts/": route}) as server:
        pages.append(server.url)
        client = CryptoPanic(f"{server.url}/api", **FAST)
        out = client.fetch(
            "BTC", pd.Timestamp("2024-06-01 07:00"), pd.Timestamp("2024-06-01 10:00")
        )
    scorer = NewsScorer()
    assert scorer.score("a great win, prices surge") > 0.3 > -0.3 > scorer.score("crash, panic")
    sentiment, volume = out["news_sentiment"], out["news_volume"]
    assert list(np.expm1(volume.to_numpy()).round()) == [1, 1, 2]  # 07:00, 08:00, 09:00
    assert sentiment.loc["2024-06-01 07:00"] < 0 < sentiment.loc["2024-06-01 08:00"]
    assert len(server.requests) == 3  # stopped once a page reached back past `start`


def test_a_malformed_answer_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LUNARCRUSH_API_KEY", "lc")
    route = {"/api4/public/coins/btc/time-series/v2": lambda q, h: (200, {"error": "gone"})}
    with ProviderReplay(route) as server:
        with pytest.raises(ProviderError, match="unexpected response"):
            LunarCrush(f"{server.url}/api4", **FAST).fetch(
                "BTC", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")
            )


def test_persistent_rate_limit_gives_up_with_the_url(monkeypatch):
    monkeypatch.setenv("LUNARCRUSH_API_KEY", "lc")
    route = {"/api4/public/coins/btc/time-series/v2": lambda q, h: (200, {"data": []})}
    with ProviderReplay(route) as server:
        server.faults = [("/api4", "429")] * 4
        waits: list[float] = []
        client = LunarCrush(f"{server.url}/api4", **_client(waits))
        with pytest.raises(ProviderError, match="HTTP 429 after 4 tries"):
            client.fetch("BTC", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02"))
    assert waits == [2.0, 2.0, 2.0]


def test_cli_fetch_stores_channels_and_names_a_missing_key(tmp_path, eth_metrics, monkeypatch):
    from typer.testing import CliRunner

    from edgecraft.cli.main import app

    monkeypatch.delenv("WHALE_ALERT_API_KEY", raising=False)
    runner = CliRunner()
    refused = runner.invoke(
        app, ["fetch", "whalealert", "-a", "BTC", "--data", str(tmp_path), "--start", "2024-01-01"]
    )
    assert refused.exit_code == 1 and "WHALE_ALERT_API_KEY" in refused.output
    base: list[str] = []
    routes = {"/v4/timeseries/asset-metrics": _coinmetrics_route(eth_metrics, base)}
    with ProviderReplay(routes) as server:
        base.append(server.url)
        args = ["fetch", "coinmetrics", "-a", "eth", "--data", str(tmp_path)]
        args += ["--start", "2020-01-01", "--end", "2020-03-31", "--api-base", f"{server.url}/v4"]
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"chain_active {len(eth_metrics)}" in result.output
    assert (tmp_path / "channels" / "chain_transfer" / "ETH.parquet").exists()
