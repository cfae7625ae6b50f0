"""Export a trained model to an ONNX graph whose one output, "score", is the registry's `score`."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxmltools import convert_lightgbm, convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType

from edgecraft.models.gbdt import LightGBMClassifier, XGBoostClassifier

OPSET = 15  # the newest the tree converters support
INPUT, SCORE = "x", "score"


def model_to_onnx(model, n_features: int) -> onnx.ModelProto:
    """ONNX graph: input "x" (n, n_features) float32 -> output "score" (n,) float32."""
    types = [(INPUT, FloatTensorType([None, n_features]))]
    if isinstance(model, LightGBMClassifier):
        graph = convert_lightgbm(
            model.estimator_.booster_ if model.is_classifier else model.estimator_,
            initial_types=types,
            target_opset=OPSET,
            zipmap=False,
        )
    elif isinstance(model, XGBoostClassifier):
        graph = convert_xgboost(model.estimator_, initial_types=types, target_opset=OPSET)
    else:
        raise TypeError(f"no ONNX exporter for {type(model).__name__}")
    return _with_score(graph, model.is_classifier)


def _with_score(graph: onnx.ModelProto, is_classifier: bool) -> onnx.ModelProto:
    main = [e for e in graph.opset_import if e.domain in ("", "ai.onnx")]
    for entry in main:  # the nodes appended here use opset-15 signatures
        entry.version = max(entry.version, OPSET)
    if not main:
        graph.opset_import.append(helper.make_opsetid("", OPSET))
    outputs = [o.name for o in graph.graph.output]
    g = graph.graph
    if is_classifier:
        probabilities = next(o for o in outputs if "prob" in o)
        # classes are ordered down < (flat) < up: score = P(last) - P(first)
        g.initializer.extend(
            [
                numpy_helper.from_array(np.array([0], np.int64), "first_i"),
                numpy_helper.from_array(np.array([-1], np.int64), "last_i"),
            ]
        )
        g.node.extend(
            [
                helper.make_node("Gather", [probabilities, "last_i"], ["p_last"], axis=1),
                helper.make_node("Gather", [probabilities, "first_i"], ["p_first"], axis=1),
                helper.make_node("Sub", ["p_last", "p_first"], ["score_2d"]),
            ]
        )
    else:
        g.node.append(helper.make_node("Identity", [outputs[0]], ["score_2d"]))
    g.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), "flat_shape"))
    g.node.append(helper.make_node("Reshape", ["score_2d", "flat_shape"], [SCORE]))
    del g.output[:]
    g.output.append(helper.make_tensor_value_info(SCORE, TensorProto.FLOAT, [None]))
    return graph
