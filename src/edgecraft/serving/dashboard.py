"""The live dashboard: one page served by `edgecraft serve`, no build step.

The page (static/dashboard.html, plain JavaScript) renders figures the server builds with the
same plotting code as the run report (`edgecraft.research.plots`), as plotly JSON; plotly.js is
served from the installed plotly package (no CDN: it works offline). It follows the server's
signal stream (GET /stream, server-sent events): a new signal updates its row, is announced to
screen readers, and redraws its symbol's chart.

Panels: per symbol the latest signal and the risk manager's decision, on a candlestick chart with
target and stop; the paper accounts of champion and challenger (newest session of a paper ledger,
`--paper-ledger`); drift per feature family (PSI heat-map and signal KL over the monitoring runs
found under `--drift`); the model in service and its run metrics.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from edgecraft.core.numbers import json_safe
from edgecraft.live.service import LiveService
from edgecraft.research.plots import candles_figure, equity_figure, kl_figure, psi_heatmap

RUN_METRICS = ("rank_ic", "cross_sectional_rank_ic", "ir", "profit_factor", "sharpe", "calmar")
BACKTEST_METRICS = ("profit_factor", "sharpe", "calmar")  # what the trading replay reports too


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


@lru_cache(maxsize=1)
def _page() -> str:
    return resources.files("edgecraft.serving").joinpath("static/dashboard.html").read_text()


def _figure(fig) -> Response:
    return Response(fig.to_json(), media_type="application/json")


def run_summary(service: LiveService) -> dict:
    """The model in service: run id, config name, horizons, and its out-of-sample metrics."""
    metrics_path = service.run / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    horizons = {
        h: {k: m.get(k) for k in RUN_METRICS} for h, m in (metrics.get("horizons") or {}).items()
    }
    backtest = metrics.get("backtest") or {}
    return json_safe(
        {
            "run": service.run_id,
            "name": service.config.name,
            "model": service.config.model.name
            if service.config.ensemble is None
            else "ensemble of " + ", ".join(m.label for m in service.config.ensemble.members),
            "trade_horizon": backtest.get("horizon"),
            "horizons": horizons,
            "backtest": {k: (backtest.get("net") or {}).get(k) for k in BACKTEST_METRICS},
        }
    )


def drift_history(folder: Path | None) -> tuple[pd.DataFrame, pd.Series, dict | None]:
    """From every monitoring run under `folder` (drift.json + drift_features.csv): max PSI per
    feature family by monitoring time, the signal KL by time, and the newest summary."""
    if folder is None or not folder.exists():
        return pd.DataFrame(), pd.Series(dtype=float), None
    columns, kl, newest = {}, {}, None
    for summary_path in sorted(folder.rglob("drift.json")):
        summary = json.loads(summary_path.read_text())
        at = pd.Timestamp(summary["current"][1])
        kl[at] = summary.get("signal_kl")
        psi_path = summary_path.with_name("drift_features.csv")
        if psi_path.exists():
            psi = pd.read_csv(psi_path, index_col="feature")["psi"]
            family = psi.index.str.split("_").str[0]
            columns[at] = psi.groupby(family).max()
        if newest is None or at >= pd.Timestamp(newest["current"][1]):
            newest = summary
    heat = pd.DataFrame(columns).sort_index(axis=1) if columns else pd.DataFrame()
    return heat, pd.Series(kl, dtype=float).sort_index(), newest


def mount_dashboard(
    app: FastAPI,
    service: LiveService,
    paper_ledger: str | None = None,
    drift: Path | None = None,
) -> None:
    """Add the dashboard's page and its data routes to `app`."""
    ledgers: list = []  # the paper ledger, opened on first use and kept

    def ledger():
        if not ledgers:
            from edgecraft.operations.paper import Ledger

            ledgers.append(Ledger(paper_ledger))
        return ledgers[0]

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")

    @app.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(_page())

    @app.get("/dashboard/plotly.js", include_in_schema=False)
    async def plotly_js() -> Response:
        return Response(
            _plotly_js(),
            media_type="application/javascript",
            headers={"Cache-Control": "max-age=86400"},
        )

    @app.get("/dashboard/state")
    async def state() -> dict:
        """The run in service, its symbols and every latest signal."""
        known = set(service.recent_bars) | set(service.latest.signals)
        symbols = sorted(service.symbols or known)
        return {
            "run": run_summary(service),
            "symbols": symbols,
            "signals": json_safe(service.latest.signals),
            "paper": paper_ledger is not None,
            "drift": drift is not None,
        }

    @app.get("/dashboard/chart/{base}/{quote}")
    async def chart(base: str, quote: str) -> Response:
        symbol = f"{base}/{quote}".upper()
        rows = list(service.recent_bars.get(symbol, ()))
        if not rows and symbol not in service.latest.signals:
            raise HTTPException(404, f"no bars yet for {symbol}")
        bars = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
        bars = bars.set_index("ts").tail(200)
        past = list(service.recent_signals.get(symbol, ()))[-200:]
        signal = service.latest.signals.get(symbol)
        return _figure(candles_figure(bars, symbol, signal, [p for p in past if p is not signal]))

    @app.get("/dashboard/paper")
    def paper() -> dict:  # blocking SQL: FastAPI runs it in its thread pool
        """The newest paper session: equity of each arm (figure) and its last trades."""
        if paper_ledger is None:
            return {"available": False, "reason": "no paper ledger: serve with --paper-ledger"}
        session = ledger().latest()
        if session is None:
            return {"available": False, "reason": "the paper ledger has no session yet"}
        equity = ledger().read("equity", session["session"])
        trades = ledger().read("trades", session["session"])
        curves = {
            f"{arm} ({Path(str(session.get(arm) or arm)).name})": part.set_index("ts")["net"]
            for arm, part in equity.groupby("arm")
        }
        figure = equity_figure(curves, "paper accounts, net of costs")
        recent = trades.sort_values("exit_ts", ascending=False).groupby("arm").head(5)
        return json_safe(
            {
                "available": True,
                "session": session["session"],
                "decision": session["decision"],
                "period": [session["start"], session["end"]],
                "evidence": {
                    k: v for k, v in session["evidence"].items() if not isinstance(v, dict)
                },
                "figure": json.loads(figure.to_json()),
                "trades": [
                    {
                        "arm": t["arm"],
                        "symbol": t["symbol"],
                        "side": "LONG" if t["direction"] > 0 else "SHORT",
                        "entry": str(t["entry_ts"]),
                        "exit": str(t["exit_ts"]),
                        "return": t["return"],
                        "reason": t["reason"],
                    }
                    for t in recent.to_dict("records")
                ],
            }
        )

    @app.get("/dashboard/drift")
    def drift_panel() -> dict:  # reads files: in the thread pool
        """PSI by feature family over the monitoring runs, signal KL over time, status."""
        heat, kl, newest = drift_history(drift)
        if newest is None:
            reason = (
                "no drift reports: serve with --drift FOLDER"
                if drift is None
                else f"no `edgecraft monitor` report under {drift} yet"
            )
            return {"available": False, "reason": reason}
        settings = newest.get("settings", {})
        warn, alert = settings.get("psi_warn", 0.1), settings.get("psi_alert", 0.25)
        return json_safe(
            {
                "available": True,
                "status": newest["status"],
                "checks": newest["checks"],
                "current": newest["current"],
                "heatmap": json.loads(psi_heatmap(heat, warn, alert).to_json())
                if len(heat)
                else None,
                "kl": json.loads(
                    kl_figure(
                        kl, settings.get("kl_warn", 0.1), settings.get("kl_alert", 0.25)
                    ).to_json()
                ),
            }
        )
