"""The deployable form of an ensemble: every part an ONNX graph, run by ONNX Runtime.

`export_ensemble` writes, per member, one graph of the model and its calibrator (outputs
"score" and "p_up"; a sequence member reads scaled windows (n, lookback, features)); one head
graph (stack: the meta-model and the final calibrator; rules: the final calibrator); the sizing
policy when there is one; and `ensemble.json`, the manifest that says how they fit together
(bars, windows and their scaling, the combination rule, the policy's cost). Each graph is
checked against the training libraries on real held-out rows (within `PARITY`) and a failed
check raises `ParityError`. `load_ensemble` turns the files back into a `LiveEnsemble`.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
from onnx import TensorProto, helper

from edgecraft.models.onnx_export import (
    INPUT,
    SCORE,
    model_to_onnx,
    policy_to_onnx,
    sequence_to_onnx,
    stack_head_to_onnx,
)
from edgecraft.models.sequence import Windows
from edgecraft.signals.calibration import calibration_nodes
from edgecraft.signals.ensemble import EnsembleScorer, confirm_rule
from edgecraft.signals.live_ensemble import (
    LiveEnsemble,
    LiveMember,
    Sizing,
    eager_ensemble,
    eager_member,
)
from edgecraft.signals.onnx_scorer import P_UP, PARITY, ExportError, ParityError

MANIFEST = "ensemble.json"
VERSION = 1


def session(graph: bytes, threads: int = 1) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def _calibrated(graph: onnx.ModelProto, calibrator, score: str = SCORE) -> bytes:
    """`graph` with `calibrator` appended: a second output "p_up"."""
    nodes, inits = calibration_nodes(calibrator, score, P_UP)
    graph.graph.node.extend(nodes)
    graph.graph.initializer.extend(inits)
    graph.graph.output.append(helper.make_tensor_value_info(P_UP, TensorProto.FLOAT, [None]))
    onnx.checker.check_model(graph)
    return graph.SerializeToString()


def _check(what: str, expected: np.ndarray, got: np.ndarray, rows: int) -> None:
    expected, got = np.asarray(expected, np.float64), np.asarray(got, np.float64)
    both = np.isfinite(expected) & np.isfinite(got)
    if (np.isfinite(expected) != np.isfinite(got)).any():
        raise ParityError(f"ONNX export of {what}: NaN where the trained model has a value")
    worst = float(np.max(np.abs(expected[both] - got[both]), initial=0.0))
    if not worst <= PARITY:
        raise ParityError(
            f"ONNX export of {what} differs from the trained model by {worst:.2e} on "
            f"{rows} real rows (limit {PARITY})"
        )


def export_ensemble(scorer: EnsembleScorer, sample: pd.DataFrame) -> dict[str, bytes]:
    """File name -> bytes of the ensemble's ONNX graphs and manifest, each graph checked on
    `sample` (real feature rows the final model did not train on, index (ts, symbol))."""
    if not isinstance(scorer, EnsembleScorer):
        raise ExportError(f"not an ensemble: {type(scorer).__name__}")
    if len(sample) < 2:
        raise ExportError("the parity check needs at least two held-out rows")
    eager = eager_ensemble(scorer)
    frame = sample[scorer.columns]
    files: dict[str, bytes] = {}
    members, S, P = [], [], []
    for m, live in zip(scorer.members, eager.members, strict=True):
        data, entry, score, p = _export_member(m.model, m.calibrator, live, frame)
        files[f"member_{m.key}.onnx"] = data
        members.append(entry)
        S.append(score)
        P.append(p)
    S, P = np.column_stack(S), np.column_stack(P)
    S[::7, 0] = np.nan  # the head must also read a member that has no score yet
    head = scorer.calibrator
    if scorer.mode == "stack":
        mean, std = scorer.scale
        files["head.onnx"] = _calibrated(stack_head_to_onnx(scorer.meta, mean, std), head, "p")
    else:
        files["head.onnx"] = _calibrated(_identity("p"), head, "p")
    manifest = {
        "version": VERSION,
        "horizon": scorer.horizon,
        "columns": list(scorer.columns),
        "mode": scorer.mode,
        "filter": scorer.filter,
        "direction": scorer.direction,
        "filter_confidence": scorer.filter_confidence,
        "members": members,
        "sizing": None,
    }
    if scorer.agent is not None:
        files["policy.onnx"] = policy_to_onnx(scorer.agent).SerializeToString()
        manifest["sizing"] = {"algo": scorer.agent.algo, "cost": scorer.agent.cost_bps / 1e4}
    files[MANIFEST] = json.dumps(manifest).encode()
    served = load_ensemble(files)
    p_eager, p_onnx = eager.head(S, P), served.head(S, P)
    _check("the head (meta-model and calibrator)", p_eager, p_onnx, len(frame))
    _check("the head's score", eager.score_of(S, P), served.score_of(S, P), len(frame))
    if scorer.agent is not None:
        obs = _observations(p_eager, np.random.default_rng(0))
        _check("the sizing policy", eager.sizing.act(obs), served.sizing.act(obs), len(obs))
    return files


def _export_member(
    model, calibrator, live: LiveMember, frame: pd.DataFrame
) -> tuple[bytes, dict, np.ndarray, np.ndarray]:
    """One member's graph (`model` and its `calibrator`), checked on `frame` against its eager
    stream member `live`: (graph, manifest entry, the eager scores and calibrated P(up))."""
    if live.lookback > 1:
        windows = Windows(frame, live.center, live.spread, live.lookback)
        inputs = windows.batch(np.arange(len(frame))).numpy()
        graph = sequence_to_onnx(model)
    else:
        inputs = frame.to_numpy(np.float32)
        graph = model_to_onnx(model, frame.shape[1])
    data = _calibrated(graph, calibrator)
    score, p = session(data).run([SCORE, P_UP], {INPUT: inputs})
    expected_score, expected_p = live.run(inputs)
    _check(f"member {live.key} (score)", expected_score, score, len(frame))
    _check(f"member {live.key} (calibrated)", expected_p, p, len(frame))
    entry = {"key": live.key, "bar_ns": int(live.bar_ns), "lookback": live.lookback}
    if live.lookback > 1:
        entry |= {"center": live.center.tolist(), "spread": live.spread.tolist()}
    return data, entry, expected_score, expected_p


def export_sequence(scorer, sample: pd.DataFrame, bar: pd.Timedelta) -> dict[str, bytes]:
    """A run whose model is one sequence model (LSTM, Transformer) on bars of `bar`: its graph
    and a manifest of mode "single", streamed as an ensemble of one member, checked on
    `sample` as every member is."""
    if len(sample) < 2:
        raise ExportError("the parity check needs at least two held-out rows")
    live = eager_member("model", scorer.model, scorer.calibrator, bar.value)
    data, entry, _, _ = _export_member(
        scorer.model, scorer.calibrator, live, sample[scorer.columns]
    )
    manifest = {
        "version": VERSION,
        "horizon": scorer.horizon,
        "columns": list(scorer.columns),
        "mode": "single",
        "members": [entry],
        "sizing": None,
    }
    return {"member_model.onnx": data, MANIFEST: json.dumps(manifest).encode()}


def _identity(name: str) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["p_in"], [name])],
        "rules_head",
        [helper.make_tensor_value_info("p_in", TensorProto.FLOAT, [None])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])


def _observations(p_up: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Agent observations from real ensemble P(up), with the agent's own book varied."""
    signal = np.clip(np.nan_to_num(2.0 * p_up - 1.0), -1.0, 1.0)
    n = len(signal)
    return np.column_stack(
        [
            signal,
            np.abs(signal),
            rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], n),
            rng.uniform(0.0, 5.0, n),
            -rng.exponential(0.05, n),
        ]
    ).astype(np.float32)


