"""Confusion-matrix metrics: weighted counts of true/false positives/negatives at thresholds, and what is
computed from them.

A prediction ŷ is positive at threshold t when ŷ > t; a label y is positive when y ≠ 0. With weights w:

    TP(t) = Σ w·[y ≠ 0]·[ŷ > t]    FP(t) = Σ w·[y = 0]·[ŷ > t]    TN = Σw[y = 0] − FP    FN = Σw[y ≠ 0] − TP

    Precision = TP/(TP + FP)    Recall (sensitivity) = TP/(TP + FN)    Specificity = TN/(TN + FP)
    XAtY: the largest X over the thresholds where Y ≥ the given value
    AUC: the area under the ROC curve (x = FP/(FP + TN), y = recall), the PR curve (x = recall, y = precision,
         with Davis & Goadrich's interpolation) or the PR-gain curve, by Riemann sums over the thresholds.

Evenly spaced thresholds (AUC's default, the XAtY metrics) put each prediction in its bucket
⌈ŷ·(n − 1)⌉ − 1 (computed in float32, ŷ clipped to [0, 1]) and count by cumulative sums, as Keras does;
other thresholds are compared one by one. ``top_k`` keeps only each row's k highest predictions, ``class_id``
one column.
"""
from __future__ import annotations

import numpy

from .base import EPSILON, Metric, as_result, divide_no_nan, to_array

NEG_INF = -1e10  # Keras's stand-in for "below every threshold"


def _to_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple, numpy.ndarray)) else [x]


def check_thresholds(thresholds) -> None:
    bad = [t for t in thresholds if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")


def parse_thresholds(thresholds, default: float) -> list[float]:
    if thresholds is not None:
        check_thresholds(_to_list(thresholds))
    return [float(t) for t in _to_list(default if thresholds is None else thresholds)]


def evenly_spaced(thresholds) -> bool:
    """Keras's test: at least 3 thresholds, within ε of i/(n − 1)."""
    n = len(thresholds)
    if n < 3:
        return False
    return bool(numpy.allclose(thresholds, numpy.arange(n, dtype=numpy.float32) / (n - 1), atol=EPSILON))


def _top_k_only(y_pred, k: int):
    """Each row's k highest predictions kept, the others set to NEG_INF."""
    order = numpy.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    keep = numpy.zeros(y_pred.shape, dtype=bool)
    numpy.put_along_axis(keep, order, True, axis=-1)
    return numpy.where(keep, y_pred, NEG_INF).astype(y_pred.dtype)


def _squeeze_or_expand(x1, x2, expand_rank_1=True):
    from ..ops.losses import squeeze_or_expand_to_same_rank  # noqa: PLC0415

    return squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1)


