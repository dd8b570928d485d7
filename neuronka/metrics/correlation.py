"""Correlation metrics: the weighted Mean of a per-sample correlation along ``axis``.

    pearson_correlation      mean(z(y)·z(ŷ)), z(x) = (x − mean x)/std x (population std)
    concordance_correlation  2·cov(y, ŷ) / (var y + var ŷ + (mean y − mean ŷ)² + ε)  (Lin's ρ_c)

Both functions are built from neuronka ops (differentiable), returning one value per sample.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..ops import math as m
from ..ops.losses import EPSILON, float_tensor, like, squeeze_or_expand_to_same_rank
from .regression import _LossMean


def _aligned(y_true, y_pred):
    y_pred = float_tensor(y_pred)
    return squeeze_or_expand_to_same_rank(like(y_true, y_pred), y_pred)


def pearson_correlation(y_true, y_pred, axis: int = -1) -> Tensor:
    """Pearson's r along ``axis``: mean((y − ȳ)/σ_y · (ŷ − ŷ̄)/σ_ŷ)."""
    y_true, y_pred = _aligned(y_true, y_pred)

    def standardize(x):
        centered = m.subtract(x, m.mean(x, axis=axis, keepdims=True))
        return m.divide(centered, m.sqrt(m.var(centered, axis=axis, keepdims=True)))

    return m.mean(m.multiply(standardize(y_true), standardize(y_pred)), axis=axis)


def concordance_correlation(y_true, y_pred, axis: int = -1) -> Tensor:
    """Lin's concordance correlation along ``axis``: mean(2(y − ŷ̄)(ŷ − ŷ̄)) / (σ²_y + σ²_ŷ + (ȳ − ŷ̄)² + ε)."""
    y_true, y_pred = _aligned(y_true, y_pred)
    true_mean = m.mean(y_true, axis=axis, keepdims=True)
    pred_mean = m.mean(y_pred, axis=axis, keepdims=True)
    true_var = m.var(m.subtract(y_true, true_mean), axis=axis, keepdims=True)
    pred_var = m.var(m.subtract(y_pred, pred_mean), axis=axis, keepdims=True)
    covariance = m.multiply(m.subtract(y_true, pred_mean), m.subtract(y_pred, pred_mean))
    norm = m.add(m.add(m.add(true_var, pred_var), m.square(m.subtract(true_mean, pred_mean))), EPSILON)
    return m.mean(m.divide(m.multiply(covariance, 2.0), norm), axis=axis)


class PearsonCorrelation(_LossMean):
    """The Mean over samples of Pearson's r along ``axis``."""

    def __init__(self, name: str = "pearson_correlation", dtype=None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class ConcordanceCorrelation(_LossMean):
    """The Mean over samples of Lin's concordance correlation along ``axis``."""

    def __init__(self, name: str = "concordance_correlation", dtype=None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


CLASSES = (PearsonCorrelation, ConcordanceCorrelation)
FUNCTIONS = (pearson_correlation, concordance_correlation)
