"""Hinge losses (maximum-margin classification): labels y ∈ {−1, 1} (0/1 labels are mapped to −1/1)."""
from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from ..ops import math as m
from ..ops.losses import float_tensor, like
from .loss import Loss, LossFunctionWrapper


def _signed_labels(y_true: Tensor) -> Tensor:
    """2y − 1 when every label is 0 or 1 (binary labels), else y unchanged."""
    xp = get_array_module(y_true.data)
    if bool(xp.all((y_true.data == 0) | (y_true.data == 1))):
        return m.subtract(m.multiply(y_true, 2.0), 1.0)
    return y_true


def hinge(y_true, y_pred) -> Tensor:
    """mean(max(1 − y·ŷ, 0)) over the last axis; d/dŷ = −y/n where the margin is violated."""
    y_pred = float_tensor(y_pred)
    y_true = _signed_labels(like(y_true, y_pred))
    return m.mean(m.maximum(m.subtract(1.0, m.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred) -> Tensor:
    """mean(max(1 − y·ŷ, 0)²) over the last axis."""
    y_pred = float_tensor(y_pred)
    y_true = _signed_labels(like(y_true, y_pred))
    return m.mean(m.square(m.maximum(m.subtract(1.0, m.multiply(y_true, y_pred)), 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred) -> Tensor:
    """max(neg − pos + 1, 0) with pos = Σ y·ŷ and neg = max((1 − y)·ŷ) over the last axis (one-hot y)."""
    y_pred = float_tensor(y_pred)
    y_true = like(y_true, y_pred)
    pos = m.sum(m.multiply(y_true, y_pred), axis=-1)
    neg = m.max(m.multiply(m.subtract(1.0, y_true), y_pred), axis=-1)
    return m.maximum(m.add(m.subtract(neg, pos), 1.0), 0.0)


class Hinge(LossFunctionWrapper):
    """mean(max(1 − y·ŷ, 0)) over the last axis, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """mean(max(1 − y·ŷ, 0)²) over the last axis, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """max(max_{c ≠ y} ŷ_c − ŷ_y + 1, 0) for one-hot labels, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)


CLASSES: tuple[type[Loss], ...] = (Hinge, SquaredHinge, CategoricalHinge)
FUNCTIONS = (hinge, squared_hinge, categorical_hinge)
