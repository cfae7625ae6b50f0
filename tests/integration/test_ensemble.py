"""The heterogeneous ensemble on real data: no look-ahead inside a training window, members on
their own bars aligned on the decision time, and a reduced `edgecraft run` of every family."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.research.config import RunConfig
from edgecraft.research.ensemble import fit_ensemble
from edgecraft.research.fitting import make_labels, next_bar_returns, usable_rows
from edgecraft.research.run import prepare
from edgecraft.signals.calibration import Calibrator
from edgecraft.signals.ensemble import EnsembleScorer, Member
from tests.conftest import ENSEMBLE_RUN


@pytest.fixture(scope="module")
def prepared(layout):
    config = RunConfig(**ENSEMBLE_RUN)
    return config, prepare(config, layout.root)


def _fit(config, prepared, X, labels_24h, until):
    label_sets = {h: make_labels(config, prepared.bars, X, h) for h in ("4h", "48h")}
    label_sets["24h"] = labels_24h
    rows = usable_rows(config, X, labels_24h)
    ts = X.index.get_level_values("ts")[rows]
    t1 = pd.DatetimeIndex(labels_24h["t1"].iloc[rows])
    train = rows[(ts < until - pd.Timedelta("24h")) & (t1 < until)]
    following = next_bar_returns(prepared.bars, X.index)
    return fit_ensemble(config, X, label_sets, train, "24h", until, following)


def test_nothing_at_or_after_the_window_end_reaches_the_fit(prepared):
    config, prep = prepared
    until = pd.Timestamp("2024-01-01", tz="UTC")
    X = prep.X
    labels = make_labels(config, prep.bars, X, "24h")
    fitted = _fit(config, prep, X, labels, until)
    probe = np.flatnonzero(X.index.get_level_values("ts") < until)[-3000:]
    before = fitted.predict(X, probe)

    # scramble every feature row at or after `until` and every bar after it (which moves
    # all labels not known before `until`); an honest fit cannot notice
    rng = np.random.default_rng(0)
    late = X.index.get_level_values("ts") >= until
    X2 = X.copy()
    X2.iloc[late] = rng.normal(size=(int(late.sum()), X.shape[1]))
    bars = prep.bars.copy()
    late_bars = bars.index.get_level_values("ts") > until
    bars.loc[late_bars, "close"] *= rng.uniform(0.5, 1.5, int(late_bars.sum()))
    prep2 = type(prep)(bars, X2, prep.symbols, prep.files, prep.funding)
    refit = _fit(config, prep2, X2, make_labels(config, bars, X2, "24h"), until)
    after = refit.predict(X2, probe)
    pd.testing.assert_frame_equal(before, after)
    assert set(before.columns) >= {"score", "p_up", "score_lstm", "p_up_transformer"}
    assert {"p_without_lgbm", "p_without_lstm"} <= set(before.columns)


def test_a_slower_member_holds_its_prediction_until_its_next_bar(prepared):
    config, prep = prepared
    X = prep.X
    labels = make_labels(config, prep.bars, X, "24h")
    fitted = _fit(config, prep, X, labels, pd.Timestamp("2024-01-01", tz="UTC"))
    (slow,) = [m for m in fitted.members if m.key == "transformer"]
    rows = np.flatnonzero(X.index.get_level_values("ts") >= pd.Timestamp("2024-02-01", tz="UTC"))
    held = slow.scores(X, rows[:400])
    own = slow.raw(X, rows[:400])
    ts = held.index.get_level_values("ts")
    assert (own.index.get_level_values("ts").hour % 4 == 0).all()
    for (t, symbol), value in held.items():
        source = t.floor("4h")
        assert value == pytest.approx(own.loc[(source, symbol)])
    assert (ts.hour % 4 != 0).any()


def test_rules_mode_keeps_only_confirmed_signals():
    rng = np.random.default_rng(1)
    s = rng.normal(size=2000)
    up = (s + rng.normal(size=2000) > 0).astype(float)
    members = [
        Member(key, None, pd.Timedelta("1h"), pd.Timedelta("1h"), "24h", Calibrator("sigmoid"))
        for key in ("fast", "deep")
    ]
    for m in members:
        m.calibrator.fit(s, up)
    scorer = EnsembleScorer(
        members,
        "rules",
        [],
        "24h",
        Calibrator("sigmoid"),
        filter="fast",
        direction="deep",
        filter_confidence=0.6,
    )
    S = pd.DataFrame({"fast": [2.0, -2.0, 0.01, np.nan], "deep": [1.0, 1.0, 1.0, 1.0]})
    p = scorer.combine(S)
    deep = members[1].calibrator.predict(np.array([1.0]))[0]
    assert p[0] == pytest.approx(deep)  # confirmed: the direction member's P(up)
    assert p[1] == 0.5 and p[2] == 0.5  # opposite side, or not confident enough
    assert np.isnan(p[3])


def test_reduced_ensemble_run_trains_every_family(finished_ensemble_run, layout, tmp_path):
    folder = finished_ensemble_run
    metrics = json.loads((folder / "metrics.json").read_text())["horizons"]["24h"]
    components = metrics["components"]
    assert set(components["members"]) == {"lgbm", "xgb", "lstm", "transformer"}
    assert set(components["marginal"]) == set(components["members"])
    for values in [*components["members"].values(), components["ensemble"]]:
        assert values["rank_ic"] is not None and 0 <= values["ece"] < 0.5
    assert metrics["ece"] is not None and metrics["brier"] is not None
    predictions = pd.read_parquet(folder / "predictions_24h.parquet")
    assert predictions["size"].between(0, 1).all() and "rl_position" in predictions
    assert "Ensemble components" in (folder / "report.html").read_text()
    assert json.loads((folder / "onnx_export.json").read_text())["24h"] == "ok"
    graphs = {p.name for p in (folder / "models" / "ensemble_24h").iterdir()}
    assert {f"member_{k}.onnx" for k in components["members"]} | {
        "head.onnx",
        "policy.onnx",
        "ensemble.json",
    } == graphs

    later = CliRunner().invoke(
        app,
        [
            "backtest",
            "--run",
            str(folder),
            "--data",
            str(layout.root),
            "--start",
            "2024-07-01",
            "--out",
            str(tmp_path / "later"),
        ],
    )
    assert later.exit_code == 0, later.output
