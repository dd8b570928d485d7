"""Embedding: integer indices → rows of a trainable (input_dim, output_dim) matrix.

y[..., :] = E[x[...], :]. The lookup is ``ops.take`` along axis 0, whose backward scatter-adds the
output gradients into the rows that were read (an index used k times receives the sum of its k
gradients): dL/dE[i] = Σ_{positions p with x_p = i} dL/dy_p. Rows never looked up get zero.
"""
from __future__ import annotations

import warnings

import numpy

from .. import constraints, initializers, ops, regularizers
from ..autograd import Tensor
from ..backend import get_array_module
from .base import Layer
from .core import check_no_quantization
from .lora import LoRAMixin

__all__ = ["Embedding"]


def _positive_int(arg: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value <= 0:
        raise ValueError(f"`{arg}` must be a positive integer. Received: {arg}={value} "
                         f"(of type {type(value).__name__}).")
    return int(value)


class Embedding(LoRAMixin, Layer):
    """Turns non-negative integer indices into dense vectors: y = E[x], E of shape (input_dim, output_dim).

    Input: integers of any shape (batch, ...) in [0, input_dim). Output: shape (batch, ..., output_dim).
    ``mask_zero=True`` reserves index 0 as padding: the output mask is ``x != 0``, which downstream layers
    (LSTM, GRU, pooling, ...) honour; the vocabulary then needs input_dim = vocabulary size + 1.
    ``weights``: an initial (input_dim, output_dim) matrix. ``lora_rank``/``enable_lora``: the lookup uses
    E + (lora_alpha/lora_rank)·A·B with trainable A (input_dim, rank) and B (rank, output_dim) while E is
    frozen (:mod:`neuronka.layers.lora`). ``quantization_config`` is accepted for Keras's configs and must be
    None (no quantization here).

    Deliberately stricter than Keras (which casts any input to int32, truncating): float inputs must hold
    whole numbers, and an index outside [0, input_dim) is a ValueError naming it.
    """

    _lora_weight = "_embeddings"
    _lora_names = ("lora_embeddings_a", "lora_embeddings_b")
    _lora_constraint = "embeddings_constraint"
    _lora_regularizer = "embeddings_regularizer"

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        input_dim = _positive_int("input_dim", input_dim)
        output_dim = _positive_int("output_dim", output_dim)
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.autocast = False
        self._init_lora(lora_rank, lora_alpha)
        self.quantization_config = check_no_quantization("Embedding", quantization_config)
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            arr = numpy.asarray(weights[0])
            if arr.shape != (self.input_dim, self.output_dim):
                raise ValueError(f"Embedding {self.name!r}: expected `weights` of shape "
                                 f"{(self.input_dim, self.output_dim)} (input_dim, output_dim), "
                                 f"received shape {arr.shape}")
            self._embeddings.assign(arr)

    def build(self, input_shape=None):
        if self.built:
            return
        self._embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                           initializer=self.embeddings_initializer, name="embeddings",
                                           regularizer=self.embeddings_regularizer,
                                           constraint=self.embeddings_constraint)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank)

    @property
    def embeddings(self):
        """The lookup table: the ``embeddings`` weight, plus (lora_alpha/lora_rank)·A·B with LoRA enabled."""
        if not self.built:
            raise AttributeError("You must build the layer before accessing `embeddings`.")
        return self._lora_merged() if self.lora_enabled else self._embeddings

    def _indices(self, inputs):
        """The input as a validated integer array."""
        x = inputs.data if isinstance(inputs, Tensor) else inputs
        xp = get_array_module(x)
        x = xp.asarray(x)
        is_int, is_float = numpy.issubdtype(x.dtype, numpy.integer), numpy.issubdtype(x.dtype, numpy.floating)
        if x.dtype == bool or not (is_int or is_float):
            raise TypeError(f"Embedding {self.name!r}: expected integer indices, received an input of dtype {x.dtype}")
        if is_float:
            idx = x.astype(numpy.int64)
            if not bool(xp.all(idx == x)):
                raise ValueError(f"Embedding {self.name!r}: expected integer indices, received non-integral values "
                                 f"such as {x[idx != x].reshape(-1)[0]!r}")
            x = idx
        if x.size:
            lo, hi = int(x.min()), int(x.max())
            if lo < 0 or hi >= self.input_dim:
                bad = lo if lo < 0 else hi
                raise ValueError(f"Embedding {self.name!r}: expected indices in [0, {self.input_dim}) "
                                 f"(input_dim={self.input_dim}), received index {bad}")
        return x

    def call(self, inputs):
        return ops.take(self.embeddings, self._indices(inputs), axis=0)

    def compute_mask(self, inputs, mask=None):
        """``inputs != 0`` when ``mask_zero``, else None."""
        if not self.mask_zero:
            return None
        x = inputs.data if isinstance(inputs, Tensor) else inputs
        return get_array_module(x).asarray(x) != 0

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape), self.output_dim)

    def get_config(self):
        config = {"input_dim": self.input_dim, "output_dim": self.output_dim,
                  "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                  "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                  "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                  "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                  "mask_zero": self.mask_zero, "quantization_config": self.quantization_config}
        return {**super().get_config(), **self._lora_config(config)}
