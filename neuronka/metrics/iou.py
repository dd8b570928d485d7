"""Intersection-over-union metrics, from a confusion matrix accumulated over batches.

    cm[i, j] = Σ w over the entries with true class i and predicted class j
    IoU_c = cm[c, c] / (Σ_j cm[j, c] + Σ_j cm[c, j] − cm[c, c])      (TP / (TP + FP + FN))
    result = Σ_{c ∈ targets} IoU_c / (number of targets with a non-zero denominator)

Entries whose true or predicted class lies outside [0, num_classes), or whose true class is ``ignore_class``,
are left out. As in Keras, the default dtype is int32: labels, predictions *and sample weights* are cast to it
(fractional weights truncate; pass ``dtype="float32"`` for them).
"""
from __future__ import annotations

import warnings

import numpy

from .base import EPSILON, Metric, as_result, to_array


class _IoUBase(Metric):
    def __init__(self, num_classes: int, name: str | None = None, dtype=None, ignore_class=None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        super().__init__(name=name, dtype=dtype or "int32")

    def reset_state(self) -> None:
        self.total_cm = numpy.zeros((self.num_classes, self.num_classes), dtype=self._dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = to_array(y_true), to_array(y_pred)
        if not self.sparse_y_true:
            y_true = y_true.argmax(axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(axis=self.axis)
        y_true = y_true.astype(self._dtype).reshape(-1)
        y_pred = y_pred.astype(self._dtype).reshape(-1)
        if sample_weight is None:
            sample_weight = 1
        else:
            sample_weight = to_array(sample_weight)
            if sample_weight.dtype.kind == "f" and numpy.dtype(self._dtype).kind in "iu":
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may result in an incorrect "
                              "weight due to type casting Consider using integer weights.", stacklevel=2)
        weights = numpy.asarray(sample_weight).astype(self._dtype)
        weights = numpy.broadcast_to(weights.reshape(-1) if weights.ndim > 1 else weights, y_true.shape)
        valid = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            valid &= y_true != self.ignore_class
        t, p, w = y_true[valid].astype(numpy.int64), y_pred[valid].astype(numpy.int64), weights[valid]
        counts = numpy.bincount(t * self.num_classes + p, weights=w.astype(numpy.float64),
                                minlength=self.num_classes ** 2)
        self.total_cm = self.total_cm + counts.reshape(self.num_classes, self.num_classes).astype(self._dtype)


class IoU(_IoUBase):
    """The mean IoU over ``target_class_ids`` (see the module docstring); ``sparse_y_true`` / ``sparse_y_pred``
    False: argmax along ``axis`` first."""

    def __init__(self, num_classes: int, target_class_ids, name: str | None = None, dtype=None, ignore_class=None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is [0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def result(self):
        cm = self.total_cm.astype(numpy.float64)
        tp = numpy.diag(cm)
        denominator = cm.sum(axis=0) + cm.sum(axis=1) - tp
        ids = self.target_class_ids
        tp, denominator = tp[ids].astype(numpy.float32), denominator[ids].astype(numpy.float32)
        valid = denominator > 1e-9
        iou = numpy.where(valid, tp / (denominator + numpy.float32(EPSILON)), 0.0)
        return as_result(iou.sum() / (valid.sum() + EPSILON), "float32")

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype, "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of the two classes 0/1 with predictions ŷ ≥ ``threshold`` as class 1 (``target_class_ids``: which of
    the two are averaged)."""

    def __init__(self, target_class_ids=(0, 1), threshold: float = 0.5, name: str | None = None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = (to_array(y_pred).astype(numpy.float32) >= self.threshold).astype(self._dtype)
        super().update_state(to_array(y_true).astype(self._dtype), y_pred, sample_weight)

    def get_config(self) -> dict:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self._dtype}


class MeanIoU(IoU):
    """The IoU averaged over all ``num_classes`` classes."""

    def __init__(self, num_classes: int, name: str | None = None, dtype=None, ignore_class=None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self._dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU for one-hot labels (and, unless ``sparse_y_pred``, class scores): argmax along ``axis`` first."""

    def __init__(self, num_classes: int, target_class_ids, name: str | None = None, dtype=None, ignore_class=None,
                 sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self._dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """MeanIoU for one-hot labels (and, unless ``sparse_y_pred``, class scores)."""

    def __init__(self, num_classes: int, name: str | None = None, dtype=None, ignore_class=None,
                 sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self._dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


CLASSES = (IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU)
