"""Overlap losses for segmentation: Dice and Tversky.

Dice and Tversky compare a predicted mask ŷ with a target mask y through soft counts over ``axis``
(None: everything, one value for the whole batch): intersection I = Σ y·ŷ, false positives FP = Σ (1 − ŷ)·y
and false negatives FN = Σ ŷ·(1 − y), as Keras names them.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..ops import math as m
from ..ops.losses import EPSILON, float_tensor, like
from .loss import Loss, LossFunctionWrapper


def dice(y_true, y_pred, axis=None) -> Tensor:
    """1 − 2I / (Σy + Σŷ + ε) over ``axis``."""
    y_pred = float_tensor(y_pred)
    y_true = like(y_true, y_pred)
    intersection = m.sum(m.multiply(y_true, y_pred), axis=axis)
    total = m.add(m.add(m.sum(y_true, axis=axis), m.sum(y_pred, axis=axis)), EPSILON)
    return m.subtract(1.0, m.divide(m.multiply(intersection, 2.0), total))


def tversky(y_true, y_pred, alpha: float = 0.5, beta: float = 0.5, axis=None) -> Tensor:
    """1 − I / (I + α·FP + β·FN + ε) over ``axis`` (Salehi et al., 2017); α = β = ½ is the Dice loss."""
    y_pred = float_tensor(y_pred)
    y_true = like(y_true, y_pred)
    intersection = m.sum(m.multiply(y_true, y_pred), axis=axis)
    fp = m.sum(m.multiply(m.subtract(1.0, y_pred), y_true), axis=axis)
    fn = m.sum(m.multiply(y_pred, m.subtract(1.0, y_true)), axis=axis)
    denominator = m.add(m.add(m.add(intersection, m.multiply(fp, alpha)), m.multiply(fn, beta)), EPSILON)
    return m.subtract(1.0, m.divide(intersection, denominator))


class Dice(LossFunctionWrapper):
    """1 − 2I / (Σy + Σŷ + ε) over ``axis`` (None: one value for the batch), then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Tversky(LossFunctionWrapper):
    """1 − I / (I + α·FP + β·FN + ε) over ``axis``, then reduced."""

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction="sum_over_batch_size", name: str = "tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=axis)
        self.alpha, self.beta, self.axis = alpha, beta, axis


CLASSES: tuple[type[Loss], ...] = (Dice, Tversky)
FUNCTIONS = (dice, tversky)