def load_ensemble(files: dict[str, bytes], threads: int = 1) -> LiveEnsemble:
    """A `LiveEnsemble` on ONNX Runtime from the files `export_ensemble` wrote; a manifest of
    another version or missing a graph is refused (ValueError)."""
    manifest = json.loads(files[MANIFEST])
    if manifest.get("version") != VERSION:
        raise ValueError(
            f"{MANIFEST}: version {manifest.get('version')!r}, this edgecraft reads {VERSION}"
        )
    members = []
    for entry in manifest["members"]:
        name = f"member_{entry['key']}.onnx"
        if name not in files:
            raise ValueError(f"{MANIFEST} names {name}, which is missing")
        graph = session(files[name], threads)

        def run(x, graph=graph):
            score, p = graph.run([SCORE, P_UP], {INPUT: x})
            return score.astype(np.float64), np.clip(p.astype(np.float64), 0.0, 1.0)

        lookback = int(entry["lookback"])
        scale = (
            (np.asarray(entry["center"], np.float32), np.asarray(entry["spread"], np.float32))
            if lookback > 1
            else (None, None)
        )
        members.append(LiveMember(entry["key"], int(entry["bar_ns"]), run, lookback, *scale))
    if manifest["mode"] == "single":  # one model: its own score and calibrated P(up)

        def combine(S: np.ndarray, P: np.ndarray) -> np.ndarray:
            return P[:, 0]

        def score_of(S: np.ndarray, P: np.ndarray) -> np.ndarray:
            return S[:, 0]

        return LiveEnsemble(
            members, combine, manifest["columns"], manifest["horizon"], None, {}, score_of, "single"
        )
    if "head.onnx" not in files:
        raise ValueError(f"{MANIFEST} of an ensemble without head.onnx")
    head = session(files["head.onnx"], threads)
    keys = [m.key for m in members]
    if manifest["mode"] == "stack":

        def combine(S: np.ndarray, P: np.ndarray) -> np.ndarray:
            (p,) = head.run([P_UP], {"s": S.astype(np.float32)})
            return np.clip(p.astype(np.float64), 0.0, 1.0)

        def score_of(S: np.ndarray, P: np.ndarray) -> np.ndarray:
            (p,) = head.run(["p"], {"s": S.astype(np.float32)})
            return p.astype(np.float64) - 0.5
    else:
        d, f = keys.index(manifest["direction"]), keys.index(manifest["filter"])
        confidence = float(manifest["filter_confidence"])

        def combine(S: np.ndarray, P: np.ndarray) -> np.ndarray:
            p = confirm_rule(P[:, d], P[:, f], confidence)
            (out,) = head.run([P_UP], {"p_in": np.nan_to_num(p, nan=0.5).astype(np.float32)})
            return np.where(np.isfinite(p), np.clip(out.astype(np.float64), 0.0, 1.0), np.nan)

        def score_of(S: np.ndarray, P: np.ndarray) -> np.ndarray:
            return confirm_rule(P[:, d], P[:, f], confidence) - 0.5

    sizing = None
    if manifest.get("sizing") is not None:
        policy = session(files["policy.onnx"], threads)

        def act(obs: np.ndarray) -> np.ndarray:
            (position,) = policy.run(["position"], {"obs": np.asarray(obs, np.float32)})
            return position.astype(np.float64)

        sizing = Sizing(act, float(manifest["sizing"]["cost"]))
    return LiveEnsemble(
        members,
        combine,
        manifest["columns"],
        manifest["horizon"],
        sizing,
        {},
        score_of,
        manifest["mode"],
    )
