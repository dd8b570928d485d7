"""Regularization layers: noise and dropping in training, identity (or a fixed rescaling) at inference.

``Dropout`` lives in :mod:`.core`. Here: SpatialDropout1D/2D/3D (whole channels), GaussianNoise,
GaussianDropout, AlphaDropout, ActivityRegularization (all as Keras's), and two of the notes' regularizers as
layers, neuronka's own (Keras has neither): ``DropConnect`` (drop weights instead of units) and
``StochasticDepth`` (drop a residual branch per sample). Every random draw comes from
:mod:`neuronka.ops.random`; a layer built with an integer ``seed`` owns its generator, so a run is
reproducible while successive calls still differ.
"""
from __future__ import annotations

import math

import numpy

from .. import ops, regularizers
from ..backend import get_array_module
from ..ops import random as _random
from ..ops.convolution import normalize_data_format
from .base import InputSpec, Layer, Variable
from .core import Dropout, check_rate

__all__ = [
    "ActivityRegularization",
    "AlphaDropout",
    "DropConnect",
    "GaussianDropout",
    "GaussianNoise",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "StochasticDepth",
]


def _layer_rng(seed):
    return numpy.random.default_rng(seed) if seed is not None else None


def _bernoulli_keep(layer, shape, rate: float, like):
    """m ~ Bernoulli(1 − rate) of ``shape`` as 0/1 in ``like``'s dtype and array module."""
    xp = get_array_module(like)
    u = _random.get_rng(rng=layer._rng).random(shape)
    return xp.asarray((u >= rate).astype(like.dtype))


def _standard_normal(layer, shape, like):
    """N(0, 1) noise of ``shape`` in ``like``'s dtype and array module (drawn from the layer's generator)."""
    xp = get_array_module(like)
    rng = _random.get_rng(rng=layer._rng)
    dtype = numpy.float64 if like.dtype == numpy.float64 else numpy.float32
    return xp.asarray(rng.standard_normal(shape, dtype=dtype).astype(like.dtype, copy=False))


