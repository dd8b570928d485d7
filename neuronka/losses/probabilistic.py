"""Probabilistic losses: cross-entropies (plain, focal, generalized), KL divergence, Poisson and CTC.

Probabilities p are clipped to [ε, 1 − ε] (ε = 1e-7) as Keras does; with ``from_logits`` the logits go
through a fused sigmoid/softmax cross-entropy of :mod:`neuronka.ops.losses` (derivative p − y, stable for
any logit). Label smoothing ε_s moves the targets towards uniform: y ← y(1 − ε_s) + ε_s/K, with K = 2
for the binary losses and K = the size of the last axis for the categorical ones.
"""
from __future__ import annotations

import warnings

import numpy

from ..autograd import Tensor, _as_array
from ..backend import get_array_module
from ..ops import math as m
from ..ops.activations import sigmoid, softmax
from ..ops.ctc import ctc_loss
from ..ops.losses import EPSILON, float_tensor, like
from ..ops.losses import binary_crossentropy as _binary_crossentropy
from ..ops.losses import categorical_crossentropy as _categorical_crossentropy
from ..ops.losses import sparse_categorical_crossentropy as _sparse_categorical_crossentropy
from .loss import Loss, LossFunctionWrapper


def _smooth(y_true: Tensor, label_smoothing: float, num_classes) -> Tensor:
    """y(1 − ε_s) + ε_s/K."""
    if not label_smoothing:
        return y_true
    return m.add(m.multiply(y_true, 1.0 - label_smoothing), label_smoothing / num_classes)


def _check_axis(axis, fn: str):
    if isinstance(axis, bool):
        raise ValueError(f"{fn}: `axis` must be of type `int`; received axis={axis} of type {type(axis).__name__}")


def _warn_single_class(y_pred: Tensor, fn: str):
    if y_pred.ndim and y_pred.shape[-1] == 1:
        warnings.warn(f"In loss {fn}, expected y_pred.shape to be (batch_size, num_classes) with num_classes > 1. "
                      f"Received: y_pred.shape={tuple(y_pred.shape)}. Consider using 'binary_crossentropy' if you "
                      f"only have 2 classes.", SyntaxWarning, stacklevel=3)


