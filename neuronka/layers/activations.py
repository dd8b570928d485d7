"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax.

Each wraps a function of :mod:`neuronka.ops.activations`, where A(x) and A'(x) sit side by side;
the layer adds Keras's arguments, checks and config. PReLU is the one with a weight (its slopes α).
"""
from __future__ import annotations

import warnings

import numpy

from .. import constraints, initializers, ops, regularizers
from ..backend import get_array_module
from .base import InputSpec, Layer

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]


def _check_non_negative(message: str, value, allow_none: bool = False):
    """Keras's checks of a ReLU argument: a number >= 0 (or None where allowed), kept as given."""
    if value is None and allow_none:
        return None
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, numpy.number)) or value < 0:
        raise ValueError(message.format(value))
    return value.item() if isinstance(value, numpy.number) else value


class _Elementwise(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._build_at_init()

    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_Elementwise):
    """A(x) = min(x, max_value) if x ≥ threshold, else negative_slope · (x − threshold).

    A'(x) = 1 on [threshold, max_value), negative_slope below threshold, 0 above max_value.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _check_non_negative(
            "max_value of a ReLU layer cannot be a negative value. Received: max_value={}", max_value, True)
        self.negative_slope = _check_non_negative(
            "negative_slope of a ReLU layer cannot be None or a negative value. Received: negative_slope={}",
            negative_slope)
        self.threshold = _check_non_negative(
            "threshold of a ReLU layer cannot be None or a negative value. Received: threshold={}", threshold)

    def call(self, inputs):
        return ops.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                        threshold=self.threshold)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """A(x) = x if x > 0 else negative_slope · x; A'(x) = 1 or negative_slope.

    Keras 3's layer default is ``negative_slope=0.3`` (the function ``keras.activations.leaky_relu``
    defaults to 0.2). The notes' max(0.1x, x) is ``LeakyReLU(negative_slope=0.1)``. The deprecated
    ``alpha`` argument is accepted, as in Keras.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _check_non_negative(
            "The negative_slope value of a Leaky ReLU layer cannot be None or negative value. Expected a float. "
            "Received: negative_slope={}", negative_slope)

    def call(self, inputs):
        return ops.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """A(x) = x if x > 0 else α(eˣ − 1); A'(x) = 1 or αeˣ.

    Like Keras's ELU it has no ``get_config`` of its own: its config is the automatic one (the name, then
    ``alpha``, then the base arguments given to the constructor, then the others).
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, numpy.number)):
            raise ValueError(f"ELU: expected a float for `alpha`, received alpha={alpha!r}")
        self.alpha = alpha.item() if isinstance(alpha, numpy.number) else alpha

    def call(self, inputs):
        return ops.elu(inputs, alpha=self.alpha)


class Softmax(_Elementwise):
    """yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``axis`` (an int or a list of ints).

    ``mask`` (True = keep; broadcastable to the input; a float mask means > 0.5): the masked-out logits are
    replaced by a large negative number (−10⁹, −3·10⁴ in float16) before the softmax and their outputs set
    to 0 after it, as Keras does. Backward: dL/dx = y ⊙ (g − Σ g·y) on the kept entries.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
                raise ValueError(f"Softmax: expected `axis` to be an int or a list of ints, received axis={axis!r}")
        elif not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"Softmax: expected `axis` to be an int or a list of ints, received axis={axis!r}")
        self.axis = axis

    def call(self, inputs, mask=None):
        x = inputs
        keep = None
        if mask is not None:
            m = getattr(mask, "data", mask)
            xp = get_array_module(m)
            m = xp.asarray(m)
            if m.ndim > x.ndim or any(a != 1 and a != b for a, b in zip(m.shape[::-1], x.shape[::-1])):
                raise ValueError(f"The `mask` must be broadcastable to `inputs` and must not have more dimensions. "
                                 f"Received: inputs.shape={tuple(x.shape)}, mask.shape={tuple(m.shape)}")
            keep = m if m.dtype == bool else m > 0.5
            large_negative = -3e4 if x.dtype == numpy.float16 else -1e9
            x = ops.where(keep, x, large_negative)
        axis = tuple(self.axis) if isinstance(self.axis, (list, tuple)) else self.axis
        y = ops.softmax(x, axis=axis)
        return y if keep is None else ops.where(keep, y, 0.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """A(x) = x if x > 0 else α ⊙ x, with a learned slope α per feature (Keras's ``alpha`` weight).

    α has the shape of one sample, with the ``shared_axes`` (1-indexed, e.g. ``[1, 2]`` for one slope
    per channel of an image) set to 1. dL/dx = g · (1 if x > 0 else α); dL/dα = Σ g · min(x, 0) over the
    batch and the shared axes.
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, int) and not isinstance(shared_axes, bool):
            self.shared_axes = [shared_axes]
        else:
            self.shared_axes = [int(a) for a in shared_axes]
        if self.shared_axes is not None and any(a < 1 for a in self.shared_axes):
            raise ValueError(f"PReLU: expected `shared_axes` of positive (1-indexed, non-batch) axes, "
                             f"received shared_axes={shared_axes!r}")

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            if a > len(shape):
                raise ValueError(f"PReLU {self.name!r}: shared axis {a} does not exist in an input of shape "
                                 f"{tuple(input_shape)}")
            shape[a - 1] = 1
        if any(s is None for s in shape):
            raise ValueError(f"PReLU {self.name!r}: every non-shared axis must be known to create `alpha`; "
                             f"received input_shape={tuple(input_shape)} and shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(shape=shape, initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint,
                                     name="alpha")
        axes = {i + 1: s for i, s in enumerate(input_shape[1:]) if i + 1 not in (self.shared_axes or ())}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        # relu(x) − α·relu(−x) = x for x > 0, αx otherwise
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}