# ----------------------------------------------------------------------------------
# spatial dropout
# ----------------------------------------------------------------------------------
class _SpatialDropout(Dropout):
    """Inverted dropout of whole channels: one Bernoulli(1 − rate) draw per (sample, channel), shared
    over the steps/pixels (noise_shape (N, 1, …, 1, C)), kept channels scaled by 1/(1 − rate).

    As Keras's, the constructor takes only ``rate``, ``data_format``, ``seed``, ``name`` and ``dtype``, and
    the config is ``{"rate", "seed", "name", "dtype"[, "data_format"]}`` with the dtype as a plain name
    (Keras's SpatialDropout writes it so, without ``trainable``).
    """

    rank = 0

    def __init__(self, rate, data_format: str | None = None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _noise_shape(self, shape):
        ones = (1,) * self.rank
        if self.data_format == "channels_last":
            return (shape[0], *ones, shape[-1])
        return (shape[0], shape[1], *ones)

    def get_config(self) -> dict:
        config = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops entire channels of (N, L, C): noise_shape (N, 1, C)."""

    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, None, seed=seed, name=name, dtype=dtype)


class SpatialDropout2D(_SpatialDropout):
    """Drops entire feature maps of (N, H, W, C): noise_shape (N, 1, 1, C) ((N, C, 1, 1) channels_first)."""

    rank = 2

    def __init__(self, rate, data_format: str | None = None, seed=None, name=None, dtype=None):
        super().__init__(rate, data_format, seed=seed, name=name, dtype=dtype)


class SpatialDropout3D(_SpatialDropout):
    """Drops entire feature volumes of (N, D, H, W, C): noise_shape (N, 1, 1, 1, C)."""

    rank = 3

    def __init__(self, rate, data_format: str | None = None, seed=None, name=None, dtype=None):
        super().__init__(rate, data_format, seed=seed, name=name, dtype=dtype)


# ----------------------------------------------------------------------------------
# noise
# ----------------------------------------------------------------------------------
class GaussianNoise(Layer):
    """In training y = x + ε, ε ~ N(0, stddev²) drawn per entry; at inference y = x. dL/dx = dL/dy.
    ``stddev`` must lie in [0, 1] (Keras's check)."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float, numpy.number)) or not 0 <= stddev <= 1:
            raise ValueError(f"Invalid value received for argument `stddev`. Expected a float value between 0 and 1. "
                             f"Received: stddev={stddev}")
        self.stddev = stddev
        self.seed = seed
        self._rng = _layer_rng(seed)
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        return inputs + _standard_normal(self, inputs.shape, inputs.data) * self.stddev

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """In training y = x · ε, ε ~ N(1, rate/(1 − rate)) per entry (multiplicative noise with the
    variance of dropout at that rate, mean 1 so no rescaling is needed); at inference y = x.
    dL/dx = dL/dy · ε."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("GaussianDropout", rate)
        self.seed = seed
        self._rng = _layer_rng(seed)
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs, training=False):
        if not training or not 0 < self.rate < 1:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * (1.0 + _standard_normal(self, inputs.shape, inputs.data) * stddev)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(Layer):
    """Dropout that keeps SELU's self-normalization (mean 0, variance 1) in training.

    Dropped entries are set to α' = −λα (SELU's negative saturation), then y = a·x' + b with
    a = ((1 − rate)(1 + rate·α'²))^(−1/2) and b = −a·α'·rate restoring mean and variance; at inference y = x.
    dL/dx = dL/dy · a on kept entries, 0 on dropped ones.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("AlphaDropout", rate)
        self.seed = seed
        self.noise_shape = noise_shape
        self._rng = _layer_rng(seed)
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs, training=False):
        if not training or not 0 < self.rate < 1:
            return inputs
        alpha_p = -ops.activations.SELU_ALPHA * ops.activations.SELU_SCALE
        noise_shape = None if self.noise_shape is None else tuple(self.noise_shape)
        shape = _random._noise_shape(noise_shape, inputs.shape, "AlphaDropout")
        keep = _bernoulli_keep(self, shape, self.rate, inputs.data)
        a = ((1.0 - self.rate) * (1.0 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        return inputs * (keep * a) + ((1.0 - keep) * (a * alpha_p) + b).astype(inputs.dtype, copy=False)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class ActivityRegularization(Layer):
    """y = x, and adds l1·Σ|y| + l2·Σy² (divided by the batch size) to the layer's losses: a penalty on
    activations, not weights. Its config holds ``l1`` and ``l2``, not the regularizer (Keras's)."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1, self.l2 = l1, l2
        self._build_at_init()

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}


# ----------------------------------------------------------------------------------
# the notes' extra regularizers as layers
# ----------------------------------------------------------------------------------
def _deserialize_layer(config: dict) -> Layer:
    from .. import saving  # noqa: PLC0415

    try:
        return saving.deserialize_keras_object(config)
    except ImportError:  # the model registry is not importable: fall back to the layer classes
        from . import _registry  # noqa: PLC0415

        return _registry()[config["class_name"]].from_config(config["config"])


class DropConnect(Layer):
    """DropConnect (Wan et al., 2013): drops *weights* of the wrapped layer, not its output units.

    In training each entry of the wrapped layer's ``kernel`` (a Dense, Conv1D/2D/3D… kernel) is zeroed
    with probability ``rate`` and the kept ones are scaled by 1/(1 − rate), so for that call
    W̃ = W ⊙ M/(1 − rate), M ~ Bernoulli(1 − rate) per entry (one mask per call, shared by the batch),
    and the layer computes its usual output with W̃ (Dense: y = A(x·W̃ + b)). The masked kernel is an op
    on the real one, so dL/dW = dL/dW̃ ⊙ M/(1 − rate): dropped weights get no gradient. The bias is
    never dropped. At inference the plain weights are used.
    """

    def __init__(self, layer: Layer, rate: float = 0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            layer = _deserialize_layer(layer)
        if not isinstance(layer, Layer):
            raise ValueError(f"DropConnect: expected `layer` to be a Layer instance (Dense, Conv2D, ...), "
                             f"received layer={layer!r}")
        self.layer = layer
        self.rate = check_rate("DropConnect", rate)
        self.seed = seed
        self._rng = _layer_rng(seed)
        self.supports_masking = layer.supports_masking

    def build(self, input_shape):
        if not self.layer.built:
            self.layer._check_input_spec([tuple(input_shape)])
            self.layer.build(input_shape)
            self.layer.built = True
        if not isinstance(getattr(self.layer, "kernel", None), Variable):
            raise ValueError(f"DropConnect {self.name!r}: expected a wrapped layer with a `kernel` weight "
                             f"(Dense, Conv1D/2D/3D, ...), received a {type(self.layer).__name__} without one")
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return self.layer(inputs, training=training)
        kernel = self.layer.kernel
        masked = _random.dropout(kernel, self.rate, rng=_random.get_rng(rng=self._rng))
        # the wrapped layer reads self.kernel in its call: give it the masked kernel for this call only
        object.__setattr__(self.layer, "kernel", masked)
        try:
            return self.layer(inputs, training=training)
        finally:
            object.__setattr__(self.layer, "kernel", kernel)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def compute_mask(self, inputs, mask=None):
        return self.layer.compute_mask(inputs, mask)

    def get_config(self) -> dict:
        from .. import saving  # noqa: PLC0415

        return {**super().get_config(), "layer": saving.serialize_keras_object(self.layer), "rate": self.rate,
                "seed": self.seed}


class StochasticDepth(Layer):
    """Stochastic depth (Huang et al., 2016): a residual branch dropped per sample in training.

    Called on ``[shortcut, residual]`` it returns shortcut + b·residual; called on a residual branch
    alone it returns b·residual. In training b = m_n ~ Bernoulli(1 − rate), one draw per sample (the
    branch of sample n is kept whole or dropped whole, unscaled); at inference b = 1 − rate, the
    branch's survival probability, so E[train output] = inference output.

    This is the paper's convention. torchvision's ``StochasticDepth`` uses the inverted one instead
    (b = m_n/(1 − rate) in training, 1 at inference): the two differ only by a constant factor on the
    branch's output. dL/dshortcut = dL/dy; dL/dresidual = b · dL/dy.
    """

    def __init__(self, rate: float = 0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("StochasticDepth", rate)
        self.seed = seed
        self._rng = _layer_rng(seed)
        self.supports_masking = True

    def _split(self, inputs):
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 2:
                raise ValueError(f"StochasticDepth {self.name!r}: expected [shortcut, residual] or a residual "
                                 f"branch alone, received a list of {len(inputs)} inputs")
            return inputs[0], inputs[1]
        return None, inputs

    def build(self, input_shape):
        if isinstance(input_shape, list) and len(input_shape) == 2:
            a, b = (tuple(s) for s in input_shape)
            if len(a) != len(b) or any(x is not None and y is not None and x != y for x, y in zip(a, b)):
                raise ValueError(f"StochasticDepth {self.name!r}: expected the shortcut and the residual branch "
                                 f"to have the same shape, received shapes {a} and {b}")
        self.built = True

    def call(self, inputs, training=False):
        shortcut, residual = self._split(inputs)
        if training:
            # one unscaled gate per sample, broadcast over the other axes
            gate = _bernoulli_keep(self, (residual.shape[0],) + (1,) * (residual.ndim - 1), self.rate, residual.data)
            branch = residual * gate
        else:
            branch = residual * (1.0 - self.rate)
        return branch if shortcut is None else shortcut + branch

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            return tuple(input_shape[1])
        return tuple(input_shape)

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            return mask[0]
        return mask

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
