"""Keras 3 metric objects: running statistics over batches, for ``compile(metrics=...)``.

A metric accumulates state with ``update_state(y_true, y_pred, sample_weight=None)``,
reports it with ``result()`` and starts over with ``reset_state()``. Metrics are not
differentiated: they work on detached NumPy arrays.

    Mean:                     Σ wᵢ·vᵢ / Σ wᵢ   (vᵢ the per-sample value, wᵢ its weight, 1 by default)
    Accuracy family:          the Mean of a per-sample 0/1 hit
        Accuracy              y == ŷ
        BinaryAccuracy        y == (ŷ > threshold)
        CategoricalAccuracy   argmax y == argmax ŷ
        SparseCategorical…    y == argmax ŷ
        TopK / SparseTopK     #{j : ŷⱼ > ŷ_y} < k   (the true class is among the k highest scores)
    MeanSquaredError:         the Mean of mean((y − ŷ)²) over the last axis
    MeanAbsoluteError:        the Mean of mean(|y − ŷ|) over the last axis
    Precision:                TP / (TP + FP),  predicted positive ⇔ ŷ > threshold
    Recall:                   TP / (TP + FN)
    AUC:                      area under the ROC (or PR) curve, from TP/FP/TN/FN at ``num_thresholds`` cuts
"""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy

from ..backend import asnumpy, floatx

EPSILON = 1e-7  # Keras's backend.epsilon()


