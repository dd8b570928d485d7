"""Attention over a list [query, value(, key)], as Keras 3's ``Attention`` (Luong) and ``AdditiveAttention``
(Bahdanau), with no projections of their own.

For a query (B, Tq, dim), a value (B, Tv, dim_v) and a key (B, Tv, dim) (the value when not given)::

    scores  S = q kᵀ (· scale)                                       Attention, score_mode="dot"
            S = c · Σ_d tanh(scale · (q_i + k_j))_d                  Attention, score_mode="concat"
            S = Σ_d scale_d · tanh(q_i + k_j)_d                      AdditiveAttention
    P = softmax_j(S − 10⁹ at the masked keys)   O = P v   (0 at a masked query)

``scale`` (a trainable scalar, or a vector of size dim for AdditiveAttention, ``use_scale``) and c (the
concat mode's ``concat_score_weight``) are the layer's weights. Masks come as the list [query_mask,
value_mask] attached to the inputs (e.g. ``Embedding(mask_zero=True)``) or passed as ``mask=``: the value's
masks keys out (Keras subtracts 10⁹ from their scores, so a row with every key masked averages the values);
the query's zeroes the output rows and is the output's mask. ``use_causal_mask``: query i sees keys j ≤ i.
``dropout`` drops attention probabilities in training (``seed``). Every product is a batched matmul (the
concat forms broadcast (B, Tq, Tv, dim) once); each op carries its own backward.
"""
from __future__ import annotations

from .. import ops
from .. import random as _random
from ..autograd import Tensor
from .base import Layer

__all__ = ["AdditiveAttention", "Attention"]


class Attention(Layer):
    """Dot-product attention (Luong-style) over [query, value] or [query, value, key] (see the module
    docstring). Arguments as Keras's: ``use_scale`` (a trainable scalar multiplying the scores), ``score_mode``
    ("dot" or "concat"), ``dropout`` and ``seed``. Call: ``layer([q, v(, k)], mask=None, training=False,
    return_attention_scores=False, use_causal_mask=False)``; returns O (B, Tq, dim_v), and P (B, Tq, Tv) with
    ``return_attention_scores``."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        if self.dropout > 0:
            self.seed_generator = _random.SeedGenerator(seed=seed)
        if self.score_mode not in ["dot", "concat"]:
            raise ValueError(f"Invalid value for argument score_mode. Expected one of {{'dot', 'concat'}}. "
                             f"Received: score_mode={score_mode}")
        self.supports_masking = True

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones", trainable=True)
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(), initializer="ones",
                                                       trainable=True)

    def _calculate_scores(self, query, key):
        """S (B, Tq, Tv) from the query (B, Tq, dim) and the key (B, Tv, dim)."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            return scores * self.scale if self.scale is not None else scores
        pairs = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)  # (B, Tq, Tv, dim)
        if self.scale is not None:
            pairs = self.scale * pairs
        return self.concat_score_weight * ops.sum(ops.tanh(pairs), axis=-1)

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        """(P v, P): P the softmax over the keys of the scores, 10⁹ (float16: 65504) subtracted where
        ``scores_mask`` (B, Tv) or (B, Tq, Tv) is False, dropped out in training."""
        if scores_mask is not None:
            padding = ops.logical_not(scores_mask)
            big = 65504.0 if scores.dtype == "float16" else 1.0e9
            if padding.ndim == 2:
                padding = ops.expand_dims(padding, -2)
            scores = ops.where(padding, scores - big, scores)
        weights = ops.softmax(scores, axis=-1)
        dropped = weights
        if training and self.dropout > 0:
            dropped = _random.dropout(weights, self.dropout, seed=self.seed_generator)
        return ops.matmul(dropped, value), weights

    def _calculate_score_mask(self, scores, v_mask, use_causal_mask: bool):
        if not use_causal_mask:
            return v_mask
        tq, tv = scores.shape[-2], scores.shape[-1]
        causal = ops.tril(ops.ones((1, tq, tv), dtype="bool"))
        if v_mask is None:
            return causal
        return ops.logical_and(ops.expand_dims(v_mask, -2), causal)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._validate_inputs(inputs=inputs, mask=mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        scores = self._calculate_scores(query=q, key=k)
        scores_mask = self._calculate_score_mask(scores, v_mask, use_causal_mask)
        out, weights = self._apply_scores(scores=scores, value=v, scores_mask=scores_mask, training=training)
        if q_mask is not None:
            out = ops.where(ops.expand_dims(q_mask, -1), out, 0)
        return (out, weights) if return_attention_scores else out

    def __call__(self, inputs, *args, **kwargs):
        from .symbolic import KerasTensor, Node  # noqa: PLC0415 - symbolic imports base

        if kwargs.get("return_attention_scores") and isinstance(inputs, list) \
                and any(isinstance(x, KerasTensor) for x in inputs):  # two symbolic outputs: O and P
            shapes = [tuple(x.shape) for x in inputs]
            if not self.built:
                self.build(shapes)
                self.built = True
                self._build_input_shape = shapes
            key = shapes[2] if len(shapes) > 2 else shapes[1]
            outputs = (KerasTensor(self.compute_output_shape(shapes), dtype=self.dtype, name=self.name),
                       KerasTensor((*shapes[0][:-1], key[-2]), dtype=self.dtype, name=self.name))
            Node(self, inputs, args, dict(kwargs), outputs)
            return outputs
        return super().__call__(inputs, *args, **kwargs)

    def compute_mask(self, inputs, mask=None):
        self._validate_inputs(inputs=inputs, mask=mask)
        if mask is None or mask[0] is None:
            return None
        return mask[0] if isinstance(mask[0], Tensor) else Tensor(mask[0])

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape[0][:-1]), input_shape[1][-1])

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, list):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, value] or "
                             f"[query, value, key]. Received: inputs={inputs}.")
        if len(inputs) < 2 or len(inputs) > 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely [query, value] or "
                             f"[query, value, key]. Received length: {len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, list):
                raise ValueError(f"{name} layer mask must be a list, namely [query_mask, value_mask]. "
                                 f"Received: mask={mask}.")
            if len(mask) < 2 or len(mask) > 3:
                raise ValueError(f"{name} layer accepts mask list of length 2 or 3. Received: inputs={inputs}, "
                                 f"mask={mask}.")

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau-style): S_ij = Σ_d scale_d · tanh(q_i + k_j)_d (see the module docstring),
    ``scale`` a trainable vector of size dim (glorot_uniform) with ``use_scale`` (the default), else 1.
    Arguments ``use_scale``, ``dropout`` (and ``seed``) as Keras's."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=[input_shape[0][-1]], initializer="glorot_uniform",
                                         trainable=True)

    def _calculate_scores(self, query, key):
        pairs = ops.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))  # (B, Tq, Tv, dim)
        return ops.sum(self.scale * pairs if self.use_scale else pairs, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