def binary_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> Tensor:
    """mean(−[y log p + (1 − y) log(1 − p)]) over ``axis``; p = σ(ŷ) when ``from_logits``, else ŷ clipped.
    Label smoothing: y ← y(1 − ε_s) + ε_s/2."""
    y_pred = float_tensor(y_pred)
    y_true = _smooth(like(y_true, y_pred), label_smoothing, 2)
    return m.mean(_binary_crossentropy(y_true, y_pred, from_logits=from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing: bool = False, alpha: float = 0.25,
                              gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> Tensor:
    """mean((1 − p_t)^γ · BCE(y, p)) over ``axis``, p_t = y·p + (1 − y)(1 − p) (Lin et al., 2017); with
    ``apply_class_balancing`` each term is also weighed α for y = 1 and 1 − α for y = 0."""
    y_pred = float_tensor(y_pred)
    y_true = _smooth(like(y_true, y_pred), label_smoothing, 2)
    if from_logits:
        y_pred = sigmoid(y_pred)
    bce = _binary_crossentropy(y_true, y_pred, from_logits=False)
    p_t = m.add(m.multiply(y_true, y_pred), m.multiply(m.subtract(1.0, y_true), m.subtract(1.0, y_pred)))
    focal = m.multiply(m.power(m.subtract(1.0, p_t), gamma), bce)
    if apply_class_balancing:
        weight = m.add(m.multiply(y_true, alpha), m.multiply(m.subtract(1.0, y_true), 1.0 - alpha))
        focal = m.multiply(weight, focal)
    return m.mean(focal, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> Tensor:
    """−Σ_c y_c log p_c over ``axis`` for one-hot (or soft) y; p = softmax(ŷ) when ``from_logits``, else ŷ
    renormalised and clipped. Label smoothing: y ← y(1 − ε_s) + ε_s/K, K the size of the *last* axis (as Keras)."""
    _check_axis(axis, "categorical_crossentropy")
    y_pred = float_tensor(y_pred)
    y_true = like(y_true, y_pred)
    _warn_single_class(y_pred, "categorical_crossentropy")
    y_true = _smooth(y_true, label_smoothing, y_true.shape[-1] if y_true.ndim else 1)
    return _categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Σ_c −α (1 − p_c)^γ y_c log p_c over ``axis``, p = softmax(ŷ) when ``from_logits``, renormalised and
    clipped to [ε, 1 − ε] (Lin et al., 2017)."""
    _check_axis(axis, "categorical_focal_crossentropy")
    y_pred = float_tensor(y_pred)
    y_true = like(y_true, y_pred)
    _warn_single_class(y_pred, "categorical_focal_crossentropy")
    y_true = _smooth(y_true, label_smoothing, y_true.shape[-1] if y_true.ndim else 1)
    if from_logits:
        y_pred = softmax(y_pred, axis=axis)
    p = m.clip(m.divide(y_pred, m.sum(y_pred, axis=axis, keepdims=True)), EPSILON, 1.0 - EPSILON)
    cce = m.negative(m.multiply(y_true, m.log(p)))
    focal = m.multiply(m.multiply(m.power(m.subtract(1.0, p), gamma), alpha), cce)
    return m.sum(focal, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False, ignore_class=None,
                                    axis: int = -1) -> Tensor:
    """−log p[y] for integer labels y (y_pred's shape without the class ``axis``, or with it of size 1);
    p = softmax(ŷ) when ``from_logits``, else ŷ renormalised and clipped.

    ``ignore_class``: entries with that label give 0 and no gradient; the result carries the valid entries
    as its Keras mask (``_keras_mask``), so that a Loss averages over them only.
    """
    y_pred = float_tensor(y_pred)
    labels = numpy.asarray(_as_array(y_true))
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[axis] == 1:
        labels = numpy.squeeze(labels, axis=axis)
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = numpy.where(valid, labels, 0)
    res = _sparse_categorical_crossentropy(labels, y_pred, from_logits=from_logits, axis=axis)
    if valid is not None:
        valid = valid.reshape(tuple(res.shape))
        res = m.where(valid, res, 0.0)
        res._keras_mask = valid
    return res


def categorical_generalized_cross_entropy(y_true, y_pred, q) -> Tensor:
    """(1 − p^q)/q, p = Σ_c ŷ_c · onehot(y)_c the predicted probability of the integer label y (Zhang & Sabuncu,
    2018): cross-entropy as q → 0, mean absolute error at q = 1."""
    y_pred = float_tensor(y_pred)
    xp = get_array_module(y_pred.data)
    labels = xp.asarray(_as_array(y_true)).astype(xp.int64)
    one_hot = (labels[..., None] == xp.arange(y_pred.shape[-1])).astype(y_pred.dtype)
    p = m.sum(m.multiply(y_pred, one_hot), axis=-1)
    return m.divide(m.subtract(1.0, m.power(p, q)), q)


def kl_divergence(y_true, y_pred) -> Tensor:
    """Σ y log(y/ŷ) over the last axis, y and ŷ clipped to [ε, 1]."""
    y_pred = float_tensor(y_pred)
    y_true = m.clip(like(y_true, y_pred), EPSILON, 1.0)
    y_pred = m.clip(y_pred, EPSILON, 1.0)
    return m.sum(m.multiply(y_true, m.log(m.divide(y_true, y_pred))), axis=-1)


def poisson(y_true, y_pred) -> Tensor:
    """mean(ŷ − y log(ŷ + ε)) over the last axis (the Poisson negative log-likelihood up to a constant)."""
    y_pred = float_tensor(y_pred)
    y_true = like(y_true, y_pred)
    return m.mean(m.subtract(y_pred, m.multiply(y_true, m.log(m.add(y_pred, EPSILON)))), axis=-1)


def ctc(y_true, y_pred) -> Tensor:
    """CTC loss per sequence: ``y_true`` (batch, max_length) integer labels padded with 0 (class 0 is the blank),
    ``y_pred`` (batch, frames, classes) logits, every frame valid (see :func:`neuronka.ops.ctc_loss`)."""
    if len(numpy.shape(getattr(y_true, "data", y_true))) != 2:
        raise ValueError(f"ctc: targets `y_true` are expected to be a tensor of shape (batch_size, max_length) "
                         f"in integer format; received y_true.shape={numpy.shape(getattr(y_true, 'data', y_true))}")
    if len(y_pred.shape) != 3:
        raise ValueError(f"ctc: logits `y_pred` are expected to be a tensor of shape (batch_size, max_length, "
                         f"num_classes); received y_pred.shape={tuple(y_pred.shape)}")
    labels = numpy.asarray(_as_array(y_true))
    batch, frames = y_pred.shape[0], y_pred.shape[1]
    label_length = (labels != 0).sum(axis=-1).astype(numpy.int32)
    return ctc_loss(labels, y_pred, label_length, numpy.full((batch,), frames, dtype=numpy.int32), mask_index=0)


# ----------------------------------------------------------------------------------------------
# classes
# ----------------------------------------------------------------------------------------------
class BinaryCrossentropy(LossFunctionWrapper):
    """mean(−[y log p + (1 − y) log(1 − p)]) over ``axis``, then reduced; p = σ(ŷ) when ``from_logits``."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name: str = "binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy down-weighting easy examples by (1 − p_t)^γ (optionally class-balanced by α)."""

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name: str = "binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.apply_class_balancing, self.alpha, self.gamma = apply_class_balancing, alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """−Σ_c y_c log p_c over ``axis`` for one-hot (or soft) labels, then reduced."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name: str = "categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy weighed α(1 − p_c)^γ per class, then reduced."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction="sum_over_batch_size",
                 name: str = "categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.alpha, self.gamma = alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """−log p[label] for integer labels, then reduced; ``ignore_class`` entries count neither in the loss nor in
    the average. The config keeps ``axis`` (Keras's drops it)."""

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction="sum_over_batch_size", axis: int = -1, name: str = "sparse_categorical_crossentropy",
                 dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """(1 − p^q)/q for integer labels, p the predicted probability of the label, then reduced; q in (0, 1)."""

    def __init__(self, q: float = 0.5, reduction="sum_over_batch_size",
                 name: str = "categorical_generalized_cross_entropy", dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: q must be in the interval (0, 1); received q={q}")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)
        self.q = q


class KLDivergence(LossFunctionWrapper):
    """Σ y log(y/ŷ) over the last axis, y and ŷ clipped to [ε, 1], then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """mean(ŷ − y log(ŷ + ε)) over the last axis, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)


class CTC(LossFunctionWrapper):
    """The CTC loss of each sequence (labels padded with 0, the blank), then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)


CLASSES: tuple[type[Loss], ...] = (BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
                                   CategoricalFocalCrossentropy, SparseCategoricalCrossentropy,
                                   CategoricalGeneralizedCrossEntropy, KLDivergence, Poisson, CTC)
FUNCTIONS = (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
             sparse_categorical_crossentropy, categorical_generalized_cross_entropy, kl_divergence, poisson, ctc)
