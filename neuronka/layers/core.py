"""Core layers: Dense, Activation, Dropout, Lambda, Identity.

Dense is the notes' layer of artificial neurons: each output unit computes a
weighted sum of its inputs plus a bias, passed through an activation,
y = A(x·W + b).
"""
from __future__ import annotations

import numpy

from .. import activations as _activations
from .. import constraints, initializers, ops, regularizers
from ..ops import random as _random
from .base import InputSpec, Layer


def serialize_common(layer) -> dict:
    """The configs of initializers, regularizers and constraints a layer holds, for ``get_config``."""
    out = {}
    for attr in dir(layer):
        if attr.endswith("_initializer") and not attr.startswith("_"):
            out[attr] = initializers.serialize(getattr(layer, attr))
        elif attr.endswith("_regularizer") and not attr.startswith("_"):
            out[attr] = regularizers.serialize(getattr(layer, attr))
        elif attr.endswith("_constraint") and not attr.startswith("_"):
            out[attr] = constraints.serialize(getattr(layer, attr))
    return out


def check_positive_int(layer_name: str, arg: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value <= 0:
        raise ValueError(f"{layer_name}: expected a positive integer for `{arg}`, received {arg}={value!r}")
    return int(value)


def check_rate(layer_name: str, rate) -> float:
    if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(
            f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
            f"Received: rate={rate!r} (layer {layer_name})"
        )
    return float(rate)


class Dense(Layer):
    """y = activation(x · kernel + bias), over the last axis of x.

    kernel: (input_dim, units), bias: (units,). Backward (by the matmul and add
    ops): dL/dkernel = xᵀ·g, dL/dbias = Σ g, dL/dx = g·kernelᵀ.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("Dense", "units", units)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense {self.name!r}: the last axis of the input must be known, received {input_shape}")
        self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = (self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
                     if self.use_bias else None)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs):
        y = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape[:-1]), self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": _activations.serialize(self.activation),
                "use_bias": self.use_bias, **serialize_common(self)}


class Activation(Layer):
    """y = A(x) for a named activation (or a callable)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "activation": _activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout: in training, y = x·m/(1 − rate) with m ~ Bernoulli(1 − rate); at inference y = x."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("Dropout", rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._rng = numpy.random.default_rng(seed) if seed is not None else None
        self.supports_masking = True

    def _noise_shape(self, shape):
        if self.noise_shape is None:
            return None
        return tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return _random.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs.shape), rng=self._rng)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape), "seed": self.seed}


class Lambda(Layer):
    """Wraps a function of tensors as a layer (not serializable to a file: its code is not saved)."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments or {}
        self._output_shape = output_shape

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        return (input_shape[0], *tuple(self._output_shape))

    def get_config(self):
        raise NotImplementedError(
            f"Lambda layer {self.name!r} cannot be saved: its Python function is not serialized "
            f"(loading never executes code from a file). Subclass Layer and register it instead."
        )


class Identity(Layer):
    """y = x."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
