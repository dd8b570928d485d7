"""The :class:`Loss` base class: per-sample values → weighted → reduced, as Keras does.

1. ``y_pred`` and ``y_true`` are converted to the loss's dtype (``dtype=None``: y_pred's float dtype, so
   float64 inputs stay float64 where Keras's floatx would narrow them; integers become ``floatx()``).
2. ``values = call(y_true, y_pred)`` — e.g. the mean over the last axis for MSE, shape ``(batch, ...)``.
3. A mask (``y_pred._keras_mask``, or the one ``call`` attaches to its values, as sparse crossentropy's
   ``ignore_class`` does) is merged into ``sample_weight``; for "sum_over_batch_size" and "mean" the valid
   entries weigh total/valid, so that the average runs over the valid entries only.
4. ``values *= sample_weight`` (ranks aligned by :func:`squeeze_or_expand_to_same_rank`, then broadcast).
5. ``reduction``:
   ``"sum_over_batch_size"`` (default) and ``"mean"``: Σ values / (number of elements of values) — the
   weights' sum is *not* the divisor (a weight of 0 still counts in the denominator);
   ``"mean_with_sample_weight"``: Σ values / Σ sample_weight; ``"sum"``: Σ values;
   ``"none"`` / ``None``: the weighted values themselves. Values of shape () or (0,) are never reduced.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy

from ..autograd import Tensor, _as_array
from ..backend import floatx
from ..ops import math as m
from ..ops.losses import squeeze_or_expand_to_same_rank

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction):
    """``reduction`` if it is one of Keras's, else a ValueError naming the received value."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`: expected one of {list(REDUCTIONS)}, "
                         f"received reduction={reduction!r}")
    return reduction


def _to_dtype(x, dtype) -> Tensor:
    """x as a Tensor of ``dtype``; a Tensor is cast inside the graph so its gradient still flows."""
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else m.cast(x, dtype)
    return Tensor(_as_array(x).astype(dtype, copy=False))


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merge a boolean ``mask`` into ``sample_weight``. For "sum_over_batch_size"/"mean" the valid entries
    weigh total/valid, so that Σ(loss·mask)/total = Σ_valid loss / valid."""
    if mask is None:
        return sample_weight
    mask = numpy.asarray(_as_array(mask))
    if reduction in ("mean", "sum_over_batch_size"):
        valid = mask.astype(bool)
        count = valid.sum()
        float_mask = numpy.where(valid, mask.size / count if count else 0.0, 0.0).astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    sample_weight = numpy.asarray(_as_array(sample_weight)).astype(dtype, copy=False)
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return sample_weight * float_mask


def reduce_values(values: Tensor, sample_weight=None, reduction="sum_over_batch_size") -> Tensor:
    """Σ values, divided as ``reduction`` says (see the module docstring); divide-by-zero gives 0."""
    if reduction in (None, "none") or tuple(values.shape) in ((), (0,)):
        return values
    loss = m.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(numpy.sum(sample_weight))
    else:
        divisor = float(values.size)
    return m.divide(loss, divisor) if divisor else m.multiply(loss, 0.0)  # divide_no_nan


def reduce_weighted_values(values: Tensor, sample_weight=None, mask=None, reduction="sum_over_batch_size",
                           name: str = "loss") -> Tensor:
    """Weight per-sample loss ``values`` by ``sample_weight`` (and ``mask``) and reduce them (Keras's rules)."""
    reduction = standardize_reduction(reduction)
    dtype = values.dtype
    sample_weight = apply_mask(None if sample_weight is None else _as_array(sample_weight), mask, dtype, reduction)
    if sample_weight is not None:
        sample_weight = numpy.asarray(_as_array(sample_weight)).astype(dtype, copy=False)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        try:
            numpy.broadcast_shapes(tuple(values.shape), sample_weight.shape)
        except ValueError:
            raise ValueError(
                f"{name}: sample_weight of shape {sample_weight.shape} does not broadcast against the per-sample "
                f"loss of shape {tuple(values.shape)}; expected a weight per sample, e.g. shape "
                f"{tuple(values.shape[:1])} or {tuple(values.shape)}"
            ) from None
        values = m.multiply(values, sample_weight)
    return reduce_values(values, sample_weight, reduction)


def _snake_case(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class Loss:
    """Base class of losses: ``loss(y_true, y_pred, sample_weight=None)`` → a Tensor (see the module docstring).

    ``reduction``: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"``,
    ``"none"`` or ``None``. ``dtype``: the computation dtype; ``None`` keeps y_pred's float dtype.
    Subclasses implement ``call(y_true, y_pred)`` → per-sample values.
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype=None):
        self.name = name or _snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = None if dtype is None else numpy.dtype(getattr(dtype, "compute_dtype", dtype)).name

    @property
    def dtype(self) -> str:
        return self._dtype or floatx()

    def _compute_dtype(self, y_pred) -> numpy.dtype:
        if self._dtype is not None:
            return numpy.dtype(self._dtype)
        pred_dtype = _as_array(y_pred).dtype
        return pred_dtype if numpy.issubdtype(pred_dtype, numpy.floating) else numpy.dtype(floatx())

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        dtype = self._compute_dtype(y_pred)
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_pred = _to_dtype(y_pred, dtype)
        y_true = _to_dtype(y_true, dtype)
        values = self.call(y_true, y_pred)
        out_mask = getattr(values, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = numpy.asarray(_as_array(in_mask)).astype(bool) & numpy.asarray(_as_array(out_mask)).astype(bool)
        else:
            mask = in_mask if out_mask is None else out_mask
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, self.name)

    def call(self, y_true, y_pred) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.call(y_true, y_pred) must return the per-sample losses")

    def get_config(self) -> dict:
        """Keras's config (``name``, ``reduction``), plus ``dtype`` when one was given (Keras drops it)."""
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


class LossFunctionWrapper(Loss):
    """A :class:`Loss` around a per-sample function ``fn(y_true, y_pred, **kwargs)``; the ranks of y_true
    and y_pred are aligned (:func:`squeeze_or_expand_to_same_rank`) before the call."""

    def __init__(self, fn: Callable, reduction="sum_over_batch_size", name: str | None = None, dtype=None,
                 **kwargs):
        if isinstance(fn, (str, dict)):
            from . import deserialize  # noqa: PLC0415 - the registry imports this module

            fn = deserialize(fn)
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> Tensor:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        if type(self) is LossFunctionWrapper:
            from . import serialize  # noqa: PLC0415

            return {**super().get_config(), "fn": serialize(self.fn), **self._fn_kwargs}
        # a named loss class: its own constructor arguments (the function is implied by the class)
        return {**super().get_config(), **self._fn_kwargs}

    def __repr__(self) -> str:
        if type(self) is LossFunctionWrapper:
            return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"
        return super().__repr__()


__all__ = ["Loss", "LossFunctionWrapper", "REDUCTIONS", "apply_mask", "reduce_values", "reduce_weighted_values",
           "squeeze_or_expand_to_same_rank", "standardize_reduction"]
