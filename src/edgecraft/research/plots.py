"""The plotly figures of edgecraft, shared by the run report (HTML) and the live dashboard.

Colours come from the Okabe-Ito palette (distinguishable with colour-blindness), and nothing is
told by colour alone: long and short signals also differ by marker (triangle up / down) and
label, and every trace is named.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from edgecraft.metrics.evaluation import BookCosts, calibration_table, frame_portfolio
from edgecraft.metrics.ic import ic_by

LONG, SHORT, FLAT = "#0072B2", "#D55E00", "#6b6b6b"  # blue, vermillion, grey
SIDES = {  # direction -> label, marker, colour
    1: ("LONG", "triangle-up", LONG),
    -1: ("SHORT", "triangle-down", SHORT),
    0: ("FLAT", "square", FLAT),
}


def horizon_figure(
    frame: pd.DataFrame,
    importance: pd.Series | None,
    hold_bars: int,
    costs: BookCosts,
    title: str,
) -> go.Figure:
    """Cumulative IC, per-window IC, equity vs buy-and-hold, calibration, feature importance."""
    fig = make_subplots(
        rows=3,
        cols=2,
        subplot_titles=(
            "cumulative daily cross-sectional rank IC",
            "rank IC per walk-forward window",
            "equity after costs vs buy-and-hold (equal weight)",
            "calibration: P(up) vs observed",
            "feature importance (gain, top 20)",
            "",
        ),
        vertical_spacing=0.1,
    )
    day = pd.Series(frame.index.get_level_values("ts").floor("D"), index=frame.index)
    daily = ic_by(frame["score"], frame["ret"], day, "spearman", min_count=10)
    fig.add_trace(go.Scatter(x=daily.index, y=daily.cumsum(), name="cumulative IC"), 1, 1)
    windows = frame.groupby("window").apply(
        lambda p: p["score"].corr(p["ret"], method="spearman"), include_groups=False
    )
    fig.add_trace(go.Bar(x=windows.index, y=windows.values, name="window IC"), 1, 2)
    book = frame_portfolio(frame, hold_bars, costs)
    fig.add_trace(
        go.Scatter(x=book.net.index, y=(1 + book.net).cumprod(), name="signals, net"), 2, 1
    )
    fig.add_trace(
        go.Scatter(
            x=book.buy_and_hold.index, y=(1 + book.buy_and_hold).cumprod(), name="buy and hold"
        ),
        2,
        1,
    )
    table = calibration_table(frame)
    fig.add_trace(
        go.Scatter(
            x=table["predicted"], y=table["observed"], mode="lines+markers", name="calibration"
        ),
        2,
        2,
    )
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot"}, name="perfect"), 2, 2
    )
    if importance is not None:
        top = importance.sort_values().tail(20)
        fig.add_trace(go.Bar(x=top.values, y=top.index, orientation="h", name="importance"), 3, 1)
    fig.update_layout(height=1100, title=title, showlegend=True)
    return fig


def equity_figure(curves: dict[str, pd.Series], title: str, height: int = 400) -> go.Figure:
    """Equity curves (growth of 1) by name, each with its own dash so print and grey-scale
    readers can tell them apart."""
    dashes = ("solid", "dash", "dot", "dashdot")
    fig = go.Figure(
        [
            go.Scatter(
                x=curve.index, y=curve.values, name=name, line={"dash": dashes[i % len(dashes)]}
            )
            for i, (name, curve) in enumerate(curves.items())
        ]
    )
    fig.update_layout(
        title=title,
        height=height,
        yaxis_title="equity (start = 1)",
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
    )
    return fig


def candles_figure(
    bars: pd.DataFrame, symbol: str, signal: dict | None, past: list[dict] | None = None
) -> go.Figure:
    """Candlesticks of `bars` (index ts; open high low close) with the latest signal's entry,
    target and stop drawn as labelled lines, and past signals as up/down triangles."""
    fig = go.Figure(
        go.Candlestick(
            x=bars.index,
            open=bars["open"],
            high=bars["high"],
            low=bars["low"],
            close=bars["close"],
            name=symbol,
            increasing_line_color=LONG,
            decreasing_line_color=SHORT,
        )
    )
    for direction in (1, -1):
        label, marker, colour = SIDES[direction]
        marks = [p for p in past or [] if p["direction"] == direction]
        if marks:
            fig.add_trace(
                go.Scatter(
                    x=[pd.Timestamp(p["ts"]) for p in marks],
                    y=[p["entry"] for p in marks],
                    mode="markers",
                    marker={"symbol": marker, "size": 11, "color": colour},
                    name=f"{label} signals",
                    text=[f"{label} {p['confidence']:.2f}" for p in marks],
                )
            )
    title = f"{symbol}: no signal yet"
    if signal is not None:
        label, _, colour = SIDES[int(signal["direction"])]
        title = (
            f"{symbol}: {label} at {signal['ts']}, confidence {signal['confidence']:.2f}, "
            f"horizon {horizon_text(signal['horizon'])}"
        )
        for name, value, dash in (
            ("entry", signal.get("entry"), "solid"),
            ("target", signal.get("target"), "dash"),
            ("stop", signal.get("stop"), "dot"),
        ):
            if value is None or value != value:  # NaN: a flat signal has no target or stop
                continue
            fig.add_hline(
                y=value,
                line_dash=dash,
                line_color=colour if name != "stop" else FLAT,
                annotation_text=f"{name} {value:,.2f}",
                annotation_position="right",
            )
    fig.update_layout(
        title=title,
        height=460,
        xaxis_rangeslider_visible=False,
        yaxis_title="price",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        margin={"r": 110},
    )
    return fig


def horizon_text(value: object) -> str:
    """A horizon as traders write it: 4h, 24h, 90m."""
    try:
        delta = pd.Timedelta(str(value))
    except ValueError:
        return str(value)
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def psi_heatmap(psi: pd.DataFrame, warn: float = 0.1, alert: float = 0.25) -> go.Figure:
    """Feature-family PSI (rows: families, columns: monitoring times), each cell labelled with its
    value and level, so the colour scale is never the only reading."""

    def level(v: float) -> str:
        return "alert" if v >= alert else ("warn" if v >= warn else "ok")

    text = [[f"{v:.2f} {level(v)}" if v == v else "" for v in row] for row in psi.to_numpy()]
    fig = go.Figure(
        go.Heatmap(
            z=psi.to_numpy(),
            x=[str(c) for c in psi.columns],
            y=list(psi.index),
            text=text,
            texttemplate="%{text}",
            colorscale="Cividis",
            zmin=0,
            zmax=max(alert * 2, float(pd.DataFrame(psi).max().max() or 0)),
            colorbar={"title": "PSI"},
        )
    )
    fig.update_layout(title="feature drift by family (max PSI)", height=120 + 40 * len(psi))
    return fig


def kl_figure(kl: pd.Series, warn: float, alert: float) -> go.Figure:
    """KL divergence of the signal distribution at each monitoring time, with its levels."""
    fig = go.Figure(go.Scatter(x=kl.index, y=kl.values, mode="lines+markers", name="signal KL"))
    fig.add_hline(y=warn, line_dash="dash", annotation_text="warn")
    fig.add_hline(y=alert, line_dash="dot", annotation_text="alert")
    fig.update_layout(title="signal distribution drift (KL)", height=320)
    return fig


def drift_figure(
    psi: pd.Series,
    z: pd.DataFrame,
    threshold: float,
    daily_ic: pd.Series,
    psi_alert: float,
    status: str,
) -> go.Figure:
    """The drift report: top feature PSI, the largest daily |z| of a feature mean against its
    Bonferroni threshold, and the realized daily IC of current signals with its 30-day mean."""
    fig = make_subplots(
        rows=3,
        cols=1,
        subplot_titles=(
            "feature PSI, recent window vs training reference (top 25)",
            "largest daily |z| of a feature mean (Bonferroni threshold dotted)",
            "realized daily cross-sectional rank IC of current signals (30-day mean)",
        ),
        vertical_spacing=0.1,
    )
    top = psi.head(25)
    fig.add_trace(go.Bar(x=top.index, y=top.values, name="PSI"), 1, 1)
    fig.add_hline(y=psi_alert, line_dash="dot", row=1, col=1)
    worst = z.abs().max(axis=1)
    fig.add_trace(go.Scatter(x=worst.index, y=worst.values, name="max |z|"), 2, 1)
    fig.add_hline(y=threshold, line_dash="dot", row=2, col=1)
    rolling = daily_ic.rolling(30, min_periods=5).mean()
    fig.add_trace(go.Scatter(x=daily_ic.index, y=daily_ic.values, name="daily IC"), 3, 1)
    fig.add_trace(go.Scatter(x=rolling.index, y=rolling.values, name="30d mean"), 3, 1)
    fig.update_layout(height=1000, title=f"drift: {status}")
    return fig
