"""Export a trained model to an ONNX graph whose one output, "score", is the registry's `score`."""

from __future__ import annotations

import warnings

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


def sequence_to_onnx(model) -> onnx.ModelProto:
    """A fitted LSTM / Transformer classifier as a graph: input "x" (n, lookback, n_features),
    windows already scaled as `models.sequence.Windows` scales them -> output "score" (n,),
    P(last class) - P(first class)."""
    import torch

    class Score(torch.nn.Module):
        def __init__(self, net) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            p = torch.softmax(self.net(x), dim=1)
            return p[:, -1] - p[:, 0]

    net = model.net_.to("cpu").eval()
    example = torch.zeros(1, model.lookback, len(model.columns_))  # batch 1: see torch#28703
    return _torch_graph(Score(net), example, "score")


def policy_to_onnx(agent) -> onnx.ModelProto:
    """A fitted SizingAgent's deterministic policy: input "obs" (n, 5) -> output "position"
    (n,), the target position in [-1, 1] (PPO: its argmax level; SAC: the squashed mean)."""
    import torch

    from edgecraft.models.rl import LEVELS

    model = agent._loaded()
    policy = model.policy.to("cpu").eval()

    class PPOPosition(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.policy = policy
            self.register_buffer("levels", torch.tensor(LEVELS, dtype=torch.float32))

        def forward(self, obs):
            features = self.policy.extract_features(obs, self.policy.pi_features_extractor)
            logits = self.policy.action_net(self.policy.mlp_extractor.forward_actor(features))
            return self.levels[torch.argmax(logits, dim=1)]

    class SACPosition(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.actor = policy.actor

        def forward(self, obs):
            mean, _, _ = self.actor.get_action_dist_params(obs)
            return torch.clamp(torch.tanh(mean)[:, 0], -1.0, 1.0)

    module = PPOPosition() if agent.algo == "ppo" else SACPosition()
    return _torch_graph(module, torch.zeros(2, 5), "position", inputs="obs")


def _torch_graph(module, example, output: str, inputs: str = INPUT) -> onnx.ModelProto:
    """Trace `module` on `example` (batch axis dynamic) with the TorchScript exporter. The
    module goes in eval mode (the exporter restores the mode it finds, recursively: a wrapper
    left in training mode would put the fitted network back into dropout)."""
    import io

    import torch

    module.eval()

    buffer = io.BytesIO()
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # trace the plain attention ops
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the tracer's shape notes and the LSTM batch-size warning: the parity check runs
            # many-row batches through the graph
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(
                module,
                (example,),
                buffer,
                input_names=[inputs],
                output_names=[output],
                dynamic_axes={inputs: {0: "n"}, output: {0: "n"}},
                opset_version=17,
                dynamo=False,
            )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return onnx.load_from_string(buffer.getvalue())


def stack_head_to_onnx(meta, mean: np.ndarray, std: np.ndarray) -> onnx.ModelProto:
    """The stacking meta-model: input "s" (n, k) member scores (NaN where a member has none)
    -> "p" (n,) = logistic(nan_to_num((s - mean) / std) . w + b), as `EnsembleScorer.combine`."""
    k = len(mean)
    inits = [
        numpy_helper.from_array(np.asarray(mean, np.float32).reshape(1, k), "meta_mean"),
        numpy_helper.from_array(np.asarray(std, np.float32).reshape(1, k), "meta_std"),
        numpy_helper.from_array(np.asarray(meta.coef_, np.float32).reshape(k, 1), "meta_w"),
        numpy_helper.from_array(np.asarray(meta.intercept_, np.float32).reshape(1), "meta_b"),
        numpy_helper.from_array(np.zeros(1, np.float32), "meta_zero"),
        numpy_helper.from_array(np.array([-1], np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Sub", ["s", "meta_mean"], ["meta_c"]),
        helper.make_node("Div", ["meta_c", "meta_std"], ["meta_z0"]),
        helper.make_node("IsNaN", ["meta_z0"], ["meta_nan"]),
        helper.make_node("Where", ["meta_nan", "meta_zero", "meta_z0"], ["meta_z"]),
        helper.make_node("MatMul", ["meta_z", "meta_w"], ["meta_l0"]),
        helper.make_node("Add", ["meta_l0", "meta_b"], ["meta_l"]),
        helper.make_node("Sigmoid", ["meta_l"], ["meta_p2"]),
        helper.make_node("Reshape", ["meta_p2", "flat_shape"], ["p"]),
    ]
    graph = helper.make_graph(
        nodes,
        "stack_head",
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, [None, k])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