def confusion_counts(y_true, y_pred, thresholds, top_k=None, class_id=None, sample_weight=None,
                     multi_label: bool = False, label_weights=None, evenly: bool = False) -> dict:
    """Weighted TP, FP, TN, FN at each threshold: arrays of shape (thresholds,), or (thresholds, labels) with
    ``multi_label`` (y_pred of shape (samples, labels)). Inputs are taken in float32, as Keras's variables."""
    y_true = to_array(y_true).astype(numpy.float32)
    y_pred = to_array(y_pred).astype(numpy.float32)
    thresholds = numpy.asarray(thresholds, dtype=numpy.float32)
    y_pred, y_true = _squeeze_or_expand(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = to_array(sample_weight).astype(numpy.float32)[..., None]
        _, sample_weight = _squeeze_or_expand(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _top_k_only(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(f"When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
                             f"num_classes), found shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    y_true = numpy.broadcast_to(y_true, y_pred.shape)
    weights = numpy.ones(y_pred.shape, dtype=numpy.float64)
    if sample_weight is not None:
        weights = weights * numpy.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None:
        weights = weights * numpy.broadcast_to(numpy.asarray(label_weights, dtype=numpy.float32), y_pred.shape)
    if multi_label:
        cols = y_pred.shape[-1]
        y_pred, y_true, weights = (a.reshape(-1, cols) for a in (y_pred, y_true, weights))
    else:
        y_pred, y_true, weights = (a.reshape(-1, 1) for a in (y_pred, y_true, weights))
    positive = y_true != 0
    wp, wn = weights * positive, weights * ~positive
    n = len(thresholds)
    if evenly:
        # bucket b = ⌈ŷ(n − 1)⌉ − 1 holds the predictions above thresholds 0..b
        with numpy.errstate(invalid="ignore"):
            bucket = numpy.ceil(numpy.clip(y_pred, 0.0, 1.0) * numpy.float32(n - 1)) - 1
        if thresholds[0] < 0.0 or thresholds[-1] > 1.0:
            bucket = numpy.maximum(bucket, 0)
        bucket = numpy.where(numpy.isnan(bucket), -1, bucket).astype(numpy.int64)
        valid = bucket >= 0
        tp, fp = numpy.zeros((n, y_pred.shape[1])), numpy.zeros((n, y_pred.shape[1]))
        col = numpy.broadcast_to(numpy.arange(y_pred.shape[1]), y_pred.shape)
        numpy.add.at(tp, (bucket[valid], col[valid]), wp[valid])
        numpy.add.at(fp, (bucket[valid], col[valid]), wn[valid])
        tp, fp = numpy.cumsum(tp[::-1], axis=0)[::-1], numpy.cumsum(fp[::-1], axis=0)[::-1]
    else:
        above = y_pred[None, :, :] > thresholds[:, None, None]  # (thresholds, samples, labels)
        tp, fp = (above * wp[None]).sum(axis=1), (above * wn[None]).sum(axis=1)
    tn, fn = wn.sum(axis=0) - fp, wp.sum(axis=0) - tp
    counts = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    return counts if multi_label else {k: v[:, 0] for k, v in counts.items()}


class _ConfusionMetric(Metric):
    """Accumulates the four counts at ``self.thresholds``."""

    _evenly = False
    _multi_label = False

    def reset_state(self) -> None:
        shape = (len(self.thresholds),)
        self.true_positives, self.false_positives = numpy.zeros(shape), numpy.zeros(shape)
        self.true_negatives, self.false_negatives = numpy.zeros(shape), numpy.zeros(shape)

    def _accumulate(self, y_true, y_pred, sample_weight, top_k=None, class_id=None, label_weights=None):
        c = confusion_counts(y_true, y_pred, self.thresholds, top_k=top_k, class_id=class_id,
                             sample_weight=sample_weight, multi_label=self._multi_label, label_weights=label_weights,
                             evenly=self._evenly)
        self.true_positives = self.true_positives + c["tp"]
        self.false_positives = self.false_positives + c["fp"]
        self.true_negatives = self.true_negatives + c["tn"]
        self.false_negatives = self.false_negatives + c["fn"]

    def _one_or_all(self, values):
        return as_result(values[0] if len(self.thresholds) == 1 else values, self._dtype)


class _CountMetric(_ConfusionMetric):
    _field = ""

    def __init__(self, thresholds=None, name: str | None = None, dtype=None):
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5)
        self._evenly = evenly_spaced(self.thresholds)
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        self._accumulate(y_true, y_pred, sample_weight)

    def result(self):
        return self._one_or_all(getattr(self, self._field))

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_CountMetric):
    """Weighted count of y ≠ 0 with ŷ > threshold."""

    _field = "true_positives"


class FalsePositives(_CountMetric):
    """Weighted count of y = 0 with ŷ > threshold."""

    _field = "false_positives"


class TrueNegatives(_CountMetric):
    """Weighted count of y = 0 with ŷ ≤ threshold."""

    _field = "true_negatives"


class FalseNegatives(_CountMetric):
    """Weighted count of y ≠ 0 with ŷ ≤ threshold."""

    _field = "false_negatives"


class _PrecisionRecall(_ConfusionMetric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name: str | None = None, dtype=None):
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = evenly_spaced(self.thresholds)
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        self._accumulate(y_true, y_pred, sample_weight, top_k=self.top_k, class_id=self.class_id)

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """TP / (TP + FP) at each threshold (0 when nothing is predicted positive); ``top_k``: only each row's k
    highest predictions may be positive; ``class_id``: one class's column."""

    def result(self):
        return self._one_or_all(divide_no_nan(self.true_positives, self.true_positives + self.false_positives))


class Recall(_PrecisionRecall):
    """TP / (TP + FN) at each threshold (0 when there is no positive label)."""

    def result(self):
        return self._one_or_all(divide_no_nan(self.true_positives, self.true_positives + self.false_negatives))


class _AtValue(_ConfusionMetric):
    """The best of one rate over the thresholds where another rate reaches ``value``; thresholds
    [0, 1/(n − 1), …, 1] (or [0.5] for n = 1)."""

    _value_name = ""

    def __init__(self, value: float, num_thresholds: int = 200, class_id=None, name: str | None = None, dtype=None):
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self._value_name}` must be in the range [0, 1]. Received: "
                             f"{self._value_name}={value}")
        if num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. Received: "
                             f"num_thresholds={num_thresholds}")
        self.value = value
        setattr(self, self._value_name, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0, *inner, 1.0], True
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        self._accumulate(y_true, y_pred, sample_weight, class_id=self.class_id)

    def _rates(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        return {"recall": divide_no_nan(tp, tp + fn), "specificity": divide_no_nan(tn, tn + fp),
                "precision": divide_no_nan(tp, tp + fp)}

    def _max_where(self, constrained, dependent):
        """max(dependent where constrained ≥ value), 0 if nowhere."""
        return as_result(max(0.0, float(numpy.max(numpy.where(constrained >= self.value, dependent, 0.0)))),
                         self._dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._value_name: self.value}


class SensitivityAtSpecificity(_AtValue):
    """The best sensitivity (recall) over the thresholds where specificity ≥ ``specificity``."""

    _value_name = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id=None, name: str | None = None,
                 dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self):
        r = self._rates()
        return self._max_where(r["specificity"], r["recall"])


class SpecificityAtSensitivity(_AtValue):
    """The best specificity over the thresholds where sensitivity (recall) ≥ ``sensitivity``."""

    _value_name = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id=None, name: str | None = None,
                 dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self):
        r = self._rates()
        return self._max_where(r["recall"], r["specificity"])


class PrecisionAtRecall(_AtValue):
    """The best precision over the thresholds where recall ≥ ``recall``."""

    _value_name = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id=None, name: str | None = None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self):
        r = self._rates()
        return self._max_where(r["recall"], r["precision"])


class RecallAtPrecision(_AtValue):
    """The best recall over the thresholds where precision ≥ ``precision``."""

    _value_name = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id=None, name: str | None = None,
                 dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self):
        r = self._rates()
        return self._max_where(r["precision"], r["recall"])


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(_ConfusionMetric):
    """Area under the ROC, PR or PR-gain ``curve`` from the counts at ``num_thresholds`` thresholds
    ([−ε, 1/(n − 1), …, 1 + ε], or the given ``thresholds`` between −ε and 1 + ε).

    ``summation_method``: "interpolation" (trapezoids; for PR, Davis & Goadrich's interpolation of precision
    between the thresholds), "minoring" / "majoring" (the lower / upper step). ``multi_label``: one curve per
    label column (``num_labels``, else the first batch's width), averaged (weighted by ``label_weights`` if
    given); otherwise every entry is one prediction and ``label_weights`` weighs the columns. ``from_logits``:
    σ(ŷ) first.
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype=None, thresholds=None, multi_label: bool = False, num_labels=None,
                 label_weights=None, from_logits: bool = False):
        key = str(curve).lower()
        if key not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                             f'["interpolation", "majoring", "minoring"]')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            check_thresholds(inner)
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_spaced(numpy.array([0.0, *inner, 1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                                 f"num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - EPSILON, *inner, 1.0 + EPSILON]
        self.curve = _CURVES[key]
        self.summation_method = str(summation_method).lower()
        self.multi_label = bool(multi_label)
        self._multi_label = self.multi_label
        if num_labels and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.num_labels = num_labels
        if isinstance(label_weights, dict):  # Keras serializes a tensor as {"class_name": "__tensor__", ...}
            label_weights = label_weights.get("config", {}).get("value")
        self.label_weights = None if label_weights is None else numpy.asarray(label_weights, dtype=numpy.float32)
        self._from_logits = from_logits
        super().__init__(name=name, dtype=dtype)

    @property
    def thresholds(self) -> list[float]:
        return list(self._thresholds)

    def reset_state(self) -> None:
        self._allocate(getattr(self, "_width", None) or self.num_labels if self.multi_label else None)

    def _allocate(self, width):
        if self.multi_label and width is None:  # built at the first batch
            self.true_positives = self.false_positives = self.true_negatives = self.false_negatives = None
            return
        shape = (self.num_thresholds, width) if self.multi_label else (self.num_thresholds,)
        self.true_positives, self.false_positives = numpy.zeros(shape), numpy.zeros(shape)
        self.true_negatives, self.false_negatives = numpy.zeros(shape), numpy.zeros(shape)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = to_array(y_pred).astype(numpy.float32)
        if self.multi_label:
            if y_pred.ndim != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {y_pred.ndim}. Full "
                                 f"shape received for `y_pred`: {y_pred.shape}")
            if self.true_positives is None:
                self._width = y_pred.shape[1]
                self._allocate(self._width)
        if self._from_logits:
            y_pred = (1.0 / (1.0 + numpy.exp(-y_pred.astype(numpy.float64)))).astype(numpy.float32)
        self._accumulate(y_true, y_pred, sample_weight,
                         label_weights=None if self.multi_label else self.label_weights)

    def _interpolate_pr_auc(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, numpy.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = numpy.where((p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], numpy.maximum(p[1:], 0)), 1.0)
        with numpy.errstate(divide="ignore"):
            log_ratio = numpy.log(ratio)
        return divide_no_nan(slope * (dtp + intercept * log_ratio), numpy.maximum(tp[1:] + fn[1:], 0))

    def _curve_terms(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PR-gain (Flach & Kull, 2015)
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = numpy.where(tp == 0, 0.0, 1.0 - scale * divide_no_nan(fn, tp))
            precision_gain = numpy.where(tp == 0, 1.0, 1.0 - scale * divide_no_nan(fp, tp))
            x, y = numpy.maximum(recall_gain, 0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = numpy.minimum(y[:-1], y[1:])
        else:
            heights = numpy.maximum(y[:-1], y[1:])
        return (x[:-1] - x[1:]) * heights

    def result(self):
        if self.true_positives is None:
            return as_result(0.0, self._dtype)
        terms = self._curve_terms()
        if not self.multi_label:
            return as_result(terms.sum(), self._dtype)
        by_label = terms.sum(axis=0)
        if self.label_weights is None:
            return as_result(by_label.mean(), self._dtype)
        return as_result(divide_no_nan((by_label * self.label_weights).sum(), self.label_weights.sum()), self._dtype)

    def get_config(self) -> dict:
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": label_weights, "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


CLASSES = (TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, SensitivityAtSpecificity,
           SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision, AUC)
