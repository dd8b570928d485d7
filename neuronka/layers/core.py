"""Core layers: Dense, Activation, Dropout, Lambda, Identity.

Dense is the notes' layer of artificial neurons: each output unit computes a
weighted sum of its inputs plus a bias, passed through an activation,
y = A(x·W + b).
"""
from __future__ import annotations

import inspect

import numpy

from .. import activations as _activations
from .. import constraints, initializers, ops, regularizers
from ..ops import random as _random
from .base import InputSpec, Layer
from .lora import LoRAMixin


def weight_arguments(layer, *weights: str, activity: bool = True) -> dict:
    """Keras's config entries for the initializers, regularizers and constraints of ``weights`` (e.g. "kernel",
    "bias"), in Keras's order: every initializer, every regularizer (then the activity regularizer when
    ``activity``), every constraint."""
    out = {f"{w}_initializer": initializers.serialize(getattr(layer, f"{w}_initializer")) for w in weights}
    out.update({f"{w}_regularizer": regularizers.serialize(getattr(layer, f"{w}_regularizer")) for w in weights})
    if activity:
        out["activity_regularizer"] = regularizers.serialize(layer.activity_regularizer)
    out.update({f"{w}_constraint": constraints.serialize(getattr(layer, f"{w}_constraint")) for w in weights})
    return out


def check_no_quantization(layer: str, quantization_config):
    """Keras's ``quantization_config`` argument: recorded in configs, but quantization is not implemented."""
    if quantization_config is not None:
        raise NotImplementedError(f"{layer}: quantization is not implemented in neuronka; expected "
                                  f"quantization_config=None, received {quantization_config!r}")
    return None


def check_positive_int(layer_name: str, arg: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value <= 0:
        raise ValueError(f"{layer_name}: expected a positive integer for `{arg}`, received {arg}={value!r}")
    return int(value)


def check_rate(layer_name: str, rate):
    """A dropout rate in [0, 1], kept as given (Keras writes ``rate`` back unchanged, 0 stays 0)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float, numpy.number)) or not 0 <= rate <= 1:
        raise ValueError(
            f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
            f"Received: rate={rate!r} (layer {layer_name})"
        )
    return rate.item() if isinstance(rate, numpy.number) else rate


class Dense(LoRAMixin, Layer):
    """y = activation(x · kernel + bias), over the last axis of x.

    kernel: (input_dim, units), bias: (units,) (weights in this order, Keras's). Backward (by the matmul and
    add ops): dL/dkernel = xᵀ·g, dL/dbias = Σ g, dL/dx = g·kernelᵀ. ``lora_rank``/``enable_lora``: see
    :mod:`neuronka.layers.lora` (``layer.kernel`` stays the stored weight; the call uses the merged one).
    ``quantization_config`` is accepted and recorded for Keras's configs; quantization itself is not
    implemented, so it must be None.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, quantization_config=None, **kwargs):
        if isinstance(units, bool) or not isinstance(units, (int, numpy.integer)) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive integer. "
                             f"Received: units={units}")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = int(units)
        self.activation = _activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_lora(lora_rank, lora_alpha)
        self.quantization_config = check_no_quantization("Dense", quantization_config)
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
        if self.lora_rank:
            self.enable_lora(self.lora_rank)

    def call(self, inputs):
        y = ops.matmul(inputs, self._lora_merged() if self.lora_enabled else self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape[:-1]), self.units)

    def get_config(self):
        config = {"units": self.units, "activation": _activations.serialize(self.activation),
                  "use_bias": self.use_bias, **weight_arguments(self, "kernel", "bias", activity=False),
                  "quantization_config": self.quantization_config}
        return {**super().get_config(), **self._lora_config(config)}


