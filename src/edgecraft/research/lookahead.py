"""`edgecraft lookahead`: does anything on a run's path read the future?

The run's features, labels and signals are computed once on all the data, then again on the
bars cut at random times (everything after the cut removed), the way freqtrade's
lookahead-analysis does for strategies but over the whole path. A value at or before a cut must
not depend on what comes after it:

- feature: a column whose value at some row at or before the cut changes;
- label: a label (`ret`, `y`, `t1`) that claims to be known by the cut (`t1` <= cut) but changes,
  i.e. it read prices after its own `t1`;
- signal: a symbol whose direction or confidence at some bar in the `window` before the cut
  changes, with a model trained (as the run trains it) on labels known before the first cut.

External channels (funding, Fear & Greed, on-chain, ...) are read as published, with the
configured publication lags; the cut applies to the bars, which every feature reads.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from edgecraft.data.layout import DataLayout, default_data_dir
from edgecraft.features.builder import FeatureBuilder
from edgecraft.research.config import RunConfig
from edgecraft.research.fitting import make_fitter, make_labels, usable_rows
from edgecraft.research.run import Prepared, Progress, prepare, score_rows
from edgecraft.research.trading import trade_horizon


@dataclass(frozen=True)
class Finding:
    """Something that changed before a cut when the data after it was removed."""

    kind: str  # feature, label or signal
    name: str  # the column, label field or symbol
    cut: str
    rows: int  # rows at or before the cut that changed
    first: str  # the earliest of them


def _changed(full: pd.DataFrame, cut: pd.DataFrame) -> dict[str, pd.Index]:
    """Per column, the index entries where the two frames differ (NaN equals NaN)."""
    out = {}
    for column in cut.columns:
        a, b = full[column].reindex(cut.index), cut[column]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_datetime64_any_dtype(b):
            same = np.isclose(
                a.to_numpy(np.float64),
                b.to_numpy(np.float64),
                rtol=1e-9,
                atol=1e-12,
                equal_nan=True,
            )
        else:
            same = ((a == b) | (a.isna() & b.isna())).to_numpy()
        if not same.all():
            out[column] = cut.index[~same]
    return out


def _findings(kind: str, cut: pd.Timestamp, changed: dict[str, pd.Index]) -> list[Finding]:
    return [
        Finding(kind, str(name), str(cut), int(len(where)), str(where.get_level_values("ts").min()))
        for name, where in changed.items()
    ]


def _by_symbol(changed: dict[str, pd.Index]) -> dict[str, pd.Index]:
    """The changed rows of every column together, per symbol."""
    if not changed:
        return {}
    rows = functools.reduce(lambda a, b: a.union(b), changed.values())
    symbols = rows.get_level_values("symbol")
    return {s: rows[symbols == s] for s in symbols.unique()}


def lookahead_check(
    config: RunConfig,
    data=None,
    cuts: int = 3,
    seed: int = 0,
    window: str = "7d",
    progress: Progress | None = None,
) -> dict:
    """Cut the data at `cuts` random bar times (seeded) and list every feature column, label
    and signal that changes at or before a cut; returns {"cuts", "findings", "checked"}."""
    if cuts < 1:
        raise ValueError(f"cuts must be at least 1, was {cuts}")
    layout = DataLayout(data or default_data_dir())
    prepared = prepare(config, layout.root, progress)
    builder = FeatureBuilder(layout, config.features, config.market)
    horizon = trade_horizon(config)
    X, bars = prepared.X, prepared.bars
    times = X.index.get_level_values("ts").unique().sort_values()
    span = pd.Timedelta(horizon) + pd.Timedelta(window)
    candidates = times[(times > times[len(times) // 2]) & (times < times[-1] - span)]
    if not len(candidates):
        raise ValueError("the data is too short to cut: give more history or a shorter window")
    rng = np.random.default_rng(seed)
    at = np.sort(rng.choice(len(candidates), min(cuts, len(candidates)), replace=False))
    cut_times = list(candidates[at])
    labels = make_labels(config, bars, X, horizon)
    train = usable_rows(config, X, labels)
    train = train[np.asarray(pd.DatetimeIndex(labels["t1"].iloc[train]) < cut_times[0])]
    scorer = make_fitter(config, bars, X, labels, horizon)(train, cut_times[0])
    findings: list[Finding] = []
    for number, cut in enumerate(cut_times, 1):
        if progress:
            progress(f"lookahead: cut {cut}", number, len(cut_times))
        kept = bars[bars.index.get_level_values("ts") <= cut]
        X_cut = pd.concat([builder.build(kept, s) for s in prepared.symbols]).sort_index()
        findings += _findings("feature", cut, _changed(X, X_cut))
        labels_cut = make_labels(config, kept, X_cut, horizon)
        known = labels.reindex(X_cut.index)["t1"] <= cut
        findings += _findings(
            "label", cut, _changed(labels, labels_cut[known.to_numpy()][["ret", "y", "t1"]])
        )
        recent = np.flatnonzero(X_cut.index.get_level_values("ts") > cut - pd.Timedelta(window))
        shortened = Prepared(kept, X_cut, prepared.symbols, [], prepared.funding)
        signals_cut = score_rows(config, shortened, scorer, recent, horizon)
        positions = X.index.get_indexer(X_cut.index[recent])
        signals = score_rows(config, prepared, scorer, positions, horizon)
        changed = _changed(signals, signals_cut[["direction", "confidence"]])
        findings += _findings("signal", cut, _by_symbol(changed))
    return {
        "cuts": [str(c) for c in cut_times],
        "checked": {"features": len(X.columns), "symbols": len(prepared.symbols)},
        "findings": [asdict(f) for f in findings],
    }
