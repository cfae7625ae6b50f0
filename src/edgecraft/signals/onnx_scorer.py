"""The deployable form of a Scorer: one ONNX graph (model + calibrator), run by ONNX Runtime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
from onnx import TensorProto, helper

from edgecraft.models.onnx_export import INPUT, SCORE, model_to_onnx
from edgecraft.signals.calibration import calibration_nodes
from edgecraft.signals.scorer import Scorer

P_UP = "p_up"
PARITY = 1e-5  # the largest output difference an export may show, or it fails


class ExportError(ValueError):
    """The model cannot be exported to one ONNX graph (no exporter for its kind)."""


class ParityError(ExportError):
    """The exported graph does not reproduce the trained model closely enough."""


def export_scorer(scorer: Scorer, sample: pd.DataFrame) -> bytes:
    """Serialize model + calibrator as one ONNX graph with outputs "score" and "p_up"; check on
    `sample` (real feature rows) that ONNX Runtime matches the training libraries within 1e-5."""
    if not isinstance(scorer, Scorer):
        raise ExportError(
            f"only a single tabular model exports to one ONNX graph; the {scorer.horizon} "
            f"model is a {type(scorer).__name__}"
        )
    graph = model_to_onnx(scorer.model, len(scorer.columns))
    nodes, inits = calibration_nodes(scorer.calibrator, SCORE, P_UP)
    graph.graph.node.extend(nodes)
    graph.graph.initializer.extend(inits)
    graph.graph.output.append(helper.make_tensor_value_info(P_UP, TensorProto.FLOAT, [None]))
    onnx.checker.check_model(graph)
    data = graph.SerializeToString()
    expected = scorer.predict(sample)
    score, p_up = OnnxScorer(data, scorer.columns, scorer.horizon).predict_array(
        sample[scorer.columns].to_numpy()
    )
    worst = max(
        np.max(np.abs(score - expected["score"].to_numpy()), initial=0.0),
        np.max(np.abs(p_up - expected["p_up"].to_numpy()), initial=0.0),
    )
    if not worst <= PARITY:
        raise ParityError(
            f"ONNX export of the {scorer.horizon} model differs from the trained "
            f"model by {worst:.2e} on {len(sample)} real rows (limit {PARITY})"
        )
    return data


class OnnxScorer:
    """`Scorer`'s interface on ONNX Runtime: what serving runs, not the training libraries."""

    def __init__(self, graph: bytes, columns: list[str], horizon: str, threads: int = 1) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.columns = columns
        self.horizon = horizon

    def predict_array(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        score, p_up = self.session.run([SCORE, P_UP], {INPUT: np.asarray(x, dtype=np.float32)})
        return score.astype(np.float64), np.clip(p_up.astype(np.float64), 0.0, 1.0)

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        score, p_up = self.predict_array(X[self.columns].to_numpy())
        return pd.DataFrame({"score": score, "p_up": p_up}, index=X.index)

    def on_rows(self, ts, symbols, x: np.ndarray, close) -> tuple[np.ndarray, None]:
        """The Engine's call for one bar close: P(up) per row; a single model sizes nothing."""
        return self.predict_array(x)[1], None
