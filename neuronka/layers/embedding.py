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

__all__ = ["Embedding"]


def _positive_int(arg: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value <= 0:
        raise ValueError(f"Embedding: expected a positive integer for `{arg}`, received {arg}={value!r}")
    return int(value)


class Embedding(Layer):
    """Turns non-negative integer indices into dense vectors: y = E[x], E of shape (input_dim, output_dim).

    Input: integers of any shape (batch, ...) in [0, input_dim); float inputs holding whole numbers are
    accepted and cast. Output: shape (batch, ..., output_dim). ``mask_zero=True`` reserves index 0 as
    padding: the output mask is ``x != 0``, which downstream layers (LSTM, GRU, pooling, ...) honour;
    the vocabulary then needs input_dim = vocabulary size + 1. ``weights``: an initial (input_dim,
    output_dim) matrix. ``lora_rank``: the lookup uses E + (lora_alpha/lora_rank)·A·B with trainable
    A (input_dim, rank) and B (rank, output_dim) while E is frozen (Keras's LoRA).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 **kwargs):
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Embedding: argument `input_length` is deprecated (Keras 3). Just remove it.",
                          stacklevel=2)
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        super().__init__(**kwargs)
        self.input_dim = _positive_int("input_dim", input_dim)
        self.output_dim = _positive_int("output_dim", output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if lora_rank is not None:
            lora_rank = _positive_int("lora_rank", lora_rank)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
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
            self.enable_lora(self.lora_rank, self.lora_alpha)

    @property
    def embeddings(self):
        """The lookup table: the ``embeddings`` weight, plus (lora_alpha/lora_rank)·A·B with LoRA enabled."""
        if not self.built:
            raise AttributeError(f"Embedding {self.name!r}: build the layer before accessing `embeddings`")
        if self.lora_enabled:
            delta = ops.matmul(self.lora_embeddings_a, self.lora_embeddings_b)
            return self._embeddings + delta * (self.lora_alpha / self.lora_rank)
        return self._embeddings

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros") -> None:
        """Freeze ``embeddings`` and learn a low-rank update A·B instead (A: he_uniform, B: zeros, so the
        layer's output is unchanged at first)."""
        rank = _positive_int("rank", rank)
        if self.embeddings_constraint is not None:
            raise ValueError(f"Embedding {self.name!r}: LoRA is incompatible with an `embeddings_constraint`; "
                             f"remove the constraint to enable LoRA")
        if not self.built:
            raise ValueError(f"Embedding {self.name!r}: cannot enable LoRA on a layer that isn't built yet")
        if self.lora_enabled:
            raise ValueError(f"Embedding {self.name!r}: LoRA is already enabled; it can be enabled only once")
        self.lora_embeddings_a = self.add_weight(shape=(self.input_dim, rank), name="lora_embeddings_a",
                                                 initializer=a_initializer, regularizer=self.embeddings_regularizer)
        self.lora_embeddings_b = self.add_weight(shape=(rank, self.output_dim), name="lora_embeddings_b",
                                                 initializer=b_initializer, regularizer=self.embeddings_regularizer)
        self._embeddings._declared_trainable = False
        self._embeddings.trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

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
        config = {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                  "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                  "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                  "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                  "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                  "mask_zero": self.mask_zero}
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        return config

