"""Fit a heterogeneous ensemble inside one training window, without looking past it.

Inside the window's rows, the last `oof_fraction` of its time is cut into `inner_folds` blocks.
For each block every member is fitted on the rows before it (each member's own labels known
before the block starts, plus the embargo) and scores the block: these out-of-fold (OOF) scores
are the only data the meta-model, the calibrators and the sizing agent ever learn from. Then the
members are refitted on the whole window for the scores that go forward.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from edgecraft.core.timeframes import timeframe_delta
from edgecraft.labels.targets import training_target
from edgecraft.models.rl import SizingAgent
from edgecraft.research.config import MemberConfig, RunConfig
from edgecraft.research.train import fit_model, make_model
from edgecraft.signals.calibration import Calibrator
from edgecraft.signals.ensemble import EnsembleScorer, Member
from edgecraft.validation.walk_forward import purged_complement


def horizons_needed(config: RunConfig, horizon: str) -> set[str]:
    """The label horizons an ensemble at `horizon` reads (its own and its members')."""
    if config.ensemble is None:
        return {horizon}
    return {horizon} | {m.horizon for m in config.ensemble.members if m.horizon}


def fit_member(
    config: RunConfig,
    spec: MemberConfig,
    X: pd.DataFrame,
    labels: pd.DataFrame,
    rows: np.ndarray,
    until: pd.Timestamp | None,
    horizon: str,
) -> Member:
    """Fit one member on those of `rows` on its bar whose label (`labels`, at the member's
    `horizon`) is known before `until`."""
    base = timeframe_delta(config.features.base_timeframe)
    member = Member(spec.label, None, pd.Timedelta(spec.bar or base), base, horizon)
    candidates = member.frame_rows(X, rows)
    target = training_target(labels, config.label.kind)
    t1 = pd.DatetimeIndex(labels["t1"].iloc[candidates])
    ok = target.iloc[candidates].notna().to_numpy() & t1.notna()
    if until is not None:
        ok &= np.asarray(t1 < until)
    fit_rows = candidates[ok]
    cap = spec.max_train_rows
    if cap is not None and len(fit_rows) > cap:
        chosen = np.random.default_rng(config.seed).choice(len(fit_rows), cap, replace=False)
        fit_rows = fit_rows[np.sort(chosen)]
    if len(fit_rows) < 100:
        raise ValueError(
            f"member {spec.label}: only {len(fit_rows)} labeled rows before {until} to fit on"
        )
    member.model = make_model(config, spec.name, spec.params, horizon)
    fit_model(member.model, X, fit_rows, target, labels["weight"], member.bar)
    return member


def _meta(S: pd.DataFrame, up: np.ndarray, weight: np.ndarray):
    mean = np.nanmean(S.to_numpy(), axis=0)
    std = np.nanstd(S.to_numpy(), axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    z = np.nan_to_num((S.to_numpy() - mean) / std)
    return LogisticRegression(C=1.0).fit(z, up, sample_weight=weight), (mean, std)


def fit_ensemble(
    config: RunConfig,
    X: pd.DataFrame,
    label_sets: dict[str, pd.DataFrame],
    rows: np.ndarray,
    horizon: str,
    until: pd.Timestamp | None,
    next_return: pd.Series,
) -> EnsembleScorer:
    """OOF scores on inner purged folds → meta-model / rules, calibrators, sizing agent; then
    every member refitted on all of `rows`. Nothing here reads a row at or after `until`."""
    spec = config.ensemble
    labels = label_sets[horizon]
    ts = labels.index.get_level_values("ts")[rows]
    start, end = ts.min(), ts.max()
    edges = [
        start + (end - start) * (1 - spec.oof_fraction * (1 - k / spec.inner_folds))
        for k in range(spec.inner_folds + 1)
    ]
    embargo = pd.Timedelta(config.validation.embargo)
    parts = []
    for k in range(spec.inner_folds):
        lo, hi = edges[k], edges[k + 1]
        block = rows[(ts >= lo) & ((ts < hi) | (k == spec.inner_folds - 1))]
        train = rows[ts < lo - embargo]
        members = [
            fit_member(
                config, m, X, label_sets[m.horizon or horizon], train, lo, m.horizon or horizon
            )
            for m in spec.members
        ]
        parts.append(pd.DataFrame({m.key: m.scores(X, block) for m in members}).assign(fold=k))
    oof = pd.concat(parts)
    folds = oof.pop("fold").to_numpy()
    up = (labels["ret"].reindex(oof.index) > 0).to_numpy().astype(float)
    weight = labels["weight"].reindex(oof.index).fillna(0).to_numpy()
    method = config.calibration.method
    calibrators = {
        key: Calibrator(method).fit(oof[key][oof[key].notna()], up[oof[key].notna().to_numpy()])
        for key in oof.columns
    }
    final = [
        fit_member(
            config, m, X, label_sets[m.horizon or horizon], rows, until, m.horizon or horizon
        )
        for m in spec.members
    ]
    for member in final:
        member.calibrator = calibrators[member.key]
    scorer = EnsembleScorer(
        final,
        spec.mode,
        list(X.columns),
        horizon,
        Calibrator(method),
        filter=spec.filter,
        direction=spec.direction,
        filter_confidence=spec.filter_confidence,
    )
    if spec.mode == "stack":
        scorer.meta, scorer.scale = _meta(oof, up, weight)
        if len(oof.columns) > 1:
            for key in oof.columns:
                keep = [c for c in oof.columns if c != key]
                scorer.without[tuple(keep)] = _meta(oof[keep], up, weight)
        # cross-fitted meta predictions: each fold scored by a meta-model trained on the other
        # folds, purged of labels overlapping it and embargoed after it
        p_oof = np.full(len(oof), np.nan)
        oof_ts = oof.index.get_level_values("ts")
        oof_t1 = labels["t1"].reindex(oof.index)
        for k in range(spec.inner_folds):
            held = folds == k
            train = purged_complement(oof_ts, oof_t1, held, embargo)
            if train.sum() < 100 or len(np.unique(up[train])) < 2:
                continue  # too little purged history: these rows do not train the calibrator
            meta, (mean, std) = _meta(oof[train], up[train], weight[train])
            p_oof[held] = meta.predict_proba(np.nan_to_num((oof[held].to_numpy() - mean) / std))[
                :, 1
            ]
    else:
        p_oof = scorer.combine(oof)
    known = np.isfinite(p_oof)
    scorer.calibrator.fit(p_oof[known], up[known])
    if spec.sizing is not None:
        s = spec.sizing
        agent = SizingAgent(
            s.algo,
            s.timesteps,
            config.costs.fee_bps + config.costs.half_spread_bps,
            s.risk_aversion,
            s.episode_length,
            config.threads,
            config.seed,
        )
        p_up = np.where(known, scorer.calibrator.predict(np.nan_to_num(p_oof, nan=0.5)), np.nan)
        signals = pd.DataFrame(
            {"p_up": p_up, "next_return": next_return.reindex(oof.index)}, index=oof.index
        )
        scorer.agent = agent.fit(signals.dropna())
    return scorer