# ----------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------
def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _np(x) -> numpy.ndarray:
    """A NumPy array from an array, a neuronka Tensor, a list or a number (never a graph)."""
    if isinstance(x, numpy.ndarray):
        return x
    return numpy.asarray(asnumpy(x))


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Make two arrays the same rank when they differ by a trailing axis of size 1 (Keras's rule).

    A rank-1 array facing a (N, 1) array is expanded to (N, 1); otherwise the axis of size 1 is squeezed.
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _divide_no_nan(a, b):
    a = numpy.asarray(a, dtype=numpy.float64)
    b = numpy.asarray(b, dtype=numpy.float64)
    out = numpy.zeros(numpy.broadcast(a, b).shape)
    numpy.divide(a, b, out=out, where=b != 0)
    return out


def _result(value, dtype):
    """A float scalar (or an array for several thresholds) of the metric's dtype."""
    arr = numpy.asarray(value, dtype=dtype)
    return arr[()] if arr.ndim == 0 else arr


# ----------------------------------------------------------------------------------
# base classes
# ----------------------------------------------------------------------------------
class Metric:
    """Base class: ``update_state`` accumulates, ``result`` reports, ``reset_state`` clears.

    ``metric(y_true, y_pred)`` updates the state and returns the result (Keras's ``__call__``).
    """

    def __init__(self, name: str | None = None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self._dtype = numpy.dtype(dtype or floatx()).name
        self.reset_state()

    @property
    def dtype(self) -> str:
        return self._dtype

    def update_state(self, *args, **kwargs) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"Metric {type(self).__name__} does not implement update_state()")

    def result(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"Metric {type(self).__name__} does not implement result()")

    def reset_state(self) -> None:
        pass

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class Sum(Metric):
    """Σ wᵢ·vᵢ over everything seen."""

    def reset_state(self) -> None:
        self.total = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        v = _np(values).astype(numpy.float64)
        if sample_weight is not None:
            v, w = squeeze_or_expand_to_same_rank(v, _np(sample_weight).astype(numpy.float64))
            v = v * w
        self.total += float(v.sum())

    def result(self):
        return _result(self.total, self._dtype)


class Mean(Metric):
    """Weighted mean of per-sample values: Σ wᵢ·vᵢ / Σ wᵢ.

    Values with more than one axis are first averaged over the non-batch axes (Keras's
    ``reduce_to_samplewise_values``); without weights every sample counts 1.
    """

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        v = _np(values)
        if sample_weight is None and v.ndim == 1:  # the common case: one value per sample
            self.total += float(v.sum(dtype=numpy.float64))
            self.count += v.shape[0]
            return
        v = v.astype(numpy.float64)
        if sample_weight is not None:
            w = _np(sample_weight).astype(numpy.float64)
            v, w = squeeze_or_expand_to_same_rank(v, w)
            if v.ndim > w.ndim:  # reduce values to the weights' rank
                v = v.mean(axis=tuple(range(w.ndim, v.ndim)))
            w = numpy.broadcast_to(w, v.shape)
            v = v * w
            if w.ndim > 1:
                w = w.mean(axis=tuple(range(1, w.ndim)))
            count = float(w.sum())
        else:
            count = float(v.shape[0]) if v.ndim >= 1 else 1.0
        if v.ndim > 1:
            v = v.mean(axis=tuple(range(1, v.ndim)))
        self.total += float(v.sum())
        self.count += count

    def result(self):
        return _result(self.total / self.count if self.count else 0.0, self._dtype)


class MeanMetricWrapper(Mean):
    """The weighted Mean of ``fn(y_true, y_pred, **kwargs)`` (one value per sample)."""

    def __init__(self, fn: Callable, name: str | None = None, dtype=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        values = self._fn(_np(y_true), _np(y_pred), **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._fn_kwargs}


# ----------------------------------------------------------------------------------
# per-sample functions (NumPy): one value per sample
# ----------------------------------------------------------------------------------
def accuracy(y_true, y_pred):
    """1 where y == ŷ elementwise."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(_np(y_true), _np(y_pred))
    return (y_true == y_pred).astype(floatx())


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """1 where y == (ŷ > threshold)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(_np(y_true), _np(y_pred))
    return (y_true == (y_pred > threshold)).astype(floatx())


def _sparse_labels(y_true, y_pred):
    y_true = _np(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the integer label equals argmax ŷ."""
    y_pred = _np(y_pred)
    labels = _sparse_labels(y_true, y_pred)
    return (labels == y_pred.argmax(axis=-1)).astype(floatx())


def categorical_accuracy(y_true, y_pred):
    """1 where argmax y == argmax ŷ (one-hot labels)."""
    return sparse_categorical_accuracy(_np(y_true).argmax(axis=-1), y_pred)


def _in_top_k(labels, y_pred, k):
    """The true class is in the top k: fewer than k scores are strictly higher than its score."""
    labels = labels.astype(numpy.int64)
    target = numpy.take_along_axis(y_pred, labels[..., None], axis=-1)
    return ((y_pred > target).sum(axis=-1) < k).astype(floatx())


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    y_pred = _np(y_pred)
    return _in_top_k(_sparse_labels(y_true, y_pred), y_pred, k)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    y_pred = _np(y_pred)
    return _in_top_k(_np(y_true).argmax(axis=-1), y_pred, k)


def mean_squared_error(y_true, y_pred):
    """mean((y − ŷ)²) over the last axis."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(_np(y_true), _np(y_pred))
    return numpy.square(y_pred - y_true).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y − ŷ|) over the last axis."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(_np(y_true), _np(y_pred))
    return numpy.abs(y_pred - y_true).mean(axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 · mean(|y − ŷ| / max(|y|, ε)) over the last axis."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(_np(y_true), _np(y_pred))
    return 100.0 * (numpy.abs(y_true - y_pred) / numpy.maximum(numpy.abs(y_true), EPSILON)).mean(axis=-1)


# ----------------------------------------------------------------------------------
# accuracy metrics
# ----------------------------------------------------------------------------------
class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels: mean(y == ŷ)."""

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """mean(y == (ŷ > threshold))."""

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=float(threshold))
        self.threshold = float(threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """mean(argmax y == argmax ŷ), for one-hot labels."""

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """mean(y == argmax ŷ), for integer labels."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the k highest predictions."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))
        self.k = int(k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is among the k highest predictions."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))
        self.k = int(k)


# ----------------------------------------------------------------------------------
# regression metrics
# ----------------------------------------------------------------------------------
class MeanSquaredError(MeanMetricWrapper):
    """The mean over samples of mean((y − ŷ)²)."""

    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean over samples of mean(|y − ŷ|)."""

    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean over samples of 100·mean(|y − ŷ|/|y|)."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """√(Σ wᵢ·(yᵢ − ŷᵢ)² / Σ wᵢ) over every element."""

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = squeeze_or_expand_to_same_rank(_np(y_true), _np(y_pred))
        super().update_state(numpy.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return _result(numpy.sqrt(self.total / self.count) if self.count else 0.0, self._dtype)


class _LossMetric(MeanMetricWrapper):
    """The weighted Mean of a neuronka loss function's per-sample values (no graph is recorded)."""

    _loss_name = ""

    def __init__(self, name: str | None = None, dtype=None, **kwargs):
        super().__init__(self._per_sample, name=name or self._loss_name, dtype=dtype, **kwargs)

    def _per_sample(self, y_true, y_pred, **kwargs):
        from ..autograd import no_grad  # noqa: PLC0415
        from ..ops import losses  # noqa: PLC0415

        with no_grad():
            return _np(getattr(losses, self._loss_name)(y_true, y_pred.astype(self._dtype), **kwargs).data)


class BinaryCrossentropy(_LossMetric):
    """Mean binary cross-entropy (``from_logits``, ``label_smoothing`` as the loss)."""

    _loss_name = "binary_crossentropy"

    def __init__(self, name: str = "binary_crossentropy", dtype=None, from_logits: bool = False,
                 label_smoothing: float = 0.0):
        super().__init__(name=name, dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(_LossMetric):
    """Mean categorical cross-entropy for one-hot labels."""

    _loss_name = "categorical_crossentropy"

    def __init__(self, name: str = "categorical_crossentropy", dtype=None, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1):
        super().__init__(name=name, dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_LossMetric):
    """Mean sparse categorical cross-entropy for integer labels."""

    _loss_name = "sparse_categorical_crossentropy"

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype=None, from_logits: bool = False,
                 axis: int = -1):
        super().__init__(name=name, dtype=dtype, from_logits=from_logits, axis=axis)


class KLDivergence(_LossMetric):
    """Mean Σ y·log(y/ŷ)."""

    _loss_name = "kl_divergence"

    def __init__(self, name: str = "kl_divergence", dtype=None):
        super().__init__(name=name, dtype=dtype)


# ----------------------------------------------------------------------------------
# confusion-matrix metrics
# ----------------------------------------------------------------------------------
NEG_INF = -1e10


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple, numpy.ndarray)) else [x]


