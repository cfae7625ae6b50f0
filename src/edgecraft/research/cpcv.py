"""The trade horizon judged on combinatorial purged CV paths (`validation.cpcv`).

Each split fits the run's model on the purged rest and scores its test groups; the splits'
predictions assemble into whole-history paths (`validation.cpcv`), each scored through the same
signals and books as the walk-forward (meta-labeling excepted: on a CPCV path the primary
predictions of earlier groups come from models that trained on later ones, so a meta model
learning from them would read the future). What comes out is a distribution over paths of each
book's net Sharpe and profit factor instead of the walk-forward's single number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.core.numbers import json_safe
from edgecraft.metrics.evaluation import book_metrics
from edgecraft.research.books import BOOKS, book_portfolios
from edgecraft.research.config import RunConfig
from edgecraft.research.executor import LocalExecutor
from edgecraft.research.fitting import usable_rows
from edgecraft.research.run import (
    Prepared,
    Progress,
    funding_grid,
    hold_and_cost,
    run_trials,
    score_signals,
)
from edgecraft.research.units import Unit, run_unit
from edgecraft.validation.cpcv import CombinatorialPurgedCV

PATH_METRICS = ("sharpe", "profit_factor", "calmar", "max_drawdown")


def cpcv_paths(
    config: RunConfig,
    prepared: Prepared,
    labels: pd.DataFrame,
    horizon: str,
    progress: Progress | None = None,
    executor=None,
) -> dict:
    """Per book, each path's net metrics and their mean, spread and share of paths that paid."""
    settings = config.validation.cpcv
    if settings is None:
        raise ValueError("validation.cpcv is not set")
    if config.ensemble is not None:
        raise ValueError(
            "CPCV paths are for single models (an ensemble's meta cross-fit is itself time-ordered)"
        )
    cv = CombinatorialPurgedCV(settings.groups, settings.test_groups, config.validation.embargo)
    rows = usable_rows(config, prepared.X, labels)
    ts = labels.index.get_level_values("ts")[rows]
    group = cv.group_of(ts)
    units = [
        Unit(horizon, w.number, rows[w.train], rows[w.test], None)
        for w in cv.split(ts, labels["t1"].iloc[rows])
    ]
    shared = {"config": config, "X": prepared.X, "labels": labels, "bars": prepared.bars}

    def done(finished: int, total: int) -> None:
        if progress:
            progress(f"CPCV {horizon}", finished, total)

    predictions = (executor or LocalExecutor()).map(run_unit, units, shared, done)
    group_of_row = pd.Series(group, index=labels.index[rows])
    per_book: dict[str, list[dict]] = {name: [] for name in BOOKS if name != "meta"}
    trials = run_trials(config)
    for path in cv.paths():
        parts = []
        for g, split in path.items():
            part = predictions[split]
            parts.append(part[group_of_row.reindex(part.index).to_numpy() == g])
        # the path's rows, each group scored by a model that never saw it (window = group)
        joined = pd.concat(parts).sort_index()
        joined["window"] = group_of_row.reindex(joined.index).to_numpy()
        frame = score_signals(config, joined, prepared.bars, prepared.X, labels, horizon)
        _, costs = hold_and_cost(config, horizon, funding_grid(config, prepared.funding, frame))
        for name, (portfolio, _) in book_portfolios(config, frame, horizon, costs).items():
            if name in per_book:
                result = book_metrics(portfolio, trials)
                per_book[name].append({k: result[k] for k in PATH_METRICS})
    summary = {}
    for name, paths in per_book.items():
        sharpes = np.array([p["sharpe"] for p in paths if p["sharpe"] is not None], dtype=float)
        factors = np.array(
            [p["profit_factor"] for p in paths if p["profit_factor"] is not None], dtype=float
        )
        summary[name] = {
            "paths": paths,
            "sharpe_mean": float(sharpes.mean()) if len(sharpes) else None,
            "sharpe_std": float(sharpes.std(ddof=1)) if len(sharpes) > 1 else None,
            "sharpe_min": float(sharpes.min()) if len(sharpes) else None,
            "profit_factor_median": float(np.median(factors)) if len(factors) else None,
            "share_paths_profitable": float((factors > 1).mean()) if len(factors) else None,
        }
    return json_safe(
        {
            "horizon": horizon,
            "groups": settings.groups,
            "test_groups": settings.test_groups,
            "splits": len(units),
            "n_paths": cv.n_paths,
            "books": summary,
        }
    )
