"""The live dashboard in a real headless browser (Debian's Chromium driven by Playwright): it loads,
shows the run, the paper accounts and drift, follows the signal stream when a bar is posted, and
works from the keyboard. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn

from edgecraft.live.service import LiveService
from edgecraft.operations.monitor import MonitorSettings, monitor_run
from edgecraft.operations.paper import paper_ab
from edgecraft.research.plots import horizon_text
from edgecraft.serving.app import TOKEN_ENV, create_app
from edgecraft.serving.dashboard import drift_history

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CUTOFF = pd.Timestamp("2024-09-20 00:00", tz="UTC")
AUTH = {"Authorization": "Bearer dash-token"}
FIELDS = ("open", "high", "low", "close", "volume")


@pytest.fixture(scope="module")
def operations(finished_run, layout, tmp_path_factory):
    """Two real monitoring reports and one real paper session of the run (champion = itself,
    challenger = itself: the A/B machinery end to end on the months after its training data)."""
    root = tmp_path_factory.mktemp("ops")
    for until in ("2024-08-15 23:00", "2024-09-15 23:00"):
        settings = MonitorSettings(since="2024-07-15", until=until, recent="7d")
        monitor_run(finished_run, layout.root, root / "drift" / until[:10], settings)
    ledger = f"sqlite:///{root / 'paper.db'}"
    paper_ab(finished_run, finished_run, layout.root, "2024-07-15", "2024-09-15", ledger)
    return ledger, root / "drift"


@pytest.fixture(scope="module")
def server(finished_run, layout, operations):
    ledger, drift = operations
    service = LiveService(finished_run, None, layout)
    service.warm_up(layout, since=str(CUTOFF - pd.Timedelta("45D")), until=str(CUTOFF))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(service, None, ledger, drift)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", service
    server.should_exit = True
    thread.join(10)


def _next_bars(layout, symbols) -> list[dict]:
    bars = layout.load_bars("spot", "1h", symbols)
    part = bars[bars.index.get_level_values("ts") == CUTOFF + pd.Timedelta("1h")]
    return [
        {
            "symbol": s,
            "ts": t.isoformat(),
            **{k: float(r[k]) for k in ("open", "high", "low", "close", "volume")},
        }
        for (t, s), r in part.iterrows()
    ]


def test_dashboard_data_routes_answer_from_the_real_run(server, operations):
    base, service = server
    state = httpx.get(f"{base}/dashboard/state").json()
    assert state["run"]["run"] == service.run_id and state["symbols"]
    assert state["run"]["horizons"]["24h"]["rank_ic"] is not None
    chart = httpx.get(f"{base}/dashboard/chart/BTC/USDT").json()
    assert chart["data"][0]["type"] == "candlestick" and len(chart["data"][0]["x"]) == 200
    paper = httpx.get(f"{base}/dashboard/paper").json()
    assert paper["available"] and paper["decision"] in ("keep", "promote")
    assert {t["name"].split(" ")[0] for t in paper["figure"]["data"]} == {"champion", "challenger"}
    drift = httpx.get(f"{base}/dashboard/drift").json()
    assert drift["available"] and drift["heatmap"]["data"][0]["type"] == "heatmap"
    heat, kl, newest = drift_history(operations[1])
    assert heat.shape[1] == 2 and {"tech", "funding"} <= set(heat.index)
    assert len(kl) == 2 and newest["current"][1].startswith("2024-09-15")
    page = httpx.get(f"{base}/", follow_redirects=True)
    assert page.headers["content-type"].startswith("text/html") and "signal stream" in page.text


def test_a_posted_bar_shows_up_on_the_page_live(server, layout, monkeypatch):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv(TOKEN_ENV, "dash-token")
    base, service = server
    symbols = sorted(service.symbols)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/dashboard")
            expect(page.locator("body[data-ready='true']")).to_be_attached(timeout=30_000)
            expect(page.locator("#connection")).to_have_text("live: following the signal stream")
            expect(page.locator("#model")).to_contain_text(service.run_id)
            expect(page.locator("#paper-status")).to_contain_text("session")
            expect(page.locator("#drift-status")).to_contain_text("overall:")
            expect(page.locator("#chart .main-svg").first).to_be_visible()

            posted = _next_bars(layout, symbols)
            response = httpx.post(f"{base}/bars", json={"bars": posted}, headers=AUTH)
            assert response.status_code == 200, response.text
            stamp = posted[0]["ts"]
            for symbol in symbols:  # every symbol's row now holds the posted bar's signal
                row = page.locator(f"tr[data-symbol='{symbol}']")
                expect(row).to_have_attribute("data-ts", stamp, timeout=15_000)
                # direction in words, not colour alone
                expect(row.locator("td.dir")).to_have_text(
                    ["▲ LONG", "▼ SHORT", "■ FLAT"][
                        [1, -1, 0].index(service.latest.signals[symbol]["direction"])
                    ]
                )
            expect(page.locator("#announce")).to_contain_text("New signal:")

            # keyboard only: tab to the second symbol's button and press Enter
            second = symbols[1]
            for _ in range(40):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.textContent") == second:
                    break
            else:
                pytest.fail(f"the {second} button is not reachable with Tab")
            page.keyboard.press("Enter")
            button = page.get_by_role("button", name=second)
            expect(button).to_have_attribute("aria-pressed", "true")
            expect(page.locator("#chart")).to_have_attribute(
                "aria-label", f"{second}: " + _label(service, second), timeout=15_000
            )
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 20_000


def _label(service, symbol: str) -> str:
    s = service.latest.signals[symbol]
    side = {1: "LONG", -1: "SHORT", 0: "FLAT"}[s["direction"]]
    held = horizon_text(s["horizon"])
    return f"{side} at {s['ts']}, confidence {s['confidence']:.2f}, horizon {held}"


def test_chromium_is_the_one_ci_installs():
    assert shutil.which("chromium") == str(CHROMIUM), "Debian's chromium must be on PATH"