def _check_thresholds(thresholds):
    bad = [t for t in thresholds if t is None or not 0 <= t <= 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")


def _confusion_counts(y_true, y_pred, thresholds, top_k=None, class_id=None, sample_weight=None):
    """Weighted (TP, FP, TN, FN), one entry per threshold; predicted positive ⇔ ŷ > threshold."""
    y_true = _np(y_true).astype(numpy.float64)
    y_pred = _np(y_pred).astype(numpy.float64)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if y_true.shape != y_pred.shape:
        y_true = numpy.broadcast_to(y_true, y_pred.shape)
    w = None
    if sample_weight is not None:
        w = _np(sample_weight).astype(numpy.float64)
        w = w.reshape(w.shape + (1,) * (y_pred.ndim - w.ndim))  # align on the batch axis
        w = numpy.broadcast_to(w, y_pred.shape)
    if top_k is not None:  # everything outside each row's top k becomes a negative prediction
        kth = numpy.sort(y_pred, axis=-1)[..., -top_k][..., None]
        y_pred = numpy.where(y_pred >= kth, y_pred, NEG_INF)
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
        w = None if w is None else w[..., class_id]
    pos = (y_true != 0).ravel()
    p = y_pred.ravel()
    w = numpy.ones_like(p) if w is None else w.ravel()
    th = numpy.asarray(thresholds, dtype=numpy.float64)
    order = numpy.argsort(th, kind="stable")
    # m = #thresholds strictly below ŷ: the sample is a predicted positive for the m lowest thresholds
    m = numpy.searchsorted(th[order], p, side="left")
    wp, wn = w * pos, w * ~pos

    def above(weights):  # Σ weights over samples with ŷ > t, for each sorted threshold t
        c = numpy.bincount(m, weights=weights, minlength=len(th) + 1)
        return weights.sum() - numpy.cumsum(c)[:-1]

    tp = numpy.empty(len(th))
    fp = numpy.empty(len(th))
    tp[order], fp[order] = above(wp), above(wn)
    return tp, fp, wn.sum() - fp, wp.sum() - tp


class _ConfusionMetric(Metric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        if thresholds is not None:
            _check_thresholds(_as_list(thresholds))
        self.thresholds = [float(t) for t in _as_list(default if thresholds is None else thresholds)]
        self._single = thresholds is None or numpy.ndim(thresholds) == 0
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        n = len(self.thresholds)
        self.true_positives = numpy.zeros(n)
        self.false_positives = numpy.zeros(n)
        self.true_negatives = numpy.zeros(n)
        self.false_negatives = numpy.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        tp, fp, tn, fn = _confusion_counts(y_true, y_pred, self.thresholds, self.top_k, self.class_id,
                                           sample_weight)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _out(self, values):
        return _result(values[0] if self._single else values, self._dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_ConfusionMetric):
    """TP / (TP + FP), 0 when nothing is predicted positive."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name: str = "precision", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        return self._out(_divide_no_nan(self.true_positives, self.true_positives + self.false_positives))


class Recall(_ConfusionMetric):
    """TP / (TP + FN), 0 when there is no positive label."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name: str = "recall", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        return self._out(_divide_no_nan(self.true_positives, self.true_positives + self.false_negatives))


class _CountMetric(_ConfusionMetric):
    _field = ""

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds, None, None, name, dtype)

    def result(self):
        return self._out(getattr(self, self._field))

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype, "thresholds": self.init_thresholds}


