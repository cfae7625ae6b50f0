"""The ensemble bar by bar, on real data: the stream on the training libraries equals the batch
predictions, the stream on ONNX Runtime equals that within the export's parity, its state
survives the live state's codec, and the export refuses a graph that disagrees with the model."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from edgecraft.live.codec import decode, encode
from edgecraft.research.config import RunConfig
from edgecraft.research.ensemble import fit_ensemble
from edgecraft.research.fitting import make_labels, next_bar_returns, predict_rows, usable_rows
from edgecraft.research.run import prepare
from edgecraft.signals.live_ensemble import eager_ensemble
from edgecraft.signals.onnx_ensemble import MANIFEST, export_ensemble, load_ensemble
from edgecraft.signals.onnx_scorer import ParityError
from tests.conftest import ENSEMBLE_RUN

UNTIL = pd.Timestamp("2024-03-01", tz="UTC")  # the ensemble trains on labels known before


@pytest.fixture(scope="module")
def fitted(layout):
    """An ensemble of every family fitted before UNTIL, its data and held-out feature rows."""
    # an agent trained briefly enough that its positions still vary over two weeks
    sizing = {"algo": "ppo", "timesteps": 1000}
    config = RunConfig(
        **{**ENSEMBLE_RUN, "ensemble": {**ENSEMBLE_RUN["ensemble"], "sizing": sizing}}
    )
    prepared = prepare(config, layout.root)
    X = prepared.X
    label_sets = {h: make_labels(config, prepared.bars, X, h) for h in ("4h", "24h", "48h")}
    rows = usable_rows(config, X, label_sets["24h"])
    ts = X.index.get_level_values("ts")[rows]
    t1 = pd.DatetimeIndex(label_sets["24h"]["t1"].iloc[rows])
    train = rows[(ts < UNTIL - pd.Timedelta("24h")) & (t1 < UNTIL)]
    following = next_bar_returns(prepared.bars, X.index)
    scorer = fit_ensemble(config, X, label_sets, train, "24h", UNTIL, following)
    all_ts = X.index.get_level_values("ts")
    sample = X[(all_ts >= UNTIL) & (all_ts < UNTIL + pd.Timedelta("7D"))]
    return scorer, prepared, following, sample


def _stream(live, prepared, start, end) -> pd.DataFrame:
    """Feed the rows of [start, end) one bar close at a time; P(up) and sizing per row."""
    X = prepared.X
    ts = X.index.get_level_values("ts")
    part = X[(ts >= start) & (ts < end)]
    close = prepared.bars["close"]
    out = []
    for t, rows in part.groupby(level="ts", sort=True):
        p, position = live.on_rows(
            t,
            list(rows.index.get_level_values("symbol")),
            rows[live.columns].to_numpy(),
            close.reindex(rows.index).to_numpy(),
        )
        out.append(pd.DataFrame({"p_up": p, "rl_position": position}, index=rows.index))
    return pd.concat(out)


def test_the_stream_equals_batch_and_onnx_equals_the_stream(fitted):
    scorer, prepared, following, sample = fitted
    X = prepared.X
    ts = X.index.get_level_values("ts")
    start, end = UNTIL, UNTIL + pd.Timedelta("14D")
    batch = predict_rows(scorer, X, np.flatnonzero((ts >= start) & (ts < end)), following)
    served = load_ensemble(export_ensemble(scorer, sample))
    for name, live, tolerance in (
        ("libraries", eager_ensemble(scorer), 1e-12),
        ("onnx", served, 1e-5),
    ):
        _stream(live, prepared, start - pd.Timedelta("20D"), start)  # windows and held scores
        live.reset_sizing()  # the agent's book starts where the batch one does
        got = _stream(live, prepared, start, end)
        expected = batch.reindex(got.index)
        assert len(got) == len(batch) > 900
        assert (got["p_up"].isna() == expected["p_up"].isna()).all(), name
        worst = np.nanmax(np.abs(got["p_up"] - expected["p_up"]))
        assert worst <= tolerance, (name, worst)
        changed = (got["rl_position"] != expected["rl_position"]).sum()
        assert changed == 0, f"{name}: {changed} sizing positions differ"
        assert expected["rl_position"].nunique() > 1  # the agent does size


def test_the_stream_state_survives_the_codec_and_a_wrong_one_is_refused(fitted):
    scorer, prepared, _, sample = fitted
    files = export_ensemble(scorer, sample)
    first, second = load_ensemble(files), load_ensemble(files)
    day = pd.Timedelta("1D")
    _stream(first, prepared, UNTIL - 10 * day, UNTIL)
    state = decode(encode(first.snapshot()))  # the live state's own format, not pickle
    second.restore(state)
    a = _stream(first, prepared, UNTIL, UNTIL + 3 * day)
    b = _stream(second, prepared, UNTIL, UNTIL + 3 * day)
    pd.testing.assert_frame_equal(a, b)

    wrong = copy.deepcopy(state)
    wrong["members"].pop(next(iter(wrong["members"])))
    with pytest.raises(ValueError, match="ensemble state for members"):
        second.restore(wrong)
    sequence = next(m.key for m in second.members if m.lookback > 1)
    symbol = next(iter(state["members"][sequence]))
    wrong = copy.deepcopy(state)
    wrong["members"][sequence][symbol]["window"] = [[0.0]]
    with pytest.raises(ValueError, match="window of shape"):
        second.restore(wrong)
    manifest = json.loads(files[MANIFEST])
    with pytest.raises(ValueError, match="version"):
        load_ensemble({**files, MANIFEST: json.dumps({**manifest, "version": 99}).encode()})


def test_the_export_refuses_a_graph_that_disagrees_and_leaves_the_model_as_it_was(
    fitted, monkeypatch
):
    import edgecraft.signals.onnx_ensemble as onnx_ensemble
    from edgecraft.models.onnx_export import sequence_to_onnx

    scorer, prepared, _, sample = fitted
    before = scorer.predict(prepared.X, np.arange(len(prepared.X) - 500, len(prepared.X)))
    export_ensemble(scorer, sample)
    after = scorer.predict(prepared.X, np.arange(len(prepared.X) - 500, len(prepared.X)))
    pd.testing.assert_frame_equal(before, after)  # exporting put no network back in training

    def perturbed(model):
        other = copy.deepcopy(model)
        with __import__("torch").no_grad():
            for parameter in other.net_.parameters():
                parameter.add_(0.05)
        return sequence_to_onnx(other)

    monkeypatch.setattr(onnx_ensemble, "sequence_to_onnx", perturbed)
    with pytest.raises(ParityError, match=r"member (lstm|transformer) \(score\)"):
        export_ensemble(scorer, sample)


def _compare(got: pd.DataFrame, expected: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        a, b = got[column].to_numpy(), expected[column].to_numpy()
        assert (np.isnan(a) == np.isnan(b)).all(), column
        worst = np.nanmax(np.abs(a - b))
        assert worst <= 1e-5, (column, worst)


def test_a_deployed_run_predicts_frames_as_its_trained_models_do(fitted):
    """What `edgecraft backtest`, paper A/B and the monitor score with, from ONNX and JSON only:
    an ensemble (members, head and sizing), one of its sequence members alone and one of its
    tabular members alone, over rows starting off the 4h member's bar."""
    from edgecraft.signals.deployed import Deployed
    from edgecraft.signals.onnx_ensemble import export_sequence
    from edgecraft.signals.onnx_scorer import OnnxScorer, export_scorer
    from edgecraft.signals.scorer import Scorer

    scorer, prepared, following, sample = fitted
    X = prepared.X
    ts = X.index.get_level_values("ts")
    start = UNTIL + pd.Timedelta("5h")  # no 4h member score is held from before the rows
    rows = np.flatnonzero((ts >= start) & (ts < start + pd.Timedelta("12D")))
    expected = predict_rows(scorer, X, rows, following)
    deployed = Deployed(load_ensemble(export_ensemble(scorer, sample)))
    got = predict_rows(deployed, X, rows, following)
    assert got.index.equals(expected.index) and len(got) > 800
    members = [c for c in expected if c.startswith(("score_", "p_up_"))]
    _compare(got, expected, ["score", "p_up", *members])
    assert expected[members].isna().any().any()  # the slower member has no score at first
    assert (got["rl_position"] != expected["rl_position"]).sum() == 0

    bar = pd.Timedelta("1h")
    for member in scorer.members:
        alone = Scorer(member.model, member.calibrator, list(scorer.columns), "24h")
        if member.bar == bar and getattr(member.model, "lookback", 1) > 1:
            served = Deployed(load_ensemble(export_sequence(alone, sample, bar)))
        elif getattr(member.model, "lookback", 1) == 1:
            served = Deployed(OnnxScorer(export_scorer(alone, sample), alone.columns, "24h"))
        else:
            continue
        _compare(served.predict(X, rows), alone.predict(X, rows), ["score", "p_up"])


def test_a_sac_policy_exports_with_parity(real_bars):
    from edgecraft.models.onnx_export import policy_to_onnx
    from edgecraft.models.rl import SizingAgent
    from edgecraft.signals.onnx_ensemble import _observations, session

    btc = real_bars.xs("BTC/USDT", level="symbol").iloc[-3000:]
    frame = pd.DataFrame(
        {
            "p_up": np.random.default_rng(1).uniform(0.3, 0.7, len(btc)),
            "next_return": btc["close"].pct_change().shift(-1).fillna(0.0).to_numpy(),
        },
        index=pd.MultiIndex.from_product([btc.index, ["BTC/USDT"]], names=["ts", "symbol"]),
    )
    agent = SizingAgent("sac", timesteps=700, episode_length=128).fit(frame)
    obs = _observations(frame["p_up"].to_numpy(), np.random.default_rng(2))
    eager, _ = agent._loaded().predict(obs, deterministic=True)
    (onnx,) = session(policy_to_onnx(agent).SerializeToString()).run(["position"], {"obs": obs})
    np.testing.assert_allclose(onnx, np.clip(eager[:, 0], -1, 1), atol=1e-5)
    assert np.ptp(onnx) > 0
