"""GroupedQueryAttention (Ainslie et al., 2023), Keras 3's ``keras.layers.GroupQueryAttention``.

N query heads share K key/value heads, each key/value head serving G = N / K query heads (K = 1: multi-query
attention, K = N: multi-head attention)::

    Q = query · W_q + b_q        (B, T, N, H)    EinsumDense "query"  "bqm,muh->bquh"
    K = key · W_k + b_k          (B, S, K, H)    EinsumDense "key"    "bkm,mvh->bkvh"
    V = value · W_v + b_v        (B, S, K, H)    EinsumDense "value"
    P = softmax(Q Kᵀ / √H, masked), query head u reading key/value head u // G       (B, N, T, S)
    O = (P V) · W_o + b_o        (B, T, dim)     EinsumDense "attention_output"  "bquh,uhm->bqm"

Keras repeats K and V G times to N heads before the attention; here the query heads of one key/value head are
laid side by side instead (``neuronka.ops.attention``: the same products without the copies), which gives the
same result. Masks as in ``MultiHeadAttention`` (the query's mask from ``query_mask`` or the one attached to
the query), without the per-axis attention: inputs are (batch, sequence, features).
"""
from __future__ import annotations

import math

from .. import config as _config
from .. import constraints, initializers, regularizers
from ..ops import attention as _attention
from ..random import SeedGenerator, generator
from .activations import Softmax
from .base import Layer
from .core import Dropout
from .einsum_dense import EinsumDense
from .multi_head_attention import (
    attention_mask_of,
    call_with_tensor_arguments,
    check_sliding_window,
    checked_positive_int,
    clone_initializer,
    expand_mask,
)

__all__ = ["GroupedQueryAttention", "GroupQueryAttention"]


