"""``neuronka.losses``: Keras 3's ``keras.losses`` — loss classes, their function forms, and ``get``.

The per-sample math (one value per sample, with its derivative) lives in
:mod:`neuronka.ops.losses`. Here a :class:`Loss` turns those values into the
number being minimised, as Keras does:

1. ``y_pred`` and ``y_true`` are converted to the loss's dtype (``dtype=None``: y_pred's
   float dtype, so float64 inputs stay float64; integers become ``floatx()``), and their
   ranks are aligned (a trailing axis of 1 is squeezed or added).
2. ``values = fn(y_true, y_pred)`` — e.g. mean over the last axis for MSE, shape ``(batch, ...)``.
3. A mask (``y_pred._keras_mask``, or the ``ignore_class`` mask of sparse crossentropy)
   is merged into ``sample_weight``; ``values *= sample_weight`` (ranks aligned the same
   way, then broadcast).
4. ``reduction``:
   ``"sum_over_batch_size"`` (default) and ``"mean"``: Σ values / (number of elements of values) —
   the sum of the weights is *not* the divisor (a weight of 0 still counts in the denominator);
   ``"mean_with_sample_weight"``: Σ values / Σ sample_weight; ``"sum"``: Σ values;
   ``"none"`` / ``None``: the weighted values themselves.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy

from .autograd import Tensor, _as_array
from .backend import floatx
from .ops import math as m
from .ops.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    huber,
    kl_divergence,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_crossentropy,
    squeeze_or_expand_to_same_rank,
)

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

# Keras's aliases of the function forms
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`: expected one of {list(REDUCTIONS)}, "
                         f"received reduction={reduction!r}")
    return reduction


def _to_dtype(x, dtype) -> Tensor:
    """x as a Tensor of ``dtype``; a Tensor is cast inside the graph so its gradient still flows."""
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else m.cast(x, dtype)
    return Tensor(_as_array(x).astype(dtype, copy=False))


def reduce_weighted_values(values: Tensor, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", name: str = "loss") -> Tensor:
    """Weight per-sample loss ``values`` by ``sample_weight`` (and ``mask``) and reduce them (Keras's rules)."""
    reduction = standardize_reduction(reduction)
    dtype = values.dtype
    if mask is not None:
        mask = _as_array(mask).astype(dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            # valid entries weigh total/valid, so that Σ(loss·mask)/total = Σ_valid loss / valid
            valid = mask.sum()
            mask = mask * (mask.size / valid if valid else 0.0)
        if sample_weight is not None:
            mask, sample_weight = squeeze_or_expand_to_same_rank(mask, _as_array(sample_weight).astype(dtype))
            sample_weight = sample_weight * mask
        else:
            sample_weight = mask
    if sample_weight is not None:
        sample_weight = _as_array(getattr(sample_weight, "data", sample_weight)).astype(dtype, copy=False)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        try:
            numpy.broadcast_shapes(values.shape, sample_weight.shape)
        except ValueError:
            raise ValueError(
                f"{name}: sample_weight of shape {sample_weight.shape} does not broadcast against the per-sample "
                f"loss of shape {tuple(values.shape)}; expected a weight per sample, e.g. shape "
                f"{tuple(values.shape[:1])} or {tuple(values.shape)}"
            ) from None
        values = m.multiply(values, sample_weight)
    if reduction in (None, "none") or tuple(values.shape) in ((), (0,)):
        return values
    loss = m.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(sample_weight.sum())
    else:
        divisor = float(values.size)
    return m.divide(loss, divisor) if divisor else m.multiply(loss, 0.0)  # divide_no_nan


class Loss:
    """Base class of losses: ``loss(y_true, y_pred, sample_weight=None)`` → a Tensor.

    ``reduction``: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
    ``"mean_with_sample_weight"``, ``"none"`` or ``None`` (see the module docstring).
    ``dtype``: the computation dtype; ``None`` keeps y_pred's float dtype.
    Subclasses implement ``call(y_true, y_pred)`` → per-sample values.
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype=None):
        self.name = name or _snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = None if dtype is None else numpy.dtype(dtype).name

    @property
    def dtype(self) -> str | None:
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        pred_dtype = _as_array(y_pred).dtype
        if self._dtype is not None:
            dtype = numpy.dtype(self._dtype)
        else:
            dtype = pred_dtype if numpy.issubdtype(pred_dtype, numpy.floating) else numpy.dtype(floatx())
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_pred = _to_dtype(y_pred, dtype)
        y_true = _to_dtype(y_true, dtype)
        values = self.call(y_true, y_pred)
        out_mask = getattr(values, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = _as_array(in_mask).astype(bool) & _as_array(out_mask).astype(bool)
        else:
            mask = in_mask if out_mask is None else out_mask
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, self.name)

    def call(self, y_true, y_pred) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.call(y_true, y_pred) must return the per-sample losses")

    def get_config(self) -> dict:
        config = {"name": self.name, "reduction": self.reduction}
        if self._dtype is not None:
            config["dtype"] = self._dtype
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "fn")
        return f"{type(self).__name__}({args})"


def _snake_case(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class LossFunctionWrapper(Loss):
    """A :class:`Loss` around a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn: Callable, reduction="sum_over_batch_size", name: str | None = None, dtype=None,
                 **kwargs):
        if isinstance(fn, str):
            fn = get(fn)
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> Tensor:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        if type(self) is LossFunctionWrapper:
            return {**super().get_config(), "fn": serialize(self.fn), **self._fn_kwargs}
        # subclasses: their own constructor arguments (the function is implied by the class)
        return {**super().get_config(), **self._fn_kwargs}


class MeanSquaredError(LossFunctionWrapper):
    """mean((y − ŷ)²) over the last axis, then reduced; d/dŷ = 2(ŷ − y)/n."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """mean(|y − ŷ|) over the last axis, then reduced; d/dŷ = sign(ŷ − y)/n."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class Huber(LossFunctionWrapper):
    """mean(½d² if |d| ≤ δ else δ(|d| − ½δ)) over the last axis, d = ŷ − y, then reduced."""

    def __init__(self, delta: float = 1.0, reduction="sum_over_batch_size", name: str = "huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta


class BinaryCrossentropy(LossFunctionWrapper):
    """mean(−[y log p + (1 − y) log(1 − p)]) over ``axis``; p = σ(ŷ) when ``from_logits``.

    ``label_smoothing`` ε: y ← y(1 − ε) + ε/2. Probabilities are clipped to [1e-7, 1 − 1e-7].
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name: str = "binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """−Σ_c y_c log p_c over ``axis`` for one-hot (or soft) y; p = softmax(ŷ) when ``from_logits``.

    ``label_smoothing`` ε: y ← y(1 − ε) + ε/C. Probabilities are renormalised and clipped to [1e-7, 1 − 1e-7].
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name: str = "categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """−log p[label] for integer labels; p = softmax(ŷ) when ``from_logits``.

    ``ignore_class``: entries with that label count neither in the loss nor in the average.
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction="sum_over_batch_size", name: str = "sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits, self.ignore_class = from_logits, ignore_class


class KLDivergence(LossFunctionWrapper):
    """Σ y log(y/ŷ) over the last axis, y and ŷ clipped to [1e-7, 1], then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name: str = "kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


ALL_OBJECTS = (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
    mean_squared_error, mean_absolute_error, huber, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy, kl_divergence,
)
ALL_OBJECTS_DICT: dict[str, Any] = {obj.__name__: obj for obj in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({"mse": mse, "MSE": mse, "mae": mae, "MAE": mae, "kld": kld, "KLD": kld,
                         "bce": bce, "BCE": bce})


def serialize(loss) -> dict | str:
    """A Loss as ``{"class_name": ..., "config": ...}``; a built-in loss function as its name."""
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    name = getattr(loss, "__name__", None)
    if callable(loss) and name and name != "<lambda>":
        return name
    raise ValueError(f"losses.serialize: expected a Loss instance or a named loss function, received {loss!r}")


def deserialize(config, custom_objects: dict | None = None):
    """Inverse of :func:`serialize`: a Loss instance from a config dict, or a loss function from its name."""
    objects = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(config, str) and config in objects:
        return objects[config]
    if isinstance(config, dict) and config.get("class_name") in objects:
        cls = objects[config["class_name"]]
        inner = config.get("config") or {}
        if isinstance(inner, str):  # Keras's {"class_name": "function", "config": "mean_squared_error"}
            return deserialize(inner, custom_objects)
        return cls.from_config(inner) if inspect.isclass(cls) else cls
    if isinstance(config, dict) and isinstance(config.get("config"), str):
        return deserialize(config["config"], custom_objects)
    raise ValueError(f"losses.deserialize: could not interpret loss config {config!r}; expected a name in "
                     f"{sorted(objects)} or a dict {{'class_name': ..., 'config': {{...}}}}")


def get(identifier):
    """Resolve a loss as ``keras.losses.get``: a name (a function name such as ``"mse"`` gives the function,
    a class name such as ``"CategoricalCrossentropy"`` gives an instance), a config dict, a Loss class
    (instantiated), a Loss instance or a callable; ``None`` gives ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(
        f"Could not interpret loss identifier: received {identifier!r}; expected one of "
        f"{sorted(ALL_OBJECTS_DICT)}, a Loss instance or class, a callable, or a dict "
        f"{{'class_name': ..., 'config': {{...}}}}"
    )


__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "Huber",
    "KLDivergence",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "SparseCategoricalCrossentropy",
    "binary_crossentropy",
    "categorical_crossentropy",
    "deserialize",
    "get",
    "huber",
    "kl_divergence",
    "kld",
    "mae",
    "mean_absolute_error",
    "mean_squared_error",
    "mse",
    "serialize",
    "sparse_categorical_crossentropy",
]
