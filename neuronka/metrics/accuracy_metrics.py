"""Accuracy metrics: the weighted Mean of a per-sample 0/1 hit.

    accuracy                       y == ŷ
    binary_accuracy                y == [ŷ > threshold]
    categorical_accuracy           argmax y == argmax ŷ                 (one-hot y)
    sparse_categorical_accuracy    y == argmax ŷ                        (integer y)
    top_k / sparse_top_k           the true class is among the k highest scores: fewer than k scores rank above
                                   it (a NaN score ranks above every number; a NaN true-class score is a miss)

The functions take arrays or Tensors and return a float Tensor (no graph); they are not differentiable.
"""
from __future__ import annotations

import numpy

from ..backend import floatx
from ..ops._util import wrap
from ..ops.losses import squeeze_or_expand_to_same_rank
from .base import _NamedMeanWrapper, to_array


def _pred(y_pred) -> numpy.ndarray:
    p = to_array(y_pred)
    return p if p.dtype.kind == "f" else p.astype(floatx())


def accuracy(y_true, y_pred):
    """1 where y == ŷ elementwise (y in ŷ's dtype, ranks aligned)."""
    y_pred = to_array(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(to_array(y_true, y_pred.dtype), y_pred)
    return wrap((y_true == y_pred).astype(floatx()))


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """1 where y == [ŷ > threshold]."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(to_array(y_true), to_array(y_pred))
    return wrap((y_true == (y_pred > threshold).astype(y_true.dtype)).astype(floatx()))


def categorical_accuracy(y_true, y_pred):
    """1 where argmax y == argmax ŷ over the last axis (one-hot or soft labels)."""
    y_pred = _pred(y_pred)
    labels = to_array(y_true).argmax(axis=-1).astype(y_pred.dtype)
    shape = labels.shape
    if labels.ndim == y_pred.ndim:
        labels = labels[..., 0]
    matches = (labels == y_pred.argmax(axis=-1).astype(y_pred.dtype)).astype(floatx())
    return wrap(matches.reshape(shape))


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the integer label equals argmax ŷ (labels of ŷ's shape without its last axis, or with it of size 1)."""
    y_pred = _pred(y_pred)
    labels = to_array(y_true, y_pred.dtype)
    shape = labels.shape
    reshape = labels.ndim == y_pred.ndim and labels.shape[-1] == 1
    if reshape:
        labels = labels[..., 0]
    matches = (labels == y_pred.argmax(axis=-1).astype(y_pred.dtype)).astype(floatx())
    if reshape:
        matches = matches.reshape(shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches[..., 0]
    return wrap(matches)


def in_top_k(labels, scores, k: int) -> numpy.ndarray:
    """Whether each row's label is among its k highest scores: fewer than k scores rank strictly above the
    label's score, a NaN ranking above every number (as torch.topk orders them), a NaN label score never in."""
    labels = labels.astype(numpy.int64)
    target = numpy.take_along_axis(scores, labels[:, None], axis=-1)
    with numpy.errstate(invalid="ignore"):
        above = ((scores > target) | numpy.isnan(scores)).sum(axis=-1)
    return (above < k) & ~numpy.isnan(target[:, 0])


def _top_k_matches(labels, y_pred, k):
    shape = labels.shape
    scores = y_pred.reshape(-1, y_pred.shape[-1]) if y_pred.ndim > 2 else y_pred
    matches = in_top_k(labels.reshape(-1), scores, k).astype(floatx())
    return matches.reshape(shape)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1 where the one-hot label's class is among the k highest scores of ŷ."""
    y_pred = _pred(y_pred)
    return wrap(_top_k_matches(to_array(y_true).argmax(axis=-1), y_pred, k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5, from_sorted_ids: bool = False):
    """1 where the integer label is among the k highest scores of ŷ; with ``from_sorted_ids`` ŷ holds class ids
    sorted best first and the label must be among its first k."""
    y_pred = _pred(y_pred) if not from_sorted_ids else to_array(y_pred)
    labels = to_array(y_true)
    labels = labels.astype(y_pred.dtype) if from_sorted_ids else labels.astype(numpy.int32)
    if not from_sorted_ids:
        return wrap(_top_k_matches(labels, y_pred, k))
    shape = labels.shape
    ids = y_pred.reshape(-1, y_pred.shape[-1]) if y_pred.ndim > 2 else y_pred
    matches = (labels.reshape(-1)[:, None] == ids[:, :k]).any(axis=1).astype(floatx())
    return wrap(matches.reshape(shape))


class Accuracy(_NamedMeanWrapper):
    """How often predictions equal labels: mean(y == ŷ)."""

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(_NamedMeanWrapper):
    """mean(y == [ŷ > threshold])."""

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(_NamedMeanWrapper):
    """mean(argmax y == argmax ŷ), for one-hot labels."""

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_NamedMeanWrapper):
    """mean(y == argmax ŷ), for integer labels."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(_NamedMeanWrapper):
    """How often the one-hot target is among the k highest predictions."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(_NamedMeanWrapper):
    """How often the integer target is among the k highest predictions (or, with ``from_sorted_ids``, among the
    first k of the predicted ids)."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids: bool = False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self) -> dict:
        config = {"name": self.name, "dtype": self._dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config


CLASSES = (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
           SparseTopKCategoricalAccuracy)
FUNCTIONS = (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
             sparse_top_k_categorical_accuracy)