class Activation(Layer):
    """y = A(x) for a named activation (or a callable)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = _activations.get(activation)
        self._build_at_init()

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": _activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout: in training, y = x·m/(1 − rate) with m ~ Bernoulli(1 − rate); at inference y = x.

    ``noise_shape``: the shape of m (None entries take the input's size), broadcast against x — e.g.
    (batch, 1, features) drops the same features at every time step.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("Dropout", rate)
        self.seed = seed
        self.noise_shape = validate_noise_shape(noise_shape)
        self._rng = numpy.random.default_rng(seed) if seed is not None else None
        self.supports_masking = True
        self._build_at_init()

    def _noise_shape(self, shape):
        if self.noise_shape is None:
            return None
        return tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return _random.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs.shape), rng=self._rng)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


def validate_noise_shape(noise_shape):
    """Keras's check of ``noise_shape``: None, or an iterable of positive ints / None, kept as a tuple."""
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str):
        raise ValueError(f"Invalid value received for argument `noise_shape`. Expected a tuple or list of "
                         f"integers. Received: noise_shape={noise_shape}")
    try:
        noise_shape = tuple(noise_shape)
    except TypeError:
        raise ValueError(f"Invalid value received for argument `noise_shape`. Expected an iterable of integers "
                         f"(e.g., a tuple or list). Received: noise_shape={noise_shape}") from None
    for i, dim in enumerate(noise_shape):
        if dim is None:
            continue
        if isinstance(dim, bool) or not isinstance(dim, (int, numpy.integer)):
            raise ValueError(f"Invalid value received for argument `noise_shape`. Expected all elements to be "
                             f"integers or None. Received element at index {i}: {dim} (type: {type(dim).__name__})")
        if dim <= 0:
            raise ValueError(f"Invalid value received for argument `noise_shape`. Expected all dimensions to be "
                             f"positive integers or None. Received negative or zero value at index {i}: {dim}")
    return noise_shape


class Lambda(Layer):
    """Wraps a function of tensors as a layer: y = function(x, **arguments).

    ``output_shape`` (a shape without the batch axis, or a function of the input shape) answers
    ``compute_output_shape`` (otherwise the function is run on zeros); ``mask`` is the output mask, or a
    function ``mask(inputs, previous_mask)``. The function receives ``mask=``/``training=`` when it names them.

    Saving (Keras's config): a *named* function is written as Keras writes it (a reference by name, found
    again among the registered objects and neuronka's namespaces). Deliberately unlike Keras, a Python
    ``lambda`` is refused when saving and its ``__lambda__`` bytecode when loading, with or without
    ``safe_mode``: neuronka never stores or runs code from a file.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.arguments = arguments or {}
        self.function = function
        self.supports_masking = mask is not None
        self.mask = mask
        self._output_shape = output_shape
        try:
            names = inspect.getfullargspec(function).args
        except TypeError:
            names = []
        self._fn_expects_mask_arg = "mask" in names
        self._fn_expects_training_arg = "training" in names

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = input_shape[0][0] if input_shape and isinstance(input_shape[0], (list, tuple)) else input_shape[0]
        return (batch, *tuple(self._output_shape))

    def get_config(self):
        from ..serialization import serialize_keras_object  # noqa: PLC0415

        config = {"function": _serialize_function(self, self.function, "function")}
        if self._output_shape is not None:
            config["output_shape"] = (_serialize_function(self, self._output_shape, "output_shape")
                                      if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            config["mask"] = (_serialize_function(self, self.mask, "mask") if callable(self.mask)
                              else serialize_keras_object(self.mask))
        config["arguments"] = serialize_keras_object(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        from ..serialization import deserialize_keras_object  # noqa: PLC0415

        config = dict(config)
        for key in ("function", "output_shape", "mask"):
            if key not in config or not isinstance(config[key], dict):
                continue
            if config[key].get("class_name") == "__lambda__":
                raise ValueError(f"Lambda: the `{key}` of this layer is a Python lambda stored as bytecode; "
                                 f"neuronka never runs code from a file (with or without safe_mode). Rewrite it "
                                 f"as a named function registered with @register_keras_serializable()")
            config[key] = deserialize_keras_object(config[key], custom_objects=custom_objects)
        shape = config.get("output_shape")
        if isinstance(shape, list) and all(isinstance(e, (int, type(None))) for e in shape):
            config["output_shape"] = tuple(shape)
        if "arguments" in config:
            config["arguments"] = deserialize_keras_object(config["arguments"], custom_objects=custom_objects)
        return super().from_config(config)


def _serialize_function(layer, fn, arg: str):
    from ..serialization import serialize_keras_object  # noqa: PLC0415

    if getattr(fn, "__name__", None) == "<lambda>":
        raise NotImplementedError(
            f"Lambda layer {layer.name!r} cannot be saved: its `{arg}` is a Python lambda, and neuronka never "
            f"stores code (Keras would store its bytecode). Use a named function registered with "
            f"@register_keras_serializable(), or subclass Layer and register it.")
    return serialize_keras_object(fn)


class Identity(Layer):
    """y = x."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