class GroupedQueryAttention(Layer):
    """Grouped-query attention (see the module docstring). Keras's arguments: ``head_dim``, ``num_query_heads``,
    ``num_key_value_heads`` (a divisor of ``num_query_heads``), ``dropout``, ``use_bias``, ``sliding_window``,
    ``flash_attention`` (accepted, same result), the kernel/bias initializers, regularizers and constraints and
    the activity regularizer (given to the projections), ``use_gate`` (an EinsumDense "gate", sigmoid, on the
    query) and ``seed``. Call: ``layer(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False)``; the query and
    the value must have the same feature size (the output projection returns to it).

    Keras's class is ``GroupedQueryAttention``, exported (and serialized) as ``GroupQueryAttention``; here too
    (``_keras_export_name``), and both names are this class."""

    _keras_export_name = "GroupQueryAttention"  # the class_name Keras writes in configs

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.head_dim = checked_positive_int("GroupedQueryAttention", "head_dim", head_dim)
        self.num_query_heads = checked_positive_int("GroupedQueryAttention", "num_query_heads", num_query_heads)
        self.num_key_value_heads = checked_positive_int("GroupedQueryAttention", "num_key_value_heads",
                                                        num_key_value_heads)
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`.")
        self.num_repeats = num_query_heads // num_key_value_heads
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"Invalid value received for argument `dropout`. Expected a float value between 0 and "
                             f"1. Received: dropout={dropout!r}")
        self.dropout = dropout
        self.use_bias = use_bias
        self.use_gate = use_gate
        self.sliding_window = check_sliding_window(sliding_window)
        self._flash_attention = flash_attention or _config.is_flash_attention_enabled()
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(self.head_dim))
        if self._flash_attention and self.dropout > 0.0:
            raise ValueError("Dropout is not supported when flash attention is enabled. Please set dropout to 0.0 "
                             "to use flash attention.")
        self._seed_generator = SeedGenerator(seed) if dropout > 0 else None

    _query_mask_from_query = False  # `query_mask` when given, else the query's attached mask

    def __call__(self, *args, **kwargs):
        return call_with_tensor_arguments(self, args, kwargs)

    def _sublayer_kwargs(self) -> dict:
        return {"kernel_regularizer": self.kernel_regularizer, "bias_regularizer": self.bias_regularizer,
                "activity_regularizer": self._activity_regularizer, "kernel_constraint": self.kernel_constraint,
                "bias_constraint": self.bias_constraint, "dtype": self.dtype_policy,
                "kernel_initializer": clone_initializer(self.kernel_initializer),
                "bias_initializer": clone_initializer(self.bias_initializer)}

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        self.feature_dim = query_shape[-1]
        n, kv, h = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self._query_dense = EinsumDense("bqm,muh->bquh", output_shape=(None, n, h),
                                        bias_axes="uh" if self.use_bias else None, name="query",
                                        **self._sublayer_kwargs())
        self._query_dense.build(query_shape)
        self._key_dense = EinsumDense("bkm,mvh->bkvh", output_shape=(None, kv, h),
                                      bias_axes="vh" if self.use_bias else None, name="key", **self._sublayer_kwargs())
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = EinsumDense("bqm,muh->bquh", output_shape=(None, n, h),
                                           bias_axes="uh" if self.use_bias else None, activation="sigmoid",
                                           name="gate", **self._sublayer_kwargs())
            self._gate_dense.build(query_shape)
        self._value_dense = EinsumDense("bkm,mvh->bkvh", output_shape=(None, kv, h),
                                        bias_axes="vh" if self.use_bias else None, name="value",
                                        **self._sublayer_kwargs())
        self._value_dense.build(value_shape)
        self._softmax = Softmax(axis=-1, dtype=self.dtype_policy)
        self._dropout_layer = Dropout(rate=self.dropout, dtype=self.dtype_policy, seed=self.seed)
        self._output_dense = EinsumDense("bquh,uhm->bqm", output_shape=(None, self.feature_dim),
                                         bias_axes="m" if self.use_bias else None, name="attention_output",
                                         **self._sublayer_kwargs())
        self._output_dense.build((None, None, n, h))

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        key = value if key is None else key
        if self._flash_attention and return_attention_scores:
            raise ValueError("Returning attention scores is not supported when flash attention is enabled. Please "
                             "disable flash attention to access attention scores.")
        mask = attention_mask_of(query_mask, value_mask, key_mask, attention_mask, query.shape[1], value.shape[1],
                                 self.sliding_window)
        gate = self._gate_dense(query) if self.use_gate else None
        q, k, v = self._query_dense(query), self._key_dense(key), self._value_dense(value)
        rate, rng = (float(self.dropout), generator(self._seed_generator)) if training and self.dropout else (0.0, None)
        empty = "zero" if (self.dropout > 0.0 or return_attention_scores) else "uniform"
        result = _attention.multi_head_attention(q, k, v, mask=None if mask is None else expand_mask(mask, 4, -3),
                                                 scale=self._inverse_sqrt_head_dim, is_causal=bool(use_causal_mask),
                                                 empty_rows=empty, dropout=rate, rng=rng,
                                                 return_scores=bool(return_attention_scores))
        out, scores = result if return_attention_scores else (result, None)
        if gate is not None:
            out = out * gate
        out = self._output_dense(out)
        return (out, scores) if return_attention_scores else out

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(f"The last dimension of `query_shape` and `value_shape` must be equal, but are "
                             f"{query_shape[-1]}, {value_shape[-1]}. Received: query_shape={query_shape}, "
                             f"value_shape={value_shape}")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                             f"value_shape={value_shape} and key_shape={key_shape}")
        return tuple(query_shape)

    def _scores_shape(self, query_shape, value_shape, key_shape=None):
        kv_len = value_shape[1] if key_shape is None else key_shape[1]
        return (query_shape[0], self.num_query_heads, query_shape[1], kv_len)

    def get_config(self):
        config = {
            "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias, "use_gate": self.use_gate,
            "sliding_window": self.sliding_window, "dropout": self.dropout,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


GroupQueryAttention = GroupedQueryAttention  # the name Keras exports the class under
