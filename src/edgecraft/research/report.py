"""The run report: one HTML file with plotly charts per horizon."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from edgecraft.research.ablation import TABLE, table_cells
from edgecraft.research.plots import equity_figure
from edgecraft.research.run import COMPONENT_METRICS

SHOWN = [
    "ic",
    "rank_ic",
    "cross_sectional_rank_ic",
    "ir",
    "hit_rate",
    "profit_factor",
    "sharpe",
    "calmar",
    "max_drawdown",
    "turnover_per_bar",
    "cost_drag_annual",
    "profit_factor_close_fill",
    "ece",
    "dsr",
    "signals",
]


def write_report(
    path: Path,
    title: str,
    metrics: dict[str, dict],
    figures: dict[str, go.Figure],
    trading: dict | None = None,
    equity: pd.DataFrame | None = None,
    overfitting: dict | None = None,
) -> None:
    """One self-contained HTML file (plotly.js embedded once)."""
    parts = [
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body style='font-family:sans-serif'><h1>{html.escape(title)}</h1>"
    ]
    rows = "".join(
        f"<tr><th>{html.escape(h)}</th>"
        + "".join(f"<td>{_fmt(m.get(k))}</td>" for k in SHOWN)
        + "</tr>"
        for h, m in metrics.items()
    )
    parts.append(
        "<table border='1' cellpadding='4'><tr><th>horizon</th>"
        + "".join(f"<th>{k}</th>" for k in SHOWN)
        + f"</tr>{rows}</table>"
    )
    parts.append(books_table(metrics))
    if overfitting is not None:
        parts.append(overfitting_table(overfitting))
    for horizon, m in metrics.items():
        if "cpcv" in m:
            parts.append(cpcv_table(m["cpcv"]))
        if "components" in m:
            parts.append(components_table(horizon, m["components"]))
        if "ablation" in m:
            parts.append(ablation_table(m["ablation"]))
    if trading is not None:
        name = html.escape(str(trading["horizon"]))
        parts.append(f"<h2>Through the risk manager and backtester ({name})</h2>")
        summary = {k: v for k, v in trading.items() if k not in ("net", "gross", "decisions")}
        parts.append(
            "<table border='1' cellpadding='4'>"
            + "".join(
                f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in summary.items()
            )
            + "".join(
                f"<tr><th>{side} {html.escape(k)}</th><td>{_fmt(v)}</td></tr>"
                for side in ("net", "gross")
                for k, v in trading[side].items()
            )
            + "</table><h3>decisions by rule</h3><table border='1' cellpadding='4'>"
            + "".join(
                f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>"
                for k, v in trading["decisions"].items()
            )
            + "</table>"
        )
    if equity is not None:
        curve = equity_figure(
            {c: equity[c] for c in equity}, "backtest equity (net and gross of costs)"
        )
        figures = {"backtest": curve, **figures}
    for i, (horizon, fig) in enumerate(figures.items()):
        heading = "backtest equity" if horizon == "backtest" else f"horizon {horizon}"
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    parts.append("</body></html>")
    path.write_text("".join(parts))


BOOK_SHOWN = [
    "profit_factor",
    "profit_factor_gross",
    "sharpe",
    "calmar",
    "max_drawdown",
    "turnover_per_bar",
    "gross_exposure",
    "cost_drag_annual",
    "funding_annual",
    "dsr",
    "days",
]


def books_table(metrics: dict[str, dict]) -> str:
    """Every horizon in every book, next-open fills, net of fees, spread, impact and funding."""
    body = "".join(
        f"<tr><th>{html.escape(h)}</th><th>{html.escape(name)}</th>"
        + "".join(f"<td>{_fmt(book.get(k))}</td>" for k in BOOK_SHOWN)
        + "</tr>"
        for h, m in metrics.items()
        for name, book in m.get("books", {}).items()
    )
    return (
        "<h2>Books (out of sample, traded at the next open, net of costs and funding)</h2>"
        "<p>signal_meta_rows is the primary signal book on the rows the meta-labeled book "
        "covers, for comparison.</p><table border='1' cellpadding='4'><tr><th>horizon</th>"
        "<th>book</th>" + "".join(f"<th>{k}</th>" for k in BOOK_SHOWN) + f"</tr>{body}</table>"
    )


def overfitting_table(overfitting: dict) -> str:
    """The probability of backtest overfitting of the run's configurations."""
    shown = {k: v for k, v in overfitting.items() if k != "tried"}
    tried = ", ".join(overfitting.get("tried", []))
    return (
        "<h2>Overfitting: PBO of picking the best of what this run tried</h2>"
        f"<p>{html.escape(tried)}</p><table border='1' cellpadding='4'>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in shown.items())
        + "</table>"
    )


def cpcv_table(cpcv: dict) -> str:
    """Each book's net results over the combinatorial purged CV paths."""
    shown = ["sharpe_mean", "sharpe_std", "sharpe_min", "profit_factor_median"]
    shown.append("share_paths_profitable")
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>"
        + "".join(f"<td>{_fmt(book.get(k))}</td>" for k in shown)
        + "</tr>"
        for name, book in cpcv["books"].items()
    )
    return (
        f"<h2>Combinatorial purged CV, {html.escape(str(cpcv['horizon']))}: "
        f"{cpcv['splits']} splits, {cpcv['n_paths']} paths (net, next-open fills)</h2>"
        "<table border='1' cellpadding='4'><tr><th>book</th>"
        + "".join(f"<th>{k}</th>" for k in shown)
        + f"</tr>{body}</table>"
    )


def components_table(horizon: str, components: dict) -> str:
    """Members, ensemble and ensemble-without-each on the same OOS rows, with marginals."""
    rows = [(f"member {k}", v) for k, v in components["members"].items()]
    rows += [
        ("ensemble (sized)", components["ensemble"]),
        ("ensemble (full size)", components["ensemble_full_size"]),
    ]
    rows += [(f"ensemble without {k}", v) for k, v in components["without"].items()]
    rows += [(f"marginal of {k}", v) for k, v in components["marginal"].items()]
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>"
        + "".join(f"<td>{_fmt(values.get(c))}</td>" for c in COMPONENT_METRICS)
        + "</tr>"
        for name, values in rows
    )
    return (
        f"<h2>Ensemble components, {html.escape(horizon)} (out of sample)</h2>"
        "<table border='1' cellpadding='4'><tr><th></th>"
        + "".join(f"<th>{c}</th>" for c in COMPONENT_METRICS)
        + f"</tr>{body}</table>"
    )


def ablation_table(ablation: dict) -> str:
    """OOS rank IC with and without each feature family, on all rows and on the family's rows."""
    head = "<tr><th>family</th><th>columns</th><th>rows with family</th>" + "".join(
        f"<th>{html.escape(heading)}</th>" for heading, _, _ in TABLE
    )
    body = "".join(
        f"<tr><th>{html.escape(r['family'])}</th><td>{r['columns']}</td>"
        f"<td>{r['rows_with_family']} / {r['rows']}</td>"
        + "".join(f"<td>{_fmt(v)}</td>" for v in table_cells(r))
        + "</tr>"
        for r in ablation["families"]
    )
    return (
        f"<h2>Feature-family ablation, {html.escape(ablation['horizon'])} "
        f"({html.escape(ablation['model'])}, out of sample)</h2>"
        f"<table border='1' cellpadding='4'>{head}</tr>{body}</table>"
    )


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))
