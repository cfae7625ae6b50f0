"""Map a model's raw score to a calibrated P(up), fitted on training-period data only."""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

METHODS = ("isotonic", "sigmoid")


class Calibrator:
    """Isotonic regression or Platt scaling of score -> P(realized return > 0)."""

    def __init__(self, method: str = "isotonic") -> None:
        if method not in METHODS:
            raise ValueError(f"calibration method must be one of {METHODS}, was {method!r}")
        self.method = method

    def fit(
        self, score: np.ndarray, up: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> Calibrator:
        s = np.asarray(score, dtype=np.float64)
        y = np.asarray(up, dtype=np.float64)
        if len(np.unique(y)) < 2:
            raise ValueError("calibration needs both up and down outcomes")
        if self.method == "isotonic":
            self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
                s, y, sample_weight=sample_weight
            )
        else:
            self.model_ = LogisticRegression(C=1e6).fit(
                s.reshape(-1, 1), y, sample_weight=sample_weight
            )
        return self

    def predict(self, score: np.ndarray) -> np.ndarray:
        """Calibrated P(up) in [0, 1]."""
        s = np.asarray(score, dtype=np.float64)
        if self.method == "isotonic":  # the fitted step function, read without sklearn overhead
            model = self.model_
            return np.clip(np.interp(s, model.X_thresholds_, model.y_thresholds_), 0.0, 1.0)
        return self.model_.predict_proba(s.reshape(-1, 1))[:, 1]


def calibration_nodes(calibrator: Calibrator, score: str, out: str) -> tuple[list, list]:
    """ONNX nodes and initializers mapping tensor `score` (n,) to `out` = calibrated P(up).

    Isotonic: linear interpolation between the fitted thresholds, clipped at both ends (as
    `np.interp`); sigmoid: the fitted logistic function.
    """
    from onnx import helper, numpy_helper

    model = calibrator.model_
    if calibrator.method == "sigmoid":
        inits = [
            numpy_helper.from_array(np.array([model.coef_[0, 0]], np.float32), "cal_a"),
            numpy_helper.from_array(np.array([model.intercept_[0]], np.float32), "cal_b"),
        ]
        nodes = [
            helper.make_node("Mul", [score, "cal_a"], ["cal_ax"]),
            helper.make_node("Add", ["cal_ax", "cal_b"], ["cal_z"]),
            helper.make_node("Sigmoid", ["cal_z"], [out]),
        ]
        return nodes, inits
    xs = np.asarray(model.X_thresholds_, dtype=np.float32)
    ys = np.asarray(model.y_thresholds_, dtype=np.float32)
    if len(xs) == 1:  # a constant calibrator
        xs, ys = np.r_[xs, xs + 1.0].astype(np.float32), np.r_[ys, ys].astype(np.float32)
    inner = xs[1:-1].reshape(1, -1)
    inits = [
        numpy_helper.from_array(a, n)
        for a, n in (
            (xs, "cal_x"),
            (ys, "cal_y"),
            (inner, "cal_inner"),
            (np.array([xs[0]]), "cal_lo"),
            (np.array([xs[-1]]), "cal_hi"),
            (np.array([-1, 1], np.int64), "cal_col"),
            (np.array([1], np.int64), "cal_axis"),
            (np.array([1], np.int64), "cal_one"),
            (np.array([1e-30], np.float32), "cal_eps"),
        )
    ]
    nodes = [
        helper.make_node("Max", [score, "cal_lo"], ["cal_s0"]),
        helper.make_node("Min", ["cal_s0", "cal_hi"], ["cal_s"]),
        helper.make_node("Reshape", ["cal_s", "cal_col"], ["cal_sc"]),
        helper.make_node("Less", ["cal_inner", "cal_sc"], ["cal_below"]),
        helper.make_node("Cast", ["cal_below"], ["cal_below_i"], to=7),
        helper.make_node("ReduceSum", ["cal_below_i", "cal_axis"], ["cal_i"], keepdims=0),
        helper.make_node("Add", ["cal_i", "cal_one"], ["cal_j"]),
        helper.make_node("Gather", ["cal_x", "cal_i"], ["cal_x0"]),
        helper.make_node("Gather", ["cal_x", "cal_j"], ["cal_x1"]),
        helper.make_node("Gather", ["cal_y", "cal_i"], ["cal_y0"]),
        helper.make_node("Gather", ["cal_y", "cal_j"], ["cal_y1"]),
        helper.make_node("Sub", ["cal_s", "cal_x0"], ["cal_dx"]),
        helper.make_node("Sub", ["cal_x1", "cal_x0"], ["cal_w"]),
        helper.make_node("Max", ["cal_w", "cal_eps"], ["cal_w1"]),
        helper.make_node("Div", ["cal_dx", "cal_w1"], ["cal_t"]),
        helper.make_node("Sub", ["cal_y1", "cal_y0"], ["cal_dy"]),
        helper.make_node("Mul", ["cal_t", "cal_dy"], ["cal_step"]),
        helper.make_node("Add", ["cal_y0", "cal_step"], [out]),
    ]
    return nodes, inits
