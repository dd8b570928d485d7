"""F-scores: Fβ = (1 + β²)·P·R / (β²·P + R) per class, from counts accumulated over batches.

A prediction is positive where ŷ > ``threshold``, or, with ``threshold=None``, where ŷ is its row's maximum
(and |ŷ| > 1e-9). Per class c, with weights w: TP_c = Σ w·ŷ⁺·y, FP_c = Σ w·ŷ⁺·(1 − y), FN_c = Σ w·(1 − ŷ⁺)·y;
P = TP/(TP + FP + ε), R = TP/(TP + FN + ε), Fβ = (1 + β²)·P·R/(β²P + R + ε).

``average``: None (one score per class), "micro" (counts summed over the classes first), "macro" (the mean
over classes), "weighted" (the mean weighted by each class's Σ w·y).
"""
from __future__ import annotations

import numpy

from .base import EPSILON, Metric, as_result, to_array


class FBetaScore(Metric):
    """Fβ for (batch, classes) inputs (see the module docstring)."""

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"Invalid `average` argument value. Expected one of: {{None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float. Received: beta={beta} of "
                             f"type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(f"Invalid `threshold` argument value. It should be a Python float. Received: "
                                 f"threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(f"Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                 f"Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        shape = getattr(self, "_shape", None)  # once built (the first batch), the state keeps its shape
        if shape is None:
            self.true_positives = self.false_positives = self.false_negatives = self.intermediate_weights = None
        else:
            self.true_positives, self.false_positives = numpy.zeros(shape), numpy.zeros(shape)
            self.false_negatives, self.intermediate_weights = numpy.zeros(shape), numpy.zeros(shape)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = to_array(y_true, numpy.float64), to_array(y_pred, numpy.float64)
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError(f"FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={y_pred.shape} and y_true.shape={y_true.shape}.")
        if self.true_positives is None:
            self._shape = (y_pred.shape[-1],) if self.average != "micro" else ()
            self.reset_state()
        if self.threshold is None:
            positive = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (numpy.abs(y_pred) > 1e-9)
        else:
            positive = y_pred > self.threshold
        positive = positive.astype(numpy.float64)
        w = None if sample_weight is None else to_array(sample_weight, numpy.float64)

        def weighted_sum(v):
            if w is not None:
                v = v * w[:, None]
            return v.sum(axis=self.axis)

        self.true_positives = self.true_positives + weighted_sum(positive * y_true)
        self.false_positives = self.false_positives + weighted_sum(positive * (1 - y_true))
        self.false_negatives = self.false_negatives + weighted_sum((1 - positive) * y_true)
        self.intermediate_weights = self.intermediate_weights + weighted_sum(y_true)

    def result(self):
        if self.true_positives is None:
            return as_result(0.0, self._dtype)
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        beta2 = self.beta ** 2
        score = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            weights = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            score = (score * weights).sum()
        elif self.average is not None:
            score = score.mean()
        return as_result(score, self._dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype, "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 = 2·P·R/(P + R): Fβ with β = 1."""

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config


CLASSES = (FBetaScore, F1Score)
