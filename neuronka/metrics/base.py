"""The :class:`Metric` base class and the reducing metrics: :class:`Sum`, :class:`Mean`, :class:`MeanMetricWrapper`.

A metric accumulates state with ``update_state(y_true, y_pred, sample_weight=None)``, reports it with
``result()`` and starts over with ``reset_state()``. Metrics are not differentiated: their state is NumPy
(float64 sums), they accept neuronka Tensors, NumPy arrays and lists, and ``result()`` is a NumPy scalar (or
array) of the metric's ``dtype``.

    Sum:  Σ wᵢ·vᵢ
    Mean: Σ wᵢ·vᵢ / Σ wᵢ, over samples i (values of rank > 1 are first averaged over their other axes)
"""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy

from ..backend import asnumpy, floatx
from ..ops.losses import squeeze_or_expand_to_same_rank

EPSILON = 1e-7  # Keras's backend.epsilon()


def snake_case(name: str) -> str:
    """``"MeanSquaredError"`` → ``"mean_squared_error"`` (Keras's auto names)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def to_array(x, dtype=None) -> numpy.ndarray:
    """A NumPy array from an array, a neuronka Tensor, a list or a number (never a graph)."""
    if not isinstance(x, numpy.ndarray):
        x = numpy.asarray(asnumpy(getattr(x, "data", x)))
    return x if dtype is None else x.astype(dtype, copy=False)


def keras_mask(x):
    """The Keras mask a Tensor carries (``_keras_mask``), as a boolean array, or None."""
    mask = getattr(x, "_keras_mask", None)
    return None if mask is None else to_array(mask).astype(bool)


def divide_no_nan(a, b) -> numpy.ndarray:
    """a / b, 0 where b = 0."""
    a = numpy.asarray(a, dtype=numpy.float64)
    b = numpy.asarray(b, dtype=numpy.float64)
    out = numpy.zeros(numpy.broadcast(a, b).shape)
    numpy.divide(a, b, out=out, where=b != 0)
    return out


def as_result(value, dtype):
    """A NumPy scalar (or array) of the metric's dtype."""
    arr = numpy.asarray(value, dtype=dtype)
    return arr[()] if arr.ndim == 0 else arr


def apply_mask_sum(sample_weight, mask, dtype):
    """Merge a boolean mask into the weights (Keras's ``apply_mask`` with reduction "sum": masked entries weigh 0)."""
    if mask is None:
        return sample_weight
    float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, to_array(sample_weight, dtype))
    return sample_weight * float_mask


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype, mask=None):
    """Keras's reduction of metric values to one value per sample, weighted.

    With weights: ranks aligned, values reduced (``reduce_fn``) over the axes the weights lack, weights broadcast
    and multiplied in, weights of rank > 1 reduced to one per sample. Then values of rank > 1 are reduced over
    their non-batch axes. Returns (values, weights or None). ``mask`` (of the values) counts only with weights.
    """
    values = to_array(values).astype(numpy.float64)
    if sample_weight is not None:
        sample_weight = to_array(sample_weight).astype(numpy.float64)
        sample_weight = apply_mask_sum(sample_weight, mask, numpy.float64)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        if values.ndim > sample_weight.ndim:
            values = reduce_fn(values, axis=tuple(range(sample_weight.ndim, values.ndim)))
        sample_weight = numpy.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if sample_weight.ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, sample_weight.ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Metric:
    """Base class: ``update_state`` accumulates, ``result`` reports, ``reset_state`` clears.

    ``metric(y_true, y_pred)`` updates the state and returns the result (Keras's ``__call__``). ``dtype``: the
    result's dtype (default ``floatx()``).
    """

    def __init__(self, dtype=None, name: str | None = None):
        self.name = name or snake_case(type(self).__name__)
        self._dtype = numpy.dtype(getattr(dtype, "compute_dtype", dtype) or floatx()).name
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

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.total = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        values, _ = reduce_to_samplewise_values(values, sample_weight, numpy.sum, self._dtype, keras_mask(values))
        self.total += float(values.sum())

    def result(self):
        return as_result(self.total, self._dtype)


class Mean(Metric):
    """Weighted mean of per-sample values: Σ wᵢ·vᵢ / Σ wᵢ (every sample weighs 1 without weights)."""

    def __init__(self, name: str = "mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        mask = keras_mask(values)
        v = to_array(values)
        if sample_weight is None and v.ndim == 1:  # the common case: one value per sample
            self.total += float(v.sum(dtype=numpy.float64))
            self.count += v.shape[0]
            return
        v, w = reduce_to_samplewise_values(v, sample_weight, numpy.mean, self._dtype, mask)
        self.total += float(v.sum())
        if w is not None:
            self.count += float(numpy.sum(w))
        else:
            self.count += float(v.shape[0]) if v.ndim >= 1 else 1.0

    def result(self):
        return as_result(self.total / self.count if self.count else 0.0, self._dtype)


class MeanMetricWrapper(Mean):
    """The weighted Mean of ``fn(y_true, y_pred, **kwargs)`` (one value per sample); a mask on ``y_pred``
    (``_keras_mask``) weighs the masked entries 0."""

    def __init__(self, fn: Callable, name: str | None = None, dtype=None, **kwargs):
        if isinstance(fn, (str, dict)):
            from .objects import deserialize_function  # noqa: PLC0415 - the registry imports this module

            fn = deserialize_function(fn)
        self._fn = fn
        self._fn_kwargs = kwargs
        from .. import losses as _losses  # noqa: PLC0415 - losses import metrics' helpers

        if getattr(_losses, getattr(fn, "__name__", ""), None) is fn:  # a loss function: lower is better (Keras)
            self._direction = "down"
        super().__init__(name=name or "mean_metric_wrapper", dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        mask = keras_mask(y_pred)
        values = self._fn(to_array(y_true), to_array(y_pred), **self._fn_kwargs)
        values_mask = keras_mask(values)
        sample_weight = apply_mask_sum(sample_weight, mask, numpy.float64)
        if values_mask is not None and sample_weight is not None:
            sample_weight = apply_mask_sum(sample_weight, values_mask, numpy.float64)
        super().update_state(to_array(values), sample_weight=sample_weight)

    def get_config(self) -> dict:
        from .objects import serialize  # noqa: PLC0415

        return {**super().get_config(), "fn": serialize(self._fn), **self._fn_kwargs}


class _NamedMeanWrapper(MeanMetricWrapper):
    """A MeanMetricWrapper of a fixed function whose config is its constructor's arguments (the function is
    implied by the class)."""

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype, **self._fn_kwargs}


__all__ = ["Mean", "MeanMetricWrapper", "Metric", "Sum", "reduce_to_samplewise_values"]
