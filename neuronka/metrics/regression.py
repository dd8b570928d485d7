"""Regression metrics: the weighted Mean of a per-sample error, R², and cosine similarity.

    MeanSquaredError / MeanAbsoluteError / MeanAbsolutePercentageError / MeanSquaredLogarithmicError /
    LogCoshError    the Mean of the loss function of the same name (``neuronka.losses``)
    RootMeanSquaredError   √(Σ wᵢ·(yᵢ − ŷᵢ)² / Σ wᵢ)
    CosineSimilarity       the Mean of cos(y, ŷ) along ``axis``
    R2Score                1 − SS_res / SS_tot per output, aggregated (uniform or variance-weighted), optionally
                           adjusted for ``num_regressors``: 1 − (1 − R²)(n − 1)/(n − p − 1)
"""
from __future__ import annotations

import warnings

import numpy

from .. import losses as _losses
from ..autograd import no_grad
from ..ops import math as m
from ..ops.losses import float_tensor, like, squeeze_or_expand_to_same_rank
from .base import Mean, Metric, _NamedMeanWrapper, as_result, to_array


def cosine_similarity(y_true, y_pred, axis=-1):
    """Σ y/‖y‖ · ŷ/‖ŷ‖ along ``axis`` (1 for parallel vectors); the metric's sign, opposite to the loss's."""
    y_pred = float_tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(like(y_true, y_pred), y_pred)
    normalize = _losses.regression.l2_normalize
    return m.sum(m.multiply(normalize(y_true, axis), normalize(y_pred, axis)), axis=axis)


class _LossMean(_NamedMeanWrapper):
    """The Mean of a per-sample function computed without recording a graph."""

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        with no_grad():
            super().update_state(y_true, y_pred, sample_weight)


class MeanSquaredError(_LossMean):
    """The Mean over samples of mean((y − ŷ)²)."""

    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(_losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_LossMean):
    """The Mean over samples of mean(|y − ŷ|)."""

    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(_losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_LossMean):
    """The Mean over samples of 100·mean(|y − ŷ| / max(|y|, ε))."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(_losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_LossMean):
    """The Mean over samples of mean((log(ŷ + 1) − log(y + 1))²)."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype=None):
        super().__init__(_losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(_LossMean):
    """The Mean over samples of mean(log cosh(ŷ − y))."""

    def __init__(self, name: str = "logcosh", dtype=None):
        super().__init__(_losses.log_cosh, name=name, dtype=dtype)


class CosineSimilarity(_LossMean):
    """The Mean over samples of cos(y, ŷ) along ``axis``. The config keeps ``axis`` (Keras's drops it)."""

    def __init__(self, name: str = "cosine_similarity", dtype=None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class RootMeanSquaredError(Mean):
    """√(Σ wᵢ·(yᵢ − ŷᵢ)² / Σ wᵢ), the squared errors averaged per sample first."""

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = squeeze_or_expand_to_same_rank(to_array(y_true, self._dtype), to_array(y_pred, self._dtype))
        super().update_state(numpy.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return as_result(numpy.sqrt(self.total / self.count) if self.count else 0.0, self._dtype)


class R2Score(Metric):
    """The coefficient of determination per output column, over everything seen:

        R²_j = 1 − Σ wᵢ(yᵢⱼ − ŷᵢⱼ)² / (Σ wᵢyᵢⱼ² − (Σ wᵢyᵢⱼ)²/Σ wᵢ)

    aggregated by ``class_aggregation``: "uniform_average" (mean), "variance_weighted_average" (weighted by each
    column's total sum of squares) or None (one per column). With ``num_regressors`` p > 0 and n the number of
    values seen (Keras counts elements, not rows): 1 − (1 − R²)(n − 1)/(n − p − 1), unless n − 1 ≤ p (a warning).
    """

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype=None):
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError(f"Invalid value for argument `class_aggregation`. Expected one of {valid}. "
                             f"Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError(f"Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.num_samples = 0
        width = getattr(self, "_width", None)  # once built (the first batch), the state keeps its shape
        self.sum, self.squared_sum, self.total_mse, self.count = (
            (None,) * 4 if width is None else tuple(numpy.zeros(width) for _ in range(4)))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = to_array(y_true, numpy.float64), to_array(y_pred, numpy.float64)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(f"R2Score expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                             f"y_pred.shape={y_pred.shape} and y_true.shape={y_true.shape}.")
        if self.sum is None:
            self._width = y_pred.shape[-1]
            self.reset_state()
        w = numpy.float64(1.0) if sample_weight is None else to_array(sample_weight, numpy.float64)
        if w.ndim == 1:
            w = w[:, None]
        w = numpy.broadcast_to(w, y_true.shape)
        self.sum = self.sum + (y_true * w).sum(axis=0)
        self.squared_sum = self.squared_sum + (y_true * y_true * w).sum(axis=0)
        self.total_mse = self.total_mse + ((y_true - y_pred) ** 2 * w).sum(axis=0)
        self.count = self.count + w.sum(axis=0)
        self.num_samples += y_true.size

    def result(self):
        if self.sum is None:
            return as_result(0.0, self._dtype)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw = 1 - self.total_mse / total
        raw = numpy.where(numpy.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        n, p = self.num_samples, self.num_regressors
        if p:
            if p > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return as_result(score, self._dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


CLASSES = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
           LogCoshError, CosineSimilarity, RootMeanSquaredError, R2Score)
