"""`edgecraft monitor`: is a finished run still looking at the market it was trained on?

Reference = the run's last `reference` of training rows (features) and its out-of-sample
signals (predictions_{h}.parquet); current = the bars after its last training bar (or from
`since`). Four checks, each with a warn and an alert level:

- feature PSI over the last `recent` of the current window, per input feature;
- a daily level-shift test per feature (`DailyShift`: Bonferroni over features, so a
  stationary day alarms with probability ~`false_alarm`), over the same recent days;
- KL divergence of the recent signal distribution (direction x confidence bin) from the
  reference one;
- IC decay: the realized daily cross-sectional rank IC of the current signals, once their
  horizons have passed, averaged over the last `ic_window`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edgecraft.metrics.ic import ic_by
from edgecraft.monitoring.drift import DailyShift, FeatureReference, kl_divergence
from edgecraft.monitoring.drift import signal_histogram as histogram
from edgecraft.research.artifacts import load_run, trained_to, write_json
from edgecraft.research.fitting import covered
from edgecraft.research.plots import drift_figure
from edgecraft.research.run import Progress, prepare, score_rows
from edgecraft.research.trading import trade_horizon

LEVELS = {"ok": 0, "warn": 1, "alert": 2}


@dataclass(frozen=True)
class MonitorSettings:
    since: str | None = None  # first current bar; None: right after the run's training data
    until: str | None = None  # last current bar (a replay's "now"); None: the last bar there is
    recent: str = "7d"
    reference: str = "365d"
    psi_warn: float = 0.1
    psi_alert: float = 0.25
    kl_warn: float = 0.05
    kl_alert: float = 0.1
    false_alarm: float = 0.02  # per stationary day, all features together
    ic_window: str = "30d"


def _level(value: float | None, warn: float, alert: float) -> str:
    if value is None or not np.isfinite(value):
        return "ok"
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


def _worst(levels) -> str:
    return max(levels, key=LEVELS.__getitem__, default="ok")


def monitor_run(
    run: Path,
    data: Path | None,
    out: Path,
    settings: MonitorSettings = MonitorSettings(),
    progress: Progress | None = None,
) -> dict:
    """Write drift.json, drift_features.csv and drift_report.html to `out`; return the summary
    (its "status" is ok, warn or alert)."""
    config, models = load_run(run)
    prepared = prepare(config.model_copy(update={"start": None, "end": None}), data, progress)
    X = prepared.X
    ts = X.index.get_level_values("ts")
    last_trained = trained_to(run)
    begin = pd.Timestamp(settings.since, tz="UTC") if settings.since else last_trained
    current_mask = ts > begin if settings.since is None else ts >= begin
    if settings.until is not None:
        current_mask &= ts <= pd.Timestamp(settings.until, tz="UTC")
    if not current_mask.any():
        raise ValueError(f"no bars after {begin} in the data: nothing to monitor")
    reference_mask = (ts <= last_trained) & (ts > last_trained - pd.Timedelta(settings.reference))
    if reference_mask.sum() < 1000:
        raise ValueError(f"only {int(reference_mask.sum())} reference rows before {last_trained}")
    last = ts[current_mask].max()
    recent_mask = current_mask & (ts > last - pd.Timedelta(settings.recent))
    reference, recent = X[reference_mask], X[recent_mask]

    psi = pd.Series(
        {
            c: FeatureReference.fit(reference[c].to_numpy()).psi(recent[c].to_numpy())
            for c in X.columns
            if reference[c].notna().sum() >= 100 and recent[c].notna().any()
        },
        name="psi",
    ).sort_values(ascending=False)
    shift = DailyShift.fit(reference, settings.false_alarm)
    z = shift.zscores(X[current_mask])
    alarms = shift.alarms(X[current_mask])
    recent_days = alarms[alarms.index > last - pd.Timedelta(settings.recent)]
    shifted = sorted({f for day in recent_days for f in day})

    horizon = trade_horizon(config)
    signals = score_rows(
        config, prepared, models[horizon], covered(config, X, np.flatnonzero(current_mask)), horizon
    )
    past = pd.read_parquet(run / f"predictions_{horizon}.parquet")
    recent_signals = signals[
        signals.index.get_level_values("ts") > last - pd.Timedelta(settings.recent)
    ]
    kl = kl_divergence(
        histogram(recent_signals["direction"], recent_signals["confidence"]),
        histogram(past["direction"], past["confidence"]),
    )

    day = pd.Series(signals.index.get_level_values("ts").floor("D"), index=signals.index)
    daily_ic = ic_by(signals["score"], signals["ret"], day, "spearman", min_count=3).dropna()
    window = daily_ic[daily_ic.index > daily_ic.index.max() - pd.Timedelta(settings.ic_window)]
    ic_mean = float(window.mean()) if len(window) else None
    ic_t = (
        float(window.mean() / window.std(ddof=1) * np.sqrt(len(window)))
        if len(window) > 2 and window.std(ddof=1) > 0
        else None
    )
    past_day = pd.Series(pd.DatetimeIndex(past["ts"]).floor("D"), index=past.index)
    past_ic = ic_by(past["score"], past["ret"], past_day, "spearman", min_count=3).dropna()
    ic_level = "ok"
    if ic_mean is not None and ic_t is not None:
        se = ic_mean / ic_t if ic_t else np.inf
        if ic_mean < 0 and ic_t < -2:
            ic_level = "alert"  # the signal now points the wrong way
        elif len(past_ic) and ic_mean < past_ic.mean() - 2 * abs(se):
            ic_level = "warn"  # weaker than out of sample in the run

    checks = {
        "feature_psi": _worst(
            [_level(float(psi.max()), settings.psi_warn, settings.psi_alert)] if len(psi) else []
        ),
        "feature_shift": "alert" if shifted else "ok",
        "signal_kl": _level(kl, settings.kl_warn, settings.kl_alert),
        "ic_decay": ic_level,
    }
    summary = {
        "status": _worst(checks.values()),
        "checks": checks,
        "run": str(run),
        "trained_to": str(last_trained),
        "current": [str(ts[current_mask].min()), str(last)],
        "settings": asdict(settings),
        "psi_max": float(psi.max()) if len(psi) else None,
        "psi_alert_features": list(psi.index[psi >= settings.psi_alert]),
        "psi_warn_features": list(
            psi.index[(psi >= settings.psi_warn) & (psi < settings.psi_alert)]
        ),
        "shifted_features": shifted,
        "shift_threshold_z": shift.threshold,
        "days_judged": int(len(alarms)),
        "days_alarmed": int((alarms.str.len() > 0).sum()),
        "signal_kl": kl,
        "ic_window_mean": ic_mean,
        "ic_window_t": ic_t,
        "ic_days": int(len(daily_ic)),
        "ic_reference_mean": float(past_ic.mean()) if len(past_ic) else None,
        "reference_rows": int(reference_mask.sum()),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "drift.json", summary)
    pd.DataFrame({"psi": psi}).to_csv(out / "drift_features.csv", index_label="feature")
    _report(out / "drift_report.html", summary, psi, z, shift.threshold, daily_ic)
    return summary


def _report(path: Path, summary: dict, psi, z, threshold, daily_ic) -> None:
    fig = drift_figure(
        psi, z, threshold, daily_ic, summary["settings"]["psi_alert"], summary["status"]
    )
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in summary["checks"].items())
    path.write_text(
        "<html><head><meta charset='utf-8'><title>edgecraft drift report</title></head>"
        f"<body style='font-family:sans-serif'><h1>Drift: {summary['status']}</h1>"
        f"<p>run {summary['run']}, trained to {summary['trained_to']}; current "
        f"{summary['current'][0]} .. {summary['current'][1]}</p>"
        f"<table border='1' cellpadding='4'>{rows}</table>"
        f"<pre>{json.dumps({k: v for k, v in summary.items() if k != 'checks'}, indent=1)}</pre>"
        + fig.to_html(full_html=False, include_plotlyjs=True)
        + "</body></html>"
    )


def shifted_funding_copy(data: Path, target: Path, start: str, shift: float) -> Path:
    """A drift drill: `data` with every funding series moved up by `shift` of its standard
    deviations from `start` on (bars and the rest linked, not copied), for replaying what the
    monitor and the retraining do when a regime the model never saw arrives."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in data.iterdir():
        if entry.name != "funding" and not (target / entry.name).exists():
            (target / entry.name).symlink_to(entry.resolve())
    (target / "funding").mkdir(exist_ok=True)
    for path in sorted((data / "funding").glob("*.parquet")):
        frame = pd.read_parquet(path)
        late = frame["timestamp"] >= pd.Timestamp(start, tz="UTC")
        frame.loc[late, "funding_rate"] += shift * frame["funding_rate"].std()
        frame.to_parquet(target / "funding" / path.name, index=False)
    for path in (data / "funding").iterdir():
        if path.suffix != ".parquet":
            shutil.copy(path, target / "funding" / path.name)
    return target