class TruePositives(_CountMetric):
    """Weighted count of y = 1, ŷ > threshold."""

    _field = "true_positives"


class FalsePositives(_CountMetric):
    """Weighted count of y = 0, ŷ > threshold."""

    _field = "false_positives"


class TrueNegatives(_CountMetric):
    """Weighted count of y = 0, ŷ ≤ threshold."""

    _field = "true_negatives"


class FalseNegatives(_CountMetric):
    """Weighted count of y = 1, ŷ ≤ threshold."""

    _field = "false_negatives"


class AUC(Metric):
    """Area under the ROC or PR curve, from confusion counts at ``num_thresholds`` cuts.

    ROC: x = FP/(FP + TN), y = TP/(TP + FN); PR: x = recall, y = precision. ``summation_method``
    "interpolation" is the trapezoid rule for ROC and Davis & Goadrich's interpolation for PR;
    "minoring"/"majoring" take the lower/upper step.
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype=None, thresholds=None, multi_label: bool = False,
                 num_labels=None, label_weights=None, from_logits: bool = False):
        if curve.upper() not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC"]')
        if summation_method.lower() not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             f'Expected values are ["interpolation", "majoring", "minoring"]')
        if multi_label:
            raise NotImplementedError("AUC: multi_label=True is not supported yet; received multi_label=True")
        self.curve = curve.upper()
        self.summation_method = summation_method.lower()
        self.from_logits = bool(from_logits)
        self.label_weights = label_weights
        self.multi_label = False
        self.num_labels = num_labels
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            _check_thresholds(inner)
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds="
                                 f"{num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        self._init_thresholds = thresholds
        self.thresholds = [0.0 - EPSILON, *inner, 1.0 + EPSILON]
        super().__init__(name=name or "auc", dtype=dtype)

    def reset_state(self) -> None:
        n = len(self.thresholds)
        self.true_positives = numpy.zeros(n)
        self.false_positives = numpy.zeros(n)
        self.true_negatives = numpy.zeros(n)
        self.false_negatives = numpy.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = _np(y_pred).astype(numpy.float64)
        if self.from_logits:
            y_pred = 1.0 / (1.0 + numpy.exp(-y_pred))
        y_true = _np(y_true)
        if self.label_weights is not None:
            lw = numpy.broadcast_to(numpy.asarray(self.label_weights, dtype=numpy.float64), y_pred.shape)
            w = lw if sample_weight is None else lw * _np(sample_weight).reshape((-1,) + (1,) * (y_pred.ndim - 1))
            sample_weight = w
        tp, fp, tn, fn = _confusion_counts(y_true, y_pred, self.thresholds, sample_weight=sample_weight)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _interpolate_pr_auc(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, numpy.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = numpy.where(both, _divide_no_nan(p[:-1], numpy.maximum(p[1:], 0)), 1.0)
        inc = slope * (dtp + intercept * numpy.log(numpy.where(ratio > 0, ratio, 1.0)))
        return float(_divide_no_nan(inc, numpy.maximum(tp[1:] + fn[1:], 0)).sum())

    def result(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _result(self._interpolate_pr_auc(), self._dtype)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = numpy.minimum(y[:-1], y[1:])
        else:
            heights = numpy.maximum(y[:-1], y[1:])
        return _result(float(((x[:-1] - x[1:]) * heights).sum()), self._dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self._init_thresholds,
                "multi_label": self.multi_label, "num_labels": self.num_labels,
                "label_weights": self.label_weights, "from_logits": self.from_logits}


# ----------------------------------------------------------------------------------
# resolution by name
# ----------------------------------------------------------------------------------
_CLASSES = [Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
            TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
            MeanAbsolutePercentageError, RootMeanSquaredError, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, KLDivergence, Precision, Recall, TruePositives, FalsePositives,
            TrueNegatives, FalseNegatives, AUC]

ALL_OBJECTS: dict[str, type] = {}
for _cls in _CLASSES:
    ALL_OBJECTS[_cls.__name__] = _cls
    ALL_OBJECTS[_snake(_cls.__name__)] = _cls
ALL_OBJECTS.update({
    "acc": Accuracy, "mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "rmse": RootMeanSquaredError, "auc": AUC, "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy, "kld": KLDivergence,
    "bce": BinaryCrossentropy,
})
del _cls


def serialize(metric: Metric) -> dict:
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Metric:
    name = config.get("class_name")
    cls = (custom_objects or {}).get(name) or ALL_OBJECTS.get(name)
    if cls is None:
        raise ValueError(f"Unknown metric class {name!r}; expected one of {sorted(c.__name__ for c in _CLASSES)}")
    return cls.from_config(config.get("config", {}))


def get(identifier) -> Metric | None:
    """A metric object from a name (``"mse"``, ``"precision"``, ``"SparseCategoricalAccuracy"``),
    a config dict, a metric instance, a metric class, or a function ``fn(y_true, y_pred)``
    (wrapped in a :class:`MeanMetricWrapper` named after it).
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = ALL_OBJECTS.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret metric identifier: {identifier!r}; expected one of "
                f"{sorted(k for k in ALL_OBJECTS if not k[0].isupper())}, a Metric instance or a function"
            )
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r} of type {type(identifier).__name__}")


__all__ = [c.__name__ for c in _CLASSES] + [
    "Metric", "MeanMetricWrapper", "get", "serialize", "deserialize", "accuracy", "binary_accuracy",
    "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error",
]
