"""Regression losses: errors between real-valued targets y and predictions ŷ, averaged over the last axis.

Each function returns one value per sample and is differentiable in ŷ (built from neuronka ops, each with
its backward, or a fused Function of :mod:`neuronka.ops.losses`); each class wraps its function in a
:class:`~neuronka.losses.loss.Loss` with ``reduction``.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..ops import math as m
from ..ops.losses import EPSILON, float_tensor, like, squeeze_or_expand_to_same_rank
from ..ops.losses import Huber as _HuberFn
from ..ops.losses import LogCosh as _LogCoshFn
from .loss import Loss, LossFunctionWrapper


def _aligned(y_true, y_pred) -> tuple[Tensor, Tensor]:
    """ŷ as a float Tensor, y in its dtype, ranks aligned (Keras's squeeze-or-expand)."""
    y_pred = float_tensor(y_pred)
    return squeeze_or_expand_to_same_rank(like(y_true, y_pred), y_pred)


def mean_squared_error(y_true, y_pred) -> Tensor:
    """mean((y − ŷ)²) over the last axis; d/dŷ = 2(ŷ − y)/n."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return m.mean(m.square(m.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """mean(|y − ŷ|) over the last axis; d/dŷ = sign(ŷ − y)/n."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return m.mean(m.abs(m.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred) -> Tensor:
    """100 · mean(|y − ŷ| / max(|y|, ε)) over the last axis."""
    y_true, y_pred = _aligned(y_true, y_pred)
    ratio = m.divide(m.subtract(y_true, y_pred), m.maximum(m.abs(y_true), EPSILON))
    return m.multiply(m.mean(m.abs(ratio), axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred) -> Tensor:
    """mean((log(max(ŷ, ε) + 1) − log(max(y, ε) + 1))²) over the last axis."""
    y_true, y_pred = _aligned(y_true, y_pred)
    first = m.log(m.add(m.maximum(y_pred, EPSILON), 1.0))
    second = m.log(m.add(m.maximum(y_true, EPSILON), 1.0))
    return m.mean(m.square(m.subtract(first, second)), axis=-1)


def l2_normalize(x: Tensor, axis=-1) -> Tensor:
    """x · min(1/‖x‖₂, 1/ε) along ``axis`` (Keras's ``normalize``: a zero vector stays zero)."""
    inv_norm = m.divide(1.0, m.sqrt(m.sum(m.square(x), axis=axis, keepdims=True)))
    return m.multiply(x, m.minimum(inv_norm, 1.0 / EPSILON))


def cosine_similarity(y_true, y_pred, axis=-1) -> Tensor:
    """−Σ ŷ/‖ŷ‖ · y/‖y‖ over ``axis``: −1 for parallel vectors, 0 for orthogonal, 1 for opposite ones."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return m.negative(m.sum(m.multiply(l2_normalize(y_true, axis), l2_normalize(y_pred, axis)), axis=axis))


def huber(y_true, y_pred, delta: float = 1.0) -> Tensor:
    """mean(½d² if |d| ≤ δ else δ(|d| − ½δ)) over the last axis, d = ŷ − y; d/dŷ = d or δ·sign(d), over n."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return _HuberFn.apply(y_true, y_pred, delta=float(delta))


def log_cosh(y_true, y_pred) -> Tensor:
    """mean(log cosh(ŷ − y)) over the last axis (≈ d²/2 for small d, |d| − log 2 for large); d/dŷ = tanh(d)/n."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return m.mean(_LogCoshFn.apply(m.subtract(y_pred, y_true)), axis=-1)



class MeanSquaredError(LossFunctionWrapper):
    """mean((y − ŷ)²) over the last axis, then reduced; d/dŷ = 2(ŷ − y)/n."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """mean(|y − ŷ|) over the last axis, then reduced; d/dŷ = sign(ŷ − y)/n."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """100 · mean(|y − ŷ| / max(|y|, ε)) over the last axis, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """mean((log(ŷ + 1) − log(y + 1))²) over the last axis (both clipped below at ε), then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """−cos(y, ŷ) along ``axis``, then reduced. The config keeps ``axis`` (Keras's drops it)."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name: str = "cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Huber(LossFunctionWrapper):
    """mean(½d² if |d| ≤ δ else δ(|d| − ½δ)) over the last axis, d = ŷ − y, then reduced. The config keeps
    ``delta`` (Keras's drops it, so its round trip resets δ to 1)."""

    def __init__(self, delta: float = 1.0, reduction="sum_over_batch_size", name: str = "huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta


class LogCosh(LossFunctionWrapper):
    """mean(log cosh(ŷ − y)) over the last axis, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "log_cosh", dtype=None):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


CLASSES: tuple[type[Loss], ...] = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
                                   MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh)
FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
             mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh)
