"""The walk-forward's pieces of work: labels, usable rows, windows, and fitting and scoring one
window's model (single or ensemble)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from edgecraft.labels.forward import forward_returns
from edgecraft.labels.triple_barrier import triple_barrier
from edgecraft.labels.weights import uniqueness
from edgecraft.research.config import RunConfig, atr_columns
from edgecraft.research.ensemble import fit_ensemble, horizons_needed
from edgecraft.research.train import fit
from edgecraft.validation.walk_forward import PurgedWalkForward, UnpurgedKFold


def make_labels(
    config: RunConfig, bars: pd.DataFrame, X: pd.DataFrame, horizon: str
) -> pd.DataFrame:
    """ret (log return to when the label is known), y (training class), t1 and uniqueness
    weight on X's index.

    Forward labels: ret is the fixed-horizon return, known at t1 = ts + horizon. Triple-barrier
    labels: ret is the return at the barrier that decided the label (the profit or stop level,
    or the close at the time barrier), known at t1; nothing here reads a price after t1, so what
    learns from `ret` (calibrators, the ensemble's meta-model) stays inside the purge."""
    own = bars.reindex(X.index)
    if config.label.kind == "triple_barrier":
        atr_rel = X[atr_columns(config)[1]].astype(float)
        barrier = triple_barrier(
            own,
            atr_rel,
            horizon,
            config.features.base_timeframe,
            config.label.barrier_up,
            config.label.barrier_down,
        )
        labels = pd.DataFrame({"ret": barrier["ret"], "y": barrier["y"], "t1": barrier["t1"]})
        labels.loc[labels["y"].isna(), "ret"] = np.nan
    else:
        forward = forward_returns(own, horizon)
        labels = forward.assign(y=np.sign(forward["ret"]))
    labels["weight"] = uniqueness(labels["t1"].where(labels["ret"].notna()))
    return labels


def next_bar_returns(bars: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Each symbol's simple return from a bar's close to its next bar's close."""
    close = bars["close"].reindex(index)
    return close.groupby(level="symbol").shift(-1) / close - 1.0


def next_bar_moves(bars: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Per row of `index`: next_gap, the symbol's next bar's open over this close, and
    next_intrabar, that bar's close over its open (simple returns; NaN at a symbol's end)."""
    own = bars[["open", "close"]]
    following = own.groupby(level="symbol").shift(-1).reindex(index)
    close = own["close"].reindex(index)
    return pd.DataFrame(
        {
            "next_gap": following["open"] / close - 1.0,
            "next_intrabar": following["close"] / following["open"] - 1.0,
        },
        index=index,
    )


def covered(config: RunConfig, X: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Those of `rows` with at least `min_feature_coverage` of their features known."""
    coverage = X.iloc[rows].notna().mean(axis=1).to_numpy()
    return rows[coverage >= config.min_feature_coverage]


def usable_rows(config: RunConfig, X: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """Rows to train and judge on: label known, features covered."""
    known = labels["ret"].notna().to_numpy() & labels["t1"].notna().to_numpy()
    return covered(config, X, np.flatnonzero(known))


Fitter = Callable[[np.ndarray, "pd.Timestamp | None"], object]


def make_fitter(
    config: RunConfig, bars: pd.DataFrame, X: pd.DataFrame, labels: pd.DataFrame, horizon: str
) -> Fitter:
    """fitter(rows, until): the run's scorer (single model, or ensemble) trained on `rows`,
    reading no label known at or after `until` (None: every label)."""
    if config.ensemble is None:
        return lambda rows, until: fit(config, X, labels, rows, horizon)
    label_sets = {
        h: labels if h == horizon else make_labels(config, bars, X, h)
        for h in horizons_needed(config, horizon)
    }
    following = next_bar_returns(bars, X.index)
    return lambda rows, until: fit_ensemble(config, X, label_sets, rows, horizon, until, following)


def predict_rows(
    fitted, X: pd.DataFrame, rows: np.ndarray, following: pd.Series | None = None
) -> pd.DataFrame:
    """The scorer's predictions for `rows` of X; with a sizing agent (and next-bar returns),
    also its target position `rl_position`, rolled forward bar by bar."""
    part = fitted.predict(X, rows)
    agent = getattr(fitted, "agent", None)
    if agent is not None and following is not None:
        signals = pd.DataFrame(
            {"p_up": part["p_up"], "next_return": following.reindex(part.index).fillna(0.0)}
        )
        part["rl_position"] = agent.positions(signals)
    return part


def windows_of(config: RunConfig, X: pd.DataFrame, labels: pd.DataFrame) -> tuple:
    """The usable rows and the validation windows over them."""
    rows = usable_rows(config, X, labels)
    settings = config.validation.model_dump()
    splitter = (
        PurgedWalkForward(**{k: v for k, v in settings.items() if k not in ("method", "cpcv")})
        if settings["method"] == "walk_forward"
        else UnpurgedKFold(seed=config.seed)
    )
    ts = labels.index.get_level_values("ts")[rows]
    windows = list(splitter.split(ts, labels["t1"].iloc[rows]))
    if not windows:
        raise ValueError("no walk-forward window fits the data: shorten min_train/test_length")
    return rows, windows, settings["method"] == "walk_forward"
